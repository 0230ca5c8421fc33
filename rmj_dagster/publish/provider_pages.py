"""``aanbieders/<agb>.html``: one page per provider, for the prestatiedialoog.

Its own figures beside the region's and beside its own earlier years. The page is built from the
provider's rows and the region's rows only: no other provider's figures, name or AGB code can reach it
(the publication check holds every page to that), and it links to no file that lists other providers.
"""

from __future__ import annotations

from rmj_dagster.publish import dutch, page_sections
from rmj_dagster.publish.figures import Published, lookup
from rmj_dagster.publish.html_page import Page, PageMeta


def providers(rows: list[dict[str, str]]) -> list[str]:
    """The AGB codes with figures in a published year."""
    return sorted({r["area_code"] for r in rows if r["area_type"] == "aanbieder"})


def own_view(published: Published, agb: str) -> Published:
    """The published figures restricted to one provider and the region (every year)."""

    def keep(rows):
        return tuple(r for r in rows if r["area_type"] == "regio" or (r["area_type"] == "aanbieder" and r["area_code"] == agb))

    return Published(year=published.year, rows=keep(published.rows),
                     earlier={y: keep(rows) for y, rows in published.earlier.items()})


def build_provider_page(published: Published, agb: str, meta: PageMeta) -> bytes:
    own = own_view(published, agb)
    rows = lookup(own.rows)
    year, name = own.year, dutch.provider_name(agb)
    columns = [(name, "aanbieder", agb), ("Regio", "regio", "RMJ")]
    page = Page(title=f"Prestatiedialoog jeugdhulp {year}: {name}",
                subtitle=f"{name} naast de regio {dutch.label('regio', 'RMJ')}", meta=meta)
    headline = dutch.headline_indicators()
    page.heading("Kerncijfers")
    page_sections.comparison_table(page, headline, columns, rows)
    page_sections.comparison_chart(page, headline, columns, rows, f"{name} naast de regio, {{years}} (95%-intervallen)")
    page.heading("Ontwikkeling over de jaren")
    page_sections.trend_charts(page, own, columns, headline)
    page.heading("De stellingen van de vragenlijst")
    page_sections.items_table(page, columns, rows)
    page_sections.glossary(page, rows, "aanbieder", agb, headline + dutch.item_indicators())
    page_sections.reading_guide(page)
    page_sections.accountability(page, headline + dutch.item_indicators())
    return page.render()
