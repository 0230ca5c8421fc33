"""The shared DAGSTER_HOME: created once and safely, cleaned up after dead runs; files owner-only."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
import yaml

from rmj_dagster import local_instance
from tests.conftest import PROJECT_ROOT


def test_the_postgres_example_is_the_project_dagster_yaml_with_postgres_storage():
    project = yaml.safe_load((PROJECT_ROOT / "dagster.yaml").read_text())
    postgres = yaml.safe_load((PROJECT_ROOT / "deploy" / "dagster.postgres.yaml").read_text())
    assert set(postgres.pop("storage")) == {"postgres"}
    assert project.pop("storage")["custom"]["class"] == "EngineKeepingSqliteStorage"  # tests/test_instance_storage.py
    assert postgres == project
    assert project["run_monitoring"]["enabled"] and project["concurrency"]["pools"]["default_limit"] == 1
    assert project["telemetry"] == {"enabled": False}


def test_without_dagster_home_the_commands_share_dot_dagster_home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    folder = local_instance.ensure_home()
    assert folder == tmp_path / ".dagster_home" and os.environ["DAGSTER_HOME"] == str(folder)
    # the project's settings, the storage in this folder whatever DAGSTER_HOME says later
    home_config, project = (yaml.safe_load(p.read_text()) for p in (folder / "dagster.yaml", PROJECT_ROOT / "dagster.yaml"))
    assert home_config.pop("storage")["custom"]["config"] == {"base_dir": str(folder)}
    assert project.pop("storage")["custom"]["config"] == {"base_dir": {"env": "DAGSTER_HOME"}} and home_config == project
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    with dg.DagsterInstance.get() as instance:
        assert instance.run_monitoring_enabled


def test_simultaneous_first_runs_leave_one_schema_version(tmp_path):
    """Four processes create the same new home at once; before the lock this stamped two versions."""
    home = tmp_path / "home"
    code = "from rmj_dagster import local_instance; local_instance.ensure_home()"
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    starters = [subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE) for _ in range(4)]
    errors = [p.communicate(timeout=120)[1].decode() for p in starters]
    assert all(p.returncode == 0 for p in starters), errors
    for database in (home / "history" / "runs.db", home / "schedules" / "schedules.db"):
        with sqlite3.connect(database) as con:
            assert len(con.execute("select version_num from alembic_version").fetchall()) == 1, database
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.add_dynamic_partitions("deliveries", ["a"])
        assert instance.get_dynamic_partitions("deliveries") == ["a"]


def test_a_dead_in_process_run_is_failed_and_its_pool_slot_freed(tmp_path):
    local_instance.ensure_home({"DAGSTER_HOME": str(tmp_path / "home")})
    with dg.DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        boot = local_instance.process_identity().split(":")[0]
        dead = _started_run(instance, {local_instance.PROCESS_TAG: f"{boot}:999999999:1"})
        alive = _started_run(instance, local_instance.process_tags())
        daemon_run = _started_run(instance, {})  # launched by the daemon: its code server watches it
        storage = instance.event_log_storage
        storage.set_concurrency_slots("duckdb", 1)
        assert storage.claim_concurrency_slot("duckdb", dead.run_id, "raw_provider_drops").is_claimed

        handled = local_instance.reclaim_dead_runs(instance)

        assert handled == [dead.run_id]
        assert instance.get_run_by_id(dead.run_id).status == dg.DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(alive.run_id).status == dg.DagsterRunStatus.STARTED
        assert instance.get_run_by_id(daemon_run.run_id).status == dg.DagsterRunStatus.STARTED
        assert not storage.get_concurrency_info("duckdb").claimed_slots


def _started_run(instance: dg.DagsterInstance, tags: dict) -> dg.DagsterRun:
    run = instance.create_run_for_job(dg.GraphDefinition(name="g").to_job(), tags=tags)
    instance.handle_run_event(run.run_id, dg.DagsterEvent(
        event_type_value=dg.DagsterEventType.RUN_START.value, job_name=run.job_name, message="started"))
    return instance.get_run_by_id(run.run_id)


@pytest.mark.slow  # whole `rmj process` runs: a minute or more on the shared machine
def test_every_file_the_pipeline_writes_is_owner_only_the_wal_included(rmj_env, tmp_path):
    """`rmj process` started with a lax umask (022): the WAL, seen while the run writes, and every file
    left afterwards are the owner's only, apart from the aggregated CEO publication."""
    from rmj_dagster.generate import generate_deliveries

    generate_deliveries(rmj_env["landing"], seed=9, years=[2025], scale=0.15, jw307_max_files=2, today=date(2026, 3, 1))
    wal = Path(str(rmj_env["warehouse"]) + ".wal")
    roots = (rmj_env["warehouse"].parent, rmj_env["landing"], rmj_env["exports"], rmj_env["dagster_home"])
    before = {path for root in roots if root.exists() for path in [root, *root.rglob("*")]}  # the test's, not the pipeline's
    runner = subprocess.Popen([str(Path(sys.executable).with_name("rmj")), "process"], env=os.environ.copy(),
                              umask=0o022, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wal_modes = set()
    while runner.poll() is None:
        with contextlib.suppress(FileNotFoundError):
            wal_modes.add(wal.stat().st_mode & 0o777)
        time.sleep(0.02)
    assert runner.returncode == 0, runner.stderr.read().decode()[-2000:]
    assert wal_modes == {0o600}, f"WAL modes seen during the run: {sorted(map(oct, wal_modes))}"
    for period in (["cbs", "2025-H1"], ["ceo", "2025"]):  # the publications, on purpose, with the same umask
        published = subprocess.run([str(Path(sys.executable).with_name("rmj")), "publish", *period], env=os.environ.copy(),
                                   umask=0o022, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600)
        assert published.returncode == 0, published.stderr.decode()[-2000:]

    ceo = rmj_env["exports"] / "ceo"
    open_to_others = [
        f"{path} {oct(path.stat().st_mode & 0o777)}"
        for root in roots
        for path in [root, *root.rglob("*")]
        if path not in before and path.stat().st_mode & 0o077 and ceo not in (path, *path.parents)
    ]
    assert len([p for r in roots for p in r.rglob("*")]) > len(before) + 20, "the run wrote next to nothing"
    assert not open_to_others, open_to_others


def test_the_delivery_sensor_cleans_up_after_a_killed_rmj_process(rmj_env, tmp_path):
    """A killed `rmj process` left its run STARTED with the pool slot: the next tick fails it and frees the slot."""
    from rmj_dagster.resources import LandingZoneResource
    from rmj_dagster.sensors.delivery_sensor import delivery_sensor

    local_instance.ensure_home({"DAGSTER_HOME": str(tmp_path / "home")})
    with dg.DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        boot = local_instance.process_identity().split(":")[0]
        dead = _started_run(instance, {local_instance.PROCESS_TAG: f"{boot}:999999999:1"})
        instance.event_log_storage.set_concurrency_slots("duckdb", 1)
        instance.event_log_storage.claim_concurrency_slot("duckdb", dead.run_id, "pseudonymised_deliveries")
        delivery_sensor(dg.build_sensor_context(instance=instance, resources={"landing": LandingZoneResource(root=str(rmj_env["landing"]))}))
        assert instance.get_run_by_id(dead.run_id).status == dg.DagsterRunStatus.FAILURE
        assert not instance.event_log_storage.get_concurrency_info("duckdb").claimed_slots


@pytest.mark.slow  # whole `rmj process` runs: a minute or more on the shared machine
def test_a_run_over_many_deliveries_plans_each_asset_once_with_the_range(rmj_env):
    """One "materialization planned" event per asset of a deliveries run (naming its range of delivery
    partitions), not one per asset and delivery; every loaded delivery's partition ends materialised."""
    import duckdb

    from rmj_dagster.assets.asset_keys import asset_key
    from rmj_dagster.generate import generate_deliveries
    from rmj_dagster.intake.partition_keys import delivery_id_of_key
    from rmj_dagster.partitions import PARTITION_RANGE_START_TAG
    from rmj_dagster.runner import process

    generate_deliveries(rmj_env["landing"], seed=12, years=[2025], scale=0.05, today=date(2026, 3, 1))
    process()
    instance = dg.DagsterInstance.get()
    keys = instance.get_dynamic_partitions("deliveries")
    assert len(keys) > 5
    run = next(r for r in instance.get_runs() if r.job_name == "deliveries_job" and r.tags.get(PARTITION_RANGE_START_TAG))
    planned = [e.dagster_event.event_specific_data for e in instance.all_logs(
        run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED)]
    outcome = asset_key("delivery_outcome")  # partitioned by delivery
    of_outcome = [p for p in planned if p.asset_key == outcome]
    assert len(of_outcome) == 1 and of_outcome[0].partition is None
    assert set(of_outcome[0].partitions_subset.get_partition_keys()) == set(keys)
    assert len(planned) == len({p.asset_key for p in planned})
    with duckdb.connect(str(rmj_env["warehouse"]), read_only=True) as con:
        loaded = {d for (d,) in con.execute("select delivery_id from audit.deliveries where status = 'loaded'").fetchall()}
    assert loaded and {delivery_id_of_key(k) for k in instance.get_materialized_partitions(outcome)} == loaded
