"""``delivery_outcome``: the one asset partitioned by delivery, a leaf nothing depends on.

A step over a range of partitions can leave some of them unmaterialised only by not yielding its output,
and then every step depending on it is skipped (``tests/test_partial_partition_materialization.py``). So
receipt, the TTP step and the models are unpartitioned (they read the run's deliveries from its tags), and
only this leaf, built after the reconciliation, carries the delivery partitions: it materialises the loaded
deliveries only, each with its own figures; a quarantined one gets an observation with its reason.
"""

import warnings

import dagster as dg

from rmj_dagster.assets.asset_keys import asset_key, python_asset_names
from rmj_dagster.assets.intake.delivery_observations import LOADED_CHECK, delivery_metadata, report_deliveries
from rmj_dagster.assets.table_metadata import OWNERS, markdown_table
from rmj_dagster.intake.partition_keys import delivery_id_of_key
from rmj_dagster.partitions import deliveries
from rmj_dagster.resources import Warehouse

# A partitioned asset check is a preview in Dagster 1.13; we rely on it on purpose (one result per delivery).
warnings.filterwarnings("ignore", message=r"Specifying a partitions_def on an AssetCheckSpec", category=dg.PreviewWarning)


@dg.asset(
    **python_asset_names("delivery_outcome"),
    partitions_def=deliveries,
    backfill_policy=dg.BackfillPolicy.single_run(),
    output_required=False,  # materialised per loaded delivery below, never as a whole
    deps=[asset_key("delivery_reconciliation")],
    pool="duckdb",  # opens the warehouse
    group_name="intake",
    kinds={"duckdb"},
    owners=OWNERS,
    description=(
        "What became of each delivery, one partition per distinct file content. Partition key "
        "<agb>-<kind>-<yyyymm>-<delivery id>: the provider's AGB and the kind as read from the content (else "
        "onbekend), the month the file was first seen, and the delivery id (first 16 hex digits of the sha256) "
        "the warehouse knows it by; search the partitions by AGB, kind or month. Materialized only when the "
        "delivery was loaded, with its own figures (file, provider, kind, rows read, accepted and rejected by "
        "reason, from intermediate.delivery_reconciliation); "
        "a quarantined delivery is not materialized: its observation and its delivery_loaded check give the reason."
    ),
    check_specs=[dg.AssetCheckSpec(
        LOADED_CHECK, asset=asset_key("delivery_outcome"), partitions_def=deliveries,
        description=("Warning: every delivery of the run was loaded. Each delivery partition also gets its own "
                     "result (failed with the quarantine reason when it was quarantined, on receipt or in the TTP step)."),
    )],
)
def delivery_outcome(context: dg.AssetExecutionContext, warehouse: Warehouse):
    keys = list(context.partition_keys)
    partitions = {delivery_id_of_key(key): key for key in keys}
    with warehouse.connect(read_only=True) as con:
        metadata = delivery_metadata(con, list(partitions))
    report_deliveries(context, metadata, partitions)
    ordered = sorted(metadata.items(), key=lambda item: (item[1]["received_at"], item[0]))
    not_loaded = [(key, v["file_name"], v["status"], v["quarantine_reason"]) for key, v in ordered if v["status"] != "loaded"]
    span = keys[0] if len(keys) == 1 else f"{keys[0]} .. {keys[-1]}"
    context.log.info(f"{len(metadata) - len(not_loaded)} delivery partition(s) materialized (loaded), "
                     f"{len(not_loaded)} not (observed with their reason)")
    yield dg.AssetCheckResult(
        check_name=LOADED_CHECK,
        passed=not not_loaded,
        severity=dg.AssetCheckSeverity.WARN,
        description=(f"{len(not_loaded)} of {len(metadata)} deliveries not loaded" if not_loaded
                     else f"all {len(metadata)} deliveries loaded"),
        metadata={
            "verified": f"{len(keys)} delivery partition(s) of this run: {span}",
            "deliveries": len(metadata),
            "not_loaded": markdown_table(["delivery", "file", "status", "reason"], not_loaded[:50]),
        },
    )
