"""The delivery monitor for people: late providers in words and the provider x month page (plotly heatmap).

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

from rmj_dagster.publish import write_file_atomic

MONITOR_TABLE = "marts.delivery_monitor"
# status code -> (Dutch label, colour); the order is the colour scale's order
STATUSES = {
    "nothing_due": ("niets verschuldigd", "#e9ecef"),
    "delivered": ("geleverd", "#2e8b57"),
    "quarantined": ("bestand in quarantaine", "#f0ad4e"),
    "late": ("te laat", "#d9534f"),
}


@dataclass(frozen=True)
class LateProvider:
    aanbieder_agb: str
    months: tuple[str, ...]  # YYYY-MM of each late month
    trajectories_without_goal: int  # ended in those months, no goal measurement received by the deadline

    def dutch(self) -> str:
        """For the page (people read it in Dutch)."""
        return (f"{self.aanbieder_agb}: {len(self.months)} maand(en) te laat ({', '.join(self.months)}), "
                f"{self.trajectories_without_goal} afgesloten trajecten zonder doelmeting op tijd")

    def __str__(self) -> str:
        return (f"{self.aanbieder_agb}: {len(self.months)} month(s) late ({', '.join(self.months)}), "
                f"{self.trajectories_without_goal} ended trajectories without a goal measurement in time")


def late_providers(con: duckdb.DuckDBPyConnection, year: int | None = None) -> list[LateProvider]:
    """Providers with at least one late month (of ``year``, or of any year), most late months first."""
    rows = con.execute(
        f"""
        select aanbieder_agb, list(month order by month), sum(trajectories_ended - ended_with_goal_in_time)::bigint
        from {MONITOR_TABLE}
        where late and ($year is null or month like $year || '-%')
        group by aanbieder_agb
        order by count(*) desc, aanbieder_agb
        """,
        {"year": None if year is None else str(year)},
    ).fetchall()
    return [LateProvider(agb, tuple(months), int(n)) for agb, months, n in rows]


def data_cutoff_month(con: duckdb.DuckDBPyConnection) -> str | None:
    """The month of the latest delivery received (YYYY-MM): lateness is judged as of then."""
    row = con.execute("select strftime(max(received_at), '%Y-%m') from audit.deliveries").fetchone()
    return row[0] if row else None


def late_this_month(con: duckdb.DuckDBPyConnection) -> list[LateProvider]:
    """Providers whose goals fell due in the month before the data cut-off's month and did not come."""
    rows = con.execute(
        f"""
        select aanbieder_agb, list(month order by month), sum(trajectories_ended - ended_with_goal_in_time)::bigint
        from {MONITOR_TABLE}
        where late and goals_due_month = (
            select strftime(date_trunc('month', max(received_at)) - interval 1 month, '%Y-%m') from audit.deliveries)
        group by aanbieder_agb order by aanbieder_agb
        """
    ).fetchall()
    return [LateProvider(agb, tuple(months), int(n)) for agb, months, n in rows]


def years_in_monitor(con: duckdb.DuckDBPyConnection) -> list[int]:
    return [int(y) for (y,) in con.execute(f"select distinct left(month, 4) from {MONITOR_TABLE} order by 1").fetchall()]


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
        z=z, x=months, y=providers, text=text, hoverinfo="text", zmin=-0.5, zmax=n - 0.5, xgap=2, ygap=2,
        colorscale=colorscale,
        colorbar={"tickvals": list(range(n)), "ticktext": [STATUSES[c][0] for c in codes], "title": "status"},
    ))
    figure.update_layout(
        title=f"Leveringen per aanbieder en maand, {year}", xaxis={"title": "maand", "type": "category"},
        yaxis={"title": "aanbieder (AGB)", "type": "category", "autorange": "reversed"},
        height=max(320, 28 * len(providers) + 160), margin={"l": 110},
    )
    return figure


def _hover(agb: str, month: str, status: str, r: tuple | None) -> str:
    lines = [f"<b>{agb} · {month}</b>", STATUSES[status][0]]
    if r:
        (_, _, _, fr, fs, fg, fq, reasons, acc, rej, by_reason, ended, with_goal, in_time, with_resp) = r
        lines += [
            f"bestanden: CEM+ {fr}, stop zorg {fs}, doelen {fg}, quarantaine {fq}" + (f" ({reasons})" if reasons else ""),
            f"rijen: {acc} geaccepteerd, {rej} afgewezen" + (f" ({by_reason})" if by_reason else ""),
            f"afgesloten trajecten: {ended}; met doelmeting {with_goal} (op tijd {in_time}); met vragenlijst {with_resp}",
        ]
    return "<br>".join(lines)


