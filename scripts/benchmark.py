"""Benchmark: national-size volume through ``rmj process``, against the same work bare in DuckDB.

Prints wall time per stage, rows per second, peak memory (RSS of this process and its children) and the
ratio of the full Dagster chain to the bare run (the same TTP function and the same SQL models in one
DuckDB connection, no Dagster). Not a test: run it by hand, e.g.

    .venv/bin/python scripts/benchmark.py --scale 225 --years 2025
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import dagster as dg


def peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def bare_run(landing: Path, db: Path) -> dict[str, float]:
    """The same reading, TTP and SQL, without Dagster: one connection, files in order."""
    from rmj_dagster import codebook, warehouse
    from rmj_dagster.assets.model_assets import period_of
    from rmj_dagster.intake.detect import Quarantine, inspect_file
    from rmj_dagster.intake.landing_zone import delivery_id_of, sha256_of
    from rmj_dagster.partitions import half_years, years
    from rmj_dagster.ttp import pseudonymise
    from rmj_dagster.ttp.pseudonym import PseudonymKey
    from rmj_dagster.warehouse import ddl, sql_models

    key = PseudonymKey.from_env()
    times = {}
    with warehouse.connect(db) as con:
        ddl.ensure_tables(con)
        codebook.load_into(con)
        start = time.perf_counter()
        for path in sorted((landing / "incoming").iterdir()):
            sha = sha256_of(path)
            try:
                inspection = inspect_file(path)
                rows = pseudonymise.load_delivery(con, path, inspection, delivery_id_of(sha), key)
            except Quarantine:
                continue
            con.execute(
                "insert or replace into audit.deliveries (delivery_id, sha256, file_name, size_bytes, received_at, kind, status, rows_read) "
                "values (?, ?, ?, ?, now(), ?, 'loaded', ?)",
                [delivery_id_of(sha), sha, path.name, path.stat().st_size, inspection.kind.name, rows],
            )
        times["ingest + TTP"] = time.perf_counter() - start
        start = time.perf_counter()
        periodic = []
        for model in sql_models.discover():
            if model.partition:
                periodic.append(model)
            else:
                sql_models.run_model(con, model)
        times["SQL models"] = time.perf_counter() - start
        start = time.perf_counter()
        dates = con.execute("select distinct einddatum from intermediate.cleaned_stop_zorg where einddatum is not null").fetchall()
        halfs = sorted({f"{d.year}-{'01' if d.month <= 6 else '07'}-01" for (d,) in dates} & set(half_years.get_partition_keys()))
        yrs = sorted({str(d.year) for (d,) in dates} & set(years.get_partition_keys()))
        for model in periodic:
            for key_ in halfs if model.partition == "half_year" else yrs:
                sql_models.run_model(con, model, **period_of(model, key_))
        times["period marts"] = time.perf_counter() - start
    return times


def step_times(instance: dg.DagsterInstance) -> dict[str, float]:
    totals: dict[str, float] = {}
    for run in instance.get_runs():
        for stat in instance.get_run_step_stats(run.run_id):
            if stat.end_time and stat.start_time:
                totals[stat.step_key] = totals.get(stat.step_key, 0.0) + stat.end_time - stat.start_time
    return totals


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=225.0)
    parser.add_argument("--years", type=int, nargs="+", default=[2025])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="rmj-bench-"))
    os.environ.setdefault("RMJ_PSEUDONYM_KEY", "benchmark-key-0123456789abcdef0123456789")
    from rmj_dagster.generate import generate_deliveries

    start = time.perf_counter()
    generated = generate_deliveries(work / "source", seed=args.seed, years=args.years, scale=args.scale)
    generate_s = time.perf_counter() - start
    files = list((work / "source" / "incoming").iterdir())
    size_mb = sum(p.stat().st_size for p in files) / 1e6
    print(f"generated: {len(files)} files, {size_mb:.0f} MB in {generate_s:.1f} s")
    print(generated)

    # bare DuckDB
    shutil.copytree(work / "source", work / "bare")
    start = time.perf_counter()
    bare = bare_run(work / "bare", work / "bare.duckdb")
    bare_s = time.perf_counter() - start

    # the full chain, as `rmj process` runs it
    shutil.copytree(work / "source", work / "chain")
    os.environ.update(
        RMJ_LANDING_DIR=str(work / "chain"),
        RMJ_WAREHOUSE=str(work / "chain.duckdb"),
        RMJ_EXPORT_DIR=str(work / "exports"),
    )
    from rmj_dagster.runner import process

    instance = dg.DagsterInstance.ephemeral()
    start = time.perf_counter()
    summary = process(instance=instance)
    chain_s = time.perf_counter() - start
    rows_read = summary.rows.get("read", 0)

    print("\n== bare DuckDB (same TTP function and SQL, one connection) ==")
    for stage, seconds in bare.items():
        print(f"  {stage:<16} {seconds:8.1f} s")
    print(f"  {'total':<16} {bare_s:8.1f} s")
    print("\n== rmj process (Dagster, in-process runs) ==")
    for step, seconds in sorted(step_times(instance).items(), key=lambda kv: -kv[1])[:12]:
        print(f"  {step:<32} {seconds:8.1f} s")
    print(f"  {'total':<32} {chain_s:8.1f} s")
    print(f"\nrows read: {rows_read:,}  -> {rows_read / chain_s:,.0f} rows/s through the whole chain")
    print(f"ratio chain / bare: {chain_s / bare_s:.2f}")
    print(f"peak RSS: {peak_rss_mb():,.0f} MB")
    print(summary)


if __name__ == "__main__":
    main()
