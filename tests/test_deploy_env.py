"""``deploy/rmj.env`` as shipped: every variable the services read is there, with a value that works.

Deployed from its own files (issue 26), the platform loaded nothing: the shipped key label was refused
and ``RMJ_SNAPSHOT`` defaulted to a path under the read-only project folder.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from rmj_dagster import settings
from rmj_dagster.ttp.pseudonym import label_problem

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEPLOY = PROJECT_ROOT / "deploy"
INSTALLED_PROJECT = PurePosixPath("/opt/rmj")  # where docs/deployment.md installs the project (read-only to the services)
STATE = PurePosixPath("/var/lib/rmj")  # the service user's folder (ReadWritePaths of both units)
KEY_VARIABLES = {settings.ENV_PSEUDONYM_KEY, settings.ENV_PSEUDONYM_KEY_FILE}  # a credential, never in rmj.env
PATHS = {settings.ENV_LANDING_DIR, settings.ENV_WAREHOUSE, settings.ENV_SNAPSHOT, settings.ENV_EXPORT_DIR}
SWITCHES = {settings.ENV_DEMO_MODE, settings.ENV_RETAIN_ORIGINALS}
DURATIONS = {settings.ENV_WAREHOUSE_LOCK_WAIT, settings.ENV_SETTLE_SECONDS, settings.ENV_SENSOR_INTERVAL,
             settings.ENV_RETRY_BACKOFF}


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines as systemd's ``EnvironmentFile`` reads them (comments and blank lines skipped)."""
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            found[name.strip()] = value.strip()
    return found


def settings_variables() -> set[str]:
    """Every ``RMJ_*`` variable ``rmj_dagster.settings`` declares (its ``ENV_*`` constants)."""
    return {value for name, value in vars(settings).items() if name.startswith("ENV_") and isinstance(value, str)}


def test_every_variable_the_services_read_is_in_the_shipped_env_file():
    shipped = read_env_file(DEPLOY / "rmj.env")
    missing = settings_variables() - KEY_VARIABLES - set(shipped)
    assert not missing, f"deploy/rmj.env lacks {sorted(missing)}"
    assert not KEY_VARIABLES & set(shipped), "the key is a credential of the daemon unit, never in rmj.env"
    daemon = (DEPLOY / "dagster-daemon.service").read_text(encoding="utf-8")
    assert f"Environment={settings.ENV_PSEUDONYM_KEY_FILE}=%d/" in daemon and "LoadCredential=" in daemon


def test_the_shipped_values_are_valid():
    shipped = read_env_file(DEPLOY / "rmj.env")
    assert label_problem(shipped[settings.ENV_PSEUDONYM_KEY_LABEL]) is None, shipped[settings.ENV_PSEUDONYM_KEY_LABEL]
    for name in PATHS:
        path = PurePosixPath(shipped[name])
        assert path.is_absolute(), f"{name}={path}: the services' working directory is the read-only project"
        assert not path.is_relative_to(INSTALLED_PROJECT), f"{name}={path} lies under the read-only project folder"
        assert path.is_relative_to(STATE), f"{name}={path} lies outside {STATE}, the only folder the units may write"
    assert len({shipped[name] for name in PATHS}) == len(PATHS)
    for name in SWITCHES:
        assert shipped[name] in {"0", "1"} and not settings.is_on(shipped[name]), f"{name} must be off on a server"
    for name in DURATIONS:
        assert float(shipped[name]) > 0, name
    assert re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", shipped[settings.ENV_DUCKDB_MEMORY_LIMIT])


def test_the_install_steps_create_every_state_folder_owned_by_the_service_user():
    shipped = read_env_file(DEPLOY / "rmj.env")
    steps = (PROJECT_ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    made = set()
    for line in steps.splitlines():
        if line.startswith("sudo install -d -o rmj -g rmj"):
            made |= {PurePosixPath(word) for word in line.split("#")[0].split() if word.startswith("/")}
    for name in PATHS:
        path = PurePosixPath(shipped[name])
        folder = path.parent if path.suffix else path  # a file's folder, or the folder itself
        assert folder in made, f"the install steps do not create {folder} ({name}) owned by rmj"


def test_the_examples_hold_a_label_that_passes():
    example = read_env_file(PROJECT_ROOT / ".env.example")
    assert set(example) >= settings_variables() - {settings.ENV_PSEUDONYM_KEY_FILE}
    documents = {p: p.read_text(encoding="utf-8") for p in
                 (PROJECT_ROOT / ".env.example", PROJECT_ROOT / "README.md", PROJECT_ROOT / "docs" / "deployment.md",
                  DEPLOY / "rmj.env")}
    for path, text in documents.items():
        for label in re.findall(r"RMJ_PSEUDONYM_KEY_LABEL=([^\s`'\"]+)", text):
            assert label_problem(label) is None, f"{path.name} suggests the refused label {label}"
