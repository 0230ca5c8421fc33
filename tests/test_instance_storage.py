"""The embedded instance storage (rmj_dagster/instance_storage.py): the project's dagster.yaml uses it, it stores
and reads back what Dagster's own SQLite storage does, in the same files, keeps one engine per file, still lets
the UI's file watcher see a running run's events, and disposes the engines it lets go."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from rmj_dagster import instance_storage, local_instance
from tests.conftest import PROJECT_ROOT
from tests.polling import wait_for

PARTS = dg.StaticPartitionsDefinition(["2025-01", "2025-02", "2025-03"])
CHECK = dg.AssetCheckKey(dg.AssetKey("outcome"), "rows_positive")


@dg.asset(partitions_def=PARTS, check_specs=[dg.AssetCheckSpec("rows_positive", asset="outcome")])
def outcome(context):
    rows = int(context.partition_key[-1])
    yield dg.Output(rows, metadata={"rows": rows, "file": f"{context.partition_key}.csv"})
    yield dg.AssetCheckResult(passed=rows != 2, metadata={"rows": rows})


def _project_instance() -> dg.DagsterInstance:
    """The instance of the test's DAGSTER_HOME, created as ``rmj`` creates it (the project's dagster.yaml)."""
    return local_instance.instance()


def _dagster_default_instance(home: Path) -> dg.DagsterInstance:
    """The project's settings without ``storage:``: Dagster's own SQLite storage, in ``home``."""
    home.mkdir(parents=True)
    config = yaml.safe_load((PROJECT_ROOT / "dagster.yaml").read_text())
    del config["storage"]
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return dg.DagsterInstance.from_config(str(home))


def _materialize_every_partition(instance: dg.DagsterInstance) -> list[str]:
    runs = []
    for key in PARTS.get_partition_keys():
        runs.append(dg.materialize([outcome], instance=instance, partition_key=key).run_id)
    return runs


def _what_was_stored(instance: dg.DagsterInstance, run_ids: list[str]) -> dict:
    """Everything a reader asks the event log and run storage about these runs, without ids and times."""
    storage = instance.event_log_storage
    materializations = instance.fetch_materializations(dg.AssetKey("outcome"), limit=10).records
    checks = storage.get_asset_check_execution_history(CHECK, limit=10)
    return {
        "events": [[e.dagster_event_type for e in instance.all_logs(run_id)] for run_id in run_ids],
        "statuses": [instance.get_run_by_id(run_id).status for run_id in run_ids],
        "partitions": instance.get_materialized_partitions(dg.AssetKey("outcome")),
        "materializations": sorted(
            (r.partition_key, r.asset_materialization.metadata["rows"].value, r.asset_materialization.metadata["file"].text)
            for r in materializations
        ),
        "checks": [(c.partition, c.status.value, c.event.dagster_event.event_specific_data.passed) for c in reversed(checks)],
        "latest_check": storage.get_latest_asset_check_execution_by_key([CHECK])[CHECK].status.value,
        "run_successes": len(storage.fetch_run_status_changes(DagsterEventType.RUN_SUCCESS, limit=10).records),
        "asset_record": storage.get_asset_records([dg.AssetKey("outcome")])[0].asset_entry.last_materialization.asset_materialization.partition,
    }


def _files(home: Path, run_ids: list[str]) -> list[str]:
    """The SQLite files under ``home``, each run's named ``<run>``."""
    names = [str(p.relative_to(home)) for p in home.rglob("*.db")]
    for run_id in run_ids:
        names = [name.replace(run_id, "<run>") for name in names]
    return sorted(names)


def _log_entry(run_id: str, message: str) -> EventLogEntry:
    return EventLogEntry(error_info=None, level=20, user_message=message, run_id=run_id, timestamp=time.time(),
                         job_name="j", step_key="s")


