"""CEO: the yearly indicators as published, their record and their checks, made when an analyst asks."""

import dagster as dg

from rmj_dagster.assets.ceo.ceo_publication import ceo_publication
from rmj_dagster.assets.ceo.checks import (
    every_file_shows_the_published_figures,
    every_provider_has_a_name,
    published_files_hold_no_identifiers,
    suppression_holds_in_published_file,
)
from rmj_dagster.assets.ceo.jobs import ceo_job
from rmj_dagster.assets.ceo.publication_current import publication_current
from rmj_dagster.assets.ceo.published_figures import figure_change_metadata, published_figures
from rmj_dagster.assets.sql_assets import build_sql_assets

_assets = [*build_sql_assets("ceo", {"figure_sources": figure_change_metadata}), ceo_publication, published_figures]

defs = dg.Definitions(
    assets=_assets,
    asset_checks=[
        suppression_holds_in_published_file,
        every_file_shows_the_published_figures,
        published_files_hold_no_identifiers,
        every_provider_has_a_name,
        publication_current,
    ],
    jobs=[ceo_job(_assets)],
)
