"""The publications for people, opened the way their readers open them.

Two years of hand-made figures (the region, both sub-regions, six municipalities, four providers) go
through the real suppression model and ``write_ceo_outputs``. Aalsmeer (n = 5) and provider 44444444
(n = 5) are hidden, each with a complement; every other expectation is read from the CSV.
"""

from __future__ import annotations

import json
import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import dagster as dg
import pytest
from openpyxl import load_workbook

from rmj_dagster import codebook, warehouse
from rmj_dagster.publish import dutch
from rmj_dagster.publish.ceo_files import NoFiguresError, write_ceo_outputs
from rmj_dagster.publish.figures import read_published
from rmj_dagster.publish.publication_check import verify_publication
from rmj_dagster.warehouse import sql_models

BASE_COLUMNS = ("period varchar, year integer, area_type varchar, area_code varchar, area_name varchar, parent_code varchar, "
                "respondent_group varchar, care_type varchar, indicator varchar, numerator bigint, n bigint, "
                "value double, ci_low double, ci_high double")
# (area_type, code, name, parent, n)
AREAS = (
    ("regio", "RMJ", "Regionale Monitor Jeugd", None, 400),
    ("subregio", "AA", "Amsterdam-Amstelland", "RMJ", 240), ("subregio", "ZW", "Zaanstreek-Waterland", "RMJ", 160),
    ("gemeente", "0363", "Amsterdam", "AA", 150), ("gemeente", "0362", "Amstelveen", "AA", 45),
    ("gemeente", "0384", "Diemen", "AA", 40), ("gemeente", "0358", "Aalsmeer", "AA", 5),  # 30 but for uitval
    ("gemeente", "0479", "Zaanstad", "ZW", 100), ("gemeente", "0439", "Purmerend", "ZW", 60),
    ("aanbieder", "11111111", "11111111", "AANBIEDERS", 180), ("aanbieder", "22222222", "22222222", "AANBIEDERS", 120),
    ("aanbieder", "33333333", "33333333", "AANBIEDERS", 95), ("aanbieder", "44444444", "44444444", "AANBIEDERS", 5),
)
# (indicator, care type, value of the first area, spread between areas, interval half-width)
INDICATORS = (
    ("pct_uitval", "ALL", 12.8, 0.7, 3.0), ("pct_doelrealisatie", "ALL", 77.3, 0.6, 4.0),
    ("pct_probleemafname", "ALL", 40.4, 0.9, 4.0), ("mean_q09", "ALL", 7.2, 0.05, 0.3),
    ("pct_zonder_hulp_verder", "ALL", 49.8, 0.8, 5.0), ("response_rate", "EINDE", 33.1, 1.1, 4.0),
    ("pct_positive_q01", "ALL", 71.3, 0.4, 5.0),
)
HIDDEN_VALUE = 93.714  # Aalsmeer's uitval, n = 5: never shown anywhere
FOREIGN = "44444444"


def base_rows(year: int) -> list[tuple]:
    rows = []
    for indicator, care, first, spread, half in INDICATORS:
        for index, (area_type, code, name, parent, n) in enumerate(AREAS):
            value = first + spread * index + (year - 2024)
            if (code, indicator) == ("0358", "pct_uitval"):
                value = HIDDEN_VALUE
            elif code == "0358":
                n = 30  # Aalsmeer's other figures are shown
            rows.append((year, area_type, code, name, parent, "ALL", care, indicator, None, n, value,
                         value - half, value + half))
    return rows


def publish_years(folder: Path, years: tuple[int, ...]) -> Path:
    exports = folder / "exports"
    with warehouse.connect(folder / "w.duckdb") as con:
        codebook.load_into(con)
        con.execute(f"create table marts.indicator_base ({BASE_COLUMNS})")
        for year in years:  # a year's partition: the year and the year before (when there is one)
            rows = [(str(year), *row) for before in years if before in (year - 1, year) for row in base_rows(before)]
            con.executemany("insert into marts.indicator_base values (" + ", ".join("?" * 14) + ")", rows)
        for year in years:
            sql_models.run_model(con, sql_models.model("ceo_indicators"), period=str(year),
                                 period_start=date(year, 1, 1), period_end=date(year, 12, 31))
            write_ceo_outputs(con, year, exports, produced=date(2026, 12, 1))
    return exports


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> Path:
    return publish_years(tmp_path_factory.mktemp("people"), (2024, 2025))


