"""Opening the DuckDB warehouse the same way everywhere: schemas, macros and owner-only file mode."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path

import duckdb

from rmj_dagster import codebook
from rmj_dagster.privacy import disclosure

SCHEMAS = ("ref", "audit", "pseudo", "staging", "intermediate", "marts")


def macros_sql() -> str:
    """The shared SQL macros (``dbt_like_sql/macros.sql``)."""
    return files("dbt_like_sql").joinpath("macros.sql").read_text(encoding="utf-8")


def _param_macro_sql() -> str:
    """``rmj_param(name)``: the codebook's numeric parameters as a macro (no table needed)."""
    cases = " ".join(
        f"when '{row['name']}' then {float(row['value'])!r}" for row in codebook.rows("parameters")
    )
    return f"create or replace temp macro rmj_param(p) as (case p {cases} end)::double;"


@contextmanager
def connect(path: str | Path, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse with every schema and macro in place; always closed on exit.

    The file is created readable by its owner only: it holds pseudonymised person-level data.
    """
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    previous_umask = os.umask(0o077)  # a new database file (and its WAL) is born owner-only
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    finally:
        os.umask(previous_umask)
    try:
        if not read_only:
            for schema in SCHEMAS:
                con.execute(f"create schema if not exists {schema}")
        con.execute(_param_macro_sql())
        con.execute(macros_sql())
        disclosure.register(con)
        yield con
    finally:
        con.close()
    if not read_only:
        for candidate in (path, path.with_name(path.name + ".wal")):
            if candidate.exists():
                os.chmod(candidate, 0o600)


def table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, name = qualified.split(".")
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchone()[0]
    )


def row_count(con: duckdb.DuckDBPyConnection, qualified: str) -> int:
    return int(con.execute(f"select count(*) from {qualified}").fetchone()[0])


def column_schema(con: duckdb.DuckDBPyConnection, qualified: str) -> list[tuple[str, str]]:
    """(name, type) of every column, for Dagster's column-schema metadata."""
    schema, name = qualified.split(".")
    return [
        (r[0], r[1])
        for r in con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, name],
        ).fetchall()
    ]
