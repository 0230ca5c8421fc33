"""Sections the region report, the municipality pages and the provider pages share."""

from __future__ import annotations

from rmj_dagster import codebook
from rmj_dagster.publish import charts, dutch
from rmj_dagster.publish.figures import Lookup, Published, lookup
from rmj_dagster.publish.html_page import Page, cell, escape, table, tagged

NO_DATA = "geen gegevens"


def headline_row(rows: Lookup, area_type: str, code: str, indicator: dict[str, str]) -> dict[str, str] | None:
    """The row a headline figure uses: all respondents, the indicator's headline care type."""
    return rows.get((area_type, code, "ALL", indicator["zorgtype_kop"], indicator["indicator"]))


def _figure_cells(row: dict[str, str] | None, fields: tuple[str, ...]) -> list[str]:
    if row is None:
        return [cell(NO_DATA)] + [cell("") for _ in fields[1:]]
    return [tagged(row, f) for f in fields]


OWN_FIELDS = ("value", "ci", "n", "prev", "overlap")


def comparison_table(page: Page, indicators: list[dict[str, str]], columns: list[tuple[str, str, str]],
                     rows: Lookup) -> None:
    """Per indicator: the first area's figure with interval, n and last year; then the other areas' values.

    ``columns``: (heading, area_type, area_code), the first being the page's own area.
    """
    (own_heading, own_type, own_code), others = columns[0], columns[1:]
    head = ["Indicator", own_heading, "95%-interval", "n", f"{own_heading} vorig jaar", "Verschil met vorig jaar",
            *(h for h, _, _ in others)]
    body = []
    for indicator in indicators:
        own = headline_row(rows, own_type, own_code, indicator)
        line = [indicator_cell(indicator), *_figure_cells(own, OWN_FIELDS)]
        for _, area_type, code in others:
            line += _figure_cells(headline_row(rows, area_type, code, indicator), ("value",))
        body.append(line)
    page.raw(table(head, body))


def indicator_cell(indicator: dict[str, str]) -> str:
    """The indicator's label with its one-line plain description (``uitleg``) beneath: what it means, before how."""
    return f'<td>{escape(indicator["label"])}<br><span class="uitleg">{escape(indicator["uitleg"])}</span></td>'


def comparison_chart(page: Page, indicators: list[dict[str, str]], columns: list[tuple[str, str, str]],
                     rows: Lookup, title: str) -> None:
    """The percentages of the page's area beside the other areas (grouped bars with intervals)."""
    shown = [i for i in indicators if i["eenheid"] == "pct"]
    series = []
    for (heading, area_type, code), style in zip(columns, _column_styles(len(columns))):
        bars = [(i["kort"], row, "value") for i in shown if (row := headline_row(rows, area_type, code, i))]
        series.append(charts.Series(heading, bars, style))
    page.chart(charts.grouped_bars(series, title))


def _column_styles(count: int) -> list[int]:
    """The page's own area strongest, the region (last) lightest, a sub-region between."""
    return [charts.STRONG, charts.LIGHT] if count == 2 else [charts.STRONG, charts.SECOND, charts.LIGHT][:count]


def trend_charts(page: Page, published: Published, columns: list[tuple[str, str, str]],
                 indicators: list[dict[str, str]]) -> None:
    """Per indicator, each area over every published year; a first year says so instead of an empty chart."""
    years = published.years()
    if len(years) < 2:
        page.paragraph(f"{published.year} is het eerste jaar met gepubliceerde cijfers; de ontwikkeling over de "
                       "jaren volgt zodra er een volgend jaar is.")
        return
    per_year = {y: lookup(published.rows if y == published.year else published.earlier[y]) for y in years}
    for indicator in indicators:
        series = []
        for (heading, area_type, code), style in zip(columns, _column_styles(len(columns))):
            found = [row for y in years if (row := headline_row(per_year[y], area_type, code, indicator))]
            if found:
                series.append((heading, found, style))
        if series:
            page.chart(charts.trend_lines(series, indicator["label"]))


