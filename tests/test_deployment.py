"""Deployed from its own files, as docs/deployment.md says, it works.

A temporary root holds what the install steps make: the project copied read-only to ``<root>/opt/rmj`` with
its own venv (Debian's Python, as a server has it), the state folders in ``<root>/var/lib/rmj`` owned by a
service user that is not root, ``deploy/rmj.env`` as shipped (only its paths moved under the root), the key
as a credential file only the service user may read, and PostgreSQL instance storage
(``deploy/dagster.postgres.yaml``). The daemon and the webserver start with the units' own command lines
(ExecStartPre, ExecStart), as the service user, with the units' umask. A month of deliveries is dropped in
``incoming/``; the sensor requests the run and the webserver's GraphQL shows it succeed.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import urllib.request
from datetime import date
from pathlib import Path

import duckdb
import pytest
import yaml

from tests.conftest import PROJECT_ROOT
from tests.polling import wait_for
from tests.test_postgres_instance import _connect, postgres_server  # noqa: F401 -- the fixture

pytestmark = [
    pytest.mark.slow,  # a venv, a PostgreSQL server, the daemon and the webserver
    pytest.mark.skipif(os.geteuid() != 0, reason="creates a service user and runs the services as it: needs root"),
    pytest.mark.skipif(not Path("/usr/bin/python3").exists() or not shutil.which("setpriv") or not shutil.which("useradd"),
                       reason="needs Debian's python3, setpriv and useradd"),
]

SERVICE_USER = "rmjsvc"
DEADLINE_S = 900  # generous: on a 2-core machine at load 14-18 the TTP step alone took 3 min 41 s and 420 s ran out


def _unit(name: str) -> dict[str, list[str]]:
    """The [Service] settings of a shipped unit, every value of a repeated key in order."""
    found: dict[str, list[str]] = {}
    section = None
    for line in (PROJECT_ROOT / "deploy" / name).read_text().splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            found.setdefault(key, []).append(value)
    return found


def _env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, value = line.split("=", 1)
            values[key] = value
    return values


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/dagster/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())["data"]


def _wait(what: str, condition, timeout: float, interval: float = 2.0):
    return wait_for(what, condition, timeout, interval, retry_on=(Exception,))  # the webserver still starting


def _enterable_temp() -> str:
    """The session's temporary root (memory, tests/conftest.py) when the service user may enter it, else /tmp."""
    root = tempfile.gettempdir()
    return root if os.stat(root).st_mode & 0o001 else "/tmp"


@pytest.fixture
def deployed_root():
    if subprocess.run(["id", SERVICE_USER], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER], check=True)
    root = Path(tempfile.mkdtemp(prefix="rmjdeploy", dir=_enterable_temp()))  # outside pytest's root-only folders
    os.chmod(root, 0o755)
    # the install steps run as root with the usual umask; this process may have taken the code location's
    # 077 from an earlier test, which would leave <root>/opt and <root>/var closed to the service user
    umask = os.umask(0o022)
    try:
        yield root
    finally:
        os.umask(umask)
        _kill_processes_running_from(root)
        shutil.rmtree(root, ignore_errors=True)


