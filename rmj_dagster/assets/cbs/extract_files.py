"""The CBS half-yearly outcome extract as files, one folder per half-year."""

from importlib.metadata import PackageNotFoundError, version

import dagster as dg

from rmj_dagster import automation
from rmj_dagster.assets.asset_keys import asset_key, python_asset_names
from rmj_dagster.assets.publications import version_metadata
from rmj_dagster.assets.table_metadata import OWNERS
from rmj_dagster.partitions import backfill_policy, half_years, half_years_of_run
from rmj_dagster.publish.cbs_files import write_cbs_extract
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
            **version_metadata(written, "changed_records"),
            "unlisted_long_term_trajectories": sum(n for _, n in unlisted),
            **{f"unlisted_{reason}": n for reason, n in unlisted},
        }
    )
