"""Same outputs whatever the path: the same deliveries through ``rmj process`` + ``rmj publish``, and the
daemon's way (the delivery sensor's ticks and their runs, then what the automation conditions request, then
an analyst's requests, each run as the job it names), give the same publications."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from rmj_dagster.assets.cbs.jobs import CBS_JOB_NAME
from rmj_dagster.assets.ceo.jobs import CEO_JOB_NAME
from rmj_dagster.generate import generate_deliveries
from rmj_dagster.partitions import add_ended_half_years
from rmj_dagster.resources import LandingZoneResource
from rmj_dagster.runner import periods_with_data, process, publish
from rmj_dagster.sensors import delivery_sensor
from rmj_dagster.sensors.delivery_sensor import DELIVERY_JOB_NAME
from tests.test_batch_properties import _published

TODAY = date(2026, 2, 1)
EVALUATION = datetime(2026, 2, 1, 12, tzinfo=UTC)  # after 15 January: the half-year due is 2025-H2


def _use(root: Path, files: list[Path], monkeypatch) -> None:
    for name, sub in (("RMJ_LANDING_DIR", "landing"), ("RMJ_WAREHOUSE", "w.duckdb"), ("RMJ_EXPORT_DIR", "exports"),
                      ("RMJ_SNAPSHOT", "snapshot.duckdb"), ("DAGSTER_HOME", "dagster_home")):
        monkeypatch.setenv(name, str(root / sub))
    (root / "landing" / "incoming").mkdir(parents=True)
    for path in files:
        shutil.copy2(path, root / "landing" / "incoming" / path.name)  # keeps the mtime: the day it was received


def _made(exports: Path) -> set[str]:
    folder = exports / "cbs"
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def _by_commands(root: Path, files: list[Path], monkeypatch) -> dict[str, bytes]:
    _use(root, files, monkeypatch)
    instance = dg.DagsterInstance.ephemeral()
    summary = process(instance=instance, now=EVALUATION)
    assert [period for period, _, _ in summary.cbs_periods] == ["2025-H2"]  # the one due, made by itself
    periods = periods_with_data()
    for year in periods["ceo"]:
        publish("ceo", year, instance=instance)
    for period in periods["cbs"]:
        if period not in _made(root / "exports"):
            publish("cbs", period, instance=instance)
    return _published(root / "exports")


def _by_the_daemons_way(root: Path, files: list[Path], monkeypatch) -> dict[str, bytes]:
    from rmj_dagster.definitions import build_defs

    _use(root, files, monkeypatch)
    defs = build_defs()  # resources from the environment as it is now
    instance = dg.DagsterInstance.ephemeral()
    add_ended_half_years(instance, EVALUATION)  # what the half_years sensor did when 2025-H2 ended
    conditions = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=EVALUATION - timedelta(minutes=1))
    cursor, runs = None, 0
    while True:  # the delivery sensor, tick by tick, each request run as its job
        context = dg.build_sensor_context(instance=instance, cursor=cursor,
                                          resources={"landing": LandingZoneResource(root=str(root / "landing"))})
        tick = delivery_sensor(context)
        if not isinstance(tick, dg.SensorResult):
            break
        for request in tick.dynamic_partitions_requests or []:
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        cursor = tick.cursor
        for request in tick.run_requests:
            assert defs.resolve_job_def(DELIVERY_JOB_NAME).execute_in_process(
                instance=instance, partition_key=request.partition_key, tags=request.tags).success
            runs += 1
    assert runs >= 1
    # what the automation condition sensor requests after those runs
    conditions = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=EVALUATION,
                                                   cursor=conditions.cursor)
    graph = defs.resolve_asset_graph()
    requested = {k: conditions.get_requested_partitions(k) for k in graph.get_all_asset_keys() if conditions.get_num_requested(k)}
    assert set().union(*requested.values()) == {"2025-H2"}
    assert defs.resolve_job_def(CBS_JOB_NAME).execute_in_process(
        instance=instance, partition_key="2025-H2", asset_selection=list(requested)).success
    # an analyst's requests: every CEO year (in order), the other half-years with data
    periods = periods_with_data()
    for year in periods["ceo"]:
        assert defs.resolve_job_def(CEO_JOB_NAME).execute_in_process(instance=instance, partition_key=year).success
    for period in periods["cbs"]:  # the partition keys are the periods' names
        if period not in _made(root / "exports"):
            assert defs.resolve_job_def(CBS_JOB_NAME).execute_in_process(instance=instance, partition_key=period).success
    return _published(root / "exports")


@pytest.mark.slow  # the whole chain twice, and every publication of two years twice
def test_the_command_path_and_the_daemon_path_publish_the_same_files(rmj_env, tmp_path, monkeypatch):
    generate_deliveries(tmp_path / "source", seed=31, scale=0.04, years=[2024, 2025], today=TODAY)
    files = sorted((tmp_path / "source" / "incoming").iterdir(), key=lambda p: (p.stat().st_mtime_ns, p.name))
    commands = _by_commands(tmp_path / "commands", files, monkeypatch)
    daemon = _by_the_daemons_way(tmp_path / "daemon", files, monkeypatch)
    assert {n.split("/")[0] for n in commands} == {"cbs", "ceo"}
    assert sorted(n for n in commands if n.startswith("cbs/") and n.endswith("manifest.json")) == [
        f"cbs/{p}/manifest.json" for p in ("2024-H1", "2024-H2", "2025-H1", "2025-H2")]
    assert daemon.keys() == commands.keys()
    assert [n for n in commands if daemon[n] != commands[n]] == []


@pytest.mark.slow  # a real dagster-daemon
def test_the_daemon_makes_the_half_year_due_by_itself_and_no_other(rmj_env, tmp_path):
    """The deployed path: the delivery sensor's runs, then the publication_policy sensor (running from the
    start, evaluated in the code server) makes the half-year due now; no other half-year and no CEO year."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from local_daemon import LocalDaemon, landing_idle

    from rmj_dagster.automation import due_half_year

    due = label = due_half_year(datetime.now(UTC))  # the partition key is the period's name (2025-H2)
    year = int(due[:4])
    # deliveries of the due half-year's year and the year before, as received by now
    generate_deliveries(tmp_path / "source", seed=5, scale=0.04, years=[year - 1, year], today=date.today())
    env = {
        "RMJ_LANDING_DIR": str(rmj_env["landing"]), "RMJ_WAREHOUSE": str(rmj_env["warehouse"]),
        "RMJ_EXPORT_DIR": str(rmj_env["exports"]), "RMJ_SNAPSHOT": str(tmp_path / "snapshot.duckdb"),
        "RMJ_PSEUDONYM_KEY": "daemon-policy-key-0123456789-0123456789", "GX_ANALYTICS_ENABLED": "False",
        "RMJ_SENSOR_INTERVAL_SECONDS": "2",
    }
    with LocalDaemon(tmp_path / "dagster_home", env) as daemon:
        for path in (tmp_path / "source" / "incoming").iterdir():
            shutil.copy2(path, rmj_env["landing"] / "incoming" / path.name)
        manifest = rmj_env["exports"] / "cbs" / label / "manifest.json"
        made = daemon.wait_until(lambda: landing_idle(rmj_env["landing"]) and manifest.exists() and daemon.unfinished() == 0,
                                 timeout=900, what=f"the CBS extract {label}")
        runs = daemon.runs()
    assert made, f"the daemon did not make {label}; see {tmp_path / 'dagster_home' / 'daemon.log'}"
    assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs), [(r.job_name, r.status.value) for r in runs]
    assert sorted(p.name for p in (rmj_env["exports"] / "cbs").iterdir()) == [label]  # never the others
    assert not (rmj_env["exports"] / "ceo").exists()  # a CEO year waits for an analyst
    policy_runs = [r for r in runs if r.tags.get("dagster/sensor_name") == "publication_policy"]
    assert policy_runs and all(r.tags.get("dagster/partition") == due for r in policy_runs)
