"""The analysts' snapshot, refreshed as the last step of every run that changed what it copies."""

import dagster as dg

from rmj_dagster.assets.asset_keys import asset_key, python_asset_names
from rmj_dagster.assets.table_metadata import OWNERS
from rmj_dagster.resources import AnalystSnapshot, Warehouse
from rmj_dagster.warehouse import snapshot


@dg.asset(
    **python_asset_names("analyst_snapshot"),
    deps=[asset_key("delivery_reconciliation"), asset_key("cbs_extract_files"), asset_key("ceo_publication")],
    group_name="snapshot",
    kinds={"duckdb"},
    owners=OWNERS,
    pool="duckdb",
    description=(
        "A read-only DuckDB copy of the marts and the per-delivery view (RMJ_SNAPSHOT), written to a "
        "temporary file and renamed over the previous one after each successful run. Analysts and BI "
        "tools open this file: a connection held on the live warehouse would block the pipeline."
    ),
)
def analyst_snapshot(context: dg.AssetExecutionContext, warehouse: Warehouse, snapshot_area: AnalystSnapshot) -> dg.MaterializeResult:
    with warehouse.connect(read_only=True) as con:
        published = snapshot.publish(con, snapshot_area.target(), run_id=context.run_id)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(published.path)),
            "tables": dg.MetadataValue.json(published.tables),
            "taken_at": published.taken_at.isoformat(timespec="seconds"),
        }
    )
