"""One asset per SQL model file in ``dbt_like_sql/``; upstream assets are read from the SQL itself.

Each stage builds the models whose ``-- group:`` header names it (``build_sql_assets``); how a table is
rebuilt lives in ``rmj_dagster.warehouse.builds``.
"""

import hashlib
from collections.abc import Callable

import dagster as dg

from rmj_dagster import automation
from rmj_dagster.assets import identifier_scan
from rmj_dagster.assets.asset_keys import asset_key_of_table
from rmj_dagster.assets.intake.delivery_observations import deliveries_of_run
from rmj_dagster.assets.table_metadata import OWNERS, table_metadata
from rmj_dagster.partitions import backfill_policy, half_years, years
from rmj_dagster.resources import Warehouse
from rmj_dagster.warehouse import builds, sql_models
from rmj_dagster.warehouse import periods as touched_periods

_PARTITIONS = {"half_year": half_years, "year": years}

# Work a model's asset does after the model is built: (context, connection) -> metadata.
AfterBuild = Callable[[dg.AssetExecutionContext, object], dict[str, object]]


def _grain_columns(model: sql_models.SqlModel) -> str:
    return ", ".join(c.name + ("?" if c.nullable else "") for c in model.grain)


def grain_spec(key: dg.AssetKey, model: sql_models.SqlModel) -> dg.AssetCheckSpec:
    """``grain_holds``, generated from the model's ``-- grain:`` header and verified in the model's own step."""
    return dg.AssetCheckSpec(
        "grain_holds",
        asset=key,
        blocking=True,
        description=(
            f"One row per ({_grain_columns(model)}); no NULL in a key column (? = may be NULL). From the model's "
            "grain header; verified in the step that writes the table, over what it wrote."
        ),
    )


def grain_result(con, key: dg.AssetKey, model: sql_models.SqlModel, periods: list[str] | None = None,
                 delivery_ids: list[str] | None = None, keys_table: str | None = None) -> dg.AssetCheckResult:
    found = sql_models.grain_violations(con, model, periods, delivery_ids, keys_table)
    if periods:
        verified = f"period {', '.join(periods)}"
    elif delivery_ids is not None:
        verified = f"rows of {len(delivery_ids)} deliveries"
    elif keys_table is not None:
        verified = "rows of the keys rebuilt"
    else:
        verified = "whole table"
    return dg.AssetCheckResult(
        asset_key=key,
        check_name="grain_holds",
        passed=not any(found.values()),
        metadata={"grain": _grain_columns(model), "verified": verified} | found,
    )


def build_sql_asset(model: sql_models.SqlModel, after_build: AfterBuild | None = None) -> dg.AssetsDefinition:
    partitions_def = _PARTITIONS.get(model.partition) if model.partition else None
    key = dg.AssetKey([model.layer, model.name])

    @dg.asset(
        name=model.name,
        key_prefix=[model.layer],
        deps=[asset_key_of_table(t) for t in model.upstream_tables],
        partitions_def=partitions_def,
        backfill_policy=backfill_policy(partitions_def),
        automation_condition=automation.condition_for(partitions_def),
        group_name=model.group,
        description=model.description or None,
        kinds={"duckdb", "sql"},
        owners=OWNERS,
        pool="duckdb",
        code_version=hashlib.sha256(model.rules.encode()).hexdigest()[:12],
        metadata={"dagster/table_name": model.table, "sql_file": f"dbt_like_sql/{model.layer}/{model.name}.sql"},
        check_specs=[identifier_scan.spec(key, [model.table]), *([grain_spec(key, model)] if model.grain else [])],
    )
    def _sql_asset(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        # one period, or each period of a range run (the CBS half-years a delivery run changed, in one run)
        periods = [builds.period_of(model, k) for k in context.partition_keys] if partitions_def else []
        labels = [p["period"] for p in periods]
        written = None  # the rows this step wrote, as a filter for the identifier scan (None = all)
        delivery_ids = None
        keys_table = None
        touched = {}  # the periods the rows this step rebuilt fall in (none said: the whole table, every period)
        with warehouse.connect() as con:
            if model.incremental:
                rows, delivery_ids = builds.build_incremental(con, model, deliveries_of_run(context))
                if delivery_ids is not None:
                    written = identifier_scan.rows_in("delivery_id", delivery_ids)
            elif model.keys:
                rows, keys_table = builds.build_keyed(con, model)
                if keys_table is not None:
                    written = f"exists (select 1 from {keys_table} where {sql_models.key_match(model.keys, model.table, keys_table)})"
                    touched = touched_periods.metadata(touched_periods.periods_of_keys(con, keys_table))
            elif periods:
                rows = sum(sql_models.run_model(con, model, **period) for period in periods)
                written = identifier_scan.rows_in("period", labels)
            else:
                rows = sql_models.run_model(con, model)
            metadata = table_metadata(con, model.table) | touched
            if after_build is not None:
                metadata |= after_build(context, con)
            check = identifier_scan.result(
                con, key, [model.table], where=written,
                scope="whole table" if written is None else f"rows written by this step ({rows})",
            )
            checks = [check]
            if model.grain:
                checks.append(grain_result(con, key, model, labels or None, delivery_ids, keys_table))
        if periods:
            metadata |= {"dagster/row_count": rows, "period": ", ".join(labels), "table_rows_all_periods": metadata["dagster/row_count"]}
        elif written is not None:
            metadata |= {"rows_written": rows}
        return dg.MaterializeResult(metadata=metadata, check_results=checks)

    return _sql_asset


def build_sql_assets(group: str, after_build: dict[str, AfterBuild] | None = None) -> list[dg.AssetsDefinition]:
    """The assets of the models whose ``-- group:`` header names the stage ``group``; ``after_build`` gives the
    stage's work after a model is built, by model name."""
    return [build_sql_asset(m, (after_build or {}).get(m.name)) for m in sql_models.discover() if m.group == group]
