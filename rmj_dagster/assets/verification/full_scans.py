"""Asset checks. Those that protect people (no identifier leaves, suppression holds, the extract
conforms) and the reconciliation of every delivery are blocking: a failure stops what comes after.

Every check that opens the warehouse is in the ``duckdb`` pool, like the assets: DuckDB lets one
process hold the file for writing, and a read-only connection from another process blocks that writer."""

import json
from pathlib import Path

import dagster as dg

from rmj_dagster.assets import identifier_scan
from rmj_dagster.assets.asset_keys import asset_key
from rmj_dagster.assets.cockpit_assets import deliveries_loaded, no_provider_late, publication_current
from rmj_dagster.assets.delivery_observations import deliveries_of_run
from rmj_dagster.assets.model_assets import PYTHON_OWNED
from rmj_dagster.partitions import half_years_of_run
from rmj_dagster.privacy import identifiers
from rmj_dagster.quality import expectations
from rmj_dagster.quality.expectations import CBS_COLUMNS
from rmj_dagster.resources import ExportArea, Warehouse
from rmj_dagster.warehouse import sql_models


def _tables_by_asset() -> dict[str, list[str]]:
    """Every asset that writes warehouse tables, with its tables (``ref.*`` = every codebook table)."""
    owned: dict[str, list[str]] = {"codebook": ["ref.*"]}
    for table, asset in PYTHON_OWNED.items():
        owned.setdefault(asset, []).append(table)
    for model in sql_models.discover():
        owned[model.name] = [model.table]
    return owned


@dg.asset_check(
    asset=asset_key("delivery_reconciliation"),
    blocking=True,
    pool="duckdb",
    description="Per delivery: rows read = rows accepted + rows rejected. Every row ends up in exactly one place.",
)
def every_row_accounted_for(warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        bad = con.execute(
            "select delivery_id, rows_read, rows_accepted, rows_rejected from intermediate.delivery_reconciliation "
            "where not reconciled order by delivery_id"
        ).fetchall()
        totals = con.execute(
            "select count(*), coalesce(sum(rows_read), 0), coalesce(sum(rows_accepted), 0), coalesce(sum(rows_rejected), 0) "
            "from intermediate.delivery_reconciliation"
        ).fetchone()
    return dg.AssetCheckResult(
        passed=not bad,
        metadata={
            "verified": f"every delivery so far: all {totals[0]} rows of intermediate.delivery_reconciliation",
            "deliveries": totals[0],
            "rows_read": totals[1],
            "rows_accepted": totals[2],
            "rows_rejected": totals[3],
            "deliveries_not_reconciled": len(bad),
            "examples": dg.MetadataValue.json([{"delivery": d, "read": r, "accepted": a, "rejected": j} for d, r, a, j in bad[:5]]),
        },
    )


FULL_IDENTIFIER_SCAN = "full_identifier_scan"


def _full_identifier_scan(key: dg.AssetKey, tables: list[str]) -> dg.AssetChecksDefinition:
    """The whole-table scan of the full verification; each run already scans what it wrote, in its step
    (``no_identifiers``, see rmj_dagster/assets/identifier_scan.py)."""
    @dg.asset_check(
        asset=key,
        name=FULL_IDENTIFIER_SCAN,
        blocking=True,
        pool="duckdb",
        description=identifier_scan.describe(tables) + " Every row, in the full verification (on demand and weekly).",
    )
    def _check(warehouse: Warehouse) -> dg.AssetCheckResult:
        with warehouse.connect(read_only=True) as con:
            found = identifier_scan.scan(con, tables)
            scanned = sorted(identifier_scan.present(con, tables))
        return dg.AssetCheckResult(
            passed=not found,
            metadata={"verified": "tables " + ", ".join(scanned) + " (every row)",
                      "tables_scanned": len(scanned), "rows_scanned": "every row", "findings": dg.MetadataValue.json(found)},
        )

    return _check


def full_identifier_scans() -> list[dg.AssetChecksDefinition]:
    return [_full_identifier_scan(asset_key(asset), tables) for asset, tables in _tables_by_asset().items()]


def _export_findings(con, files, folder: Path) -> dict[str, dict]:
    """The files holding an identifier, by their path in the publication folder."""
    return {path.relative_to(folder).as_posix(): scan for path, scan in identifiers.scan_export_files(con, list(files)).items()}


@dg.asset_check(
    asset=asset_key("cbs_extract_files"),
    name="extract_conforms_and_holds_no_identifiers",
    blocking=True,
    pool="duckdb",
    description=(
        "The period's CBS files match their manifest (rows, sha256), carry exactly the columns of the "
        "specification, and no file of the period holds an identifier (BSN candidate, full date outside "
        "the date columns of the specification)."
    ),
)
def cbs_extract_conforms(context: dg.AssetCheckExecutionContext, warehouse: Warehouse, exports: ExportArea) -> dg.AssetCheckResult:
    from rmj_dagster.intake.landing_zone import sha256_of
    from rmj_dagster.publish.cbs_files import period_dir

    periods = half_years_of_run(context)
    problems: list[str] = []
    files = 0
    verified = {"verified": (f"period {', '.join(periods)}, folder " + ", ".join(str(period_dir(exports.path(), p)) for p in periods))
                if periods else "no period"}
    if not periods:
        problems.append("no period")
    with warehouse.connect(read_only=True) as con:
        for period in periods:
            folder = period_dir(exports.path(), period)
            if not (folder / "manifest.json").exists():
                problems.append(f"{period}: no manifest for the period")
                continue
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            files += len(manifest["files"])
            for entry in manifest["files"]:
                path = folder / entry["file"]
                if sha256_of(path) != entry["sha256"]:
                    problems.append(f"{period}/{entry['file']}: sha256 differs from the manifest")
                header = path.read_text(encoding="utf-8").splitlines()[0].split(";")
                if header != list(CBS_COLUMNS):
                    problems.append(f"{period}/{entry['file']}: columns differ from the specification")
            every_file = sorted(p for p in folder.rglob("*") if p.is_file())  # kept versions and manifests too
            for name, scan in _export_findings(con, every_file, folder).items():
                problems.append(f"{period}/{name}: holds an identifier ({json.dumps(scan)})")
    return dg.AssetCheckResult(
        passed=not problems,
        metadata=verified | {"files": files, "problems": dg.MetadataValue.json(problems)},
    )


@dg.asset_check(
    asset=asset_key("ceo_publication"),
    name="suppression_holds_in_published_file",
    blocking=True,
    description=(
        "Recomputed from the published indicators.csv alone: no shown figure has n below the threshold, no "
        "breakdown (areas, respondent groups, care types) has exactly one hidden figure, no hidden "
        "figure can be worked out by solving all breakdowns together, and no group of hidden figures can be "
        "shown to hold fewer people than the threshold (each shown n taken as a reader recovers it from the "
        "rounded n, the value and the interval)."
    ),
)
def suppression_holds(context: dg.AssetCheckExecutionContext, exports: ExportArea) -> dg.AssetCheckResult:
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
    name="every_file_shows_the_published_figures",
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
    name="published_files_hold_no_identifiers",
    blocking=True,
    pool="duckdb",
    description="Every file of the year (CSV, report, municipality and provider pages, the workbook's cells) holds no BSN candidate and no full date.",
)
def ceo_files_hold_no_identifiers(context: dg.AssetCheckExecutionContext, warehouse: Warehouse, exports: ExportArea) -> dg.AssetCheckResult:
    from rmj_dagster.publish.figures import year_dir

    folder = year_dir(exports.path(), int(context.partition_key))
    files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []
    with warehouse.connect(read_only=True) as con:
        found = _export_findings(con, files, folder)
    return dg.AssetCheckResult(
        passed=bool(files) and not found,
        metadata={"verified": f"year {context.partition_key}: {len(files)} files under {folder} (kept versions included)"
                  if files else f"year {context.partition_key}: no files",
                  "files_scanned": len(files), "findings": dg.MetadataValue.json(found)},
    )


