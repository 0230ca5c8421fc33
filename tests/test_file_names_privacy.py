"""File names are data too (delivery contract v1; issue 8, must-hold 5).

Unit: the stored name is derived (kind, the content's AGB, day received, number), never cleaned. End to end:
deliveries named after a client (surname, BSN and birth date in many spellings) go through ``rmj process``
and through the real Dagster daemon
(sensor, run launcher) on a DAGSTER_HOME under tmp_path, and none of those tokens is found afterwards in
the warehouse, the exports, the instance's storage (run, event log, schedule/sensor storage, compute
logs: every SQLite database dumped as text, every other file read) or the console output.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from tests.conftest import PROJECT_ROOT, TEST_KEY
from tests.console_capture import run_captured
from tests.jw307_samples import jw307
from tests.polling import wait_for
from tests.stored_text import database_as_text

sys.path.insert(0, str(PROJECT_ROOT / "scripts"))
from local_daemon import LocalDaemon  # noqa: E402

BSN = "123456782"
BIRTH = ("2011-06-01", "20110601", "01-06-2011")
NAMES = ("Jansen", "Oosterhuis", "Brinkhorst")
TOKENS = (BSN, *BIRTH, *NAMES)


@pytest.mark.parametrize(
    ("kind", "agb", "expected"),
    [
        ("responses", "74968677", "responses_74968677_20250131_003.csv"),
        ("stop_zorg", "20110601", "stop_zorg_onbekend_20250131_003.csv"),  # a date in the AGB field
        ("goals", "12345678 ", "goals_12345678_20250131_003.csv"),
        ("goals", "123456782", "goals_onbekend_20250131_003.csv"),  # a BSN in the AGB field
        ("goals", "Jansen", "goals_onbekend_20250131_003.csv"),
        (None, None, "onbekend_onbekend_20250131_003.csv"),
        ("Jansen 1 juni 2011", "7496867７", "onbekend_onbekend_20250131_003.csv"),  # only known parts, ASCII digits
    ],
)
def test_a_stored_name_is_derived_from_what_the_pipeline_knows(kind, agb, expected):
    from datetime import datetime

    from rmj_dagster.intake.file_names import derived_name

    assert derived_name(kind, agb, datetime(2025, 1, 31, 23, 59), 3, "csv") == expected


def test_derived_names_number_on_from_the_stored_receipts_in_the_order_received(tmp_path):
    """A run's receipts are named together: each prefix (kind, AGB, day) goes on from its stored receipts
    through the run's earlier ones, as if each had been registered before the next was named."""
    from datetime import datetime

    from rmj_dagster import warehouse
    from rmj_dagster.intake.file_names import derived_names
    from rmj_dagster.warehouse import ddl

    with warehouse.connect(tmp_path / "w.duckdb") as con:
        ddl.ensure_tables(con)
        day, next_day = datetime(2025, 1, 31, 8), datetime(2025, 2, 1, 8)
        con.execute("insert into audit.file_receipts values ('s1', 'd1', 'goals_74968677_20250131_001.csv', 1, ?, "
                    "'processed', ?, null, null), ('s1', 'd1', 'goals_74968677_20250131_002.csv', 1, ?, 'duplicate', ?, "
                    "null, null)", [day] * 4)
        assert derived_names(con, [("goals", "74968677", day, "csv"), ("goals", "74968677", next_day, "csv"),
                                   ("goals", "Jansen", day, "csv"), ("goals", "74968677", day, "csv"),
                                   (None, None, day, "xlsx"), ("goals", None, day, "csv")]) == [
            "goals_74968677_20250131_003.csv", "goals_74968677_20250201_001.csv", "goals_onbekend_20250131_001.csv",
            "goals_74968677_20250131_004.csv", "onbekend_onbekend_20250131_001.xlsx", "goals_onbekend_20250131_002.csv"]
        assert derived_names(con, []) == []


def test_the_extension_is_the_format_read_or_a_common_one():
    from rmj_dagster.intake.file_names import extension_for

    assert extension_for("jw307", "Jansen 123.456.782.csv") == "xml"
    assert extension_for(None, "Jansen.XLSX") == "xlsx"
    assert extension_for(None, "Jansen.123 456 782") == "onbekend"


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


