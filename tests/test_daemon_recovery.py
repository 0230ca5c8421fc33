"""Self-healing under the real daemon: a delivery run's worker SIGKILLed mid-way is marked failed, its
pool slot freed, its deliveries requested again by the sensor, and every delivery ends loaded once.

`dagster-daemon run` on a temporary DAGSTER_HOME holding the project's dagster.yaml, against a
temporary landing zone and warehouse, with the demo key; nothing is faked. The figures (time to mark
the run failed, time to the re-request) are printed for the record (`pytest -s`).
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from tests.conftest import PROJECT_ROOT
from tests.polling import wait_for

sys.path.insert(0, str(PROJECT_ROOT / "scripts"))
from local_daemon import LocalDaemon  # noqa: E402

pytestmark = pytest.mark.slow  # a real dagster-daemon and a SIGKILL

DEADLINE_S = 240  # the whole scenario, daemon start to every delivery reconciled


def _wait(what: str, condition, timeout: float, interval: float = 0.25):
    # a run removes a delivery's landing-zone folder while the condition may be reading it: look again
    return wait_for(what, condition, timeout, interval, retry_on=(FileNotFoundError,))


def _delivery_runs(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    return list(reversed(instance.get_runs(filters=dg.RunsFilter(job_name="deliveries_job"))))


def _worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The run worker's pid, from the engine event the worker logs when it starts executing steps."""
    for event in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        data = event.dagster_event.engine_event_data if event.dagster_event else None
        if data and data.metadata.get("pid") is not None:
            return int(data.metadata["pid"].value)
    return None


def _step_succeeded(instance: dg.DagsterInstance, run_id: str, step_key: str) -> bool:
    return any(e.step_key == step_key for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_SUCCESS))


@pytest.fixture
def daemon_env(tmp_path: Path, rmj_env):
    from rmj_dagster.ttp.pseudonym import DEMO_KEY

    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env |= {
        "RMJ_LANDING_DIR": str(rmj_env["landing"]),
        "RMJ_WAREHOUSE": str(rmj_env["warehouse"]),
        "RMJ_EXPORT_DIR": str(rmj_env["exports"]),
        "RMJ_PSEUDONYM_KEY": DEMO_KEY.decode(),
        "RMJ_DEMO_MODE": "1",
        "GX_ANALYTICS_ENABLED": "False",
        "DAGSTER_DISABLE_TELEMETRY": "1",
        # the sensor's clock, injected: a tick every 5 s and a 5 s back-off after a failed run (30 s and 60 s
        # in service), so the re-request comes in seconds, far inside each wait, not a minute or more
        "RMJ_SENSOR_INTERVAL_SECONDS": "5",
        "RMJ_RETRY_BACKOFF_SECONDS": "5",
    }
    return rmj_env | {"env": env}


def test_a_killed_delivery_run_is_failed_and_its_deliveries_requested_again(daemon_env, tmp_path, monkeypatch):
    incoming = daemon_env["landing"] / "incoming"
    picked = _drop_one_of_each_kind(tmp_path, incoming, seed=5)

    started = time.monotonic()
    with LocalDaemon(daemon_env["dagster_home"], daemon_env["env"]) as daemon:
        instance = daemon.instance
        first = _wait("the sensor's first delivery run", lambda: (_delivery_runs(instance) or [None])[0], 90)
        _wait("raw_provider_drops to claim the files", lambda: _step_succeeded(instance, first.run_id, "audit__raw_provider_drops"), 60, 0.1)
        pid = _wait("the run worker's pid", lambda: _worker_pid(instance, first.run_id), 10)
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()

        failed = _wait("the killed run to be marked failed",
                       lambda: instance.get_run_by_id(first.run_id).status == dg.DagsterRunStatus.FAILURE, 60)
        marked_failed_s = time.monotonic() - killed
        assert failed
        retry = _wait("the sensor to request the deliveries again",
                      lambda: next((r for r in _delivery_runs(instance) if r.run_id != first.run_id), None), 90)
        rerequested_s = time.monotonic() - killed

        # The warehouse is the pipeline's alone while runs may start: judge from the instance and the
        # landing zone until the daemon is stopped, then read the warehouse.
        def settled():
            runs = _delivery_runs(instance)
            landing = daemon_env["landing"]
            return (runs[-1].status == dg.DagsterRunStatus.SUCCESS and all(r.is_finished for r in runs)
                    and not any((landing / "received").iterdir())
                    and not [p for p in incoming.iterdir() if not p.name.endswith(".done")])

        _wait("every delivery through and no run unfinished", settled, DEADLINE_S - (time.monotonic() - started), 2.0)
        runs = _delivery_runs(instance)
        slots = instance.event_log_storage.get_concurrency_info("duckdb")
    total_s = time.monotonic() - started
    print(f"\nkilled run marked failed after {marked_failed_s:.1f} s; deliveries re-requested after {rerequested_s:.1f} s; "
          f"{len(runs)} delivery run(s), statuses {[r.status.value for r in runs]}; scenario {total_s:.0f} s")

    assert runs[0].run_id == first.run_id and runs[0].status == dg.DagsterRunStatus.FAILURE
    # one run requested again for all the deliveries the killed run left, and it succeeded
    assert [r.status for r in runs[1:]] == [dg.DagsterRunStatus.SUCCESS], [(r.status, r.tags) for r in runs]
    assert retry.tags.get("dagster/sensor_name") == "delivery_sensor"
    assert not slots.claimed_slots, f"a pool slot is still held: {slots.claimed_slots}"
    _assert_loaded_once(daemon_env["warehouse"], len(picked))


