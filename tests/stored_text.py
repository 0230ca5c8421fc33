"""What a store holds, as text, for the tests that look for an identifier everywhere it could have gone."""

from __future__ import annotations

from pathlib import Path

import duckdb


def tables_as_text(db: Path) -> dict[str, str]:
    """Every table and view of a DuckDB file, every column cast to text, by ``schema.table`` ({} when absent)."""
    if not Path(db).exists():
        return {}
    found = {}
    with duckdb.connect(str(db), read_only=True) as con:
        tables = con.execute("select schema_name, table_name from duckdb_tables()").fetchall()
        tables += con.execute("select schema_name, view_name from duckdb_views() where not internal").fetchall()
        for schema, table in tables:
            found[f"{schema}.{table}"] = str(con.execute(f'select columns(*)::varchar from "{schema}"."{table}"').fetchall())
    return found


def database_as_text(db: Path) -> str:
    """``tables_as_text`` as one text, each table named."""
    return "\n".join(f"{table}: {text}" for table, text in tables_as_text(db).items())
