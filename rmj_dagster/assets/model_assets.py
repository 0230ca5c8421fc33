"""One asset per SQL model file in ``dbt_like_sql/``; upstream assets are read from the SQL itself."""

import hashlib

import dagster as dg

from rmj_dagster import automation
from rmj_dagster.assets import identifier_scan
from rmj_dagster.assets.asset_keys import asset_key
from rmj_dagster.assets.cockpit_assets import figure_change_metadata
from rmj_dagster.assets.delivery_observations import deliveries_of_run, observe_deliveries
from rmj_dagster.assets.table_metadata import OWNERS, table_metadata
from rmj_dagster.intake.kinds import KINDS
from rmj_dagster.partitions import backfill_policy, half_year_bounds, half_years, year_bounds, years
from rmj_dagster.resources import Warehouse
from rmj_dagster.warehouse import periods as touched_periods
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
    "audit.key_labels": "raw_provider_drops",  # the receipt step binds the key's label first
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
        return {"period": partition_key, "period_start": start, "period_end": end}
    start, end = year_bounds(partition_key)
    return {"period": partition_key, "period_start": start, "period_end": end}


def _models_upstream(model: sql_models.SqlModel) -> list[sql_models.SqlModel]:
    """The model and every model it reads, directly or through others (in dependency order)."""
    by_table = {m.table: m for m in sql_models.discover()}
    wanted, todo = set(), [model.table]
    while todo:
        table = todo.pop()
        if table in by_table and table not in wanted:
            wanted.add(table)
            todo.extend(by_table[table].upstream_tables)
    return [m for m in sql_models.discover() if m.table in wanted]


def rules_fingerprint(model: sql_models.SqlModel) -> str:
    """What a row's outcome depends on besides its delivery: the SQL of the model and of every model it reads,
    the macros, the codebook. A change to any of them rebuilds the table whole."""
    from rmj_dagster import codebook
    from rmj_dagster.warehouse import macros_sql

    digest = hashlib.sha256()
    for upstream in _models_upstream(model):
        digest.update(upstream.sql.encode())
    digest.update(macros_sql().encode())
    for name in codebook.TABLES:
        digest.update(codebook.path(name).read_bytes())
    return digest.hexdigest()


def build_incremental(con, model: sql_models.SqlModel, delivery_ids: list[str]) -> tuple[int, list[str] | None]:
    """Rebuild ``model`` for ``delivery_ids`` only, or whole when its rules changed since the last full build.

    Any delivery an earlier run loaded but never staged is taken too. A run without deliveries (``rmj
    process`` with nothing new) thus writes nothing unless the rules changed: its rows stand as they are.
    Returns (rows written, the deliveries written; None = the whole table was written).
    """
    fingerprint = "rules " + rules_fingerprint(model)  # kept as the table's comment
    schema, name = model.table.split(".")
    stored = con.execute(
        "select comment from duckdb_tables() where database_name = current_database() and schema_name = ? and table_name = ?",
        [schema, name],
    ).fetchone()
    if stored is not None and stored[0] == fingerprint:
        # also any delivery loaded by an earlier run that died before staging it (never left behind)
        sources = [t for t in model.upstream_tables if t.startswith("pseudo.")]
        unstaged = con.execute(
            " union ".join(f"select distinct delivery_id from {t}" for t in sources)
            + f" except select distinct delivery_id from {model.table}"
        ).fetchall()
        delivery_ids = sorted(set(delivery_ids) | {d for (d,) in unstaged})
        if not delivery_ids:
            return 0, []  # nothing to write: no transaction, no pass over the table or its sources
        return sql_models.run_model(con, model, delivery_ids=delivery_ids), delivery_ids
    rows = sql_models.run_model(con, model)  # every delivery, under the current rules
    con.execute(f"comment on table {model.table} is '{fingerprint}'")
    return rows, None


_CHANGED_KEYS = "rmj_changed_keys"  # temporary: the key values a keyed model rebuilds in this step
_LEDGER = "audit.model_deliveries"  # which deliveries each keyed model has taken in


def _staged_deliveries_sql() -> str:
    """Every delivery with rows in a per-delivery (staging) model."""
    staged = [m.table for m in sql_models.discover() if m.incremental]
    return " union ".join(f"select distinct delivery_id from {t}" for t in staged)


