"""Opening the DuckDB warehouse the same way everywhere: schemas, macros and owner-only file mode."""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from importlib.resources import files
from pathlib import Path

import duckdb

from rmj_dagster import codebook
from rmj_dagster.privacy import disclosure

SCHEMAS = ("ref", "audit", "pseudo", "staging", "intermediate", "marts")

LOCK_WAIT_SECONDS = 120.0
"""How long opening the warehouse waits, in all, while another process holds it (default)."""
_FIRST_BACKOFF, _MAX_BACKOFF = 0.5, 15.0
_log = logging.getLogger(__name__)


class WarehouseLocked(RuntimeError):
    """Another process held the warehouse file for longer than the wait allowed."""


class WarehouseDamaged(RuntimeError):
    """The warehouse file exists but DuckDB cannot read it (truncated, overwritten, a failed disk)."""


WAIT_REPORT_SECONDS = 5.0
"""While waiting for another process's lock, say whom we wait for at most this often."""

# What DuckDB says of a file it cannot read as a database; anything else on opening is raised as it is.
_DAMAGE_SIGNS = ("Could not read enough bytes", "not a valid DuckDB database file", "Corrupt", "checksum",
                 "Serialization Error", "INTERNAL Error")


def _is_lock_conflict(error: Exception) -> bool:
    return isinstance(error, duckdb.IOException) and "Could not set lock" in str(error)


def _damaged(path: Path, error: Exception) -> WarehouseDamaged | None:
    """A ``WarehouseDamaged`` with the restore steps when ``error`` says the file is no readable database."""
    text = str(error)
    if not any(sign.lower() in text.lower() for sign in _DAMAGE_SIGNS):
        return None
    first_line = text.splitlines()[0].replace(str(path), "the file")[:200]
    return WarehouseDamaged(
        f"the warehouse {path} is damaged and cannot be opened ({first_line}). Nothing was changed. "
        "Restore it: stop the daemon and the webserver, put back the last backup of the warehouse file "
        "(and of the instance storage, docs/operations.md 'A damaged warehouse'), start them again; "
        "deliveries received after that backup are processed again from received/ and landing/incoming/."
    )


def _holder(error: Exception) -> str:
    found = re.search(r"Conflicting lock is held in (.+?) \(PID (\d+)\)", str(error))
    return f"{found.group(1)} (PID {found.group(2)})" if found else "another process"


