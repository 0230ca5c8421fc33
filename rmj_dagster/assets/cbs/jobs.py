"""The CBS job: one half-year's extract (table, files, manifest), then the analysts' snapshot."""

from __future__ import annotations

import dagster as dg

from rmj_dagster.assets import identifier_scan
from rmj_dagster.assets.asset_keys import asset_key

CBS_JOB_NAME = "cbs_extract_job"


def cbs_job(assets: list[dg.AssetsDefinition]) -> dg.UnresolvedAssetJobDefinition:
    """The job over the stage's ``assets``, so a new CBS model joins it by its ``-- group: cbs`` line alone."""
    return dg.define_asset_job(
        name=CBS_JOB_NAME,
        selection=dg.AssetSelection.assets(*assets, asset_key("analyst_snapshot"))
        - dg.AssetSelection.checks(*identifier_scan.full_scan_keys()),
        description="The CBS half-yearly outcome extract of one half-year: table, files and manifest.",
    )
