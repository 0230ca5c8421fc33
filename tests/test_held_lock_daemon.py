"""Under a real ``dagster-daemon``: an analyst holds the warehouse open from another process while 22
files are dropped. The sensor asks for one deliveries run at a time, the run waits for the lock with
backoff and fails only after its bound, the sensor backs off and asks again: a bounded number of runs
in all, never two at once, and the last one succeeds with every delivery reconciled."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from rmj_dagster import warehouse
from rmj_dagster.generate import generate_deliveries
from rmj_dagster.local_instance import PLANNED_EVENTS_AS_RANGES
from rmj_dagster.partitions import PARTITION_RANGE_START_TAG
from rmj_dagster.sensors.delivery_sensor import DELIVERY_JOB_NAME, MAX_ATTEMPTS
from tests.conftest import TEST_KEY

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from local_daemon import LocalDaemon, landing_idle  # noqa: E402

pytestmark = pytest.mark.slow  # a real dagster-daemon

HOLD = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True); print('held', flush=True); time.sleep(float(sys.argv[2]))"
HELD_SECONDS = 600  # at most: the analyst leaves once a deliveries run has failed on the lock


def test_a_reader_holding_the_warehouse_costs_a_bounded_number_of_runs_that_end_successful(rmj_env, tmp_path, monkeypatch):
    source = tmp_path / "source"
    generate_deliveries(source, seed=12, scale=0.2, years=[2025], today=date(2026, 2, 1))
    files = sorted((source / "incoming").iterdir())[:22]
    with warehouse.connect(rmj_env["warehouse"]):
        pass  # the warehouse exists, as on any day after the first
    env = {
        "RMJ_LANDING_DIR": str(rmj_env["landing"]), "RMJ_WAREHOUSE": str(rmj_env["warehouse"]),
        "RMJ_EXPORT_DIR": str(rmj_env["exports"]), "RMJ_SNAPSHOT": str(tmp_path / "snapshot.duckdb"),
        "RMJ_PSEUDONYM_KEY": TEST_KEY, "GX_ANALYTICS_ENABLED": "False",
        "RMJ_SENSOR_INTERVAL_SECONDS": "2", "RMJ_WAREHOUSE_LOCK_WAIT": "5", "RMJ_RETRY_BACKOFF_SECONDS": "5",
    }
    # the daemon plans each asset once per run only if the services' switches (deploy/rmj.env) say so
    monkeypatch.delenv(PLANNED_EVENTS_AS_RANGES, raising=False)
    analyst = subprocess.Popen([sys.executable, "-c", HOLD, str(rmj_env["warehouse"]), str(HELD_SECONDS)],
                               stdout=subprocess.PIPE, text=True)
    assert analyst.stdout.readline().strip() == "held"
    try:
        with LocalDaemon(tmp_path / "dagster_home", env) as daemon:
            incoming = rmj_env["landing"] / "incoming"
            for batch in (files[:8], files[8:15], files[15:]):  # dropped over a few sensor ticks
                for path in batch:
                    shutil.copy2(path, incoming / path.name)
                time.sleep(3)
            # the analyst keeps the file until a run has waited out its bounded lock wait and failed (a fixed
            # hold would decide by timing how many of the sensor's runs it outlasts)
            blocked = daemon.wait_until(lambda: any(
                r.dagster_run.status == dg.DagsterRunStatus.FAILURE
                for r in daemon.instance.get_run_records(filters=dg.RunsFilter(job_name=DELIVERY_JOB_NAME))
            ), timeout=300, what="a run blocked by the reader")
            analyst.kill()
            idle = daemon.wait_until(lambda: landing_idle(rmj_env["landing"]) and daemon.unfinished() == 0,
                                     timeout=900, what="the deliveries")
            records = daemon.instance.get_run_records(filters=dg.RunsFilter(job_name=DELIVERY_JOB_NAME))
            planned = [Counter(e.dagster_event.event_specific_data.asset_key for e in daemon.instance.all_logs(
                r.dagster_run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED)) for r in records]
            log = (daemon.home / "daemon.log").read_text(errors="replace")
    finally:
        analyst.kill()
        analyst.wait()
    statuses = [r.dagster_run.status for r in reversed(records)]
    print(f"deliveries runs: {[s.value for s in statuses]}")
    assert blocked, "no deliveries run failed while the reader held the warehouse"
    assert idle, "the deliveries were not all processed"
    assert 1 <= len(records) <= MAX_ATTEMPTS + 1  # bounded: never one per file
    assert statuses[-1] == dg.DagsterRunStatus.SUCCESS
    spans = sorted((r.create_timestamp.timestamp(), r.end_time) for r in records)
    assert all(end <= next_start for (_, end), (next_start, _) in zip(spans, spans[1:]))  # never two at once
    assert dg.DagsterRunStatus.FAILURE in statuses  # the reader did block a run: it failed after its bounded wait
    assert "WarehouseLocked" in log or "backing off" in log
    with duckdb.connect(str(rmj_env["warehouse"]), read_only=True) as con:
        deliveries = con.execute("select count(*) from audit.deliveries").fetchone()[0]
        unreconciled = con.execute("select count(*) from intermediate.delivery_reconciliation where not reconciled").fetchone()[0]
    assert deliveries == len(files) and unreconciled == 0
    # each asset planned once per run, also for a run over a range of delivery partitions
    assert any(PARTITION_RANGE_START_TAG in r.dagster_run.tags for r in records)
    assert all(counts and set(counts.values()) == {1} for counts in planned)
