"""The delivery monitor for people: late providers in words and the provider x month page (plotly heatmap).

For contract managers: providers by name (codebook ``aanbieders.csv``), reject reasons by their Dutch label
(``reject_reasons.csv``), and for every late month why (x of y goal measurements in time, against
``goals_on_time_min_share``). A year without deliveries has no page and ``rmj monitor`` says so.

Counts per provider-month are operational, not published: the page is written owner-only (0600 in a 0700
folder) under ``<export dir>/monitor/``, never next to the published CEO files.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import plotly.graph_objects as go

from rmj_dagster import codebook
from rmj_dagster.publish import write_file_atomic
from rmj_dagster.publish.dutch import provider_name

MONITOR_TABLE = "marts.delivery_monitor"
# status code -> (Dutch label, colour); the order is the colour scale's order
STATUSES = {
    "nothing_due": ("niets verschuldigd", "#e9ecef"),
    "delivered": ("geleverd", "#2e8b57"),
    "quarantined": ("bestand in quarantaine", "#f0ad4e"),
    "late": ("te laat", "#d9534f"),
}


@dataclass(frozen=True)
class LateMonth:
    """One late provider-month and why: of the trajectories ended in it, how many goal measurements came and in time."""

    month: str  # YYYY-MM
    ended: int
    with_goal: int
    in_time: int

    def dutch(self) -> str:
        if self.with_goal == 0:
            return f"{dutch_month(self.month)}: {self.ended} afgesloten trajecten, nog geen doelmeting ontvangen"
        return (f"{dutch_month(self.month)}: {self.in_time} van {self.with_goal} doelmetingen op tijd "
                f"({self.ended} afgesloten trajecten)")

    def __str__(self) -> str:
        if self.with_goal == 0:
            return f"{self.month} no goal measurement for {self.ended} ended"
        return f"{self.month} {self.in_time} of {self.with_goal} goal measurements in time"


@dataclass(frozen=True)
class LateProvider:
    aanbieder_agb: str
    months: tuple[str, ...]  # YYYY-MM of each late month
    trajectories_without_goal: int  # ended in those months, no goal measurement received by the deadline
    why: tuple[LateMonth, ...] = ()

    def dutch(self) -> str:
        """For the page (people read it in Dutch): the provider by name, each late month with its reason."""
        return (f"{provider_label(self.aanbieder_agb)}: {len(self.months)} maand(en) te laat; "
                + "; ".join(m.dutch() for m in self.why))

    def __str__(self) -> str:
        return (f"{self.aanbieder_agb}: {len(self.months)} month(s) late ({', '.join(self.months)}), "
                f"{self.trajectories_without_goal} ended trajectories without a goal measurement in time"
                + (f" [{'; '.join(str(m) for m in self.why)}]" if self.why else ""))


_MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
           "oktober", "november", "december")


def dutch_month(month: str) -> str:
    """``2025-03`` -> ``maart 2025``."""
    return f"{_MONTHS[int(month[5:7]) - 1]} {month[:4]}"


def provider_label(agb: str) -> str:
    """``Naam (AGB 12345678)``; a code the codebook does not name stays a code."""
    if agb == "onbekend":  # a quarantined file whose name names no known provider
        return "aanbieder onbekend (bestandsnaam noemt geen aanbieder)"
    name = provider_name(agb)
    return f"{agb} (naam onbekend)" if name.endswith(agb) else f"{name} (AGB {agb})"


def min_share() -> float:
    return codebook.parameter("goals_on_time_min_share")


def _late(con: duckdb.DuckDBPyConnection, where: str, params: dict) -> list[LateProvider]:
    rows = con.execute(
        f"""
        select aanbieder_agb, list(month order by month), sum(trajectories_ended - ended_with_goal_in_time)::bigint,
               list([trajectories_ended, ended_with_goal, ended_with_goal_in_time] order by month)
        from {MONITOR_TABLE}
        where late and {where}
        group by aanbieder_agb
        order by count(*) desc, aanbieder_agb
        """,
        params,
    ).fetchall()
    return [LateProvider(agb, tuple(months), int(n), tuple(LateMonth(m, *c) for m, c in zip(months, counts)))
            for agb, months, n, counts in rows]


def late_providers(con: duckdb.DuckDBPyConnection, year: int | None = None) -> list[LateProvider]:
    """Providers with at least one late month (of ``year``, or of any year), most late months first."""
    return _late(con, "($year is null or month like $year || '-%')", {"year": None if year is None else str(year)})


def data_cutoff_month(con: duckdb.DuckDBPyConnection) -> str | None:
    """The month of the latest delivery received (YYYY-MM): lateness is judged as of then."""
    row = con.execute("select strftime(max(received_at), '%Y-%m') from audit.deliveries").fetchone()
    return row[0] if row else None


def late_this_month(con: duckdb.DuckDBPyConnection) -> list[LateProvider]:
    """Providers whose goals fell due in the month before the data cut-off's month and did not come in time."""
    return _late(con, "goals_due_month = (select strftime(date_trunc('month', max(received_at)) - interval 1 month, "
                      "'%Y-%m') from audit.deliveries)", {})


