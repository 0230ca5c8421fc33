"""A process started in the background by a shell (SIGINT ignored) that runs jobs through the runner in its main
thread (a script, the tests) keeps SIGTERM working across its runs, so the processes it starts stop when told:
Dagster's step-log mirrors (``tail``) that ignored SIGTERM made steps wait and held a command's output open."""

from __future__ import annotations

import signal
import subprocess
import sys

SCRIPT = """
import os, signal, subprocess
import dagster as dg
from rmj_dagster import local_instance, runner

@dg.asset
def printed():
    print("a line on stdout, mirrored by a tail process")

job = dg.Definitions(assets=[printed], jobs=[dg.define_asset_job("printing", [printed])]).resolve_job_def("printing")
instance = local_instance.instance()
for _ in range(2):
    runner._execute(job, instance, asset_selection=[dg.AssetKey("printed")])
child = subprocess.Popen(["sleep", "60"])  # a process started afterwards, as the log mirrors of the next run
child.terminate()
try:
    child.wait(timeout=10)
    print("child stopped:", child.returncode == -signal.SIGTERM)
except subprocess.TimeoutExpired:
    child.kill()
    print("child stopped: False")
print("SIGTERM default:", signal.getsignal(signal.SIGTERM) == signal.SIG_DFL)
"""


def test_a_command_started_in_the_background_stays_stoppable_after_its_runs(tmp_path):
    def background():  # what a shell does for a command it starts with &
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300,
                          preexec_fn=background)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "child stopped: True" in done.stdout and "SIGTERM default: True" in done.stdout, done.stdout