def build_keyed(con, model: sql_models.SqlModel) -> tuple[int, str | None]:
    """Rebuild ``model`` for the keys touched by the deliveries it has not taken in yet, or whole.

    The deliveries not yet taken in are read from the ledger ``audit.model_deliveries`` (written in the same
    transaction as the rows), so a delivery left behind by a run that died is taken in by the next one. The
    keys are those of every staged row of those deliveries: a correction, a deletion or a late original
    rebuilds its trajectory from all its rows, whatever their delivery. Whole when the table is missing or
    its rules changed (the fingerprint kept as the table's comment). Returns (rows written, the temporary
    table of the keys rebuilt; None = the whole table was written).
    """
    fingerprint = "rules " + rules_fingerprint(model)
    schema, name = model.table.split(".")
    con.execute(f"create table if not exists {_LEDGER} (model varchar not null, delivery_id varchar not null)")
    stored = con.execute(
        "select comment from duckdb_tables() where database_name = current_database() and schema_name = ? and table_name = ?",
        [schema, name],
    ).fetchone()
    keys = ", ".join(model.keys)
    staged = _staged_deliveries_sql()
    if stored is not None and stored[0] == fingerprint:
        con.execute(
            f"create or replace temp table rmj_pending_deliveries as ({staged}) "
            f"except select delivery_id from {_LEDGER} where model = ?",
            [model.table],
        )
        con.execute(
            f"create or replace temp table {_CHANGED_KEYS} as "
            + " union ".join(
                f"select {keys} from {m.table} where delivery_id in (select delivery_id from rmj_pending_deliveries)"
                for m in sql_models.discover() if m.incremental
            )
        )
        rows = sql_models.run_model(con, model, keys_table=_CHANGED_KEYS, also=(
            (f"insert into {_LEDGER} select ?, delivery_id from rmj_pending_deliveries", [model.table]),
        ))
        return rows, _CHANGED_KEYS
    rows = sql_models.run_model(con, model, also=(
        (f"delete from {_LEDGER} where model = ?", [model.table]),
        (f"insert into {_LEDGER} select ?, delivery_id from ({staged})", [model.table]),
    ))
    con.execute(f"comment on table {model.table} is '{fingerprint}'")
    return rows, None


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


def build_sql_asset(model: sql_models.SqlModel) -> dg.AssetsDefinition:
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
        code_version=hashlib.sha256(model.sql.encode()).hexdigest()[:12],
        metadata={"dagster/table_name": model.table, "sql_file": f"dbt_like_sql/{model.layer}/{model.name}.sql"},
        check_specs=[identifier_scan.spec(key, [model.table]), *([grain_spec(key, model)] if model.grain else [])],
    )
    def _sql_asset(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        # one period, or each period of a range run (the CBS half-years a delivery run changed, in one run)
        periods = [period_of(model, k) for k in context.partition_keys] if partitions_def else []
        labels = [p["period"] for p in periods]
        written = None  # the rows this step wrote, as a filter for the identifier scan (None = all)
        delivery_ids = None
        keys_table = None
        touched = {}  # the periods the rows this step rebuilt fall in (none said: the whole table, every period)
        with warehouse.connect() as con:
            if model.incremental:
                rows, delivery_ids = build_incremental(con, model, deliveries_of_run(context))
                if delivery_ids is not None:
                    written = identifier_scan.rows_in("delivery_id", delivery_ids)
            elif model.keys:
                rows, keys_table = build_keyed(con, model)
                if keys_table is not None:
                    written = f"exists (select 1 from {keys_table} where {sql_models.key_match(model.keys, model.table, keys_table)})"
                    touched = touched_periods.metadata(touched_periods.periods_of_keys(con, keys_table))
            elif periods:
                rows = sum(sql_models.run_model(con, model, **period) for period in periods)
                written = identifier_scan.rows_in("period", labels)
            else:
                rows = sql_models.run_model(con, model)
            metadata = table_metadata(con, model.table) | touched
            if model.name in _AFTER_BUILD:
                metadata |= _AFTER_BUILD[model.name](context, con)
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


def build_sql_assets() -> list[dg.AssetsDefinition]:
    return [build_sql_asset(m) for m in sql_models.discover()]
