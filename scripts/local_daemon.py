"""A real ``dagster-daemon`` on a temporary DAGSTER_HOME, for the year simulation and the daemon tests.

The home holds the project's ``dagster.yaml``, and the daemon gets the services' Dagster and GX switches from
``deploy/rmj.env`` (its paths and key settings are the caller's); it loads the code location from the project's
``workspace.yaml`` and launches runs the way a server does (run queue, run workers in their own
processes). Runs outside the sensor are submitted with ``dagster job launch``, so they go through the
same queue.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg

PROJECT = Path(__file__).resolve().parents[1]
UNFINISHED = [
    dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING,
]


def service_switches() -> dict[str, str]:
    """The ``DAGSTER_*`` and ``GX_*`` lines of ``deploy/rmj.env``: what the systemd services run with."""
    lines = (PROJECT / "deploy" / "rmj.env").read_text(encoding="utf-8").splitlines()
    pairs = (line.split("=", 1) for line in lines if "=" in line and not line.lstrip().startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs if k.strip().startswith(("DAGSTER_", "GX_"))}


def _tool(name: str) -> str:
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else name


class LocalDaemon:
    """``with LocalDaemon(home, env) as daemon:`` runs ``dagster-daemon run`` until the block ends; ``wrapper``
    is put before its command line (``setpriv …``: the daemon without root's power to read any file)."""

    def __init__(self, home: Path, env: dict[str, str], wrapper: tuple[str, ...] = ()):
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        # initialised once, as `rmj ui` and the service units do: the daemon and its code server would
        # otherwise both create the SQLite storage at once (two alembic heads, Dagster's own race)
        from rmj_dagster import local_instance

        (self.home / "dagster.yaml").write_text(local_instance.home_config(self.home), encoding="utf-8")
        local_instance.ensure_home({"DAGSTER_HOME": str(self.home)})
        self.env = os.environ.copy() | service_switches() | env | {"DAGSTER_HOME": str(self.home)}
        self.wrapper = list(wrapper)
        self.process: subprocess.Popen | None = None
        self._instance: dg.DagsterInstance | None = None

    def __enter__(self) -> LocalDaemon:
        log = (self.home / "daemon.log").open("ab")
        self.process = subprocess.Popen(
            [*self.wrapper, _tool("dagster-daemon"), "run", "-w", str(PROJECT / "workspace.yaml")],
            cwd=PROJECT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        return self

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # the daemon and the code server it started
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        if self._instance is not None:
            self._instance.dispose()
            self._instance = None

    @property
    def instance(self) -> dg.DagsterInstance:
        if self._instance is None:
            self._instance = dg.DagsterInstance.from_config(str(self.home))
        return self._instance

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def launch(self, job: str, tags: dict[str, str]) -> None:
        """Submit a run to the queue as an operator would (``dagster job launch``)."""
        subprocess.run(
            [_tool("dagster"), "job", "launch", "-j", job, "-w", str(PROJECT / "workspace.yaml"), "--tags", json.dumps(tags)],
            cwd=PROJECT, env=self.env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )

    def runs(self, job: str | None = None) -> list[dg.DagsterRun]:
        filters = dg.RunsFilter(job_name=job) if job else None
        return [r.dagster_run for r in self.instance.get_run_records(filters=filters)]

    def unfinished(self) -> int:
        return len(self.instance.get_run_records(filters=dg.RunsFilter(statuses=UNFINISHED)))

    def wait_until(self, done, timeout: float, poll: float = 2.0, what: str = "the daemon") -> bool:
        """Poll ``done()`` until it holds twice in a row; False on timeout or when the daemon died."""
        deadline, streak = time.monotonic() + timeout, 0
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"dagster-daemon exited while waiting for {what}; see {self.home / 'daemon.log'}")
            streak = streak + 1 if done() else 0
            if streak >= 2:
                return True
            time.sleep(poll)
        return False


def landing_idle(landing: Path) -> bool:
    """Nothing left in ``incoming/`` (markers and hidden files aside) and nothing claimed. A folder that vanishes
    while it is read (a run removing a delivery's ``received/`` folder once it is stored) means not idle yet."""
    try:
        incoming = [p for p in (landing / "incoming").iterdir() if not p.name.startswith(".") and not p.name.endswith(".done")] \
            if (landing / "incoming").is_dir() else []
        claimed = [p for p in (landing / "received").glob("*/*")] if (landing / "received").is_dir() else []
    except FileNotFoundError:
        return False
    return not incoming and not claimed
