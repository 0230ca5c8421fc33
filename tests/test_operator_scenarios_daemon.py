"""What the operator is told, under the real daemon: a sensor without a usable key, a delivery the service may
not read and a damaged warehouse, walked in one daemon session (a daemon start costs ~30 s).

The daemon runs without root's power to read any file (``setpriv``), as the service user would, so a file of
mode 0000 is unreadable to it. What the sensor says is read from its ticks in the instance (public
``DagsterInstance`` API, what the UI's sensor page shows); what a run says from its step failure events.
"""

from __future__ import annotations

import os
import shutil
import sys
import time

import dagster as dg
import duckdb
import pytest

from tests.conftest import PROJECT_ROOT
from tests.test_daemon_recovery import _delivery_runs, _wait, daemon_env  # noqa: F401 (a fixture)

sys.path.insert(0, str(PROJECT_ROOT / "scripts"))
from local_daemon import LocalDaemon  # noqa: E402

pytestmark = [pytest.mark.slow,  # a real dagster-daemon
              pytest.mark.skipif(os.geteuid() == 0 and not shutil.which("setpriv"), reason="needs util-linux setpriv")]

CEM = ("aanbieder_agb;bsn;geboortedatum;gemeentecode;toewijzingnummer;vragenlijst;invuldatum\n"
       "12345678;111222333;2010-01-01;0363;1001;OUDERS_EINDE;2025-01-31\n")
SECRET = "file-key-0123456789-0123456789-abcdef-secret"
AS_SERVICE = ("setpriv", "--bounding-set=-dac_override,-dac_read_search") if os.geteuid() == 0 else ()


def sensor_ticks(instance: dg.DagsterInstance) -> list:
    """The delivery sensor's ticks, newest first, as the UI lists them."""
    states = [s for s in instance.all_instigator_state() if s.instigator_name == "delivery_sensor"]
    return list(instance.get_ticks(states[0].instigator_origin_id, states[0].selector_id, limit=100)) if states else []


def skipped_since(instance: dg.DagsterInstance, since: float, saying: str) -> list[str]:
    return [t.skip_reason for t in sensor_ticks(instance)
            if t.timestamp > since and saying in (t.skip_reason or "")]  # only a skipped tick has one


def failure_messages(instance: dg.DagsterInstance, run_id: str) -> str:
    texts = []
    for event in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        error = event.dagster_event.step_failure_data.error
        while error is not None:
            texts.append(error.message)
            error = error.cause
    return "\n".join(texts)


def test_the_operator_is_told_of_a_missing_key_an_unreadable_file_and_a_damaged_warehouse(daemon_env, tmp_path, monkeypatch):  # noqa: F811
    incoming, warehouse = daemon_env["landing"] / "incoming", daemon_env["warehouse"]
    key_file = tmp_path / "credentials" / "pseudonym.key"
    key_file.parent.mkdir()
    key_file.write_text("too-short-secret")
    key_file.chmod(0o600)
    for name in ("RMJ_PSEUDONYM_KEY", "RMJ_DEMO_MODE", "RMJ_PSEUDONYM_KEY_LABEL"):
        monkeypatch.delenv(name, raising=False)  # the daemon's environment starts from this process's
    env = {k: v for k, v in daemon_env["env"].items() if k not in ("RMJ_PSEUDONYM_KEY", "RMJ_DEMO_MODE")} | {
        "RMJ_PSEUDONYM_KEY_FILE": str(key_file), "RMJ_SENSOR_INTERVAL_SECONDS": "2",
        "RMJ_SETTLE_SECONDS": "0", "RMJ_RETRY_BACKOFF_SECONDS": "1"}

    # the last night's backup of a good warehouse, then the live file cut short by a full disk
    from rmj_dagster import warehouse as wh

    with wh.connect(warehouse):
        pass
    backup = tmp_path / "backup.duckdb"
    shutil.copyfile(warehouse, backup)
    with warehouse.open("r+b") as file:
        file.truncate(warehouse.stat().st_size // 3)

    (incoming / "cem_12345678_20250131.csv").write_text(CEM, encoding="utf-8")
    unreadable = incoming / "Jansen_123456782.csv"  # a name as received may hold a BSN: never shown
    unreadable.write_text(CEM, encoding="utf-8")
    unreadable.chmod(0o000)

    started = time.monotonic()
    with LocalDaemon(daemon_env["dagster_home"], env, wrapper=AS_SERVICE) as daemon:
        instance = daemon.instance
        # 1. no usable key: the sensor requests nothing and says why, with the unreadable file beside it
        said = _wait("a tick refusing the key", lambda: skipped_since(instance, 0, "the pseudonym key is not usable"), 120, 1.0)
        no_key_s = time.monotonic() - started
        reason = said[0]
        assert "no deliveries run requested (1 delivery(ies) wait)" in reason and "at least 32 are required" in reason
        assert "restart the daemon" in reason
        assert "1 file(s) in incoming/ cannot be read by this service" in reason and "docs/operations.md" in reason
        assert not instance.get_runs()

        # 2. the key is fixed (the file is read on every tick): the run that follows finds the warehouse damaged
        key_file.write_text(SECRET)
        first = _wait("the deliveries run", lambda: (_delivery_runs(instance) or [None])[0], 60, 1.0)
        failed = _wait("the run to fail", lambda: instance.get_run_record_by_id(first.run_id).dagster_run.status
                       == dg.DagsterRunStatus.FAILURE and instance.get_run_record_by_id(first.run_id), 180, 1.0)
        errors = failure_messages(instance, first.run_id)
        assert "is damaged and cannot be opened" in errors and "Restore it" in errors, errors[-2000:]
        assert "Could not read enough bytes" not in errors.split("is damaged")[0]  # named, not DuckDB's raw words
        # ... and the sensor says so, tick after tick, instead of retrying (the backoff alone is 1 s here)
        damaged = _wait("three ticks naming the damage",
                        lambda: len(skipped_since(instance, failed.end_time, "is damaged and cannot be opened")) >= 3 and
                        skipped_since(instance, failed.end_time, "is damaged and cannot be opened"), 60, 1.0)
        damage_s = time.monotonic() - started
        assert "once the warehouse file is replaced" in damaged[0] and "cannot be read by this service" in damaged[0]
        assert len(_delivery_runs(instance)) == 1

        # 3. restored from the backup (daemon left running: no run is under way): the delivery goes through
        shutil.copyfile(backup, warehouse)
        _wait("a run after the restore to succeed", lambda: any(
            r.status == dg.DagsterRunStatus.SUCCESS for r in _delivery_runs(instance)[1:]), 240, 2.0)
        _wait("the readable delivery taken", lambda: [p.name for p in incoming.iterdir()] == [unreadable.name]
              and not any((daemon_env["landing"] / "received").glob("*/*")), 60, 1.0)
        reasons = [t.skip_reason or "" for t in sensor_ticks(instance)]
        runs = _delivery_runs(instance)
    log = (daemon_env["dagster_home"] / "daemon.log").read_text(encoding="utf-8", errors="replace")
    print(f"\nkey refusal told after {no_key_s:.0f} s; damage told after {damage_s:.0f} s; "
          f"scenario {time.monotonic() - started:.0f} s; {len(runs)} deliveries run(s): {[r.status.value for r in runs]}")

    assert [r.status for r in runs] == [dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.SUCCESS]
    for text in [*reasons, log]:
        assert "Jansen" not in text and "123456782" not in text and "111222333" not in text
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from audit.deliveries").fetchone()[0] == 1
    assert unreadable.exists()  # left for a person to fix

