"""``rmj process``: run everything in the landing zone through the real Dagster jobs, in-process.

The same planning as the sensor (landing zone scan, content hash as delivery id, the same partition keys), the
same jobs and assets as a Dagster run: one run over all new deliveries, then what the automation conditions on the
assets request (``rmj_dagster/automation.py``, asked of Dagster as the daemon asks it), then the analysts'
snapshot. CEO years and other CBS half-years are published on purpose: ``publish``.
"""

from __future__ import annotations

import functools
import signal
import sys
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from rmj_dagster import local_instance, warehouse
from rmj_dagster.assets.asset_keys import PUBLICATION_CURRENT_CHECK, asset_key
from rmj_dagster.assets.intake.delivery_observations import LOADED_CHECK
from rmj_dagster.intake.landing_zone import (
    PARTIAL_GRACE,
    FirstLook,
    LandingZone,
    delivery_id_of,
    not_deliveries_message,
    sha256_of,
    unreadable_message,
)
from rmj_dagster.intake.partition_keys import DeliveryKeys
from rmj_dagster.intake.retention import destroy_expired_quarantine
from rmj_dagster.partitions import (
    add_ended_half_years,
    carried_from,
    deliveries,
    ended_half_years,
    half_year_bounds,
    half_year_of,
    half_years,
    one_run_over,
    range_tags,
    years,
)
from rmj_dagster.progress import Reporter, follow_run
from rmj_dagster.settings import Settings, settle_seconds
from rmj_dagster.ttp.pseudonym import PseudonymKey
from rmj_dagster.warehouse import ddl
from rmj_dagster.warehouse.periods import EVENT_DATES, periods_of_deliveries


def say(message: str) -> None:
    """A line for the operator on stderr, prefixed as every ``rmj`` message is (docs/operations.md lists them)."""
    print(f"rmj: {message}", file=sys.stderr)


class PipelineFailed(RuntimeError):
    """A Dagster run of the chain failed (bad input never causes this: it is quarantined or rejected)."""


