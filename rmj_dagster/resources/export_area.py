"""Where published output goes."""

from __future__ import annotations

from pathlib import Path

import dagster as dg


class ExportArea(dg.ConfigurableResource):
    """``RMJ_EXPORT_DIR``: ``cbs/`` (record-level, owner-only) and ``ceo/`` (aggregated) beneath it."""

    root: str

    def path(self) -> Path:
        path = Path(self.root)
        path.mkdir(parents=True, exist_ok=True)
        return path
