"""The delivery sensor: turns complete files in ``incoming/`` into delivery partitions and one run.

One deliveries run at a time, never one per file. A tick requests nothing while a deliveries run is
queued or running; otherwise it requests at most one run, covering every complete new file, every
file a failed run left in ``incoming/`` and every delivery a failed or killed run left claimed in
``received/``. After failed deliveries runs it backs off (1, 2, 4 … minutes, counted from the end of
the last failed run, at most 30), and it gives an item up after ``MAX_ATTEMPTS`` runs (a skip reason
names them) until its bytes change. So a warehouse held by an analyst costs a bounded number of runs.

What is complete, and in which order files arrived, is the landing zone's rule
(``intake/landing_zone.py``), the same one ``rmj process`` applies. The cursor holds file states and
run keys, never the wall clock; same bytes = same delivery (the partition key ends in the content hash's
delivery id, ``intake/partition_keys.py``; its readable prefix is read from a new file's head only).
The sensor never opens the warehouse and never lets one bad file stop the others. Without a usable
pseudonym key it requests no run (each would fail at its first step and hold the warehouse) and its
skip reason says why and what to do; after a run found the warehouse damaged it requests none either
(each would fail the same way) until the warehouse file is replaced, and says so with the restore steps.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from rmj_dagster.intake.landing_zone import (
    PARTIAL_GRACE,
    FileState,
    LandingZone,
    delivery_id_of,
    not_deliveries_message,
    quiet_since,
    sha256_of,
    unreadable_message,
)
from rmj_dagster.intake.partition_keys import DeliveryKeys
from rmj_dagster.partitions import carried_from, deliveries, one_run_over
from rmj_dagster.resources import LandingZoneResource
from rmj_dagster.settings import ENV_RETRY_BACKOFF, ENV_SENSOR_INTERVAL, ENV_WAREHOUSE, seconds, settle_seconds, value

DELIVERY_JOB_NAME = "deliveries_job"
MAX_ATTEMPTS = 3
BACKOFF_SECONDS = 60.0  # after the first failed run; doubles per failure in a row (RMJ_RETRY_BACKOFF_SECONDS)
MAX_BACKOFF_SECONDS = 1800.0
CURSOR_VERSION = 4  # 4: keyed by file token (inode and the name's keyed tag); 3 by inode and a cleaned name,
# 1 and 2 by the name as received (files of an older cursor are looked at anew)
RUN_KEY_TAG = "dagster/run_key"
RETRY_TAG = "rmj/retry"  # "true" on a run that requests again what an earlier run left behind
FINISH_TAG = "rmj/finishes"  # on a run that finishes the chain after a deliveries run that failed: that run's id
_UNFINISHED = [
    dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING,
]


@dataclass
class Requested:
    """A file put in a run: its state then, the run's key and how many runs it has been in."""

    size: int
    mtime_ns: int
    run_key: str | None = None
    attempts: int = 1


@dataclass
class DeliveryCursor:
    """What the sensor keeps between ticks (JSON, versioned), keyed by each file's token (inode and the
    keyed tag of its name, ``FileState.token``), never the name as received. Version 1 held the same facts as lists:
    ``requested: {name: [size, mtime, run key, attempts]}``; it still loads."""

    pending: dict[str, list[int]] = field(default_factory=dict)  # name -> [size, mtime] at the last look
    requested: dict[str, Requested] = field(default_factory=dict)
    claims: dict[str, int] = field(default_factory=dict)  # delivery id left in received/ -> runs requested
    version: int = CURSOR_VERSION

    @classmethod
    def load(cls, text: str | None) -> DeliveryCursor:
        """Never raises: a missing or garbled cursor is an empty one (files are then looked at anew)."""
        try:
            raw = json.loads(text) if text else {}
        except ValueError:
            raw = {}
        if not isinstance(raw, dict):
            raw = {}
        cursor = cls()
        for name, look in _mapping(raw.get("pending")).items():
            if _ints(look, 2):
                cursor.pending[name] = [int(look[0]), int(look[1])]
        for name, entry in _mapping(raw.get("requested")).items():
            if isinstance(entry, dict) and _ints([entry.get("size"), entry.get("mtime_ns")], 2):
                cursor.requested[name] = Requested(int(entry["size"]), int(entry["mtime_ns"]), entry.get("run_key"),
                                                   int(entry.get("attempts") or 1))
            elif isinstance(entry, list) and _ints(entry, 2):  # version 1: [size, mtime, run key?, attempts?]
                cursor.requested[name] = Requested(int(entry[0]), int(entry[1]), entry[2] if len(entry) > 2 else None,
                                                   int(entry[3]) if len(entry) > 3 and entry[3] else 1)
        cursor.claims = {k: int(n) for k, n in _mapping(raw.get("claims")).items() if isinstance(n, int)}
        return cursor

    def dump(self) -> str:
        return json.dumps(asdict(self) | {"version": CURSOR_VERSION}, sort_keys=True)


