"""Readers never block the writer: a connection held by another process is waited out with backoff, up
to a bound with a clear error; analysts read the snapshot, which is replaced atomically after each run."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from rmj_dagster import warehouse
from rmj_dagster.generate import generate_deliveries
from rmj_dagster.runner import process, publish

HOLD = """
import duckdb, sys, time
con = duckdb.connect(sys.argv[1], read_only=True)
print(con.execute(sys.argv[3]).fetchone()[0], flush=True)
time.sleep(float(sys.argv[2]))
"""


def hold(path: Path, seconds: float, query: str = "select 1") -> subprocess.Popen:
    """Another process (an analyst's SQL client) holding a read-only connection for ``seconds``."""
    reader = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds), query], stdout=subprocess.PIPE, text=True)
    assert reader.stdout.readline().strip(), "the reader could not open the file"
    return reader


@pytest.fixture
def db(tmp_path) -> Path:
    path = tmp_path / "rmj.duckdb"
    with warehouse.connect(path) as con:
        con.execute("create table marts.t as select 1 as a")
    return path


def test_opening_waits_for_a_reader_in_another_process_and_then_writes(db):
    reader = hold(db, 3)
    started = time.monotonic()
    try:
        with warehouse.connect(db) as con:
            con.execute("insert into marts.t values (2)")
        waited = time.monotonic() - started
    finally:
        reader.kill()
        reader.wait()
    assert waited >= 1.5  # it waited for the reader instead of failing on "Could not set lock"
    with warehouse.connect(db, read_only=True) as con:
        assert con.execute("select count(*) from marts.t").fetchone()[0] == 2


def test_a_reader_that_stays_gets_a_clear_error_after_the_bounded_wait(db, monkeypatch):
    monkeypatch.setenv("RMJ_WAREHOUSE_LOCK_WAIT", "2")
    reader = hold(db, 30)
    started = time.monotonic()
    try:
        with pytest.raises(warehouse.WarehouseLocked) as refused, warehouse.connect(db):
            pass
    finally:
        reader.kill()
        reader.wait()
    assert 1.5 <= time.monotonic() - started < 10
    message = str(refused.value)
    assert f"PID {reader.pid}" in message and "snapshot" in message and "attempt" in message


def test_backoff_doubles_and_stays_within_the_wait(tmp_path):
    slept: list[float] = []
    now = [0.0]

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    path = tmp_path / "held.duckdb"
    duckdb.connect(str(path)).close()
    reader = hold(path, 30)
    try:
        with pytest.raises(warehouse.WarehouseLocked):
            warehouse.open_with_backoff(path, read_only=False, wait_seconds=40, sleep=sleep, clock=lambda: now[0])
    finally:
        reader.kill()
        reader.wait()
    assert slept[:6] == [0.5, 1, 2, 4, 8, 15] and sum(slept) == pytest.approx(40)


