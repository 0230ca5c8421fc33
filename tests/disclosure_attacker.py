"""An attacker who reads only published ``indicators.csv`` files and works out groups of hidden people.

Written apart from ``rmj_dagster.privacy.disclosure`` on purpose: it knows what any reader knows (the file,
the published threshold and rounding base, the Wilson formula, which municipality lies in which
sub-region) and nothing of how the product suppresses.

1. The n of a shown figure: its rounded n gives a range (n +/- half the base, at least the threshold); a
   percentage narrows it to the n for which some count k gives the published value and both Wilson
   bounds at one decimal (usually one n is left). A figure hidden in its own year but shown as
   ``prev_*`` of the next year is recovered from value and interval alone. Figures with the same
   denominator (mean_q09 and pct_q09_7plus, mean_gas_t and pct_doelrealisatie) share their n.
2. Every breakdown is an equation ``total = cell_1 + ... + cell_k``: municipalities of a sub-region,
   sub-regions of the region, providers of the region, OUDERS + JONGEREN = ALL, EINDE + DUURZAAM = ALL,
   per year x indicator. Interval arithmetic over all equations at once, until nothing narrows: each
   member gets [total_lo - sum of the others' hi, total_hi - sum of the others' lo]. A hidden cell starts
   at [0, inf) (the attacker assumes nothing), so a lower bound above 0 is proven by published figures.
3. A derived group: the hidden cells of one equation whose total is known (their sum is the total minus
   the shown cells), or one hidden cell on its own. It is disclosed when the figures prove it holds at
   least 1 and fewer than ``threshold`` people.
4. Across versions of a year (``versions/<n>/indicators.csv`` and the current file, ``attack_versions``):
   every version is attacked as above on its own; then, for every two versions, a figure whose n is known
   in both and differs by 1 to ``threshold`` - 1, and for every breakdown a group of its cells (the hidden
   ones of either version, or both) whose sum is known in both versions (total minus the rest) and
   differs by 1 to ``threshold`` - 1: those people were added or withdrawn between the versions.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from rmj_dagster import codebook

INF = math.inf
# n = "aantal ingevulde cijfers" for both, and "aantal doelmetingen" for both (codebook indicatoren.csv)
SAME_N = (("mean_q09", "pct_q09_7plus"), ("mean_gas_t", "pct_doelrealisatie"))


@dataclass(frozen=True)
class Group:
    cells: frozenset  # figure keys (year, indicator, area_type, area_code, group, care)
    low: float
    high: float
    how: str


def _wilson(k: int, n: int, z: float) -> tuple[float, float]:
    p = k / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return 100 * (centre - spread) / (1 + z * z / n), 100 * (centre + spread) / (1 + z * z / n)


def _fits(published: str, exact: float) -> bool:
    return published not in ("", None) and abs(float(published) - exact) <= 0.05 + 1e-9


def n_candidates(value: str, low: str, high: str, n_range: range, z: float) -> list[int]:
    """The n in ``n_range`` for which some count k gives this percentage and interval at one decimal."""
    found = []
    for n in n_range:
        guess = round(float(value) * n / 100)
        for k in (guess - 1, guess, guess + 1):
            if 0 <= k <= n and _fits(value, 100 * k / n):
                wl, wh = _wilson(k, n, z)
                if _fits(low, wl) and _fits(high, wh):
                    found.append(n)
                    break
    return found


def _key(row: dict, year: str | None = None) -> tuple:
    return (year or row["year"], row["indicator"], row["area_type"], row["area_code"], row["respondent_group"],
            row["care_type"])


def read_rows(paths: list[Path]) -> list[dict]:
    rows = []
    for path in paths:
        with open(path, newline="", encoding="utf-8") as handle:
            rows += list(csv.DictReader(handle, delimiter=";"))
    return rows


def known_n(rows: list[dict]) -> tuple[dict, set, dict]:
    """(interval of n per shown figure, hidden figure keys, how many shown percentages have one n left)."""
    threshold = codebook.parameter("suppression_min_n")
    base = codebook.parameter("count_rounding_base")
    z = codebook.parameter("wilson_z")
    unit = {r["indicator"]: r["eenheid"] for r in codebook.rows("indicatoren")}
    interval: dict[tuple, tuple[float, float]] = {}
    hidden: set[tuple] = set()
    stats = {"percentages": 0, "exact": 0}
    for row in rows:
        key = _key(row)
        if row["suppressed"] == "true":
            hidden.add(key)
            continue
        rounded = int(row["n"])
        n_range = range(max(int(threshold), math.ceil(rounded - base / 2)), math.floor(rounded + base / 2) + 1)
        ns = list(n_range)
        if unit[row["indicator"]] == "pct" and row["ci_low"] not in ("", None):
            stats["percentages"] += 1
            ns = n_candidates(row["value"], row["ci_low"], row["ci_high"], n_range, z) or ns
            stats["exact"] += len(ns) == 1
        interval[key] = (min(ns), max(ns))
    # last year's figures as printed beside this year's (prev_*): no n, but value and interval
    for row in rows:
        if row.get("prev_ci_low") in ("", None) or unit[row["indicator"]] != "pct":
            continue
        key = _key(row, str(int(row["year"]) - 1))
        lo, hi = interval.get(key, (threshold, 20000))
        ns = n_candidates(row["prev_value"], row["prev_ci_low"], row["prev_ci_high"], range(int(lo), int(hi) + 1), z)
        if ns:
            interval[key] = (min(ns), max(ns))
            hidden.discard(key)
    # figures with the same denominator (their definitions say so) share one n
    for a, b in SAME_N:
        for key in [k for k in list(interval) + list(hidden) if k[1] == a]:
            other = (key[0], b, *key[2:])
            both = [interval[k] for k in (key, other) if k in interval]
            if both:
                shared = (max(lo for lo, _ in both), min(hi for _, hi in both))
                for k in (key, other):
                    if k in interval or k in hidden:
                        interval[k] = shared
    return interval, hidden - set(interval), stats


def equations(keys) -> dict[tuple, tuple[tuple, list[tuple]]]:
    """equation -> (total key, member keys), over every breakdown the publication has."""
    subregio_of = {r["gemeentecode"]: r["subregio"] for r in codebook.rows("region")}
    found: dict[tuple, tuple[tuple, list]] = {}
    for key in keys:
        year, indicator, area_type, code, group, care = key
        totals = []
        if area_type == "gemeente":
            totals.append(("area:gemeente", ("subregio", subregio_of[code], group, care)))
        elif area_type in ("subregio", "aanbieder"):
            totals.append((f"area:{area_type}", ("regio", "RMJ", group, care)))
        if group != "ALL":
            totals.append(("respondent_group", (area_type, code, "ALL", care)))
        if care != "ALL":
            totals.append(("care_type", (area_type, code, group, "ALL")))
        for dimension, total in totals:
            equation = (dimension, year, indicator, *total)
            found.setdefault(equation, ((year, indicator, *total), []))[1].append(key)
    return found


def _narrowed(rows: list[dict]) -> tuple[dict, set, dict]:
    """(interval of n per figure after every equation has narrowed it, hidden figure keys, stats)."""
    interval, hidden, stats = known_n(rows)
    bounds = dict(interval) | {key: (0, INF) for key in hidden}
    eqs = [(total, members) for total, members in equations(bounds).values() if total in bounds]
    changed = True
    while changed:
        changed = False
        for total, members in eqs:
            t_lo, t_hi = bounds[total]
            lows = sum(bounds[m][0] for m in members)
            highs = sum(bounds[m][1] for m in members)
            updates = {total: (max(t_lo, lows), min(t_hi, highs))}
            for m in members:
                lo, hi = bounds[m]
                others_hi, others_lo = highs - hi, lows - lo
                updates[m] = (max(lo, t_lo - others_hi if others_hi < INF else lo), min(hi, t_hi - others_lo))
            for key, (lo, hi) in updates.items():
                if (lo, hi) != bounds[key]:
                    bounds[key] = (lo, hi)
                    changed = True
    return bounds, hidden, stats


def attack(paths: list[Path]) -> tuple[list[Group], dict]:
    """Every group of hidden figures the published files prove to hold 1 to threshold - 1 people."""
    threshold = codebook.parameter("suppression_min_n")
    bounds, hidden, stats = _narrowed(read_rows(paths))
    groups: dict[frozenset, Group] = {}

    def note(cells: frozenset, lo: float, hi: float, how: str) -> None:
        if cells and 1 <= lo <= hi < threshold and cells not in groups:
            groups[cells] = Group(cells, lo, hi, how)

    for key in hidden:
        note(frozenset([key]), *bounds[key], "one hidden figure, bounded by the equations")
    for equation, (total, members) in equations(bounds).items():
        if total not in bounds or bounds[total][0] != bounds[total][1] and total in hidden:
            continue
        unknown = [m for m in members if m in hidden and bounds[m][0] != bounds[m][1]]
        known = [m for m in members if m not in unknown]
        lo = bounds[total][0] - sum(bounds[m][1] for m in known)
        hi = bounds[total][1] - sum(bounds[m][0] for m in known)
        note(frozenset(unknown), lo, hi, f"{equation[0]} breakdown of {' '.join(equation[3:])}: total minus shown")
    stats["hidden"] = len(hidden)
    return sorted(groups.values(), key=lambda g: (g.high, sorted(g.cells))), stats


def version_files(folder: Path) -> list[Path]:
    """Every kept version's ``indicators.csv`` of a year folder, oldest first, then the current one."""
    kept = sorted((folder / "versions").glob("*/indicators.csv"), key=lambda p: int(p.parent.name))
    return [*kept, folder / "indicators.csv"]


