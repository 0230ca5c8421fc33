"""Where a figure comes from and what a delivery changed, read from ``marts.figure_sources``; and the record
of each publication's figures (``audit.published_figures``) that makes the comparison possible."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from rmj_dagster.warehouse import ddl

SOURCES_TABLE = "marts.figure_sources"
FIGURES_TABLE = "marts.ceo_indicators"
PUBLISHED_FIGURES = "audit.published_figures"


class FigureNotFound(LookupError):
    """No published figure with that year, area, indicator, group and care type."""


@dataclass(frozen=True)
class Figure:
    year: int
    area_type: str
    area_code: str
    respondent_group: str
    care_type: str
    indicator: str

    def __str__(self) -> str:
        return (f"{self.year} {self.area_type} {self.area_code} {self.indicator} "
                f"(group {self.respondent_group}, care {self.care_type})")


def _number(value) -> str:
    if value is None:
        return "-"
    return f"{value:g}" if isinstance(value, float) else str(value)


def explain(con: duckdb.DuckDBPyConnection, year: int, area: str, indicator: str,
            group: str = "ALL", care: str = "ALL") -> str:
    """The deliveries behind one published figure, as printed by ``rmj explain``."""
    rows = con.execute(
        f"""
        select area_type, n, value, published, delivery_id, aanbieder_agb, file_name,
               strftime(received_at, '%Y-%m-%d %H:%M'), rows_contributed
        from {SOURCES_TABLE}
        where year = ? and area_code = ? and indicator = ? and respondent_group = ? and care_type = ?
        order by received_at, delivery_id
        """,
        [year, area, indicator, group, care],
    ).fetchall()
    if not rows or not rows[0][3]:
        raise FigureNotFound(why_not_found(con, year, area, indicator, group, care))
    figure = Figure(year, rows[0][0], area, group, care, indicator)
    header = ("provider", "delivery", "file", "received at", "rows")
    table = [(r[5] or "", r[4], r[6], r[7], str(r[8])) for r in rows]
    widths = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(header)]
    lines = [
        f"{figure}: value {_number(rows[0][2])}, n {_number(rows[0][1])} (as published)",
        f"{len(table)} deliveries, {sum(r[8] for r in rows)} rows:",
        "  " + "  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip(),
    ]
    lines += ["  " + "  ".join(c.rjust(w) if i == 4 else c.ljust(w) for i, (c, w) in enumerate(zip(t, widths))).rstrip()
              for t in table]
    return "\n".join(lines)


def _listed(values) -> str:
    values = [str(v) for v in values]
    return ", ".join(values) if len(values) <= 40 else ", ".join(values[:40]) + f", ... ({len(values)} in all)"


def _area_code_of(name: str) -> str | None:
    """The code of a municipality, sub-region or provider given by its name (as people type it)."""
    from rmj_dagster import codebook

    wanted = name.strip().lower()
    for row in codebook.rows("region"):
        if wanted in (row["gemeentenaam"].lower(), row["subregio_naam"].lower()):
            return row["reported_as"] if wanted == row["gemeentenaam"].lower() else row["subregio"]
    for row in codebook.rows("aanbieders"):
        if wanted == row["aanbiedernaam"].lower():
            return row["aanbieder_agb"]
    return None


def why_not_found(con: duckdb.DuckDBPyConnection, year: int, area: str, indicator: str, group: str, care: str) -> str:
    """Which part of the question has no published figure, and what there is instead: the years, the
    indicators, the area codes (or the code of an area given by name), the groups and care types; or that
    the figure exists but is suppressed."""
    asked = f"{year} {area} {indicator} (group {group}, care {care})"
    # every figure of a year as computed, suppressed ones too (figure_sources holds the published ones only)
    years = [y for (y,) in con.execute(f"select distinct year from {FIGURES_TABLE} where period = year::varchar "
                                       "order by 1").fetchall()]
    if year not in years:
        return f"no figures published for {year}: published years are {_listed(years) or 'none yet'}"

    def present(column: str, **known) -> list[str]:
        where = " and ".join(["year = $year", "period = $period", *(f"{c} = ${c}" for c in known)])
        return [v for (v,) in con.execute(f"select distinct {column} from {FIGURES_TABLE} where {where} order by 1",
                                          {"year": year, "period": str(year), **known}).fetchall()]

    indicators = present("indicator")
    if indicator not in indicators:
        return f"no published figure for indicator {indicator!r} in {year}; indicators of {year}: {_listed(indicators)}"
    areas = present("area_code")
    if area not in areas:
        code = _area_code_of(area)
        if code is not None:
            return f"{area!r} is a name, not an area code: ask for {code} (rmj explain {year} {code} {indicator})"
        return f"no published figure for area code {area!r} in {year}; area codes of {year}: {_listed(areas)}"
    groups = present("respondent_group", area_code=area, indicator=indicator)
    if group not in groups:
        return f"no group {group!r} for {area} {indicator} in {year}; groups: {_listed(groups)}"
    cares = present("care_type", area_code=area, indicator=indicator, respondent_group=group)
    if care not in cares:
        return f"no care type {care!r} for {area} {indicator} group {group} in {year}; care types: {_listed(cares)}"
    return (f"{asked} is suppressed (niet getoond): too few observations, or it would give a hidden figure away; "
            "a suppressed figure is not published and has no sources")


@dataclass(frozen=True)
class Change:
    figure: Figure
    previous_n: object
    previous_value: object
    n: object
    value: object
    new_deliveries: tuple[str, ...]  # "agb file (delivery id)" of deliveries processed since the previous publication

    def __str__(self) -> str:
        brought = f"; new deliveries: {', '.join(self.new_deliveries)}" if self.new_deliveries else ""
        return (f"{self.figure}: {_number(self.previous_value)} (n {_number(self.previous_n)}) -> "
                f"{_number(self.value)} (n {_number(self.n)}){brought}")


def changed_figures(con: duckdb.DuckDBPyConnection, years: list[int] | None = None) -> list[Change]:
    """Published figures whose published form changed between the last two publications of their year."""
    rows = con.execute(
        f"""
        select year, area_type, area_code, respondent_group, care_type, indicator,
               any_value(previous_n), any_value(previous_value), any_value(n), any_value(value),
               list(aanbieder_agb || ' ' || file_name || ' (' || delivery_id || ')' order by received_at, delivery_id)
                   filter (where new_delivery)
        from {SOURCES_TABLE}
        where changed and ($years is null or list_contains($years, year))
        group by all
        order by year, area_type, area_code, indicator, respondent_group, care_type
        """,
        {"years": years},
    ).fetchall()
    return [Change(Figure(*r[:6]), r[6], r[7], r[8], r[9], tuple(r[10] or ())) for r in rows]


def record_publication(con, publication_id: str, recorded_at: datetime, year: int) -> None:
    """Append the year's figures as now published (marts.ceo_indicators: exact n, suppression) as one
    version; ceo_indicators reads these back so that no later version gives a small difference away."""
    con.execute(f"create table if not exists {PUBLISHED_FIGURES} ({ddl.AUDIT_TABLES[PUBLISHED_FIGURES]})")
    con.execute(
        f"""
        insert into {PUBLISHED_FIGURES}
        select ?, ?, year, area_type, area_code, respondent_group, care_type, indicator, n, value, suppressed
        from marts.ceo_indicators where period = ?
        """,
        [publication_id, recorded_at, str(year)],
    )
