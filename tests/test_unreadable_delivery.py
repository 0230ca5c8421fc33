"""A delivery the service may not read is reported with what to do, by the sensor and by ``rmj process``.

As root every file is readable, so the process under test runs without the capabilities that let root read
any file (``setpriv``): the file's mode then applies, as it does to the service user of a deployment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.console_capture import run_captured

pytestmark = pytest.mark.skipif(os.geteuid() == 0 and not shutil.which("setpriv"), reason="needs util-linux setpriv to drop root's file access")

CEM = ("aanbieder_agb;bsn;geboortedatum;gemeentecode;toewijzingnummer;vragenlijst;invuldatum\n"
       "12345678;999999999;2010-01-01;0363;1001;OUDERS_EINDE;2025-03-01\n")

TICK = """
import dagster as dg, os
from rmj_dagster.resources import LandingZoneResource
from rmj_dagster.sensors.delivery_sensor import delivery_sensor
instance = dg.DagsterInstance.ephemeral()
context = dg.build_sensor_context(instance=instance, resources={"landing": LandingZoneResource(root=os.environ["RMJ_LANDING_DIR"])})
result = delivery_sensor(context)
print(type(result).__name__, getattr(result, "skip_message", None) or "")
"""


def _as_service(command: list[str]) -> list[str]:
    """The command without root's power to read any file (a no-op when not root)."""
    if os.geteuid() != 0:
        return command
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]


@pytest.fixture
def unreadable_file(rmj_env) -> Path:
    path = rmj_env["landing"] / "incoming" / "Jansen_123456782.csv"
    path.write_text(CEM, encoding="utf-8")
    path.chmod(0o000)
    return path


def test_the_sensor_says_a_file_cannot_be_read_and_what_to_do(unreadable_file):
    done = subprocess.run(_as_service([sys.executable, "-c", TICK]), capture_output=True, text=True, timeout=120, env=os.environ)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert out.startswith("SkipReason"), out
    assert "1 file(s) in incoming/ cannot be read by this service" in out and "docs/operations.md" in out
    assert "123456782" not in out and "Jansen" not in out  # named by token, never by the name as received
    assert unreadable_file.exists()  # left for a person to fix


def test_rmj_process_reports_an_unreadable_file_and_leaves_it(unreadable_file):
    rmj = Path(sys.executable).with_name("rmj")
    done = run_captured(_as_service([str(rmj), "process"]), timeout=300, env=os.environ)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "1 file(s) in incoming/ cannot be read by this service" in done.stdout
    assert "Traceback" not in done.stderr
    assert "123456782" not in done.stdout + done.stderr and "Jansen" not in done.stdout + done.stderr
    assert unreadable_file.exists()