def years_in_monitor(con: duckdb.DuckDBPyConnection) -> list[int]:
    """The years with a delivery received or a trajectory ended in them; not the years back-dated iJw start
    records alone reach (they would make pages holding nothing but "niets verschuldigd")."""
    return [int(y) for (y,) in con.execute(
        f"select distinct left(month, 4) from {MONITOR_TABLE} where files_responses + files_stop_zorg + files_goals "
        "+ files_quarantined + trajectories_ended > 0 order by 1").fetchall()]


def reason_label(code: str) -> str:
    """A reject reason's Dutch label from the codebook (the code itself where it has none)."""
    for row in codebook.rows("reject_reasons"):
        if row["reason_code"] == code:
            return row["label"]
    return code


def reasons_in_dutch(by_reason: str | None) -> str:
    """``date_invalid=3, exact_duplicate=1`` -> ``datum ontbreekt of is ongeldig: 3; dubbele regel: 1``."""
    if not by_reason:
        return ""
    parts = (part.rpartition("=") for part in by_reason.split(", "))
    return "; ".join(f"{reason_label(code)}: {n}" for code, _, n in parts)


def _heatmap(rows: list[tuple], year: int) -> go.Figure:
    months = [f"{year}-{m:02d}" for m in range(1, 13)]
    providers = sorted({r[0] for r in rows})
    codes = list(STATUSES)
    cell = {(r[0], r[1]): r for r in rows}
    z, text = [], []
    for agb in providers:
        z_row, t_row = [], []
        for month in months:
            r = cell.get((agb, month))
            status = r[2] if r else "nothing_due"
            z_row.append(codes.index(status))
            t_row.append(_hover(agb, month, status, r))
        z.append(z_row)
        text.append(t_row)
    n = len(codes)
    colorscale = []
    for i, code in enumerate(codes):
        colorscale += [[i / n, STATUSES[code][1]], [(i + 1) / n, STATUSES[code][1]]]
    figure = go.Figure(go.Heatmap(
        z=z, x=[dutch_month(m) for m in months], y=[provider_label(agb) for agb in providers], text=text,
        hoverinfo="text", zmin=-0.5, zmax=n - 0.5, xgap=2, ygap=2,
        colorscale=colorscale,
        colorbar={"tickvals": list(range(n)), "ticktext": [STATUSES[c][0] for c in codes], "title": "status"},
    ))
    figure.update_layout(
        title=f"Leveringen per aanbieder en maand, {year}", xaxis={"title": "maand", "type": "category"},
        yaxis={"title": "aanbieder", "type": "category", "autorange": "reversed"},
        height=max(320, 28 * len(providers) + 160), margin={"l": 330},
    )
    return figure


def _hover(agb: str, month: str, status: str, r: tuple | None) -> str:
    lines = [f"<b>{html.escape(provider_label(agb))} · {dutch_month(month)}</b>", STATUSES[status][0]]
    if r:
        (_, _, _, fr, fs, fg, fq, reasons, acc, rej, by_reason, ended, with_goal, in_time, with_resp) = r
        lines += [
            f"bestanden: CEM+ {fr}, stop zorg {fs}, doelen {fg}, quarantaine {fq}" + (f" ({reasons})" if reasons else ""),
            f"rijen: {acc} geaccepteerd, {rej} afgewezen" + (f" ({html.escape(reasons_in_dutch(by_reason))})" if by_reason else ""),
            f"afgesloten trajecten: {ended}; met doelmeting {with_goal}, daarvan op tijd {in_time}; met vragenlijst {with_resp}",
        ]
    return "<br>".join(lines)


_COLUMNS = ("aanbieder_agb, month, status, files_responses, files_stop_zorg, files_goals, files_quarantined, "
            "quarantine_reasons, rows_accepted, rows_rejected, rejected_by_reason, trajectories_ended, "
            "ended_with_goal, ended_with_goal_in_time, ended_with_response")


def _table_row(r: tuple) -> str:
    """One provider-month in words: the provider by name, the month in Dutch, reasons by their label."""
    (agb, month, status, fr, fs, fg, fq, q_reasons, acc, rej, by_reason, ended, with_goal, in_time, with_resp) = r
    on_time = f"{in_time} van {with_goal}" if with_goal else ("geen" if ended else "")
    cells = (provider_label(agb), dutch_month(month), STATUSES[status][0], fr, fs, fg, fq, q_reasons or "", acc, rej,
             reasons_in_dutch(by_reason), ended, with_goal, on_time, with_resp)
    return "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in cells) + "</tr>"


