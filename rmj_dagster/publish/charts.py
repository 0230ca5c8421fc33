"""The plotly charts of the publications, drawn from published rows only, on scales that do not exaggerate.

Every point carries ``customdata`` = ``<figure key>|<field>`` (``value`` or ``prev``), so the publication
check can hold each drawn number and error bar against the CSV. A suppressed figure is a gap (no number),
labelled as not shown.

The rules a reader relies on (outputs.md, "Charts that do not exaggerate"): each indicator is drawn on its
full scale from the codebook (``schaal_min``/``schaal_max`` in ``indicatoren.csv``: percentages 0-100, the
rapportcijfer 1-10), never zoomed to the data; every 95% interval is drawn (error bars); series differ in
colour, marker symbol and dash or pattern, so two overlapping ones stay visible; the page's own area and
the current year get the strongest colour; a title names only the years actually drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go

from rmj_dagster.publish import dutch
from rmj_dagster.publish.figures import figure_key, is_suppressed, number

_BOUNDS = {"value": ("value", "ci_low", "ci_high"), "prev": ("prev_value", "prev_ci_low", "prev_ci_high")}
COLOURS = {"gemeente": "#00457c", "aanbieder": "#00457c", "subregio": "#e07b39", "regio": "#5a6b7b"}


@dataclass(frozen=True)
class Style:
    """How one series looks; the first is the strongest (darkest) and goes to the page's own area or year."""

    colour: str
    symbol: str
    dash: str
    pattern: str


STYLES = (
    Style("#00457c", "circle", "solid", ""),  # dark blue: own area, current year
    Style("#e07b39", "square", "dash", "/"),  # orange
    Style("#8fa9c4", "diamond", "dot", "."),  # light blue-grey: region, previous year
    Style("#2e8b57", "triangle-up", "dashdot", "x"),  # green
)
STRONG, SECOND, LIGHT = 0, 1, 2


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


def scale(indicator: str) -> tuple[float, float | None]:
    """The indicator's fixed axis range from the codebook; an open top (counts) grows from the bottom."""
    row = dutch.indicator(indicator)
    return float(row["schaal_min"]), number(row["schaal_max"])


def axis(indicator: str) -> dict:
    """A value axis on the indicator's full scale, its title saying which scale that is."""
    low, high = scale(indicator)
    row = dutch.indicator(indicator)
    name = {"pct": "%", "gemiddelde": "gemiddelde", "aantal": "aantal"}[row["eenheid"]]
    if high is None:
        return {"title": {"text": name}, "rangemode": "tozero", "autorange": True}
    stated = f"{dutch.decimal(low, 0)}–{dutch.decimal(high, 0)}"
    return {"title": {"text": f"{name} (schaal {stated})"}, "range": [low, high], "autorange": False}


def years_text(years) -> str:
    """``2024``, ``2024 en 2025``, ``2023, 2024 en 2025``: the years a chart actually draws."""
    shown = [str(y) for y in sorted(set(int(y) for y in years))]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " en " + shown[-1]


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
    indicator = rows[0]["indicator"] if rows else "pct_uitval"
    unit = _unit(indicator)
    figure = go.Figure(go.Bar(
        x=values, y=labels, orientation="h", customdata=[_tag(r, "value") for r in rows],
        error_x={"type": "data", "symmetric": False, "array": above, "arrayminus": below, "color": "#1d1d1d"},
        marker_color=[COLOURS.get(r["area_type"], STYLES[STRONG].colour) for r in rows],
        hovertemplate="%{y}: %{x:.1f}" + unit + "<extra></extra>",
    ))
    figure.update_layout(title=title, height=max(260, 34 * len(rows) + 110), margin={"l": 260, "t": 60},
                         yaxis={"autorange": "reversed"}, xaxis=axis(indicator))
    return figure


@dataclass(frozen=True)
class Series:
    """One series of a grouped chart: (category label, row, field) per bar, drawn in ``STYLES[style]``."""

    name: str
    bars: list[tuple[str, dict[str, str], str]]
    style: int = STRONG


def grouped_bars(series: list[Series], title: str) -> go.Figure:
    """Bars side by side per category (e.g. municipality, sub-region, region) with 95% intervals.

    A series whose bars are all empty (a first year has no previous year) is left out, not drawn empty.
    ``title`` may hold ``{years}``: it becomes the years of the series actually drawn.
    """
    figure = go.Figure()
    years, indicator = set(), "pct_uitval"
    for one in series:
        points = [point(row, field) for _, row, field in one.bars]
        if all(value is None for value, _, _ in points):
            continue
        look = STYLES[one.style]
        years |= {int(row["year"]) - (field == "prev") for _, row, field in one.bars}
        indicator = one.bars[0][1]["indicator"]
        figure.add_trace(go.Bar(
            name=one.name, x=[category for category, _, _ in one.bars], y=[p[0] for p in points],
            customdata=[_tag(row, field) for _, row, field in one.bars],
            marker={"color": look.colour, "pattern": {"shape": look.pattern, "fgcolor": "#ffffff"}},
            error_y={"type": "data", "symmetric": False, "array": [p[1] for p in points],
                     "arrayminus": [p[2] for p in points], "color": "#1d1d1d"},
            hovertemplate=one.name + " – %{x}: %{y:.1f}<extra></extra>",
        ))
    figure.update_layout(title=title.replace("{years}", years_text(years) if years else ""),
                         barmode="group", yaxis=axis(indicator), height=480, margin={"b": 150},
                         legend={"orientation": "h", "y": -0.35})
    return figure


def trend_lines(series: list[tuple[str, list[dict[str, str]], int]], label: str) -> go.Figure:
    """A line per series (name, rows, style) over the published years (x = year), each point with its 95% interval.

    The series are set side by side within a year (``scattermode='group'``), so equal figures of the
    municipality and its sub-region never hide one another; the title names the years drawn.
    """
    figure = go.Figure()
    years, indicator = set(), "pct_uitval"
    for name, rows, style in series:
        look = STYLES[style]
        points = [point(row, "value") for row in rows]
        years |= {row["year"] for row, p in zip(rows, points) if p[0] is not None}
        indicator = rows[0]["indicator"]
        figure.add_trace(go.Scatter(
            name=name, x=[row["year"] for row in rows], y=[p[0] for p in points], mode="lines+markers",
            customdata=[_tag(row, "value") for row in rows], offsetgroup=name,
            line={"color": look.colour, "dash": look.dash, "width": 3 if look is STYLES[STRONG] else 2},
            marker={"symbol": look.symbol, "size": 10, "color": look.colour},
            error_y={"type": "data", "symmetric": False, "array": [p[1] for p in points],
                     "arrayminus": [p[2] for p in points], "color": look.colour, "thickness": 1.5, "width": 6},
            hovertemplate=name + " %{x}: %{y:.1f}<extra></extra>",
        ))
    title = f"{label}, {years_text(years)}" if years else label
    figure.update_layout(title=title, yaxis=axis(indicator), xaxis={"type": "category", "title": "jaar"},
                         scattermode="group", scattergap=0.6, height=420, legend={"orientation": "h", "y": -0.25})
    return figure
