"""Access to the codebook CSVs (see README.md here): the single home of every code list and threshold."""

from __future__ import annotations

import csv
from functools import cache
from importlib.resources import files
from pathlib import Path

TABLES = (
    "gemeenten",
    "region",
    "reden_beeindiging",
    "vragenlijsten",
    "cem_items",
    "parameters",
    "reject_reasons",
    "quarantine_reasons",
    "trajecttypen",
    "identifier_exemptions",
    "indicatoren",
    "labels",
    "aanbieders",
    "field_types",
)


def path(name: str) -> Path:
    """Filesystem path of codebook table ``name`` (also what DuckDB's ``read_csv`` loads)."""
    if name not in TABLES:
        raise KeyError(f"unknown codebook table {name!r}; known: {', '.join(TABLES)}")
    return Path(str(files(__package__).joinpath(f"{name}.csv")))


class CodebookError(ValueError):
    """A codebook file is malformed (a row with more or fewer fields than its header, or no rows)."""


@cache
def rows(name: str) -> tuple[dict[str, str], ...]:
    """All rows of a codebook table as dicts of strings (small tables: fine in Python).

    Every row must have exactly the header's fields: a stray ``;`` (an extra field) or a missing one is
    refused here, never read as something else."""
    with path(name).open(encoding="utf-8", newline="") as handle:
        found = tuple(csv.DictReader(handle, delimiter=";"))
    for number, row in enumerate(found, start=2):
        if None in row or None in row.values():
            raise CodebookError(f"{name}.csv line {number}: the number of fields differs from the header")
    if not found:
        raise CodebookError(f"{name}.csv has no rows")
    return found


def header(name: str) -> list[str]:
    with path(name).open(encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle, delimiter=";"))


def parameter(name: str) -> float:
    """A numeric parameter from ``parameters.csv``."""
    for row in rows("parameters"):
        if row["name"] == name:
            return float(row["value"])
    raise KeyError(f"no parameter {name!r} in the codebook")


_TYPED_COLUMNS = {
    "reden_beeindiging": {"counts_as_end": "boolean", "is_uitval": "boolean"},
    "vragenlijsten": {"min_age": "integer", "max_age": "integer"},
    "cem_items": {
        "min_value": "integer",
        "max_value": "integer",
        "not_applicable_value": "integer",
        "positive_min": "integer",
    },
}


def load_into(con) -> dict[str, int]:
    """(Re)create every ``ref.<table>`` in the warehouse from the CSVs; returns rows per table.

    DuckDB reads each file with its header's columns given explicitly (no sniffing, strict rows), and
    the count is held against the Python reading: a file cannot load empty or shifted without an error."""
    counts = {}
    for name in TABLES:
        expected = len(rows(name))  # refuses a malformed file before DuckDB reads it
        casts = _TYPED_COLUMNS.get(name, {})
        replace = ", ".join(f"try_cast(nullif({col}, '') as {typ}) as {col}" for col, typ in casts.items())
        select = f"select * replace ({replace})" if replace else "select *"
        con.execute(
            f"create or replace table ref.{name} as {select} "
            "from read_csv(?, delim=';', header=true, quote='\"', escape='\"', auto_detect=false, "
            "strict_mode=true, null_padding=false, columns=?)",
            [str(path(name)), {column: "VARCHAR" for column in header(name)}],
        )
        counts[name] = con.execute(f"select count(*) from ref.{name}").fetchone()[0]
        if counts[name] != expected:
            raise CodebookError(f"ref.{name} loaded {counts[name]} rows, {name}.csv has {expected}")
    return counts
