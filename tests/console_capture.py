"""A command's console output for a test, without waiting on processes the command left behind."""

from __future__ import annotations

import subprocess
import tempfile


def run_captured(command: list[str], *, timeout: float, **options) -> subprocess.CompletedProcess[str]:
    """``subprocess.run(command, capture_output=True, text=True)``, but the output goes through files.

    With pipes, ``run`` waits until every holder of the pipe closes it, not for the command: the ``tail -F``
    that Dagster's compute-log capture starts per run inherits the console and is stopped with SIGTERM. In a
    run started under ``nohup`` from a shell that ignores SIGTERM (the tails' SigIgn said so) they outlived
    ``rmj process`` by minutes and the test waited out its whole timeout (900 s, 300 s). Files end when the
    command does, whatever the launcher.
    """
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as out, \
            tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as err:
        done = subprocess.run(command, stdout=out, stderr=err, timeout=timeout, **options)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(command, done.returncode, out.read(), err.read())
