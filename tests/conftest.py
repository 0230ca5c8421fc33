"""Shared test setup: every test gets its own landing zone, warehouse and export dir under tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED = PROJECT_ROOT.parent / "shared"
TEST_KEY = "test-key-0123456789-0123456789-0123456789"


@pytest.fixture
def rmj_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """RMJ_* variables pointing into tmp_path, with a test key (not the demo key)."""
    paths = {
        "landing": tmp_path / "landing",
        "warehouse": tmp_path / "warehouse" / "rmj.duckdb",
        "exports": tmp_path / "exports",
    }
    (paths["landing"] / "incoming").mkdir(parents=True)
    monkeypatch.setenv("RMJ_LANDING_DIR", str(paths["landing"]))
    monkeypatch.setenv("RMJ_WAREHOUSE", str(paths["warehouse"]))
    monkeypatch.setenv("RMJ_EXPORT_DIR", str(paths["exports"]))
    monkeypatch.setenv("RMJ_PSEUDONYM_KEY", TEST_KEY)
    monkeypatch.delenv("RMJ_PSEUDONYM_KEY_FILE", raising=False)
    monkeypatch.delenv("RMJ_PSEUDONYM_KEY_LABEL", raising=False)
    monkeypatch.delenv("RMJ_DEMO_MODE", raising=False)
    monkeypatch.delenv("RMJ_RETAIN_ORIGINALS", raising=False)
    monkeypatch.setenv("RMJ_SETTLE_SECONDS", "0")  # files in these tests are written before rmj process looks
    paths["dagster_home"] = tmp_path / "dagster_home"  # rmj process records its runs here, as the UI would
    monkeypatch.setenv("DAGSTER_HOME", str(paths["dagster_home"]))
    return paths
