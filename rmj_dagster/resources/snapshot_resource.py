"""Where the analysts' read-only snapshot is published."""

from __future__ import annotations

from pathlib import Path

import dagster as dg


class AnalystSnapshot(dg.ConfigurableResource):
    """``RMJ_SNAPSHOT``: the DuckDB file analysts and BI tools open, replaced atomically after each
    successful run. The live warehouse (``RMJ_WAREHOUSE``) is the pipeline's alone."""

    path: str

    def target(self) -> Path:
        return Path(self.path)
