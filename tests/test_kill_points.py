"""SIGKILL ``rmj process`` at several points; ONE rerun finishes every delivery and all reconcile.

Killed while claiming or in the middle of the TTP step (``destroy``: some originals destroyed, the rest
waiting), the claimed deliveries not yet loaded keep their original in ``received/`` for the rerun. The
points are counted calls, never timing, so each is killed where it says.

The instance persists between the runs (a DAGSTER_HOME), as on a server: the rerun sees the killed
run's deliveries as known partitions and claims in ``received/``, and must finish all of them in one
run, not one per rerun. The kill is a real SIGKILL at a named point of the chain, so no cleanup code
runs (DuckDB keeps its write-ahead log, claims stay claimed).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from rmj_dagster import local_instance
from rmj_dagster.generate import generate_deliveries
from rmj_dagster.intake.kinds import KINDS
from tests.console_capture import run_captured

pytestmark = pytest.mark.slow  # SIGKILL at each point, and a rerun each time

PROJECT = Path(__file__).resolve().parents[1]

KILLER = """
import os, signal, sys
point, nth = sys.argv[1], int(sys.argv[2])
calls = [0]

def kill_at_call(owner, name):
    real = getattr(owner, name)
    def wrapped(*args, **kwargs):
        calls[0] += 1
        if calls[0] == nth:
            os.kill(os.getpid(), signal.SIGKILL)  # no cleanup of any kind runs
        return real(*args, **kwargs)
    setattr(owner, name, wrapped)

if point == "claim":  # while claiming files from incoming/ into received/
    from rmj_dagster.intake.landing_zone import LandingZone
    kill_at_call(LandingZone, "claim")
elif point == "ttp":  # in the middle of the TTP step
    from rmj_dagster.ttp import pseudonymise
    kill_at_call(pseudonymise, "load_deliveries")
elif point == "destroy":  # rows committed, original not yet destroyed
    from rmj_dagster.intake.landing_zone import LandingZone
    kill_at_call(LandingZone, "dispose")
elif point == "models":  # deliveries pseudonymised, staging and cleaning under way
    from rmj_dagster.warehouse import sql_models
    kill_at_call(sql_models, "run_model")
from rmj_dagster.cli import main
raise SystemExit(main(["process"]))
"""


def rmj_process(env: dict, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", KILLER, *args] if args else [sys.executable, "-m", "rmj_dagster.cli", "process"]
    return run_captured(command, env=env, cwd=PROJECT, timeout=timeout)


@pytest.fixture(scope="module")
def deliveries(tmp_path_factory) -> Path:
    """The landing zone every kill point starts from, generated once: each test copies it (mtimes kept)."""
    landing = tmp_path_factory.mktemp("deliveries")
    generate_deliveries(landing, seed=31, scale=0.1, years=[2025], today=date(2026, 2, 1), defect_rate=0.02)
    return landing


@pytest.mark.parametrize(("point", "nth", "new_file"), [("claim", 5, False), ("ttp", 4, False), ("destroy", 6, False),
                                                      ("models", 3, False), ("models", 3, True)])
def test_one_rerun_after_a_sigkill_finishes_every_delivery(rmj_env, tmp_path, deliveries, point, nth, new_file):
    home = tmp_path / "dagster_home"
    home.mkdir()
    # The project's own instance settings, pool limit included: the rerun must free the slot the killed
    # run holds (local_instance.reclaim_dead_runs) and finish the landing zone's claims in one run.
    (home / "dagster.yaml").write_text(local_instance.home_config(home), encoding="utf-8")
    env = os.environ | {"DAGSTER_HOME": str(home)}
    shutil.copytree(deliveries, rmj_env["landing"], dirs_exist_ok=True)
    incoming = rmj_env["landing"] / "incoming"
    files = len([p for p in incoming.iterdir()])

    killed = rmj_process(env, point, str(nth))
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    if new_file:  # a new delivery arrives before the rerun: its run reports the killed run's deliveries too
        source = next(p for p in sorted((deliveries / "incoming").glob("*.csv")) if p.name.startswith("cem"))
        lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
        new = incoming / f"new_{source.name}"
        new.write_text("".join(lines[:-1]), encoding="utf-8")  # other bytes: a delivery of its own
        os.utime(new, (source.stat().st_mtime, source.stat().st_mtime))  # complete, as the generated files are
        files += 1
    if point in ("claim", "ttp", "destroy"):  # killed before every original was pseudonymised and destroyed
        assert list((rmj_env["landing"] / "received").glob("*/*")), "claimed deliveries not yet loaded keep their original"

    rerun = rmj_process(env)  # ONE rerun
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "asset checks:" in rerun.stdout and ", 0 failed" in rerun.stdout
    assert not list((rmj_env["landing"] / "received").glob("*/*")), "a claim survived the rerun"
    assert not [p for p in incoming.iterdir() if not p.name.endswith(".done")]
    with duckdb.connect(str(rmj_env["warehouse"]), read_only=True) as con:
        deliveries = con.execute("select count(*) from audit.deliveries").fetchone()[0]
        statuses = dict(con.execute("select status, count(*) from audit.deliveries group by 1").fetchall())
        stored = con.execute(  # every kind's pseudo table, JW305 starts included
            "select " + " + ".join(f"(select count(*) from {kind.table})" for kind in KINDS.values())
        ).fetchone()[0]
        read = con.execute("select coalesce(sum(rows_read), 0) from audit.deliveries where status = 'loaded'").fetchone()[0]
        unreconciled = con.execute("select count(*) from intermediate.delivery_reconciliation where not reconciled").fetchone()[0]
        not_destroyed = con.execute("select count(*) from audit.deliveries where status = 'loaded' and destroyed_at is null").fetchone()[0]
    assert deliveries == files and set(statuses) <= {"loaded", "quarantined"}  # every file one delivery, none left 'received'
    if point == "models":  # nothing left to receive: the rerun finishes the killed run over its deliveries
        import dagster as dg

        from rmj_dagster.assets.asset_keys import asset_key
        from rmj_dagster.intake.partition_keys import delivery_id_of_key

        with dg.DagsterInstance.from_config(str(home)) as instance:
            materialized = instance.get_materialized_partitions(asset_key("delivery_outcome"))
        with duckdb.connect(str(rmj_env["warehouse"]), read_only=True) as con:
            loaded = {d for (d,) in con.execute("select delivery_id from audit.deliveries where status = 'loaded'").fetchall()}
        assert loaded and {delivery_id_of_key(k) for k in materialized} == loaded  # each loaded delivery reported, none left grey
    assert stored == read  # no row twice, none missing
    assert unreconciled == 0 and not_destroyed == 0
