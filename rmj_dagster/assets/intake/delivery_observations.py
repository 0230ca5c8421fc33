"""Per-delivery figures on the delivery partitions in the Dagster UI.

After ``delivery_reconciliation`` is built, ``delivery_outcome`` reports each delivery partition of the run
from its own row of ``intermediate.delivery_reconciliation``: provider, file, received at, kind, status or
quarantine reason, and rows read / accepted / rejected by reason. A loaded delivery is a materialization
with those figures; a delivery not loaded (quarantined on receipt or in the TTP step) gets no
materialization, so it is no green partition, but an observation with the same figures and its reason.
Counts and codes only: no row content, no identifier.
"""

from __future__ import annotations

import dagster as dg
import duckdb

from rmj_dagster.assets.asset_keys import asset_key
from rmj_dagster.intake.partition_keys import delivery_id_of_key
from rmj_dagster.partitions import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG, PARTITION_TAG, deliveries

DELIVERY_ASSET = asset_key("delivery_outcome")
_COLUMNS = (
    "delivery_id", "aanbieder_agb", "file_name", "received_at", "kind", "source_format", "status",
    "quarantine_reason", "quarantine_message", "rows_read", "rows_accepted", "rows_rejected",
    "rejected_by_reason", "duplicate_files", "reconciled",
)


def deliveries_of_run(context: dg.AssetExecutionContext) -> list[str]:
    """The delivery ids of the delivery partitions the run was launched for (one partition or a range), [] for
    other runs."""
    return [delivery_id_of_key(key) for key in _partitions_of_run(context)]


def _partitions_of_run(context: dg.AssetExecutionContext) -> list[str]:
    tags = context.run.tags
    if tags.get(PARTITION_TAG) and tags[PARTITION_TAG] in context.instance.get_dynamic_partitions(deliveries.name):
        return [tags[PARTITION_TAG]]
    start, end = tags.get(PARTITION_RANGE_START_TAG), tags.get(PARTITION_RANGE_END_TAG)
    if not (start and end):
        return []
    keys = context.instance.get_dynamic_partitions(deliveries.name)
    if start not in keys or end not in keys:
        return []
    return keys[keys.index(start): keys.index(end) + 1]


def delivery_metadata(con: duckdb.DuckDBPyConnection, keys: list[str]) -> dict[str, dict[str, object]]:
    """Metadata per delivery id, from ``intermediate.delivery_reconciliation``."""
    rows = con.execute(
        f"select {', '.join(_COLUMNS)} from intermediate.delivery_reconciliation where list_contains(?, delivery_id)",
        [keys],
    ).fetchall()
    found = {}
    for row in rows:
        record = dict(zip(_COLUMNS, row))
        rejected = {
            reason: int(count)
            for reason, count in (part.split("=") for part in (record["rejected_by_reason"] or "").split(", ") if part)
        }
        found[record["delivery_id"]] = {
            "provider_agb": record["aanbieder_agb"] or "",
            "file_name": record["file_name"],
            "received_at": str(record["received_at"]),
            "kind": record["kind"] or "",
            "source_format": record["source_format"] or "",
            "status": record["status"],
            "quarantine_reason": record["quarantine_reason"] or "",
            "quarantine_message": record["quarantine_message"] or "",
            "rows_read": record["rows_read"],
            "rows_accepted": record["rows_accepted"],
            "rows_rejected": record["rows_rejected"],
            "rejected_by_reason": dg.MetadataValue.json(rejected),
            "duplicate_files": record["duplicate_files"],
            "reconciled": bool(record["reconciled"]),
        }
    return found


LOADED_CHECK = "delivery_loaded"


def loaded_evaluation(partition: str, values: dict[str, object]) -> dg.AssetCheckEvaluation:
    """The delivery partition's own check result: a quarantined delivery is visibly not loaded (a failed
    warning), with its reason; a loaded one passes with its row counts."""
    loaded = values["status"] == "loaded"
    delivery_id = delivery_id_of_key(partition)
    description = (
        f"delivery {delivery_id} ({values['file_name']}): loaded, {values['rows_accepted']} of {values['rows_read']} rows accepted"
        if loaded else
        f"delivery {delivery_id} ({values['file_name']}) NOT loaded: {values['status']} {values['quarantine_reason']}: {values['quarantine_message']}"
    )
    return dg.AssetCheckEvaluation(
        asset_key=DELIVERY_ASSET, check_name=LOADED_CHECK, passed=loaded, partition=partition,
        severity=dg.AssetCheckSeverity.WARN, description=description,
        metadata={"verified": f"delivery {delivery_id}", "delivery_id": delivery_id} | values,
    )


def report_deliveries(context: dg.AssetExecutionContext, metadata: dict[str, dict[str, object]],
                      partitions: dict[str, str]) -> None:
    """Per delivery (``metadata`` by delivery id, ``partitions`` its partition key by delivery id): a
    materialization when it was loaded, else an observation (its reason); and its check result."""
    for delivery_id, values in metadata.items():
        partition = partitions[delivery_id]
        shown = values | {"delivery_id": delivery_id, "dagster/row_count": values["rows_read"]}
        if values["status"] == "loaded":
            context.log_event(dg.AssetMaterialization(asset_key=DELIVERY_ASSET, partition=partition, metadata=shown))
        else:
            context.log_event(dg.AssetObservation(asset_key=DELIVERY_ASSET, partition=partition, metadata=shown))
        context.log_event(loaded_evaluation(partition, values))
