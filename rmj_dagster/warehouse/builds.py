"""How a SQL model's table is rebuilt: whole, for the run's deliveries only, or for the keys they touched.

The build strategies the model assets call; a table's rules fingerprint (kept as its comment) says when a
change to its SQL, the macros or the codebook rebuilds it whole.
"""

from __future__ import annotations

import hashlib

from rmj_dagster.partitions import half_year_bounds, year_bounds
from rmj_dagster.warehouse import sql_models


def period_of(model: sql_models.SqlModel, partition_key: str) -> dict:
    """The period parameters of a partitioned model's build: its label (``2025-H2``, ``2025``) and bounds."""
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
        digest.update(upstream.rules.encode())
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
