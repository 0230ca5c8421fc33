"""The yearly CEO figures as published: the table, the report, a page per municipality and provider, the workbook."""

import dagster as dg

from rmj_dagster.assets.asset_keys import asset_key, python_asset_names
from rmj_dagster.assets.publications import version_metadata
from rmj_dagster.assets.table_metadata import OWNERS
from rmj_dagster.partitions import years
from rmj_dagster.publish.ceo_files import NoFiguresError, write_ceo_outputs
from rmj_dagster.resources import ExportArea, Warehouse


@dg.asset(
    **python_asset_names("ceo_publication"),
    deps=[asset_key("ceo_indicators")],
    partitions_def=years,
    group_name="ceo",
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
            **version_metadata([export], "changed_figures"),
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


def _files_table(export) -> str:
    lines = ["| files | count | MB | seconds |", "|---|---|---|---|"]
    # as code: the UI renders metadata markdown as HTML, where a bare <code> placeholder would vanish
    names = {"gemeenten": "gemeenten/<code>.html", "aanbieders": "aanbieders/<agb>.html",
             "workbook": f"indicatoren-{export.year}.xlsx"}
    lines += [f"| `{names.get(kind, kind)}` | {count} | {size / 1e6:.1f} | {export.seconds.get(kind, 0):.2f} |"
              for kind, (count, size) in export.files.items()]
    return "\n".join(lines)
