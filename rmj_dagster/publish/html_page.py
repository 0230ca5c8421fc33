"""One self-contained HTML page: plotly.js inlined once, charts as JSON beside their div, tagged figures.

Every figure a page shows carries its key: a table cell or headline as ``data-figure`` (the key) and
``data-field`` (``value``, ``ci``, ``n``, ``prev``, ``prev_ci``, ``overlap``), a chart point as its trace's
``customdata`` (``key|field``). The chart JSON the browser draws is the JSON the publication check reads
(``rmj_dagster.publish.publication_check``), so the check sees exactly what a reader sees.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from rmj_dagster.publish import dutch
from rmj_dagster.publish.figures import figure_key, is_suppressed

CHART_CLASS = "rmj-chart"
LIBRARY_ID = "plotly-js"

_STYLE = """
body { font-family: "Segoe UI", Arial, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #1d1d1d; line-height: 1.45; }
h1 { color: #00457c; margin-bottom: 0.2em; } h2 { color: #00457c; border-bottom: 2px solid #d7e3ef; padding-bottom: 0.2em; margin-top: 2em; }
.sub { color: #555; margin-top: 0; }
.cards { display: flex; flex-wrap: wrap; gap: 1em; }
.card { flex: 1 1 300px; border: 1px solid #c9d6e3; border-radius: 6px; padding: 0.8em 1em; background: #f6f9fc; }
.card .label { font-weight: 600; } .card .value { font-size: 2em; color: #00457c; }
.card .detail { color: #444; font-size: 0.92em; } .uitleg { color: #444; font-size: 0.9em; }
table { border-collapse: collapse; font-size: 0.92em; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ccd5df; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #e9f0f7; } td.num { text-align: right; white-space: nowrap; }
.note { color: #444; font-size: 0.95em; } .chart { min-height: 420px; }
dt { font-weight: 600; margin-top: 0.6em; } footer { margin-top: 3em; color: #555; font-size: 0.9em; border-top: 1px solid #ccc; }
"""

_DRAW = (
    "document.querySelectorAll('script." + CHART_CLASS + "').forEach(function (s) {"
    " var f = JSON.parse(s.textContent);"
    " Plotly.newPlot(s.dataset.target, f.data, f.layout, {displaylogo: false, responsive: true});"
    " });"
)


@dataclass(frozen=True)
class PageMeta:
    """What every page says about itself: the year, when it was made, the data it was made from."""

    year: int
    produced: date
    cutoff: datetime | None
    version: int = 1
    changes: tuple[dict, ...] = ()  # the manifest's changes against the previous version


@cache
def plotly_library() -> str:
    """The plotly.js bundle of the installed plotly, read once (every page inlines the same text)."""
    return get_plotlyjs()


_LIBRARY_SLOT = "<!--plotly.js-->"  # where render puts the encoded bundle


@cache
def _library_element() -> bytes:
    """The bundle's script element, encoded once: the bundle holds non-ASCII characters, so every page
    built as text would copy and encode its ~4.8 MB again."""
    return f'<script type="text/javascript" id="{LIBRARY_ID}">{plotly_library()}</script>'.encode()


def escape(text: object) -> str:
    return html.escape(str(text))


def tagged(row: dict[str, str], field_name: str, tag: str = "td", css: str = "num") -> str:
    """One figure field of a published row, formatted in Dutch and tagged with its key."""
    return (f'<{tag} class="{css}" data-figure="{escape(figure_key(row))}" data-field="{field_name}">'
            f"{escape(field_text(row, field_name))}</{tag}>")


def field_text(row: dict[str, str], field_name: str) -> str:
    """The text a page shows for one field of a published row (the check recomputes it the same way)."""
    indicator = row["indicator"]
    if field_name == "value":
        return dutch.SUPPRESSED if is_suppressed(row) else dutch.figure(indicator, row["value"])
    if field_name == "ci":
        return dutch.interval(indicator, row["ci_low"], row["ci_high"])
    if field_name == "n":
        return dutch.SUPPRESSED if is_suppressed(row) else dutch.count(row["n"])
    if field_name == "prev":
        return dutch.figure(indicator, row.get("prev_value", ""))
    if field_name == "prev_ci":
        return dutch.interval(indicator, row.get("prev_ci_low", ""), row.get("prev_ci_high", ""))
    if field_name == "overlap":
        return dutch.overlap(row.get("ci_overlap_prev", ""))
    raise ValueError(f"unknown field {field_name!r}")


def table(head: list[str], body: list[list[str]]) -> str:
    """A table; body cells are ready HTML (``tagged(...)`` or ``cell(...)``)."""
    header = "".join(f"<th>{escape(h)}</th>" for h in head)
    lines = "".join("<tr>" + "".join(row) + "</tr>" for row in body)
    return f"<table><thead><tr>{header}</tr></thead><tbody>{lines}</tbody></table>"


def cell(text: str) -> str:
    return f"<td>{escape(text)}</td>"


@dataclass
class Page:
    """A page built section by section; ``render`` returns the whole HTML document."""

    title: str
    subtitle: str
    meta: PageMeta
    parts: list[str] = field(default_factory=list)
    charts: int = 0

    def heading(self, text: str) -> None:
        self.parts.append(f"<h2>{escape(text)}</h2>")

    def paragraph(self, text: str) -> None:
        self.parts.append(f'<p class="note">{escape(text)}</p>')

    def raw(self, markup: str) -> None:
        self.parts.append(markup)

    def chart(self, figure: go.Figure) -> None:
        """A plotly figure drawn in the browser from its JSON; Dutch separators (``16,1``)."""
        figure.update_layout(separators=",.", font={"family": "Segoe UI, Arial, sans-serif"})
        self.charts += 1
        target = f"chart-{self.charts}"
        data = figure.to_json().replace("</", "<\\/")
        self.parts.append(f'<div class="chart" id="{target}"></div>'
                          f'<script type="application/json" class="{CHART_CLASS}" data-target="{target}">{data}</script>')

    def render(self, links: list[tuple[str, str]] = ()) -> bytes:
        """The whole HTML document, UTF-8 encoded."""
        library = _LIBRARY_SLOT if self.charts else ""
        draw = f"<script>{_DRAW}</script>" if self.charts else ""
        link_items = "".join(f'<li><a href="{escape(href)}">{escape(text)}</a></li>' for text, href in links)
        document = f"""<!DOCTYPE html>
<html lang="nl">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(self.title)}</title>
<style>{_STYLE}</style>
{library}
</head>
<body>
<h1>{escape(self.title)}</h1>
<p class="sub">{escape(self.subtitle)}</p>
<p class="sub">{escape(dutch.version(self.meta.version, self.meta.produced))}</p>
{''.join(self.parts)}
<footer>
<p>Gemaakt op {escape(dutch.long_date(self.meta.produced))}. Gegevens tot en met de laatste ontvangen
aanlevering: {escape(dutch.long_date(self.meta.cutoff))}. Regionale Monitor Jeugd, Amsterdam-Amstelland en
Zaanstreek-Waterland. Alle cijfers zijn geaggregeerd; kleine aantallen zijn niet getoond.</p>
{f'<ul>{link_items}</ul>' if link_items else ''}
</footer>
{draw}
</body>
</html>
"""
        before, _, after = document.partition(_LIBRARY_SLOT)
        return before.encode() + (_library_element() if self.charts else b"") + after.encode()
