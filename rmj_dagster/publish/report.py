"""``report.html``: the region's yearly page, drawn from the published figures only.

Headline figures first (each with a plain description, interval and last year), then the breakdowns by area
and by provider, the questionnaire statements, every region figure, the links to the municipality and
provider pages, the glossary in plain words, the reading guide and, last, the method (Verantwoording); the
links to the CSV and the workbook close the page.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from rmj_dagster.publish import charts, dutch, page_sections
from rmj_dagster.publish.figures import Lookup, Published, lookup
from rmj_dagster.publish.html_page import Page, PageMeta, cell, escape, table, tagged

REGION = ("regio", "RMJ")


def build_report(published: Published, meta: PageMeta, municipalities: list[dict[str, str]],
                 providers: list[str]) -> bytes:
    """The whole page as HTML."""
    rows = lookup(published.rows)
    year = published.year
    page = Page(title=f"Cliëntervaringsonderzoek en uitkomsten jeugdhulp {year}",
                subtitle=f"Regio {dutch.label('regio', 'RMJ')}: de kerncijfers van {year}", meta=meta)
    _headline_cards(page, rows)
    _headline_chart(page, rows, year)
    _changes(page, meta)
    _breakdowns(page, published.rows)
    _items_chart(page, rows)
    _region_table(page, published.rows)
    _more_pages(page, municipalities, providers)
    page_sections.glossary(page, rows, *REGION, dutch.indicators())
    page_sections.reading_guide(page)
    page_sections.accountability(page, dutch.indicators())
    return page.render(links=[("De cijfers als CSV voor verdere verwerking (indicators.csv, met een punt als "
                               "decimaalteken; open in Excel liever de werkmap)", "indicators.csv"),
                              (f"De cijfers als Excel-werkmap (indicatoren-{year}.xlsx)", f"indicatoren-{year}.xlsx")])


def _headline_cards(page: Page, rows: Lookup) -> None:
    page.heading("Kerncijfers")
    cards = []
    for indicator in dutch.headline_indicators():
        row = page_sections.headline_row(rows, *REGION, indicator)
        if row is None:
            cards.append(f'<div class="card"><div class="label">{escape(indicator["label"])}</div>'
                         f'<div class="uitleg">{escape(indicator["uitleg"])}</div>'
                         f'<div class="value">{page_sections.NO_DATA}</div>'
                         '<div class="detail">Vorig jaar: geen gepubliceerd cijfer</div></div>')
            continue
        previous = (f"Vorig jaar: {tagged(row, 'prev', 'span', 'prev')} "
                    f"({tagged(row, 'prev_ci', 'span', 'prev_ci')}), {tagged(row, 'overlap', 'span', 'overlap')}"
                    if row.get("prev_value") else "Vorig jaar: geen gepubliceerd cijfer")
        cards.append(
            f'<div class="card"><div class="label">{escape(indicator["label"])}</div>'
            f'<div class="uitleg">{escape(indicator["uitleg"])}</div>'
            f'<div class="value">{tagged(row, "value", "span", "value")}</div>'
            f'<div class="detail">95%-interval {tagged(row, "ci", "span", "ci")}; n = {tagged(row, "n", "span", "n")}</div>'
            f'<div class="detail">{previous}</div></div>'
        )
    page.raw('<div class="cards">' + "".join(cards) + "</div>")


def _headline_chart(page: Page, rows: Lookup, year: int) -> None:
    shown = [i for i in dutch.headline_indicators() if i["eenheid"] == "pct"]
    found = [(i["kort"], row) for i in shown if (row := page_sections.headline_row(rows, *REGION, i))]
    series = [charts.Series(str(year - 1), [(k, row, "prev") for k, row in found], charts.LIGHT),
              charts.Series(str(year), [(k, row, "value") for k, row in found], charts.STRONG)]
    page.chart(charts.grouped_bars(series, "De regio in {years} (95%-intervallen)"))


def _changes(page: Page, meta: PageMeta) -> None:
    """What this version changed against the previous one: how many figures, and the region's in a table."""
    if meta.version < 2:
        return
    page.heading(f"Wijzigingen ten opzichte van versie {meta.version - 1}")
    counts = Counter(change["area_type"] for change in meta.changes)  # in the changes' order: region first
    where = ", ".join(f"{dutch.label('area_type_meervoud', t)}: {n}" for t, n in counts.items())
    page.paragraph(f"Deze versie vervangt versie {meta.version - 1}. "
                   + (f"Gewijzigd zijn {len(meta.changes)} cijfers ({where}); de volledige lijst staat in de werkmap "
                      "(werkblad Wijzigingen). Eerdere versies blijven bewaard in de map versions."
                      if meta.changes else "Er zijn geen cijfers gewijzigd."))
    region = [c for c in meta.changes if c["area_type"] == "regio"]
    if region:
        body = [[cell(dutch.indicator(c["indicator"])["label"]), cell(dutch.label("respondent_group", c["respondent_group"])),
                 cell(dutch.label("care_type", c["care_type"])), cell(change_text(c["indicator"], c["old"])),
                 cell(change_text(c["indicator"], c["new"]))] for c in region]
        page.raw(table(["Indicator", "Respondenten", "Hulp", f"Versie {meta.version - 1}", f"Versie {meta.version}"], body))


