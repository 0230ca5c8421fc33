"""The yearly plotly report: one self-contained HTML page drawn from the published figures only.

Input is the published ``indicators.csv`` (suppressed, rounded) - never a warehouse table - so the page
cannot show anything the CSV does not. plotly.js is inlined once (``include_plotlyjs=True``): the page
opens offline and loads no script from elsewhere.
"""

from __future__ import annotations

import csv
import html
from pathlib import Path

import plotly.graph_objects as go

from rmj_dagster import codebook
from rmj_dagster.publish import write_file_atomic

# (indicator, respondent_group, care_type): the figures charted per municipality and per provider
KEY_FIGURES = (
    ("pct_uitval", "ALL", "ALL"),
    ("response_rate", "ALL", "EINDE"),
    ("pct_doelrealisatie", "ALL", "ALL"),
    ("pct_probleemafname", "ALL", "ALL"),
    ("mean_gas_t", "ALL", "ALL"),
    ("mean_q09", "ALL", "ALL"),
    ("pct_q09_7plus", "ALL", "ALL"),
    ("pct_zonder_hulp_verder", "ALL", "ALL"),
)
# the questionnaire items, charted per municipality only
ITEM_FIGURES = tuple((f"pct_positive_q{i:02d}", "ALL", "ALL") for i in range(1, 9))

_TITLES = {
    "n_responses": "Responses (count)",
    "response_rate": "Response to the end-of-care questionnaire (% of ended trajectories)",
    "pct_uitval": "Uitval: care broken off by the client (% of ended trajectories)",
    "pct_doelrealisatie": "Doelrealisatie: goals attained, GAS T >= 50 (% of measurements)",
    "pct_probleemafname": "Probleemafname: problems clearly decreased (% of measurements)",
    "mean_gas_t": "Mean GAS T-score",
    "mean_q09": "Usefulness of the help, mean mark 1-10 (q09)",
    "pct_q09_7plus": "Usefulness of the help marked 7 or higher (%)",
    "pct_zonder_hulp_verder": "Can go on without (heavier) help (% answering 03 or 04)",
}

_AREA_ORDER = {"regio": 0, "subregio": 1, "gemeente": 2, "aanbieder": 3}


def title_of(indicator: str) -> str:
    if indicator in _TITLES:
        return _TITLES[indicator]
    for item in codebook.rows("cem_items"):
        if item["indicator"] == indicator:
            return f"{item['item']}: {item['statement']} (% agreeing)"
    return indicator


