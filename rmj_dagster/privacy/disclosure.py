"""Which hidden figures a reader can still work out, and hiding more until none can.

A published table of one year x indicator is a set of equations ``total = cell_1 + ... + cell_k`` (areas,
respondent groups, care types; see ``dbt_like_sql/marts/ceo_indicators.sql``). The SQL hides small cells
and, cell by cell, the complement of every equation left with one hidden figure. That is not enough when
several breakdowns of the same people cross: the providers and the municipalities both add up to the
region, and with the respondent groups and care types on top, three equations with two unknowns each
can pin a small cell down. The question is linear algebra, and tiny (a few hundred figures per table):
restricted to the hidden figures the equations form a matrix A, and a hidden figure is determined
exactly when every vector of A's null space is zero at it.

``determined`` answers it for the published-file check; ``close_disclosure`` (registered in DuckDB as
``rmj_close_disclosure``, one call per table) hides the smallest shown figure of an equation around each
determined one until nothing is determined. Hiding only grows, and a table with everything hidden gives
nothing away, so it ends.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence

import duckdb
import numpy as np

_TOLERANCE = 1e-9

Equation = Sequence[tuple[Hashable, float]]  # (figure, coefficient): +1 for the total, -1 for a cell


def determined(equations: Iterable[Equation], hidden: set) -> set:
    """The hidden figures that follow from the shown ones through ``equations``."""
    restricted = [[(f, c) for f, c in eq if f in hidden] for eq in equations]
    restricted = [eq for eq in restricted if eq]
    unknowns = sorted({f for eq in restricted for f, _ in eq}, key=repr)
    if not unknowns:
        return set()
    column = {f: i for i, f in enumerate(unknowns)}
    matrix = np.zeros((len(restricted), len(unknowns)))
    for row, eq in enumerate(restricted):
        for figure, coefficient in eq:
            matrix[row, column[figure]] += coefficient
    _, singular, vt = np.linalg.svd(matrix)
    null_space = vt[int((singular > _TOLERANCE).sum()):]
    if not null_space.size:
        return set(unknowns)
    free = np.abs(null_space).max(axis=0) > _TOLERANCE
    return {f for f, i in column.items() if not free[i]}


def close_disclosure(figures: list[dict]) -> list[int]:
    """The cells to hide on top of those already hidden, for one table.

    ``figures``: one dict per (equation, figure) with ``equation_id``, ``cell_id``, ``is_total``,
    ``hidden``, ``n`` and ``area_code`` (the tie-break). Returns cell ids, smallest first chosen.
    """
    hidden = {f["cell_id"] for f in figures if f["hidden"]}
    members: dict[int, list[dict]] = defaultdict(list)
    for figure in figures:
        members[figure["equation_id"]].append(figure)
    equations = [[(f["cell_id"], 1.0 if f["is_total"] else -1.0) for f in eq] for eq in members.values()]
    order = {f["cell_id"]: (f["n"], f["area_code"] or "", f["cell_id"]) for f in figures}
    added: list[int] = []
    while exposed := determined(equations, hidden):
        chosen = set()
        for cell in sorted(exposed, key=order.get):
            around = [eq for eq in members.values() if any(f["cell_id"] == cell for f in eq)]
            candidates = [
                (f["is_total"], order[f["cell_id"]], f["cell_id"])
                for eq in around for f in eq if f["cell_id"] not in hidden
            ]
            if candidates:
                chosen.add(min(candidates)[2])
        if not chosen:
            break  # cannot happen: a determined figure sits in an equation with a shown figure
        hidden |= chosen
        added += sorted(chosen, key=order.get)
    return added


_FIGURE = duckdb.struct_type(
    {"equation_id": "BIGINT", "cell_id": "BIGINT", "is_total": "BOOLEAN", "hidden": "BOOLEAN", "n": "BIGINT",
     "area_code": "VARCHAR"}
)


def register(con: duckdb.DuckDBPyConnection) -> None:
    """``rmj_close_disclosure(list of figures) -> list of cell ids`` on this connection (a Python function
    is kept by the database for all its connections: registered once per open database). A database that
    has it refuses it again; asking first would list every function DuckDB has, ~35 ms per connection."""
    try:
        con.create_function(
            "rmj_close_disclosure", close_disclosure, [duckdb.list_type(_FIGURE)], duckdb.list_type("BIGINT"),
            side_effects=False,
        )
    except duckdb.CatalogException as error:
        if "already exists" not in str(error):
            raise
