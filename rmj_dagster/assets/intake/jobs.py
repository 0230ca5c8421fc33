"""Jobs: what one delivery run, one CBS half-year and one CEO year materialise.

Selections follow the partitioning, so a new SQL model joins the right job by its header line alone.
"""

from __future__ import annotations

import dagster as dg

from rmj_dagster.assets.asset_keys import asset_key
from rmj_dagster.partitions import half_years, years
from rmj_dagster.sensors.delivery_sensor import DELIVERY_JOB_NAME

CBS_JOB_NAME = "cbs_extract_job"
CEO_JOB_NAME = "ceo_indicators_job"
# Run monitoring (dagster.yaml) terminates and fails a delivery run that takes longer than this: a
# national year takes ~75 s, so an hour means something hangs; its deliveries are requested again.
DELIVERY_MAX_RUNTIME_SECONDS = 3600
FULL_VERIFICATION_JOB_NAME = "full_verification_job"


def _keys_partitioned_by(assets: list[dg.AssetsDefinition], partitions_def) -> list[dg.AssetKey]:
    return [key for a in assets if a.partitions_def is partitions_def for key in a.keys]


def build_jobs(assets: list[dg.AssetsDefinition], checks: list[dg.AssetChecksDefinition]) -> list[dg.UnresolvedAssetJobDefinition]:
    from rmj_dagster.assets.cockpit_assets import publication_current
    from rmj_dagster.checks import FULL_IDENTIFIER_SCAN, cleaned_responses_conform, every_row_accounted_for

    cbs_keys = _keys_partitioned_by(assets, half_years)
    ceo_keys = _keys_partitioned_by(assets, years)
    # The whole-table scans belong to the full verification only: each run scans what it wrote, in its steps.
    full_scans = [key for c in checks for key in c.check_keys if key.name == FULL_IDENTIFIER_SCAN]
    not_full = dg.AssetSelection.checks(*full_scans)
    return [
        # A delivery run receives and pseudonymises its deliveries, then rebuilds every unpartitioned
        # model downstream (staging, cleaning, outcomes), so the warehouse is consistent after each run.
        # Every job ends with the analysts' snapshot, so readers never need the live warehouse.
        dg.define_asset_job(
            name=DELIVERY_JOB_NAME,
            selection=(
                dg.AssetSelection.assets(asset_key("raw_provider_drops")).downstream()
                | dg.AssetSelection.assets(asset_key("codebook")).downstream()
            )
            - dg.AssetSelection.assets(*cbs_keys, *ceo_keys)
            - not_full
            # whether each published CEO year is still current: a check of the publication, run with the
            # deliveries that may have changed it (the year itself waits for an analyst)
            | dg.AssetSelection.checks(publication_current),
            description=(
                "Receive and pseudonymise deliveries; stage them (their rows only), then rebuild cleaning and "
                "outcome tables."
            ),
            tags={"dagster/max_runtime": str(DELIVERY_MAX_RUNTIME_SECONDS)},
        ),
        dg.define_asset_job(
            name=CBS_JOB_NAME,
            selection=dg.AssetSelection.assets(*cbs_keys, asset_key("analyst_snapshot")) - not_full,
            description="The CBS half-yearly outcome extract of one half-year: table, files and manifest.",
        ),
        dg.define_asset_job(
            name=CEO_JOB_NAME,
            # and whether each published year is current, so a year published anew shows so at once
            selection=dg.AssetSelection.assets(*ceo_keys, asset_key("analyst_snapshot")) - not_full
            | dg.AssetSelection.checks(publication_current),
            description="The yearly CEO indicators of one year: suppressed long table, CSV and plotly report.",
        ),
        dg.define_asset_job(
            name=FULL_VERIFICATION_JOB_NAME,
            selection=dg.AssetSelection.checks(*full_scans)
            | dg.AssetSelection.checks(every_row_accounted_for, cleaned_responses_conform),
            description=(
                "Full verification, on demand and weekly: every row of every warehouse table scanned for "
                "identifiers, every delivery reconciled, every cleaned response validated (GX). Blocking "
                "checks: a finding fails the run."
            ),
        ),
    ]
