"""Waiting for a real process (a daemon, a webserver, a run) to reach a state: one poll loop for the tests."""

from __future__ import annotations

import time


def wait_for(what: str, condition, timeout: float, interval: float = 0.25, retry_on: tuple[type[BaseException], ...] = ()):
    """``condition()``'s first truthy value, polled every ``interval`` s; an error of ``retry_on`` counts as
    not yet (a webserver still starting, a folder a run removes while it is read). Fails naming ``what`` and
    the last such error after ``timeout`` s."""
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        try:
            value = condition()
        except retry_on as error:
            value, last = None, error
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}" + (f" (last error: {last!r})" if last else ""))