def _mapping(value) -> dict:
    return value if isinstance(value, dict) else {}


def _ints(values, n: int) -> bool:
    return isinstance(values, list | tuple) and len(values) >= n and all(isinstance(v, int) for v in values[:n])


@dataclass
class Plan:
    """What one tick found: files to request (new or again), what waits or was given up, the next cursor."""

    new: list[tuple[FileState, str]] = field(default_factory=list)  # (file, sha256), complete and never requested
    again: list[tuple[FileState, str, int]] = field(default_factory=list)  # left in incoming/ by an ended run: attempts so far
    given_up: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    in_flight: list[str] = field(default_factory=list)  # requested, their run still to come or under way
    cursor: DeliveryCursor = field(default_factory=DeliveryCursor)


def plan_tick(zone: LandingZone, cursor: DeliveryCursor, run_ended=lambda run_key: False) -> Plan:
    """Sort the files in ``incoming/`` by what is due. Pure apart from looking at the landing zone and
    asking ``run_ended(run_key)`` whether the run a file was put in has ended (then it may be due again)."""
    plan = Plan(cursor=DeliveryCursor(claims=dict(cursor.claims)))
    states = zone.scan()
    earlier = {key: [r.size, r.mtime_ns] for key, r in cursor.requested.items()} | cursor.pending
    # a cursor of version 1 or 2 was keyed by the name as received: read it by name once, keep it by token
    earlier |= {s.token: earlier[s.name] for s in states if s.name in earlier and s.token not in earlier}
    complete, waiting = zone.complete(states, earlier, quiet_since(settle_seconds()))
    for state in waiting:
        plan.cursor.pending[state.token] = list(state.look)
        plan.waiting.append(state.token)
    for state in complete:
        before = cursor.requested.get(state.token) or cursor.requested.get(state.name)
        if before and (before.size, before.mtime_ns) == state.look:
            if before.run_key is None or not run_ended(before.run_key):
                plan.cursor.requested[state.token] = before  # its run is still to come or under way
                plan.in_flight.append(state.token)
                continue
            if before.attempts >= MAX_ATTEMPTS:
                plan.cursor.requested[state.token] = before
                plan.given_up.append(state.label)
                continue
        try:
            sha = sha256_of(zone.incoming / state.name)
        except OSError as error:  # gone, or not readable by this service; looked at again next tick
            if isinstance(error, PermissionError):
                plan.unreadable.append(state.label)  # reported: only a person can make it readable
            plan.cursor.pending[state.token] = list(state.look)
            continue
        if before and (before.size, before.mtime_ns) == state.look:
            plan.again.append((state, sha, before.attempts))
            plan.cursor.requested[state.token] = before
        else:
            plan.new.append((state, sha))
            plan.cursor.pending[state.token] = list(state.look)  # until a run is requested for it
    return plan


