"""The record of each CEO publication: ``audit.published_figures``, one version of a year's figures per
publication, which is what lets ``figure_sources`` say which published figures a correction changed."""

from datetime import UTC, datetime

import dagster as dg

from rmj_dagster.assets import identifier_scan
from rmj_dagster.assets.asset_keys import asset_key, python_asset_names
from rmj_dagster.assets.table_metadata import OWNERS, markdown_table, table_metadata
from rmj_dagster.cockpit import lineage
from rmj_dagster.cockpit.lineage import PUBLISHED_FIGURES, record_publication
from rmj_dagster.partitions import years
from rmj_dagster.resources import Warehouse


@dg.asset(
    **python_asset_names("published_figures"),
    deps=[asset_key("ceo_publication")],
    partitions_def=years,
    group_name="ceo",
    kinds={"duckdb"},
    owners=OWNERS,
    pool="duckdb",
    description=(
        "One version of the year's CEO figures per publication (audit.published_figures: publication id = "
        "the run, recorded at, n, value, suppressed), appended after the files are written. figure_sources "
        "compares the last two versions to say which published figures a correction changed."
    ),
    check_specs=[identifier_scan.spec(asset_key("published_figures"), [PUBLISHED_FIGURES])],
)
def published_figures(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    year = int(context.partition_key)
    recorded_at = datetime.now(UTC).replace(tzinfo=None)
    with warehouse.connect() as con:
        record_publication(con, context.run_id, recorded_at, year)
        rows, publications = con.execute(
            f"select count(*) filter (where publication_id = ?), count(distinct publication_id) "
            f"from {PUBLISHED_FIGURES} where year = ?",
            [context.run_id, year],
        ).fetchone()
        metadata = table_metadata(con, PUBLISHED_FIGURES)
        check = identifier_scan.result(
            con, asset_key("published_figures"), [PUBLISHED_FIGURES],
            where=identifier_scan.rows_in("publication_id", [context.run_id]),
            scope=f"rows of this publication of {year} ({rows})",
        )
    return dg.MaterializeResult(
        metadata=metadata
        | {"dagster/row_count": rows, "period": str(year), "publications_of_the_year": publications,
           "table_rows_all_years": metadata["dagster/row_count"]},
        check_results=[check],
    )


def figure_change_metadata(context: dg.AssetExecutionContext, con) -> dict[str, object]:
    """After figure_sources is built: the published figures of the year that changed, for the run's page."""
    changes = lineage.changed_figures(con, [int(context.partition_key)])
    rows = [(str(c.figure), c.previous_value, c.previous_n, c.value, c.n, "; ".join(c.new_deliveries)) for c in changes[:50]]
    return {
        "changed_figures": len(changes),
        "changed": markdown_table(["figure", "was", "n was", "now", "n now", "new deliveries"], rows),
    }