_COLUMNS = ("aanbieder_agb, month, status, files_responses, files_stop_zorg, files_goals, files_quarantined, "
            "quarantine_reasons, rows_accepted, rows_rejected, rejected_by_reason, trajectories_ended, "
            "ended_with_goal, ended_with_goal_in_time, ended_with_response")


def monitor_page(con: duckdb.DuckDBPyConnection, year: int) -> str:
    """The page of one year: the provider x month grid first, then the late providers and the table."""
    rows = con.execute(
        f"select {_COLUMNS} from {MONITOR_TABLE} where month like ? order by aanbieder_agb, month", [f"{year}-%"]
    ).fetchall()
    late = late_providers(con, year)
    cutoff = data_cutoff_month(con)
    grid = _heatmap(rows, year).to_html(full_html=False, include_plotlyjs=True, config={"displaylogo": False})
    late_items = "".join(f"<li>{html.escape(p.dutch())}</li>" for p in late) or "<li>geen</li>"
    header = ("aanbieder", "maand", "status", "CEM+", "stop zorg", "doelen", "quarantaine", "redenen quarantaine",
              "rijen geaccepteerd", "rijen afgewezen", "afgewezen per reden", "afgesloten", "met doelmeting",
              "doelmeting op tijd", "met vragenlijst")
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(STATUSES[v][0] if i == 2 else ('' if v is None else str(v)))}</td>"
                         for i, v in enumerate(r)) + "</tr>"
        for r in rows
    )
    return f"""<!DOCTYPE html>
<html lang="nl"><head><meta charset="utf-8"><title>Leveringsmonitor {year}</title>
<style>body{{font-family:sans-serif;margin:1.5em}} table{{border-collapse:collapse;font-size:12px}}
td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}} td:nth-child(-n+3){{text-align:left}}</style>
</head><body>
<h1>Leveringsmonitor {year}</h1>
{grid}
<p>Stand: leveringen ontvangen tot en met {html.escape(cutoff or '-')}. Te laat: een maand met afgesloten trajecten
waarvoor eind van de volgende maand nog geen doelmeting was ontvangen. Alleen voor het datateam en de
contractmanagers: operationele aantallen, niet voor publicatie.</p>
<h2>Te laat</h2><ul>{late_items}</ul>
<h2>Per aanbieder en maand</h2>
<table><tr>{''.join(f'<th>{h}</th>' for h in header)}</tr>{body}</table>
</body></html>
"""


def write_monitor_pages(con: duckdb.DuckDBPyConnection, export_dir: Path) -> list[Path]:
    """``<export dir>/monitor/<YYYY>.html`` for every year in the monitor; owner-only."""
    folder = Path(export_dir) / "monitor"
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    written = []
    for year in years_in_monitor(con):
        page = monitor_page(con, year)
        target = folder / f"{year}.html"
        write_file_atomic(target, lambda tmp, page=page: tmp.write_text(page, encoding="utf-8"), mode=0o600)
        written.append(target)
    return written


def running_year(con: duckdb.DuckDBPyConnection) -> int | None:
    """The year of the latest month whose goals are due: the year the late check looks at."""
    row = con.execute(
        "select year(date_trunc('month', max(received_at)) - interval 2 month) from audit.deliveries"
    ).fetchone()
    return int(row[0]) if row and row[0] is not None else None


def summary(con: duckdb.DuckDBPyConnection, year: int | None = None) -> str:
    """What ``rmj monitor`` prints: the cut-off, who is late this month, and the late months of the year."""
    year = year or running_year(con)
    cutoff = data_cutoff_month(con)
    now = late_this_month(con)
    late = late_providers(con, year) if year else []
    lines = [f"delivery monitor, deliveries received up to {cutoff or '-'}"]
    lines.append("late this month: " + ("none" if not now else ""))
    lines += [f"  {p}" for p in now]
    lines.append(f"late in {year}: " + ("none" if not late else ""))
    lines += [f"  {p}" for p in late]
    return "\n".join(lines)
