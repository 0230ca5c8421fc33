"""Where a figure comes from and what a delivery changed, read from ``marts.figure_sources``."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

SOURCES_TABLE = "marts.figure_sources"


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
        raise FigureNotFound(
            f"no published figure {year} {area} {indicator} (group {group}, care {care}); "
            "suppressed figures and years not yet published have no sources"
        )
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