@dataclass
class ProcessSummary:
    """What one ``rmj process`` did (deliveries, rows, quarantined files, publications: this run's only),
    then the totals over every delivery so far, labelled as such."""

    deliveries: dict[str, int] = field(default_factory=dict)  # this run: status -> count ("duplicate files" too)
    rows: dict[str, int] = field(default_factory=dict)  # this run's deliveries: read, accepted, rejected
    rejected_by_reason: list[tuple[str, int]] = field(default_factory=list)  # this run's deliveries
    quarantined: list[tuple[str, int, str]] = field(default_factory=list)  # this run: reason, files, files named
    totals: dict[str, dict[str, int]] = field(default_factory=dict)  # every delivery so far: deliveries, rows, quarantined
    changed_figures: list[str] = field(default_factory=list)  # published figures a delivery of this run changed
    late_this_month: list[str] = field(default_factory=list)
    monitor_pages: list[str] = field(default_factory=list)
    cbs_periods: list[tuple[str, int, int]] = field(default_factory=list)  # published by this run: period, files, rows
    cbs_unchanged: list[str] = field(default_factory=list)  # made again by this run, same files: no new version
    ceo_years: list[tuple[str, str]] = field(default_factory=list)  # published by this run: year, folder
    ceo_files: dict[str, str] = field(default_factory=dict)  # year -> the files table (markdown) of its run
    headline: list[tuple[str, str, str]] = field(default_factory=list)  # published by this run: year, indicator, value
    out_of_date: list[str] = field(default_factory=list)  # published CEO years whose figures would now differ
    not_yet_published: list[str] = field(default_factory=list)  # periods this run's rows fall in, not ended yet
    checks: dict[str, int] = field(default_factory=lambda: {"passed": 0, "failed": 0})
    failed_checks: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # warning checks that did not pass (late provider, quarantine)
    export_dir: Path | None = None
    warehouse: Path | None = None
    quarantine_destroyed: int = 0  # quarantined deliveries destroyed at the start (retention passed)
    not_deliveries: list[tuple[str, str]] = field(default_factory=list)  # (entry label, reason) left in incoming/
    still_being_written: list[str] = field(default_factory=list)  # left in incoming/ for a later run
    unreadable: list[str] = field(default_factory=list)  # labels of files this process may not read
    publish_only: bool = False  # ``rmj publish``: no deliveries taken, only the publication

    def __str__(self) -> str:
        lines = [f"warehouse: {self.warehouse}", "this run:"]
        if not self.publish_only:
            lines.append("  deliveries: " + (_counts(self.deliveries) or "none (nothing new in incoming/)"))
        if self.rows and any(self.rows.values()):
            lines.append("  rows: " + _counts(self.rows, first=True))
        if self.rejected_by_reason:
            lines.append("  rejected rows by reason: " + ", ".join(f"{r} {n}" for r, n in self.rejected_by_reason))
        if self.quarantined:
            lines.append(f"  quarantined files ({sum(n for _, n, _ in self.quarantined)}), by reason:")
            lines += [f"    {reason} {n}: {names}" for reason, n, names in self.quarantined]
        if self.quarantine_destroyed:
            lines.append(f"  quarantine: {self.quarantine_destroyed} delivery(ies) destroyed, their retention period passed")
        if self.cbs_periods or self.ceo_years:
            lines.append("  published by this run:")
        for period, files, rows in self.cbs_periods:
            lines.append(f"    CBS extract {period}: {files} provider file(s), {rows} record(s) -> {self.export_dir}/cbs/{period}/")
        for year, folder in self.ceo_years:
            written = self.ceo_files.get(year, "").splitlines()
            lines.append(f"    CEO publications {year} in {folder}/" + (":" if written else ""))
            lines += [f"      {line}" for line in written]
            lines += [f"      {y} region {indicator}: {value}" for y, indicator, value in self.headline if y == year]
        if self.cbs_unchanged:
            lines.append("  made again, unchanged, no new version: " + ", ".join(f"CBS extract {p}" for p in self.cbs_unchanged))
        lines += [f"  {line}" for line in self.out_of_date]
        if self.not_yet_published:
            lines.append("  not due yet (period not ended): " + ", ".join(self.not_yet_published))
        if self.changed_figures:
            lines.append(f"  published figures changed by this run ({len(self.changed_figures)}), as published:")
            lines += [f"    {change}" for change in self.changed_figures[:20]]
            if len(self.changed_figures) > 20:
                lines.append(f"    ... and {len(self.changed_figures) - 20} more (marts.figure_sources, changed)")
        if self.not_deliveries:
            lines.append(not_deliveries_message(self.not_deliveries))
        if self.unreadable:
            lines.append(unreadable_message(self.unreadable))
        if self.still_being_written:
            lines.append(f"left in incoming/ (still being written, taken next time): {', '.join(self.still_being_written)}")
        if self.monitor_pages:
            lines.append("late this month: " + ("; ".join(self.late_this_month) or "none")
                         + f" (delivery monitor: {self.monitor_pages[-1]})")
        lines.append(f"asset checks: {self.checks['passed']} passed, {self.checks['failed']} failed"
                     + (f" ({', '.join(self.failed_checks)})" if self.failed_checks else "")
                     + (f", {len(self.warnings)} warning(s)" if self.warnings else ""))
        lines += [f"  warning: {w}" for w in self.warnings]
        if self.totals:
            lines.append("totals, every delivery so far:")
            lines.append("  deliveries: " + (_counts(self.totals.get("deliveries", {})) or "none"))
            lines.append("  rows: " + _counts(self.totals.get("rows", {}), first=True))
            lines.append(f"  quarantined files: {self.totals.get('quarantined', {}).get('files', 0)}")
        return "\n".join(lines)


def _counts(counts: dict[str, int], *, first: bool = False) -> str:
    """``3 loaded, 1 quarantined`` (sorted by name), or with ``first`` in order, name first: ``read 3, accepted 2``."""
    if first:
        return ", ".join(f"{name} {n}" for name, n in counts.items())
    return ", ".join(f"{n} {name}" for name, n in sorted(counts.items()))


# The console shows warnings (quarantined files) and errors; every event is still in the instance's log.
_QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@contextmanager
def _sigterm_kept():
    """SIGTERM's handler as it was before an in-process run. Dagster points SIGTERM at SIGINT's handler while
    it runs in the main thread and, at the end, at SIGINT's original one: in a process a shell started in the
    background (SIGINT ignored) that calls ``process``/``publish`` itself (a script, the tests; ``rmj`` runs
    its jobs in a thread of their own, see ``progress.follow_run``), SIGTERM was ignored from then on, and so by
    every process started afterwards: an ``rmj`` command, a daemon, Dagster's step-log mirrors (``tail``), which
    Dagster stops with SIGTERM and waits up to 30 s for, and which then held a command's output open."""
    if threading.current_thread() is not threading.main_thread():
        yield  # Dagster leaves the signals alone outside the main thread
        return
    before = signal.getsignal(signal.SIGTERM)
    try:
        yield
    finally:
        if before is not None:  # None: set outside Python, left as it is
            signal.signal(signal.SIGTERM, before)


