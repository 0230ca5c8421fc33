"""``indicatoren-<YYYY>.xlsx``: the published figures for analysts who work in Excel.

One sheet per area type with Dutch headers; numbers stored as numbers (Excel shows them with the reader's
own decimal comma, which the ``;``/``.`` CSV cannot promise); a suppressed figure keeps its cells empty,
greyed, with ``ja`` under *Niet getoond*; a sheet of definitions, one about the file (with its version) and,
from version 2 on, ``Wijzigingen``: the figures changed against the previous version. Built with
openpyxl (write-only mode) from the published rows only.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from rmj_dagster import codebook
from rmj_dagster.publish import dutch
from rmj_dagster.publish.figures import is_suppressed, number
from rmj_dagster.publish.html_page import PageMeta

AREA_SHEETS = ("regio", "subregio", "gemeente", "aanbieder")

# (header, published column or None for a label): the figure columns are read back by the check
COLUMNS = (
    ("Jaar", "year"), ("Gebiedscode", "area_code"), ("Gebied", None), ("Respondenten", None), ("Hulp", None),
    ("Indicator", None), ("Eenheid", None), ("n", "n"), ("Waarde", "value"), ("95%-interval ondergrens", "ci_low"),
    ("95%-interval bovengrens", "ci_high"), ("Niet getoond", None), ("Vorig jaar", "prev_value"),
    ("Vorig jaar ondergrens", "prev_ci_low"), ("Vorig jaar bovengrens", "prev_ci_high"),
    ("Verschil met vorig jaar", None), ("Indicatorcode", "indicator"), ("Code respondenten", "respondent_group"),
    ("Code hulp", "care_type"),
)
NUMBER_COLUMNS = ("year", "n", "value", "ci_low", "ci_high", "prev_value", "prev_ci_low", "prev_ci_high")
SUPPRESSED_COLUMNS = ("n", "value", "ci_low", "ci_high")
DECIMAL_COLUMNS = ("value", "ci_low", "ci_high", "prev_value", "prev_ci_low", "prev_ci_high")
SUPPRESSED_FILL = PatternFill("solid", fgColor="D9D9D9")
_UNITS = {"pct": "%", "gemiddelde": "gemiddelde", "aantal": "aantal"}


def sheet_name(area_type: str) -> str:
    return dutch.label("area_type_meervoud", area_type)


def _labels(row: dict[str, str]) -> dict[str, str]:
    indicator = dutch.indicator(row["indicator"])
    return {
        "Gebied": dutch.area_name(row),
        "Respondenten": dutch.label("respondent_group", row["respondent_group"]),
        "Hulp": dutch.label("care_type", row["care_type"]),
        "Indicator": indicator["label"],
        "Eenheid": _UNITS[indicator["eenheid"]],
        "Niet getoond": "ja" if is_suppressed(row) else "nee",
        "Verschil met vorig jaar": dutch.overlap(row.get("ci_overlap_prev", "")),
    }


def _cell_value(row: dict[str, str], column: str):
    if column in NUMBER_COLUMNS:
        value = number(row.get(column, ""))
        return int(value) if value is not None and column in ("year", "n") else value
    return row[column]


def _styled(sheet, value, *, font: Font | None = None, fill: PatternFill | None = None, number_format: str | None = None):
    """A cell of a write-only sheet carrying its style (plain values need no cell object)."""
    cell = WriteOnlyCell(sheet, value=value)
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    if number_format is not None:
        cell.number_format = number_format
    return cell


def _sheet(book: Workbook, title: str, columns: int, lines: int):
    """A write-only sheet that states its size (``A1:<last cell>``) up front, as a full workbook does.

    The writer asks a sheet for ``calculate_dimension`` before the rows stream by; a write-only sheet
    cannot know it, so it is given here. Without it a reader in read-only mode parses the whole sheet
    an extra time just to learn its size."""
    sheet = book.create_sheet(title)
    dimension = f"A1:{get_column_letter(columns)}{lines}"
    sheet.calculate_dimension = lambda: dimension
    return sheet


def _bold_header(sheet, headers: list[str]) -> None:
    sheet.append([_styled(sheet, header, font=Font(bold=True)) for header in headers])


def _figures_sheet(book: Workbook, area_type: str, rows: list[dict[str, str]]) -> None:
    rows = [r for r in rows if r["area_type"] == area_type]
    sheet = _sheet(book, sheet_name(area_type), len(COLUMNS), 1 + len(rows))
    for index, (header, _) in enumerate(COLUMNS, start=1):  # a write-only sheet takes its layout before rows
        width = 60 if header == "Indicator" else 34 if header == "Gebied" else max(12, len(header) + 2)
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "D2"
    _bold_header(sheet, [header for header, _ in COLUMNS])
    for row in rows:
        labels, hidden = _labels(row), is_suppressed(row)
        cells = []
        for header, column in COLUMNS:
            value = _cell_value(row, column) if column else labels[header]
            decimal, grey = column in DECIMAL_COLUMNS, hidden and column in SUPPRESSED_COLUMNS
            cells.append(_styled(sheet, value, fill=SUPPRESSED_FILL if grey else None,
                                 number_format="0.0" if decimal else None) if decimal or grey else value)
        sheet.append(cells)
    sheet.auto_filter.ref = sheet.calculate_dimension()


def _definitions_sheet(book: Workbook) -> None:
    sheet = _sheet(book, "Definities", 4, 1 + len(dutch.indicators()))
    for letter, width in zip("ABCD", (60, 12, 120, 24)):
        sheet.column_dimensions[letter].width = width
    _bold_header(sheet, ["Indicator", "Eenheid", "Definitie", "Indicatorcode"])
    for indicator in dutch.indicators():
        sheet.append([indicator["label"], _UNITS[indicator["eenheid"]], indicator["definitie"], indicator["indicator"]])


CHANGE_SIDE = (("n", "n"), ("Waarde", "value"), ("Niet getoond", "suppressed"))


def _changes_sheet(book: Workbook, meta: PageMeta) -> None:
    """``Wijzigingen``: every figure this version changed against the previous one, both sides as published."""
    before, now = meta.version - 1, meta.version
    headers = ["Gebied", "Respondenten", "Hulp", "Indicator",
               *(f"{header} versie {v}" for v in (before, now) for header, _ in CHANGE_SIDE),
               "Soort gebied", "Gebiedscode", "Indicatorcode"]
    sheet = _sheet(book, "Wijzigingen", len(headers), 1 + len(meta.changes))
    for index, header in enumerate(headers, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = 60 if header == "Indicator" else max(12, len(header) + 2)
    _bold_header(sheet, headers)
    for change in meta.changes:
        sides = []
        for side in (change["old"], change["new"]):
            for _, field in CHANGE_SIDE:
                text = None if side is None else side[field]
                if field == "suppressed":
                    sides.append(None if text is None else "ja" if text == "true" else "nee")
                else:
                    sides.append(_styled(sheet, number(text), number_format="0.0") if field == "value" else number(text))
        sheet.append([dutch.area_name(change), dutch.label("respondent_group", change["respondent_group"]),
                      dutch.label("care_type", change["care_type"]), dutch.indicator(change["indicator"])["label"],
                      *sides, change["area_type"], change["area_code"], change["indicator"]])


def _about_sheet(book: Workbook, meta: PageMeta) -> None:
    threshold = int(codebook.parameter("suppression_min_n"))
    base = int(codebook.parameter("count_rounding_base"))
    lines = (
        f"Cliëntervaringsonderzoek en uitkomsten jeugdhulp {meta.year}",
        f"Regio {dutch.label('regio', 'RMJ')}",
        dutch.version(meta.version, meta.produced)
        + (f"; werkblad Wijzigingen noemt de {len(meta.changes)} cijfers die verschillen van versie {meta.version - 1}."
           if meta.version > 1 else "."),
        f"Gemaakt op {dutch.long_date(meta.produced)}; gegevens tot en met de laatste ontvangen aanlevering: "
        f"{dutch.long_date(meta.cutoff)}.",
        "Eén werkblad per soort gebied; dezelfde cijfers als indicators.csv.",
        f"Een cijfer dat op minder dan {threshold} waarnemingen rust, is niet getoond (lege, grijze cellen en 'ja' "
        "onder Niet getoond); binnen een uitsplitsing is dan ook het eerstvolgende kleinste cijfer niet getoond, "
        f"en zo veel meer dat niet getoonde cijfers samen altijd minstens {threshold} waarnemingen tellen of niet "
        "af te leiden zijn.",
        f"n is afgerond op veelvouden van {base}; percentages en gemiddelden op één decimaal. Het afronden "
        "beschermt zelf niets (uit percentage en interval is n vaak terug te rekenen); het niet tonen wel.",
        "Waarden in procenten staan als getal (16,1 betekent 16,1%); de kolom Eenheid zegt welke het is.",
    )
    sheet = _sheet(book, "Toelichting", 1, len(lines))
    sheet.column_dimensions["A"].width = 140
    sheet.append([_styled(sheet, lines[0], font=Font(bold=True, size=14))])
    for line in lines[1:]:
        sheet.append([line])


def write_workbook(rows: list[dict[str, str]], meta: PageMeta, target: Path) -> None:
    """Write the workbook of one year's published rows to ``target`` (the caller makes it atomic).

    Written in openpyxl's write-only mode: rows stream to the file instead of being held as cell objects.
    """
    book = Workbook(write_only=True)
    _about_sheet(book, meta)
    for area_type in AREA_SHEETS:
        _figures_sheet(book, area_type, rows)
    _definitions_sheet(book)
    if meta.version > 1:
        _changes_sheet(book, meta)
    book.save(target)