def folder_of(exports: Path, year: int = 2025) -> Path:
    return exports / "ceo" / str(year)


def csv_rows(exports: Path, year: int = 2025) -> dict[tuple, dict]:
    return {(r["area_type"], r["area_code"], r["respondent_group"], r["care_type"], r["indicator"]): r
            for r in read_published(folder_of(exports, year) / "indicators.csv")}


class Reader(HTMLParser):
    """What a reader sees: visible text (no scripts, no attributes) and the charts' JSON."""

    def __init__(self):
        super().__init__()
        self.text, self.charts, self._script = [], [], None

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self._script = dict(attrs).get("class", "")

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = None

    def handle_data(self, data):
        if self._script is None:
            self.text.append(data)
        elif self._script == "rmj-chart":
            self.charts.append(json.loads(data))


def read_page(path: Path) -> Reader:
    reader = Reader()
    reader.feed(path.read_text(encoding="utf-8"))
    return reader


def test_every_publication_is_written_for_each_year(exports):
    for year in (2024, 2025):
        folder = folder_of(exports, year)
        assert {p.name for p in folder.iterdir()} == {"indicators.csv", "report.html", f"indicatoren-{year}.xlsx", "manifest.json",
                                                      "gemeenten", "aanbieders"}
        region = [r for r in codebook.rows("region") if r["reported_as"] == r["gemeentecode"]]
        assert sorted(p.stem for p in (folder / "gemeenten").iterdir()) == sorted(r["gemeentecode"] for r in region)
        assert sorted(p.stem for p in (folder / "aanbieders").iterdir()) == ["11111111", "22222222", "33333333", FOREIGN]
        assert verify_publication(exports, year) == []


def test_the_workbook_read_back_holds_the_csv(exports):
    rows = read_published(folder_of(exports) / "indicators.csv")
    book = load_workbook(folder_of(exports) / "indicatoren-2025.xlsx")
    assert book.sheetnames == ["Toelichting", "Regio", "Subregio's", "Gemeenten", "Aanbieders", "Definities"]
    sheets = {"regio": "Regio", "subregio": "Subregio's", "gemeente": "Gemeenten", "aanbieder": "Aanbieders"}
    found = {}
    for area_type, name in sheets.items():
        lines = list(book[name].iter_rows(values_only=True))
        header = lines[0]
        assert header[:3] == ("Jaar", "Gebiedscode", "Gebied") and "Waarde" in header and "Niet getoond" in header
        for line in lines[1:]:
            cells = dict(zip(header, line))
            found[(area_type, cells["Gebiedscode"], cells["Code respondenten"], cells["Code hulp"], cells["Indicatorcode"])] = cells
    assert len(found) == len(rows)
    for row in rows:
        cells = found[(row["area_type"], row["area_code"], row["respondent_group"], row["care_type"], row["indicator"])]
        assert cells["Niet getoond"] == ("ja" if row["suppressed"] == "true" else "nee")
        for header, column in (("n", "n"), ("Waarde", "value"), ("95%-interval ondergrens", "ci_low"),
                               ("95%-interval bovengrens", "ci_high"), ("Vorig jaar", "prev_value")):
            if row[column] == "":
                assert cells[header] is None, (row, header)
            else:  # a number stored as a number, equal to the CSV's
                assert isinstance(cells[header], (int, float)) and cells[header] == float(row[column]), (row, header)
        assert cells["Indicator"] == dutch.indicator(row["indicator"])["label"]
    definitions = [line[0] for line in book["Definities"].iter_rows(min_row=2, values_only=True)]
    assert "Uitval: hulp eenzijdig door de cliënt beëindigd (%)" in definitions
    aalsmeer = found[("gemeente", "0358", "ALL", "ALL", "pct_uitval")]
    assert aalsmeer["Waarde"] is None and aalsmeer["Niet getoond"] == "ja"
    cell = next(c for c in book["Gemeenten"]["I"] if c.row > 1 and c.value is not None)
    assert cell.number_format == "0.0" and cell.data_type == "n"