def _materialization(run_id: str, partition: str) -> EventLogEntry:
    materialized = dg.AssetMaterialization(asset_key="outcome", partition=partition, metadata={"rows": 1})
    dagster_event = DagsterEvent(event_type_value=DagsterEventType.ASSET_MATERIALIZATION.value, job_name="j",
                                 event_specific_data=StepMaterializationData(materialized))
    return EventLogEntry(error_info=None, level=20, user_message="", run_id=run_id, timestamp=time.time(), job_name="j",
                         step_key="s", dagster_event=dagster_event)


def test_the_project_instance_uses_the_engine_keeping_storage():
    with _project_instance() as instance:
        assert type(instance.event_log_storage) is instance_storage.EngineKeepingSqliteEventLogStorage
        assert Path(instance.event_log_storage.path_for_shard("index")) == Path(os.environ["DAGSTER_HOME"]) / "history" / "runs" / "index.db"


def test_runs_are_stored_and_read_back_as_by_dagsters_own_storage_in_the_same_files(tmp_path):
    with _project_instance() as ours, _dagster_default_instance(tmp_path / "default_home") as theirs:
        assert type(ours.event_log_storage) is instance_storage.EngineKeepingSqliteEventLogStorage
        assert type(theirs.event_log_storage) is SqliteEventLogStorage
        our_runs, their_runs = _materialize_every_partition(ours), _materialize_every_partition(theirs)
        stored = _what_was_stored(ours, our_runs)
        assert stored == _what_was_stored(theirs, their_runs)
    assert stored["partitions"] == set(PARTS.get_partition_keys())
    assert [c[1:] for c in stored["checks"]] == [("SUCCEEDED", True), ("FAILED", False), ("SUCCEEDED", True)]
    assert stored["statuses"] == [dg.DagsterRunStatus.SUCCESS] * 3
    assert _files(Path(os.environ["DAGSTER_HOME"]), our_runs) == _files(tmp_path / "default_home", their_runs)


def test_a_home_made_with_dagsters_storage_keeps_its_history_under_the_project_storage(tmp_path, monkeypatch):
    home = tmp_path / "old_home"
    with _dagster_default_instance(home) as before:
        runs = _materialize_every_partition(before)
        stored = _what_was_stored(before, runs)
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")  # as docs/deployment.md says on a change
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.from_config(str(home)) as after:
        assert type(after.event_log_storage) is instance_storage.EngineKeepingSqliteEventLogStorage
        after.upgrade()  # what `dagster instance migrate` (the daemon unit's ExecStartPre) does
        assert _what_was_stored(after, runs) == stored
        runs.append(dg.materialize([outcome], instance=after, partition_key="2025-01").run_id)
        assert len(after.fetch_materializations(dg.AssetKey("outcome"), limit=10).records) == 4


def test_one_engine_per_file_serves_every_event_of_a_run():
    with _project_instance() as instance:
        run = instance.create_run_for_job(dg.GraphDefinition(name="j").to_job())
        engines: list[Engine] = []  # held, so no engine's id can be reused by a later one

        def connected(conn):
            engines.append(conn.engine)

        event.listen(Engine, "engine_connect", connected)
        try:
            for i in range(20):
                instance.handle_new_event(_materialization(run.run_id, f"p{i}"))
        finally:
            event.remove(Engine, "engine_connect", connected)
        by_file: dict[str, set[int]] = {}
        for engine in engines:
            by_file.setdefault(Path(engine.url.database).name, set()).add(id(engine))
        assert {name: len(ids) for name, ids in by_file.items()} == {f"{run.run_id}.db": 1, "index.db": 1}
        assert len(engines) >= 40  # each event still opens (and closes) its own connections
        assert len(instance.get_materialized_partitions(dg.AssetKey("outcome"))) == 20


