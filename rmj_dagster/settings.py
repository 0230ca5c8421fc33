"""Environment-specific settings: the one list of RMJ_* variables, their defaults and meaning.

Dagster resources read the same variables through ``EnvVar``; the CLI reads them here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_LANDING_DIR = "RMJ_LANDING_DIR"
ENV_WAREHOUSE = "RMJ_WAREHOUSE"
ENV_EXPORT_DIR = "RMJ_EXPORT_DIR"
ENV_PSEUDONYM_KEY = "RMJ_PSEUDONYM_KEY"
ENV_PSEUDONYM_KEY_FILE = "RMJ_PSEUDONYM_KEY_FILE"
ENV_PSEUDONYM_KEY_LABEL = "RMJ_PSEUDONYM_KEY_LABEL"
ENV_DEMO_MODE = "RMJ_DEMO_MODE"
ENV_RETAIN_ORIGINALS = "RMJ_RETAIN_ORIGINALS"

DEFAULT_LANDING_DIR = "data/landing"
DEFAULT_WAREHOUSE = "data/warehouse/rmj.duckdb"
DEFAULT_EXPORT_DIR = "data/exports"


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "ja"}


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    warehouse: Path
    export_dir: Path
    demo_mode: bool
    retain_originals: bool

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            landing_dir=Path(env.get(ENV_LANDING_DIR) or DEFAULT_LANDING_DIR),
            warehouse=Path(env.get(ENV_WAREHOUSE) or DEFAULT_WAREHOUSE),
            export_dir=Path(env.get(ENV_EXPORT_DIR) or DEFAULT_EXPORT_DIR),
            demo_mode=_flag(env.get(ENV_DEMO_MODE)),
            retain_originals=_flag(env.get(ENV_RETAIN_ORIGINALS)),
        )


def owner_only_files() -> None:
    """Every file and folder the pipeline creates from now on is its owner's only (umask 077).

    Set where the pipeline starts (the ``rmj`` command, the code location's load, so every run worker):
    the warehouse, DuckDB's write-ahead log (it holds row data), run logs and exports. The published,
    aggregated CEO files are made readable on purpose where they are written."""
    os.umask(0o077)
