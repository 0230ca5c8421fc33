"""The delivery job: what one delivery run materialises, launched by the delivery sensor."""

from __future__ import annotations

from dataclasses import dataclass, field

import dagster as dg

from rmj_dagster.assets import identifier_scan
from rmj_dagster.assets.asset_keys import PUBLICATION_CURRENT_CHECK, asset_key
from rmj_dagster.partitions import deliveries, same_partitions_as
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


@dataclass(frozen=True)
class Finish:
    """A deliveries run without new deliveries: what it builds, over which delivery partitions."""

    asset_selection: list[dg.AssetKey]
    partition_key: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


def chain_after_intake(defs: dg.Definitions, failed: dg.DagsterRun | None = None) -> Finish:
    """What a deliveries run without new deliveries builds (the TTP step's leftovers, staging to marts, the monitor,
    the snapshot), staging only what an earlier run loaded but never staged: the job's unpartitioned assets but the
    receipt step, which has nothing to receive. After ``failed`` (a deliveries run that died after its TTP step)
    it runs over that run's delivery partitions and reports them too (``delivery_outcome``), else they would stay
    grey; its own tags carry them on to the next finish should it fail in turn."""
    job = defs.resolve_job_def(DELIVERY_JOB_NAME)
    partition_key, tags = same_partitions_as(failed.tags) if failed is not None else (None, {})
    over_deliveries = bool(partition_key or tags)
    selection = sorted((k for a in defs.assets
                        if a.partitions_def is None or (over_deliveries and a.partitions_def is deliveries) for k in a.keys
                        if k in job.asset_layer.executable_asset_keys and k != asset_key("raw_provider_drops")),
                       key=lambda k: k.to_user_string())
    return Finish(selection, partition_key, tags)