def _group_sum(members: list, total: tuple, group: set, bounds: dict) -> tuple[float, float]:
    """The interval of the sum of ``group`` (members of one breakdown): the total minus the other members.
    A member a version does not list had no one in it then (n = 0)."""
    def of(m):
        return bounds.get(m, (0.0, 0.0))
    lo = bounds[total][0] - sum(of(m)[1] for m in members if m not in group)
    hi = bounds[total][1] - sum(of(m)[0] for m in members if m not in group)
    return max(lo, sum(of(m)[0] for m in group)), min(hi, sum(of(m)[1] for m in group))


def attack_versions(versions: list[Path], context: list[Path] = ()) -> tuple[list[Group], dict]:
    """Groups of people under the threshold that differences between versions of one year give away.

    ``versions``: the year's ``indicators.csv`` files, oldest first (``version_files``); ``context``: other
    years' files read beside each version. Returns groups whose ``low``/``high`` bound the difference in n
    (negative: people withdrawn); ``how`` names the two versions.
    """
    threshold = codebook.parameter("suppression_min_n")
    attacked = [_narrowed(read_rows([path, *context])) for path in versions]
    stats = {"versions": len(versions), "compared_figures": 0, "compared_groups": 0}
    groups: dict[tuple, Group] = {}

    def note(cells: frozenset, lo: float, hi: float, how: str) -> None:
        small = 1 <= lo <= hi < threshold or -threshold < lo <= hi <= -1
        if cells and small and (cells, how) not in groups:
            groups[(cells, how)] = Group(cells, lo, hi, how)

    for a in range(len(versions)):
        for b in range(a + 1, len(versions)):
            (old, old_hidden, _), (new, new_hidden, _) = attacked[a], attacked[b]
            how = f"version {a + 1} -> {b + 1}"
            either_hidden = old_hidden | new_hidden  # once per pair of versions, not once per member
            for key in old.keys() & new.keys():
                if max(old[key][1], new[key][1]) < INF:
                    stats["compared_figures"] += 1
                    note(frozenset([key]), new[key][0] - old[key][1], new[key][1] - old[key][0], f"{how}: one figure")
            for equation, (total, members) in equations(old.keys() | new.keys()).items():
                if total not in old or total not in new:
                    continue
                for group in {frozenset(m for m in members if m in old_hidden),
                              frozenset(m for m in members if m in new_hidden),
                              frozenset(m for m in members if m in either_hidden)}:
                    if not group:
                        continue
                    old_lo, old_hi = _group_sum(members, total, group, old)
                    new_lo, new_hi = _group_sum(members, total, group, new)
                    if max(old_hi, new_hi) < INF:
                        stats["compared_groups"] += 1
                        note(group, new_lo - old_hi, new_hi - old_lo,
                             f"{how}: hidden cells of the {equation[0]} breakdown of {' '.join(equation[3:])}")
    return sorted(groups.values(), key=lambda g: (g.high - g.low, sorted(g.cells), g.how)), stats
