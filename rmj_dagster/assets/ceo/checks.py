"""Checks of the CEO year as published: suppression holds in the file, every file shows the published figures,
no file holds an identifier (blocking); every provider about to be published has a name (a warning)."""

import dagster as dg

from rmj_dagster.assets.asset_keys import asset_key
from rmj_dagster.assets.publications import export_findings
from rmj_dagster.resources import ExportArea, Warehouse


@dg.asset_check(
    asset=asset_key("ceo_publication"),
    blocking=True,
    description=(
        "Recomputed from the published indicators.csv alone: no shown figure has n below the threshold, no "
        "breakdown (areas, respondent groups, care types) has exactly one hidden figure, no hidden "
        "figure can be worked out by solving all breakdowns together, and no group of hidden figures can be "
        "shown to hold fewer people than the threshold (each shown n taken as a reader recovers it from the "
        "rounded n, the value and the interval)."
    ),
)
def suppression_holds_in_published_file(context: dg.AssetCheckExecutionContext, exports: ExportArea) -> dg.AssetCheckResult:
    from rmj_dagster.publish.ceo_files import verify_suppression
    from rmj_dagster.publish.figures import indicators_path

    path = indicators_path(exports.path(), int(context.partition_key))
    violations = verify_suppression(path) if path.exists() else [f"{path.name} is missing"]
    return dg.AssetCheckResult(
        passed=not violations,
        metadata={"verified": f"year {context.partition_key}: {path}", "violations": len(violations),
                  "examples": dg.MetadataValue.json(violations[:10])},
    )


@dg.asset_check(
    asset=asset_key("ceo_publication"),
    blocking=True,
    description=(
        "Every file of the year held against its indicators.csv: the report, a page per municipality and per "
        "provider and the workbook are all there; every figure a page shows (text or chart point) and every "
        "workbook cell equals the published figure, a suppressed one shows no number; a provider page holds "
        "no other provider's code or name."
    ),
)
def every_file_shows_the_published_figures(context: dg.AssetCheckExecutionContext, exports: ExportArea) -> dg.AssetCheckResult:
    from rmj_dagster.publish.publication_check import verify_publication

    problems = verify_publication(exports.path(), int(context.partition_key))
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={"verified": f"year {context.partition_key}: every file of the publication",
                  "problems": len(problems), "examples": dg.MetadataValue.json(problems[:10])},
    )


@dg.asset_check(
    asset=asset_key("ceo_publication"),
    blocking=True,
    pool="duckdb",
    description="Every file of the year (CSV, report, municipality and provider pages, the workbook's cells) holds no BSN candidate and no full date.",
)
def published_files_hold_no_identifiers(context: dg.AssetCheckExecutionContext, warehouse: Warehouse, exports: ExportArea) -> dg.AssetCheckResult:
    from rmj_dagster.publish.figures import year_dir

    folder = year_dir(exports.path(), int(context.partition_key))
    files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []
    with warehouse.connect(read_only=True) as con:
        found = export_findings(con, files, folder)
    return dg.AssetCheckResult(
        passed=bool(files) and not found,
        metadata={"verified": f"year {context.partition_key}: {len(files)} files under {folder} (kept versions included)"
                  if files else f"year {context.partition_key}: no files",
                  "files_scanned": len(files), "findings": dg.MetadataValue.json(found)},
    )


@dg.asset_check(
    asset=asset_key("ceo_indicators"),
    pool="duckdb",
    description=(
        "Warning: names each AGB code about to be published (a provider with figures in the year) that "
        "codebook/aanbieders.csv gives no name; its page and the report would call it 'Aanbieder met AGB-code ...'."
    ),
)
def every_provider_has_a_name(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    from rmj_dagster.publish.dutch import unnamed_providers

    year = context.partition_key
    with warehouse.connect(read_only=True) as con:
        codes = [code for (code,) in con.execute(
            "select distinct area_code from marts.ceo_indicators where period = ? and area_type = 'aanbieder'",
            [year]).fetchall()]
    unnamed = unnamed_providers(codes)
    return dg.AssetCheckResult(
        passed=not unnamed,
        severity=dg.AssetCheckSeverity.WARN,
        description=(f"{len(unnamed)} provider(s) of {year} without a name in codebook/aanbieders.csv: "
                     + ", ".join(unnamed)) if unnamed else f"all {len(codes)} providers of {year} have a name",
        metadata={"verified": f"year {year}: every provider in marts.ceo_indicators against codebook/aanbieders.csv",
                  "providers": len(codes), "without_name": dg.MetadataValue.json(unnamed)},
    )
