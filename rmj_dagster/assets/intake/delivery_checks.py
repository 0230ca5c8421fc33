"""The delivery partitions' own check: every delivery of the run was loaded (a warning naming the quarantined)."""

import warnings

import dagster as dg

from rmj_dagster.assets.asset_keys import asset_key
from rmj_dagster.assets.intake.delivery_observations import LOADED_CHECK
from rmj_dagster.assets.table_metadata import markdown_table
from rmj_dagster.partitions import deliveries
from rmj_dagster.resources import Warehouse

# A partitioned asset check is a preview in Dagster 1.13; we rely on it on purpose (one result per delivery).
warnings.filterwarnings("ignore", message=r"Specifying a partitions_def on an AssetCheckSpec", category=dg.PreviewWarning)


@dg.asset_check(
    asset=asset_key("raw_provider_drops"),
    name=LOADED_CHECK,
    pool="duckdb",  # opens the warehouse
    partitions_def=deliveries,
    additional_deps=[asset_key("delivery_reconciliation")],
    description=(
        "Warning: every delivery of the run was loaded. Each delivery partition also gets its own result "
        "(failed with the quarantine reason when it was quarantined, on receipt or in the TTP step)."
    ),
)
def delivery_loaded(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    keys = list(context.partition_keys)
    with warehouse.connect(read_only=True) as con:
        rows = con.execute(
            "select delivery_id, file_name, status, quarantine_reason from intermediate.delivery_reconciliation "
            "where list_contains(?, delivery_id) order by received_at, delivery_id",
            [keys],
        ).fetchall()
    not_loaded = [r for r in rows if r[2] != "loaded"]
    span = keys[0] if len(keys) == 1 else f"{keys[0]} .. {keys[-1]}"
    return dg.AssetCheckResult(
        passed=not not_loaded,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{len(not_loaded)} of {len(rows)} deliveries not loaded" if not_loaded else f"all {len(rows)} deliveries loaded",
        metadata={
            "verified": f"{len(keys)} delivery partition(s) of this run: {span}",
            "deliveries": len(rows),
            "not_loaded": markdown_table(["delivery", "file", "status", "reason"], not_loaded[:50]),
        },
    )
