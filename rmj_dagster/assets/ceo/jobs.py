"""The CEO job: one year's indicators, published files and their record, then the analysts' snapshot."""

from __future__ import annotations

import dagster as dg

from rmj_dagster.assets import identifier_scan
from rmj_dagster.assets.asset_keys import asset_key
from rmj_dagster.assets.ceo.publication_current import publication_current

CEO_JOB_NAME = "ceo_indicators_job"


def ceo_job(assets: list[dg.AssetsDefinition]) -> dg.UnresolvedAssetJobDefinition:
    """The job over the stage's ``assets`` (a new CEO model joins it by its ``-- group: ceo`` line alone), and
    whether each published year is current, so a year published anew shows so at once."""
    return dg.define_asset_job(
        name=CEO_JOB_NAME,
        selection=dg.AssetSelection.assets(*assets, asset_key("analyst_snapshot"))
        - dg.AssetSelection.checks(*identifier_scan.full_scan_keys())
        | dg.AssetSelection.checks(publication_current),
        description="The yearly CEO indicators of one year: suppressed long table, CSV and plotly report.",
    )
