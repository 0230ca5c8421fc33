"""The plotly charts of the publications, drawn from published rows only.

Every point carries ``customdata`` = ``<figure key>|<field>`` (``value`` or ``prev``), so the publication
check can hold each drawn number and error bar against the CSV. A suppressed figure is a gap (no number),
labelled as not shown.
"""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go

from rmj_dagster.publish import dutch
from rmj_dagster.publish.figures import figure_key, is_suppressed, number

_BOUNDS = {"value": ("value", "ci_low", "ci_high"), "prev": ("prev_value", "prev_ci_low", "prev_ci_high")}
COLOURS = {"gemeente": "#1f5fa8", "aanbieder": "#1f5fa8", "subregio": "#7a9cc6", "regio": "#b8c9dc"}
SERIES_COLOURS = ("#1f5fa8", "#7a9cc6", "#b8c9dc", "#e07b39")


def point(row: dict[str, str], field: str) -> tuple[float | None, float | None, float | None]:
    """(value, error above, error below) of a row's ``value`` or ``prev`` figure, as published."""
    value, low, high = (number(row.get(c, "")) for c in _BOUNDS[field])
    if value is None:
        return None, None, None
    above = round(high - value, 1) if high is not None else None
    below = round(value - low, 1) if low is not None else None
    return value, above, below


def _tag(row: dict[str, str], field: str) -> str:
    return f"{figure_key(row)}|{field}"


def _unit(indicator: str) -> str:
    return "%" if dutch.indicator(indicator)["eenheid"] == "pct" else ""


def area_bars(rows: list[dict[str, str]], title: str) -> go.Figure:
    """One horizontal bar per area (region, sub-regions, municipalities or providers) with its interval."""
    labels, values, above, below = [], [], [], []
    for row in rows:
        value, up, down = point(row, "value")
        name = dutch.area_name(row)
        labels.append(f"{name} ({dutch.SUPPRESSED})" if is_suppressed(row) else name)
        values.append(value)
        above.append(up)
        below.append(down)
    unit = _unit(rows[0]["indicator"]) if rows else ""
    figure = go.Figure(go.Bar(
        x=values, y=labels, orientation="h", customdata=[_tag(r, "value") for r in rows],
        error_x={"type": "data", "symmetric": False, "array": above, "arrayminus": below},
        marker_color=[COLOURS.get(r["area_type"], "#1f5fa8") for r in rows],
        hovertemplate="%{y}: %{x:.1f}" + unit + "<extra></extra>",
    ))
    figure.update_layout(title=title, height=max(260, 34 * len(rows) + 110), margin={"l": 260, "t": 60},
                         yaxis={"autorange": "reversed"}, xaxis_title=unit or "gemiddelde")
    return figure


@dataclass(frozen=True)
class Series:
    """One coloured series of a grouped chart: (category label, row, field) per bar."""

    name: str
    bars: list[tuple[str, dict[str, str], str]]


def grouped_bars(series: list[Series], title: str, axis: str) -> go.Figure:
    """Bars side by side per category (e.g. municipality, sub-region, region) with 95% intervals.

    A series whose bars are all empty (a first year has no previous year) is left out, not drawn empty.
    """
    figure = go.Figure()
    for colour, one in zip(SERIES_COLOURS, series):
        points = [point(row, field) for _, row, field in one.bars]
        if all(value is None for value, _, _ in points):
            continue
        figure.add_trace(go.Bar(
            name=one.name, x=[category for category, _, _ in one.bars], y=[p[0] for p in points],
            customdata=[_tag(row, field) for _, row, field in one.bars], marker_color=colour,
            error_y={"type": "data", "symmetric": False, "array": [p[1] for p in points],
                     "arrayminus": [p[2] for p in points]},
            hovertemplate=one.name + " – %{x}: %{y:.1f}<extra></extra>",
        ))
    figure.update_layout(title=title, barmode="group", yaxis_title=axis, height=480, margin={"b": 150},
                         legend={"orientation": "h", "y": -0.35})
    return figure


def trend_lines(series: list[tuple[str, list[dict[str, str]]]], title: str, axis: str) -> go.Figure:
    """A line per series over the published years (x = year), each point with its 95% interval."""
    figure = go.Figure()
    for colour, (name, rows) in zip(SERIES_COLOURS, series):
        points = [point(row, "value") for row in rows]
        figure.add_trace(go.Scatter(
            name=name, x=[row["year"] for row in rows], y=[p[0] for p in points], mode="lines+markers",
            customdata=[_tag(row, "value") for row in rows], line={"color": colour},
            error_y={"type": "data", "symmetric": False, "array": [p[1] for p in points],
                     "arrayminus": [p[2] for p in points]},
            hovertemplate=name + " %{x}: %{y:.1f}<extra></extra>",
        ))
    figure.update_layout(title=title, yaxis_title=axis, xaxis={"type": "category", "title": "jaar"}, height=420,
                         legend={"orientation": "h", "y": -0.25})
    return figure