@dg.sensor(
    name="delivery_sensor",
    job_name=DELIVERY_JOB_NAME,
    minimum_interval_seconds=int(seconds(ENV_SENSOR_INTERVAL, 30)),  # shorter only in simulations and tests
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Watches RMJ_LANDING_DIR/incoming for complete deliveries; at most one deliveries run at a time, "
        "covering every new file and every retry, with backoff after failed runs."
    ),
)
def delivery_sensor(context: dg.SensorEvaluationContext, landing: LandingZoneResource) -> dg.SensorResult | dg.SkipReason:
    zone = LandingZone(landing.root)
    _reclaim_dead_runs(context)  # a killed run must neither hold the pool nor count as under way
    runs = _DeliveryRuns(context.instance)
    plan = plan_tick(zone, DeliveryCursor.load(context.cursor), runs.ended)
    cursor = plan.cursor
    claims = zone.pending_claims()
    for key in [k for k in cursor.claims if k not in claims]:
        del cursor.claims[key]  # finished since: forget it
    claims_due = [k for k in claims if cursor.claims.get(k, 0) < MAX_ATTEMPTS]
    claims_given_up = [k for k in claims if k not in claims_due]
    others = zone.not_deliveries(datetime.now(UTC).replace(tzinfo=None), PARTIAL_GRACE)
    if others:
        context.log.warning(not_deliveries_message(others))
    if plan.unreadable:
        context.log.warning(unreadable_message(plan.unreadable))
    notes = _notes(plan, claims_given_up) + (f"; {not_deliveries_message(others)}" if others else "")

    due = bool(plan.new or plan.again or claims_due)
    unusable = key_problem()
    if unusable:  # a run would fail at its first step and hold the warehouse: request none, say why
        context.update_cursor(cursor.dump())  # new files stay pending, not requested: taken once the key is fixed
        waiting_for_key = len(plan.new) + len(plan.again) + len(claims_due)
        context.log.warning(f"no deliveries run requested: {unusable}")
        return dg.SkipReason(f"no deliveries run requested ({waiting_for_key} delivery(ies) wait): {unusable}" + notes)
    damage = runs.damage(Path(value(ENV_WAREHOUSE)))
    if damage:  # every run would fail opening it, and each retry would only feed the backoff: say so instead
        context.update_cursor(cursor.dump())
        context.log.warning(f"no deliveries run requested: {damage}")
        return dg.SkipReason(f"no deliveries run requested: {damage}" + notes)
    holdup = runs.holdup() if due else None
    if not due and not plan.in_flight and not claims and not plan.given_up:
        failed = runs.left_unfinished()
        if failed is not None and not runs.holdup():  # died after its deliveries were loaded: nothing new would ask again
            finish = _chain_after_intake(failed)
            context.log.warning(f"deliveries run {failed.run_id[:8]} failed after its deliveries left incoming/; "
                                "requesting the rest of the chain (staging to marts, monitor, snapshot"
                                f"{', the outcome of its deliveries' if finish.partition_key or finish.tags else ''}) again")
            return dg.SensorResult(run_requests=[dg.RunRequest(
                run_key=f"finish:{failed.run_id}", asset_selection=finish.asset_selection, partition_key=finish.partition_key,
                tags={FINISH_TAG: failed.run_id} | finish.tags)], cursor=cursor.dump())
    if not due or holdup:
        context.update_cursor(cursor.dump())
        return dg.SkipReason((holdup or "no complete new deliveries") + notes)

    known = runs.partitions()
    keys_of = DeliveryKeys(known)  # a delivery known by its id keeps its key: same bytes = same delivery
    items: list[tuple[str, str]] = []  # (partition key, what it is), in the order the pipeline saw them
    for delivery_id in claims_due:
        items.append((keys_of.of_claim(zone, delivery_id), f"claim:{delivery_id}:{cursor.claims.get(delivery_id, 0) + 1}"))
    for state, sha, attempts in plan.again:
        items.append((keys_of.of_file(zone.incoming / state.name, state.received_at, delivery_id_of(sha)),
                      f"{sha}:{state.token}:{state.mtime_ns}:{attempts + 1}"))
    for state, sha in plan.new:
        items.append((keys_of.of_file(zone.incoming / state.name, state.received_at, delivery_id_of(sha)),
                      f"{sha}:{state.token}:{state.mtime_ns}"))
    keys = list(dict.fromkeys(key for key, _ in items))
    new_keys = [k for k in keys if k not in known]
    carried = carried_from(runs.left_unfinished())  # a failed run's deliveries: reported by this run too
    partition_key, range_tags = one_run_over([*[k for k in carried if k in known], *keys], known)
    retry = bool(plan.again or claims_due)
    if len(plan.new) == 1 and not retry and new_keys:
        run_key = plan.new[0][1]  # one new file: its content hash
    else:
        run_key = hashlib.sha256("\n".join(sorted(what for _, what in items)).encode()).hexdigest()
    tags = {RETRY_TAG: "true"} if retry else {}
    request = dg.RunRequest(run_key=run_key, partition_key=partition_key, tags=tags | range_tags)
    for key in claims_due:
        cursor.claims[key] = cursor.claims.get(key, 0) + 1
        context.log.warning(f"delivery {key} was left in received/ by a run that ended; requesting it again ({cursor.claims[key]}/{MAX_ATTEMPTS})")
    for state, _, attempts in plan.again:
        cursor.requested[state.token] = Requested(state.size, state.mtime_ns, run_key, attempts + 1)
    for state, _ in plan.new:
        cursor.pending.pop(state.token, None)
        cursor.requested[state.token] = Requested(state.size, state.mtime_ns, run_key, 1)
    context.log.info(
        f"one deliveries run over {len(keys)} delivery(ies): "
        f"{len(plan.new)} new file(s), {len(plan.again)} file(s) and {len(claims_due)} claim(s) again{notes}"
    )
    return dg.SensorResult(
        run_requests=[request],
        dynamic_partitions_requests=[deliveries.build_add_request(new_keys)] if new_keys else [],
        cursor=cursor.dump(),
    )