def _execute(job: dg.JobDefinition, instance: dg.DagsterInstance, checks: dict | None = None, *,
             reporter: Reporter | None = None, defs: dg.Definitions | None = None, deliveries: int = 0,
             tags: dict | None = None, asset_selection: list[dg.AssetKey] | None = None,
             also_checks: frozenset[dg.AssetCheckKey] = frozenset(), **kwargs):
    run_id = str(uuid.uuid4())
    tags = {**(tags or {}), **local_instance.process_tags()}  # a later process can tell if this one died
    if asset_selection is None:  # the job's assets but the analysts' snapshot, taken once at the end
        asset_selection = [k for k in job.asset_layer.executable_asset_keys if k != SNAPSHOT]
    # the job's own checks of those assets (a bare asset selection would add every check defined on them,
    # the weekly full scans included)
    # (and whether the published CEO years are current, after the delivery chain)
    job = job.get_subset(asset_selection=set(asset_selection), asset_check_selection={
        k for k in job.asset_layer.asset_graph.asset_check_keys
        if k.asset_key in asset_selection or k in also_checks
        or (k.name == PUBLICATION_CURRENT_CHECK and asset_selection != [SNAPSHOT])})

    def run() -> dg.ExecuteInProcessResult:
        with _sigterm_kept():
            return job.execute_in_process(instance=instance, raise_on_error=False, run_config=_QUIET, run_id=run_id,
                                          tags=tags, **kwargs)

    if reporter is None or defs is None:
        result = run()
    else:
        result = follow_run(reporter, defs, job.name, instance, run_id, run, deliveries=deliveries)
    if checks is not None:
        for evaluation in result.get_asset_check_evaluations():
            if evaluation.partition is not None and evaluation.check_name == LOADED_CHECK:
                continue  # one per delivery partition: the summary's quarantined files say the same
            if evaluation.check_name == PUBLICATION_CURRENT_CHECK:  # the summary says it in its own lines
                checks["out_of_date"] = list(evaluation.metadata["out_of_date_years"].value)
                checks["passed" if evaluation.passed else "warnings"] += 1
                continue
            warning = evaluation.severity == dg.AssetCheckSeverity.WARN
            checks["passed" if evaluation.passed else "warnings" if warning else "failed"] += 1
            if not evaluation.passed:
                checks.setdefault("warned" if warning else "names", []).append(
                    evaluation.asset_check_key.to_user_string() + (f" ({evaluation.description})" if warning and evaluation.description else ""))
    if not result.success:
        failed = [e.step_key for e in result.all_events if e.is_step_failure]
        raise PipelineFailed(f"{job.name} failed in step(s): {', '.join(failed) or 'unknown'}")
    return result


def process(settings: Settings | None = None, instance: dg.DagsterInstance | None = None,
            reporter: Reporter | None = None, now: datetime | None = None,
            first_look: FirstLook | None = None) -> ProcessSummary:
    """Process every file in ``incoming/`` end to end; returns what happened (progress to ``reporter``).

    First destroys quarantined deliveries whose retention period has passed (``now``, UTC, for tests).
    ``first_look``: the complete-file rule's first look at ``incoming/``, if the caller took it already.
    """
    from rmj_dagster.definitions import build_defs
    from rmj_dagster.quality import expectations

    settings = settings or Settings.from_env()
    _refuse_unfit_key(settings)  # before anything is read
    started = datetime.now(UTC).replace(tzinfo=None)  # what this run did: deliveries processed from now on
    zone = LandingZone(settings.landing_dir).ensure()
    # The sensor's complete-file rule, with two looks a moment apart: a file still being written waits.
    # The setup below is done between the looks, while the files settle.
    first_look = first_look or zone.first_look(settle_seconds())
    if zone.holds_deliveries(first_look):
        expectations.import_in_background()  # the delivery run's GX check needs it; meanwhile files settle
    defs = build_defs()  # resources from the RMJ_* environment as it is now
    instance = instance or local_instance.instance()  # the one the UI shows (DAGSTER_HOME)
    local_instance.reclaim_dead_runs(instance, log=say)  # a killed earlier run must not hold the pool
    now = now or datetime.now(UTC)
    with warehouse.connect(settings.warehouse) as con:
        ddl.ensure_tables(con)
        destroyed = destroy_expired_quarantine(con, zone, now)

    complete, waiting = zone.second_look(first_look, settle_seconds())
    unreadable: list[str] = []
    keys, known = _delivery_partitions(zone, complete, instance, unreadable)
    waiting_names = [s.label for s in waiting]  # printed: by inode, never the name as received
    if not keys and not settings.warehouse.exists():  # nothing received yet, ever: nothing to build
        return ProcessSummary(export_dir=settings.export_dir, warehouse=settings.warehouse,
                              still_being_written=waiting_names, unreadable=unreadable)

    checks: dict = {"passed": 0, "failed": 0, "warnings": 0}
    follow = {"reporter": reporter, "defs": defs}
    if reporter is not None:
        new = len([k for k in keys if k not in known])
        reporter.line(f"{len(keys)} deliveries to process ({new} new) from {zone.incoming}")
    # one open database for every step of the runs below; while another process holds it, say whom we wait for
    with warehouse.held_open(settings.warehouse, report=None if reporter is None else reporter.line):
        snapshot_taken = _run_deliveries(defs, instance, checks, keys, known, follow, settings.warehouse)
        made, policy_ran = _apply_policy(defs, instance, checks, follow, now)
        if not (snapshot_taken or policy_ran):
            _take_snapshot(defs, instance, checks, follow)
        summary = _summarise(settings, made, started)
    summary.quarantine_destroyed = len(destroyed)
    summary.not_deliveries = zone.not_deliveries(
        now.astimezone(UTC).replace(tzinfo=None) if now.tzinfo else now, PARTIAL_GRACE)
    summary.still_being_written = waiting_names
    summary.unreadable = unreadable
    summary.checks = {"passed": checks["passed"], "failed": checks["failed"]}
    summary.warnings = sorted(set(checks.get("warned", [])))
    summary.out_of_date = checks.get("out_of_date", [])
    summary.failed_checks = sorted(set(checks.get("names", [])))
    return summary


