"""Great Expectations (GX 1.x) suites for the cleaned responses and the CBS extract.

Value sets come from the codebook, so the suites cannot drift from the rules they check. GX is
imported inside the functions, or by a worker process (``import_in_background``): it takes seconds to
import, and only the checks need it.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import multiprocessing
import multiprocessing.process
import os
import threading
from dataclasses import dataclass
from importlib.metadata import version
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING

from rmj_dagster import codebook

if TYPE_CHECKING:
    import pyarrow as pa

CBS_COLUMNS = (
    "aanbieder_agb",
    "toewijzingnummer",
    "datum_aanvang",
    "datum_einde",
    "reden_beeindiging",
    "tevredenheid_jeugdige",
    "zonder_hulp_verder_jeugdige",
    "tevredenheid_ouder",
    "zonder_hulp_verder_ouder",
)
"""The CBS extract's columns, in file order (outputs.md)."""


@dataclass(frozen=True)
class Outcome:
    success: bool
    evaluated: int  # expectations in the suite
    failures: list[dict]  # expectation type, column, unexpected count (and any label): never a value

    def labelled(self, **label: str) -> Outcome:
        """The outcome with ``label`` (e.g. the period validated) on each failure."""
        return Outcome(self.success, self.evaluated, [label | failure for failure in self.failures])


def merged(parts: list[Outcome]) -> Outcome:
    """One outcome of a suite validated in parts (slices of the rows; periods, their failures labelled):
    failed where a part failed, each failure once per expectation, column and label with the unexpected
    rows of every part added up."""
    counts: dict[tuple, int | None] = {}
    for part in parts:
        for failure in part.failures:
            found = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in failure.items() if k != "unexpected_count")
            count = failure["unexpected_count"]  # None for a table-wide expectation
            counts[found] = count if found not in counts or count is None else (counts[found] or 0) + count
    failures = [{k: list(v) if isinstance(v, tuple) else v for k, v in found} | {"unexpected_count": count}
                for found, count in counts.items()]
    return Outcome(all(p.success for p in parts), max((p.evaluated for p in parts), default=0), failures)


def _item(name: str) -> dict[str, str]:
    return next(r for r in codebook.rows("cem_items") if r["item"] == name)


def _answer_set(name: str) -> list[int]:
    item = _item(name)
    values = list(range(int(item["min_value"]), int(item["max_value"]) + 1))
    if item["not_applicable_value"]:
        values.append(int(item["not_applicable_value"]))
    return values


def cleaned_responses_expectations(gx) -> list:
    e = gx.expectations
    expectations = [
        e.ExpectColumnValuesToNotBeNull(column=c) for c in ("aanbieder_agb", "gemeentecode", "vragenlijst", "invuldatum", "respondent_group", "care_type")
    ]
    expectations += [e.ExpectColumnValuesToBeInSet(column=f"q{i:02d}", value_set=_answer_set(f"q{i:02d}")) for i in range(1, 11)]
    expectations += [
        e.ExpectColumnValuesToBeInSet(column="vragenlijst", value_set=[r["vragenlijst"] for r in codebook.rows("vragenlijsten")]),
        e.ExpectColumnValuesToBeInSet(column="gemeentecode", value_set=sorted({r["reported_as"] for r in codebook.rows("region")})),
        e.ExpectColumnValuesToMatchRegex(column="pseudoniem", regex=r"^[0-9a-f]{64}$"),
        e.ExpectColumnValuesToMatchRegex(column="aanbieder_agb", regex=r"^[0-9]{8}$"),
    ]
    return expectations