def test_no_page_shows_a_hidden_figure(exports):
    rows = csv_rows(exports)
    hidden = [r for r in rows.values() if r["suppressed"] == "true"]
    assert {r["area_code"] for r in hidden if r["indicator"] == "pct_uitval"} >= {"0358", FOREIGN}
    for page in sorted(folder_of(exports).rglob("*.html")):
        reader = read_page(page)
        text = " ".join(reader.text)
        assert "93,7" not in text and "93.7" not in text and "93,71" not in text, page
        for chart in reader.charts:
            for trace in chart["data"]:
                values = trace.get("x") if trace.get("orientation") == "h" else trace.get("y")
                assert HIDDEN_VALUE not in values and round(HIDDEN_VALUE, 1) not in values, page
                for tag, value in zip(trace["customdata"], values):
                    key = tag.rsplit("|", 1)[0].split("|")
                    row = rows.get((key[1], key[2], key[3], key[4], key[5])) if key[0] == "2025" else None
                    if row is not None and row["suppressed"] == "true" and tag.endswith("|value"):
                        assert value is None, (page, tag)


def test_a_provider_page_holds_no_other_provider(exports):
    pages = sorted((folder_of(exports) / "aanbieders").glob("*.html"))
    codes = {p.stem for p in pages}
    for page in pages:
        text = page.read_text(encoding="utf-8")
        library = re.search(r'<script type="text/javascript" id="plotly-js">.*?</script>', text, flags=re.S)
        ours = text[:library.start()] + text[library.end():]
        assert page.stem in ours
        for other in codes - {page.stem}:  # as a code: not inside a longer number such as 0.3333333333
            assert not re.search(rf"(?<![0-9]){other}(?![0-9])", ours), (page.name, other)
        assert "Regio" in ours
    own = read_page(folder_of(exports) / "aanbieders" / "11111111.html")
    shown = json.dumps([c["data"] for c in own.charts])
    assert "aanbieder|11111111" in shown and "regio|RMJ" in shown


def test_dutch_labels_and_numbers_no_codes(exports):
    rows = csv_rows(exports)
    report = read_page(folder_of(exports) / "report.html")
    text = " ".join(report.text)
    uitval = rows[("regio", "RMJ", "ALL", "ALL", "pct_uitval")]
    assert dutch.figure("pct_uitval", uitval["value"]) == uitval["value"].replace(".", ",") + "%"
    assert uitval["value"].replace(".", ",") + "%" in text
    assert "Uitval: hulp eenzijdig door de cliënt beëindigd (%)" in text and "Alle hulp" in text and "Einde hulp" in text
    assert "Gemaakt op 1 december 2026" in text and "Begrippen" in text
    for code in ("pct_uitval", "mean_q09", "response_rate", "pct_positive", "EINDE", "DUURZAAM", "JONGEREN", "OUDERS",
                 "suppressed", "Responses"):
        assert code not in text, code
    page = read_page(folder_of(exports) / "gemeenten" / "0479.html")
    assert "Zaanstad" in " ".join(page.text) and "Zaanstreek-Waterland" in " ".join(page.text)
    html = (folder_of(exports) / "report.html").read_text(encoding="utf-8")
    assert 'href="indicators.csv"' in html and 'href="indicatoren-2025.xlsx"' in html


def test_municipality_page_compares_areas_and_years(exports):
    page = read_page(folder_of(exports) / "gemeenten" / "0363.html")
    titles = [c["layout"]["title"]["text"] for c in page.charts]
    assert any("naast Amsterdam-Amstelland en de regio" in t for t in titles)
    trends = [c for c in page.charts if c["layout"].get("xaxis", {}).get("type") == "category"]
    assert len(trends) == 6  # the six headline figures over the years
    for chart in trends:
        assert [trace["name"] for trace in chart["data"]] == ["Amsterdam", "Amsterdam-Amstelland", "Regio"]
        assert all(trace["x"] == ["2024", "2025"] for trace in chart["data"])
        assert all(trace["error_y"]["array"][0] is not None for trace in chart["data"])  # intervals drawn


def test_a_first_year_has_no_empty_previous_year(tmp_path):
    exports = publish_years(tmp_path, (2024,))
    report = read_page(folder_of(exports, 2024) / "report.html")
    assert all(trace.get("name") != "2023" for chart in report.charts for trace in chart["data"])
    assert "Vorig jaar: geen gepubliceerd cijfer" in " ".join(report.text)
    page = read_page(folder_of(exports, 2024) / "gemeenten" / "0363.html")
    assert "het eerste jaar met gepubliceerde cijfers" in " ".join(page.text)
    assert verify_publication(exports, 2024) == []


