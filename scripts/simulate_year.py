"""A year of operation, simulated under a real ``dagster-daemon``; prints what happened.

Generates two years of deliveries (2024 and 2025). The generator writes a provider's year as one file
sent the next January, so each of those becomes 12 monthly files (its rows in 12 parts; a part that
comes out byte-identical to another is, rightly, one delivery and a duplicate). They are fed into
``incoming/`` as 12 monthly drops (February 2025 to January 2026), each file in the month it was
sent, with: corrections (the generator's ``*correctie*`` files, after their originals), a late delivery
(a monthly file dropped months late, after the July CBS run), the generator's bad files, a duplicate
(a file dropped again under another name) and a previous year arriving late (one provider's 2024 files,
due in January 2025, dropped in September). A real daemon on a temporary DAGSTER_HOME (the project's
``dagster.yaml``, the demo key via the environment) runs the delivery sensor and the publication policy
sensor; the half-year due on each publication day (15 July 2025, 15 January 2026: the CBS half-year's
automation condition, asked for that date) is submitted to the run queue with ``dagster job launch``, then
the yearly CEO run for 2025 (an analyst's request), and a CBS rerun of the first half-year after its late
delivery.

At the end it prints runs launched, failed and retried; whether every delivery is reconciled; and
whether the published files equal those of one ``rmj process`` (+ ``rmj publish``) over the same files (CSV bytes, and
the CBS manifest apart from its production time; the plotly report is not compared).

    python scripts/simulate_year.py [--scale 0.1] [--seed 7] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from local_daemon import LocalDaemon, landing_idle  # noqa: E402

from rmj_dagster.assets.cbs.jobs import CBS_JOB_NAME  # noqa: E402
from rmj_dagster.assets.ceo.jobs import CEO_JOB_NAME  # noqa: E402
from rmj_dagster.automation import due_half_year  # noqa: E402
from rmj_dagster.generate import generate_deliveries  # noqa: E402
from rmj_dagster.sensors.delivery_sensor import DELIVERY_JOB_NAME, RETRY_TAG  # noqa: E402
from rmj_dagster.ttp.pseudonym import DEMO_KEY  # noqa: E402

TODAY = date(2026, 2, 1)
MONTHS = [(2025, m) for m in range(2, 13)] + [(2026, 1)]  # February 2025 .. January 2026
CBS_MONTHS = {(2025, 7): datetime(2025, 7, 15, 6), (2026, 1): datetime(2026, 1, 15, 6)}
LATE_BY_MONTHS = 4


def split_into_months(incoming: Path, truth: dict) -> dict[str, tuple[date, str]]:
    """Each provider's 2025 file sent in January 2026 becomes 12 monthly files (its rows in 12 parts,
    header repeated, bytes and encoding kept), part ``i`` sent on the 10th of month ``i``; every other
    file stays as generated. Returns name -> (sent, kind) for every file now in ``incoming``."""
    sent: dict[str, tuple[date, str]] = {}
    for name, info in truth["files"].items():
        day = date.fromisoformat(info["received"])
        yearly = (info["outcome"] == "processed" and (day.year, day.month) == (2026, 1)
                  and "correctie" not in name and not name.lower().endswith(".xml"))
        if not yearly:
            sent[name] = (day, info["kind"] or "unknown")
            continue
        path = incoming / name
        header, *rows = path.read_bytes().splitlines(keepends=True)
        parts = [rows[len(rows) * i // 12: len(rows) * (i + 1) // 12] for i in range(12)]
        stem, suffix = path.stem, path.suffix
        for (year, month), part in zip(MONTHS, parts):
            target = incoming / f"{stem} {year}-{month:02d}{suffix}"
            target.write_bytes(header + b"".join(part))
            when = datetime(year, month, 10).timestamp()
            os.utime(target, (when, when))
            sent[target.name] = (date(year, month, 10), info["kind"])
        path.unlink()
    return sent


def plan_drops(sent: dict[str, tuple[date, str]], providers: list[str]) -> tuple[list[list[str]], dict[str, str]]:
    """Files per month, by the date each was sent; and which were moved, and why."""
    month_of = {}
    for name, (day, _) in sent.items():
        month_of[name] = next((i for i, (y, m) in enumerate(MONTHS) if (day.year, day.month) <= (y, m)), len(MONTHS) - 1)
    events: dict[str, str] = {}
    provider = sorted(providers)[1]
    for name in sent:  # one provider's previous year arrives late
        if provider in name and "2024" in name and month_of[name] == 0:
            month_of[name] = 7
            events[name] = "previous year, late (September instead of January)"
    late = sorted((n for n, (day, kind) in sent.items() if kind == "responses" and day.year == 2025 and 1 <= month_of[n] <= 3),
                  key=lambda n: sent[n][0])
    if late:
        due = month_of[late[0]]
        month_of[late[0]] = max(due + LATE_BY_MONTHS, 6)  # after the first CBS run
        events[late[0]] = f"late delivery ({MONTHS[month_of[late[0]]][1] - MONTHS[due][1]} months late, after the CBS run of July)"
    drops: list[list[str]] = [[] for _ in MONTHS]
    for name, index in month_of.items():
        drops[index].append(name)
    return [sorted(d, key=lambda n: (sent[n][0], n)) for d in drops], events


def drop(source: Path, incoming: Path, names: list[str], duplicate_of: str | None = None) -> None:
    """Copy files into ``incoming/`` as a provider's upload: written, then its ``.done`` marker."""
    for name in names:
        shutil.copy2(source / name, incoming / name)
        (incoming / f"{name}.done").write_text("")
    if duplicate_of:
        shutil.copy2(source / duplicate_of, incoming / f"kopie van {duplicate_of}")
        (incoming / f"kopie van {duplicate_of}.done").write_text("")


