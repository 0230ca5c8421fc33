"""The restore procedure of docs/operations.md, as an operator runs it: backup, a later delivery, damage,
restore of the warehouse and the instance storage, re-delivery. Nothing lost, nothing twice."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from rmj_dagster import cli
from rmj_dagster.generate import generate_deliveries
from rmj_dagster.runner import process

pytestmark = pytest.mark.slow  # six chain runs

TODAY = date(2026, 11, 22)
TABLES = ("audit.deliveries", "pseudo.responses", "pseudo.stop_zorg", "pseudo.goals",
          "intermediate.cleaned_responses", "intermediate.cleaned_stop_zorg", "intermediate.cleaned_goals",
          "intermediate.rejected_rows", "marts.delivery_monitor")  # a mart each delivery run builds


def state(db: Path) -> dict:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = {table: con.execute(f"select count(*) from {table}").fetchone()[0] for table in TABLES}
        rows["deliveries"] = sorted(con.execute("select delivery_id, status, rows_read from audit.deliveries").fetchall())
    return rows


def deliver(files: list[Path], incoming: Path) -> None:
    for path in files:
        shutil.copy2(path, incoming / path.name)


@pytest.fixture
def two_drops(tmp_path) -> tuple[list[Path], list[Path]]:
    source = tmp_path / "source"
    generate_deliveries(source, seed=31, scale=0.08, years=[2025], today=TODAY)
    files = sorted((source / "incoming").iterdir())
    return files[: len(files) // 2], files[len(files) // 2:]


def test_backup_damage_restore_and_redelivery_lose_nothing_and_load_nothing_twice(rmj_env, tmp_path, monkeypatch, two_drops, capsys):
    first, second = two_drops
    incoming = rmj_env["landing"] / "incoming"
    warehouse, home = rmj_env["warehouse"], rmj_env["dagster_home"]

    # what a clean history gives: both drops, in order, on a fresh warehouse and instance
    clean = tmp_path / "clean"
    monkeypatch.setenv("RMJ_WAREHOUSE", str(clean / "rmj.duckdb"))
    monkeypatch.setenv("DAGSTER_HOME", str(clean / "dagster_home"))
    monkeypatch.setenv("RMJ_EXPORT_DIR", str(clean / "exports"))
    deliver(first, incoming)
    process()
    deliver(second, incoming)
    process()
    expected = state(clean / "rmj.duckdb")
    monkeypatch.setenv("RMJ_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("RMJ_EXPORT_DIR", str(rmj_env["exports"]))

    # the live history: the first drop, the nightly backup (nothing running), then the second drop
    deliver(first, incoming)
    process()
    backup = tmp_path / "backup"
    backup.mkdir()
    shutil.copy2(warehouse, backup / warehouse.name)
    shutil.copytree(home, backup / "dagster_home")
    deliver(second, incoming)
    process()
    assert state(warehouse) == expected

    # the disk fails: the warehouse is cut short
    with warehouse.open("r+b") as file:
        file.truncate(warehouse.stat().st_size // 3)
    deliver(second[:1], incoming)  # a provider delivers again meanwhile: it waits, nothing is lost
    capsys.readouterr()
    assert cli.main(["process"]) == 1
    assert "is damaged" in capsys.readouterr().err
    assert (incoming / second[0].name).exists()

    # restore as docs/operations.md says: warehouse and instance storage of the same night
    shutil.copy2(backup / warehouse.name, warehouse)
    shutil.rmtree(home)
    shutil.copytree(backup / "dagster_home", home)
    deliver(second, incoming)  # the providers deliver what came after the backup again
    process()
    assert state(warehouse) == expected
    deliver(first + second, incoming)  # and anything delivered a third time is recognised, never loaded twice
    process()
    assert state(warehouse) == expected