def test_a_year_without_data_publishes_nothing_and_says_why(tmp_path):
    exports = publish_years(tmp_path, (2025,))
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        sql_models.run_model(con, sql_models.model("ceo_indicators"), period="2023",
                             period_start=date(2023, 1, 1), period_end=date(2023, 12, 31))
        with pytest.raises(NoFiguresError, match="no data for 2023"):
            write_ceo_outputs(con, 2023, exports)
    assert not (exports / "ceo" / "2023").exists()


def test_the_asset_fails_with_a_clear_message_for_a_year_without_data(tmp_path):
    from rmj_dagster.assets.ceo.ceo_publication import ceo_publication
    from rmj_dagster.resources import ExportArea, Warehouse

    publish_years(tmp_path, (2025,))
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        sql_models.run_model(con, sql_models.model("ceo_indicators"), period="2023",
                             period_start=date(2023, 1, 1), period_end=date(2023, 12, 31))
    result = dg.materialize([ceo_publication], partition_key="2023", raise_on_error=False,
                            resources={"warehouse": Warehouse(database=str(tmp_path / "w.duckdb")),
                                       "exports": ExportArea(root=str(tmp_path / "exports"))})
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "no data for 2023" in failure.step_failure_data.error.message + str(failure.step_failure_data.user_failure_data)
    assert not (tmp_path / "exports" / "ceo" / "2023").exists()


def _tamper_chart(folder: Path) -> str:
    page = folder / "gemeenten" / "0358.html"
    text = page.read_text(encoding="utf-8")
    assert '"y":[null,' in text  # Aalsmeer's hidden uitval is a gap in its chart
    page.write_text(text.replace('"y":[null,', '"y":[93.7,', 1), encoding="utf-8")
    return "gemeenten/0358.html"


def _tamper_text(folder: Path) -> str:
    page = folder / "gemeenten" / "0358.html"
    text = page.read_text(encoding="utf-8")
    page.write_text(text.replace('data-field="value">niet getoond<', 'data-field="value">93,7%<', 1), encoding="utf-8")
    return "gemeenten/0358.html"


def _tamper_provider(folder: Path) -> str:
    page = folder / "aanbieders" / "11111111.html"
    page.write_text(page.read_text(encoding="utf-8").replace("</footer>", "<p>zie ook 22222222</p></footer>"),
                    encoding="utf-8")
    return "aanbieders/11111111.html"


def _tamper_workbook(folder: Path) -> str:
    path = folder / "indicatoren-2025.xlsx"
    book = load_workbook(path)
    sheet = book["Gemeenten"]
    header = [c.value for c in sheet[1]]
    for line in sheet.iter_rows(min_row=2):
        cells = dict(zip(header, line))
        if cells["Gebiedscode"].value == "0358" and cells["Indicatorcode"].value == "pct_uitval":
            cells["Waarde"].value = 93.7
    book.save(path)
    return "indicatoren-2025.xlsx"


def _tamper_number_as_text(folder: Path) -> str:
    path = folder / "indicatoren-2025.xlsx"
    book = load_workbook(path)
    sheet = book["Regio"]
    header = [c.value for c in sheet[1]]
    column = header.index("Waarde")
    sheet.cell(2, column + 1).value = str(sheet.cell(2, column + 1).value).replace(".", ",")
    book.save(path)
    return "indicatoren-2025.xlsx"


@pytest.mark.parametrize("tamper", [_tamper_chart, _tamper_text, _tamper_provider, _tamper_workbook, _tamper_number_as_text])
def test_the_check_finds_a_tampered_file(tmp_path, tamper):
    exports = publish_years(tmp_path, (2025,))
    assert verify_publication(exports, 2025) == []
    name = tamper(folder_of(exports))
    problems = verify_publication(exports, 2025)
    assert problems and all(p.startswith(name) for p in problems), problems
    assert all("93.7" not in p and "93,7" not in p for p in problems)  # the messages never repeat a hidden value


_LIBRARY_TAG = '<script type="text/javascript" id="plotly-js">'


