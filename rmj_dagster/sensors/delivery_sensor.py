"""The delivery sensor: turns complete files in ``incoming/`` into delivery partitions and one run.

A file is complete when a ``<name>.done`` marker stands beside it, or when its size and mtime were the
same at the previous tick (so a file still being written is left alone). The cursor holds only file
state (name → size, mtime, the run key it was requested under, attempts), never the wall clock. Same
bytes = same delivery: the partition key is the content hash. The sensor never opens the warehouse and
never lets one bad file stop the others.

Nothing is stranded by a failed run: a file whose run ended without taking it from ``incoming/``, and a
delivery a run claimed into ``received/`` and did not finish, are requested again (at most
``MAX_ATTEMPTS`` times in all, each attempt only after the previous run ended), so a passing fault heals
without a tight retry loop and a lasting one shows as a skip reason.
"""

import hashlib
import json
import os
from dataclasses import dataclass, field

import dagster as dg

from rmj_dagster.intake.landing_zone import FileState, LandingZone, delivery_id_of, sha256_of
from rmj_dagster.partitions import deliveries, range_tags
from rmj_dagster.settings import DEFAULT_LANDING_DIR, ENV_LANDING_DIR

DELIVERY_JOB_NAME = "deliveries_job"
MAX_ATTEMPTS = 3
RUN_KEY_TAG = "dagster/run_key"
_UNFINISHED = [
    dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING,
]


@dataclass
class Plan:
    """What one tick decided: the files to request, the cursor to keep, what it skipped and why."""

    ready: list[tuple[FileState, str]] = field(default_factory=list)  # (file, sha256)
    requested_before: dict = field(default_factory=dict)  # name -> [size, mtime, run key, attempts]
    cursor: dict = field(default_factory=dict)
    waiting: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)


def load_cursor(text: str | None) -> dict:
    try:
        cursor = json.loads(text) if text else {}
    except ValueError:
        cursor = {}
    if not isinstance(cursor, dict):
        cursor = {}
    return {
        "pending": dict(cursor.get("pending", {})),
        "requested": dict(cursor.get("requested", {})),
        "claims": dict(cursor.get("claims", {})),
    }


def plan_tick(zone: LandingZone, cursor: dict, run_ended=lambda run_key: False) -> Plan:
    """Decide which files are complete and new. Pure apart from reading the landing zone and asking
    ``run_ended(run_key)`` whether the run a file was requested under has ended (then it is due again)."""
    plan = Plan()
    pending_before, requested_before = cursor["pending"], cursor["requested"]
    pending, requested = {}, {}
    for state in zone.scan():
        seen = [state.size, state.mtime_ns]
        earlier = requested_before.get(state.name)
        if earlier and earlier[:2] == seen:
            run_key = earlier[2] if len(earlier) > 2 else None
            attempts = earlier[3] if len(earlier) > 3 else 1
            if run_key is None or attempts >= MAX_ATTEMPTS or not run_ended(run_key):
                requested[state.name] = earlier  # its run is still to come or under way (or given up)
                continue
            plan.requested_before[state.name] = earlier  # its run ended and left it here: request again
        elif not (zone.has_done_marker(state.name) or pending_before.get(state.name) == seen):
            pending[state.name] = seen
            plan.waiting.append(state.name)
            continue
        try:
            sha = sha256_of(zone.incoming / state.name)
        except OSError:
            plan.unreadable.append(state.name)  # gone or locked; looked at again next tick
            continue
        plan.ready.append((state, sha))
        requested[state.name] = seen
    plan.cursor = {"pending": pending, "requested": requested, "claims": dict(cursor.get("claims", {}))}
    return plan


