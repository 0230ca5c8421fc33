"""File names are data too (delivery contract v1; issue 8, must-hold 5).

Unit: ``safe_name`` replaces BSNs, dates in every accepted form and names. End to end: deliveries named
after a client (surname, BSN, birth date) go through ``rmj process`` and through the real Dagster daemon
(sensor, run launcher) on a DAGSTER_HOME under tmp_path, and none of those tokens is found afterwards in
the warehouse, the exports, the instance's storage (run, event log, schedule/sensor storage, compute
logs: every SQLite database dumped as text, every other file read) or the console output.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from rmj_dagster.intake.file_names import safe_name
from tests.conftest import PROJECT_ROOT, TEST_KEY
from tests.jw307_samples import jw307

BSN = "123456782"
BIRTH = ("2011-06-01", "20110601", "01-06-2011")
NAMES = ("Jansen", "Oosterhuis", "Brinkhorst")
TOKENS = (BSN, *BIRTH, *NAMES)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Jansen_123456782_2011-06-01.csv", "<naam>_<bsn>_<datum>.csv"),
        ("123456782", "<bsn>"),
        ("2024-01-15", "<datum>"),
        ("van der Meer 01-06-2011.xml", "<naam> <datum>.xml"),
        ("Öztürk20110601_123456782.xml", "<naam><datum>_<bsn>.xml"),
        ("12345678_1-6-2011.csv", "<bsn>_<datum>.csv"),  # 012345678? no: 8 digits passing the 11-proef padded
        ("client 23456789 01.06.11.csv", "<naam> 23456789 <datum>.csv"),  # an AGB-like 8-digit number stays
        ("El Amrani 12345678220110601.csv", "<naam> <nummer>.csv"),  # BSN and date written together
        ("cem_12345678_20250131.csv", "cem_12345678_<datum>.csv"),
        ("Export (3).CSV", "Export (3).CSV"),
        ("JW307-export_74968677_2025.csv", "JW307-export_74968677_2025.csv"),
        ("Doelrealisatie 2025 - 76819816.csv", "Doelrealisatie 2025 - 76819816.csv"),
    ],
)
def test_safe_name_replaces_identifiers(name, expected):
    if name.startswith("12345678_"):  # whether 012345678 passes decides; state it rather than assume it
        from rmj_dagster.ttp.bsn import passes_elfproef
        expected = expected if passes_elfproef("012345678") else "12345678_<datum>.csv"
    assert safe_name(name) == expected


def test_safe_name_is_bounded_and_has_no_control_characters():
    assert len(safe_name("a" * 255)) <= 120
    assert "\n" not in safe_name("Jansen\nFAKE LOG LINE.csv")


def _cem(toewijzing: str, birth: str = "2011-06-01") -> bytes:
    header = "aanbieder_agb;bsn;geboortedatum;gemeentecode;toewijzingnummer;vragenlijst;invuldatum;q01;q09;q10"
    return f"{header}\n12345678;{BSN};{birth};0363;{toewijzing};OUDERS_EINDE;2025-03-01;4;8;03\n".encode()


def _instance_text(home: Path) -> str:
    """Everything the Dagster instance stored, as text: SQLite databases dumped, other files read."""
    parts = []
    for path in sorted(home.rglob("*")):
        if not path.is_file():
            continue
        if path.suffix == ".db":
            with sqlite3.connect(path) as db:
                parts.append("\n".join(db.iterdump()))
        else:
            parts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


def _warehouse_text(db: Path) -> str:
    parts = []
    with duckdb.connect(str(db), read_only=True) as con:
        tables = con.execute("select schema_name, table_name from duckdb_tables()").fetchall()
        tables += con.execute("select schema_name, view_name from duckdb_views() where not internal").fetchall()
        for schema, table in tables:
            rows = con.execute(f'select * from "{schema}"."{table}"').fetchall()
            parts.append(json.dumps(rows, default=str))
    return "\n".join(parts)


def _found(text: str) -> list[str]:
    return [token for token in TOKENS if token.lower() in text.lower()]


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(2)
    raise AssertionError(f"timed out waiting for {what}")


def _sensor_runs_ended(home: Path) -> bool:
    """A run requested by the delivery sensor exists and every such run has ended."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_run_records(filters=dg.RunsFilter(tags={"dagster/sensor_name": "delivery_sensor"}))
    return bool(runs) and all(r.dagster_run.is_finished for r in runs)


def _warehouse_free(db: Path) -> bool:
    try:
        duckdb.connect(str(db), read_only=True).close()
    except duckdb.IOException:  # a process is still writing
        return False
    return True