def items_table(page: Page, columns: list[tuple[str, str, str]], rows: Lookup) -> None:
    """The questionnaire statements (% (helemaal) eens) for each area, all respondents and care."""
    head = ["Stelling", *(h for h, _, _ in columns), "n"]
    body = []
    for item in dutch.item_indicators():
        line = [cell(item["label"].split(": ", 1)[-1])]
        for _, area_type, code in columns:
            line += _figure_cells(headline_row(rows, area_type, code, item), ("value",))
        line += _figure_cells(headline_row(rows, columns[0][1], columns[0][2], item), ("n",))
        body.append(line)
    page.raw(table(head, body))


def reading_guide(page: Page) -> None:
    threshold = int(codebook.parameter("suppression_min_n"))
    base = int(codebook.parameter("count_rounding_base"))
    page.heading("Zo leest u de cijfers")
    page.paragraph(
        f"Alle cijfers zijn geaggregeerd. Een cijfer dat op minder dan {threshold} waarnemingen rust, is "
        f"{dutch.SUPPRESSED}: waarde, interval en n ontbreken. Is binnen een uitsplitsing (de gemeenten van een "
        "subregio, de subregio's, de aanbieders, ouders en jongeren, einde en duurzame hulp) één cijfer niet "
        "getoond, dan is ook het eerstvolgende kleinste cijfer niet getoond, zodat het verborgen cijfer niet "
        "uit het totaal kan worden teruggerekend. Er wordt zo veel extra verborgen dat ook een groep niet "
        "getoonde cijfers samen (bijvoorbeeld een subregio min de getoonde gemeenten) altijd minstens "
        f"{threshold} waarnemingen telt of niet uit de cijfers is af te leiden. Dat geldt ook tussen versies "
        "van hetzelfde jaar: verandert een correctie het aantal waarnemingen achter een cijfer (of achter een "
        f"groep niet getoonde cijfers samen) met 1 tot {threshold - 1}, dan wordt het in de nieuwe versie niet "
        "getoond. Aantallen (n) zijn afgerond op "
        f"veelvouden van {base}; percentages en gemiddelden op één decimaal. Dat afronden beschermt zelf niets: "
        "uit een percentage en zijn interval is het precieze aantal vaak terug te rekenen. De bescherming zit "
        "in het niet tonen. Het 95%-interval geeft de onzekerheid aan (Wilson-interval "
        "voor percentages, gemiddelde plus of min 1,96 keer de standaardfout voor gemiddelden). Overlappen de "
        "intervallen van twee jaren, dan kan het verschil toeval zijn: 'verschil binnen de marge'."
    )


def glossary(page: Page, rows: Lookup, area_type: str, code: str, indicators: list[dict[str, str]]) -> None:
    """Each figure in plain words, with its n (of the page's own area); how it is computed is in the Verantwoording."""
    page.heading("Begrippen")
    entries = []
    for indicator in indicators:
        row = headline_row(rows, area_type, code, indicator)
        n = f"<br>n: {tagged(row, 'n', tag='span', css='n')}" if row is not None else f"<br>n: {NO_DATA}"
        entries.append(f"<dt>{escape(indicator['label'])}</dt><dd>{escape(indicator['uitleg'])}{n}</dd>")
    page.raw("<dl>" + "".join(entries) + "</dl>")


def accountability(page: Page, indicators: list[dict[str, str]]) -> None:
    """The method at the end of the page (``Verantwoording``): each figure's exact definition from the codebook."""
    page.heading("Verantwoording")
    page.paragraph("Hoe elk cijfer precies is berekend, voor wie het wil nagaan of vergelijken met andere bronnen.")
    entries = [f"<dt>{escape(i['label'])}</dt><dd>{escape(i['definitie'])}</dd>" for i in indicators]
    page.raw('<dl class="verantwoording">' + "".join(entries) + "</dl>")
