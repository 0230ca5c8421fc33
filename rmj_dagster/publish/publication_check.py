"""Every file of a published year held against its ``indicators.csv``: what a reader opens shows the CSV.

- every expected file is there (report, a page per municipality of the region and per provider, the
  workbook) and no other;
- every figure a page shows, as text (``data-figure`` elements) or as a chart point (``customdata``), is a
  figure of the published CSVs with the same value, interval and n; a suppressed figure shows no number;
  a chart point without its key is an error (nothing is drawn that cannot be checked);
- a provider page holds no other provider's AGB code or name anywhere in the file;
- the workbook, read back with openpyxl, holds per area type exactly the CSV's rows, numbers as numbers
  equal to the CSV, suppressed figures as empty cells marked ``ja``;
- ``manifest.json`` lists every file with its sha256, and every earlier version in ``versions/<n>/`` is
  read-only and byte for byte the files of its own manifest;
- no figure's n changed by 1 to ``suppression_min_n`` - 1 since a kept version (``verify_against_versions``).
Messages name figures by their key, never a hidden value.
"""

from __future__ import annotations

import json
import re
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

from rmj_dagster import codebook
from rmj_dagster.privacy import identifiers
from rmj_dagster.publish import ceo_files, charts, dutch, versions, workbook
from rmj_dagster.publish.figures import Published, figure_key, is_suppressed, load, number, year_dir
from rmj_dagster.publish.html_page import CHART_CLASS, LIBRARY_ID, field_text, plotly_library
from rmj_dagster.publish.municipality_pages import municipalities
from rmj_dagster.publish.provider_pages import providers
from rmj_dagster.read_back import workbook_rows

_NO_NUMBER_WHEN_HIDDEN = ("value", "ci", "n", "overlap")
_VOID = {"br", "hr", "img", "input", "meta", "link", "wbr"}  # no end tag: they open no level


def expected_files(published: Published) -> set[str]:
    year = published.year
    return ({"indicators.csv", "report.html", f"indicatoren-{year}.xlsx"}
            | {f"gemeenten/{m['gemeentecode']}.html" for m in municipalities()}
            | {f"aanbieders/{agb}.html" for agb in providers(list(published.rows))})


def verify_publication(export_dir: Path, year: int) -> list[str]:
    """Problems with the files of ``<export_dir>/ceo/<year>/`` against its CSV; [] when all hold."""
    folder = year_dir(export_dir, year)
    if not (folder / "indicators.csv").exists():
        return [f"{year}: indicators.csv is missing"]
    published = load(export_dir, year)
    expected = expected_files(published)
    present = set(versions.published_files(folder))
    problems = check_versions(folder, expected)
    problems += ceo_files.verify_against_versions(folder / "indicators.csv", ceo_files.earlier_versions(folder))
    problems += [f"{name}: missing" for name in sorted(expected - present)]
    problems += [f"{name}: not a file of the publication" for name in sorted(present - expected)]
    figures = published.by_key()
    every_provider = _every_provider(published)
    for name in sorted(expected & present):
        path = folder / name
        if name.endswith(".html"):
            own = name.removeprefix("aanbieders/").removesuffix(".html") if name.startswith("aanbieders/") else None
            problems += [f"{name}: {p}" for p in check_page(path.read_bytes(), figures, own, every_provider)]
        elif name.endswith(".xlsx"):
            problems += [f"{name}: {p}" for p in check_workbook(path, list(published.rows))]
    return problems


def check_versions(folder: Path, expected: set[str]) -> list[str]:
    """The manifest lists exactly the publication's files with their sha256, and every kept version in
    ``versions/<n>/`` is read-only and still holds exactly the files of its own manifest, byte for byte
    (each was checked in full while it was the current version)."""
    manifest = versions.read_manifest(folder)
    if manifest is None:
        return [f"{versions.MANIFEST}: missing"]
    problems = _against_manifest(folder, manifest, "")
    listed = {entry["file"] for entry in manifest["files"]}
    problems += [f"{versions.MANIFEST}: does not list {name}" for name in sorted(expected - listed)]
    kept = folder / versions.VERSIONS
    numbers = sorted(int(p.name) for p in kept.iterdir()) if kept.exists() else []
    if numbers != list(range(1, versions.version_of(manifest))):
        problems.append(f"{versions.VERSIONS}: holds versions {numbers}, not 1 to {versions.version_of(manifest) - 1}")
    for kept_number in numbers:
        old = folder / versions.VERSIONS / str(kept_number)
        where = f"{versions.VERSIONS}/{kept_number}/"
        old_manifest = versions.read_manifest(old)
        if old_manifest is None or versions.version_of(old_manifest) != kept_number:
            problems.append(f"{where}{versions.MANIFEST}: missing or not version {kept_number}")
            continue
        problems += _against_manifest(old, old_manifest, where)
        writable = [p for p in [old, *old.rglob("*")] if p.stat().st_mode & 0o222]
        if writable:
            problems.append(f"{where}: {len(writable)} file(s) or folder(s) can be written to")
    return problems


