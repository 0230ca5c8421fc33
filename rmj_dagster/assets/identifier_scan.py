"""The blocking ``no_identifiers`` check, run inside the step that writes the table.

Each asset that writes warehouse tables declares the check in its ``check_specs`` and scans, in the same
connection and right after writing, what it wrote: the whole table for a model that replaces its table,
the rows of the run's deliveries or period for one that replaces only those. A finding fails the step
(a failed blocking check), so nothing downstream runs, as before when the check was a step of its own.
The whole warehouse is scanned again by the ``full_identifier_scan`` checks of the full-verification
job (on demand and weekly), so a row written outside a run is still found.
"""

from __future__ import annotations

import dagster as dg
import duckdb

from rmj_dagster.assets.asset_keys import PYTHON_OWNED, asset_key
from rmj_dagster.privacy import identifiers
from rmj_dagster.warehouse import sql_models

CHECK_NAME = "no_identifiers"
FULL_SCAN = "full_identifier_scan"


def describe(tables: list[str]) -> str:
    return (
        f"{', '.join(tables)}: no column named like a BSN, name or birth date, no 9-digit value passing "
        "the 11-proef, and no full date outside the event-date columns (see rmj_dagster/privacy/identifiers.py)."
    )


def rows_in(column: str, values: list[str]) -> str:
    """A ``where`` for :func:`result`: the rows whose ``column`` is one of ``values`` (what a step wrote);
    no value, no row (a step that wrote nothing scans nothing)."""
    if not values:
        return "false"
    return f"{column} in (" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + ")"


def spec(key: dg.AssetKey, tables: list[str]) -> dg.AssetCheckSpec:
    """``no_identifiers`` on ``key``: scanned in the asset's own step over what it wrote."""
    return dg.AssetCheckSpec(
        CHECK_NAME,
        asset=key,
        blocking=True,
        description=describe(tables) + " Scanned in the step that writes the table, over the rows it wrote.",
    )


def present(con: duckdb.DuckDBPyConnection, tables: list[str]) -> list[str]:
    """The tables of ``tables`` that exist (``ref.*`` = every codebook table)."""
    return [t for t in identifiers.warehouse_tables(con) if t in tables or (t.startswith("ref.") and "ref.*" in tables)]


def scan(con: duckdb.DuckDBPyConnection, tables: list[str], where: str | None = None,
         whole: tuple[str, ...] = ()) -> dict[str, dict]:
    """Findings per table with any (``where`` restricts the rows scanned to what was written; the tables in
    ``whole``, small ones without the column ``where`` names, are scanned whole)."""
    scans = {table: identifiers.scan_table(con, table, where=None if table in whole else where)
             for table in present(con, tables)}
    return {table: found for table, found in scans.items() if identifiers.findings(found)}


def result(
    con: duckdb.DuckDBPyConnection,
    key: dg.AssetKey,
    tables: list[str],
    *,
    where: str | None = None,
    scope: str = "whole table",
    whole: tuple[str, ...] = (),
) -> dg.AssetCheckResult:
    """The check's result for the rows just written (``where``), reported on the asset's step."""
    found = scan(con, tables, where, whole)
    scanned = sorted(present(con, tables))
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=CHECK_NAME,
        passed=not found,
        metadata={
            "verified": f"tables {', '.join(scanned) or '(none yet)'}: {scope}"
            + "".join(f"; {t}: whole table" for t in whole if t in scanned),
            "tables_scanned": len(scanned),
            "rows_scanned": scope,
            "findings": dg.MetadataValue.json(found),
        },
    )


def tables_by_asset() -> dict[str, list[str]]:
    """Every asset that writes warehouse tables, with its tables (``ref.*`` = every codebook table)."""
    owned: dict[str, list[str]] = {"codebook": ["ref.*"]}
    for table, asset in PYTHON_OWNED.items():
        owned.setdefault(asset, []).append(table)
    for model in sql_models.discover():
        owned[model.name] = [model.table]
    return owned


def full_scan_keys() -> list[dg.AssetCheckKey]:
    """The whole-table scans of the full verification; every other job leaves them out (each run scans what
    it wrote, in its steps)."""
    return [dg.AssetCheckKey(asset_key(asset), FULL_SCAN) for asset in tables_by_asset()]