def _refuse_unfit_key(settings: Settings) -> None:
    """Refuse a missing or unfit pseudonym key, and one whose pseudonyms would not link with the stored ones."""
    key = PseudonymKey.from_env()
    if not settings.warehouse.exists():
        return
    from rmj_dagster.assets.intake.delivery_assets import refuse_unfit_key

    with warehouse.connect(settings.warehouse, read_only=True) as con:
        if warehouse.table_exists(con, "audit.key_labels"):
            refuse_unfit_key(con, key, record=False)
        else:  # made before labels were bound
            from rmj_dagster.assets.intake.delivery_assets import key_labels_in_warehouse

            key.refuse_to_mix(key_labels_in_warehouse(con))


def _delivery_partitions(zone: LandingZone, complete, instance: dg.DagsterInstance,
                         unreadable: list[str]) -> tuple[list[str], list[str]]:
    """The deliveries this run processes, each a delivery partition; returns (them, the partitions known before).
    Files this process may not read are added to ``unreadable`` (by token) and left in ``incoming/``.

    Deliveries claimed by an earlier run that died or failed before the TTP step finished come first;
    all of them and every new file go in ONE run, so one rerun heals whatever a crash left.
    """
    known = list(instance.get_dynamic_partitions(deliveries.name))
    keys_of = DeliveryKeys(known)  # a delivery known by its id keeps its key: same bytes = same delivery
    keys: list[str] = [keys_of.of_claim(zone, delivery_id) for delivery_id in zone.pending_claims()]
    for state in complete:
        try:
            delivery_id = delivery_id_of(sha256_of(zone.incoming / state.name))
        except PermissionError:  # not this process's to read: reported, left where it is (see unreadable)
            unreadable.append(state.label)
            continue
        key = keys_of.of_file(zone.incoming / state.name, state.received_at, delivery_id)
        if key not in keys:
            keys.append(key)
    new_keys = [k for k in keys if k not in known]
    if new_keys:
        instance.add_dynamic_partitions(deliveries.name, new_keys)
    return keys, known


def _run_deliveries(defs, instance, checks: dict, keys: list[str], known: list[str], follow: dict,
                    warehouse_path: Path) -> bool:
    """One delivery-job run over ``keys``; without any, the unpartitioned chain: it writes only what a rule
    change (the codebook, a model's SQL) or a run that died calls for, and refreshes the delivery monitor.
    Its models with nothing to write are not launched at all (``_idle``). Returns whether the run took the
    analysts' snapshot: the unpartitioned chain ends with it (a delivery seldom leaves the policy nothing to
    make; nothing new nearly always does, and then no run of its own follows for the snapshot)."""
    from rmj_dagster.assets.ceo.publication_current import IDLE_LEFT_OUT_TAG
    from rmj_dagster.assets.intake.jobs import chain_after_intake
    from rmj_dagster.assets.models.checks import CONFORMS_TO_CODEBOOK
    from rmj_dagster.quality import expectations
    from rmj_dagster.sensors.delivery_sensor import DELIVERY_JOB_NAME

    delivery_job = defs.resolve_job_def(DELIVERY_JOB_NAME)
    if keys:  # a failed run's deliveries too: this run reports their outcome with its own
        carried = [k for k in carried_from(_last_if_failed(instance)) if k in known]
        partition_key, tags = one_run_over([*carried, *keys], known)
        _execute(delivery_job, instance, checks, partition_key=partition_key, tags=tags, deliveries=len(keys), **follow)
        return False
    finish = chain_after_intake(defs, _last_if_failed(instance))  # a run that died after its TTP step: its deliveries
    idle, also_checks = _idle(instance, finish.asset_selection, warehouse_path)  # the snapshot included
    if also_checks or (CONFORMS_TO_CODEBOOK.asset_key in finish.asset_selection and CONFORMS_TO_CODEBOOK.asset_key not in idle):
        expectations.import_in_background()  # its GX check runs (over every row): GX on the other core meanwhile
    _execute(delivery_job, instance, checks, asset_selection=[k for k in finish.asset_selection if k not in idle],
             also_checks=also_checks, partition_key=finish.partition_key,
             tags=finish.tags | ({IDLE_LEFT_OUT_TAG: str(len(idle))} if idle else {}), **follow)
    return True