@dg.asset_check(
    asset=asset_key("ceo_indicators"),
    name="every_provider_has_a_name",
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


def _gx_result(outcome: expectations.Outcome, rows: int, verified: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=outcome.success,
        metadata={
            "verified": verified,
            "rows_validated": rows,
            "expectations": outcome.evaluated,
            "failed_expectations": dg.MetadataValue.json(outcome.failures),
        },
    )


@dg.asset_check(
    asset=asset_key("cleaned_responses"),
    name="conforms_to_codebook",
    blocking=True,
    pool="duckdb",
    description=(
        "Great Expectations: every cleaned answer, questionnaire and municipality is one the codebook allows. "
        "A delivery run validates the cleaned responses of its deliveries (earlier ones were validated by "
        "their own run); any other run, the full verification included, validates every row."
    ),
)
def cleaned_responses_conform(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    columns = ", ".join([
        "aanbieder_agb", "pseudoniem", "gemeentecode", "vragenlijst", "invuldatum", "respondent_group", "care_type",
        *(f"q{i:02d}" for i in range(1, 11)),
    ])
    deliveries = deliveries_of_run(context)
    with warehouse.connect(read_only=True) as con:
        rows = con.sql(
            f"select {columns} from intermediate.cleaned_responses where $ids is null or list_contains($ids, delivery_id)",
            params={"ids": deliveries or None},
        ).to_arrow_table()
    verified = (f"rows of intermediate.cleaned_responses from the run's {len(deliveries)} deliveries" if deliveries
                else "every row of intermediate.cleaned_responses (all periods)")
    return _gx_result(expectations.validate(rows, "cleaned_responses", expectations.cleaned_responses_expectations), rows.num_rows, verified)


@dg.asset_check(
    asset=asset_key("cbs_outcome_extract"),
    name="conforms_to_cbs_spec",
    blocking=True,
    pool="duckdb",
    description="Great Expectations: the period's extract rows have the specified columns, codes, date formats and unique trajectories.",
)
def cbs_rows_conform(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    outcomes, rows = [], 0
    periods = half_years_of_run(context)
    with warehouse.connect(read_only=True) as con:
        for period in periods:  # each period on its own: a trajectory is unique within its period's extract
            table = con.sql(
                f"select {', '.join(CBS_COLUMNS)} from marts.cbs_outcome_extract where period = ?", params=[period]
            ).to_arrow_table()
            outcomes.append(expectations.validate(table, "cbs_outcome_extract", expectations.cbs_extract_expectations).labelled(period=period))
            rows += table.num_rows
    return _gx_result(expectations.merged(outcomes), rows, f"period {', '.join(periods)} of marts.cbs_outcome_extract")


def all_checks() -> list[dg.AssetChecksDefinition]:
    return [
        every_row_accounted_for,
        cleaned_responses_conform,
        cbs_rows_conform,
        *full_identifier_scans(),
        cbs_extract_conforms,
        suppression_holds,
        every_file_shows_the_published_figures,
        ceo_files_hold_no_identifiers,
        every_provider_has_a_name,
        no_provider_late,
        deliveries_loaded,
        publication_current,
    ]
