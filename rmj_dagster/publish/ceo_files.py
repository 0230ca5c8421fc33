"""The yearly CEO indicators as published: the long CSV (rounded in SQL), the files built from it, the suppression check.

``<export_dir>/ceo/<YYYY>/indicators.csv`` (``;``-separated, UTF-8) holds the columns of ``outputs.md``
(``year`` … ``suppressed``) followed by the comparison with the previous year (``prev_value``,
``prev_ci_low``, ``prev_ci_high``, ``ci_overlap_prev``). It is written by DuckDB's COPY from
``marts.ceo_indicators``, which is already suppressed; the rounding for publication happens in the SELECT
that feeds COPY (the warehouse keeps unrounded values). The report, the pages and the workbook are drawn
from that file alone (read by ``rmj_dagster.publish.figures``). The year is kept by version
(``rmj_dagster.publish.versions``): ``manifest.json`` lists every file and the figures changed since the
previous version, which stays in ``versions/<n>/``.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from rmj_dagster import codebook
from rmj_dagster.partitions import TIMEZONE
from rmj_dagster.privacy import disclosure
from rmj_dagster.publish import changes as changes_of
from rmj_dagster.publish import figures, municipality_pages, provider_pages, sql_path, versions, write_file_atomic
from rmj_dagster.publish.figures import number, read_published, year_dir
from rmj_dagster.publish.html_page import PageMeta
from rmj_dagster.publish.report import summary_markdown, write_report
from rmj_dagster.publish.versions import data_cutoff

OUTPUT_COLUMNS = (
    "year", "area_type", "area_code", "area_name", "respondent_group", "care_type", "indicator",
    "n", "value", "ci_low", "ci_high", "suppressed",
)
COMPARISON_COLUMNS = ("prev_value", "prev_ci_low", "prev_ci_high", "ci_overlap_prev")
PUBLISHED_COLUMNS = OUTPUT_COLUMNS + COMPARISON_COLUMNS


def _rounded_count(column: str) -> str:
    """A count as published: to the rounding base (the macro holds the rule, for every reader of figures)."""
    return f"rmj_published_count({column})"


def _rounded_figure(column: str) -> str:
    """A figure as text: counts to the rounding base, percentages and means to one decimal (macros.sql)."""
    return f"rmj_published_figure(indicator, {column})"


def _rounded_bound(column: str) -> str:
    return f"cast(round({column}, 1) as decimal(18, 1))"


# A suppressed row shows nothing but its flag, whatever the table holds (the mart already nulls them).
PUBLISHED_SELECT = f"""
select
    year,
    area_type,
    area_code,
    area_name,
    respondent_group,
    care_type,
    indicator,
    case when not suppressed then {_rounded_count('n')} end as n,
    case when not suppressed then {_rounded_figure('value')} end as value,
    case when not suppressed then {_rounded_bound('ci_low')} end as ci_low,
    case when not suppressed then {_rounded_bound('ci_high')} end as ci_high,
    suppressed,
    {_rounded_figure('prev_value')} as prev_value,
    {_rounded_bound('prev_ci_low')} as prev_ci_low,
    {_rounded_bound('prev_ci_high')} as prev_ci_high,
    case when not suppressed then ci_overlap_prev end as ci_overlap_prev
from marts.ceo_indicators
where period = $period
order by
    list_position(['regio', 'subregio', 'gemeente', 'aanbieder'], area_type),
    area_code,
    indicator,
    list_position(['ALL', 'OUDERS', 'JONGEREN'], respondent_group),
    list_position(['ALL', 'EINDE', 'DUURZAAM'], care_type)
