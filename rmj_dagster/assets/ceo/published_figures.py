"""The data team's cockpit in Dagster: the monitor page, the record of each publication, the late check.

``delivery_monitor`` and ``figure_sources`` are SQL models; these assets add what SQL alone cannot: the
owner-only monitor page, and ``audit.published_figures``, one version of a year's figures per publication,
which is what lets ``figure_sources`` say which published figures a correction changed.
"""


import warnings
from datetime import UTC, datetime

import dagster as dg

from rmj_dagster.assets import identifier_scan
from rmj_dagster.assets.asset_keys import asset_key, python_asset_names
from rmj_dagster.assets.delivery_observations import LOADED_CHECK
from rmj_dagster.assets.table_metadata import OWNERS, markdown_table, table_metadata
from rmj_dagster.cockpit import lineage, monitor, out_of_date
from rmj_dagster.partitions import deliveries, years
from rmj_dagster.resources import ExportArea, Warehouse
from rmj_dagster.warehouse import ddl

# A partitioned asset check is a preview in Dagster 1.13; we rely on it on purpose (one result per delivery).
warnings.filterwarnings("ignore", message=r"Specifying a partitions_def on an AssetCheckSpec", category=dg.PreviewWarning)

PUBLISHED_FIGURES = "audit.published_figures"


def record_publication(con, publication_id: str, recorded_at: datetime, year: int) -> None:
    """Append the year's figures as now published (marts.ceo_indicators: exact n, suppression) as one
    version; ceo_indicators reads these back so that no later version gives a small difference away."""
    con.execute(f"create table if not exists {PUBLISHED_FIGURES} ({ddl.AUDIT_TABLES[PUBLISHED_FIGURES]})")
    con.execute(
        f"""
        insert into {PUBLISHED_FIGURES}
        select ?, ?, year, area_type, area_code, respondent_group, care_type, indicator, n, value, suppressed
        from marts.ceo_indicators where period = ?
        """,
        [publication_id, recorded_at, str(year)],
    )


@dg.asset(
    **python_asset_names("published_figures"),
    deps=[asset_key("ceo_publication")],
    partitions_def=years,
    group_name="indicators",
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


@dg.asset_check(
    asset=asset_key("raw_provider_drops"),
    name=LOADED_CHECK,
    pool="duckdb",  # opens the warehouse
    partitions_def=deliveries,
    additional_deps=[asset_key("delivery_reconciliation")],
    description=(
        "Warning: every delivery of the run was loaded. Each delivery partition also gets its own result "
        "(failed with the quarantine reason when it was quarantined, on receipt or in the TTP step)."
    ),
)
def deliveries_loaded(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    keys = list(context.partition_keys)
    with warehouse.connect(read_only=True) as con:
        rows = con.execute(
            "select delivery_id, file_name, status, quarantine_reason from intermediate.delivery_reconciliation "
            "where list_contains(?, delivery_id) order by received_at, delivery_id",
            [keys],
        ).fetchall()
    not_loaded = [r for r in rows if r[2] != "loaded"]
    span = keys[0] if len(keys) == 1 else f"{keys[0]} .. {keys[-1]}"
    return dg.AssetCheckResult(
        passed=not not_loaded,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{len(not_loaded)} of {len(rows)} deliveries not loaded" if not_loaded else f"all {len(rows)} deliveries loaded",
        metadata={
            "verified": f"{len(keys)} delivery partition(s) of this run: {span}",
            "deliveries": len(rows),
            "not_loaded": markdown_table(["delivery", "file", "status", "reason"], not_loaded[:50]),
        },
    )


PUBLICATION_CURRENT_CHECK = "publication_current"


def _out_of_date_deps() -> list[dg.AssetKey]:
    from rmj_dagster.assets.model_assets import asset_key_of_table

    # what the year is built from; and, in a CEO run, the record of the publication it compares with
    return sorted({asset_key_of_table(t) for t in out_of_date.upstream_tables()} | {asset_key("published_figures")},
                  key=lambda k: k.path)


def _years_touched_by_run(context: dg.AssetCheckExecutionContext) -> set[int] | None:
    """The years the rows this run rebuilt fall in, as the CEO figures' input says (``years_touched`` of its
    materialization in this run); None = every year: not rebuilt in this run (a CEO run), or rebuilt whole."""
    from rmj_dagster.assets.model_assets import asset_key_of_table
    from rmj_dagster.cockpit.out_of_date import upstream_tables

    touched: set[int] = set()
    for key in {asset_key_of_table(t) for t in upstream_tables() if not t.startswith("ref.")}:  # ref: in the rules
        records = context.instance.fetch_materializations(key, limit=1).records
        if not records or records[0].run_id != context.run.run_id:
            return None
        said = records[0].asset_materialization.metadata.get("years_touched")
        if said is None:
            return None
        touched |= {int(y) for y in said.value}
    return touched


@dg.asset_check(
    asset=asset_key("ceo_publication"),
    name=PUBLICATION_CURRENT_CHECK,
    pool="duckdb",  # opens the warehouse
    additional_deps=_out_of_date_deps(),
    description=(
        "Warning, after each delivery run and each CEO run: every published CEO year still shows the figures it "
        "would show now. A year whose published figures (value and n as published, suppression) would now differ "
        "is out of date: the description says how many figures differ and which; an analyst publishes it anew "
        "(materialize the year, or rmj publish ceo <YYYY>). The published files stay as they are until then. "
        "Compared again: in a delivery run the years its rows touch and the year after each, and a year never "
        "compared, published anew or compared under other rules (SQL, codebook); in a CEO run every published "
        "year. Every other year keeps the result of its last comparison (metadata: compared, kept)."
    ),
)
def publication_current(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    touched = _years_touched_by_run(context)
    with warehouse.connect() as con:  # builds the marts as they would be now, then rolls back
        currency = out_of_date.check(con, touched)
    years = sorted(currency.compared + currency.kept)
    stale = currency.stale
    return dg.AssetCheckResult(
        passed=not stale,
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(str(s) for s in stale) if stale else (
            f"every published CEO year is current ({', '.join(map(str, years))})" if years else "no CEO year published yet"),
        metadata={
            "verified": "published years " + (", ".join(map(str, years)) or "none")
                        + f"; compared now: {', '.join(map(str, currency.compared)) or 'none'}"
                        + (f"; kept from their last comparison: {', '.join(map(str, currency.kept))}" if currency.kept else ""),
            "compared": dg.MetadataValue.json([str(y) for y in currency.compared]),
            "kept": dg.MetadataValue.json([str(y) for y in currency.kept]),
            "out_of_date": dg.MetadataValue.json({str(s.year): list(s.figures[:50]) for s in stale}),
            "figures_differing": sum(len(s.figures) for s in stale),
            "out_of_date_years": dg.MetadataValue.json([str(s) for s in stale]),
        },
    )
