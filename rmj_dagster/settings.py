"""Environment-specific settings: the one list of RMJ_* variables, their defaults and meaning.

Every place that needs a setting resolves it here: the CLI through ``Settings.from_env``, the Dagster
resources through ``dagster_value`` (an ``EnvVar`` when the variable is set, so the UI shows where the
value came from), and yes/no variables through ``is_on``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ENV_LANDING_DIR = "RMJ_LANDING_DIR"
ENV_WAREHOUSE = "RMJ_WAREHOUSE"
ENV_SNAPSHOT = "RMJ_SNAPSHOT"
ENV_EXPORT_DIR = "RMJ_EXPORT_DIR"
ENV_PSEUDONYM_KEY = "RMJ_PSEUDONYM_KEY"
ENV_PSEUDONYM_KEY_FILE = "RMJ_PSEUDONYM_KEY_FILE"
ENV_PSEUDONYM_KEY_LABEL = "RMJ_PSEUDONYM_KEY_LABEL"
ENV_DEMO_MODE = "RMJ_DEMO_MODE"
ENV_RETAIN_ORIGINALS = "RMJ_RETAIN_ORIGINALS"
ENV_WAREHOUSE_LOCK_WAIT = "RMJ_WAREHOUSE_LOCK_WAIT"
ENV_DUCKDB_MEMORY_LIMIT = "RMJ_DUCKDB_MEMORY_LIMIT"
ENV_SETTLE_SECONDS = "RMJ_SETTLE_SECONDS"
ENV_SENSOR_INTERVAL = "RMJ_SENSOR_INTERVAL_SECONDS"
ENV_RETRY_BACKOFF = "RMJ_RETRY_BACKOFF_SECONDS"

DEFAULT_LANDING_DIR = "data/landing"
DEFAULT_WAREHOUSE = "data/warehouse/rmj.duckdb"
DEFAULT_SNAPSHOT = "data/snapshot/rmj_marts.duckdb"
DEFAULT_EXPORT_DIR = "data/exports"

DEFAULTS = {
    ENV_LANDING_DIR: DEFAULT_LANDING_DIR,
    ENV_WAREHOUSE: DEFAULT_WAREHOUSE,
    ENV_SNAPSHOT: DEFAULT_SNAPSHOT,
    ENV_EXPORT_DIR: DEFAULT_EXPORT_DIR,
}


def is_on(value: str | None) -> bool:
    """A yes/no variable: 1, true, yes or ja (any case) mean yes; anything else no."""
    return (value or "").strip().lower() in {"1", "true", "yes", "ja"}


def value(name: str, environ: Mapping[str, str] | None = None) -> str:
    """A path setting: the variable when set and not empty, else its default."""
    env = os.environ if environ is None else environ
    return env.get(name) or DEFAULTS[name]


def dagster_value(name: str):
    """For a resource field: ``EnvVar(name)`` when set (the UI shows the source), else the default."""
    import dagster as dg

    return dg.EnvVar(name) if os.environ.get(name) else DEFAULTS[name]


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    warehouse: Path
    snapshot: Path
    export_dir: Path
    demo_mode: bool
    retain_originals: bool

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            landing_dir=Path(value(ENV_LANDING_DIR, env)),
            warehouse=Path(value(ENV_WAREHOUSE, env)),
            snapshot=Path(value(ENV_SNAPSHOT, env)),
            export_dir=Path(value(ENV_EXPORT_DIR, env)),
            demo_mode=is_on(env.get(ENV_DEMO_MODE)),
            retain_originals=is_on(env.get(ENV_RETAIN_ORIGINALS)),
        )


def seconds(name: str, default: float, environ: Mapping[str, str] | None = None) -> float:
    """A duration setting in seconds: the variable when it is a number, else ``default``."""
    env = os.environ if environ is None else environ
    try:
        return float(env.get(name) or default)
    except ValueError:
        return default


DEFAULT_SETTLE_SECONDS = 2.0


DEFAULT_DUCKDB_MEMORY_LIMIT = "1GB"


def duckdb_memory_limit() -> str:
    """DuckDB's memory limit for the warehouse ``rmj process`` keeps open across its runs
    (``RMJ_DUCKDB_MEMORY_LIMIT``, e.g. ``1GB``). Without one, the open database keeps every block it read
    (up to 80% of the machine's memory): a year's load would hold 3 GiB at twice the national volume.
    Heavy queries spill to disk beyond it."""
    return os.environ.get(ENV_DUCKDB_MEMORY_LIMIT) or DEFAULT_DUCKDB_MEMORY_LIMIT


def settle_seconds() -> float:
    """How long a file must be left alone to count as complete (``RMJ_SETTLE_SECONDS``): ``rmj process``
    looks twice this far apart, and both it and the sensor take a file untouched for this long at once."""
    return seconds(ENV_SETTLE_SECONDS, DEFAULT_SETTLE_SECONDS)


def owner_only_files() -> None:
    """Every file and folder the pipeline creates from now on is its owner's only (umask 077).

    Set where the pipeline starts (the ``rmj`` command, the code location's load, so every run worker):
    the warehouse, DuckDB's write-ahead log (it holds row data), run logs and exports. The published,
    aggregated CEO files are made readable on purpose where they are written."""
    os.umask(0o077)