"""


class SuppressionError(RuntimeError):
    """The figures about to be published break a suppression rule; nothing was published."""


class NoFiguresError(RuntimeError):
    """The warehouse holds no figures for the year: nothing was published."""


@dataclass(frozen=True)
class CeoExport:
    year: int
    folder: Path
    csv_path: Path
    report_path: Path
    workbook_path: Path
    rows: int
    suppressed: int
    summary_markdown: str
    files: dict[str, tuple[int, int]]  # kind -> (files, bytes)
    seconds: dict[str, float]  # kind -> seconds spent writing
    manifest_path: Path
    version: int
    changed_figures: int  # figures that differ from the previous version
    written: bool  # False: the figures equal the current version's, nothing was written


def write_ceo_outputs(con: duckdb.DuckDBPyConnection, year: int, export_dir: Path,
                      produced: date | None = None) -> CeoExport:
    """Write the year's ``indicators.csv`` and, from it, every publication for people, as the year's next version.

    A year without figures raises :class:`NoFiguresError` before anything is written. The CSV is checked
    with :func:`verify_suppression` first (a violation raises :class:`SuppressionError`, nothing written).
    When it equals the current version's ``indicators.csv`` (the published figures) nothing is written;
    otherwise the whole year is built in a temporary folder and swapped in (``versions.publish``), the
    current version kept in ``versions/<n>/``.
    """
    year = int(year)
    if not has_figures(con, year):
        raise NoFiguresError(f"no data for {year}: the warehouse holds no CEO figures for {year} "
                             "(no responses, ends of care or goal measurements dated in that year); nothing was published")
    folder = year_dir(export_dir, year)
    folder.parent.mkdir(parents=True, exist_ok=True)
    current = versions.read_manifest(folder)
    seconds: dict[str, float] = {}

    def build(staging: Path) -> bool:
        with _timed(seconds, "indicators.csv"):
            write_indicators_csv(con, year, staging / "indicators.csv")
        if current is not None and versions.sha256_of(staging / "indicators.csv") == _csv_sha256(current):
            return False
        if current is not None:
            given_away = verify_against_versions(staging / "indicators.csv",
                                                 [*earlier_versions(folder), folder / "indicators.csv"])
            if given_away:
                raise SuppressionError(f"{len(given_away)} figure(s) of {year} would give a small change since an "
                                       f"earlier version away; nothing published. First: {given_away[0]}")
        version = versions.version_of(current) + 1
        changes = changes_of.ceo_changes(con, folder / "indicators.csv", staging / "indicators.csv") if current else []
        moment = versions.now()
        cutoff = data_cutoff(con)
        published = figures.load(export_dir, year, staging / "indicators.csv")
        meta = PageMeta(year=year, produced=produced or moment.astimezone(ZoneInfo(TIMEZONE)).date(), cutoff=cutoff,
                        version=version, changes=tuple(changes))
        _write_for_people(published, meta, staging, seconds)
        versions.write_manifest(staging, {
            "year": year,
            "version": version,
            **({"replaces_version": version - 1} if version > 1 else {}),
            "produced_at": versions.stamp(moment),
            "data_cutoff": versions.stamp(cutoff),
            "files": versions.file_entries(staging, {"indicators.csv": len(published.rows)}),
            "changes": changes,
        }, mode=0o644)
        return True

    written = versions.publish(folder, build, mode=0o755)
    published = figures.load(export_dir, year)
    manifest = versions.read_manifest(folder)
    return CeoExport(
        year=year, folder=folder, csv_path=folder / "indicators.csv", report_path=folder / "report.html",
        workbook_path=folder / f"indicatoren-{year}.xlsx", rows=len(published.rows),
        suppressed=sum(1 for r in published.rows if r["suppressed"] == "true"),
        summary_markdown=summary_markdown(list(published.rows)), files=_sizes(folder, year), seconds=seconds,
        manifest_path=folder / versions.MANIFEST, version=versions.version_of(manifest),
        changed_figures=len(manifest.get("changes", [])), written=written,
    )


def _csv_sha256(manifest: dict) -> str | None:
    return next((e["sha256"] for e in manifest["files"] if e["file"] == "indicators.csv"), None)


def _write_for_people(published: figures.Published, meta: PageMeta, folder: Path, seconds: dict[str, float]) -> None:
    """The region report, the municipality and provider pages and the workbook, from the published rows."""
    agbs = provider_pages.providers(list(published.rows))
    places = municipality_pages.municipalities()
    with _timed(seconds, "report.html"):
        write_report(published, meta, folder / "report.html", places, agbs)
    with _timed(seconds, "gemeenten"):
        _write_pages(folder / "gemeenten", {m["gemeentecode"]: municipality_pages.build_municipality_page(published, m, meta) for m in places})
    with _timed(seconds, "aanbieders"):
        _write_pages(folder / "aanbieders", {agb: provider_pages.build_provider_page(published, agb, meta) for agb in agbs})
    workbook_path = folder / f"indicatoren-{meta.year}.xlsx"
    # imported here: openpyxl is about 0.06 s of CPU of every process that loads the code location (a run worker,
    # the code server, every `rmj` command), and only this step writes a workbook
    from rmj_dagster.publish.workbook import write_workbook

    with _timed(seconds, "workbook"):
        write_file_atomic(workbook_path, lambda tmp: write_workbook(list(published.rows), meta, tmp), mode=0o644)


def has_figures(con: duckdb.DuckDBPyConnection, year: int) -> bool:
    return con.execute("select count(*) from marts.ceo_indicators where period = ?", [str(year)]).fetchone()[0] > 0


def write_indicators_csv(con: duckdb.DuckDBPyConnection, year: int, target: Path) -> None:
    """COPY the published SELECT to ``target``, verified before it replaces the published file."""

    def copy_and_verify(tmp: Path) -> None:
        con.execute(
            f"copy ({PUBLISHED_SELECT}) to {sql_path(tmp)} (format csv, header true, delimiter ';', quote '\"')",
            {"period": str(year)},
        )
        violations = verify_suppression(tmp)
        if violations:
            raise SuppressionError(
                f"{len(violations)} suppression violation(s) in the {year} figures; nothing published. "
                f"First: {violations[0]}"
            )

    write_file_atomic(target, copy_and_verify, mode=0o644)


def _write_pages(target: Path, pages: dict[str, bytes]) -> None:
    """One folder of pages (``<name>.html``) in the version being built."""
    target.mkdir(mode=0o755)
    os.chmod(target, 0o755)
    for name, document in pages.items():
        (target / f"{name}.html").write_bytes(document)
        os.chmod(target / f"{name}.html", 0o644)


@contextmanager
def _timed(seconds: dict[str, float], kind: str):
    start = time.perf_counter()
    yield
    seconds[kind] = round(time.perf_counter() - start, 3)


def _sizes(folder: Path, year: int) -> dict[str, tuple[int, int]]:
    kinds = {"indicators.csv": ["indicators.csv"], "report.html": ["report.html"],
             "gemeenten": [p.name for p in (folder / "gemeenten").glob("*.html")],
             "aanbieders": [p.name for p in (folder / "aanbieders").glob("*.html")],
             "workbook": [f"indicatoren-{year}.xlsx"]}
    sizes = {}
    for kind, names in kinds.items():
        base = folder / kind if kind in ("gemeenten", "aanbieders") else folder
        sizes[kind] = (len(names), sum((base / n).stat().st_size for n in names))
    return sizes


_KEY_COLUMNS = ("year", "indicator", "area_type", "area_code", "respondent_group", "care_type")


def _figure_key(row: dict[str, str]) -> tuple[str, ...]:
    return tuple(row[c] for c in _KEY_COLUMNS)


def _equations(row: dict[str, str], subregio_of: dict[str, str]) -> list[tuple[tuple, tuple]]:
    """The equations ``total = sum of cells`` a published figure is a cell of: (equation key, total key).

    Keys are ``(year, indicator, area_type, area_code, respondent_group, care_type)``; the equation key adds
    the dimension (for areas the member's area type: sub-regions and providers both add up to the region).
    """
    year, indicator = row["year"], row["indicator"]
    area_type, code, group, care = row["area_type"], row["area_code"], row["respondent_group"], row["care_type"]
    totals = []
    if area_type == "gemeente":
        totals.append((f"area:{area_type}", ("subregio", subregio_of[code], group, care)))
    elif area_type in ("subregio", "aanbieder"):
        totals.append((f"area:{area_type}", ("regio", "RMJ", group, care)))
    if group != "ALL":
        totals.append(("respondent_group", (area_type, code, "ALL", care)))
    if care != "ALL":
        totals.append(("care_type", (area_type, code, group, "ALL")))
    return [((dimension, year, indicator, *total), (year, indicator, *total)) for dimension, total in totals]


def verify_suppression(published_csv: Path) -> list[str]:
    """Recompute the suppression rules from a published ``indicators.csv`` alone; [] when they hold.

    Needs the columns of ``outputs.md`` (the comparison columns are optional). Only the file and the
    codebook (threshold, rounding base, municipality -> sub-region) are read:
    - a shown figure has an n of at least ``suppression_min_n``, rounded to ``count_rounding_base``;
    - a suppressed figure shows no n, value, interval or overlap flag;
    - no equation ``total = cell_1 + ... + cell_k`` has exactly one hidden figure, or it could be recovered
      from the others. Equations run along the areas (the municipalities of a sub-region, the sub-regions
      of the region, the providers of the region), the respondent groups (OUDERS + JONGEREN = ALL) and the
      care types (EINDE + DUURZAAM = ALL), per year x indicator; a total that is not in the file leaves
      its cells' equation in force (it may be known elsewhere);
    - no group of hidden figures that a reader can derive from the file holds 1 to ``suppression_min_n`` - 1
      people, taking the n a reader recovers from each shown figure (its rounded n, and for a percentage
      its value and interval, which usually give the exact n away).
    The messages name figures by their key, never a hidden value.
    """
    subregio_of = {r["gemeentecode"]: r["subregio"] for r in codebook.rows("region")}
    rows = read_published(published_csv)
    if rows:
        missing = [c for c in OUTPUT_COLUMNS if c not in rows[0]]
        if missing:
            return [f"{Path(published_csv).name}: missing column(s) {', '.join(missing)}"]
    violations: list[str] = []
    hidden_by_key: dict[tuple, bool] = {}
    cells: dict[tuple, list[dict[str, str]]] = defaultdict(list)
    total_of: dict[tuple, tuple] = {}
    for row in rows:
        violations += _figure_violations(row, subregio_of)
        if row["suppressed"] not in ("true", "false"):
            continue
        hidden_by_key[_figure_key(row)] = row["suppressed"] == "true"
        if row["area_type"] == "gemeente" and row["area_code"] not in subregio_of:
            continue  # its breakdown is unknown (reported above)
        for equation, total in _equations(row, subregio_of):
            cells[equation].append(row)
            total_of[equation] = total
    violations += _recoverable_by_subtraction(cells, total_of, hidden_by_key)
    if not violations:
        violations += _worked_out_from_all_equations(cells, total_of, hidden_by_key)
    if not violations:
        violations += _small_groups_derivable(rows, cells, total_of, hidden_by_key)
    return violations


def _where(row: dict[str, str]) -> str:
    return f"{row['year']} {row['area_type']} {row['area_code']} {row['indicator']} {row['respondent_group']}/{row['care_type']}"


def _figure_violations(row: dict[str, str], subregio_of: dict[str, str]) -> list[str]:
    """What is wrong with one published figure on its own: the flag, n, rounding, what a hidden one shows."""
    where = _where(row)
    if row["suppressed"] not in ("true", "false"):
        return [f"{where}: suppressed is neither 'true' nor 'false'"]
    found = []
    if row["suppressed"] == "true":
        shown = [c for c in ("n", "value", "ci_low", "ci_high", "ci_overlap_prev") if row.get(c) not in ("", None)]
        if shown:
            found.append(f"{where}: suppressed but shows {', '.join(shown)}")
    else:
        threshold, base = codebook.parameter("suppression_min_n"), codebook.parameter("count_rounding_base")
        n = number(row["n"])
        if n is None:
            found.append(f"{where}: shown without its n")
        elif n < threshold:
            found.append(f"{where}: shown with n below {threshold:g}")
        elif n % base:
            found.append(f"{where}: n is not rounded to a multiple of {base:g}")
    if row["area_type"] == "gemeente" and row["area_code"] not in subregio_of:
        found.append(f"{where}: not a municipality of the region, its breakdown is unknown")
    return found


def _recoverable_by_subtraction(cells: dict, total_of: dict, hidden_by_key: dict) -> list[str]:
    """Equations ``total = cell_1 + ... + cell_k`` with exactly one hidden figure: it is their difference."""
    found = []
    for equation, members in cells.items():
        dimension, year, indicator, total_type, total_code, total_group, total_care = equation
        total_hidden = hidden_by_key.get(total_of[equation])  # None: the total is not in the file
        hidden = [m for m in members if m["suppressed"] == "true"]
        if len(hidden) + bool(total_hidden) != 1 or len(members) + (total_hidden is not None) < 2:
            continue
        by = dimension.removeprefix("area:")
        label = f"{year} {by} breakdown of {total_type} {total_code} ({indicator} {total_group}/{total_care})"
        if hidden:
            name = by if by in ("respondent_group", "care_type") else "area_code"
            found.append(f"{label}: only {hidden[0][name]} is suppressed, so it can be recovered by subtraction")
        else:
            found.append(f"{label}: the total is suppressed but is the sum of its cells, which are all shown")
    return found


def _worked_out_from_all_equations(cells: dict, total_of: dict, hidden_by_key: dict) -> list[str]:
    """Hidden figures that follow from the shown ones when all equations of a table are solved together.

    A breakdown whose total is not in the file counts with its total as known (it may be known
    elsewhere), unless it has a single cell: that adds up to nothing. See ``rmj_dagster.privacy.disclosure``.
    """
    tables: dict[tuple, list] = defaultdict(list)
    for equation, members in cells.items():
        total = total_of[equation]
        published_total = total in hidden_by_key
        if not published_total and len(members) < 2:
            continue
        figures = [(total, 1.0)] if published_total else []
        figures += [(_figure_key(m), -1.0) for m in members]
        tables[equation[1:3]].append(figures)
    hidden = {key for key, is_hidden in hidden_by_key.items() if is_hidden}
    found = []
    for equations in tables.values():
        for figure in sorted(disclosure.determined(equations, hidden)):
            year, indicator, area_type, area_code, group, care = figure
            found.append(f"{year} {area_type} {area_code} {indicator} {group}/{care}: suppressed, "
                         "but it can be worked out by combining the published breakdowns")
    return found


def _small_groups_derivable(rows: list[dict[str, str]], cells: dict, total_of: dict, hidden_by_key: dict) -> list[str]:
    """Groups of hidden figures whose number of people the file gives away as under the threshold.

    Each shown figure's n is what a reader can recover from the file (``disclosure.published_n``); the
    breakdowns with a total in the file are solved together per table (``disclosure.small_groups``).
    """
    threshold = codebook.parameter("suppression_min_n")
    known = _recovered_n(rows)
    tables: dict[tuple, list] = defaultdict(list)
    for equation, members in cells.items():
        if total_of[equation] in hidden_by_key:
            tables[equation[1:3]].append((total_of[equation], [_figure_key(m) for m in members]))
    hidden = {key for key, is_hidden in hidden_by_key.items() if is_hidden}
    found = []
    for breakdowns in tables.values():
        figures = {f for total, members in breakdowns for f in (total, *members)}
        for group, _ in disclosure.small_groups(breakdowns, {f: known[f] for f in figures if f in known},
                                                hidden & figures, threshold):
            names = ", ".join(sorted(" ".join(key[2:]) for key in group))
            year, indicator = next(iter(group))[:2]
            found.append(f"{year} {indicator}: the suppressed figures {names} can be worked out together "
                         f"to hold fewer than {threshold:g} people")
    return sorted(found)


def _recovered_n(rows: list[dict[str, str]]) -> dict[tuple, tuple[float, float]]:
    """The n a reader recovers from each shown figure of a file (``disclosure.published_n``)."""
    unit = {r["indicator"]: r["eenheid"] for r in codebook.rows("indicatoren")}
    return {
        _figure_key(row): disclosure.published_n(unit.get(row["indicator"], ""), number(row["n"]), number(row["value"]),
                                                 number(row["ci_low"]), number(row["ci_high"]))
        for row in rows if row["suppressed"] == "false" and number(row["n"]) is not None
    }


def verify_against_versions(published_csv: Path, earlier_csvs: list[Path]) -> list[str]:
    """Figures shown both in ``published_csv`` and in an earlier version of the year whose n, as a reader
    recovers it from each file, changed by 1 to ``suppression_min_n`` - 1: those people are given away.
    (The closure also protects breakdown groups across versions; this check covers single figures.)"""
    threshold = codebook.parameter("suppression_min_n")
    now = _recovered_n(read_published(published_csv))
    found = []
    for earlier in earlier_csvs:
        then = _recovered_n(read_published(earlier))
        for key in sorted(now.keys() & then.keys()):
            if disclosure.small_change(now[key][0] - then[key][1], now[key][1] - then[key][0], threshold):
                year, indicator, area_type, area_code, group, care = key
                found.append(f"{year} {area_type} {area_code} {indicator} {group}/{care}: its n changed by fewer than "
                             f"{threshold:g} since {earlier.parent.name if earlier.parent.name.isdigit() else 'the current'} version")
    return found


def earlier_versions(folder: Path) -> list[Path]:
    """The ``indicators.csv`` of every kept version of a year folder, oldest first."""
    kept = folder / versions.VERSIONS
    return sorted(kept.glob("*/indicators.csv"), key=lambda p: int(p.parent.name)) if kept.exists() else []
