"""Models: the SQL models that follow each delivery (staging, cleaning, outcomes, indicator observations)."""

import dagster as dg

from rmj_dagster.assets.models.after_build import AFTER_BUILD
from rmj_dagster.assets.models.checks import conforms_to_codebook, every_row_accounted_for
from rmj_dagster.assets.sql_assets import build_sql_assets

defs = dg.Definitions(
    assets=build_sql_assets("models", AFTER_BUILD),
    asset_checks=[every_row_accounted_for, conforms_to_codebook],
)