def _last_if_failed(instance: dg.DagsterInstance) -> dg.DagsterRun | None:
    """The last deliveries run when it failed (a killed ``rmj process``'s run is failed by ``reclaim_dead_runs``)."""
    from rmj_dagster.sensors.delivery_sensor import DELIVERY_JOB_NAME

    records = instance.get_run_records(filters=dg.RunsFilter(job_name=DELIVERY_JOB_NAME), limit=1)
    return records[0].dagster_run if records and records[0].dagster_run.status == dg.DagsterRunStatus.FAILURE else None


def _idle(instance, candidates: list[dg.AssetKey], warehouse_path: Path,
          ) -> tuple[set[dg.AssetKey], frozenset[dg.AssetCheckKey]]:
    """The per-delivery and keyed models among ``candidates`` when none of them has anything to write, scan or
    report (``builds.has_work``: rules unchanged, every delivery taken in), else none; and the checks of idle
    models to run all the same: the GX validation of the cleaned responses unless it stands for the rows as they are."""
    from rmj_dagster.assets.models.checks import CONFORMS_TO_CODEBOOK, validation_stands
    from rmj_dagster.warehouse import builds, sql_models

    models = {dg.AssetKey([m.layer, m.name]): m for m in sql_models.discover() if m.incremental or m.keys}
    with warehouse.connect(warehouse_path) as con:
        busy = [k for k in candidates if k in models and builds.has_work(con, models[k])]
        # All or none: a keyed build reads more than its declared parents (every staging table's delivery ids),
        # so a run leaving some models out may start one before a table it reads exists (seen: the rerun after
        # a SIGKILL in staging failed in cleaned_goals on a missing stg_start_zorg). Only when no model has work
        # are they left out.
        idle = set() if busy else {k for k in candidates if k in models}
        stands = CONFORMS_TO_CODEBOOK.asset_key not in idle or validation_stands(instance, con)
    return idle, frozenset() if stands else frozenset({CONFORMS_TO_CODEBOOK})


SNAPSHOT = asset_key("analyst_snapshot")


def _take_snapshot(defs, instance, checks: dict, follow: dict) -> None:
    """The analysts' snapshot, once after all of this command's runs (each job ends with it when the
    sensor or a schedule launches it; here a copy after every run would be replaced seconds later), in a run
    of its own when the command's last run left it out (the delivery run: the policy is asked after it)."""
    from rmj_dagster.sensors.delivery_sensor import DELIVERY_JOB_NAME

    _execute(defs.resolve_job_def(DELIVERY_JOB_NAME), instance, checks, asset_selection=[SNAPSHOT], **follow)


POLICY_CURSOR_FILE = "rmj_automation_cursor"  # in DAGSTER_HOME: where the conditions' evaluation left off


def _cursor_path(instance: dg.DagsterInstance) -> Path | None:
    root = getattr(instance, "root_directory", None)
    return Path(root) / POLICY_CURSOR_FILE if root else None


def _evaluate_policy(defs, instance: dg.DagsterInstance, now: datetime, cursor=None):
    """What the automation conditions request now, asked of Dagster as the daemon's sensor asks it."""
    with _partitions_read_once(instance):
        return dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=now, cursor=cursor)


@contextmanager
def _partitions_read_once(instance: dg.DagsterInstance):
    """Each dynamic partitions definition's keys read once while the conditions are evaluated, as the daemon's
    evaluation reads them (its queryer caches them for the tick). ``evaluate_automation_conditions`` makes its
    new cursor with the instance itself as the partitions store: ~300 reads of the same keys from the event
    log storage (0.9 s of 1.3 s on the national warehouse), the same cursor. Nothing adds partitions meanwhile
    in this process (the half-year due is added before)."""
    read = type(instance).get_dynamic_partitions
    instance.get_dynamic_partitions = functools.cache(lambda partitions_def_name: read(instance, partitions_def_name))
    try:
        yield
    finally:
        del instance.get_dynamic_partitions


