"""The Dagster instance the command line shares with the UI, and cleaning up after runs that died.

``rmj demo``, ``rmj process`` and ``rmj ui`` (``dagster dev``) use one ``DAGSTER_HOME``: the variable
when it is set, else ``.dagster_home/`` in the working directory (beside ``data/``), created on first
use with the project's ``dagster.yaml``. So what the command line ran shows up in the UI.

These processes also turn on Dagster's own switch ``DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS``
(``deploy/rmj.env`` sets it for the services): a run over a range of delivery partitions then logs one
"materialization planned" event per asset, naming the range, instead of one per asset and partition
(600 SQLite writes for a national year's 120 deliveries). Its price: the partitions of a failed run read
as missing in the UI, not as failed; the run itself is failed and the delivery sensor retries them.

A new home is initialised under an exclusive file lock: two first runs at the same moment would
otherwise both create the SQLite run storage and stamp two schema versions into it, breaking the
instance for good.

A run of ``rmj process`` executes in the ``rmj`` process itself. Killed (SIGKILL, the OOM killer, a
reboot) it leaves its run STARTED and its ``duckdb`` pool slot taken, so every later run would wait
for ever, and the delivery sensor, seeing a delivery run unfinished, would request nothing. Each such
run carries the identity of its process (boot, pid, start time); the next ``rmj process`` and every
sensor tick fail the runs whose process is gone and free their slots, and free the slots of any run
that ended without giving them back. A dead run launched by the daemon is failed by its code
server or by run monitoring, which frees its slots too (``dagster.yaml``).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SqliteEventLogStorage

DAGSTER_HOME = "DAGSTER_HOME"
DEFAULT_HOME = ".dagster_home"
PROJECT_DAGSTER_YAML = Path(__file__).resolve().parents[1] / "dagster.yaml"
PLANNED_EVENTS_AS_RANGES = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"  # see above
PROCESS_TAG = "rmj/process"  # boot id:pid:start time of the process that executes the run in-process
_LOCK_NAME = ".init.lock"


def home(environ: dict[str, str] | None = None) -> Path:
    """``DAGSTER_HOME`` when set, else ``.dagster_home`` in the working directory (absolute)."""
    env = os.environ if environ is None else environ
    return Path(env.get(DAGSTER_HOME) or DEFAULT_HOME).resolve()


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    with open(folder / _LOCK_NAME, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes, also when the process dies
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_home(environ: dict[str, str] | None = None) -> Path:
    """Create the home with the project's ``dagster.yaml`` and its storage, once, under a file lock.

    Sets ``DAGSTER_HOME`` in ``os.environ`` (when ``environ`` is ``None``), so Dagster and any process
    started from here (``dagster dev``) use the same home.
    """
    folder, opened = _open_home(environ)
    opened.dispose()
    return folder


def _open_home(environ: dict[str, str] | None = None) -> tuple[Path, dg.DagsterInstance]:
    folder = home(environ)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)  # run logs and event metadata stay with the service user
    if environ is None:
        os.environ[DAGSTER_HOME] = str(folder)
        os.environ.setdefault(PLANNED_EVENTS_AS_RANGES, "true")
    with _locked(folder):
        config = folder / "dagster.yaml"
        if not config.exists():
            config.write_text(home_config(folder), encoding="utf-8")
        opened = dg.DagsterInstance.from_config(str(folder))
        try:
            _check_storage_in(opened, folder)
            opened.get_run_records(limit=1)  # creates (and stamps) run, event-log and schedule storage
            opened.event_log_storage.get_concurrency_keys()
            opened.all_instigator_state()
        except BaseException:
            opened.dispose()
            raise
    return folder, opened


# The project's dagster.yaml names the storage folder by DAGSTER_HOME (a server keeps the file in its fixed
# home); a home rmj creates names its own folder instead, so whoever opens it (DagsterInstance.from_config,
# with any DAGSTER_HOME or none) reads and writes that home's files.
_STORAGE_FROM_ENV = "base_dir:\n        env: DAGSTER_HOME"


def home_config(folder: Path) -> str:
    """The project's ``dagster.yaml`` as a home created in ``folder`` keeps it: its storage in ``folder``."""
    text = PROJECT_DAGSTER_YAML.read_text(encoding="utf-8")
    if _STORAGE_FROM_ENV not in text:
        raise ValueError(f"{PROJECT_DAGSTER_YAML} no longer names its storage folder by {DAGSTER_HOME}")
    return text.replace(_STORAGE_FROM_ENV, f"base_dir: {json.dumps(str(folder))}")


def _check_storage_in(opened: dg.DagsterInstance, folder: Path) -> None:
    """Refuse a home whose SQLite storage lies elsewhere: a home moved since it was created, or one holding the
    project's ``dagster.yaml`` as is (storage folder from ``DAGSTER_HOME``) opened while ``DAGSTER_HOME`` names
    another folder; it would read and write that folder's runs."""
    storage = opened.event_log_storage
    if isinstance(storage, SqliteEventLogStorage):
        index = Path(storage.path_for_shard(INDEX_SHARD_NAME)).resolve()  # a home named through a symlink is itself
        if index.parents[2] != folder:  # <home>/history/runs/index.db
            raise dg.DagsterInvariantViolationError(
                f"The instance in {folder} keeps its event log in {index.parent}: set {DAGSTER_HOME}={folder} to open it."
            )


def instance() -> dg.DagsterInstance:
    """The shared local instance, created safely on first use (the one that made sure of it, not a second)."""
    return _open_home()[1]


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


def process_identity(pid: int | None = None) -> str | None:
    """``boot:pid:start`` of a live process on this machine (None where /proc cannot tell).

    The start time (field 22 of /proc/<pid>/stat) tells a reused pid from the original process."""
    pid = os.getpid() if pid is None else pid
    boot = _boot_id()
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    if boot is None:
        return None
    start = stat.rsplit(")", 1)[1].split()[19]  # fields after "pid (comm)": state is field 3, start 22
    return f"{boot}:{pid}:{start}"


def process_tags() -> dict[str, str]:
    """Tags for a run executed in this process, so a later process can tell whether it died."""
    identity = process_identity()
    return {PROCESS_TAG: identity} if identity else {}


def _process_gone(identity: str) -> bool:
    boot, pid, _ = identity.split(":")
    if boot != _boot_id():
        return True  # the machine rebooted since: every process of that boot is gone
    return process_identity(int(pid)) != identity


def reclaim_dead_runs(instance: dg.DagsterInstance, log=None) -> list[str]:
    """Fail the in-process runs whose process died and free every pool slot a finished run still holds.

    Runs of a live process, and runs launched by the daemon (no process tag), are left alone.
    Returns the ids of the runs it failed or freed slots of."""
    handled: list[str] = []
    unfinished = instance.get_run_records(
        filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
                                        dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING])
    )
    for record in unfinished:
        run = record.dagster_run
        identity = run.tags.get(PROCESS_TAG)
        if identity and _process_gone(identity):
            instance.report_run_failed(run, f"The process that executed this run ({identity.split(':')[1]}) is gone: killed or crashed.")
            handled.append(run.run_id)
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        for run_id in storage.get_concurrency_run_ids():
            run = instance.get_run_by_id(run_id)
            if run is None or run.is_finished:
                storage.free_concurrency_slots_for_run(run_id)
                if run_id not in handled:
                    handled.append(run_id)
    if log and handled:
        log(f"cleaned up after {len(handled)} run(s) that died or ended holding a pool slot: {', '.join(handled)}")
    return handled
