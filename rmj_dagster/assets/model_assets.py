"""One asset per SQL model file in ``dbt_like_sql/``; upstream assets are read from the SQL itself."""

import hashlib

import dagster as dg

from rmj_dagster.assets.asset_keys import asset_key
from rmj_dagster.assets.cockpit_assets import figure_change_metadata
from rmj_dagster.assets.delivery_observations import observe_deliveries
from rmj_dagster.assets.table_metadata import OWNERS, table_metadata
from rmj_dagster.intake.kinds import KINDS
from rmj_dagster.partitions import half_year_bounds, half_year_label, half_years, year_bounds, years
from rmj_dagster.resources import Warehouse
from rmj_dagster.warehouse import sql_models

_PARTITIONS = {"half_year": half_years, "year": years}


def _count_client_choice(context: dg.AssetExecutionContext, con) -> dict[str, object]:
    """How many responses carry the client's ``geen_inzage_hulpverlener`` choice (no provider may see
    them; no client-level view is ever produced, so the count is what the choice shows up as)."""
    chosen = con.execute(
        "select count(*) filter (where geen_inzage_hulpverlener) from intermediate.cleaned_responses"
    ).fetchone()[0]
    return {"responses_geen_inzage_hulpverlener": int(chosen or 0)}


# Work a model's asset does after the model is built (one place per model that needs any).
_AFTER_BUILD = {
    "delivery_reconciliation": observe_deliveries,
    "cleaned_responses": _count_client_choice,
    "figure_sources": figure_change_metadata,
}

# Tables written from Python rather than by a model: which asset owns them.
PYTHON_OWNED = {
    "audit.deliveries": "raw_provider_drops",
    "audit.file_receipts": "raw_provider_drops",
    **{kind.table: kind.asset for kind in KINDS.values()},
    "audit.published_figures": "published_figures",
}


def asset_key_of_table(table: str) -> dg.AssetKey:
    """The asset that writes ``schema.table``: the codebook, an ingest asset, or the model of that name."""
    schema, name = table.split(".")
    if schema == "ref":
        return asset_key("codebook")
    if table in PYTHON_OWNED:
        return asset_key(PYTHON_OWNED[table])
    return dg.AssetKey([schema, name])


def period_of(model: sql_models.SqlModel, partition_key: str) -> dict:
    if model.partition == "half_year":
        start, end = half_year_bounds(partition_key)
        return {"period": half_year_label(partition_key), "period_start": start, "period_end": end}
    start, end = year_bounds(partition_key)
    return {"period": partition_key, "period_start": start, "period_end": end}


def build_sql_asset(model: sql_models.SqlModel) -> dg.AssetsDefinition:
    partitions_def = _PARTITIONS.get(model.partition) if model.partition else None

    @dg.asset(
        name=model.name,
        key_prefix=[model.layer],
        deps=[asset_key_of_table(t) for t in model.upstream_tables],
        partitions_def=partitions_def,
        group_name=model.group,
        description=model.description or None,
        kinds={"duckdb", "sql"},
        owners=OWNERS,
        pool="duckdb",
        code_version=hashlib.sha256(model.sql.encode()).hexdigest()[:12],
        metadata={"dagster/table_name": model.table, "sql_file": f"dbt_like_sql/{model.layer}/{model.name}.sql"},
    )
    def _sql_asset(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        period = period_of(model, context.partition_key) if partitions_def else {}
        with warehouse.connect() as con:
            rows = sql_models.run_model(con, model, **period)
            metadata = table_metadata(con, model.table)
            if model.name in _AFTER_BUILD:
                metadata |= _AFTER_BUILD[model.name](context, con)
        if period:
            metadata |= {"dagster/row_count": rows, "period": period["period"], "table_rows_all_periods": metadata["dagster/row_count"]}
        return dg.MaterializeResult(metadata=metadata)

    return _sql_asset


def build_sql_assets() -> list[dg.AssetsDefinition]:
    return [build_sql_asset(m) for m in sql_models.discover()]