def _library_variants(text: str) -> dict[str, str]:
    """A real page and pages where the inlined plotly.js could hide a figure from a check that skipped it."""
    key = re.search(r'data-figure="([^"]+)" data-field="value"', text).group(1)
    return {
        "as published": text,
        "inside a tagged figure": text.replace(_LIBRARY_TAG, f'<span data-figure="{key}" data-field="value">{_LIBRARY_TAG}', 1)
        .replace("</script>", "</script>99,9%</span>", 1),
        "marked as a chart": text.replace(_LIBRARY_TAG, '<script class="rmj-chart" id="plotly-js">', 1),
        "closed early": text.replace(_LIBRARY_TAG, f'{_LIBRARY_TAG}/* </SCRIPT >'
                                     f'<span data-figure="{key}" data-field="value">99,9%</span><script> */', 1),
        "in a division": text.replace(_LIBRARY_TAG, f'<div id="plotly-js"><span data-figure="{key}" data-field="value">'
                                      f'99,9%</span><script>', 1),
    }


def test_the_page_check_reads_what_a_whole_parse_reads(exports):
    """Skipping plotly.js's text changes nothing the check sees, also when a tampered page nests figures there."""
    from rmj_dagster.publish import publication_check
    from rmj_dagster.publish.figures import load

    figures = load(exports, 2025).by_key()
    text = (folder_of(exports) / "gemeenten" / "0358.html").read_text(encoding="utf-8")
    for name, variant in _library_variants(text).items():
        whole = publication_check._PageReader()
        whole.feed(variant)
        read, _ = publication_check._read_page(variant)
        assert (read.tagged, read.charts) == (whole.tagged, whole.charts), name
        problems = publication_check.check_page(variant, figures, None, set())
        assert (problems == []) == (name == "as published"), (name, problems)
        # read from the file's bytes, the bundle never decoded where that is safe: the same problems
        assert publication_check.check_page(variant.encode(), figures, None, set()) == problems, name


# --- charts that do not exaggerate (outputs.md): read back from the plotly JSON each page carries ---
FULL_SCALE = {"pct": [0, 100], "mean_q09": [1, 10], "mean_gas_t": [20, 80]}


def _scale(indicator: str) -> list[float] | None:
    if indicator in FULL_SCALE:
        return FULL_SCALE[indicator]
    return FULL_SCALE["pct"] if dutch.indicator(indicator)["eenheid"] == "pct" else None


def _darkness(colour: str) -> float:
    red, green, blue = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return 1 - (0.2126 * red + 0.7152 * green + 0.0722 * blue)


def _look(trace: dict) -> tuple:
    """What tells a trace apart: colour, and marker symbol and dash (lines) or pattern (bars)."""
    if trace["type"] == "scatter":
        return trace["line"]["color"], trace["marker"]["symbol"], trace["line"].get("dash", "solid")
    marker = trace["marker"]
    return marker["color"], (marker.get("pattern") or {}).get("shape", "")


def chart_problems(chart: dict, own: str, year: int) -> list[str]:
    """The chart rules, held for one chart; ``own`` is the page's own area (``gemeente|0363``)."""
    layout, traces = chart["layout"], chart["data"]
    title = layout["title"]["text"]
    problems = []
    tags = [(str(tag).split("|"), value) for trace in traces
            for tag, value in zip(trace["customdata"], trace["x" if trace.get("orientation") == "h" else "y"])]
    scales = {json.dumps(_scale(key[5])) for key, _ in tags}
    axis = layout["xaxis" if traces[0].get("orientation") == "h" else "yaxis"]
    if len(scales) != 1:
        problems.append(f"{title}: indicators of different scales in one chart")
    elif (expected := json.loads(scales.pop())) is not None:
        if axis.get("range") != expected or axis.get("autorange") is not False:
            problems.append(f"{title}: value axis {axis.get('range')}, not the full scale {expected}")
        if "schaal" not in axis["title"]["text"]:
            problems.append(f"{title}: the axis does not state its scale")
    for trace in traces:
        values = trace["x" if trace.get("orientation") == "h" else "y"]
        errors = trace["error_x" if trace.get("orientation") == "h" else "error_y"]
        if any(v is not None and (up is None or down is None)
               for v, up, down in zip(values, errors["array"], errors["arrayminus"])):
            problems.append(f"{title}: a drawn figure without its interval")
    looks = [_look(t) for t in traces]
    if len(traces) > 1:
        for part in range(len(looks[0])):
            if len({look[part] for look in looks}) != len(looks):
                problems.append(f"{title}: two series look alike ({[look[part] for look in looks]})")
        strongest = max(traces, key=lambda t: _darkness(_look(t)[0]))
        drawn_own = any(str(tag).startswith(f"{year}|{own}|") for t in traces for tag in t["customdata"])
        if drawn_own and not any(tag.startswith(f"{year}|{own}|") and tag.endswith("|value")
                   for tag in strongest["customdata"]):
            problems.append(f"{title}: the strongest colour is not the page's own area in {year}")
    drawn = {int(key[0]) - (key[6] == "prev") for key, value in tags if value is not None}
    named = {int(y) for y in re.findall(r"\b(20\d\d)\b", title)}
    if not named <= drawn:
        problems.append(f"{title}: names {sorted(named - drawn)}, not drawn")
    trace_years = {int(x) for t in traces if t["type"] == "scatter" for x in t["x"]}
    if trace_years and named != trace_years:
        problems.append(f"{title}: a trend drawing {sorted(trace_years)} is titled with {sorted(named)}")
    return problems