def _read(published_csv: Path) -> list[dict[str, str]]:
    with Path(published_csv).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def _num(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _span(lower: float | None, upper: float | None) -> float | None:
    """Length of an error bar between two published (one-decimal) numbers."""
    return round(upper - lower, 1) if lower is not None and upper is not None else None


def _cells(rows, indicator: str, group: str, care: str, area_types: tuple[str, ...]) -> list[dict[str, str]]:
    chosen = [
        r for r in rows
        if r["indicator"] == indicator and r["respondent_group"] == group and r["care_type"] == care
        and r["area_type"] in area_types
    ]
    return sorted(chosen, key=lambda r: (_AREA_ORDER.get(r["area_type"], 9), r["area_name"]))


def _bar_chart(cells: list[dict[str, str]], title: str, axis: str) -> go.Figure:
    """Bars with 95% error bars; a suppressed cell is a labelled gap (its figure is not in the file)."""
    labels, values, above, below, hover = [], [], [], [], []
    for r in cells:
        value, low, high = _num(r["value"]), _num(r["ci_low"]), _num(r["ci_high"])
        suppressed = r["suppressed"] == "true"
        labels.append(f"{r['area_name']} (suppressed)" if suppressed else r["area_name"])
        values.append(value)
        above.append(_span(value, high))
        below.append(_span(low, value))
        hover.append("suppressed (fewer than the minimum n)" if suppressed else f"n ≈ {r['n']}")
    figure = go.Figure(
        go.Bar(
            x=labels,
            y=values,
            error_y={"type": "data", "symmetric": False, "array": above, "arrayminus": below},
            hovertext=hover,
            marker_color=["#1f5fa8" if r["area_type"] in ("gemeente", "aanbieder") else "#7a9cc6" for r in cells],
        )
    )
    figure.update_layout(title=title, yaxis_title=axis, height=420, margin={"t": 60, "b": 140})
    return figure


def _comparison_chart(rows, year: int) -> go.Figure:
    """Region level, this year against last year, percentages with their intervals."""
    region = [
        r for r in rows
        if r["area_type"] == "regio" and r["respondent_group"] == "ALL" and r["indicator"].startswith(("pct_", "response_rate"))
        and (r["care_type"] == "ALL" or r["indicator"] == "response_rate")
    ]
    region.sort(key=lambda r: r["indicator"])
    names = [r["indicator"] for r in region]

    def bars(value: str, low: str, high: str, name: str) -> go.Bar:
        v = [_num(r[value]) for r in region]
        lo = [_num(r[low]) for r in region]
        hi = [_num(r[high]) for r in region]
        return go.Bar(
            name=name,
            x=names,
            y=v,
            error_y={
                "type": "data", "symmetric": False,
                "array": [_span(x, h) for x, h in zip(v, hi)],
                "arrayminus": [_span(l, x) for x, l in zip(v, lo)],
            },
        )

    figure = go.Figure([bars("prev_value", "prev_ci_low", "prev_ci_high", str(year - 1)),
                        bars("value", "ci_low", "ci_high", str(year))])
    figure.update_layout(barmode="group", title=f"Region: {year} against {year - 1} (percentages, 95% intervals)",
                         height=460, margin={"b": 160})
    return figure


def _items_chart(rows) -> go.Figure:
    """Region level, the questionnaire items q01-q08 per respondent group."""
    figure = go.Figure()
    for group in ("OUDERS", "JONGEREN", "ALL"):
        cells = sorted(
            (r for r in rows if r["area_type"] == "regio" and r["respondent_group"] == group
             and r["care_type"] == "ALL" and r["indicator"].startswith("pct_positive_")),
            key=lambda r: r["indicator"],
        )
        figure.add_trace(go.Bar(name=group, x=[r["indicator"].removeprefix("pct_positive_") for r in cells],
                                y=[_num(r["value"]) for r in cells]))
    figure.update_layout(barmode="group", title="Region: questionnaire items, % agreeing (answers 4 or 5)",
                         yaxis_title="%", height=420)
    return figure


def _overlap_text(flag: str) -> str:
    return {"true": "yes", "false": "no"}.get(flag, "")


def _region_table(rows) -> str:
    region = [r for r in rows if r["area_type"] == "regio"]
    head = ("indicator", "respondents", "care type", "n", "value", "95% interval", "previous year",
            "previous interval", "intervals overlap")
    lines = ["<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"]
    for r in region:
        suppressed = r["suppressed"] == "true"
        cells = (
            r["indicator"], r["respondent_group"], r["care_type"],
            "" if suppressed else r["n"],
            "suppressed" if suppressed else r["value"],
            f"{r['ci_low']} – {r['ci_high']}" if r["ci_low"] and not suppressed else "",
            r["prev_value"],
            f"{r['prev_ci_low']} – {r['prev_ci_high']}" if r["prev_ci_low"] else "",
            _overlap_text(r["ci_overlap_prev"]),
        )
        lines.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    lines.append("</tbody></table>")
    return "\n".join(lines)


def summary_markdown(rows: list[dict[str, str]]) -> str:
    """Region-level figures (all respondents) as a markdown table, from published rows only."""
    region = [
        r for r in rows
        if r["area_type"] == "regio" and r["respondent_group"] == "ALL"
        and (r["care_type"] == "ALL" or r["indicator"] == "response_rate")
    ]
    lines = ["| indicator | care type | n | value | 95% CI | previous year | CIs overlap |", "|---|---|---|---|---|---|---|"]
    for r in region:
        suppressed = r["suppressed"] == "true"
        shown = "suppressed" if suppressed else r["value"]
        ci = f"{r['ci_low']}–{r['ci_high']}" if r["ci_low"] and not suppressed else ""
        lines.append(
            f"| {r['indicator']} | {r['care_type']} | {'' if suppressed else r['n']} | {shown} | {ci} | "
            f"{r['prev_value']} | {_overlap_text(r['ci_overlap_prev'])} |"
        )
    if not region:
        lines.append("| (no figures) | | | | | | |")
    return "\n".join(lines)


def write_report(published_csv: Path, target: Path, year: int) -> str:
    """Write ``report.html`` from the published CSV (atomically); return the markdown summary."""
    rows = _read(published_csv)
    threshold = int(codebook.parameter("suppression_min_n"))
    base = int(codebook.parameter("count_rounding_base"))
    figures: list[tuple[str, go.Figure]] = [
        ("Compared with last year", _comparison_chart(rows, year)),
        ("Questionnaire items", _items_chart(rows)),
    ]
    for indicator, group, care in KEY_FIGURES + ITEM_FIGURES:
        axis = "%" if indicator.startswith(("pct_", "response_rate")) else "mean"
        by_area = _cells(rows, indicator, group, care, ("regio", "subregio", "gemeente"))
        if by_area:
            figures.append((f"{title_of(indicator)} — by municipality",
                            _bar_chart(by_area, f"{title_of(indicator)}, {year}", axis)))
        by_provider = _cells(rows, indicator, group, care, ("aanbieder",))
        if by_provider and (indicator, group, care) in KEY_FIGURES:
            figures.append((f"{title_of(indicator)} — by provider",
                            _bar_chart(by_provider, f"{title_of(indicator)} by provider, {year}", axis)))
    sections = [
        f"<section><h2>{html.escape(heading)}</h2>"
        + figure.to_html(full_html=False, include_plotlyjs=(i == 0), config={"displaylogo": False})
        + "</section>"
        for i, (heading, figure) in enumerate(figures)
    ]
    page = f"""<!DOCTYPE html>
<html lang="nl">
<head>
<meta charset="utf-8">
<title>Cliëntervaringsonderzoek jeugd {year} — Regionale Monitor Jeugd</title>
<style>
body {{ font-family: sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }}
.note {{ color: #444; }}
table {{ border-collapse: collapse; font-size: 0.9em; }}
th, td {{ border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: left; }}
</style>
</head>
<body>
<h1>Cliëntervaringsonderzoek jeugd {year}</h1>
<p class="note">Regionale Monitor Jeugd — Amsterdam-Amstelland and Zaanstreek-Waterland.</p>
<h2>How to read these figures</h2>
<p class="note">Every figure is aggregated. A figure based on fewer than {threshold} observations is
<strong>suppressed</strong>: its value, interval and n are not shown. Where one figure of a breakdown (the
municipalities of a sub-region, the sub-regions, the providers) is suppressed, the next smallest is
suppressed too, so the hidden one cannot be worked out by subtraction from the total. Counts are rounded
to multiples of {base}; percentages and means to one decimal. Error bars are 95% intervals: Wilson score
intervals for percentages, mean ± 1.96·sd/√n for means. Where both years' intervals overlap, the change
may be chance.</p>
<h2>All region figures</h2>
{_region_table(rows)}
{''.join(sections)}
<p class="note">Source: {html.escape(Path(published_csv).name)}, the published figures only.</p>
</body>
</html>
"""
    write_file_atomic(target, lambda tmp: tmp.write_text(page, encoding="utf-8"), mode=0o644)
    return summary_markdown(rows)