def _against_manifest(folder: Path, manifest: dict, where: str) -> list[str]:
    """Every file a manifest lists is in ``folder`` with its sha256, and ``folder`` holds no other."""
    listed = {entry["file"]: entry["sha256"] for entry in manifest["files"]}
    present = set(versions.published_files(folder))
    problems = [f"{where}{name}: listed but missing" for name in sorted(set(listed) - present)]
    problems += [f"{where}{name}: not listed in its manifest" for name in sorted(present - set(listed))]
    problems += [f"{where}{name}: sha256 differs from its manifest" for name in sorted(set(listed) & present)
                 if versions.sha256_of(folder / name) != listed[name]]
    return problems


def _every_provider(published: Published) -> set[str]:
    return set(providers(published.all_rows())) | {r["aanbieder_agb"] for r in codebook.rows("aanbieders")}


class _PageReader(HTMLParser):
    """Collects tagged figures (key, field, text) and the chart JSON of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tagged: list[tuple[str, str, str]] = []
        self.charts: list[str] = []
        self._open: list[list] = []  # [key, field, text parts, depth]
        self._in_chart = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for entry in self._open if tag not in _VOID else ():
            entry[3] += 1
        if "data-figure" in attributes:
            self._open.append([attributes["data-figure"], attributes.get("data-field", ""), [], 0])
        self._in_chart = tag == "script" and CHART_CLASS in (attributes.get("class") or "").split()
        if self._in_chart:
            self.charts.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_chart = False
        for entry in list(self._open):
            if entry[3] == 0:
                self._open.remove(entry)
                self.tagged.append((entry[0], entry[1], "".join(entry[2]).strip()))
            else:
                entry[3] -= 1

    def handle_data(self, data):
        if self._in_chart:
            self.charts[-1] += data
        for entry in self._open:
            entry[2].append(data)


def check_page(page: str | bytes, figures: dict[str, dict[str, str]], own_provider: str | None,
               every_provider: set[str]) -> list[str]:
    """Problems of one HTML page (its text, or the file's UTF-8 bytes) against the published figures (by key)."""
    around = identifiers.around_plotly_bundle(page) if isinstance(page, bytes) else None
    read = _read_page_around(*around) if around else None
    reader, ours = read or _read_page(page.decode("utf-8") if isinstance(page, bytes) else page)
    problems = [p for key, field, shown in reader.tagged for p in _check_text(key, field, shown, figures)]
    for number_of, data in enumerate(reader.charts, start=1):
        problems += [f"chart {number_of}: {p}" for p in _check_chart(data, figures)]
    if own_provider is not None:
        problems += _foreign_providers(ours, own_provider, every_provider)
    return problems


_SCRIPT_CLOSE = re.compile(r"</\s*script\s*>", re.I)  # where the parser leaves a script's text


def _read_page(text: str) -> tuple[_PageReader, str]:
    """The page parsed, and its text without the inlined plotly.js (for the provider check).

    The library's 4.8 MB are handed to the parser only when they could count: a tagged figure or a chart
    is open around them, or its text would end the script early. Otherwise the parser would pass them,
    as one piece of script text, to nobody -- so the result is that of parsing the whole page.
    """
    marker = text.find(f'id="{LIBRARY_ID}">')
    if marker < 0:
        reader = _PageReader()
        reader.feed(text)
        return reader, text
    start = marker + len(f'id="{LIBRARY_ID}">')
    end = _library_end(text, start)
    ours = text[:marker] + text[end:]
    reader = _PageReader()
    reader.feed(text[:start])
    if _library_passes_unread(reader, text, start, end):
        reader.feed(text[end:])
    else:
        reader = _PageReader()
        reader.feed(text)
    return reader, ours


def _read_page_around(before: str, after: str) -> tuple[_PageReader, str] | None:
    """``_read_page`` of ``before + bundle + after`` (the known plotly.js between them) without decoding or
    passing the bundle; None where ``_read_page`` would not skip it (the page is then read whole)."""
    marker = f'id="{LIBRARY_ID}">'
    if before.find(marker) != len(before) - len(marker):
        return None
    reader = _PageReader()
    reader.feed(before)
    if reader.rawdata or reader.cdata_elem != "script" or reader._open or reader._in_chart:
        return None
    if not _library_never_closes_a_script():
        return None
    reader.feed(after)
    return reader, before[: -len(marker)] + after


def _library_end(text: str, start: int) -> int:
    """Where the first ``</script>`` after ``start`` is (ValueError if none): right after the known bundle
    when the page holds it there, since the bundle itself holds no ``</script>``."""
    library = plotly_library()
    if text.startswith(library, start) and "</script>" not in library:
        return text.index("</script>", start + len(library) - len("</script>") + 1)
    return text.index("</script>", start)


def _library_passes_unread(reader: _PageReader, text: str, start: int, end: int) -> bool:
    """Whether the parser, at ``start``, is inside a script whose text runs unread up to ``end``."""
    if reader.rawdata or reader.cdata_elem != "script" or reader._open or reader._in_chart:
        return False
    library = plotly_library()
    if end - start == len(library) and text.startswith(library, start):
        return _library_never_closes_a_script()  # the known bundle: judged once per process
    close = text.find("</", start, end)
    while close >= 0:
        if _SCRIPT_CLOSE.match(text, close):
            return False
        close = text.find("</", close + 2, end)
    return True


@cache
def _library_never_closes_a_script() -> bool:
    return _SCRIPT_CLOSE.search(plotly_library()) is None


def _check_text(key: str, field: str, shown: str, figures: dict) -> list[str]:
    row = figures.get(key)
    if row is None:
        return [f"{key} {field}: not a published figure"]
    if is_suppressed(row) and field in _NO_NUMBER_WHEN_HIDDEN and re.search(r"\d", shown):
        return [f"{key} {field}: suppressed, but the page shows a number"]
    if shown != field_text(row, field):
        return [f"{key} {field}: the page differs from the published file"]
    return []


def _check_chart(data: str, figures: dict) -> list[str]:
    try:
        traces = json.loads(data)["data"]
    except (ValueError, KeyError, TypeError):
        return ["unreadable chart data"]
    problems = []
    for trace in traces:
        horizontal = trace.get("orientation") == "h"
        values = trace.get("x" if horizontal else "y")
        errors = trace.get("error_x" if horizontal else "error_y") or {}
        tags = trace.get("customdata")
        if not isinstance(values, list) or not isinstance(tags, list) or len(tags) != len(values):
            problems.append(f"trace {trace.get('name', '')!r}: drawn numbers without a figure key each")
            continue
        above, below = errors.get("array", [None] * len(values)), errors.get("arrayminus", [None] * len(values))
        for tag, value, up, down in zip(tags, values, above, below):
            key, _, field = str(tag).rpartition("|")
            row = figures.get(key)
            if row is None or field not in ("value", "prev"):
                problems.append(f"{tag}: drawn, but not a published figure")
            elif is_suppressed(row) and field == "value" and any(v is not None for v in (value, up, down)):
                problems.append(f"{key}: suppressed, but the chart draws it")
            elif (value, up, down) != charts.point(row, field):
                problems.append(f"{key} {field}: the chart differs from the published file")
    return problems


def _foreign_providers(ours: str, own: str, every_provider: set[str]) -> list[str]:
    """Other providers' codes and names in the page's own text (``ours``: the page without plotly.js)."""
    digit_runs = set(re.findall(r"\d+", ours))  # a code stands alone when it is a whole run of digits
    problems = [f"holds the code of another provider ({code[:2]}…)" for code in sorted(every_provider - {own})
                if (code in digit_runs if code.isdecimal() else re.search(rf"(?<!\d){code}(?!\d)", ours))]
    names = {r["aanbieder_agb"]: r["aanbiedernaam"] for r in codebook.rows("aanbieders")}
    problems += [f"holds the name of another provider ({name})" for code, name in sorted(names.items())
                 if code != own and name in ours]
    return problems


def check_workbook(path: Path, rows: list[dict[str, str]]) -> list[str]:
    """The workbook read back with openpyxl (``read_back``) against the CSV rows of its year."""
    book = workbook_rows(path)
    problems = [f"sheet {name!r} missing" for name in ("Toelichting", "Definities") if name not in book]
    headers = [header for header, _ in workbook.COLUMNS]
    for area_type in workbook.AREA_SHEETS:
        name = workbook.sheet_name(area_type)
        if name not in book:
            problems.append(f"sheet {name!r} missing")
            continue
        lines = book[name]
        if not lines or list(lines[0]) != headers:
            problems.append(f"sheet {name!r}: headers differ")
            continue
        expected = {figure_key(r): r for r in rows if r["area_type"] == area_type}
        seen = set()
        for line in lines[1:]:
            cells = dict(zip(headers, line))
            problem, key = _check_workbook_row(cells, area_type, expected)
            seen.add(key)
            if problem:
                problems.append(f"sheet {name!r}: {problem}")
        problems += [f"sheet {name!r}: {key} missing" for key in sorted(set(expected) - seen)]
    return problems


def _check_workbook_row(cells: dict, area_type: str, expected: dict) -> tuple[str | None, str]:
    by_column = {column: cells[header] for header, column in workbook.COLUMNS if column}
    key = "|".join([str(by_column["year"]), area_type, str(by_column["area_code"]), str(by_column["respondent_group"]),
                    str(by_column["care_type"]), str(by_column["indicator"])])
    row = expected.get(key)
    if row is None:
        return f"{key}: not a published figure", key
    if (cells["Niet getoond"] == "ja") != is_suppressed(row):
        return f"{key}: the suppressed mark differs from the published file", key
    for column in workbook.NUMBER_COLUMNS:
        value, published = by_column[column], number(row.get(column, ""))
        if published is None and value is not None:
            return f"{key} {column}: a value where the published file has none", key
        if published is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value != published):
            return f"{key} {column}: not the published number, or not stored as a number", key
    if cells["Indicator"] != dutch.indicator(row["indicator"])["label"]:
        return f"{key}: the indicator's label is not the codebook's", key
    return None, key
