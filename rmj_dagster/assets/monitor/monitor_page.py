"""The data team's monitor page per year, and the warning that names the providers who are late."""

import dagster as dg

from rmj_dagster.assets.asset_keys import asset_key, python_asset_names
from rmj_dagster.assets.table_metadata import OWNERS
from rmj_dagster.cockpit import monitor
from rmj_dagster.resources import ExportArea, Warehouse


@dg.asset(
    **python_asset_names("delivery_monitor_page"),
    deps=[asset_key("delivery_monitor")],
    group_name="monitor",
    kinds={"plotly", "html"},
    owners=OWNERS,
    pool="duckdb",
    description=(
        "The data team's page per year, <export dir>/monitor/<YYYY>.html (owner-only: operational counts, "
        "not published): first a provider x month grid (delivered, late, quarantined, nothing due), then "
        "the late providers and the figures of every provider-month."
    ),
)
def delivery_monitor_page(warehouse: Warehouse, exports: ExportArea) -> dg.MaterializeResult:
    with warehouse.connect(read_only=True) as con:
        pages = monitor.write_monitor_pages(con, exports.path())
        late = monitor.late_providers(con)
    return dg.MaterializeResult(
        metadata={
            "pages": dg.MetadataValue.json([str(p) for p in pages]),
            **({"latest_page": dg.MetadataValue.path(str(pages[-1]))} if pages else {}),
            "late_providers": len(late),
        }
    )


@dg.asset_check(
    asset=asset_key("delivery_monitor"),
    name="no_provider_late",
    pool="duckdb",  # opens the warehouse
    description=(
        "Warning: names every provider with ended trajectories in a month of the running year (the year of "
        "the latest due month) for which no goal measurement came by the end of the next month, with counts."
    ),
)
def no_provider_late(warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        cutoff = monitor.data_cutoff_month(con)
        year = monitor.running_year(con)
        late = monitor.late_providers(con, year) if year else []
        this_month = monitor.late_this_month(con)
    return dg.AssetCheckResult(
        passed=not late,
        severity=dg.AssetCheckSeverity.WARN,
        description=("late: " + "; ".join(str(p) for p in late)) if late else f"no provider late in {year}",
        metadata={
            "verified": f"every provider-month of {year} whose goals were due before {cutoff} (data cut-off)",
            "period": str(year),
            "late_providers": dg.MetadataValue.json(
                {p.aanbieder_agb: {"months": list(p.months), "trajectories_without_goal": p.trajectories_without_goal}
                 for p in late}
            ),
            "late_this_month": dg.MetadataValue.json([str(p) for p in this_month]),
        },
    )
