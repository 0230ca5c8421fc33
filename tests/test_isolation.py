"""The tests never touch the user's data: ``data/`` and ``.dagster_home/`` of the checkout stay byte-identical.

A user runs the README's ``pytest`` in a checkout where ``rmj demo`` or ``rmj process`` left their data.
Here that checkout is a copy with a planted ``data/`` and ``.dagster_home/``, and pytest runs in it, as the
user would, with no ``RMJ_*`` variable or ``DAGSTER_HOME`` set, over tests that write through the defaults
unless the fixtures redirect them: one with ``rmj_env`` that runs ``rmj process`` (which ends with the
analysts' snapshot) and one module fixture that runs it without an instance of its own.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from rmj_dagster import local_instance, settings
from rmj_dagster.definitions import build_resources
from tests import conftest
from tests.conftest import DAGSTER_HOME, ISOLATED, PROJECT_ROOT, RMJ_SETTINGS, SHARED, temp_root

WRITING_TESTS = [
    "tests/test_quarantine_retention.py::test_a_quarantined_file_is_destroyed_after_the_retention_period_and_audited",
    "tests/test_hostile_input.py::test_the_ordinary_delivery_beside_them_is_processed",
]
NOT_COPIED = shutil.ignore_patterns(".git", ".venv", "data", ".dagster_home", "__pycache__", ".pytest_cache",
                                    ".hypothesis", "*.egg-info", ".coverage*")


def test_every_path_setting_and_dagster_home_are_in_the_tests_own_folder(tmp_path):
    assert set(ISOLATED) == {*settings.DEFAULTS, DAGSTER_HOME}
    for name in ISOLATED:
        assert tmp_path in Path(os.environ[name]).parents, name
    resolved = settings.Settings.from_env()
    for path in (resolved.landing_dir, resolved.warehouse, resolved.snapshot, resolved.export_dir, local_instance.home()):
        assert tmp_path in path.parents
    resources = build_resources()  # as the code location builds them: from the environment
    for value in (resources["warehouse"].database, resources["landing"].root, resources["exports"].root,
                  resources["snapshot_area"].path):
        assert tmp_path in Path(value.get_value()).parents  # an EnvVar: the UI shows where it came from


def test_the_temporary_folders_are_in_memory_unless_tmpdir_says_otherwise(tmp_path, monkeypatch):
    assert temp_root({"TMPDIR": "/somewhere/chosen"}) == "/somewhere/chosen"  # the user's choice wins
    assert temp_root({}, memory=tmp_path) == str(tmp_path)  # a writable folder with room
    assert temp_root({}, memory=tmp_path / "missing") is None
    (tmp_path / "a-file").write_text("")
    assert temp_root({}, memory=tmp_path / "a-file") is None
    monkeypatch.setattr(conftest, "MEMORY_TEMP_MIN_FREE", 2**70)
    assert temp_root({}, memory=tmp_path) is None  # too little room: Python's default
    # this session: pytest's folders and the subprocesses' TMPDIR follow the choice
    root = Path(os.environ["TMPDIR"]).resolve()
    assert Path(tempfile.gettempdir()).resolve() == root and root in tmp_path.resolve().parents


def _tree(root: Path) -> dict[str, str]:
    """Every file, folder and link under root with its content hash: equal trees, equal bytes."""
    found = {}
    for path in sorted(root.rglob("*")):
        name = str(path.relative_to(root))
        if path.is_symlink():
            found[name] = f"-> {os.readlink(path)}"
        elif path.is_dir():
            found[name] = "folder"
        else:
            found[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture(scope="module")
def user_checkout(tmp_path_factory) -> Path:
    """A copy of the checkout with the user's data of an earlier ``rmj demo`` (a few planted files)."""
    root = tmp_path_factory.mktemp("user")
    checkout = root / "checkout"
    shutil.copytree(PROJECT_ROOT, checkout, ignore=NOT_COPIED)
    if SHARED.exists():
        (root / "shared").symlink_to(SHARED)  # beside the checkout, as tests/conftest.py looks for it
    planted = {
        "data/landing/incoming/.keep": b"",
        "data/exports/ceo/2025/rmj_ceo_2025.csv": b"jaar;indicator;waarde\n2025;uitval;0.12\n",
        "data/warehouse/rmj.duckdb": b"the user's warehouse",
        "data/snapshot/rmj_marts.duckdb": b"the analysts' snapshot",
        ".dagster_home/notes.txt": b"the instance rmj ui shows",
    }
    for name, data in planted.items():
        (checkout / name).parent.mkdir(parents=True, exist_ok=True)
        (checkout / name).write_bytes(data)
    return checkout


def _user_environment() -> dict[str, str]:
    """A user's shell: none of the pipeline's settings, no DAGSTER_HOME, no state of this pytest."""
    drop = {*RMJ_SETTINGS, *ISOLATED, "HYPOTHESIS_PROFILE"}
    return {k: v for k, v in os.environ.items() if k not in drop and not k.startswith(("PYTEST", "COV_CORE", "COVERAGE"))}


@pytest.mark.slow  # two whole `rmj process` runs in a second pytest; tests/conftest.py checks every test's paths
def test_the_users_data_is_byte_identical_after_tests_that_write(user_checkout):
    before = {name: _tree(user_checkout / name) for name in ("data", ".dagster_home")}
    assert before["data"] and before[".dagster_home"]
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *WRITING_TESTS],
                         cwd=user_checkout, env=_user_environment(), capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert f"{len(WRITING_TESTS)} passed" in run.stdout
    after = {name: _tree(user_checkout / name) for name in ("data", ".dagster_home")}
    changed = {name: sorted({k for k, _ in set(before[name].items()) ^ set(after[name].items())}) for name in before}
    assert after == before, f"the tests changed the user's data: {changed}"


def test_a_session_that_would_write_into_the_users_data_refuses_to_start(user_checkout):
    """The session's own folder inside data/ (here through TMPDIR): pytest stops before collecting anything."""
    env = _user_environment() | {"TMPDIR": str(user_checkout / "data")}
    before = _tree(user_checkout / "data")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_codebook.py"],
                         cwd=user_checkout, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.stdout[-2000:] + run.stderr[-2000:]
    assert "refusing to run the tests" in run.stderr and "RMJ_WAREHOUSE" in run.stderr
    assert _tree(user_checkout / "data") == before
