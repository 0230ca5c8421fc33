"""Metadata every table asset reports: row count, column schema, and a markdown preview."""

from __future__ import annotations

import dagster as dg
import duckdb

from rmj_dagster import warehouse

OWNERS = ["team:rmj-data"]


def table_metadata(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, object]:
    columns = [dg.TableColumn(name, dtype) for name, dtype in warehouse.column_schema(con, table)]
    return {
        "dagster/row_count": warehouse.row_count(con, table),
        "dagster/column_schema": dg.TableSchema(columns=columns),
        "dagster/table_name": table,
    }


def _cell(value: object) -> str:
    """A value as literal text in a markdown cell (no character of it read as markdown or HTML)."""
    return str(value).replace("\\", "\\\\").replace("|", "\\|").replace("<", "\\<").replace("\n", " ")


def markdown_table(header: list[str], rows: list[tuple]) -> dg.MetadataValue:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("" if v is None else _cell(v) for v in row) + " |" for row in rows]
    return dg.MetadataValue.md("\n".join(lines))
