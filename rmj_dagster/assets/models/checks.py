"""Checks of the models: every delivery reconciled, every cleaned answer one the codebook allows.

Blocking, and in the ``duckdb`` pool like every node that opens the warehouse (DuckDB lets one process hold
the file for writing; a read-only connection from another process blocks that writer)."""

import dagster as dg

from rmj_dagster.assets.asset_keys import asset_key
from rmj_dagster.assets.intake.delivery_observations import deliveries_of_run
from rmj_dagster.quality import expectations
from rmj_dagster.resources import Warehouse
from rmj_dagster.warehouse import builds, sql_models


@dg.asset_check(
    asset=asset_key("delivery_reconciliation"),
    blocking=True,
    pool="duckdb",
    description="Per delivery: rows read = rows accepted + rows rejected. Every row ends up in exactly one place.",
)
def every_row_accounted_for(warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        bad = con.execute(
            "select delivery_id, rows_read, rows_accepted, rows_rejected from intermediate.delivery_reconciliation "
            "where not reconciled order by delivery_id"
        ).fetchall()
        totals = con.execute(
            "select count(*), coalesce(sum(rows_read), 0), coalesce(sum(rows_accepted), 0), coalesce(sum(rows_rejected), 0) "
            "from intermediate.delivery_reconciliation"
        ).fetchone()
    return dg.AssetCheckResult(
        passed=not bad,
        metadata={
            "verified": f"every delivery so far: all {totals[0]} rows of intermediate.delivery_reconciliation",
            "deliveries": totals[0],
            "rows_read": totals[1],
            "rows_accepted": totals[2],
            "rows_rejected": totals[3],
            "deliveries_not_reconciled": len(bad),
            "examples": dg.MetadataValue.json([{"delivery": d, "read": r, "accepted": a, "rejected": j} for d, r, a, j in bad[:5]]),
        },
    )


def gx_result(outcome: expectations.Outcome, rows: int, verified: str, **more: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=outcome.success,
        metadata={
            "verified": verified,
            "rows_validated": rows,
            "expectations": outcome.evaluated,
            "suite_version": expectations.suite_version(),
            "failed_expectations": dg.MetadataValue.json(outcome.failures),
        } | more,
    )


CONFORMS_TO_CODEBOOK = dg.AssetCheckKey(asset_key("cleaned_responses"), "conforms_to_codebook")


def _cleaned_responses() -> sql_models.SqlModel:
    return next(m for m in sql_models.discover() if m.name == "cleaned_responses")


def _latest_passed(instance: dg.DagsterInstance, finished: bool = False) -> dict | None:
    """``suite_version`` and ``table_state`` of the latest ``conforms_to_codebook`` (``finished``: of the
    latest that ran to an end, not only planned, as a run's own is while it runs) when it passed, else None."""
    if finished:
        from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus as Status

        history = instance.event_log_storage.get_asset_check_execution_history(
            CONFORMS_TO_CODEBOOK, limit=1, status={Status.SUCCEEDED, Status.FAILED})
        record = history[0] if history else None
    else:
        record = instance.get_latest_asset_check_evaluation_record(CONFORMS_TO_CODEBOOK)
    evaluation = record.event.dagster_event.event_specific_data if record and record.event else None
    if not isinstance(evaluation, dg.AssetCheckEvaluation) or not evaluation.passed:  # none, or only planned
        return None
    return {name: getattr(evaluation.metadata.get(name), "value", None) for name in ("suite_version", "table_state")}


def validation_stands(instance: dg.DagsterInstance, con) -> bool:
    """Whether the latest ``conforms_to_codebook`` passed over every row of the table as it is now (the same
    rules and deliveries taken in: ``builds.state``) under the suite as it is now: validating again would
    judge the same rows by the same suite. A validation of one run's deliveries proves it of no other rows,
    unless every other row stood validated before that run (``_rest_stood``): then it records the state too."""
    return _latest_passed(instance) == {"suite_version": expectations.suite_version(),
                                        "table_state": builds.state(con, _cleaned_responses())}


def _rest_stood(instance: dg.DagsterInstance, con, model: sql_models.SqlModel, deliveries: list[str]) -> bool:
    """Whether every row of ``model`` this delivery run did not validate was validated before it (or there is
    none: the table holds this run's deliveries only): the latest validation passed over every row as the
    table then was, under this suite and the same rules, and the table has taken in only this run's
    deliveries since (its state without them is that state). A keyed build rewrites only the keys its new
    deliveries touch, and this run validated every row under them."""
    if builds.taken_in(con, model, without=deliveries) == "":
        return True
    before = _latest_passed(instance, finished=True)  # before this run's own
    return before == {"suite_version": expectations.suite_version(),
                      "table_state": builds.state(con, model, without=deliveries)}


def _changed_rows_sql(model: sql_models.SqlModel, columns: str) -> str:
    """The rows of ``model`` a delivery run (``$ids``) changed: its deliveries' rows and every row under a key
    (``-- incremental by key``) that any of its staged rows has, whatever their delivery (``builds.build_keyed``)."""
    touched = builds.touched_keys_sql(model, "select unnest($ids)")
    same_key = " and ".join(f"t.{k} = r.{k}" for k in model.keys)
    return (f"with touched as ({touched}) select {columns} from {model.table} r where list_contains($ids, r.delivery_id) "
            f"or exists (select 1 from touched t where {same_key})")


@dg.asset_check(
    asset=asset_key("cleaned_responses"),
    blocking=True,
    pool="duckdb",
    description=(
        "Great Expectations: every cleaned answer, questionnaire and municipality is one the codebook allows. "
        "A delivery run validates the cleaned responses it changed: those of its deliveries and every one under "
        "a key they touched (earlier ones were validated by their own run); any other run, the full "
        "verification included, validates every row."
    ),
)
def conforms_to_codebook(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    columns = ", ".join([
        "aanbieder_agb", "pseudoniem", "gemeentecode", "vragenlijst", "invuldatum", "respondent_group", "care_type",
        *(f"q{i:02d}" for i in range(1, 11)),
    ])
    deliveries = deliveries_of_run(context)
    model = _cleaned_responses()
    with warehouse.connect(read_only=True) as con:
        # A table that holds only the run's deliveries (its first run) was changed in every row: read whole,
        # without working out the keys they touched (0.25 -> 0.04 s CPU on the national responses).
        if deliveries and builds.taken_in(con, model, without=deliveries) != "":
            rows = con.sql(_changed_rows_sql(model, ", ".join(f"r.{c}" for c in columns.split(", "))),
                           params={"ids": deliveries}).to_arrow_table()
        else:
            rows = con.sql(f"select {columns} from {model.table}").to_arrow_table()
        # every row validated, now or (the rest) before: the state of the table it stands for (validation_stands)
        covered = not deliveries or _rest_stood(context.instance, con, model, deliveries)
        state = {"table_state": builds.state(con, model)} if covered else {}
    verified = (f"rows of intermediate.cleaned_responses the run's {len(deliveries)} deliveries changed "
                "(theirs and every row under a key they touched)" if deliveries
                else "every row of intermediate.cleaned_responses (all periods)")
    return gx_result(expectations.validate(rows, "cleaned_responses", expectations.cleaned_responses_expectations),
                     rows.num_rows, verified, **state)
