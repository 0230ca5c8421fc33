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

No single figure is not enough either: a total minus its shown cells is the sum of its hidden cells, and the
exact n of a shown percentage follows from its value and interval at one decimal (rounding n to
``count_rounding_base`` hides nothing). So the closure also assumes every shown n is known exactly and
hides more until no group a reader can derive holds 1 to ``suppression_min_n`` - 1 people (``small_groups``:
the hidden cells of a breakdown with a known total, and any hidden figure the breakdowns together bound).
The published-file check runs the same ``small_groups`` on the n a reader can recover from the file
(``published_n``); with less than the exact n it can only find less.

A year published again adds what its earlier versions showed: a figure whose n changed by 1 to
``suppression_min_n`` - 1 starts hidden (the SQL), and ``changed_groups`` finds the breakdowns where a group
of cells has a sum a reader knows both then and now (a total minus its other cells) that changed that little:
those people were added or withdrawn. The closure hides around them too.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence

import duckdb
import numpy as np

from rmj_dagster import codebook

_TOLERANCE = 1e-9

Equation = Sequence[tuple[Hashable, float]]  # (figure, coefficient): +1 for the total, -1 for a cell
Breakdown = tuple[Hashable, Sequence[Hashable]]  # (total, cells): total = sum of the cells
Interval = tuple[float, float]


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
    free = _free_columns(matrix)
    return {f for f, i in column.items() if not free[i]}


def _free_columns(matrix: np.ndarray) -> np.ndarray:
    """Per column, whether its unknown can change while ``matrix @ x`` stays put (some null vector is
    non-zero there). Gauss-Jordan elimination with partial pivoting: a free column is one without a pivot,
    and a pivot column is free when its row reaches a free column. Row operations touch only the rows
    that hold the pivot's column (the equations are sparse), and use no multi-threaded BLAS call (an SVD
    did, and on a busy machine its threads cost ten times the work)."""
    a = matrix.astype(float)
    rows, columns = a.shape
    pivots: list[int] = []
    for column in range(columns):
        row = len(pivots)
        if row == rows:
            break
        best = row + int(np.argmax(np.abs(a[row:, column])))
        if abs(a[best, column]) <= _TOLERANCE:
            continue
        a[[row, best]] = a[[best, row]]
        a[row] /= a[row, column]
        touched = np.flatnonzero(np.abs(a[:, column]) > _TOLERANCE)
        touched = touched[touched != row]
        a[touched] -= a[touched, column][:, None] * a[row]
        pivots.append(column)
    free = np.ones(columns, dtype=bool)
    free[pivots] = False
    if free.any():
        for row, column in enumerate(pivots):
            free[column] = bool((np.abs(a[row, free]) > _TOLERANCE).any())
    return free


def bounds(breakdowns: Sequence[Breakdown], known: dict[Hashable, Interval], hidden: set) -> dict[Hashable, Interval]:
    """The interval each figure's n must lie in, given the shown n and every breakdown at once.

    A hidden figure starts at [0, inf); each breakdown narrows a member to [total_lo - the others' highs,
    total_hi - the others' lows] and its total to the sum of its members, until nothing narrows. Interval
    arithmetic: wider intervals in give wider intervals out.
    """
    found = dict(known) | {f: (0.0, math.inf) for f in hidden}
    usable = [(t, cells) for t, cells in breakdowns if t in found and all(c in found for c in cells)]
    changed = True
    while changed:
        changed = False
        for total, cells in usable:
            lows = sum(found[c][0] for c in cells)
            highs = sum(found[c][1] for c in cells)
            t_lo, t_hi = found[total]
            narrower = {total: (max(t_lo, lows), min(t_hi, highs))}
            for cell in cells:
                lo, hi = found[cell]
                others_hi = highs - hi
                narrower[cell] = (max(lo, t_lo - others_hi) if others_hi < math.inf else lo,
                                  min(hi, t_hi - (lows - lo)))
            for figure, interval in narrower.items():
                if interval != found[figure]:
                    found[figure] = interval
                    changed = True
    return found