def cbs_extract_expectations(gx) -> list:
    e = gx.expectations
    categories = sorted({r["cbs_categorie"] for r in codebook.rows("reden_beeindiging") if r["cbs_categorie"]})
    ratings = [str(v) for v in _answer_set("q09")]
    zonder = [f"{v:02d}" for v in _answer_set("q10")]
    return [
        e.ExpectTableColumnsToMatchOrderedList(column_list=list(CBS_COLUMNS)),
        e.ExpectColumnValuesToMatchRegex(column="aanbieder_agb", regex=r"^[0-9]{8}$"),
        e.ExpectColumnValuesToNotBeNull(column="datum_aanvang"),
        e.ExpectColumnValuesToMatchRegex(column="datum_aanvang", regex=r"^[0-9]{8}$"),
        e.ExpectColumnValuesToMatchRegex(column="datum_einde", regex=r"^[0-9]{8}$"),
        e.ExpectColumnValuesToBeInSet(column="reden_beeindiging", value_set=categories),
        e.ExpectColumnValuesToBeInSet(column="tevredenheid_jeugdige", value_set=ratings),
        e.ExpectColumnValuesToBeInSet(column="tevredenheid_ouder", value_set=ratings),
        e.ExpectColumnValuesToBeInSet(column="zonder_hulp_verder_jeugdige", value_set=zonder),
        e.ExpectColumnValuesToBeInSet(column="zonder_hulp_verder_ouder", value_set=zonder),
        e.ExpectCompoundColumnsToBeUnique(column_list=["aanbieder_agb", "toewijzingnummer", "datum_aanvang"]),
    ]


def suite_version() -> str:
    """What a suite's verdict depends on besides the rows: the suites (this module), their value sets (the
    codebook) and GX itself. A validation under another version proves nothing of this one."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for name in codebook.TABLES:
        digest.update(codebook.path(name).read_bytes())
    digest.update(version("great_expectations").encode())
    return digest.hexdigest()[:12]


def _import_gx():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations

    return great_expectations


_worker: list[tuple[multiprocessing.process.BaseProcess, Connection]] = []  # this process's GX worker, once started
_asking = threading.Lock()  # one suite at a time through the worker's pipe
_answered = threading.Event()  # the worker has answered once: GX is imported, it waits in its loop
_IDLE_EXIT_WAIT_S = 60


def import_in_background() -> multiprocessing.process.BaseProcess:
    """Start a worker process that imports GX, once per process; :func:`validate` then runs its suites there.

    Importing GX takes seconds of interpreter time. A thread would hold the interpreter lock that
    loading Dagster and running the first steps need, so on two cores it adds its whole import to the
    command's time; a process imports on the other core. ``rmj`` starts it before loading Dagster
    (``process`` asks too, for callers that did not). The frame of a suite travels to it through a pipe,
    in memory (pseudonymised rows only: the checks read the warehouse); only the outcome comes back,
    which names no value. Runs launched by a daemon, whose steps are processes of their own, never start
    it and validate in their own process."""
    if not _worker:
        spawn = multiprocessing.get_context("spawn")  # a fork of a process with threads may deadlock
        ours, theirs = spawn.Pipe()
        worker = spawn.Process(target=_serve, args=(theirs,), name="rmj-gx", daemon=True)
        worker.start()
        theirs.close()
        _worker.append((worker, ours))
        atexit.register(_stop_worker)
    return _worker[0][0]


def _stop_worker() -> None:
    """Close the pipe: the worker leaves its loop and exits on its own, releasing what GX made (a worker
    killed instead leaves the resource tracker warning of leaked semaphores). A worker that has answered waits
    in its loop and leaves at once, so it is waited for (on a loaded machine being scheduled took over 2 s);
    one still importing GX (a command with nothing to validate ends quickly) gets 2 s, then is ended."""
    worker, pipe = _worker[0]
    pipe.close()
    worker.join(timeout=_IDLE_EXIT_WAIT_S if _answered.is_set() else 2)
    if worker.is_alive():
        worker.terminate()
        worker.join(timeout=2)


def _serve(pipe: Connection) -> None:
    """The worker: import GX at once, then validate each (frame, name, suite) received until the pipe closes."""
    _import_gx()
    while True:
        try:
            rows, name, expectations_for = pipe.recv()
        except (EOFError, OSError):
            _leave()
        try:
            answer = ("outcome", _validate(rows, name, expectations_for))
        except Exception as error:  # raised in the caller's step, as if it had validated itself
            answer = ("error", error)
        del rows
        pipe.send(answer)
        _give_back_memory()


def _give_back_memory() -> None:
    """Return the memory of the suite just run to the system. The worker lives as long as the command, and
    the frame of a run's responses (about 0.4 GiB for 590k rows) would otherwise stay in its heap: freed
    but kept by the allocators, on top of the command's own peak while the next steps run."""
    import ctypes
    import gc

    import pyarrow

    gc.collect()
    pyarrow.default_memory_pool().release_unused()
    with contextlib.suppress(OSError, AttributeError):  # glibc only (Linux); elsewhere the heap is kept
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _leave() -> None:
    """End the worker at once: multiprocessing's own exit work (the semaphores GX's libraries made are
    released), then no teardown of the GX-laden interpreter, which took over a second on the command's
    way out. The worker holds nothing to flush: it writes no file."""
    from multiprocessing import util

    util._exit_function()  # noqa: SLF001 -- what a process started by multiprocessing runs as it ends
    os._exit(0)