def schedule_request(when: datetime) -> dg.RunRequest:
    """What the CBS half-year's automation condition asks for at ``when``: the half-year due then."""
    return dg.RunRequest(partition_key=due_half_year(when))


def published(exports: Path, periods: list[str], years: list[str]) -> dict[str, bytes]:
    """The published files to compare: CBS CSVs and manifests (without produced_at), CEO indicators."""
    found: dict[str, bytes] = {}
    for period in periods:
        folder = exports / "cbs" / period
        for path in sorted(folder.glob("*.csv")) if folder.is_dir() else []:
            found[f"cbs/{period}/{path.name}"] = path.read_bytes()
        manifest = folder / "manifest.json"
        if manifest.exists():
            data = json.loads(manifest.read_text())
            data.pop("produced_at", None)
            found[f"cbs/{period}/manifest.json"] = json.dumps(data, sort_keys=True).encode()
    for year in years:
        path = exports / "ceo" / year / "indicators.csv"
        if path.exists():
            found[f"ceo/{year}/indicators.csv"] = path.read_bytes()
    return found


def environment(root: Path) -> dict[str, str]:
    return {
        "RMJ_LANDING_DIR": str(root / "landing"),
        "RMJ_WAREHOUSE": str(root / "warehouse" / "rmj.duckdb"),
        "RMJ_EXPORT_DIR": str(root / "exports"),
        "RMJ_SNAPSHOT": str(root / "snapshot" / "rmj_marts.duckdb"),
        "RMJ_PSEUDONYM_KEY": DEMO_KEY.decode(),
        "RMJ_DEMO_MODE": "1",
        "GX_ANALYTICS_ENABLED": "False",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--interval", type=int, default=5, help="sensor interval in seconds (30 in production)")
    parser.add_argument("--keep", help="work in this folder and keep it (default: a temporary folder, removed)")
    args = parser.parse_args(argv)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="rmj-year-"))
    started = time.monotonic()
    try:
        return _simulate(work, args, started)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def _simulate(work: Path, args, started: float) -> int:
    source = work / "source"
    generate_deliveries(source, seed=args.seed, scale=args.scale, years=[2024, 2025], defect_rate=0.02, today=TODAY)
    truth = json.loads((source / "generator_truth.json").read_text())
    sent = split_into_months(source / "incoming", truth)
    drops, events = plan_drops(sent, [p["agb"] for p in truth["providers"]])
    live = work / "live"
    env = environment(live) | {"RMJ_SENSOR_INTERVAL_SECONDS": str(args.interval), "RMJ_RETRY_BACKOFF_SECONDS": "10"}
    incoming = live / "landing" / "incoming"
    incoming.mkdir(parents=True)
    print(f"work folder: {work}")
    print(f"generated {len(truth['files'])} files, {len(sent)} after splitting the yearly ones into months; "
          f"files per monthly drop: {[len(d) for d in drops]}")
    for name, why in events.items():
        print(f"  {why}: {name}")
    duplicate_month, duplicate = 5, drops[1][0]
    timeline: list[str] = []
    with LocalDaemon(work / "dagster_home", env) as daemon:
        for index, ((year, month), names) in enumerate(zip(MONTHS, drops)):
            drop(source / "incoming", incoming, names, duplicate if index == duplicate_month else None)
            idle = daemon.wait_until(lambda: landing_idle(live / "landing") and daemon.unfinished() == 0,
                                     timeout=900, what=f"the drop of {year}-{month:02d}")
            timeline.append(f"{year}-{month:02d}: {len(names)} file(s){' + a duplicate' if index == duplicate_month else ''}"
                            f" -> {'processed' if idle else 'NOT idle after 900 s'}")
            if (year, month) in CBS_MONTHS:
                request = schedule_request(CBS_MONTHS[(year, month)])
                daemon.launch(CBS_JOB_NAME, {"dagster/partition": request.partition_key, **request.tags})
                daemon.wait_until(lambda: daemon.unfinished() == 0, timeout=900, what="the CBS run")
                timeline.append(f"  CBS half-year due ({CBS_MONTHS[(year, month)]:%d %B %Y}) -> {request.partition_key}")
        daemon.launch(CEO_JOB_NAME, {"dagster/partition": "2025"})
        first_half = schedule_request(CBS_MONTHS[(2025, 7)])
        daemon.launch(CBS_JOB_NAME, {"dagster/partition": first_half.partition_key, "rmj/reason": "late delivery"})
        daemon.wait_until(lambda: daemon.unfinished() == 0, timeout=900, what="the CEO and CBS reruns")
        timeline.append("  CEO 2025, and CBS 2025-H1 again after its late delivery")
        runs = daemon.runs()
        by_job = Counter((r.job_name, r.status.value) for r in runs)
        retried = sum(1 for r in runs if r.tags.get(RETRY_TAG) == "true")
        max_parallel_delivery = _max_overlap(daemon.instance, DELIVERY_JOB_NAME)
    elapsed = time.monotonic() - started

    with duckdb.connect(env["RMJ_WAREHOUSE"], read_only=True) as con:
        statuses = dict(con.execute("select status, count(*) from audit.deliveries group by 1").fetchall())
        unreconciled = con.execute("select count(*) from intermediate.delivery_reconciliation where not reconciled").fetchone()[0]
        deliveries = con.execute("select count(*) from intermediate.delivery_reconciliation").fetchone()[0]
        duplicates = con.execute("select count(*) from audit.file_receipts where outcome = 'duplicate'").fetchone()[0]
    left = sorted(p.name for p in incoming.iterdir() if not p.name.endswith(".done"))

    batch = work / "batch"
    batch_env = environment(batch) | {"RMJ_SETTLE_SECONDS": "0"}
    (batch / "landing" / "incoming").mkdir(parents=True)
    for names in drops:
        for name in names:
            shutil.copy2(source / "incoming" / name, batch / "landing" / "incoming" / name)
    shutil.copy2(source / "incoming" / duplicate, batch / "landing" / "incoming" / f"kopie van {duplicate}")
    batch_started = time.monotonic()
    for command in (["process"], ["publish", "ceo", "2025"], ["publish", "cbs", "2025-H1"], ["publish", "cbs", "2025-H2"]):
        subprocess.run([str(Path(sys.executable).with_name("rmj")), *command], cwd=work, env=_without_home(batch_env),
                       check=True, stdout=subprocess.DEVNULL)
    batch_seconds = time.monotonic() - batch_started
    periods, years = ["2025-H1", "2025-H2"], ["2025"]
    ours, theirs = published(live / "exports", periods, years), published(batch / "exports", periods, years)
    differing = sorted(k for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k))

    print("\ntimeline:")
    print("\n".join(f"  {line}" for line in timeline))
    print("\nruns launched (job, status):")
    for (job, status), n in sorted(by_job.items()):
        print(f"  {job:22s} {status:10s} {n}")
    failed = sum(n for (_, s), n in by_job.items() if s == "FAILURE")
    print(f"runs launched: {len(runs)}, failed: {failed}, retried (rmj/retry): {retried}, "
          f"most deliveries runs at once: {max_parallel_delivery}")
    print(f"deliveries: {deliveries} ({', '.join(f'{n} {s}' for s, n in sorted(statuses.items()))}), "
          f"duplicate files recorded: {duplicates}, not reconciled: {unreconciled}, left in incoming/: {len(left)}")
    print(f"outputs compared with one rmj process over the same files ({batch_seconds:.0f} s): "
          f"{len(ours)} file(s) here, {len(theirs)} there, {len(differing)} differ"
          + (f": {', '.join(differing[:8])}" if differing else " -> identical"))
    print(f"wall time: {elapsed:.0f} s")
    ok = failed == 0 and unreconciled == 0 and not differing and not left and len(ours) > 0
    print("RESULT:", "OK" if ok else "NOT OK")
    return 0 if ok else 1


def _without_home(env: dict[str, str]) -> dict[str, str]:
    merged = os.environ.copy() | env
    merged.pop("DAGSTER_HOME", None)
    return merged


def _max_overlap(instance: dg.DagsterInstance, job: str) -> int:
    """The most runs of ``job`` that were ever queued or running at the same moment."""
    spans = []
    for record in instance.get_run_records(filters=dg.RunsFilter(job_name=job)):
        start = record.create_timestamp.timestamp()
        end = record.end_time or time.time()
        spans.append((start, end))
    points = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    most = current = 0
    for _, step in points:
        current += step
        most = max(most, current)
    return most


if __name__ == "__main__":
    raise SystemExit(main())
