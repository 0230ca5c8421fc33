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


def validation_stands(instance: dg.DagsterInstance, con) -> bool:
    """Whether the latest ``conforms_to_codebook`` passed over every row of the table as it is now (the same
    rules and deliveries taken in: ``builds.state``) under the suite as it is now: validating again would
    judge the same rows by the same suite. A validation of one run's deliveries proves it of no other rows."""
    record = instance.get_latest_asset_check_evaluation_record(CONFORMS_TO_CODEBOOK)
    evaluation = record.event.dagster_event.event_specific_data if record and record.event else None
    if not isinstance(evaluation, dg.AssetCheckEvaluation) or not evaluation.passed:  # none, or only planned
        return False
    said = {name: getattr(evaluation.metadata.get(name), "value", None) for name in ("suite_version", "table_state")}
    return said == {"suite_version": expectations.suite_version(), "table_state": builds.state(con, _cleaned_responses())}


@dg.asset_check(
    asset=asset_key("cleaned_responses"),
    blocking=True,
    pool="duckdb",
    description=(
        "Great Expectations: every cleaned answer, questionnaire and municipality is one the codebook allows. "
        "A delivery run validates the cleaned responses of its deliveries (earlier ones were validated by "
        "their own run); any other run, the full verification included, validates every row."
    ),
)
def conforms_to_codebook(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    columns = ", ".join([
        "aanbieder_agb", "pseudoniem", "gemeentecode", "vragenlijst", "invuldatum", "respondent_group", "care_type",
        *(f"q{i:02d}" for i in range(1, 11)),
    ])
    deliveries = deliveries_of_run(context)
    with warehouse.connect(read_only=True) as con:
        rows = con.sql(
            f"select {columns} from intermediate.cleaned_responses where $ids is null or list_contains($ids, delivery_id)",
            params={"ids": deliveries or None},
        ).to_arrow_table()
        # every row validated: the state of the table it validated (see validation_stands)
        state = {} if deliveries else {"table_state": builds.state(con, _cleaned_responses())}
    verified = (f"rows of intermediate.cleaned_responses from the run's {len(deliveries)} deliveries" if deliveries
                else "every row of intermediate.cleaned_responses (all periods)")
    return gx_result(expectations.validate(rows, "cleaned_responses", expectations.cleaned_responses_expectations),
                     rows.num_rows, verified, **state)
