"""Benchmark: a national-size year through ``rmj process`` against the engine's two floors, in one call.

The floors are ``../shared/bench/obligations_floor.py`` (the contract's duties as bare SQL in one DuckDB
connection: the floor the target is measured against) and ``../shared/bench/bare_duckdb.py`` (the data work
only), on the files of ``../shared/bench/make_volume.py`` (see ``../shared/bench/README.md``). All three run
as child processes on the same files, one after the other, so the ratios are measured on the same machine at
the same moment. Printed per volume (1x = 450k ended trajectories; 2x, 4x add further seeds): wall time,
peak RSS, seconds per million rows and the ratio to each floor, and ``rmj process``'s steps summed into the
obligations floor's stages beside that floor's own. Then a refresh: one provider's month
(``make_volume.py DIR 37500 8 _2025-12``, the three ``*_10000000_2025-12.csv`` files) dropped on the
national warehouse and processed until warehouse, monitor and snapshot are current, with cost per stage; then ``rmj
process`` once more with nothing new.

Not a test: run it by hand, e.g.

    .venv/bin/python scripts/benchmark.py                  # 1x, 2x, 4x and the refresh (~15 min)
    .venv/bin/python scripts/benchmark.py --scales 1       # national year and refresh only
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from rmj_dagster.assets.cbs.jobs import CBS_JOB_NAME
from rmj_dagster.assets.ceo.jobs import CEO_JOB_NAME

REPO = Path(__file__).resolve().parent.parent
# ../shared/bench next to the checkout (a worktree one level deeper finds it one level up)
BENCH = Path(os.environ["RMJ_BENCH_DIR"]) if os.environ.get("RMJ_BENCH_DIR") else next(
    (p / "shared" / "bench" for p in (REPO.parent, REPO.parent.parent) if (p / "shared" / "bench").exists()),
    REPO.parent / "shared" / "bench",
)
RMJ = Path(sys.executable).with_name("rmj")
KEY = "benchmark-key-0123456789abcdef0123456789"
GIB = 1024**3
# Seeds of the extra volume: their toewijzingnummers (100000000 + (seed - 7) * 1000000 + i) never meet
# those of seed 8, which the refresh month uses.
SEEDS = (7, 9, 10, 11)
REFRESH_FILES = "*_10000000_2025-12.csv"


@dataclass
class Measured:
    wall: float
    peak_rss: int  # bytes
    cpu: float = 0.0  # user + system seconds of the child and the children it waited for (less load-bound than wall)
    started_at: float = 0.0  # epoch seconds: when the child was started
    stages: dict[str, float] = field(default_factory=dict)
    output: str = ""
    publishing: float = 0.0  # seconds in CBS and CEO runs (leaving rmj process: the policy issue)


def timed_child(argv: list[str], env: dict[str, str] | None = None) -> Measured:
    """Run a child process; wall time and peak RSS of the child with its own children (``rmj process``
    validates in a GX worker process): the larger of the child's own peak (wait4) and the peak of the
    sum over its process tree, sampled every 0.1 s.

    The disk first writes out what earlier work left in memory (``sync``): a refresh measured while the
    national load's gigabyte is still being written would measure that load too."""
    os.sync()
    started_at = time.time()
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tree_peak = [0]
    sampling = threading.Thread(target=_sample_tree, args=(proc, tree_peak), daemon=True)
    sampling.start()
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    sampling.join()
    if proc.returncode:
        sys.exit(f"{' '.join(argv)} failed ({proc.returncode}):\n{out[-4000:]}")
    return Measured(wall=wall, peak_rss=max(usage.ru_maxrss * 1024, tree_peak[0]), cpu=usage.ru_utime + usage.ru_stime,
                    started_at=started_at, output=out)