def validate(rows: pa.Table, name: str, expectations_for) -> Outcome:
    """Run a suite over rows (Arrow, as the check read them) in an ephemeral GX context; report failures
    without values.

    In the worker process when :func:`import_in_background` started one, else here. Rows travel as
    Arrow, so the command itself never imports pandas (over half a second); GX gets its frame there."""
    if _worker:
        worker, pipe = _worker[0]
        with _asking:
            if worker.is_alive():
                pipe.send((rows, name, expectations_for))
                kind, answer = pipe.recv()
                _answered.set()
                if kind == "error":
                    raise answer
                return answer
    return _validate(rows, name, expectations_for)


def _frame(rows: pa.Table):
    """The rows as pandas, converted by DuckDB as its ``.df()`` does (dates as datetime64, nullable
    integers): the frame the suites were written against."""
    import duckdb

    with duckdb.connect() as con:
        return con.sql("select * from rows").df()


# Expectations that judge each row on its own: a suite of only these gives, over slices of the rows, the
# outcome it gives over all of them (counts added up). Uniqueness and table shape need every row at once.
ROW_WISE = frozenset({"expect_column_values_to_not_be_null", "expect_column_values_to_be_in_set",
                      "expect_column_values_to_match_regex"})


def _validate(rows: pa.Table, name: str, expectations_for, chunk_rows: int | None = None) -> Outcome:
    """Validate ``rows`` with the suite; a row-wise suite in slices of ``gx_chunk_rows`` (codebook) rows, so
    the pandas frame GX works on stays a slice's size (a run's responses as one frame took ~0.5 GiB)."""
    gx = _import_gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    batches = context.data_sources.add_pandas(name).add_dataframe_asset(name).add_batch_definition_whole_dataframe("all")
    suite = gx.ExpectationSuite(name=name)
    for expectation in expectations_for(gx):
        suite.add_expectation(expectation)
    chunk = chunk_rows or int(codebook.parameter("gx_chunk_rows"))
    if not all(e.expectation_type in ROW_WISE for e in suite.expectations):
        chunk = max(rows.num_rows, 1)  # needs every row at once
    parts = []
    for offset in range(0, max(rows.num_rows, 1), chunk):
        result = batches.get_batch(batch_parameters={"dataframe": _frame(rows.slice(offset, chunk))}).validate(
            suite, result_format="BASIC")
        parts.append(Outcome(result.success, len(result.results), [
            {
                "expectation": r.expectation_config.type,
                "column": r.expectation_config.kwargs.get("column") or r.expectation_config.kwargs.get("column_list"),
                "unexpected_count": r.result.get("unexpected_count"),
            }
            for r in result.results
            if not r.success
        ]))
    return merged(parts)