def small_groups(breakdowns: Sequence[Breakdown], known: dict[Hashable, Interval], hidden: set,
                 threshold: float) -> list[tuple[frozenset, int | None]]:
    """Groups of hidden figures the shown n prove to hold at least 1 and fewer than ``threshold`` people.

    A group is the hidden cells of one breakdown whose total is known (their sum is the total minus the
    rest), or one hidden figure on its own. Returns (group, index of its breakdown or None for one figure).
    """
    found = bounds(breakdowns, known, hidden)
    groups: dict[frozenset, int | None] = {}
    for figure in hidden:
        lo, hi = found[figure]
        if 1 <= lo <= hi < threshold:  # lo > hi: the breakdowns contradict each other, nothing is learnt
            groups.setdefault(frozenset([figure]), None)
    for index, (total, cells) in enumerate(breakdowns):
        if total not in found or any(c not in found for c in cells):
            continue
        if total in hidden and found[total][0] != found[total][1]:
            continue
        unknown = [c for c in cells if c in hidden and found[c][0] != found[c][1]]
        rest = [c for c in cells if c not in unknown]
        lo = found[total][0] - sum(found[c][1] for c in rest)
        hi = found[total][1] - sum(found[c][0] for c in rest)
        if unknown and 1 <= lo <= hi < threshold:
            groups.setdefault(frozenset(unknown), index)
    return list(groups.items())


def _group_sum(total: Hashable, cells: Sequence[Hashable], group: frozenset, found: dict) -> Interval:
    """The interval of the sum of ``group`` (cells of one breakdown): its total minus the other cells."""
    lo = found[total][0] - sum(found[c][1] for c in cells if c not in group)
    hi = found[total][1] - sum(found[c][0] for c in cells if c not in group)
    return max(lo, sum(found[c][0] for c in group)), min(hi, sum(found[c][1] for c in group))


def small_change(low: float, high: float, threshold: float) -> bool:
    """Whether a change in n known to lie in [low, high] is proven to be 1 to ``threshold`` - 1 people,
    added or withdrawn."""
    return 1 <= low <= high < threshold or -threshold < low <= high <= -1


def changed_groups(breakdowns: Sequence[Breakdown], now: dict[Hashable, float], hidden: set,
                   earlier: Sequence[dict[Hashable, float]], threshold: float) -> list[int]:
    """The breakdowns with a group of cells whose number of people a reader knows in an earlier version and
    now, and which changed by 1 to ``threshold`` - 1 (added or withdrawn people, derivable).

    ``now``: every figure's exact n (hidden ones included); ``earlier``: per earlier version the n it showed.
    The groups are a breakdown's hidden cells now, then, and both together; each version's shown n bound
    the rest through every breakdown (``bounds``).
    """
    figures = {f for total, cells in breakdowns for f in (total, *cells)}
    found_now = bounds(breakdowns, {f: (n, n) for f, n in now.items() if f not in hidden}, hidden & figures)
    flagged: list[int] = []
    for shown in earlier:
        hidden_then = figures - shown.keys()
        found_then = bounds(breakdowns, {f: (n, n) for f, n in shown.items()}, hidden_then)
        for index, (total, cells) in enumerate(breakdowns):
            if index in flagged or total not in found_now or total not in found_then:
                continue
            for group in {frozenset(c for c in cells if c in hidden), frozenset(c for c in cells if c in hidden_then),
                          frozenset(c for c in cells if c in hidden or c in hidden_then)} - {frozenset()}:
                now_lo, now_hi = _group_sum(total, cells, group, found_now)
                then_lo, then_hi = _group_sum(total, cells, group, found_then)
                if small_change(now_lo - then_hi, now_hi - then_lo, threshold):
                    flagged.append(index)
                    break
    return flagged


def published_n(unit: str, n: float, value: float | None, ci_low: float | None, ci_high: float | None) -> Interval:
    """What a reader can tell of a shown figure's n: ``n`` rounded to ``count_rounding_base`` and at least
    ``suppression_min_n``; for a percentage, only the n for which some count gives the value and both
    Wilson bounds at one decimal (usually one)."""
    base = codebook.parameter("count_rounding_base")
    low = max(codebook.parameter("suppression_min_n"), math.ceil(n - base / 2))
    candidates = list(range(int(low), math.floor(n + base / 2) + 1))
    if unit == "pct" and None not in (value, ci_low, ci_high):
        z = codebook.parameter("wilson_z")

        def fits(published: float, exact: float) -> bool:
            return abs(published - exact) <= 0.05 + 1e-9

        def gives(count: int, size: int) -> bool:
            p = count / size
            centre, spread = p + z * z / (2 * size), z * math.sqrt(p * (1 - p) / size + z * z / (4 * size * size))
            scale = 100 / (1 + z * z / size)
            return (fits(value, 100 * p) and fits(ci_low, scale * (centre - spread))
                    and fits(ci_high, scale * (centre + spread)))

        narrowed = [m for m in candidates
                    if any(0 <= k <= m and gives(k, m) for k in range(round(value * m / 100) - 1, round(value * m / 100) + 2))]
        candidates = narrowed or candidates
    return float(min(candidates)), float(max(candidates))


