"""What leaves the warehouse: the CBS extract files and the yearly CEO table and report."""

from importlib.metadata import PackageNotFoundError, version

import dagster as dg

from rmj_dagster import automation
from rmj_dagster.assets.asset_keys import asset_key, python_asset_names
from rmj_dagster.assets.table_metadata import OWNERS
from rmj_dagster.partitions import backfill_policy, half_years, half_years_of_run, years
from rmj_dagster.publish.cbs_files import write_cbs_extract
from rmj_dagster.publish.ceo_files import NoFiguresError, write_ceo_outputs
from rmj_dagster.resources import ExportArea, Warehouse


def pipeline_version() -> str:
    try:
        return version("rmj_dagster")
    except PackageNotFoundError:  # running from a source tree that was not installed
        return "0+source"


@dg.asset(
    **python_asset_names("cbs_extract_files"),
    deps=[asset_key("cbs_outcome_extract"), asset_key("cbs_unlisted_trajectories")],
    partitions_def=half_years,
    backfill_policy=backfill_policy(half_years),
    automation_condition=automation.condition_for(half_years),
    group_name="cbs",
    kinds={"csv", "file"},
    owners=OWNERS,
    pool="duckdb",
    description=(
        "The CBS half-yearly outcome extract as files: exports/cbs/<YYYY>-H<n>/<agb>.csv per provider plus "
        "manifest.json (rows and sha256 per file). Written atomically, owner-only; a re-run replaces the "
        "whole period (CBS §7.6). The one record-level output: no BSN, pseudonym or birth date."
    ),
)
def cbs_extract_files(context: dg.AssetExecutionContext, warehouse: Warehouse, exports: ExportArea) -> dg.MaterializeResult:
    periods = half_years_of_run(context)
    with warehouse.connect() as con:
        written = [write_cbs_extract(con, period, exports.path(), pipeline_version()) for period in periods]
        unlisted = con.execute(
            "select reason, count(*) from marts.cbs_unlisted_trajectories where list_contains(?, period) "
            "group by reason order by reason",
            [periods],
        ).fetchall()
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(export.total_rows for export in written),
            "period": ", ".join(periods),
            "files": sum(len(export.files) for export in written),
            **{f"manifest_{export.period}" if len(written) > 1 else "manifest": dg.MetadataValue.path(str(export.manifest_path))
               for export in written},
            **_version_metadata(written, "changed_records"),
            "unlisted_long_term_trajectories": sum(n for _, n in unlisted),
            **{f"unlisted_{reason}": n for reason, n in unlisted},
        }
    )


@dg.asset(
    **python_asset_names("ceo_publication"),
    deps=[asset_key("ceo_indicators")],
    partitions_def=years,
    group_name="indicators",
    kinds={"csv", "plotly", "excel"},
    owners=OWNERS,
    pool="duckdb",
    description=(
        "The yearly CEO figures as published, in exports/ceo/<YYYY>/: indicators.csv (suppressed, counts rounded "
        "to 5, percentages to one decimal) and, built from that file only, the Dutch region report.html, "
        "gemeenten/<code>.html per municipality, aanbieders/<agb>.html per provider (its own figures beside "
        "the region's) and the workbook indicatoren-<YYYY>.xlsx. A year without figures publishes nothing and fails."
    ),
)
def ceo_publication(context: dg.AssetExecutionContext, warehouse: Warehouse, exports: ExportArea) -> dg.MaterializeResult:
    year = int(context.partition_key)
    with warehouse.connect() as con:
        try:
            export = write_ceo_outputs(con, year, exports.path())
        except NoFiguresError as error:
            raise dg.Failure(description=str(error), metadata={"year": year}) from error
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": export.rows,
            "suppressed_figures": export.suppressed,
            **_version_metadata([export], "changed_figures"),
            "manifest": dg.MetadataValue.path(str(export.manifest_path)),
            "indicators_csv": dg.MetadataValue.path(str(export.csv_path)),
            "report": dg.MetadataValue.path(str(export.report_path)),
            "workbook": dg.MetadataValue.path(str(export.workbook_path)),
            "files": dg.MetadataValue.md(_files_table(export)),
            "write_seconds": round(sum(export.seconds.values()), 2),
            **{f"write_seconds_{kind.split('.')[0]}": seconds for kind, seconds in export.seconds.items()},
            "region_summary": dg.MetadataValue.md(export.summary_markdown),
        }
    )


def _version_metadata(exports: list, changed: str) -> dict:
    """Which version each publication now is, whether this run wrote it, and what it changed.

    ``new_version`` False: the published content equalled the current version, nothing was written.
    A version after the first is a correction (for CBS it replaces the whole period)."""
    suffix = (lambda e: f"_{e.period}") if len(exports) > 1 else (lambda e: "")  # noqa: E731
    found = {}
    for export in exports:
        found |= {f"version{suffix(export)}": export.version, f"correction{suffix(export)}": export.version > 1,
                  f"new_version{suffix(export)}": export.written, f"{changed}{suffix(export)}": getattr(export, changed)}
    return found


def _files_table(export) -> str:
    lines = ["| files | count | MB | seconds |", "|---|---|---|---|"]
    # as code: the UI renders metadata markdown as HTML, where a bare <code> placeholder would vanish
    names = {"gemeenten": "gemeenten/<code>.html", "aanbieders": "aanbieders/<agb>.html",
             "workbook": f"indicatoren-{export.year}.xlsx"}
    lines += [f"| `{names.get(kind, kind)}` | {count} | {size / 1e6:.1f} | {export.seconds.get(kind, 0):.2f} |"
              for kind, (count, size) in export.files.items()]
    return "\n".join(lines)