def _apply_policy(defs, instance: dg.DagsterInstance, checks: dict, follow: dict,
                  now: datetime) -> tuple[dict[str, bool], bool]:
    """Run exactly what the automation conditions request (the daemon's path, in-process), evaluated once
    after the delivery run from where the last evaluation of this instance left off (its cursor: a code
    version changed since): per job, one run per stretch of consecutive partitions asked for the same
    assets; the last of them ends with the analysts' snapshot, as each job does when the daemon launches it
    (no run of its own after it). Returns the half-years made, each with whether a new version of its files
    was written, and whether the snapshot was taken."""
    from rmj_dagster.assets.cbs.jobs import CBS_JOB_NAME
    from rmj_dagster.assets.ceo.jobs import CEO_JOB_NAME

    path = _cursor_path(instance)
    cursor = dg.deserialize_value(path.read_text()) if path is not None and path.exists() else None
    graph = defs.resolve_asset_graph()
    add_ended_half_years(instance, now, graph)  # the half-year due now exists before the policy is asked
    result = _evaluate_policy(defs, instance, now, cursor)
    wanted: dict[tuple[str, frozenset], list[str]] = {}
    by_partition: dict[tuple[object, str], set[dg.AssetKey]] = {}
    for key in graph.get_all_asset_keys():
        for partition in result.get_requested_partitions(key):
            by_partition.setdefault((graph.get(key).partitions_def, partition), set()).add(key)
    jobs = {id(half_years): CBS_JOB_NAME, id(years): CEO_JOB_NAME}
    for (partitions_def, partition), keys in by_partition.items():
        if id(partitions_def) not in jobs:
            raise PipelineFailed(f"an automation condition requested {sorted(k.to_user_string() for k in keys)}, "
                                 "which no publication job runs")
        wanted.setdefault((jobs[id(partitions_def)], frozenset(keys)), []).append(partition)
    runs = []  # (job name, stretch of partitions, assets), in the order they run
    for (job_name, keys), partitions in sorted(wanted.items(), key=lambda item: (item[0][0], sorted(item[1]))):
        order = (list(instance.get_dynamic_partitions(half_years.name)) if job_name == CBS_JOB_NAME
                 else years.get_partition_keys())
        # a year reads the year before: one at a time, oldest first; half-years in stretches
        stretches = _consecutive(sorted(partitions), order) if job_name == CBS_JOB_NAME else [[p] for p in sorted(partitions)]
        runs += [(job_name, stretch, sorted(keys, key=lambda k: k.path)) for stretch in stretches]
    if any(job_name == CBS_JOB_NAME for job_name, _, _ in runs):
        from rmj_dagster.quality import expectations

        expectations.import_in_background()  # the CBS extract's GX check
    made: dict[str, bool] = {}
    for i, (job_name, stretch, keys) in enumerate(runs):
        tags = range_tags(stretch) if len(stretch) > 1 else {}
        run = _execute(defs.resolve_job_def(job_name), instance, checks, partition_key=None if tags else stretch[0],
                       tags=tags, asset_selection=keys + [SNAPSHOT] * (i == len(runs) - 1), **follow)
        if job_name == CBS_JOB_NAME:
            made |= {p: made.get(p, False) or p in _new_versions(run, stretch) for p in stretch}
    if path is not None:
        path.write_text(dg.serialize_value(result.cursor))
    return made, bool(runs)


def _new_versions(result, partitions: list[str]) -> set[str]:
    """The half-years of ``partitions`` whose files a CBS run wrote as a new version (metadata ``new_version``,
    per period in a range run); a re-make with unchanged files wrote none."""
    written = set()
    for event in result.get_asset_materialization_events():
        metadata = event.materialization.metadata
        for key in partitions:
            value = metadata.get("new_version" if len(partitions) == 1 else f"new_version_{key}")
            if value is not None and value.value:
                written.add(key)
    return written


def _consecutive(keys: list[str], order: list[str]) -> list[list[str]]:
    """``keys`` in stretches of neighbours in ``order`` (``keys`` in that order)."""
    stretches: list[list[str]] = []
    for key in keys:
        if stretches and order.index(key) == order.index(stretches[-1][-1]) + 1:
            stretches[-1].append(key)
        else:
            stretches.append([key])
    return stretches


def _files_written(result) -> str:
    """The files table a publication run recorded (kind, count, size, seconds), as plain text lines."""
    for event in result.get_asset_materialization_events():
        metadata = event.materialization.metadata
        if "files" in metadata:
            rows = [line.strip("|").split("|") for line in metadata["files"].value.splitlines()[2:]]
            return "\n".join(f"{k.strip().strip('`'):<22} {c.strip():>3} file(s) {mb.strip():>6} MB  {s.strip()} s" for k, c, mb, s in rows)
    return ""


def _periods_with_data(con) -> dict[str, list[str]]:
    """Completed half-years that have cleaned data and completed years that have CEO observations (the
    current period is not complete yet). A year whose data makes no CEO figure (e.g. only a stop record
    whose reason does not count as an end) is not a year to publish: publishing it would fail."""
    dates = con.execute(f"select distinct d from ({EVENT_DATES}) where d is not null").fetchall()
    half_year_keys = set(ended_half_years(datetime.now(UTC)))
    year_keys = set(years.get_partition_keys())
    found_half = {half_year_of(d) for (d,) in dates}
    found_year = {str(y) for (y,) in con.execute(
        "select distinct year from intermediate.indicator_observations where year is not null").fetchall()}
    return {
        "half_years": sorted(found_half & half_year_keys),
        "years": sorted(found_year & year_keys),
    }