def open_with_backoff(path: Path, *, read_only: bool, wait_seconds: float | None = None,
                      sleep=time.sleep, clock=time.monotonic,
                      report: Callable[[str], None] | None = None) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect`` that waits out another process's lock, backing off 0.5 s, 1 s, 2 s … 15 s.

    DuckDB lets one process open a file for writing, and a read-only connection held elsewhere (an
    analyst's SQL client) blocks it. A run waits for it up to ``wait_seconds`` (``RMJ_WAREHOUSE_LOCK_WAIT``,
    default 120 s) and then fails with ``WarehouseLocked`` naming the holder, so the sensor's bounded,
    backed-off retry takes over instead of a crash on the first "Could not set lock". While it waits it says
    whom for, every ``WAIT_REPORT_SECONDS`` at most, through ``report`` (default: the ``rmj_dagster.warehouse``
    logger, which a run's log and ``rmj process`` show). A file DuckDB cannot read raises ``WarehouseDamaged``.
    """
    if wait_seconds is None:
        from rmj_dagster.settings import ENV_WAREHOUSE_LOCK_WAIT, seconds

        wait_seconds = seconds(ENV_WAREHOUSE_LOCK_WAIT, LOCK_WAIT_SECONDS)
    report = report or _log.warning
    started = clock()
    deadline, delay, tries, reported = started + wait_seconds, _FIRST_BACKOFF, 0, None
    while True:
        tries += 1
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as error:
            if not _is_lock_conflict(error):
                damaged = _damaged(path, error) if path.exists() else None
                if damaged is not None:
                    raise damaged from None
                raise
            now = clock()
            if reported is None or now - reported >= WAIT_REPORT_SECONDS:
                reported = now
                report(f"waiting for the warehouse: it is held by {_holder(error)} (another run, or a program "
                       f"reading the live file); waited {now - started:.0f} s of at most {wait_seconds:.0f} s")
            remaining = deadline - clock()
            if remaining <= 0:
                raise WarehouseLocked(
                    f"the warehouse {path} is held by {_holder(error)}; gave up after {tries} attempt(s) in "
                    f"{wait_seconds:.0f} s. The live warehouse file is the pipeline's alone: analysts and BI "
                    "tools read the snapshot (README, 'Reading the data'), never the live file."
                ) from None
            sleep(min(delay, remaining))
            delay = min(delay * 2, _MAX_BACKOFF)


def macros_sql() -> str:
    """The shared SQL macros (``dbt_like_sql/macros.sql``)."""
    return files("dbt_like_sql").joinpath("macros.sql").read_text(encoding="utf-8")


def _param_macro_sql() -> str:
    """``rmj_param(name)``: the codebook's numeric parameters as a macro (no table needed)."""
    cases = " ".join(
        f"when '{row['name']}' then {float(row['value'])!r}" for row in codebook.rows("parameters")
    )
    return f"create or replace temp macro rmj_param(p) as (case p {cases} end)::double;"


_HELD: dict[Path, duckdb.DuckDBPyConnection] = {}  # warehouse -> the connection that keeps it open here
_SPARE: dict[Path, list[duckdb.DuckDBPyConnection]] = {}  # warehouse held open -> prepared connections not in use


@contextmanager
def held_open(path: str | Path, report: Callable[[str], None] | None = None) -> Iterator[None]:
    """Keep the warehouse open in this process while the block runs (``rmj process``: its runs back to back).

    Each ``connect`` inside then joins the database already open, instead of opening the file, reading its
    catalog and checkpointing it on close again (~30 ms each, dozens of times in a run). A read-only
    request joins it as well: DuckDB refuses a second configuration of a file the process has open, and
    the process is the file's one writer anyway. A connection given back is kept for the next ``connect``,
    so its schemas and macros are made once (creating the macros took ~15 ms a connection, dozens of times
    a run). Checkpointed and closed when the block ends.
    """
    from rmj_dagster.settings import duckdb_memory_limit

    path = Path(path)
    key = path.resolve()
    with _owner_only(path, read_only=False, report=report) as holder:
        holder.execute("set memory_limit = ?", [duckdb_memory_limit()])  # the open database would keep all it read
        _HELD[key], _SPARE[key] = holder, []
        try:
            yield
        finally:
            del _HELD[key]
            for con in _SPARE.pop(key):
                con.close()


def _given_back(con: duckdb.DuckDBPyConnection) -> None:
    """Leave a kept connection as a new one would be, but for its macros: no open transaction (closing would
    roll it back), no temporary table or view (a step's rows, the TTP step's values: gone with its connection)."""
    with suppress(duckdb.TransactionException):  # none open: the usual case
        con.execute("rollback")
    leftovers = con.execute(
        "select 'view', view_name from duckdb_views() where temporary and not internal "
        "union all select 'table', table_name from duckdb_tables() where temporary").fetchall()
    for kind, name in leftovers:  # views first: they may read the tables
        con.execute(f'drop {kind} if exists temp.main."{name}"')


@contextmanager
def _owner_only(path: Path, *, read_only: bool,
                report: Callable[[str], None] | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """``open_with_backoff`` with the file (and its WAL, which holds row data) owner-only: born so, and set so
    again when a writing connection closes. Always closed on exit."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    previous_umask = os.umask(0o077)  # a new database file (and its WAL) is born owner-only
    try:
        con = open_with_backoff(path, read_only=read_only, report=report)
    finally:
        os.umask(previous_umask)
    try:
        yield con
    finally:
        con.close()
    if not read_only:
        for candidate in (path, path.with_name(path.name + ".wal")):
            if candidate.exists():
                os.chmod(candidate, 0o600)


@contextmanager
def connect(path: str | Path, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse with every schema and macro in place; always closed on exit.

    The file is created readable by its owner only: it holds pseudonymised person-level data. While
    another process holds the file, opening waits with backoff (see ``open_with_backoff``).
    """
    path = Path(path)
    spare = _SPARE.get(path.resolve())
    if spare is not None:  # held open here: a kept connection, or a new one kept when given back (held_open)
        try:
            con = spare.pop()
        except IndexError:
            con = open_with_backoff(path, read_only=False)
            _prepare(con, read_only=False)
        try:
            yield con
        except BaseException:
            con.close()  # in whatever state the failure left it: never handed out again
            raise
        _given_back(con)
        spare.append(con)
        return
    with _owner_only(path, read_only=read_only) as con:
        _prepare(con, read_only=read_only)
        yield con


def _prepare(con: duckdb.DuckDBPyConnection, *, read_only: bool) -> None:
    """Every schema (when writing), the codebook parameters and the shared macros on a new connection."""
    if not read_only:
        for schema in SCHEMAS:
            con.execute(f"create schema if not exists {schema}")
    con.execute(_param_macro_sql())
    con.execute(macros_sql())
    disclosure.register(con)


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """One transaction: committed when the block ends, rolled back when it raises (a kill loses it whole)."""
    con.execute("begin transaction")
    try:
        yield con
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


def table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, name = qualified.split(".")
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchone()[0]
    )


def row_count(con: duckdb.DuckDBPyConnection, qualified: str) -> int:
    return int(con.execute(f"select count(*) from {qualified}").fetchone()[0])


def column_schema(con: duckdb.DuckDBPyConnection, qualified: str) -> list[tuple[str, str]]:
    """(name, type) of every column in order (Dagster's column-schema metadata, the identifier scans).

    ``duckdb_columns()``, the catalog itself, answers in a fraction of the ~10 ms ``information_schema.columns``
    takes on the warehouse; every step asks it of what it wrote."""
    schema, name = qualified.split(".")
    return con.execute(
        "select column_name, data_type from duckdb_columns() where database_name = current_database() "
        "and schema_name = ? and table_name = ? order by column_index",
        [schema, name],
    ).fetchall()