def _sample_tree(proc: subprocess.Popen, peak: list[int]) -> None:
    """Peak of the summed RSS of ``proc`` and its descendants (Linux /proc), until it exits. Each
    process's children are read from its threads' ``children`` lists: no walk over all of /proc, so the
    sampling takes next to nothing from the two cores being measured."""
    while proc.returncode is None and Path(f"/proc/{proc.pid}").exists():
        tree, total = [proc.pid], 0
        while tree:
            pid = tree.pop()
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                tree += [int(c) for task in Path(f"/proc/{pid}/task").iterdir()
                         for c in (task / "children").read_text().split()]
            except OSError:  # gone meanwhile
                continue
            total += next((int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmRSS:")), 0)
        peak[0] = max(peak[0], total)
        time.sleep(0.1)


def make_volume(target: Path, scale: int) -> int:
    """``scale`` national years (seeds 7, 9, 10, 11) in ``target/incoming``; returns the rows written."""
    if not (target / "incoming").exists():
        for seed in SEEDS[:scale]:
            subprocess.run([sys.executable, str(BENCH / "make_volume.py"), str(target), "450000", str(seed),
                            "" if seed == 7 else f"_s{seed}"], check=True, stdout=subprocess.DEVNULL)
    return data_rows(sorted((target / "incoming").glob("*.csv")))


def data_rows(paths: list[Path]) -> int:
    return sum(sum(1 for _ in p.open("rb")) - 1 for p in paths)


def floor(script: str, incoming: Path, out: Path) -> Measured:
    """One of the floors (``bare_duckdb.py``, ``obligations_floor.py``) with its own seconds per stage."""
    measured = timed_child([sys.executable, str(BENCH / script), str(incoming), str(out)])
    line = re.search(r"total ([\d.]+) s \((.*?)\)", measured.output)
    measured.stages = {name: float(s) for name, s in (p.rsplit(" ", 1) for p in line.group(2).split(", "))}
    return measured


def chain_env(root: Path) -> dict[str, str]:
    home = root / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    return os.environ | {
        "RMJ_LANDING_DIR": str(root / "landing"),
        "RMJ_WAREHOUSE": str(root / "warehouse.duckdb"),
        "RMJ_EXPORT_DIR": str(root / "exports"),
        "RMJ_SNAPSHOT": str(root / "snapshot" / "rmj_marts.duckdb"),  # not the checkout's data/snapshot
        "RMJ_PSEUDONYM_KEY": KEY,
        "DAGSTER_HOME": str(home),
    }


def step_stages(home: Path, skip_runs: set[str]) -> tuple[dict[str, float], dict[str, float], set[str], float]:
    """(seconds per step, seconds per job run, run ids, when the first of them started: epoch seconds) of
    the runs in ``home`` not in ``skip_runs``."""
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(home))
    steps: dict[str, float] = {}
    runs: dict[str, float] = {}
    ids = set()
    first_start = float("inf")
    for run in instance.get_runs():
        if run.run_id in skip_runs:
            continue
        ids.add(run.run_id)
        stats = instance.get_run_stats(run.run_id)
        if stats.start_time and stats.end_time:
            first_start = min(first_start, stats.start_time)
            runs[run.job_name] = runs.get(run.job_name, 0.0) + stats.end_time - stats.start_time
        for stat in instance.get_run_step_stats(run.run_id):
            if stat.end_time and stat.start_time:
                steps[stat.step_key] = steps.get(stat.step_key, 0.0) + stat.end_time - stat.start_time
    instance.dispose()
    return steps, runs, ids, first_start


def chain(root: Path, skip_runs: set[str]) -> tuple[Measured, dict[str, float], set[str]]:
    measured = timed_child([str(RMJ), "process"], env=chain_env(root))
    steps, runs, ids, first_start = step_stages(root / "dagster_home", skip_runs)
    measured.stages = _stage_totals(steps, runs, measured.wall, first_start - measured.started_at)
    measured.publishing = runs.get(CBS_JOB_NAME, 0.0) + runs.get(CEO_JOB_NAME, 0.0)
    return measured, steps, ids


# rmj process's stages in the obligations floor's vocabulary: (stage, the floor's stages it matches, words
# of the step keys it holds). A step falls in the first stage one of whose words it contains; a check runs
# in the step of its asset, or in a step named after that asset, and so falls with it.
STAGES = (
    ("TTP: intake, pseudonymise, scan", ("read", "pseudonymise", "ttp_scan"),
     ("raw_provider_drops", "pseudonymised_deliveries", "no_identifiers")),
    ("CBS half-years", ("cbs",), ("cbs",)),
    ("CEO years, export scan", ("indicators", "export_scan"), ("ceo", "indicator_base", "figure_sources", "publication")),
    ("indicator_observations", (), ("indicator_observations",)),
    ("outcomes", ("outcomes",), ("trajectory_outcomes",)),
    ("staging, cleaning, grain", ("validate", "reconcile", "clean", "grain"),
     ("stg_", "cleaned_", "rejected_rows", "reconciliation", "gas_scores", "delivery_outcome")),
)


def stage_of(step_key: str) -> str:
    return next((name for name, _, words in STAGES if any(w in step_key for w in words)), "other steps")


def _stage_totals(steps: dict[str, float], runs: dict[str, float], wall: float, start_up: float) -> dict[str, float]:
    """Step durations summed into the obligations floor's stages (``STAGES``), then what lies outside the
    steps: the process's start until its first run starts (imports, the instance, the landing zone's
    looks), Dagster's work in the runs outside their steps, and the rest (creating runs, judging which
    periods to publish, the exit)."""
    totals = {name: 0.0 for name, _, _ in STAGES} | {"other steps": 0.0}
    for key, seconds in steps.items():
        totals[stage_of(key)] += seconds
    return totals | {
        "start-up": start_up,
        "in runs, outside steps": sum(runs.values()) - sum(steps.values()),
        "between runs, exit": wall - start_up - sum(runs.values()),
    }


def show_against(measured: Measured, floor_stages: dict[str, float]) -> None:
    """``rmj process``'s stages beside the obligations floor's matching ones."""
    print(f"    {'stage (steps of all runs)':<34} {'rmj':>7} {'floor':>7} {'ratio':>6}")
    for stage, seconds in measured.stages.items():
        matching = next((m for name, m, _ in STAGES if name == stage), ())
        base = sum(floor_stages.get(m, 0.0) for m in matching)
        ratio = f"{seconds / base:6.2f}" if base else ""
        print(f"    {stage:<34} {seconds:7.1f} {base:7.1f} {ratio}  {'+'.join(matching)}")


def show(title: str, measured: Measured, rows: int) -> None:
    throughput = f"{rows / measured.wall:>10,.0f} rows/s, " if rows else ""
    print(f"\n  {title}: {measured.wall:7.1f} s wall, {measured.cpu:7.1f} s CPU, {throughput}peak RSS "
          f"{measured.peak_rss / GIB:.2f} GiB")
    for stage, seconds in measured.stages.items():
        print(f"    {stage:<34} {seconds:7.1f} s")


def show_steps(steps: dict[str, float], top: int = 15) -> None:
    print("    slowest steps:")
    for step, seconds in sorted(steps.items(), key=lambda kv: -kv[1])[:top]:
        print(f"      {step:<58} {seconds:6.1f} s")


def refresh(work: Path, root: Path, load: Measured, obliged: Measured, bare: Measured, before: set[str]) -> None:
    """One provider's month dropped on the national warehouse and processed to refreshed outputs; then
    nothing new. Each is also given as a ratio to the national floors of the same call."""
    month = work / "month"
    if not (month / "incoming").exists():
        subprocess.run([sys.executable, str(BENCH / "make_volume.py"), str(month), "37500", "8", "_2025-12"],
                       check=True, stdout=subprocess.DEVNULL)
    drop = sorted((month / "incoming").glob(REFRESH_FILES))
    for path in drop:
        shutil.copy(path, root / "landing" / "incoming" / path.name)
    measured, steps, ran = chain(root, before)
    rows = data_rows(drop)
    print(f"\n== refresh: one provider's month ({len(drop)} files, {rows:,} rows) on the national warehouse ==")
    show("rmj process", measured, rows)
    show_steps(steps)
    print(f"\n  refresh {measured.wall:.1f} s wall, {measured.wall / load.wall:.2f}x the national load, "
          f"{measured.wall / obliged.wall:.2f}x the obligations floor, {measured.wall / bare.wall:.2f}x the bare one "
          f"(target <= 0.75x the bare floor: warehouse, monitor and snapshot current; publications are made on purpose)")
    # what a cron calling rmj process with nothing new costs: the delivery monitor, nothing rebuilt
    idle, idle_steps, _ = chain(root, before | ran)
    print("\n== nothing new: rmj process again on the same warehouse ==")
    show("rmj process", idle, 0)
    show_steps(idle_steps, top=5)
    print(f"\n  nothing new {idle.wall:.1f} s wall, {idle.wall / obliged.wall:.2f}x the obligations floor, "
          f"{idle.wall / bare.wall:.2f}x the bare one")
    publish_on_purpose(root, obliged, bare)


# What an analyst's request costs on the national warehouse (the policy: publications made on purpose),
# with the bound of each as a share of the bare floor of the same call.
PUBLICATIONS = ((("ceo", "2025"), 1.0), (("cbs", "2025-H2"), 0.25))


def publish_on_purpose(root: Path, obliged: Measured, bare: Measured) -> None:
    """``rmj publish ceo 2025`` (every file and its checks) and ``rmj publish cbs 2025-H2`` on the national
    warehouse, each timed as a whole command against the floors of the same call."""
    print("\n== publications on purpose, on the national warehouse ==")
    for argv, bound in PUBLICATIONS:
        measured = timed_child([str(RMJ), "publish", *argv], env=chain_env(root))
        print(f"  rmj publish {' '.join(argv)}: {measured.wall:.1f} s wall, peak RSS {measured.peak_rss / GIB:.2f} GiB, "
              f"{measured.wall / bare.wall:.2f}x the bare floor (target <= {bound}), "
              f"{measured.wall / obliged.wall:.2f}x the obligations floor")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 2, 4], choices=[1, 2, 3, 4])
    parser.add_argument("--workdir", type=Path, default=None, help="kept afterwards; volumes are reused")
    parser.add_argument("--no-refresh", action="store_true")
    args = parser.parse_args()
    if not (BENCH / "bare_duckdb.py").exists():
        sys.exit(f"the floor is not there: {BENCH}/bare_duckdb.py (run from a checkout next to ../shared)")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="rmj-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"work dir: {work}")
    for scale in args.scales:
        volume = work / f"volume_{scale}x"
        rows = make_volume(volume, scale)
        print(f"\n== {scale}x national year: {rows:,} rows in {len(list((volume / 'incoming').glob('*.csv')))} files ==")
        floors = {}
        for script in ("obligations_floor.py", "bare_duckdb.py"):
            shutil.rmtree(work / f"floor_{scale}x", ignore_errors=True)
            floors[script] = floor(script, volume / "incoming", work / f"floor_{scale}x")
        obliged, bare = floors["obligations_floor.py"], floors["bare_duckdb.py"]
        root = work / f"chain_{scale}x"
        shutil.rmtree(root, ignore_errors=True)
        shutil.copytree(volume / "incoming", root / "landing" / "incoming")
        measured, steps, runs = chain(root, set())
        show("bare floor (bare_duckdb.py)", bare, rows)
        show("obligations floor (obligations_floor.py)", obliged, rows)
        show("rmj process", measured, rows)
        print("\n  rmj process's stages against the obligations floor's:")
        show_against(measured, obliged.stages)
        show_steps(steps)
        main_figure = measured.wall - measured.publishing  # deliveries to marts, monitor and snapshot
        print(f"\n  {scale}x: rmj process {measured.wall:.1f} s, of which deliveries to marts, monitor and snapshot "
              f"{main_figure:.1f} s (less {measured.publishing:.1f} s of CBS and CEO runs)")
        print(f"  ratio to the obligations floor ({obliged.wall:.1f} s): {main_figure / obliged.wall:.2f} (target <= 2.0; "
              f"whole wall {measured.wall / obliged.wall:.2f}); to the bare floor ({bare.wall:.1f} s): "
              f"{main_figure / bare.wall:.2f} (whole wall {measured.wall / bare.wall:.2f})")
        print(f"  CPU seconds (user + system; on a shared machine less bound to its load than the wall): rmj process "
              f"{measured.cpu:.1f}, {measured.cpu / obliged.cpu:.2f}x the obligations floor ({obliged.cpu:.1f}), "
              f"{measured.cpu / bare.cpu:.2f}x the bare one ({bare.cpu:.1f})")
        print(f"  peak RSS rmj process {measured.peak_rss / GIB:.2f} GiB (target <= 2), obligations floor "
              f"{obliged.peak_rss / GIB:.2f}, bare floor {bare.peak_rss / GIB:.2f}")
        print(f"  seconds per million rows: rmj process {measured.wall / rows * 1e6:.1f} ({main_figure / rows * 1e6:.1f} "
              f"without publishing), obligations floor {obliged.wall / rows * 1e6:.1f}, bare floor {bare.wall / rows * 1e6:.1f}")
        if scale == 1 and not args.no_refresh:
            refresh(work, root, measured, obliged, bare, runs)


if __name__ == "__main__":
    main()
