"""Checks of the CBS half-year: its rows conform to the specification, its files to their manifest, and no
file holds an identifier. Blocking: a failure stops the period from going out."""

import json

import dagster as dg

from rmj_dagster.assets.asset_keys import asset_key
from rmj_dagster.assets.models.checks import gx_result
from rmj_dagster.assets.publications import export_findings
from rmj_dagster.partitions import half_years_of_run
from rmj_dagster.quality import expectations
from rmj_dagster.quality.expectations import CBS_COLUMNS
from rmj_dagster.resources import ExportArea, Warehouse


@dg.asset_check(
    asset=asset_key("cbs_extract_files"),
    blocking=True,
    pool="duckdb",
    description=(
        "The period's CBS files match their manifest (rows, sha256), carry exactly the columns of the "
        "specification, and no file of the period holds an identifier (BSN candidate, full date outside "
        "the date columns of the specification)."
    ),
)
def extract_conforms_and_holds_no_identifiers(context: dg.AssetCheckExecutionContext, warehouse: Warehouse, exports: ExportArea) -> dg.AssetCheckResult:
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
            for name, scan in export_findings(con, every_file, folder).items():
                problems.append(f"{period}/{name}: holds an identifier ({json.dumps(scan)})")
    return dg.AssetCheckResult(
        passed=not problems,
        metadata=verified | {"files": files, "problems": dg.MetadataValue.json(problems)},
    )


@dg.asset_check(
    asset=asset_key("cbs_outcome_extract"),
    blocking=True,
    pool="duckdb",
    description="Great Expectations: the period's extract rows have the specified columns, codes, date formats and unique trajectories.",
)
def conforms_to_cbs_spec(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    outcomes, rows = [], 0
    periods = half_years_of_run(context)
    with warehouse.connect(read_only=True) as con:
        for period in periods:  # each period on its own: a trajectory is unique within its period's extract
            table = con.sql(
                f"select {', '.join(CBS_COLUMNS)} from marts.cbs_outcome_extract where period = ?", params=[period]
            ).to_arrow_table()
            outcomes.append(expectations.validate(table, "cbs_outcome_extract", expectations.cbs_extract_expectations).labelled(period=period))
            rows += table.num_rows
    return gx_result(expectations.merged(outcomes), rows, f"period {', '.join(periods)} of marts.cbs_outcome_extract")