def test_a_run_killed_after_the_ttp_step_is_finished_by_the_next_tick_without_a_new_delivery(daemon_env, tmp_path, monkeypatch):
    """The worker dies after its deliveries were pseudonymised and their originals destroyed: nothing is left in
    incoming/ or received/ to ask again, yet staging, reconciliation and the snapshot were never built. The
    sensor asks for the rest of the chain by itself, once, over the killed run's deliveries: every delivery ends
    reconciled and its delivery_outcome partition materialized."""
    from rmj_dagster.assets.asset_keys import asset_key
    from rmj_dagster.intake.partition_keys import delivery_id_of_key
    from rmj_dagster.partitions import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG, deliveries
    from rmj_dagster.sensors.delivery_sensor import FINISH_TAG

    incoming = daemon_env["landing"] / "incoming"
    picked = _drop_one_of_each_kind(tmp_path, incoming, seed=6)
    snapshot = tmp_path / "snapshot" / "rmj_marts.duckdb"
    env = daemon_env["env"] | {"RMJ_SNAPSHOT": str(snapshot)}

    with LocalDaemon(daemon_env["dagster_home"], env) as daemon:
        instance = daemon.instance
        first = _wait("the sensor's first delivery run", lambda: (_delivery_runs(instance) or [None])[0], 120)
        _wait("the TTP step to finish", lambda: _step_succeeded(instance, first.run_id, "pseudonymised_deliveries"), 180, 0.05)
        pid = _wait("the run worker's pid", lambda: _worker_pid(instance, first.run_id), 10)
        os.kill(pid, signal.SIGKILL)
        assert not [p for p in incoming.iterdir() if not p.name.endswith(".done")]  # nothing left to ask again
        finish = _wait("the sensor to finish the chain",
                       lambda: next((r for r in _delivery_runs(instance) if r.tags.get(FINISH_TAG) == first.run_id), None), 180)
        _wait("the finishing run to succeed",
              lambda: instance.get_run_by_id(finish.run_id).status == dg.DagsterRunStatus.SUCCESS, 300, 1.0)
        runs = _delivery_runs(instance)
        outcome = asset_key("delivery_outcome")
        materialized = instance.get_materialized_partitions(outcome)
        by_partition = instance.get_status_by_partition(outcome, list(instance.get_dynamic_partitions(deliveries.name)), deliveries)
        by_finish = {r.partition_key for r in instance.fetch_materializations(outcome, limit=100).records if r.run_id == finish.run_id}
    assert [r.status for r in runs] == [dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.SUCCESS], [(r.status, r.tags) for r in runs]
    _assert_loaded_once(daemon_env["warehouse"], len(picked))
    with duckdb.connect(str(daemon_env["warehouse"]), read_only=True) as con:
        loaded = {d for (d,) in con.execute("select delivery_id from audit.deliveries where status = 'loaded'").fetchall()}
    carried = ("dagster/partition", PARTITION_RANGE_START_TAG, PARTITION_RANGE_END_TAG)
    assert [first.tags.get(t) for t in carried] == [finish.tags.get(t) for t in carried]  # the killed run's deliveries
    assert loaded and {delivery_id_of_key(k) for k in materialized} == loaded == {delivery_id_of_key(k) for k in by_finish}
    assert {delivery_id_of_key(k) for k, status in by_partition.items() if status == dg.AssetPartitionStatus.MATERIALIZED} == loaded
    with duckdb.connect(str(snapshot), read_only=True) as con:  # the analysts' copy is current again
        assert con.execute("select count(*) from intermediate.delivery_reconciliation").fetchone()[0] == len(picked)


def _drop_one_of_each_kind(tmp_path: Path, incoming: Path, seed: int) -> list[Path]:
    """Deliveries of every kind, one each, dropped complete (with .done markers) before the daemon starts."""
    from rmj_dagster.generate import generate_deliveries

    source = tmp_path / "generated"
    generate_deliveries(source, seed=seed, years=[2025], scale=0.1, jw307_max_files=1, today=date(2026, 3, 1))
    picked = _one_file_per_kind(source / "incoming")
    for path in picked:
        shutil.copyfile(path, incoming / path.name)
        (incoming / f"{path.name}.done").touch()
    return picked


def _one_file_per_kind(folder: Path) -> list[Path]:
    from rmj_dagster.intake.detect import inspect_file
    from rmj_dagster.intake.kinds import KINDS

    chosen: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        try:
            kind = inspect_file(path).kind.name
        except Exception:
            continue
        chosen.setdefault(kind, path)
    assert set(chosen) == set(KINDS), chosen  # one delivery of every kind, JW305 starts included
    return list(chosen.values())


def _assert_loaded_once(database: Path, expected: int) -> None:
    from rmj_dagster.intake.kinds import KINDS

    with duckdb.connect(str(database), read_only=True) as con:
        deliveries = dict(con.execute("select delivery_id, rows_read from audit.deliveries where status = 'loaded'").fetchall())
        assert len(deliveries) == expected, deliveries
        for kind in KINDS.values():
            rows = con.execute(
                f"select delivery_id, count(*), count(distinct source_row) from {kind.table} group by 1").fetchall()
            for delivery_id, count, distinct in rows:
                assert count == distinct == deliveries[delivery_id], (kind.table, delivery_id, count, distinct, deliveries[delivery_id])
        assert con.execute("select count(*) from intermediate.delivery_reconciliation where not reconciled").fetchone()[0] == 0