def monitor_page(con: duckdb.DuckDBPyConnection, year: int) -> str:
    """The page of one year: the provider x month grid first, then the late providers and why, and the table."""
    rows = con.execute(
        f"select {_COLUMNS} from {MONITOR_TABLE} where month like ? order by aanbieder_agb, month", [f"{year}-%"]
    ).fetchall()
    late = late_providers(con, year)
    cutoff = data_cutoff_month(con)
    share = round(min_share() * 100)
    grid = _heatmap(rows, year).to_html(full_html=False, include_plotlyjs=True, config={"displaylogo": False})
    late_items = "".join(f"<li>{html.escape(p.dutch())}</li>" for p in late) or "<li>geen</li>"
    header = ("aanbieder", "maand", "status", "CEM+", "stop zorg", "doelen", "quarantaine", "redenen quarantaine",
              "rijen geaccepteerd", "rijen afgewezen", "afgewezen per reden", "afgesloten trajecten", "met doelmeting",
              "doelmeting op tijd", "met vragenlijst")
    body = "".join(_table_row(r) for r in rows)
    return f"""<!DOCTYPE html>
<html lang="nl"><head><meta charset="utf-8"><title>Leveringsmonitor {year}</title>
<style>body{{font-family:"Segoe UI",Arial,sans-serif;margin:1.5em;color:#1d1d1d}} h1,h2{{color:#00457c}}
table{{border-collapse:collapse;font-size:12px}}
td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}} td:nth-child(-n+3),td:nth-child(8),td:nth-child(11){{text-align:left}}
th{{background:#e9f0f7}}</style>
</head><body>
<h1>Leveringsmonitor {year}</h1>
<p>Stand: leveringen ontvangen tot en met {html.escape(dutch_month(cutoff) if cutoff else '-')}. Voor het datateam en de
contractmanagers: operationele aantallen, niet voor publicatie.</p>
<p><b>Wanneer is een maand te laat?</b> Voor elk traject dat in een maand is afgesloten, hoort uiterlijk aan het eind
van de volgende maand een doelmeting binnen te zijn. Een maand is te laat als minder dan {share}% van de
ontvangen doelmetingen voor die trajecten op tijd binnen was, of als er voor die trajecten nog geen enkele
doelmeting is ontvangen. Bij elke maand die te laat is, staat hoeveel doelmetingen op tijd waren.</p>
{grid}
<h2>Te laat</h2><ul>{late_items}</ul>
<h2>Per aanbieder en maand</h2>
<table><tr>{''.join(f'<th>{h}</th>' for h in header)}</tr>{body}</table>
</body></html>
"""


def write_monitor_pages(con: duckdb.DuckDBPyConnection, export_dir: Path) -> list[Path]:
    """``<export dir>/monitor/<YYYY>.html`` for every year with deliveries; owner-only. A page of a year that
    no longer has any (an earlier run's) is removed, so no page holds only "niets verschuldigd"."""
    folder = Path(export_dir) / "monitor"
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    written = []
    for year in years_in_monitor(con):
        page = monitor_page(con, year)
        target = folder / f"{year}.html"
        write_file_atomic(target, lambda tmp, page=page: tmp.write_text(page, encoding="utf-8"), mode=0o600)
        written.append(target)
    for stale in set(folder.glob("[0-9][0-9][0-9][0-9].html")) - set(written):
        stale.unlink()
    return written


def running_year(con: duckdb.DuckDBPyConnection) -> int | None:
    """The year of the latest month whose goals are due: the year the late check looks at."""
    row = con.execute(
        "select year(date_trunc('month', max(received_at)) - interval 2 month) from audit.deliveries"
    ).fetchone()
    return int(row[0]) if row and row[0] is not None else None


def no_data(con: duckdb.DuckDBPyConnection, year: int) -> str | None:
    """Why the monitor has nothing for ``year`` (None when it has data): the years it does have."""
    years = years_in_monitor(con)
    if year in years:
        return None
    held = ", ".join(str(y) for y in years) if years else "none yet (run rmj process)"
    return f"no deliveries in the monitor for {year}: there is no data for that year. Years with deliveries: {held}"


def summary(con: duckdb.DuckDBPyConnection, year: int | None = None) -> str:
    """What ``rmj monitor`` prints: the cut-off, who is late this month, and the late months of the year, each
    with why (x of y goal measurements in time, against the codebook's goals_on_time_min_share)."""
    year = year or running_year(con)
    cutoff = data_cutoff_month(con)
    now = late_this_month(con)
    late = late_providers(con, year) if year else []
    lines = [f"delivery monitor, deliveries received up to {cutoff or '-'}; late: under "
             f"{round(min_share() * 100)}% of a month's goal measurements in time, or none at all"]
    lines.append("late this month: " + ("none" if not now else ""))
    lines += [f"  {p}" for p in now]
    lines.append(f"late in {year}: " + ("none" if not late else ""))
    lines += [f"  {p}" for p in late]
    return "\n".join(lines)
