"""The analysts' snapshot: a read-only copy of the published tables, replaced atomically.

DuckDB lets one process write a file, and a connection held open by another process (an analyst's
SQL client, a BI tool) blocks the writer. So readers never open the live warehouse: after each
successful run the pipeline copies the marts (and the per-delivery view) into a new DuckDB file
beside the snapshot path and renames it over the old one. A reader that holds the old file keeps
reading it until it reconnects; the writer is never blocked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

SNAPSHOT_SCHEMAS = ("marts",)
SNAPSHOT_EXTRA_TABLES = ("intermediate.delivery_reconciliation",)
_ALIAS = "rmj_snapshot"


@dataclass(frozen=True)
class Snapshot:
    path: Path
    tables: dict[str, int]  # table -> rows
    taken_at: datetime


def snapshot_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The tables copied: every table of the marts schema, plus the per-delivery view's table."""
    rows = con.execute(
        "select table_schema || '.' || table_name from information_schema.tables "
        "where table_catalog = current_database() and table_type = 'BASE TABLE' "
        "and (list_contains(?, table_schema) or list_contains(?, table_schema || '.' || table_name)) order by 1",
        [list(SNAPSHOT_SCHEMAS), list(SNAPSHOT_EXTRA_TABLES)],
    ).fetchall()
    return [name for (name,) in rows]


def publish(con: duckdb.DuckDBPyConnection, target: str | Path, run_id: str | None = None) -> Snapshot:
    """Copy the published tables into ``<target>.tmp`` and rename it over ``target`` (owner-only)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    for leftover in (temporary, temporary.with_name(temporary.name + ".wal")):
        leftover.unlink(missing_ok=True)
    taken_at = datetime.now(UTC).replace(tzinfo=None)
    tables: dict[str, int] = {}
    previous_umask = os.umask(0o077)
    try:
        con.execute(f"attach '{temporary}' as {_ALIAS} (read_only false)")
        try:
            for table in snapshot_tables(con):
                schema, name = table.split(".")
                con.execute(f"create schema if not exists {_ALIAS}.{schema}")
                con.execute(f"create table {_ALIAS}.{schema}.{name} as select * from {table}")
                tables[table] = int(con.execute(f"select count(*) from {_ALIAS}.{schema}.{name}").fetchone()[0])
            con.execute(
                f"create table {_ALIAS}.main.snapshot_info as select ?::timestamp as taken_at, ? as run_id, "
                "? as note",
                [taken_at, run_id, "read-only copy for analysts; the live warehouse is the pipeline's alone"],
            )
        finally:
            con.execute(f"detach {_ALIAS}")
    finally:
        os.umask(previous_umask)
    os.chmod(temporary, 0o600)
    os.replace(temporary, target)
    return Snapshot(path=target, tables=tables, taken_at=taken_at)
