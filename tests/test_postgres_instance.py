"""The production instance storage: a real PostgreSQL server (Debian's package), deliveries through the
chain with the instance stored there, and the runs and asset events found in PostgreSQL's own tables.

The server is started for the test on a unix socket in a temporary folder (no TCP port), as a
non-root user when the test runs as root (PostgreSQL refuses root), and stopped afterwards.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from datetime import date
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.slow  # a real PostgreSQL server

PORT = 54329  # names the socket file only: the server listens on no TCP address


def _pg_bin(name: str) -> str | None:
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.access(os.path.join(folder, name), os.X_OK):
            return os.path.join(folder, name)
    return shutil.which(name)


def _as_user(user: str | None, command: list[str]) -> list[str]:
    if user is None:
        return command
    runuser = shutil.which("runuser")
    return [runuser, "-u", user, "--", *command] if runuser else ["su", user, "-s", "/bin/sh", "-c", " ".join(command)]


@pytest.fixture
def postgres_server():
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL server binaries not installed (.ci/run installs the postgresql package)")
    user = None
    if os.geteuid() == 0:  # the server refuses to run as root: run it as a system user
        user = next((u for u in ("postgres", "nobody") if _user_exists(u)), None)
        if user is None:
            pytest.skip("running as root and no system user to run PostgreSQL as")
    root = Path(tempfile.mkdtemp(prefix="rmjpg"))  # short path: unix socket names are limited to ~100 bytes
    data, socket_dir = root / "data", root / "sock"
    socket_dir.mkdir()
    if user:
        entry = pwd.getpwnam(user)
        for path in (root, socket_dir):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    os.chmod(root, 0o755)
    subprocess.run(_as_user(user, [initdb, "-D", str(data), "-U", "dagster", "--auth=trust", "-E", "UTF8"]),
                   check=True, capture_output=True)
    options = f"-k {socket_dir} -c listen_addresses= -p {PORT}"
    subprocess.run(_as_user(user, [pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "server.log"), "-w", "start"]),
                   check=True, capture_output=True)
    try:
        yield {"socket_dir": str(socket_dir), "port": PORT, "user": "dagster"}
    finally:
        subprocess.run(_as_user(user, [pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def postgres_home(server, home: Path) -> None:
    """The database ``dagster`` on ``server`` and ``home/dagster.yaml`` as deploy/dagster.postgres.yaml documents it
    (driver, socket connection), pointed at this server's socket."""
    con = _connect(server, "postgres")
    con.autocommit = True
    con.cursor().execute("create database dagster")
    con.close()
    config = yaml.safe_load((PROJECT_ROOT / "deploy" / "dagster.postgres.yaml").read_text())
    db = config["storage"]["postgres"]["postgres_db"]
    assert db["db_name"] == "dagster" and db["hostname"] == "" and "password" not in db
    db |= {"username": server["user"], "port": server["port"], "params": {"host": server["socket_dir"]}}
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))


def _connect(server, db: str):
    import psycopg2

    return psycopg2.connect(host=server["socket_dir"], port=server["port"], user=server["user"], dbname=db)


def test_the_documented_postgres_instance_stores_the_runs_and_asset_events(postgres_server, rmj_env):
    from rmj_dagster.generate import generate_deliveries
    from rmj_dagster.runner import process

    server = postgres_server
    home = rmj_env["dagster_home"]
    postgres_home(server, home)

    generate_deliveries(rmj_env["landing"], seed=7, years=[2025], scale=0.15, jw307_max_files=3, today=date(2026, 3, 1))
    dropped = len(list((rmj_env["landing"] / "incoming").iterdir()))
    summary = process()
    assert summary.checks["failed"] == 0, summary.failed_checks

    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        runs = instance.get_runs()
        delivery_runs = [r for r in runs if r.job_name == "deliveries_job"]
        assert delivery_runs and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        assert len(instance.get_dynamic_partitions("deliveries")) == dropped

    con = _connect(server, "dagster")
    with con, con.cursor() as cur:
        cur.execute("select run_id, status from runs where pipeline_name = 'deliveries_job'")
        stored = dict(cur.fetchall())
        assert set(stored) == {r.run_id for r in delivery_runs} and set(stored.values()) == {"SUCCESS"}
        cur.execute(
            "select asset_key, count(*) from event_logs where dagster_event_type = 'ASSET_MATERIALIZATION' "
            "and run_id = any(%s) group by asset_key",
            [list(stored)],
        )
        materialized = {dg.AssetKey.from_db_string(key) for key, _ in cur.fetchall()}
        cur.execute("select count(*) from event_logs where dagster_event_type = 'ASSET_CHECK_EVALUATION'")
        check_evaluations = cur.fetchone()[0]
    con.close()
    from rmj_dagster.assets.asset_keys import asset_key
    from rmj_dagster.intake.kinds import KINDS

    # raw_provider_drops, one pseudonymised asset per kind and the cleaned responses, stored in PostgreSQL
    expected = {asset_key("raw_provider_drops"), asset_key("cleaned_responses"), *(asset_key(k.asset) for k in KINDS.values())}
    assert expected <= materialized, expected - materialized
    assert check_evaluations >= 20
    # nothing of the instance went to SQLite files in DAGSTER_HOME
    assert not list(home.rglob("*.db")), list(home.rglob("*.db"))
