"""``gemeenten/<code>.html``: one page per municipality of the region, for its yearly letter to the council.

Its figures beside its sub-region and the region, and beside its own earlier years (every year already
published), all from the published figures.
"""

from __future__ import annotations

from rmj_dagster import codebook
from rmj_dagster.publish import dutch, page_sections
from rmj_dagster.publish.figures import Published, lookup
from rmj_dagster.publish.html_page import Page, PageMeta


def municipalities() -> list[dict[str, str]]:
    """The region's municipalities that publish under their own code (a merged one is reported as another)."""
    own = [r for r in codebook.rows("region") if r["reported_as"] == r["gemeentecode"]]
    return sorted(own, key=lambda r: r["gemeentenaam"])


def build_municipality_page(published: Published, municipality: dict[str, str], meta: PageMeta) -> bytes:
    rows = lookup(published.rows)
    year, name = published.year, municipality["gemeentenaam"]
    columns = [(name, "gemeente", municipality["gemeentecode"]),
               (municipality["subregio_naam"], "subregio", municipality["subregio"]),
               ("Regio", "regio", "RMJ")]
    page = Page(title=f"Cliëntervaringsonderzoek en uitkomsten jeugdhulp {year}: gemeente {name}",
                subtitle=f"Gemeente {name} naast subregio {municipality['subregio_naam']} en de "
                         f"regio {dutch.label('regio', 'RMJ')}", meta=meta)
    headline = dutch.headline_indicators()
    if not any(r["area_code"] == municipality["gemeentecode"] for r in published.rows):
        page.paragraph(f"Voor gemeente {name} zijn over {year} geen cijfers gepubliceerd: er zijn geen gegevens "
                       "van jeugdigen uit deze gemeente ontvangen.")
    page.heading("Kerncijfers")
    page_sections.comparison_table(page, headline, columns, rows)
    page_sections.comparison_chart(page, headline, columns, rows,
                                   f"{name} naast {municipality['subregio_naam']} en de regio, {{years}} (95%-intervallen)")
    page.heading("Ontwikkeling over de jaren")
    page_sections.trend_charts(page, published, columns, headline)
    page.heading("De stellingen van de vragenlijst")
    page_sections.items_table(page, columns, rows)
    page_sections.glossary(page, rows, "gemeente", municipality["gemeentecode"], headline + dutch.item_indicators())
    page_sections.reading_guide(page)
    page_sections.accountability(page, headline + dutch.item_indicators())
    return page.render(links=[("Het regionale rapport", "../report.html"),
                              (f"Alle cijfers als Excel-werkmap (indicatoren-{year}.xlsx)", f"../indicatoren-{year}.xlsx")])