def close_disclosure(figures: list[dict]) -> list[int]:
    """The cells to hide on top of those already hidden, for one table.

    ``figures``: one dict per (equation, figure) with ``equation_id``, ``cell_id``, ``is_total``,
    ``hidden``, ``n``, ``area_code`` (the tie-break) and ``earlier`` (its n in each earlier version of the
    year, None where suppressed then). Returns cell ids, smallest first chosen.
    First nothing hidden may be determined; then no group of hidden cells may be derivable with 1 to
    ``suppression_min_n`` - 1 people, every shown n taken as known exactly (``small_groups``); then no group
    may have changed that little since an earlier version (``changed_groups``). Each time the smallest shown
    figure around it is hidden next (a cell before the total), until nothing is left.
    """
    threshold = codebook.parameter("suppression_min_n")
    hidden = {f["cell_id"] for f in figures if f["hidden"]}
    members: dict[int, list[dict]] = defaultdict(list)
    for figure in figures:
        members[figure["equation_id"]].append(figure)
    equations = [[(f["cell_id"], 1.0 if f["is_total"] else -1.0) for f in eq] for eq in members.values()]
    with_total = [eq for eq in members.values() if any(f["is_total"] for f in eq)]
    n_of = {f["cell_id"]: float(f["n"]) for f in figures}
    # A total may hold people in none of its cells (a municipality outside the region still counts in the
    # region): each breakdown gets a known rest, total - its cells, so it holds exactly and what is left
    # hidden is protected on its own (a reader who takes the rest as 0 only overestimates a hidden group).
    breakdowns = []
    for index, eq in enumerate(with_total):
        total = next(f["cell_id"] for f in eq if f["is_total"])
        cells = [f["cell_id"] for f in eq if not f["is_total"]]
        n_of[("rest", index)] = n_of[total] - sum(n_of[c] for c in cells)
        breakdowns.append((total, [*cells, ("rest", index)]))
    earlier = _earlier_versions(figures, breakdowns)
    order = {f["cell_id"]: (f["n"], f["area_code"] or "", f["cell_id"]) for f in figures}
    around_cell: dict[int, list[list[dict]]] = defaultdict(list)
    for eq in members.values():
        for f in eq:
            around_cell[f["cell_id"]].append(eq)

    def smallest_shown(equations_around: Iterable[list[dict]]) -> int | None:
        candidates = [(f["is_total"], order[f["cell_id"]], f["cell_id"])
                      for eq in equations_around for f in eq if f["cell_id"] not in hidden]
        return min(candidates)[2] if candidates else None

    added: list[int] = []
    while True:
        if exposed := determined(equations, hidden):
            picks = [smallest_shown(around_cell[cell]) for cell in sorted(exposed, key=order.get)]
        else:
            known = {c: (n, n) for c, n in n_of.items() if c not in hidden}
            picks = []
            for group, index in small_groups(breakdowns, known, hidden, threshold):
                if index is None:
                    picks.append(smallest_shown(around_cell[next(iter(group))]))
                else:
                    picks.append(smallest_shown([with_total[index]]))
            if not picks:
                picks = [smallest_shown([with_total[index]])
                         for index in changed_groups(breakdowns, n_of, hidden, earlier, threshold)]
        chosen = {p for p in picks if p is not None}
        if not chosen:
            break  # nothing exposed, or nothing left to hide around it (cannot happen: see above)
        hidden |= chosen
        added += sorted(chosen, key=order.get)
    return added


def _earlier_versions(figures: list[dict], breakdowns: Sequence[Breakdown]) -> list[dict[Hashable, float]]:
    """Per earlier version, the n each figure showed then; a breakdown's rest where all of it was shown."""
    versions = max((len(f.get("earlier") or []) for f in figures), default=0)
    shown = [{f["cell_id"]: float(f["earlier"][v]) for f in figures
              if len(f.get("earlier") or []) > v and f["earlier"][v] is not None} for v in range(versions)]
    for then in shown:
        for total, cells in breakdowns:
            rest, members = cells[-1], cells[:-1]
            if total in then and all(c in then for c in members):
                then[rest] = then[total] - sum(then[c] for c in members)
    return shown


_FIGURE = duckdb.struct_type(
    {"equation_id": "BIGINT", "cell_id": "BIGINT", "is_total": "BOOLEAN", "hidden": "BOOLEAN", "n": "BIGINT",
     "area_code": "VARCHAR", "earlier": "BIGINT[]"}
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