def key_problem(environ=None) -> str | None:
    """Why no deliveries run can use the pseudonym key the daemon was started with, and what to do; ``None``
    when it can. Reads the key as a run would (``PseudonymKey.from_env``: presence, length, label, file mode),
    never the warehouse; the refusal names variables and files, never the key or the label's value."""
    from rmj_dagster.ttp.pseudonym import KeyRefused, PseudonymKey

    try:
        PseudonymKey.from_env(environ)
    except KeyRefused as refused:
        return (f"the pseudonym key is not usable: {refused}. Fix it where the daemon gets it (deploy/rmj.env, the "
                "daemon unit's credential; docs/deployment.md, 'The pseudonym key') and restart the daemon; "
                "the files wait in incoming/")
    return None


def _notes(plan: Plan, claims_given_up: list[str]) -> str:
    notes = []
    if plan.waiting:
        notes.append(f"waiting for {len(plan.waiting)} file(s) to finish")
    if plan.given_up:
        notes.append(f"{len(plan.given_up)} file(s) left in incoming/ after {MAX_ATTEMPTS} runs: {', '.join(plan.given_up[:5])} (ls -i incoming/)")
    if plan.unreadable:
        notes.append(unreadable_message(plan.unreadable))
    if claims_given_up:
        notes.append(f"{len(claims_given_up)} claimed delivery(ies) failed {MAX_ATTEMPTS} times, see received/")
    return "".join(f"; {n}" for n in notes)
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


