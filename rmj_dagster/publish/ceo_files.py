"""The yearly CEO indicators as published: the long CSV (rounded in SQL) and its suppression check."""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import duckdb

from rmj_dagster import codebook
from rmj_dagster.publish.files import replace_directory
from rmj_dagster.publish.report import write_report

PUBLISHED_COLUMNS = (
    "year", "area_type", "area_code", "area_name", "respondent_group", "care_type", "indicator",
    "n", "value", "ci_low", "ci_high", "suppressed",
    "prev_value", "prev_ci_low", "prev_ci_high", "ci_overlap_prev",
)
_COUNT_INDICATORS = ("n_responses",)

# Rounding happens here, in the SELECT that feeds the file: counts to the codebook's base, figures to
# one decimal. The warehouse keeps the unrounded values.
_PUBLISHED_SELECT = """
select
    year, area_type, area_code, area_name, respondent_group, care_type, indicator,
    cast(round(n / rmj_param('count_rounding_base')) * rmj_param('count_rounding_base') as bigint) as n,
    case when indicator in ('n_responses') then cast(cast(round(value / rmj_param('count_rounding_base')) * rmj_param('count_rounding_base') as bigint) as varchar)
         else printf('%.1f', value) end as value,
    printf('%.1f', ci_low) as ci_low,
    printf('%.1f', ci_high) as ci_high,
    suppressed,
    case when indicator in ('n_responses') then cast(cast(round(prev_value / rmj_param('count_rounding_base')) * rmj_param('count_rounding_base') as bigint) as varchar)
         else printf('%.1f', prev_value) end as prev_value,
    printf('%.1f', prev_ci_low) as prev_ci_low,
    printf('%.1f', prev_ci_high) as prev_ci_high,
    ci_overlap_prev
from marts.ceo_indicators
where period = $period
order by
    list_position(['regio', 'subregio', 'gemeente', 'aanbieder'], area_type), area_code, indicator,
    list_position(['ALL', 'OUDERS', 'JONGEREN'], respondent_group), list_position(['ALL', 'EINDE', 'DUURZAAM'], care_type)
"""


@dataclass(frozen=True)
class CeoExport:
    year: int
    csv_path: Path
    report_path: Path
    rows: int
    suppressed: int
    summary_markdown: str


def year_dir(export_dir: Path, year: int) -> Path:
    return export_dir / "ceo" / str(year)


def indicators_path(export_dir: Path, year: int) -> Path:
    return year_dir(export_dir, year) / "indicators.csv"


def write_ceo_outputs(con: duckdb.DuckDBPyConnection, year: int, export_dir: Path) -> CeoExport:
    """Write ``indicators.csv`` and ``report.html`` for one year; both from the suppressed figures only."""
    target = year_dir(export_dir, year)
    summary: dict[str, str] = {}

    def build(folder: Path) -> None:
        path = folder / "indicators.csv"
        con.execute(
            f"copy ({_PUBLISHED_SELECT}) to '{path.as_posix()}' (header, delimiter ';', quote '\"')",
            {"period": str(year)},
        )
        path.chmod(0o644)
        summary["markdown"] = write_report(path, folder / "report.html", year)

    replace_directory(target, build)
    target.chmod(0o755)
    rows = read_published(indicators_path(export_dir, year))
    return CeoExport(
        year=year,
        csv_path=indicators_path(export_dir, year),
        report_path=target / "report.html",
        rows=len(rows),
        suppressed=sum(1 for r in rows if r["suppressed"] == "true"),
        summary_markdown=summary["markdown"],
    )


def read_published(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def verify_suppression(path: Path) -> list[str]:
    """Check the published file alone: nothing shown below the threshold, nothing recoverable by subtraction.

    A breakdown (the municipalities of a sub-region, the sub-regions, the providers) may not have exactly
    one suppressed cell while its total is shown or while it has other cells.
    """
    threshold = codebook.parameter("suppression_min_n")
    subregio_of = {r["reported_as"]: r["subregio"] for r in codebook.rows("region")}
    rows = read_published(path)
    violations = []
    shown_totals = set()
    breakdowns: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        cell = (row["year"], row["indicator"], row["respondent_group"], row["care_type"])
        where = f"{row['area_type']} {row['area_code']} {row['indicator']} {row['respondent_group']}/{row['care_type']}"
        if row["suppressed"] == "true":
            if any(row[c] for c in ("n", "value", "ci_low", "ci_high")):
                violations.append(f"{where}: suppressed but a figure is shown")
        elif row["n"] == "" or float(row["n"]) < threshold:
            violations.append(f"{where}: shown with n below {threshold:g}")
        else:
            shown_totals.add((row["area_type"], row["area_code"], *cell))
        parent = {
            "gemeente": ("subregio", subregio_of.get(row["area_code"], "?")),
            "subregio": ("regio", "RMJ"),
            "aanbieder": ("regio", "RMJ"),
        }.get(row["area_type"])
        if parent:
            breakdowns[(row["area_type"], *parent, *cell)].append(row)
    for (area_type, parent_type, parent_code, *cell), members in breakdowns.items():
        hidden = [m for m in members if m["suppressed"] == "true"]
        parent_shown = (parent_type, parent_code, *cell) in shown_totals
        if len(hidden) == 1 and (len(members) > 1 or parent_shown):
            violations.append(
                f"{area_type} breakdown under {parent_code} ({' '.join(cell[1:])}, {cell[0]}): only "
                f"{hidden[0]['area_code']} is suppressed, so it can be recovered by subtraction"
            )
    return violations
