"""Quarantined files still hold identifiers: destroyed after the codebook's retention period (delivery
contract v1; issue 8, must-hold 6), the destruction recorded in the audit trail like an original's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb

from rmj_dagster import codebook
from rmj_dagster.runner import process

BAD = b"factuurnummer;clientnummer;bsn\n2025-0113;10023;123456782\n"  # an invoice export: unknown_kind


def audit(db) -> tuple:
    with duckdb.connect(str(db), read_only=True) as con:
        return (
            con.execute("select status, reason_code, destroyed_at from audit.deliveries").fetchall(),
            con.execute("select outcome, destroyed_at from audit.file_receipts").fetchall(),
        )


def test_retention_is_thirty_days_in_the_codebook():
    assert codebook.parameter("quarantine_retention_days") == 30


def test_a_quarantined_file_is_destroyed_after_the_retention_period_and_audited(rmj_env):
    incoming, quarantine = rmj_env["landing"] / "incoming", rmj_env["landing"] / "quarantine"
    (incoming / "facturen.csv").write_bytes(BAD)
    process()
    (deliveries, receipts) = audit(rmj_env["warehouse"])
    assert deliveries == [("quarantined", "unknown_kind", None)] and receipts == [("quarantined", None)]
    (delivery_id,) = [p.name for p in quarantine.iterdir() if p.is_dir()]
    assert (quarantine / delivery_id / "facturen.csv").exists() and (quarantine / f"{delivery_id}.reason.json").exists()

    days = codebook.parameter("quarantine_retention_days")
    now = datetime.now(UTC)
    summary = process(now=now + timedelta(days=days) - timedelta(hours=1))  # the clock moved forward, not far enough
    assert summary.quarantine_destroyed == 0
    assert (quarantine / delivery_id / "facturen.csv").exists()
    assert audit(rmj_env["warehouse"])[0][0][2] is None

    later = now + timedelta(days=days, hours=1)
    summary = process(now=later)
    assert summary.quarantine_destroyed == 1 and "1 delivery(ies) destroyed" in str(summary)
    assert [p for p in quarantine.rglob("*")] == []  # the file and its reason file are gone
    (deliveries, receipts) = audit(rmj_env["warehouse"])
    expected = later.replace(tzinfo=None)
    assert deliveries == [("quarantined", "unknown_kind", expected)]
    assert receipts == [("quarantined", expected)]
    assert process(now=later + timedelta(days=1)).quarantine_destroyed == 0  # destroyed once, recorded once