_HEADLINE = ("n_responses", "pct_uitval", "mean_q09", "pct_doelrealisatie")


def _headline(export_dir: Path, year: int) -> list[tuple[str, str, str]]:
    """Region figures as published (suppressed and rounded): console output leaves the warehouse too."""
    from rmj_dagster.publish.figures import indicators_path, read_published

    rows = read_published(indicators_path(export_dir, year))
    return [
        (str(year), r["indicator"], "suppressed" if r["suppressed"] == "true" else r["value"])
        for r in rows
        if r["area_type"] == "regio" and r["respondent_group"] == "ALL" and r["care_type"] == "ALL" and r["indicator"] in _HEADLINE
    ]


def _cockpit(con, summary: ProcessSummary, settings: Settings) -> None:
    """What the data team asks after a run: who is late this month, and where the monitor page is."""
    from rmj_dagster.cockpit import monitor

    if warehouse.table_exists(con, monitor.MONITOR_TABLE):
        summary.late_this_month = [str(p) for p in monitor.late_this_month(con)]
        folder = settings.export_dir / "monitor"
        summary.monitor_pages = sorted(str(p) for p in folder.glob("*.html")) if folder.exists() else []


def _cbs_made(con, summary: ProcessSummary, half_year_keys: list[str]) -> None:
    """The CBS half-years made: files (one per provider) and records, from the mart as published."""
    for period in half_year_keys:
        files, records = con.execute(
            "select count(distinct aanbieder_agb), count(*) from marts.cbs_outcome_extract where period = ?", [period]
        ).fetchone()
        summary.cbs_periods.append((period, files, records))


def _summarise(settings: Settings, made: dict[str, bool], started: datetime) -> ProcessSummary:
    """This run's deliveries (processed since ``started``), rows, quarantined files and the CBS half-years
    made (published: a new version written; else unchanged); then the totals over every delivery so far."""
    summary = ProcessSummary(export_dir=settings.export_dir, warehouse=settings.warehouse)
    this_run = "delivery_id in (select delivery_id from audit.deliveries where processed_at >= $started)"
    with warehouse.connect(settings.warehouse, read_only=True) as con:
        for scope, where, params in (("run", this_run, {"started": started}), ("all", "true", {})):
            deliveries = dict(con.execute(
                f"select status, count(*) from audit.deliveries where {where} group by status", params).fetchall())
            duplicates = con.execute("select count(*) from audit.file_receipts where outcome = 'duplicate' and "
                                     + ("recorded_at >= $started" if params else "true"), params).fetchone()[0]
            if duplicates:
                deliveries["duplicate files"] = duplicates
            rows = dict(zip(("read", "accepted", "rejected"), con.execute(
                "select coalesce(sum(rows_read),0), coalesce(sum(rows_accepted),0), coalesce(sum(rows_rejected),0) "
                f"from intermediate.delivery_reconciliation where {where}", params).fetchone()))
            quarantined = con.execute(
                "select quarantine_reason, count(*), string_agg(file_name, ', ' order by file_name) "
                f"from intermediate.delivery_reconciliation where status = 'quarantined' and {where} "
                "group by 1 order by 2 desc, 1", params).fetchall()
            if scope == "run":
                summary.deliveries, summary.rows, summary.quarantined = deliveries, rows, quarantined
                summary.rejected_by_reason = con.execute(
                    f"select reason_code, count(*) from intermediate.rejected_rows where {where} "
                    "group by 1 order by 2 desc, 1", params).fetchall()
            else:
                summary.totals = {"deliveries": deliveries, "rows": rows,
                                  "quarantined": {"files": sum(n for _, n, _ in quarantined)}}
        _cockpit(con, summary, settings)
        _cbs_made(con, summary, sorted(k for k, new in made.items() if new))
        summary.cbs_unchanged = [k for k, new in sorted(made.items()) if not new]
        loaded = [d for (d,) in con.execute("select delivery_id from audit.deliveries where status = 'loaded' "
                                            "and processed_at >= ? order by 1", [started]).fetchall()]
        summary.not_yet_published = _not_complete_yet(periods_of_deliveries(con, loaded))
    return summary


def _not_complete_yet(touched: dict[str, set[str]]) -> list[str]:
    """The publications the rows of this run's deliveries reach that wait for their period to end
    (the running year and half-year, or later)."""
    last_year, last_half = years.get_partition_keys()[-1], ended_half_years(datetime.now(UTC))[-1]
    return [f"CEO {y}" for y in sorted(touched["year"]) if y > last_year] + [
        f"CBS {k}" for k in sorted(touched["half_year"]) if k > last_half]


class NotPublishable(ValueError):
    """A period that cannot be published: not ended yet, or without data."""

    def __init__(self, kind: str, period: str, why: str):
        super().__init__(f"cannot publish {kind.upper()} {period}: {why}")


