"""The yearly plotly report: self-contained HTML drawn from the published (suppressed, rounded) figures."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from rmj_dagster import codebook
from rmj_dagster.publish.files import write_text_atomic

_KEY_FIGURES = (
    ("pct_uitval", "ALL", "ALL", "Uitval (% of ended trajectories, CBS category 03)"),
    ("response_rate", "ALL", "EINDE", "Response to the end-of-care questionnaire (%)"),
    ("pct_doelrealisatie", "ALL", "ALL", "Goal attainment (% of measurements with GAS T ≥ 50)"),
    ("pct_probleemafname", "ALL", "ALL", "Problems clearly decreased (%)"),
    ("mean_q09", "ALL", "ALL", "Usefulness of the help, mean mark (1-10)"),
    ("pct_zonder_hulp_verder", "ALL", "ALL", "Can manage without (heavier) help (%)"),
)


def _numeric(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(frame[column], errors="coerce")


def _bar_by_municipality(rows: pd.DataFrame, indicator: str, group: str, care: str, title: str) -> go.Figure:
    cells = rows[(rows.indicator == indicator) & (rows.respondent_group == group) & (rows.care_type == care)
                 & rows.area_type.isin(["gemeente", "subregio", "regio"])]
    value, low, high = _numeric(cells, "value"), _numeric(cells, "ci_low"), _numeric(cells, "ci_high")
    labels = [f"{n} (suppressed)" if s == "true" else n for n, s in zip(cells.area_name, cells.suppressed)]
    figure = go.Figure(
        go.Bar(
            x=labels,
            y=value,
            error_y={"type": "data", "symmetric": False, "array": high - value, "arrayminus": value - low},
            hovertext=[f"n ≈ {n}" if n else "suppressed" for n in cells.n],
        )
    )
    figure.update_layout(title=title, yaxis_title=indicator, height=380, margin={"t": 50, "b": 120})
    return figure


def _comparison(rows: pd.DataFrame, year: int) -> go.Figure:
    region = rows[(rows.area_type == "regio") & (rows.respondent_group == "ALL")
                  & rows.indicator.str.startswith("pct_")]
    figure = go.Figure(
        [
            go.Bar(name=str(year - 1), x=region.indicator, y=_numeric(region, "prev_value")),
            go.Bar(name=str(year), x=region.indicator, y=_numeric(region, "value")),
        ]
    )
    figure.update_layout(barmode="group", title=f"Region: {year} against {year - 1} (percentages)", height=420)
    return figure


def _table(rows: pd.DataFrame) -> go.Figure:
    region = rows[rows.area_type == "regio"]
    columns = ["indicator", "respondent_group", "care_type", "n", "value", "ci_low", "ci_high", "prev_value", "ci_overlap_prev"]
    figure = go.Figure(go.Table(header={"values": columns}, cells={"values": [region[c] for c in columns]}))
    figure.update_layout(title="All region figures", height=min(1200, 120 + 24 * len(region)))
    return figure


def summary_markdown(rows: pd.DataFrame) -> str:
    region = rows[(rows.area_type == "regio") & (rows.respondent_group == "ALL") & (rows.care_type.isin(["ALL", "EINDE"]))]
    lines = ["| indicator | n | value | 95% CI |", "|---|---|---|---|"]
    for _, r in region.iterrows():
        shown = "suppressed" if r.suppressed == "true" else r.value
        ci = "" if r.suppressed == "true" or not r.ci_low else f"{r.ci_low}–{r.ci_high}"
        lines.append(f"| {r.indicator} | {r.n} | {shown} | {ci} |")
    return "\n".join(lines)


def write_report(published_csv: Path, target: Path, year: int) -> str:
    """Write the report from the published file; returns a markdown summary (published figures only)."""
    rows = pd.read_csv(published_csv, sep=";", dtype=str, keep_default_na=False)
    threshold = int(codebook.parameter("suppression_min_n"))
    base = int(codebook.parameter("count_rounding_base"))
    figures = [_bar_by_municipality(rows, *spec) for spec in _KEY_FIGURES] + [_comparison(rows, year), _table(rows)]
    parts = [
        figure.to_html(full_html=False, include_plotlyjs=(i == 0), config={"displaylogo": False})
        for i, figure in enumerate(figures)
    ]
    page = f"""<!DOCTYPE html>
<html lang="nl"><head><meta charset="utf-8"><title>CEO jeugd {year} — Regionale Monitor Jeugd</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;}} .note{{color:#444}}</style></head>
<body>
<h1>Cliëntervaringsonderzoek jeugd {year}</h1>
<p class="note">Regionale Monitor Jeugd — Amsterdam-Amstelland en Zaanstreek-Waterland. Figures with fewer than
{threshold} observations are suppressed, and where one cell of a breakdown is suppressed the next smallest is
too, so no figure can be recovered by subtraction. Counts are rounded to multiples of {base}; percentages
to one decimal. Error bars are 95% intervals (Wilson for percentages).</p>
{''.join(f'<section>{p}</section>' for p in parts)}
<p class="note">Source: {html.escape(published_csv.name)} (the published figures only).</p>
</body></html>
"""
    write_text_atomic(target, page, mode=0o644)
    return summary_markdown(rows)
