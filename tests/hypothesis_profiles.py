"""Hypothesis budgets: the full one in CI (profile ``ci``), a tenth of it on a developer's machine (``dev``).

``HYPOTHESIS_PROFILE`` chooses; without it ``CI=true`` (as CI services set it, and ``.ci/run``) means ``ci``.
A test with its own budget writes ``max_examples=examples(full)`` so both profiles scale it.
"""

from __future__ import annotations

import os

from hypothesis import settings

from rmj_dagster.settings import is_on

settings.register_profile("ci", max_examples=100, deadline=None, print_blob=True)
settings.register_profile("dev", max_examples=10, deadline=None)

if os.environ.get("HYPOTHESIS_PROFILE"):
    PROFILE, HOW = os.environ["HYPOTHESIS_PROFILE"], "HYPOTHESIS_PROFILE"
else:
    PROFILE, HOW = ("ci", "CI is set") if is_on(os.environ.get("CI")) else ("dev", "set CI=true for the full budgets")
settings.load_profile(PROFILE)


def examples(full: int) -> int:
    """A test's budget: ``full`` in CI, a tenth (at least 2) in development."""
    return full if PROFILE == "ci" else max(2, full // 10)