def _publishable(settings: Settings, kind: str, period: str) -> str:
    """The partition key of ``period`` (``2025`` or ``2025-H1``), or why it cannot be published."""
    import re

    if kind == "ceo":
        if not re.fullmatch(r"\d{4}", period):
            raise NotPublishable(kind, period, f"a CEO year looks like 2025, not {period!r}")
        key, keys, start, end = period, years.get_partition_keys(), f"{period}-01-01", f"{period}-12-31"
    else:
        if not re.fullmatch(r"\d{4}-H[12]", period):
            raise NotPublishable(kind, period, f"a CBS half-year looks like 2025-H1, not {period!r}")
        key, keys, (start, end) = period, ended_half_years(datetime.now(UTC)), half_year_bounds(period)
    if key not in keys:
        raise NotPublishable(kind, period, f"{period} has not ended yet" if key > max(keys) else f"{period} is before the monitor began")
    if not settings.warehouse.exists():
        raise NotPublishable(kind, period, f"no data for {period}: no warehouse at {settings.warehouse}; run rmj process first")
    with warehouse.connect(settings.warehouse, read_only=True) as con:
        if kind == "ceo":
            found = warehouse.table_exists(con, "intermediate.indicator_observations") and con.execute(
                "select count(*) from intermediate.indicator_observations where year = ?", [int(period)]).fetchone()[0]
        else:
            found = con.execute(f"select count(*) from ({EVENT_DATES}) where d between ? and ?", [start, end]).fetchone()[0]
    if not found:
        raise NotPublishable(kind, period, f"no data for {period}")
    return key


def publish(kind: str, period: str, settings: Settings | None = None, instance: dg.DagsterInstance | None = None,
            reporter: Reporter | None = None) -> ProcessSummary:
    """Publish one CEO year (``kind`` ``ceo``, ``2025``) or CBS half-year (``cbs``, ``2025-H1``) on purpose:
    the same job as a request in the UI, in-process, with its checks; then the analysts' snapshot."""
    from rmj_dagster.assets.cbs.jobs import CBS_JOB_NAME
    from rmj_dagster.assets.ceo.jobs import CEO_JOB_NAME
    from rmj_dagster.definitions import build_defs

    settings = settings or Settings.from_env()
    _refuse_unfit_key(settings)
    key = _publishable(settings, kind, period)
    if kind == "cbs":
        from rmj_dagster.quality import expectations

        expectations.import_in_background()  # the extract's GX check: GX on the other core meanwhile
    defs = build_defs()
    instance = instance or local_instance.instance()
    local_instance.reclaim_dead_runs(instance, log=say)
    if kind == "cbs":
        add_ended_half_years(instance, datetime.now(UTC), defs.resolve_asset_graph())  # if no sensor added it yet
    checks: dict = {"passed": 0, "failed": 0, "warnings": 0}
    follow = {"reporter": reporter, "defs": defs}
    job = defs.resolve_job_def(CEO_JOB_NAME if kind == "ceo" else CBS_JOB_NAME)
    summary = ProcessSummary(export_dir=settings.export_dir, warehouse=settings.warehouse, publish_only=True)
    with warehouse.held_open(settings.warehouse, report=None if reporter is None else reporter.line):
        # the whole job, as the UI's request runs it: it ends with the analysts' snapshot
        result = _execute(job, instance, checks, partition_key=key,
                          asset_selection=list(job.asset_layer.executable_asset_keys), **follow)
        with warehouse.connect(settings.warehouse, read_only=True) as con:
            if kind == "ceo":
                from rmj_dagster.cockpit import lineage

                summary.ceo_years.append((period, str(settings.export_dir / "ceo" / period)))
                summary.ceo_files[period] = _files_written(result)
                summary.headline += _headline(settings.export_dir, int(period))
                summary.changed_figures = [str(c) for c in lineage.changed_figures(con, [int(period)])]
            elif key in _new_versions(result, [key]):
                _cbs_made(con, summary, [key])
            else:
                summary.cbs_unchanged = [key]
    summary.checks = {"passed": checks["passed"], "failed": checks["failed"]}
    summary.warnings = sorted(set(checks.get("warned", [])))
    summary.failed_checks = sorted(set(checks.get("names", [])))
    summary.out_of_date = checks.get("out_of_date", [])  # the CEO run checks every published year too
    return summary


def periods_with_data(settings: Settings | None = None) -> dict[str, list[str]]:
    """The ended CEO years and CBS half-years (as ``2025``, ``2025-H1``) that have data: what ``rmj demo``
    publishes on purpose after processing."""
    settings = settings or Settings.from_env()
    with warehouse.connect(settings.warehouse, read_only=True) as con:
        found = _periods_with_data(con)
    return {"ceo": found["years"], "cbs": found["half_years"]}
