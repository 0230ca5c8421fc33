"""The restore procedure of docs/operations.md with the production instance storage, PostgreSQL: the nightly
backup (``pg_dump -Fc`` and a copy of the warehouse), a later delivery, damage, the documented ``pg_restore
--clean --if-exists`` and the warehouse put back, re-delivery. Nothing lost, nothing twice, in the warehouse
and in the instance (the delivery partitions, one successful load of each)."""

from __future__ import annotations

import shutil
import subprocess

import dagster as dg
import pytest

from rmj_dagster import cli
from rmj_dagster.runner import process
from tests.test_postgres_instance import _pg_bin, postgres_home, postgres_server  # noqa: F401 (a fixture)
from tests.test_restore import deliver, state, two_drops  # noqa: F401 (a fixture)

pytestmark = pytest.mark.slow  # a real PostgreSQL server and four chain runs


def instance_state() -> dict:
    """The delivery partitions and, per partition, how many successful runs loaded it (raw_provider_drops)."""
    from rmj_dagster.assets.asset_keys import asset_key

    with dg.DagsterInstance.get() as instance:
        partitions = sorted(instance.get_dynamic_partitions("deliveries"))
        loaded = instance.get_materialized_partitions(asset_key("raw_provider_drops"))
        failed_runs = [r.run_id for r in instance.get_runs() if r.status != dg.DagsterRunStatus.SUCCESS]
    return {"partitions": partitions, "materialized": sorted(loaded), "unsuccessful runs": failed_runs}


def test_a_postgres_instance_and_its_warehouse_restored_lose_nothing_and_load_nothing_twice(
        postgres_server, rmj_env, tmp_path, two_drops, capsys):  # noqa: F811
    server, (first, second) = postgres_server, two_drops
    incoming, warehouse = rmj_env["landing"] / "incoming", rmj_env["warehouse"]
    postgres_home(server, rmj_env["dagster_home"])
    connection = ["-h", server["socket_dir"], "-p", str(server["port"]), "-U", server["user"]]

    deliver(first, incoming)
    process()
    # the nightly backup, nothing running: the instance's dump and the warehouse of the same moment
    backup = tmp_path / "backup"
    backup.mkdir()
    subprocess.run([_pg_bin("pg_dump"), *connection, "-Fc", "-f", str(backup / "dagster.dump"), "dagster"], check=True)
    shutil.copy2(warehouse, backup / warehouse.name)
    deliver(second, incoming)
    process()
    expected, expected_instance = state(warehouse), instance_state()
    assert not expected_instance["unsuccessful runs"]

    with warehouse.open("r+b") as file:  # the disk fails: the warehouse is cut short
        file.truncate(warehouse.stat().st_size // 3)
    deliver(second[:1], incoming)
    capsys.readouterr()
    assert cli.main(["process"]) == 1
    assert "is damaged" in capsys.readouterr().err
    assert (incoming / second[0].name).exists()  # waits, nothing lost

    # restore as docs/operations.md says (the services stopped): instance storage and warehouse of that night
    subprocess.run([_pg_bin("pg_restore"), *connection, "--clean", "--if-exists", "-d", "dagster",
                    str(backup / "dagster.dump")], check=True)
    shutil.copy2(backup / warehouse.name, warehouse)
    restored = instance_state()
    assert set(restored["partitions"]) < set(expected_instance["partitions"])  # the night's history, not today's
    deliver(second, incoming)  # the providers deliver what came after the backup again
    process()
    assert state(warehouse) == expected
    assert instance_state() == expected_instance
