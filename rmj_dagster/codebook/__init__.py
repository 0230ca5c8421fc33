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
)


def path(name: str) -> Path:
    """Filesystem path of codebook table ``name`` (also what DuckDB's ``read_csv`` loads)."""
    if name not in TABLES:
        raise KeyError(f"unknown codebook table {name!r}; known: {', '.join(TABLES)}")
    return Path(str(files(__package__).joinpath(f"{name}.csv")))


@cache
def rows(name: str) -> tuple[dict[str, str], ...]:
    """All rows of a codebook table as dicts of strings (small tables: fine in Python)."""
    with path(name).open(encoding="utf-8", newline="") as handle:
        return tuple(csv.DictReader(handle, delimiter=";"))


def parameter(name: str) -> float:
    """A numeric parameter from ``parameters.csv``."""
    for row in rows("parameters"):
        if row["name"] == name:
            return float(row["value"])
    raise KeyError(f"no parameter {name!r} in the codebook")