@pytest.mark.slow  # a real dagster-daemon
def test_identifiers_in_file_names_reach_no_store_log_or_console(tmp_path):
    landing, home = tmp_path / "landing", tmp_path / "dagster_home"
    incoming = landing / "incoming"
    incoming.mkdir(parents=True)
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home), "RMJ_LANDING_DIR": str(landing),
           "RMJ_WAREHOUSE": str(tmp_path / "warehouse" / "rmj.duckdb"), "RMJ_EXPORT_DIR": str(tmp_path / "exports"),
           "RMJ_PSEUDONYM_KEY": TEST_KEY, "GX_ANALYTICS_ENABLED": "False", "DAGSTER_DISABLE_TELEMETRY": "1"}
    for name in ("RMJ_PSEUDONYM_KEY_FILE", "RMJ_PSEUDONYM_KEY_LABEL", "RMJ_DEMO_MODE", "RMJ_RETAIN_ORIGINALS"):
        env.pop(name, None)
    files = {
        "Jansen_123456782_2011-06-01.csv": _cem("42"),
        "123456782": _cem("43"),
        "van der Oosterhuis 01-06-2011.xml": jw307(bsn=BSN).encode(),
        "Brinkhorst_20110601_onleesbaar.csv": b"factuurnummer;bedrag\n1;2\n",  # quarantined
        "Kopie Jansen 123456782.csv": _cem("42"),  # the same bytes again: a duplicate receipt
    }
    for name, content in files.items():
        (incoming / name).write_bytes(content)
        (incoming / f"{name}.done").touch()
    rmj = Path(sys.executable).with_name("rmj")
    console = subprocess.run([str(rmj), "process"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert console.returncode == 0, console.stderr[-3000:]
    assert all(part in console.stdout for part in ("1 duplicate files", "3 loaded", "1 quarantined")), console.stdout

    # The same instance under the real daemon: the sensor sees new client-named files, its cursor and
    # ticks are stored, and it requests a run that the daemon launches.
    later = {"Jansen_123456782_2011-06-01 (2).csv": _cem("44"), "20110601 Oosterhuis.csv": _cem("45")}
    for name, content in later.items():
        (incoming / name).write_bytes(content)
        (incoming / f"{name}.done").touch()
    daemon_log = tmp_path / "daemon.log"
    with daemon_log.open("w") as log:
        daemon = subprocess.Popen([str(Path(sys.executable).with_name("dagster-daemon")), "run", "-w",
                                   str(PROJECT_ROOT / "workspace.yaml")], env=env, cwd=PROJECT_ROOT,
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_for(lambda: _sensor_runs_ended(home), 420, "the sensor's run to end")
        finally:
            os.killpg(daemon.pid, signal.SIGTERM)
            try:
                daemon.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(daemon.pid, signal.SIGKILL)
                daemon.wait()

    _wait_for(lambda: _warehouse_free(tmp_path / "warehouse" / "rmj.duckdb"), 60, "the warehouse to be released")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        launched = instance.get_run_records(filters=dg.RunsFilter(tags={"dagster/sensor_name": "delivery_sensor"}))
    assert [r.dagster_run.status for r in launched] == [dg.DagsterRunStatus.SUCCESS]
    assert not any(p.suffix == ".csv" for p in incoming.iterdir())
    with duckdb.connect(str(tmp_path / "warehouse" / "rmj.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from audit.deliveries where status = 'loaded'").fetchone()[0] == 5
    stored = _instance_text(home)
    assert "delivery_sensor" in stored and "deliveries_job" in stored  # the scan did read the instance
    assert "<naam>_<bsn>_<datum>" in stored  # ... and the names in it, safe
    assert _found(stored) == []
    warehouse_text = _warehouse_text(tmp_path / "warehouse" / "rmj.duckdb")
    assert "<naam>_<bsn>_<datum>.csv" in warehouse_text
    assert _found(warehouse_text) == []
    exports = "\n".join(p.read_bytes().decode("utf-8", "replace") for p in (tmp_path / "exports").rglob("*") if p.is_file())
    assert _found(exports) == []
    assert _found(console.stdout + console.stderr) == []
    assert "<naam>_<datum>_<naam>.csv" in console.stderr  # the quarantine warning, with the name made safe
    assert _found(daemon_log.read_text()) == []
    reasons = [json.loads(p.read_text()) for p in (landing / "quarantine").glob("*.reason.json")]
    assert [r["file_name"] for r in reasons] == ["<naam>_<datum>_<naam>.csv"]
