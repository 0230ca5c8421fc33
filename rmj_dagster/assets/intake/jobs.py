"""The delivery job: what one delivery run materialises, launched by the delivery sensor."""

from __future__ import annotations

import dagster as dg

from rmj_dagster.assets import identifier_scan
from rmj_dagster.assets.asset_keys import PUBLICATION_CURRENT_CHECK, asset_key
from rmj_dagster.sensors.delivery_sensor import DELIVERY_JOB_NAME

# Run monitoring (dagster.yaml) terminates and fails a delivery run that takes longer than this: a
# national year takes ~75 s, so an hour means something hangs; its deliveries are requested again.
DELIVERY_MAX_RUNTIME_SECONDS = 3600
# The stages made on their own rule (the CBS half-year on its day, the CEO year on request), not with a delivery.
PUBLICATION_STAGES = ("cbs", "ceo")

# A delivery run receives and pseudonymises its deliveries, then rebuilds every unpartitioned model
# downstream (staging, cleaning, outcomes, the monitor), so the warehouse is consistent after each run.
# Every job ends with the analysts' snapshot, so readers never need the live warehouse.
delivery_job = dg.define_asset_job(
    name=DELIVERY_JOB_NAME,
    selection=(
        dg.AssetSelection.assets(asset_key("raw_provider_drops")).downstream()
        | dg.AssetSelection.assets(asset_key("codebook")).downstream()
    )
    - dg.AssetSelection.groups(*PUBLICATION_STAGES)
    # the whole-table scans belong to the full verification: each run scans what it wrote, in its steps
    - dg.AssetSelection.checks(*identifier_scan.full_scan_keys())
    # whether each published CEO year is still current: a check of the publication, run with the
    # deliveries that may have changed it (the year itself waits for an analyst)
    | dg.AssetSelection.checks(dg.AssetCheckKey(asset_key("ceo_publication"), PUBLICATION_CURRENT_CHECK)),
    description=(
        "Receive and pseudonymise deliveries; stage them (their rows only), then rebuild cleaning and "
        "outcome tables."
    ),
    tags={"dagster/max_runtime": str(DELIVERY_MAX_RUNTIME_SECONDS)},
)


def chain_after_intake(defs: dg.Definitions) -> list[dg.AssetKey]:
    """What a deliveries run without deliveries builds (the TTP step's leftovers, staging to marts, the monitor,
    the snapshot), staging only what an earlier run loaded but never staged: the job's unpartitioned assets
    but the receipt step, which has nothing to receive (the partitioned ``delivery_outcome`` reports deliveries)."""
    job = defs.resolve_job_def(DELIVERY_JOB_NAME)
    return sorted((k for a in defs.assets if a.partitions_def is None for k in a.keys
                   if k in job.asset_layer.executable_asset_keys and k != asset_key("raw_provider_drops")),
                  key=lambda k: k.to_user_string())
