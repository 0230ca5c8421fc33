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
    if _rules_current(con, model, fingerprint):
        # also any delivery loaded by an earlier run that died before staging it (never left behind)
        delivery_ids = sorted(set(delivery_ids) | set(_unstaged(con, model)))
        if not delivery_ids:
            return 0, []  # nothing to write: no transaction, no pass over the table or its sources
        return sql_models.run_model(con, model, delivery_ids=delivery_ids), delivery_ids
    rows = sql_models.run_model(con, model)  # every delivery, under the current rules
    con.execute(f"comment on table {model.table} is '{fingerprint}'")
    return rows, None


def _rules_current(con, model: sql_models.SqlModel, fingerprint: str) -> bool:
    """Whether the model's table exists and was last built whole under the rules ``fingerprint`` names."""
    schema, name = model.table.split(".")
    stored = con.execute(
        "select comment from duckdb_tables() where database_name = current_database() and schema_name = ? and table_name = ?",
        [schema, name],
    ).fetchone()
    return stored is not None and stored[0] == fingerprint


def _unstaged(con, model: sql_models.SqlModel) -> list[str]:
    """The deliveries in the per-delivery model's sources (``pseudo.*``) that its table does not hold."""
    sources = [t for t in model.upstream_tables if t.startswith("pseudo.")]
    return [d for (d,) in con.execute(
        " union ".join(f"select distinct delivery_id from {t}" for t in sources)
        + f" except select distinct delivery_id from {model.table}"
    ).fetchall()]


def has_work(con, model: sql_models.SqlModel) -> bool:
    """Whether building ``model`` without new deliveries would write anything: a model built whole always
    does; a per-delivery or keyed one only when its table is missing, its rules changed, or a delivery it has
    not taken in is there (a run that died). False proves its step would write, scan and report nothing."""
    if not (model.incremental or model.keys):
        return True
    if not _rules_current(con, model, "rules " + rules_fingerprint(model)):
        return True
    if model.incremental:
        return bool(_unstaged(con, model))
    schema, name = _LEDGER.split(".")
    if not con.execute("select count(*) from duckdb_tables() where database_name = current_database() "
                       "and schema_name = ? and table_name = ?", [schema, name]).fetchone()[0]:
        return True
    return bool(con.execute(f"select count(*) from ({_pending_sql()})", [model.table]).fetchone()[0])


_CHANGED_KEYS = "rmj_changed_keys"  # temporary: the key values a keyed model rebuilds in this step
_LEDGER = "audit.model_deliveries"  # which deliveries each keyed model has taken in


def _staged_deliveries_sql() -> str:
    """Every delivery with rows in a per-delivery (staging) model."""
    staged = [m.table for m in sql_models.discover() if m.incremental]
    return " union ".join(f"select distinct delivery_id from {t}" for t in staged)


def _pending_sql() -> str:
    """The staged deliveries the keyed model (parameter: its table) has not taken in yet, per the ledger."""
    return f"({_staged_deliveries_sql()}) except select delivery_id from {_LEDGER} where model = ?"


def touched_keys_sql(model: sql_models.SqlModel, deliveries: str) -> str:
    """The key values a keyed ``model`` rebuilds for the deliveries ``deliveries`` (SQL of their delivery_ids):
    those of every staged row of theirs, so a correction, a deletion or a late original rebuilds its
    trajectory from all its rows, whatever their delivery."""
    keys = ", ".join(model.keys)
    return " union ".join(f"select {keys} from {m.table} where delivery_id in ({deliveries})"
                          for m in sql_models.discover() if m.incremental)


def build_keyed(con, model: sql_models.SqlModel) -> tuple[int, str | None]:
    """Rebuild ``model`` for the keys touched by the deliveries it has not taken in yet, or whole.

    The deliveries not yet taken in are read from the ledger ``audit.model_deliveries`` (written in the same
    transaction as the rows), so a delivery left behind by a run that died is taken in by the next one. The
    keys: :func:`touched_keys_sql`. Whole when the table is missing or
    its rules changed (the fingerprint kept as the table's comment). Returns (rows written, the temporary
    table of the keys rebuilt; None = the whole table was written).
    """
    fingerprint = "rules " + rules_fingerprint(model)
    con.execute(f"create table if not exists {_LEDGER} (model varchar not null, delivery_id varchar not null)")
    staged = _staged_deliveries_sql()
    if _rules_current(con, model, fingerprint):
        con.execute(f"create or replace temp table rmj_pending_deliveries as {_pending_sql()}", [model.table])
        con.execute(f"create or replace temp table {_CHANGED_KEYS} as "
                    + touched_keys_sql(model, "select delivery_id from rmj_pending_deliveries"))
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


def state(con, model: sql_models.SqlModel, without: list[str] | tuple[str, ...] = ()) -> str | None:
    """What a keyed model's rows are a function of: the rules they were built under (the table's comment)
    and the deliveries taken in (the ledger). The same state means the same rows; None for other models.
    ``without``: the state as it was before the table took in those deliveries (under the same rules)."""
    if not model.keys:
        return None
    schema, name = model.table.split(".")
    return con.execute(
        "select (select comment from duckdb_tables() where database_name = current_database() "
        "and schema_name = ? and table_name = ?) || ' ' || ?",
        [schema, name, taken_in(con, model, without)],
    ).fetchone()[0]


def taken_in(con, model: sql_models.SqlModel, without: list[str] | tuple[str, ...] = ()) -> str:
    """A digest of the deliveries the keyed model has taken in (but ``without``); '' when none. Fetched whole,
    so the connection can take a relation (``con.sql``) next: DuckDB refuses one after a result half fetched."""
    return con.execute(
        f"select coalesce(md5(string_agg(delivery_id, ',' order by delivery_id)), '') from {_LEDGER} "
        "where model = ? and not list_contains(?, delivery_id)", [model.table, list(without)]).fetchall()[0][0]

