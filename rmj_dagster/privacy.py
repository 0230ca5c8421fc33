"""Scanning for direct identifiers where none may be: the warehouse and every export file.

A BSN candidate is a 9-digit value that passes the 11-proef. Columns that legitimately hold 9-digit
numbers (the municipality's ``toewijzingnummer``) are not scanned for values; what is reported is
where and how many, never the value.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from rmj_dagster.identity import passes_elfproef

FORBIDDEN_COLUMNS = frozenset({"bsn", "burgerservicenummer", "geboortedatum", "naam", "clientnaam", "achternaam", "voornamen", "voorletters", "geslachtsnaam"})
NUMBER_COLUMNS = frozenset({"toewijzingnummer"})  # 9-digit numbers that are not about a person


def forbidden_columns(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]) -> list[str]:
    return [
        f"{s}.{t}.{c}"
        for s, t, c in con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where list_contains(?, table_schema)",
            [list(schemas)],
        ).fetchall()
        if c.lower() in FORBIDDEN_COLUMNS
    ]


def bsn_candidates_in_relation(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str]) -> dict[str, int]:
    """Per column: how many distinct 9-digit values pass the 11-proef (0 columns omitted)."""
    found = {}
    for column in columns:
        if column.lower() in NUMBER_COLUMNS:
            continue
        values = con.execute(
            f'select distinct trim("{column}"::varchar) from {relation} '
            f"where regexp_full_match(trim(\"{column}\"::varchar), '[0-9]{{9}}')"
        ).fetchall()
        hits = sum(1 for (v,) in values if passes_elfproef(v))
        if hits:
            found[column] = hits
    return found


def bsn_candidates_in_table(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, int]:
    schema, name = table.split(".")
    columns = [
        c
        for (c,) in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
            "and data_type in ('VARCHAR', 'BIGINT', 'INTEGER', 'HUGEINT', 'UBIGINT')",
            [schema, name],
        ).fetchall()
    ]
    return bsn_candidates_in_relation(con, table, columns)


def bsn_candidates_in_csv(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, int]:
    relation = f"read_csv('{path.as_posix()}', delim=';', header=true, all_varchar=true)"
    columns = [r[0] for r in con.execute(f"describe select * from {relation}").fetchall()]
    return bsn_candidates_in_relation(con, relation, columns)
