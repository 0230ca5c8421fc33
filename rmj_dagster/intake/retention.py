"""Quarantine retention: quarantined files still hold identifiers, so they are destroyed after the
codebook's ``quarantine_retention_days`` (delivery contract v1), the destruction recorded in the audit
trail like an original's. Run at the start of every delivery run and of ``rmj process``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb

from rmj_dagster import codebook
from rmj_dagster.intake.landing_zone import LandingZone


def destroy_expired_quarantine(con: duckdb.DuckDBPyConnection, zone: LandingZone,
                               now: datetime | None = None) -> list[str]:
    """Destroy every quarantined delivery older than the retention period; returns their delivery ids.

    ``now`` is UTC (naive or aware); the audit rows get ``destroyed_at`` = ``now``. Each destruction
    and its audit record are one transaction: when the files cannot be removed nothing is recorded.
    """
    now = (now or datetime.now(UTC))
    if now.tzinfo is not None:
        now = now.astimezone(UTC).replace(tzinfo=None)
    keep = timedelta(days=codebook.parameter("quarantine_retention_days"))
    destroyed = []
    for delivery_id, quarantined_at, reason in zone.quarantined():
        if now - quarantined_at < keep:
            continue
        con.execute("begin transaction")
        try:
            con.execute("update audit.deliveries set destroyed_at = ? where delivery_id = ? and destroyed_at is null",
                        [now, delivery_id])
            con.execute("update audit.file_receipts set destroyed_at = ? where delivery_id = ? "
                        "and outcome = 'quarantined' and destroyed_at is null", [now, delivery_id])
            zone.destroy_quarantined(delivery_id, reason)
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
        destroyed.append(delivery_id)
    return destroyed