def test_every_chart_of_every_page_keeps_to_the_chart_rules(exports):
    folder = folder_of(exports)
    pages = [(folder / "report.html", "2025|regio|RMJ")]
    pages += [(p, f"2025|gemeente|{p.stem}") for p in sorted((folder / "gemeenten").iterdir())]
    pages += [(p, f"2025|aanbieder|{p.stem}") for p in sorted((folder / "aanbieders").iterdir())]
    problems, charts = [], 0
    for path, own in pages:
        looks = {}
        for chart in read_page(path).charts:
            charts += 1
            problems += [f"{path.name}: {p}" for p in chart_problems(chart, own.split("|", 1)[1], 2025)]
            for trace in chart["data"]:
                if trace.get("name"):  # one area looks the same in every chart of the page
                    looks.setdefault(trace["name"], set()).add(_look(trace)[0])
        problems += [f"{path.name}: {name} drawn in {sorted(c)}" for name, c in looks.items() if len(c) > 1]
    assert charts > 100 and problems == []
    # the trends of a municipality set its three series side by side, never on top of one another
    trend = [c for c in read_page(folder / "gemeenten" / "0363.html").charts if c["data"][0]["type"] == "scatter"][0]
    assert trend["layout"]["scattermode"] == "group" and trend["layout"]["title"]["text"].endswith("2024 en 2025")
    # the rapportcijfer on 1-10, the year-on-year chart with the current year darkest and named as drawn
    report = read_page(folder / "report.html").charts
    means = [c for c in report if "Rapportcijfer" in c["layout"]["title"]["text"]]
    assert means and all(c["layout"]["xaxis"]["range"] == [1, 10] for c in means)
    years = report[0]
    assert [t["name"] for t in years["data"]] == ["2024", "2025"]
    assert _darkness(_look(years["data"][1])[0]) > _darkness(_look(years["data"][0])[0])
    assert "2024 en 2025" in years["layout"]["title"]["text"]


def test_every_headline_card_says_what_last_year_was(exports, tmp_path):
    for year, folder in ((2025, folder_of(exports)), (2024, folder_of(publish_years(tmp_path, (2024,)), 2024))):
        html = (folder / "report.html").read_text(encoding="utf-8")
        cards = re.findall(r'<div class="card">(.*?)</div></div>', html)
        assert len(cards) == 6, year
        assert all("Vorig jaar:" in card for card in cards), year
    # a first year names no year it does not draw
    first = read_page(folder / "report.html").charts
    assert all("2023" not in c["layout"]["title"]["text"] for c in first)


METHOD_TERMS = ("Kiresuk", "CBS-categorie", "Wilson", "toewijzingnummer", "werkdefinitie", "rho", "standaardfout",
                "kwadraten")


def test_plain_dutch_first_and_the_method_in_the_verantwoording_at_the_end(exports):
    folder = folder_of(exports)
    for path in (folder / "report.html", folder / "gemeenten" / "0363.html", folder / "aanbieders" / "11111111.html"):
        text = " ".join(read_page(path).text)
        front, _, back = text.partition("Zo leest u de cijfers")
        assert back and "Verantwoording" in back and "Verantwoording" not in front, path.name
        assert not [t for t in METHOD_TERMS if t in front], path.name  # none before the reading guide
        for indicator in dutch.headline_indicators():
            assert indicator["uitleg"] in front, (path.name, indicator["indicator"])  # each shown in plain words
            assert indicator["definitie"] in back.partition("Verantwoording")[2]  # and how it is computed, at the end
    assert all(i["uitleg"] and len(i["uitleg"]) < 100 for i in dutch.indicators())  # one line each