def _found(text: str) -> list[str]:
    return [token for token in TOKENS if token.lower() in text.lower()]


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
    console = run_captured([str(rmj), "process"], env=env, cwd=tmp_path, timeout=600)
    assert console.returncode == 0, console.stderr[-3000:]
    assert all(part in console.stdout for part in ("1 duplicate files", "3 loaded", "1 quarantined")), console.stdout

    # The same instance under the real daemon: the sensor sees new client-named files, its cursor and
    # ticks are stored, and it requests a run that the daemon launches.
    later = {"Jansen_123456782_2011-06-01 (2).csv": _cem("44"), "20110601 Oosterhuis.csv": _cem("45")}
    for name, content in later.items():
        (incoming / name).write_bytes(content)
        (incoming / f"{name}.done").touch()
    with LocalDaemon(home, env):
        wait_for("the sensor's run to end", lambda: _sensor_runs_ended(home), 420, interval=2.0)
    daemon_log = home / "daemon.log"

    wait_for("the warehouse to be released", lambda: _warehouse_free(tmp_path / "warehouse" / "rmj.duckdb"), 60, interval=2.0)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        launched = instance.get_run_records(filters=dg.RunsFilter(tags={"dagster/sensor_name": "delivery_sensor"}))
    assert [r.dagster_run.status for r in launched] == [dg.DagsterRunStatus.SUCCESS]
    assert not any(p.suffix == ".csv" for p in incoming.iterdir())
    with duckdb.connect(str(tmp_path / "warehouse" / "rmj.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from audit.deliveries where status = 'loaded'").fetchone()[0] == 5
    stored = _instance_text(home)
    assert "delivery_sensor" in stored and "deliveries_job" in stored  # the scan did read the instance
    assert "responses_12345678_" in stored  # ... and the names in it, derived
    assert _found(stored) == []
    warehouse_text = database_as_text(tmp_path / "warehouse" / "rmj.duckdb")
    assert "responses_12345678_" in warehouse_text
    assert _found(warehouse_text) == []
    exports = "\n".join(p.read_bytes().decode("utf-8", "replace") for p in (tmp_path / "exports").rglob("*") if p.is_file())
    assert _found(exports) == []
    assert _found(console.stdout + console.stderr) == []
    assert "onbekend_onbekend_" in console.stderr  # the quarantine warning, with the derived name
    assert _found(daemon_log.read_text()) == []
    reasons = [json.loads(p.read_text()) for p in (landing / "quarantine").glob("*.reason.json")]
    assert [r["file_name"][:18] for r in reasons] == ["onbekend_onbekend_"]


# A BSN in any spelling: its digits with up to two separators between each (dots, spaces, dashes, a
# zero-width or non-breaking space, raw or JSON-escaped), never inside a longer run of letters and digits.
_SEP = r"(?:[^0-9A-Za-z]|\\u200b|\\u00a0|\\xa0){0,2}"
BSN_ANY_SPELLING = re.compile(r"(?<![0-9A-Za-z])" + _SEP.join(BSN) + r"(?![0-9])")
SPELLED = ("123.456.782", "123 456 782", "123-456-782", "12345\u200b6782", "1 juni 2011", "2011-06-01", "20110601",
           "01-06-2011", "Jansen", "Oosterhuis", "Brinkhorst", "Vermeulen")


def _leaks(text: str) -> list[str]:
    found = [token for token in SPELLED if token.lower() in text.lower()]
    return found + [m[0] for m in BSN_ANY_SPELLING.finditer(text)]


def _bytes_text(path: Path) -> str:
    return path.read_bytes().decode("utf-8", "replace")


def test_a_file_name_holding_identifiers_in_any_spelling_is_stored_nowhere(tmp_path):
    """Issue 23, item 3: ``rmj process`` over files named with a BSN written with dots, spaces, dashes or a
    zero-width space, surnames and a birth date in words; not one of those strings, nor the BSN's digits in
    any spelling, is found in the warehouse, the snapshot, the exports, the landing zone's state and
    quarantine, the Dagster instance (SQLite bytes, compute logs) or the console."""
    landing, home = tmp_path / "landing", tmp_path / "dagster_home"
    incoming = landing / "incoming"
    incoming.mkdir(parents=True)
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    warehouse, snapshot = tmp_path / "warehouse" / "rmj.duckdb", tmp_path / "snapshot" / "rmj_marts.duckdb"
    env = {**os.environ, "DAGSTER_HOME": str(home), "RMJ_LANDING_DIR": str(landing), "RMJ_WAREHOUSE": str(warehouse),
           "RMJ_SNAPSHOT": str(snapshot), "RMJ_EXPORT_DIR": str(tmp_path / "exports"), "RMJ_PSEUDONYM_KEY": TEST_KEY,
           "RMJ_SETTLE_SECONDS": "0", "GX_ANALYTICS_ENABLED": "False", "DAGSTER_DISABLE_TELEMETRY": "1"}
    for name in ("RMJ_PSEUDONYM_KEY_FILE", "RMJ_PSEUDONYM_KEY_LABEL", "RMJ_DEMO_MODE", "RMJ_RETAIN_ORIGINALS"):
        env.pop(name, None)
    files = {
        "Jansen_123.456.782_1 juni 2011.csv": _cem("42"),
        "OOSTERHUIS 123 456 782.csv": _cem("43"),
        "Brinkhorst 123-456-782 01-06-2011.xml": jw307(bsn=BSN).encode(),
        "Vermeulen 12345\u200b6782 20110601.csv": _cem("44"),
        "Jansen 123.456.782 2011-06-01 facturen.csv": b"factuurnummer;bedrag\n1;2\n",  # quarantined
        "Kopie OOSTERHUIS 123 456 782 (1 juni 2011).csv": _cem("43"),  # the same bytes again: a duplicate receipt
    }
    for name, content in files.items():
        (incoming / name).write_bytes(content)
    (incoming / "Jansen 123.456.782").mkdir()  # not a delivery: reported on the console
    (incoming / ".~lock.Vermeulen 123 456 782.csv#").write_text("lock")  # a hidden file: reported too
    console = run_captured([str(Path(sys.executable).with_name("rmj")), "process"], env=env, cwd=tmp_path, timeout=900)
    assert console.returncode == 0, console.stderr[-3000:]
    assert all(part in console.stdout for part in ("1 duplicate files", "4 loaded", "1 quarantined")), console.stdout
    assert "not processed" in console.stdout + console.stderr  # the folder and the hidden file, by inode

    day = time.strftime("%Y%m%d", time.gmtime())
    places = {
        "warehouse": database_as_text(warehouse),
        "snapshot": database_as_text(snapshot),
        "exports": "\n".join(f"{p.relative_to(tmp_path)}\n{_bytes_text(p)}" for p in (tmp_path / "exports").rglob("*") if p.is_file()),
        "console": console.stdout + console.stderr,
        "landing state": "\n".join(f"{p.name}\n{_bytes_text(p)}" for p in (landing / "state").rglob("*") if p.is_file()),
        "quarantine": "\n".join(str(p.relative_to(landing)) + ("\n" + _bytes_text(p) if p.name.endswith(".reason.json") else "")
                                for p in (landing / "quarantine").rglob("*")),
        "received": "\n".join(str(p) for p in (landing / "received").rglob("*")),
        "dagster storage": "\n".join(f"{p.relative_to(home)}\n{_bytes_text(p)}" for p in home.rglob("*") if p.is_file()),
        "dagster storage dumped": _instance_text(home),
    }
    leaks = {place: found for place, text in places.items() if (found := _leaks(text))}
    assert leaks == {}
    assert "deliveries_job" in places["dagster storage"] and f"responses_12345678_{day}_001.csv" in places["dagster storage"]
    assert f"responses_12345678_{day}_001.csv" in places["snapshot"]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = con.execute("select kind, file_name from audit.deliveries order by file_name").fetchall()
        receipts = con.execute("select file_name from audit.file_receipts order by file_name").fetchall()
    # numbered per kind, provider and day in the order received (the copy's receipt takes a number too)
    assert [n for (n,) in receipts] == [f"onbekend_onbekend_{day}_001.csv", *(f"responses_12345678_{day}_{n:03d}.csv" for n in (1, 2, 3, 4)),
                                        f"stop_zorg_12345678_{day}_001.xml"]
    assert len(names) == 5 and {n for _, n in names} < {n for (n,) in receipts}

    assert not any(p.name in files for p in landing.rglob("*") if not p.is_relative_to(incoming))