def change_text(indicator: str, side: dict | None) -> str:
    """One side of a changed figure as a reader sees it: ``16,1% (n = 125)``, niet getoond, or no figure."""
    if side is None:
        return "geen cijfer"
    if side["suppressed"] == "true":
        return dutch.SUPPRESSED
    shown = dutch.figure(indicator, side["value"] or "")
    return shown if dutch.indicator(indicator)["eenheid"] == "aantal" else f"{shown} (n = {dutch.count(side['n'] or '')})"


def _area_order(row: dict[str, str]) -> tuple:
    order = {"regio": 0, "subregio": 1, "gemeente": 2, "aanbieder": 3}[row["area_type"]]
    subregion = row["area_code"] if row["area_type"] == "subregio" else ""
    return order, subregion, dutch.area_name(row)


def _breakdowns(page: Page, rows: list[dict[str, str]]) -> None:
    page.heading("Uitsplitsingen naar gebied en aanbieder")
    for indicator in dutch.headline_indicators():
        chosen = [r for r in rows if r["indicator"] == indicator["indicator"] and r["respondent_group"] == "ALL"
                  and r["care_type"] == indicator["zorgtype_kop"]]
        areas = sorted((r for r in chosen if r["area_type"] != "aanbieder"), key=_area_order)
        providers = sorted((r for r in chosen if r["area_type"] == "aanbieder"), key=_area_order)
        if areas:
            page.chart(charts.area_bars(areas, f"{indicator['label']}: regio, subregio's en gemeenten"))
        if providers:
            page.chart(charts.area_bars(providers, f"{indicator['label']}: per aanbieder"))


def _items_chart(page: Page, rows: Lookup) -> None:
    page.heading("De stellingen van de vragenlijst")
    series = []
    for group, style in (("ALL", charts.STRONG), ("OUDERS", charts.SECOND), ("JONGEREN", 3)):
        bars = [(i["kort"], row, "value") for i in dutch.item_indicators()
                if (row := rows.get(("regio", "RMJ", group, "ALL", i["indicator"])))]
        series.append(charts.Series(dutch.label("respondent_group", group), bars, style))
    page.chart(charts.grouped_bars(series, "Regio: % (helemaal) eens per stelling, {years}"))


def _region_table(page: Page, rows: list[dict[str, str]]) -> None:
    page.heading("Alle cijfers van de regio")
    head = ["Indicator", "Respondenten", "Hulp", "n", "Waarde", "95%-interval", "Vorig jaar", "Interval vorig jaar",
            "Verschil met vorig jaar"]
    body = [
        [cell(dutch.indicator(r["indicator"])["label"]), cell(dutch.label("respondent_group", r["respondent_group"])),
         cell(dutch.label("care_type", r["care_type"])),
         *(tagged(r, f) for f in ("n", "value", "ci", "prev", "prev_ci", "overlap"))]
        for r in rows if r["area_type"] == "regio"
    ]
    page.raw(table(head, body))


def _more_pages(page: Page, municipalities: list[dict[str, str]], providers: list[str]) -> None:
    page.heading("Pagina's per gemeente en per aanbieder")
    links = [f'<li><a href="gemeenten/{escape(m["gemeentecode"])}.html">{escape(m["gemeentenaam"])}</a></li>'
             for m in municipalities]
    page.raw("<p>Gemeenten:</p><ul>" + "".join(links) + "</ul>")
    links = [f'<li><a href="aanbieders/{escape(agb)}.html">{escape(dutch.provider_name(agb))}</a></li>'
             for agb in providers]
    page.raw("<p>Aanbieders (voor de prestatiedialoog):</p><ul>" + "".join(links) + "</ul>")


def write_report(published: Published, meta: PageMeta, target: Path, municipalities, providers) -> None:
    from rmj_dagster.publish import write_file_atomic

    document = build_report(published, meta, municipalities, providers)
    write_file_atomic(target, lambda tmp: tmp.write_bytes(document), mode=0o644)


def summary_markdown(rows: list[dict[str, str]]) -> str:
    """The region's headline figures as a markdown table (Dagster metadata), from published rows only."""
    found = lookup(rows)
    lines = ["| indicator | waarde | 95%-interval | n | vorig jaar |", "|---|---|---|---|---|"]
    for indicator in dutch.headline_indicators():
        row = page_sections.headline_row(found, *REGION, indicator)
        if row is None:
            continue
        lines.append(f"| {indicator['label']} | {dutch.SUPPRESSED if row['suppressed'] == 'true' else dutch.figure(row['indicator'], row['value'])} "
                     f"| {dutch.interval(row['indicator'], row['ci_low'], row['ci_high'])} | {dutch.count(row['n'])} "
                     f"| {dutch.figure(row['indicator'], row.get('prev_value', ''))} |")
    if len(lines) == 2:
        lines.append("| (geen cijfers) | | | | |")
    return "\n".join(lines)
