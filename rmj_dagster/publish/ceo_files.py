"""The yearly CEO indicators as published: the long CSV (rounded in SQL), its report, and the suppression check.

``<export_dir>/ceo/<YYYY>/indicators.csv`` (``;``-separated, UTF-8) holds the columns of ``outputs.md``
(``year`` … ``suppressed``) followed by the comparison with the previous year (``prev_value``,
``prev_ci_low``, ``prev_ci_high``, ``ci_overlap_prev``). It is written by DuckDB's COPY from
``marts.ceo_indicators``, which is already suppressed; the rounding for publication happens in the SELECT
that feeds COPY (the warehouse keeps unrounded values). ``report.html`` is drawn from that file alone.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import duckdb

from rmj_dagster import codebook
from rmj_dagster.publish import sql_path, write_file_atomic
from rmj_dagster.publish.report import write_report

OUTPUT_COLUMNS = (
    "year", "area_type", "area_code", "area_name", "respondent_group", "care_type", "indicator",
    "n", "value", "ci_low", "ci_high", "suppressed",
)
COMPARISON_COLUMNS = ("prev_value", "prev_ci_low", "prev_ci_high", "ci_overlap_prev")
PUBLISHED_COLUMNS = OUTPUT_COLUMNS + COMPARISON_COLUMNS

# Figures that are counts (value = n): rounded like n, not to one decimal.
COUNT_INDICATORS = ("n_responses",)

_COUNTS = ", ".join(f"'{name}'" for name in COUNT_INDICATORS)


def _rounded_count(column: str) -> str:
    return f"cast(round({column} / rmj_param('count_rounding_base')) * rmj_param('count_rounding_base') as bigint)"


def _rounded_figure(column: str) -> str:
    """A figure as text: counts to the rounding base, percentages and means to one decimal."""
    return (
        f"case when indicator in ({_COUNTS}) then cast({_rounded_count(column)} as varchar) "
        f"else cast(cast(round({column}, 1) as decimal(18, 1)) as varchar) end"
    )


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


@dataclass(frozen=True)
class CeoExport:
    year: int
    folder: Path
    csv_path: Path
    report_path: Path
    rows: int
    suppressed: int
    summary_markdown: str


def year_dir(export_dir: Path, year: int) -> Path:
    """``<export_dir>/ceo/<YYYY>``."""
    return Path(export_dir) / "ceo" / str(int(year))


def indicators_path(export_dir: Path, year: int) -> Path:
    return year_dir(export_dir, year) / "indicators.csv"


def write_ceo_outputs(con: duckdb.DuckDBPyConnection, year: int, export_dir: Path) -> CeoExport:
    """Write ``indicators.csv`` and then ``report.html`` for one year, each atomically.

    The CSV is checked with :func:`verify_suppression` before it replaces the published one; on a
    violation nothing is replaced and :class:`SuppressionError` is raised. The report and the returned
    markdown summary are built from the published file only.
    """
    year = int(year)
    folder = year_dir(export_dir, year)
    csv_path = folder / "indicators.csv"

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

    write_file_atomic(csv_path, copy_and_verify, mode=0o644)
    report_path = folder / "report.html"
    summary = write_report(csv_path, report_path, year)
    rows = read_published(csv_path)
    return CeoExport(
        year=year,
        folder=folder,
        csv_path=csv_path,
        report_path=report_path,
        rows=len(rows),
        suppressed=sum(1 for r in rows if r["suppressed"] == "true"),
        summary_markdown=summary,
    )


def read_published(path: Path) -> list[dict[str, str]]:
    """The rows of a published ``indicators.csv`` as text (empty string = empty field)."""
    with Path(path).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def verify_suppression(published_csv: Path) -> list[str]:
    """Recompute the suppression rules from a published ``indicators.csv`` alone; [] when they hold.

    Needs the columns of ``outputs.md`` (the comparison columns are optional). Only the file and the codebook (threshold, rounding base, municipality -> sub-region) are read:
    - a shown figure has an n of at least ``suppression_min_n``, rounded to ``count_rounding_base``;
    - a suppressed figure shows no n, value, interval or overlap flag;
    - no breakdown (the municipalities of a sub-region, the sub-regions of the region, the providers; per
      year x indicator x respondent group x care type) has exactly one suppressed cell, unless it is the
      only cell and its total is suppressed as well: it could be recovered by subtraction;
    - no breakdown whose total is suppressed shows all its cells: the total would be their sum.
    The messages name cells by area code and indicator, never a hidden value.
    """
    threshold = codebook.parameter("suppression_min_n")
    base = codebook.parameter("count_rounding_base")
    subregio_of = {r["gemeentecode"]: r["subregio"] for r in codebook.rows("region")}
    rows = read_published(published_csv)
    if rows:
        missing = [c for c in OUTPUT_COLUMNS if c not in rows[0]]
        if missing:
            return [f"{Path(published_csv).name}: missing column(s) {', '.join(missing)}"]

    violations: list[str] = []
    status: dict[tuple, bool] = {}  # (year, indicator, group, care, area_type, area_code) -> suppressed
    breakdowns: dict[tuple, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        figure = (row["year"], row["indicator"], row["respondent_group"], row["care_type"])
        where = f"{row['year']} {row['area_type']} {row['area_code']} {row['indicator']} {row['respondent_group']}/{row['care_type']}"
        if row["suppressed"] not in ("true", "false"):
            violations.append(f"{where}: suppressed is neither 'true' nor 'false'")
            continue
        hidden = row["suppressed"] == "true"
        status[(*figure, row["area_type"], row["area_code"])] = hidden
        if hidden:
            shown = [c for c in ("n", "value", "ci_low", "ci_high", "ci_overlap_prev") if row.get(c) not in ("", None)]
            if shown:
                violations.append(f"{where}: suppressed but shows {', '.join(shown)}")
        else:
            n = _number(row["n"])
            if n is None:
                violations.append(f"{where}: shown without its n")
            elif n < threshold:
                violations.append(f"{where}: shown with n below {threshold:g}")
            elif n % base:
                violations.append(f"{where}: n is not rounded to a multiple of {base:g}")
        if row["area_type"] == "gemeente":
            subregio = subregio_of.get(row["area_code"])
            if subregio is None:
                violations.append(f"{where}: not a municipality of the region, its breakdown is unknown")
                continue
            total = ("subregio", subregio)
        elif row["area_type"] in ("subregio", "aanbieder"):
            total = ("regio", "RMJ")
        else:
            continue
        breakdowns[(*figure, row["area_type"], *total)].append(row)

    for (*figure, area_type, total_type, total_code), members in breakdowns.items():
        hidden = [m["area_code"] for m in members if m["suppressed"] == "true"]
        total_hidden = status.get((*figure, total_type, total_code))  # None: the total is not published
        label = f"{figure[0]} {area_type} breakdown of {total_code} ({figure[1]} {figure[2]}/{figure[3]})"
        if len(hidden) == 1 and (len(members) > 1 or total_hidden is False):
            violations.append(f"{label}: only {hidden[0]} is suppressed, so it can be recovered by subtraction")
        if not hidden and total_hidden:
            violations.append(f"{label}: the total is suppressed but is the sum of its cells, which are all shown")
    return violations
