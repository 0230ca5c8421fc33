"""The restore procedure of docs/operations.md, as an operator runs it, with either instance storage: SQLite
(the nightly backup copies ``DAGSTER_HOME``) and PostgreSQL, the production one (``pg_dump -Fc`` and the
documented ``pg_restore --clean --if-exists``). The first drop, the nightly backup with a copy of the warehouse,
a later drop, damage, warehouse and instance storage of that night put back, re-delivery: nothing lost,
nothing twice, in the warehouse and in the instance (the delivery partitions, one successful load of each)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from rmj_dagster import cli
from rmj_dagster.generate import generate_deliveries
from rmj_dagster.runner import process
from tests.test_postgres_instance import _pg_bin, postgres_home, postgres_server  # noqa: F401 (a fixture)

pytestmark = pytest.mark.slow  # five chain runs per storage, PostgreSQL's against a real server

TODAY = date(2026, 11, 22)
TABLES = ("audit.deliveries", "pseudo.responses", "pseudo.stop_zorg", "pseudo.goals",
          "intermediate.cleaned_responses", "intermediate.cleaned_stop_zorg", "intermediate.cleaned_goals",
          "intermediate.rejected_rows", "marts.delivery_monitor")  # a mart each delivery run builds


def state(db: Path) -> dict:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = {table: con.execute(f"select count(*) from {table}").fetchone()[0] for table in TABLES}
        rows["deliveries"] = sorted(con.execute("select delivery_id, status, rows_read from audit.deliveries").fetchall())
    return rows


def instance_state() -> dict:
    """The delivery partitions, those materialized (loaded: delivery_outcome) and the runs that did not succeed."""
    from rmj_dagster.assets.asset_keys import asset_key

    with dg.DagsterInstance.get() as instance:
        partitions = sorted(instance.get_dynamic_partitions("deliveries"))
        loaded = instance.get_materialized_partitions(asset_key("delivery_outcome"))
        failed_runs = [r.run_id for r in instance.get_runs() if r.status != dg.DagsterRunStatus.SUCCESS]
    return {"partitions": partitions, "materialized": sorted(loaded), "unsuccessful runs": failed_runs}


def deliver(files: list[Path], incoming: Path) -> None:
    for path in files:
        shutil.copy2(path, incoming / path.name)


class SqliteStorage:
    """The local instance: its storage is the files under ``DAGSTER_HOME``."""

    def __init__(self, home: Path, backup: Path):
        self.home, self.copy = home, backup / "dagster_home"

    def back_up(self) -> None:
        shutil.copytree(self.home, self.copy)

    def restore(self) -> None:
        shutil.rmtree(self.home)
        shutil.copytree(self.copy, self.home)


class PostgresStorage:
    """deploy/dagster.postgres.yaml on a real server, backed up and restored as docs/operations.md says."""

    def __init__(self, server: dict, home: Path, backup: Path):
        postgres_home(server, home)
        self.dump = backup / "dagster.dump"
        self.connection = ["-h", server["socket_dir"], "-p", str(server["port"]), "-U", server["user"]]

    def back_up(self) -> None:
        subprocess.run([_pg_bin("pg_dump"), *self.connection, "-Fc", "-f", str(self.dump), "dagster"], check=True)

    def restore(self) -> None:  # the services stopped
        subprocess.run([_pg_bin("pg_restore"), *self.connection, "--clean", "--if-exists", "-d", "dagster",
                        str(self.dump)], check=True)


@pytest.fixture(scope="module")
def two_drops(tmp_path_factory) -> tuple[list[Path], list[Path]]:
    """The deliveries, generated once for both storages: the tests only copy them."""
    source = tmp_path_factory.mktemp("source")
    generate_deliveries(source, seed=31, scale=0.08, years=[2025], today=TODAY)
    files = sorted((source / "incoming").iterdir())
    return files[: len(files) // 2], files[len(files) // 2:]


@pytest.mark.parametrize("storage", ["sqlite", "postgres"])
def test_backup_damage_restore_and_redelivery_lose_nothing_and_load_nothing_twice(
        storage, request, rmj_env, tmp_path, two_drops, capsys):
    first, second = two_drops
    incoming, warehouse = rmj_env["landing"] / "incoming", rmj_env["warehouse"]
    backup = tmp_path / "backup"
    backup.mkdir()
    if storage == "postgres":  # skips without PostgreSQL's server binaries
        instance_storage = PostgresStorage(request.getfixturevalue("postgres_server"), rmj_env["dagster_home"], backup)
    else:
        instance_storage = SqliteStorage(rmj_env["dagster_home"], backup)

    deliver(first, incoming)
    process()
    # the nightly backup, nothing running: the instance storage and the warehouse of the same moment
    instance_storage.back_up()
    shutil.copy2(warehouse, backup / warehouse.name)
    deliver(second, incoming)
    process()
    expected, expected_instance = state(warehouse), instance_state()
    assert not expected_instance["unsuccessful runs"]

    with warehouse.open("r+b") as file:  # the disk fails: the warehouse is cut short
        file.truncate(warehouse.stat().st_size // 3)
    deliver(second[:1], incoming)  # a provider delivers again meanwhile: it waits, nothing is lost
    capsys.readouterr()
    assert cli.main(["process"]) == 1
    assert "is damaged" in capsys.readouterr().err
    assert (incoming / second[0].name).exists()

    # restore as docs/operations.md says: instance storage and warehouse of the same night
    instance_storage.restore()
    shutil.copy2(backup / warehouse.name, warehouse)
    restored = instance_state()
    assert set(restored["partitions"]) < set(expected_instance["partitions"])  # the night's history, not today's
    deliver(second, incoming)  # the providers deliver what came after the backup again
    process()
    assert state(warehouse) == expected
    assert instance_state() == expected_instance
    deliver(first + second, incoming)  # and anything delivered a third time is recognised, never loaded twice
    process()
    assert state(warehouse) == expected