def _run_key(shas: list[str], states: list[FileState]) -> str:
    if len(shas) == 1:
        return shas[0]
    parts = sorted(f"{sha}:{s.name}:{s.mtime_ns}" for sha, s in zip(shas, states))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@dg.sensor(
    name="delivery_sensor",
    job_name=DELIVERY_JOB_NAME,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Watches RMJ_LANDING_DIR/incoming for complete deliveries and requests one run over all new ones.",
)
def delivery_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    zone = LandingZone(os.environ.get(ENV_LANDING_DIR) or DEFAULT_LANDING_DIR)
    _reclaim_dead_runs(context)
    busy = _delivery_run_unfinished(context.instance)
    plan = plan_tick(zone, load_cursor(context.cursor), lambda run_key: _run_ended(context.instance, run_key))
    ordered = list(context.instance.get_dynamic_partitions(deliveries.name))
    known = set(ordered)
    runs = [] if busy else _retry_claims(zone, plan, ordered, context)
    if not plan.ready and not runs:
        waiting = f"; waiting for {len(plan.waiting)} file(s) to finish" if plan.waiting else ""
        given_up = [k for k, n in plan.cursor["claims"].items() if n >= MAX_ATTEMPTS and k in zone.pending_claims()]
        stuck = f"; {len(given_up)} claimed delivery(ies) failed {MAX_ATTEMPTS} times, see received/" if given_up else ""
        context.update_cursor(json.dumps(plan.cursor, sort_keys=True))
        return dg.SkipReason(f"no complete new deliveries{waiting}{stuck}")
    keys: list[str] = []
    for _, sha in plan.ready:
        key = delivery_id_of(sha)
        if key not in keys:
            keys.append(key)
    new_keys = [k for k in keys if k not in known]
    if new_keys:  # added together, so contiguous at the end of the partition list: one run for all
        new_states = [(s, sha) for s, sha in plan.ready if delivery_id_of(sha) in new_keys]
        run_key = _run_key([sha for _, sha in new_states], [s for s, _ in new_states])
        runs.append(
            dg.RunRequest(
                run_key=run_key,
                partition_key=new_keys[0] if len(new_keys) == 1 else None,
                tags=range_tags(new_keys) if len(new_keys) > 1 else {},
            )
        )
        for state, _ in new_states:
            plan.cursor["requested"][state.name] = [state.size, state.mtime_ns, run_key, 1]
    for state, sha in plan.ready:  # known bytes dropped again (a copy, or a file its run left behind)
        if delivery_id_of(sha) in known:
            attempts = plan.requested_before.get(state.name, [None] * 4)[3] or 0
            run_key = f"{sha}:{state.name}:{state.mtime_ns}" + (f":attempt{attempts + 1}" if attempts else "")
            runs.append(dg.RunRequest(run_key=run_key, partition_key=delivery_id_of(sha)))
            plan.cursor["requested"][state.name] = [state.size, state.mtime_ns, run_key, attempts + 1]
    context.log.info(f"{len(plan.ready)} complete file(s): {len(new_keys)} new delivery(ies), {len(keys) - len(new_keys)} known; {len(runs)} run(s)")
    return dg.SensorResult(
        run_requests=runs,
        dynamic_partitions_requests=[deliveries.build_add_request(new_keys)] if new_keys else [],
        cursor=json.dumps(plan.cursor, sort_keys=True),
    )


def _reclaim_dead_runs(context) -> None:
    """Fail the runs of a killed ``rmj process`` and free the pool slots dead runs hold, so they neither
    block the next run nor count as under way (see ``rmj_dagster.local_instance``)."""
    from rmj_dagster.local_instance import reclaim_dead_runs

    try:
        reclaim_dead_runs(context.instance, log=context.log.warning)
    except Exception as error:  # never let the clean-up stop the sensor; tried again next tick
        context.log.warning(f"could not clean up after dead runs this tick: {error}")


def _delivery_run_unfinished(instance: dg.DagsterInstance) -> bool:
    try:
        records = instance.get_run_records(
            filters=dg.RunsFilter(job_name=DELIVERY_JOB_NAME, statuses=_UNFINISHED), limit=1
        )
    except Exception:  # the run storage unreachable this tick: assume busy, retry nothing
        return True
    return bool(records)


def _run_ended(instance: dg.DagsterInstance, run_key: str) -> bool:
    """Whether the run requested under ``run_key`` has ended (a run not launched yet has not)."""
    try:
        records = instance.get_run_records(filters=dg.RunsFilter(tags={RUN_KEY_TAG: run_key}), limit=1)
    except Exception:
        return False
    return bool(records) and records[0].dagster_run.status not in _UNFINISHED


def _retry_claims(zone: LandingZone, plan: Plan, ordered: list[str], context) -> list[dg.RunRequest]:
    """One run request over every delivery left in ``received/`` by a run that ended (none is unfinished
    now): a killed run leaves all its claims at once, and one run finishes them all, where a run per
    claim would fail its reconciliation check on the claims it does not cover."""
    claims = plan.cursor["claims"]
    position = {key: i for i, key in enumerate(ordered)}
    due = [key for key in zone.pending_claims() if key in position and claims.get(key, 0) < MAX_ATTEMPTS]
    for key in [k for k in claims if k not in zone.pending_claims()]:
        del claims[key]  # finished since: forget it
    if not due:
        return []
    due.sort(key=position.get)
    for key in due:
        claims[key] = claims.get(key, 0) + 1
    attempt = max(claims[key] for key in due)
    context.log.warning(
        f"{len(due)} delivery(ies) left in received/ by a run that ended; requesting them again in one run "
        f"(attempt {attempt}/{MAX_ATTEMPTS}): {', '.join(due)}"
    )
    # The range may span deliveries loaded earlier: for those the assets find nothing to do.
    run_key = "claims:" + hashlib.sha256("\n".join(due).encode()).hexdigest()[:16] + f":attempt{attempt}"
    if len(due) == 1:
        return [dg.RunRequest(run_key=f"claim:{due[0]}:attempt{attempt}", partition_key=due[0])]
    return [dg.RunRequest(run_key=run_key, tags=range_tags([due[0], due[-1]]))]
