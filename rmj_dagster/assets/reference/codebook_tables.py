"""The codebook loaded into the warehouse as ``ref.*`` tables, so SQL joins code lists instead of repeating them."""

import hashlib

import dagster as dg

from rmj_dagster import codebook
from rmj_dagster.assets import identifier_scan
from rmj_dagster.assets.table_metadata import OWNERS, markdown_table
from rmj_dagster.resources import Warehouse


def _codebook_version() -> str:
    digest = hashlib.sha256()
    for name in codebook.TABLES:
        digest.update(codebook.path(name).read_bytes())
    return digest.hexdigest()[:12]


@dg.asset(
    name="codebook",
    key_prefix=["ref"],
    group_name="reference",
    kinds={"csv", "duckdb"},
    owners=OWNERS,
    pool="duckdb",
    code_version=_codebook_version(),
    description=(
        "Code lists and thresholds (rmj_dagster/codebook/*.csv) as ref.* tables: the region and its "
        "sub-regions, JZ588 → CBS reason of ending and uitval, CEM+ versions and items, reason codes, "
        "suppression and window parameters. Change a rule in the CSV, not in code."
    ),
    check_specs=[identifier_scan.spec(dg.AssetKey(["ref", "codebook"]), ["ref.*"])],
)
def codebook_tables(warehouse: Warehouse) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        counts = codebook.load_into(con)
        check = identifier_scan.result(con, dg.AssetKey(["ref", "codebook"]), ["ref.*"])
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(counts.values()),
            "tables": markdown_table(["table", "rows"], [(f"ref.{k}", v) for k, v in counts.items()]),
        },
        check_results=[check],
    )
