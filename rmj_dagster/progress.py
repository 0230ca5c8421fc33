"""Progress of long work (``rmj process``, ``rmj generate``): live on a terminal, one plain line per stage else.

``rmj process`` follows Dagster's own event stream: each job runs in a worker thread and the instance hands
every event of its run to a listener as it stores it. A stage is an asset group, one per package under
``rmj_dagster/assets/`` (intake, models, monitor, cbs, ceo). On a terminal a rich progress display shows the
stage running, deliveries done of all, rows per second and elapsed time; in a pipe or CI one line is printed
when a stage ends.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

import dagster as dg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

_PSEUDONYMISED = re.compile(r"^pseudonymised and stored: (.*?);")  # one line per stored batch
_STORED_KIND = re.compile(r"(\d+) \w+ \((\d+) rows\)")
_QUARANTINED_IN_TTP = re.compile(r"^delivery \w+ quarantined while loading")
# The business stages in the order data travel. Steps of a run follow the lineage, so a run reports a stage as
# done once a step of a later stage starts (a check or the codebook running late counts toward the current one).
STAGES = ("intake", "models", "monitor", "cbs", "ceo")
_SAME_AS = {"reference": "intake"}


def _is_terminal(stream: TextIO) -> bool:
    return hasattr(stream, "isatty") and stream.isatty()


class Reporter:
    """Where progress goes. ``live`` None: a rich display when ``stream`` is a terminal, plain lines otherwise."""

    def __init__(self, stream: TextIO | None = None, live: bool | None = None):
        self.stream = stream or sys.stderr
        self.live = _is_terminal(self.stream) if live is None else live
        self.started = time.monotonic()
        self._progress: Progress | None = None

    def __enter__(self) -> Reporter:
        if self.live:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
                console=Console(file=self.stream), transient=False,
            )
            self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()

    def line(self, text: str) -> None:
        """One plain line (prefixed with the time since start); on a terminal printed above the live display."""
        message = f"[{time.monotonic() - self.started:7.1f}s] {text}"
        if self._progress is not None:
            self._progress.console.print(message, markup=False, highlight=False)
        else:
            print(message, file=self.stream, flush=True)

    def task(self, description: str, total: int | None) -> _Task:
        return _Task(self, description, total)


class _Task:
    """One stage: live it updates a progress bar; plain it prints one line when done."""

    def __init__(self, reporter: Reporter, description: str, total: int | None):
        self.reporter, self.description, self.total = reporter, description, total
        self.started = time.monotonic()
        self.done, self.rows = 0, 0
        self._id = reporter._progress.add_task(description, total=total, detail="") if reporter._progress else None

    def rate(self) -> float:
        return self.rows / max(time.monotonic() - self.started, 1e-6)

    def update(self, done: int | None = None, rows: int | None = None, total: int | None = None) -> None:
        self.done = self.done if done is None else done
        self.rows = self.rows if rows is None else rows
        self.total = self.total if total is None else total
        if self._id is not None:
            detail = f"{self.rows:,} rows, {self.rate():,.0f} rows/s" if self.rows else ""
            self.reporter._progress.update(self._id, completed=self.done, total=self.total, detail=detail)

    def finish(self, summary: str = "") -> None:
        seconds = time.monotonic() - self.started
        if self._id is not None:
            self.reporter._progress.update(self._id, completed=self.total or self.done, detail=summary or "done")
        else:
            rows = f", {self.rows:,} rows ({self.rate():,.0f} rows/s)" if self.rows else ""
            counted = f", {self.done}/{self.total}" if self.total else ""
            self.reporter.line(f"{self.description}: done in {seconds:.1f} s{counted}{rows}" + (f"; {summary}" if summary else ""))


def _stage_of_step(defs: dg.Definitions) -> Callable[[str], str]:
    """Step key -> asset group (a check step takes the group of the asset it checks)."""
    graph = defs.resolve_asset_graph()
    groups: dict[str, str] = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.is_executable:
            groups["__".join(key.path)] = node.group_name
    for assets_def in defs.assets or []:
        if isinstance(assets_def, dg.AssetsDefinition) and len(assets_def.keys) > 1:
            groups[assets_def.node_def.name] = next(iter(assets_def.group_names_by_key.values()))
    names = sorted(groups, key=len, reverse=True)

    def stage(step_key: str) -> str | None:
        group = next((groups[n] for n in names if step_key == n or step_key.startswith(n + "_")), None)
        return _SAME_AS.get(group, group)

    return stage


def follow_run(reporter: Reporter, defs: dg.Definitions, job_name: str, instance: dg.DagsterInstance, run_id: str,
               execute: Callable[[], object], deliveries: int = 0) -> object:
    """Run ``execute`` (which launches run ``run_id`` in this process on ``instance``) in a thread and report
    its stages from its events as the instance stores them (an event listener: no polling of the event log,
    which cost the run CPU)."""
    stage_of = _stage_of_step(defs)
    outcome: dict[str, object] = {}
    state = {"current": None, "task": None, "done": 0, "rows": 0}

    def switch(stage: str | None, final: bool = False) -> None:
        current, task = state["current"], state["task"]
        if not final and (stage is None or stage == current or (
                current in STAGES and (stage not in STAGES or STAGES.index(stage) < STAGES.index(current)))):
            return  # stages only move forward
        if task is not None:
            if current == "intake" and deliveries:
                task.update(done=deliveries)  # those quarantined on receipt are done without a TTP message
            task.finish()
        state["current"] = stage
        total = deliveries if stage == "intake" and deliveries else None
        state["task"] = reporter.task(f"{job_name} · {stage}", total) if stage else None

    def on_event(entry) -> None:  # called in the run's thread for every event stored
        event = entry.dagster_event
        if event is not None and event.event_type_value == "STEP_START" and event.step_key:
            switch(stage_of(event.step_key))
        message = entry.user_message or ""
        pseudonymised = _PSEUDONYMISED.match(message)
        if pseudonymised or _QUARANTINED_IN_TTP.match(message):
            stored = _STORED_KIND.findall(pseudonymised.group(1)) if pseudonymised else [("1", "0")]
            state["done"] += sum(int(n) for n, _ in stored)
            state["rows"] += sum(int(r) for _, r in stored)
            if state["task"] is not None:
                state["task"].update(done=state["done"], rows=state["rows"])

    def shown(show: Callable[[], None]) -> None:
        try:
            show()
        except Exception as error:  # showing progress must never fail the run it shows
            outcome.setdefault("display_error", error)

    def work() -> None:
        try:
            outcome["result"] = execute()
        except BaseException as error:  # re-raised in the caller's thread
            outcome["error"] = error

    instance.add_event_listener(run_id, lambda entry: shown(lambda: on_event(entry)))
    worker = threading.Thread(target=work, name=f"rmj-{job_name}", daemon=True)
    worker.start()
    worker.join()  # a lock wait: Ctrl-C still reaches this thread
    shown(lambda: switch(None, final=True))
    if "display_error" in outcome:
        reporter.line(f"progress display failed (the run itself went on): {outcome['display_error']!r}")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome.get("result")
