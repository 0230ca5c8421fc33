"""The whole-table identifier scans of the full verification: every row of every warehouse table."""

import dagster as dg

from rmj_dagster.assets import identifier_scan
from rmj_dagster.assets.asset_keys import asset_key
from rmj_dagster.resources import Warehouse


def full_identifier_scan(key: dg.AssetKey, tables: list[str]) -> dg.AssetChecksDefinition:
    """The whole-table scan of the full verification; each run already scans what it wrote, in its step
    (``no_identifiers``, see rmj_dagster/assets/identifier_scan.py)."""
    @dg.asset_check(
        asset=key,
        name=identifier_scan.FULL_SCAN,
        blocking=True,
        pool="duckdb",
        description=identifier_scan.describe(tables) + " Every row, in the full verification (on demand and weekly).",
    )
    def _check(warehouse: Warehouse) -> dg.AssetCheckResult:
        with warehouse.connect(read_only=True) as con:
            found = identifier_scan.scan(con, tables)
            scanned = sorted(identifier_scan.present(con, tables))
        return dg.AssetCheckResult(
            passed=not found,
            metadata={"verified": "tables " + ", ".join(scanned) + " (every row)",
                      "tables_scanned": len(scanned), "rows_scanned": "every row", "findings": dg.MetadataValue.json(found)},
        )

    return _check


def full_identifier_scans() -> list[dg.AssetChecksDefinition]:
    return [full_identifier_scan(asset_key(asset), tables) for asset, tables in identifier_scan.tables_by_asset().items()]