@pytest.mark.slow  # whole `rmj process` runs: a minute or more on the shared machine
def test_each_run_publishes_a_snapshot_that_analysts_can_hold_open_without_blocking_the_next_run(rmj_env, tmp_path, monkeypatch):
    snapshot = tmp_path / "snapshot" / "rmj_marts.duckdb"
    monkeypatch.setenv("RMJ_SNAPSHOT", str(snapshot))
    source = tmp_path / "source"
    generate_deliveries(source, seed=4, scale=0.05, years=[2025], today=date(2026, 2, 1))
    files = sorted((source / "incoming").iterdir())
    incoming = rmj_env["landing"] / "incoming"
    for path in files[: len(files) // 2]:
        shutil.copy2(path, incoming / path.name)
    process()
    publish("ceo", "2025")  # an analyst's request; its run ends with the snapshot too
    assert stat.S_IMODE(os.stat(snapshot).st_mode) == 0o600
    with duckdb.connect(str(snapshot), read_only=True) as con:
        tables = {r[0] for r in con.execute("select table_schema || '.' || table_name from information_schema.tables").fetchall()}
        first = con.execute("select count(*) from intermediate.delivery_reconciliation").fetchone()[0]
    assert {"marts.cbs_outcome_extract", "marts.ceo_indicators", "intermediate.delivery_reconciliation", "main.snapshot_info"} <= tables
    assert not any(t.startswith(("pseudo.", "staging.", "audit.")) for t in tables)

    analyst = hold(snapshot, 120, "select count(*) from intermediate.delivery_reconciliation")  # a BI tool stays connected
    try:
        for path in files[len(files) // 2:]:
            shutil.copy2(path, incoming / path.name)
        started = time.monotonic()
        process()  # the writer is not blocked by the analyst
        assert time.monotonic() - started < 300
    finally:
        analyst.kill()
        analyst.wait()
    with duckdb.connect(str(snapshot), read_only=True) as con:
        assert con.execute("select count(*) from intermediate.delivery_reconciliation").fetchone()[0] == len(files) > first
    assert not list(snapshot.parent.glob(".*.tmp*"))  # no temporary copy left behind


def test_rmj_process_keeps_one_database_open_for_its_runs_within_the_memory_limit(tmp_path, monkeypatch):
    """Inside ``held_open`` every connection, read-only requests too, joins the one open database, which
    holds the memory limit; afterwards the file is closed and another process may open it again."""
    path = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("RMJ_DUCKDB_MEMORY_LIMIT", "300MB")
    with warehouse.held_open(path):
        with warehouse.connect(path) as con:
            con.execute("create table audit.t as select 1 as x")
        with warehouse.connect(path, read_only=True) as con:  # no second configuration refused
            assert con.execute("select x from audit.t").fetchall() == [(1,)]
            limit = con.execute("select current_setting('memory_limit')").fetchone()[0]
            assert limit.endswith("MiB") and float(limit.split()[0]) < 300
    reader = subprocess.run([sys.executable, "-c", f"import duckdb; print(duckdb.connect({str(path)!r}, read_only=True)"
                             ".execute('select count(*) from audit.t').fetchone()[0])"], capture_output=True, text=True)
    assert reader.stdout.strip() == "1", reader.stderr


def test_a_connection_given_back_while_held_is_kept_with_its_macros_and_nothing_a_step_left(tmp_path, monkeypatch):
    """Inside ``held_open`` a connection given back serves the next ``connect`` without making the macros
    again; it comes back as a new one would: no temporary table or view (the TTP step's values live in
    those), no open transaction. One whose block failed is closed, never handed out again."""
    path = tmp_path / "warehouse.duckdb"
    made = []
    prepare = warehouse._prepare
    monkeypatch.setattr(warehouse, "_prepare", lambda con, **kw: (made.append(con), prepare(con, **kw)))
    with warehouse.held_open(path):
        with warehouse.connect(path) as first:
            first.execute("create table audit.t (x int)")
            first.execute("create temp table tripwire as select 'a value' as v")
            first.execute("create temp view tripwire_view as select * from tripwire")
            first.execute("begin transaction")
            first.execute("insert into audit.t values (1)")  # never committed: rolled back, as closing would
        with warehouse.connect(path, read_only=True) as again:
            assert again is first and len(made) == 1
            assert again.execute("select rmj_param('suppression_min_n')").fetchone()[0] is not None  # macros kept
            assert again.execute("select count(*) from duckdb_tables() where temporary").fetchone()[0] == 0
            assert again.execute("select count(*) from duckdb_views() where temporary and not internal").fetchone()[0] == 0
            assert again.execute("select count(*) from audit.t").fetchone()[0] == 0
            with warehouse.connect(path) as nested:  # in use above: another one
                assert nested is not again and len(made) == 2
        with pytest.raises(RuntimeError), warehouse.connect(path) as failing:
            raise RuntimeError("a step failed")
        with warehouse.connect(path) as after:
            assert after is not failing
    with pytest.raises(duckdb.ConnectionException):
        failing.execute("select 1")


def test_while_waiting_it_says_whom_for_every_few_seconds(tmp_path):
    """``rmj process`` started while another run holds the warehouse says whom it waits for, not nothing."""
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    path = tmp_path / "held.duckdb"
    duckdb.connect(str(path)).close()
    reader = hold(path, 30)
    said: list[tuple[float, str]] = []
    try:
        with pytest.raises(warehouse.WarehouseLocked):
            warehouse.open_with_backoff(path, read_only=False, wait_seconds=40, sleep=sleep, clock=lambda: now[0],
                                        report=lambda line: said.append((now[0], line)))
    finally:
        reader.kill()
        reader.wait()
    assert said, "nothing was said while waiting"
    assert all(f"PID {reader.pid}" in line for _, line in said)
    times = [t for t, _ in said]
    assert times[0] == 0 and all(b - a >= warehouse.WAIT_REPORT_SECONDS for a, b in zip(times, times[1:]))
    assert len(said) >= 40 // 15  # more than once over a long wait


@pytest.mark.parametrize("damage", ["truncate", "overwrite"])
def test_a_damaged_warehouse_is_named_damaged_with_the_restore_steps(rmj_env, capsys, damage):
    from rmj_dagster import cli

    path = rmj_env["warehouse"]
    with warehouse.connect(path) as con:
        con.execute("create table marts.t as select range as i from range(200000)")
    size = path.stat().st_size
    with path.open("r+b") as file:
        if damage == "truncate":
            file.truncate(size // 2)
        else:
            file.write(b"\0" * 4096)
    with pytest.raises(warehouse.WarehouseDamaged) as raised, warehouse.connect(path):
        pass
    message = str(raised.value)
    assert "damaged" in message and "restore" in message.lower() and "docs/operations.md" in message
    assert cli.main(["process"]) == 1  # not a traceback: the operator is told what happened and what to do
    err = capsys.readouterr().err
    assert "is damaged" in err and "Traceback" not in err
    assert path.stat().st_size == (size // 2 if damage == "truncate" else size)  # nothing was changed