def test_the_file_watcher_sees_each_new_event_of_a_running_run():
    """The UI follows a running run through ``watch``: a file-system watcher on ``<run_id>.db``, which changes
    only when SQLite checkpoints the WAL as the last connection closes. A kept-open connection would hide it."""
    with _project_instance() as instance:
        storage = instance.event_log_storage
        assert type(storage) is instance_storage.EngineKeepingSqliteEventLogStorage
        run = instance.create_run_for_job(dg.GraphDefinition(name="j").to_job())
        storage.store_event(_log_entry(run.run_id, "started"))
        seen: list[str] = []

        def callback(entry, cursor):
            seen.append(entry.user_message)

        storage.watch(run.run_id, None, callback)
        try:
            for n in range(3):
                storage.store_event(_log_entry(run.run_id, f"step {n}"))
                wait_for(f"the watcher to see step {n}", lambda n=n: f"step {n}" in seen, 20, interval=0.05)
        finally:
            storage.end_watch(run.run_id, callback)
        assert seen == ["started", "step 0", "step 1", "step 2"]


def test_engines_let_go_are_disposed_and_the_index_engine_is_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(instance_storage.EngineKeepingSqliteEventLogStorage, "RUN_SHARD_ENGINES", 2)
    disposed: list[str] = []
    dispose = Engine.dispose

    def recording(engine, *args, **kwargs):
        disposed.append(Path(engine.url.database).stem)
        return dispose(engine, *args, **kwargs)

    monkeypatch.setattr(Engine, "dispose", recording)
    storage = instance_storage.EngineKeepingSqliteEventLogStorage(str(tmp_path / "runs"))
    index = storage._engine("index")
    for run_id in ("r0", "r1", "r2", "r3"):
        storage.store_event(_materialization(run_id, run_id))
    assert disposed == ["r0", "r1"]
    assert set(storage._engines) == {"index", "r2", "r3"} and storage._engine("index") is index

    assert [e.user_message for e in storage.get_logs_for_run("r0")] == [""]  # a new engine for an evicted run
    assert disposed == ["r0", "r1", "r2"]

    storage.wipe()  # deletes the run files: their engines go, and each file is created again on next use
    assert sorted(disposed[3:]) == ["r0", "r3"] and set(storage._engines) == {"index"}
    storage.store_event(_materialization("r0", "again"))
    with storage.run_connection("r0") as conn:
        assert conn.execute(text("select count(*) from event_logs")).scalar() == 1

    storage.dispose()
    assert sorted(disposed[5:]) == ["index", "r0"] and not storage._engines


def test_a_home_rmj_made_keeps_its_runs_whatever_dagster_home_says(tmp_path, monkeypatch):
    """A home rmj creates names its own folder as the storage's (not DAGSTER_HOME): opened from anywhere, with
    DAGSTER_HOME naming other folders, it reads and writes its own files."""
    home, other = tmp_path / "home", tmp_path / "other"
    local_instance.ensure_home({"DAGSTER_HOME": str(home)})
    monkeypatch.setenv("DAGSTER_HOME", str(other))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run = dg.materialize([outcome], instance=instance, partition_key="2025-01").run_id
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "third"))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert [r.run_id for r in instance.get_runs()] == [run]
    assert (home / "history" / "runs" / f"{run}.db").exists() and not other.exists() and not (tmp_path / "third").exists()


def test_a_home_whose_storage_lies_elsewhere_is_refused(tmp_path, monkeypatch):
    """A home holding the project's dagster.yaml as is takes its storage folder from DAGSTER_HOME: opened while
    DAGSTER_HOME names another folder it would silently read and write that folder's runs."""
    home = tmp_path / "copied"
    home.mkdir()
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "elsewhere"))
    with pytest.raises(dg.DagsterInvariantViolationError, match="set DAGSTER_HOME="):
        local_instance.ensure_home({"DAGSTER_HOME": str(home)})
    assert not (home / "history").exists()


def test_a_home_named_through_a_symlink_opens(tmp_path):
    """A home whose path passes a symlink (macOS's temporary folders, a data disk linked in) is the same home."""
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    home = tmp_path / "link" / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(local_instance.home_config(home), encoding="utf-8")  # as the daemon harness writes it
    assert local_instance.ensure_home({"DAGSTER_HOME": str(home)}) == (tmp_path / "real" / "home")
    assert (tmp_path / "real" / "home" / "history" / "runs" / "index.db").exists()