class _DeliveryRuns:
    """The run storage as the sensor asks it. An unreachable storage means "wait", never a crash."""

    def __init__(self, instance: dg.DagsterInstance):
        self.instance = instance

    def partitions(self) -> list[str]:
        return list(self.instance.get_dynamic_partitions(deliveries.name))

    def ended(self, run_key: str) -> bool:
        """Whether the run requested under ``run_key`` has ended (a run not launched yet has not)."""
        try:
            records = self.instance.get_run_records(filters=dg.RunsFilter(tags={RUN_KEY_TAG: run_key}), limit=1)
        except Exception:
            return False
        return bool(records) and records[0].dagster_run.status not in _UNFINISHED

    def left_unfinished(self) -> dg.DagsterRun | None:
        """The last deliveries run, when it failed and fewer than ``MAX_ATTEMPTS`` failed in a row: what it left
        after the TTP step (staging, reconciliation, the snapshot) is due again, once per failed run (its run key)."""
        try:
            recent = self.instance.get_run_records(filters=dg.RunsFilter(job_name=DELIVERY_JOB_NAME), limit=MAX_ATTEMPTS)
        except Exception:
            return None
        if not recent or recent[0].dagster_run.status != dg.DagsterRunStatus.FAILURE:
            return None
        if len(recent) == MAX_ATTEMPTS and all(r.dagster_run.status == dg.DagsterRunStatus.FAILURE for r in recent):
            return None  # given up, as for files: a person looks at the failed runs
        return recent[0].dagster_run

    def damage(self, warehouse: Path) -> str | None:
        """What the last deliveries run said when it failed on a damaged warehouse (``WarehouseDamaged``), while
        the warehouse file is the same one (not replaced or changed since that run ended: its ctime); else ``None``."""
        from rmj_dagster.warehouse import WarehouseDamaged

        try:
            records = self.instance.get_run_records(filters=dg.RunsFilter(job_name=DELIVERY_JOB_NAME), limit=1)
            last = records[0] if records else None
            if last is None or last.dagster_run.status != dg.DagsterRunStatus.FAILURE or last.end_time is None:
                return None
            if not warehouse.exists() or warehouse.stat().st_ctime > last.end_time:
                return None  # restored, replaced or removed since: runs may try again
            failures = self.instance.all_logs(last.dagster_run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
        except Exception:  # the run storage unreachable this tick: holdup() says so
            return None
        for event in failures:
            error = event.dagster_event.step_failure_data.error if event.dagster_event else None
            while error is not None:
                if error.cls_name == WarehouseDamaged.__name__:
                    return (f"deliveries run {last.dagster_run.run_id[:8]} failed: {error.message.split(': ', 1)[-1].strip()} "
                            "The sensor requests runs again once the warehouse file is replaced; the files wait in incoming/")
                error = error.cause
        return None

    def holdup(self, now: float | None = None) -> str | None:
        """Why no deliveries run may be requested now: one is queued or running, or the backoff after
        failed ones has not passed (measured from the end of the last failed run)."""
        try:
            recent = self.instance.get_run_records(filters=dg.RunsFilter(job_name=DELIVERY_JOB_NAME), limit=MAX_ATTEMPTS + 1)
            busy = self.instance.get_run_records(
                filters=dg.RunsFilter(job_name=DELIVERY_JOB_NAME, statuses=_UNFINISHED), limit=1)
        except Exception as error:  # the run storage unreachable this tick
            return f"run storage unavailable ({type(error).__name__}); trying again next tick"
        if busy:
            return f"a deliveries run ({busy[0].dagster_run.run_id[:8]}) is queued or running; new files wait for it"
        failures = 0
        for record in recent:
            if record.dagster_run.status != dg.DagsterRunStatus.FAILURE:
                break
            failures += 1
        if not failures or recent[0].end_time is None:
            return None
        wait = backoff_seconds(failures)
        left = recent[0].end_time + wait - (time.time() if now is None else now)
        if left > 0:
            return f"{failures} deliveries run(s) failed in a row; backing off, next try in {left:.0f} s"
        return None


def _chain_after_intake(failed: dg.DagsterRun):
    from rmj_dagster.assets.intake.jobs import chain_after_intake
    from rmj_dagster.definitions import defs

    return chain_after_intake(defs, failed)


def backoff_seconds(failures: int) -> float:
    """How long after the ``failures``-th failed deliveries run in a row the next one may start."""
    return min(seconds(ENV_RETRY_BACKOFF, BACKOFF_SECONDS) * 2 ** (failures - 1), MAX_BACKOFF_SECONDS)
