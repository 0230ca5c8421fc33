"""Shared test setup: isolation from the user's data by construction, the two tiers, hypothesis profiles.

Every place the pipeline writes is an ``RMJ_*`` path setting (``settings.DEFAULTS``) or ``DAGSTER_HOME``.
Their defaults (``data/…``, ``.dagster_home``) are the user's own data in the checkout, so:

- the session removes every ``RMJ_*`` setting the user may have exported and points all the path settings
  and ``DAGSTER_HOME`` at a temporary folder of its own before anything is collected (a module that
  builds Dagster resources on import then holds ``EnvVar``s, never the defaults), and refuses to start if
  one of them still resolves into the checkout's ``data/`` or ``.dagster_home/``;
- an autouse fixture points them at the test's own ``tmp_path`` (subprocesses inherit ``os.environ``) and
  fails a test that leaves one of them resolving into those folders.

``tests/test_isolation.py`` proves it: the user's ``data/`` and ``.dagster_home/`` are byte-identical after
a run of tests that write through the defaults.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from pathlib import Path

import pytest

from rmj_dagster import settings
from tests import hypothesis_profiles

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
INVOCATION_DIR = Path.cwd().resolve()  # relative defaults resolve here, unless a test moves elsewhere on purpose
# ../shared beside the checkout (a worktree one level deeper finds it one level up)
SHARED = next((p / "shared" for p in (PROJECT_ROOT.parent, PROJECT_ROOT.parent.parent) if (p / "shared").exists()),
              PROJECT_ROOT.parent / "shared")
TEST_KEY = "test-key-0123456789-0123456789-0123456789"

DAGSTER_HOME = "DAGSTER_HOME"  # the code's own default: local_instance.DEFAULT_HOME in the working directory
DEFAULT_DAGSTER_HOME = ".dagster_home"
# Where each path setting points inside a test's folder: its default with the leading data/ taken off.
ISOLATED = {name: Path(default).relative_to("data") for name, default in settings.DEFAULTS.items()} | {
    DAGSTER_HOME: Path("dagster_home")
}
# Every RMJ_* setting of the pipeline (settings.ENV_*): none of the user's values reaches a test.
RMJ_SETTINGS = sorted(value for name, value in vars(settings).items() if name.startswith("ENV_"))

SLOW_TIER = ".venv/bin/pytest -m slow"

# Where the tests' temporary folders go unless TMPDIR says otherwise: memory, not disk. Every chain run
# writes hundreds of events to a SQLite instance and checkpoints DuckDB, each an fsync; on this machine's
# disk that was about 40% of a small `rmj process` (57 s on disk, 33 s in memory, same run). The tests
# prove what the pipeline writes, never what survives a power cut, so memory proves the same.
MEMORY_TEMP = Path("/dev/shm")
MEMORY_TEMP_MIN_FREE = 4 * 2**30  # a whole session's folders (a failed test's are kept) fit with room to spare


def temp_root(environ: dict[str, str] | os._Environ, memory: Path = MEMORY_TEMP) -> str | None:
    """The temporary root the session uses: TMPDIR when set, else ``memory`` when it is a writable folder
    with room enough, else None (Python's default)."""
    if environ.get("TMPDIR"):
        return environ["TMPDIR"]
    try:
        free = os.statvfs(memory)
    except OSError:
        return None
    if memory.is_dir() and os.access(memory, os.W_OK | os.X_OK) and free.f_bavail * free.f_frsize >= MEMORY_TEMP_MIN_FREE:
        return str(memory)
    return None


if (_root := temp_root(os.environ)) is not None:  # before pytest makes its basetemp; subprocesses inherit it
    os.environ["TMPDIR"] = _root
    tempfile.tempdir = None  # tempfile reads TMPDIR again


def user_data_folders() -> list[Path]:
    """The folders the defaults resolve to: the checkout's (and pytest's working directory's) data/ and .dagster_home/."""
    roots = {PROJECT_ROOT, INVOCATION_DIR}
    return [root / name for root in sorted(roots) for name in ("data", DEFAULT_DAGSTER_HOME)]


def into_user_data(environ: dict[str, str] | os._Environ) -> list[str]:
    """The isolated variables that resolve (as the pipeline resolves them) into the user's data folders."""
    forbidden = user_data_folders()
    found = []
    for name in ISOLATED:
        value = environ.get(name) or (DEFAULT_DAGSTER_HOME if name == DAGSTER_HOME else settings.DEFAULTS[name])
        resolved = Path(value).resolve()
        if any(resolved == folder or folder in resolved.parents for folder in forbidden):
            found.append(f"{name}={environ.get(name) or '(not set: default)'} -> {resolved}")
    return found


def isolated_paths(root: Path) -> dict[str, Path]:
    """Each isolated variable's value under ``root``."""
    return {name: root / sub for name, sub in ISOLATED.items()}


_session_root: Path | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _session_root
    # A session started in the background by a shell ignores SIGINT. A Dagster job run in this process then
    # leaves SIGTERM ignored too (it points SIGTERM at SIGINT's handler), and every process a test starts
    # afterwards (`rmj`, a daemon, Dagster's log mirrors) would ignore being told to stop.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    config.addinivalue_line(
        "markers", "slow: needs a real daemon, SIGKILL, PostgreSQL, a browser, national volume or runs the whole "
        f"chain again and again; left out of plain pytest, run with {SLOW_TIER}")
    for name in RMJ_SETTINGS:
        os.environ.pop(name, None)
    _session_root = Path(tempfile.mkdtemp(prefix="rmj-tests-"))
    os.environ.update({name: str(path) for name, path in isolated_paths(_session_root).items()})
    leaks = into_user_data(os.environ)
    if leaks:
        shutil.rmtree(_session_root, ignore_errors=True)
        raise pytest.UsageError(
            "refusing to run the tests: they would write into the checkout's own data folders "
            f"({', '.join(str(f) for f in user_data_folders())}):\n  " + "\n  ".join(leaks)
            + "\nPoint the temporary folder (TMPDIR, --basetemp) outside data/ and .dagster_home/.")


