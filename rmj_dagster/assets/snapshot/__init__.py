"""Snapshot: the analysts' read-only copy of the marts, the last step of every run."""

import dagster as dg

from rmj_dagster.assets.snapshot.analyst_snapshot import analyst_snapshot

defs = dg.Definitions(assets=[analyst_snapshot])