def _kill_processes_running_from(root: Path) -> None:
    """The daemon starts its code server in a session of its own, so killing the units' process groups can leave
    it (seen: `dagster api grpc` of the deployed venv alive an hour after the test): every process whose command
    line names this root is the test's own, and goes."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            command = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if str(root).encode() in command:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(proc.name), signal.SIGKILL)


def test_deployed_as_documented_it_processes_a_month_of_deliveries(deployed_root, postgres_server, tmp_path):  # noqa: F811
    from rmj_dagster.generate import generate_deliveries

    root, server = deployed_root, postgres_server
    user = pwd.getpwnam(SERVICE_USER)
    project, state, etc = root / "opt" / "rmj", root / "var" / "lib" / "rmj", root / "etc" / "rmj"

    # the project: its tracked files, installed into a venv of the server's Python, then read-only
    tracked = subprocess.run(["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True).stdout.split()
    for name in tracked:
        target = project / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT_ROOT / name, target)
    subprocess.run(["/usr/bin/python3", "-m", "venv", str(project / ".venv")], check=True)
    subprocess.run([str(project / ".venv" / "bin" / "pip"), "install", "-q", "-c", "constraints.txt", "-e", "."],
                   cwd=project, check=True, capture_output=True)
    subprocess.run(["chmod", "-R", "a+rX,a-w", str(project)], check=True)

    # the state folders of the install steps, the service user's own
    for folder, mode in (("", 0o700), ("dagster_home", 0o700), ("warehouse", 0o700), ("exports", 0o700),
                         ("snapshot", 0o700), ("landing", 0o750), ("landing/incoming", 0o770)):
        path = state / folder
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, user.pw_uid, user.pw_gid)
        os.chmod(path, mode)
    etc.mkdir(parents=True)
    shipped = (PROJECT_ROOT / "deploy" / "rmj.env").read_text()
    (etc / "rmj.env").write_text(shipped.replace("/var/lib/rmj", str(state)).replace("/opt/rmj", str(project)))

    # the instance storage: deploy/dagster.postgres.yaml, pointed at this server's socket
    con = _connect(server, "postgres")
    con.autocommit = True
    con.cursor().execute("create database dagster")
    con.close()
    config = yaml.safe_load((PROJECT_ROOT / "deploy" / "dagster.postgres.yaml").read_text())
    config["storage"]["postgres"]["postgres_db"] |= {"username": server["user"], "port": server["port"],
                                                     "params": {"host": server["socket_dir"]}}
    home_yaml = state / "dagster_home" / "dagster.yaml"
    home_yaml.write_text(yaml.safe_dump(config))
    os.chown(home_yaml, user.pw_uid, user.pw_gid)
    os.chmod(home_yaml, 0o600)

    # the key: a root-only file, handed to the daemon alone as a credential (what LoadCredential= does)
    (etc / "pseudonym.key").write_text("a" * 16 + os.urandom(24).hex() + "\n")
    os.chmod(etc / "pseudonym.key", 0o400)
    credentials = root / "run" / "credentials" / "dagster-daemon.service"
    credentials.mkdir(parents=True)
    shutil.copy2(etc / "pseudonym.key", credentials / "pseudonym.key")
    os.chown(credentials, user.pw_uid, user.pw_gid)
    os.chmod(credentials, 0o500)
    os.chown(credentials / "pseudonym.key", user.pw_uid, user.pw_gid)

    # a month of deliveries, uploaded by another account and readable by the service; dropped before the
    # services start, so the sensor's first tick (every 30 s, as shipped) finds them instead of the second
    source = tmp_path / "month"
    generate_deliveries(source, seed=11, years=[2025], scale=0.05, jw307_max_files=2, today=date(2025, 2, 5))
    incoming = state / "landing" / "incoming"
    dropped = sorted((source / "incoming").iterdir())
    for path in dropped:
        target = incoming / path.name
        shutil.copyfile(path, target)
        os.chown(target, 0, user.pw_gid)
        os.chmod(target, 0o640)

    port = _free_port()

    def service(unit: str) -> tuple[list[list[str]], dict[str, str], Path]:
        settings = _unit(unit)
        env = {"PATH": "/usr/bin:/bin", "HOME": str(state), "LANG": "C.UTF-8"}
        env |= _env_file(Path(settings["EnvironmentFile"][0].replace("/etc/rmj", str(etc))))
        for assignment in settings.get("Environment", []):
            key, value = assignment.split("=", 1)
            env[key] = value.replace("/var/lib/rmj", str(state)).replace("%d", str(credentials))
        commands = [shlex.split(line.replace("/opt/rmj", str(project)).replace("-p 3000", f"-p {port}"))
                    for line in settings.get("ExecStartPre", []) + settings["ExecStart"]]
        umask = settings["UMask"][0]
        as_user = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups"]
        wrapped = [[*as_user, "sh", "-c", f"umask {umask}; exec \"$@\"", "unit", *command] for command in commands]
        return wrapped, env, Path(settings["WorkingDirectory"][0].replace("/opt/rmj", str(project)))

    started: list[subprocess.Popen] = []
    try:
        for unit in ("dagster-daemon.service", "dagster-webserver.service"):
            commands, env, cwd = service(unit)
            for pre in commands[:-1]:
                done = subprocess.run(pre, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
                assert done.returncode == 0, done.stderr[-3000:]
            started.append(subprocess.Popen(commands[-1], env=env, cwd=cwd, start_new_session=True,
                                            stdout=open(tmp_path / f"{unit}.log", "wb"), stderr=subprocess.STDOUT))  # noqa: SIM115
        _wait("the webserver", lambda: _graphql(port, "{ version }"), 180)

        runs_query = "{ runsOrError { ... on Runs { results { runId status jobName tags { key value } } } } }"

        def delivery_runs() -> list[dict]:
            return [r for r in _graphql(port, runs_query)["runsOrError"]["results"] if r["jobName"] == "deliveries_job"]

        def finished() -> list[dict] | None:
            runs = delivery_runs()
            if any(r["status"] == "FAILURE" for r in runs):
                raise AssertionError(f"a deliveries run failed: {runs}; daemon log: "
                                     + (tmp_path / "dagster-daemon.service.log").read_text(errors="replace")[-3000:])
            return runs if runs and all(r["status"] == "SUCCESS" for r in runs) and not any(incoming.iterdir()) else None

        runs = _wait("the sensor's deliveries run to succeed", finished, DEADLINE_S, 5.0)
        assert all(any(t["key"] == "dagster/sensor_name" and t["value"] == "delivery_sensor" for t in r["tags"]) for r in runs)
        stats = _graphql(port, '{ assetNodeOrError(assetKey: {path: ["audit", "delivery_outcome"]}) '
                               '{ ... on AssetNode { partitionStats { numMaterialized numFailed numPartitions } } } }')
        shown = stats["assetNodeOrError"]["partitionStats"]  # each delivery in the UI: compared with the warehouse below
    finally:
        for process in reversed(started):
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(60)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(process.pid, signal.SIGKILL)

    warehouse = Path(_env_file(etc / "rmj.env")["RMJ_WAREHOUSE"])
    assert warehouse.stat().st_uid == user.pw_uid and (warehouse.stat().st_mode & 0o077) == 0  # the service's, owner-only
    with duckdb.connect(str(warehouse), read_only=True) as con:
        loaded = con.execute("select count(*) from audit.deliveries").fetchone()[0]
        unreconciled = con.execute("select count(*) from intermediate.delivery_reconciliation where not reconciled").fetchone()[0]
        really_loaded = con.execute("select count(*) from audit.deliveries where status = 'loaded'").fetchone()[0]
    assert loaded == len(dropped) and unreconciled == 0
    # a partition per delivery, materialized (green) in the UI only when it was loaded
    assert shown == {"numMaterialized": really_loaded, "numFailed": 0, "numPartitions": len(dropped)} and really_loaded
    snapshot = Path(_env_file(etc / "rmj.env")["RMJ_SNAPSHOT"])
    assert snapshot.exists() and snapshot.stat().st_uid == user.pw_uid
