"""The delivery sensor: turns complete files in ``incoming/`` into delivery partitions and one run.

A file is complete when a ``<name>.done`` marker stands beside it, or when its size and mtime were the
same at the previous tick (so a file still being written is left alone). The cursor holds only file
state (name → size, mtime), never the wall clock. Same bytes = same delivery: the partition key is the
content hash. The sensor never opens the warehouse and never lets one bad file stop the others.
"""

import hashlib
import json
import os
from dataclasses import dataclass, field

import dagster as dg

from rmj_dagster.landing import FileState, LandingZone, delivery_id_of, sha256_of
from rmj_dagster.partitions import deliveries, range_tags
from rmj_dagster.settings import DEFAULT_LANDING_DIR, ENV_LANDING_DIR

DELIVERY_JOB_NAME = "deliveries_job"


@dataclass
class Plan:
    """What one tick decided: the files to request, the cursor to keep, what it skipped and why."""

    ready: list[tuple[FileState, str]] = field(default_factory=list)  # (file, sha256)
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
    return {"pending": dict(cursor.get("pending", {})), "requested": dict(cursor.get("requested", {}))}


def plan_tick(zone: LandingZone, cursor: dict) -> Plan:
    """Decide which files are complete and new. Pure apart from reading the landing zone."""
    plan = Plan()
    pending_before, requested_before = cursor["pending"], cursor["requested"]
    pending, requested = {}, {}
    for state in zone.scan():
        seen = [state.size, state.mtime_ns]
        if requested_before.get(state.name) == seen:
            requested[state.name] = seen  # already asked for; the run will move it out of incoming
            continue
        if not (zone.has_done_marker(state.name) or pending_before.get(state.name) == seen):
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
    plan.cursor = {"pending": pending, "requested": requested}
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
    plan = plan_tick(zone, load_cursor(context.cursor))
    if not plan.ready:
        waiting = f"; waiting for {len(plan.waiting)} file(s) to finish" if plan.waiting else ""
        context.update_cursor(json.dumps(plan.cursor, sort_keys=True))
        return dg.SkipReason(f"no complete new deliveries{waiting}")
    known = set(context.instance.get_dynamic_partitions(deliveries.name))
    keys: list[str] = []
    for _, sha in plan.ready:
        key = delivery_id_of(sha)
        if key not in keys:
            keys.append(key)
    new_keys = [k for k in keys if k not in known]
    runs = []
    if new_keys:  # added together, so contiguous at the end of the partition list: one run for all
        new_states = [(s, sha) for s, sha in plan.ready if delivery_id_of(sha) in new_keys]
        runs.append(
            dg.RunRequest(
                run_key=_run_key([sha for _, sha in new_states], [s for s, _ in new_states]),
                partition_key=new_keys[0] if len(new_keys) == 1 else None,
                tags=range_tags(new_keys) if len(new_keys) > 1 else {},
            )
        )
    for state, sha in plan.ready:  # known bytes dropped again: the run records the copy as a duplicate
        if delivery_id_of(sha) in known:
            runs.append(dg.RunRequest(run_key=f"{sha}:{state.name}:{state.mtime_ns}", partition_key=delivery_id_of(sha)))
    context.log.info(f"{len(plan.ready)} complete file(s): {len(new_keys)} new delivery(ies), {len(keys) - len(new_keys)} known")
    return dg.SensorResult(
        run_requests=runs,
        dynamic_partitions_requests=[deliveries.build_add_request(new_keys)] if new_keys else [],
        cursor=json.dumps(plan.cursor, sort_keys=True),
    )