# Two at a time (.ci/run), the test that starts last bounds the tier: the longest modules start first. Measured
# in the slow tier under CI=true: batches 165 s, deployment 120 s, the cockpit's monthly year (one xdist group)
# about 150 s, the restore over two instance storages 125 s.
LONGEST_FIRST = ("test_batch_properties.py", "test_cockpit.py", "test_deployment.py", "test_restore.py")


# Modules whose tests share a costly module fixture: under `--dist loadgroup` (the slow tier in .ci/run) all their
# tests run on one worker, so the fixture is built once; every other test goes to whichever worker is free.
# pytest-xdist's own loadgroup reads the xdist_group marker by rewriting item._nodeid, which pytest 9.2 no
# longer reads (Node.nodeid comes from _id): every group was ignored and the cockpit's year processed twice.
KEPT_TOGETHER = ("test_cockpit.py",)  # monthly_run: a year of monthly deliveries through the whole chain


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: only called when xdist distributes the tests
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    if config.getoption("dist") != "loadgroup":
        return None  # xdist's own scheduler (the fast tier's loadscope keeps each module on one worker)
    from xdist.scheduler import LoadScopeScheduling

    class KeptTogether(LoadScopeScheduling):
        """A work unit per test, except one per module in KEPT_TOGETHER (sent first: the biggest unit)."""

        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if Path(module).name in KEPT_TOGETHER else nodeid

    return KeptTogether(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if hasattr(config, "workerinput"):  # an xdist worker: every worker sorts alike, so the collections agree
        items.sort(key=lambda item: LONGEST_FIRST.index(item.path.name) if item.path.name in LONGEST_FIRST
                   else len(LONGEST_FIRST))


def pytest_unconfigure(config: pytest.Config) -> None:
    if _session_root is not None:
        shutil.rmtree(_session_root, ignore_errors=True)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    markexpr = config.getoption("markexpr") or ""
    if "not slow" in markexpr:
        terminalreporter.write_sep("-", "fast tier only")
        terminalreporter.write_line(
            f"The slow tier (real daemon, SIGKILL, PostgreSQL, headless browser, national volume, repeated "
            f"whole-chain runs) is left out: run it with  {SLOW_TIER}  (.ci/run runs both).")
    terminalreporter.write_line(f"hypothesis profile: {hypothesis_profiles.PROFILE} ({hypothesis_profiles.HOW})")


@pytest.fixture(autouse=True)
def _isolated_from_user_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest):
    """Every path setting and DAGSTER_HOME in this test's own folder; a test that leaves one in the user's
    data (unset, so it falls back to the default, or pointed there) fails."""
    for name, path in isolated_paths(tmp_path).items():
        monkeypatch.setenv(name, str(path))
    yield
    leaks = into_user_data(os.environ)
    if leaks:
        pytest.fail(f"{request.node.nodeid} points into the user's data folders; use tmp_path:\n  " + "\n  ".join(leaks))


@pytest.fixture
def rmj_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """The RMJ_* paths (all in tmp_path, see above) as a dict, an empty landing zone, a test key (not the demo key)."""
    isolated = isolated_paths(tmp_path)
    paths = {
        "landing": isolated[settings.ENV_LANDING_DIR],
        "warehouse": isolated[settings.ENV_WAREHOUSE],
        "snapshot": isolated[settings.ENV_SNAPSHOT],
        "exports": isolated[settings.ENV_EXPORT_DIR],
        "dagster_home": isolated[DAGSTER_HOME],  # rmj process records its runs here, as the UI would
    }
    (paths["landing"] / "incoming").mkdir(parents=True)
    for name, path in isolated.items():
        monkeypatch.setenv(name, str(path))
    monkeypatch.setenv(settings.ENV_PSEUDONYM_KEY, TEST_KEY)
    monkeypatch.setenv(settings.ENV_SETTLE_SECONDS, "0")  # files in these tests are written before rmj process looks
    return paths
