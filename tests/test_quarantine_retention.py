"""Quarantined files still hold identifiers: destroyed after the codebook's retention period (delivery
contract v1; issue 8, must-hold 6), the destruction recorded in the audit trail like an original's."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import dagster as dg
import duckdb

from rmj_dagster import codebook, warehouse
from rmj_dagster.intake.landing_zone import LandingZone
from rmj_dagster.intake.retention import destroy_expired_quarantine
from rmj_dagster.runner import process
from rmj_dagster.warehouse import ddl

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
    # retention is the warehouse's and the landing zone's business: the runs are recorded in memory, which
    # halves the cost of each of the four runs (SQLite instance storage is proven in test_local_instance)
    instance = dg.DagsterInstance.ephemeral()
    process(instance=instance)
    (deliveries, receipts) = audit(rmj_env["warehouse"])
    assert deliveries == [("quarantined", "unknown_kind", None)] and receipts == [("quarantined", None)]
    (delivery_id,) = [p.name for p in quarantine.iterdir() if p.is_dir()]
    (held,) = (quarantine / delivery_id).iterdir()  # under its derived name, not the provider's
    assert held.name.startswith("onbekend_onbekend_") and held.suffix == ".csv" and (quarantine / f"{delivery_id}.reason.json").exists()

    days = codebook.parameter("quarantine_retention_days")
    now = datetime.now(UTC)
    summary = process(instance=instance, now=now + timedelta(days=days) - timedelta(hours=1))  # the clock moved forward, not far enough
    assert summary.quarantine_destroyed == 0
    assert held.exists()
    assert audit(rmj_env["warehouse"])[0][0][2] is None

    later = now + timedelta(days=days, hours=1)
    summary = process(instance=instance, now=later)
    assert summary.quarantine_destroyed == 1 and "1 delivery(ies) destroyed" in str(summary)
    assert [p for p in quarantine.rglob("*")] == []  # the file and its reason file are gone
    (deliveries, receipts) = audit(rmj_env["warehouse"])
    expected = later.replace(tzinfo=None)
    assert deliveries == [("quarantined", "unknown_kind", expected)]
    assert receipts == [("quarantined", expected)]
    assert process(instance=instance, now=later + timedelta(days=1)).quarantine_destroyed == 0  # destroyed once, recorded once


def test_files_quarantined_in_the_earlier_layout_are_destroyed_too(tmp_path):
    zone = LandingZone(tmp_path / "landing").ensure()
    delivery_id, name = "0123456789abcdef", "Jansen_123456782.csv"
    held = zone.quarantine_dir / f"{delivery_id}_{name}"  # the layout before quarantine/<delivery_id>/
    held.write_bytes(BAD)
    quarantined_at = datetime(2026, 1, 1, tzinfo=UTC)
    held.with_name(held.name + ".reason.json").write_text(json.dumps(
        {"delivery_id": delivery_id, "reason_code": "unknown_kind", "quarantined_at": quarantined_at.isoformat()}))
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        ddl.ensure_tables(con)
        con.execute("insert into audit.deliveries (delivery_id, sha256, file_name, size_bytes, received_at, status) "
                    "values (?, 'x', '<naam>_<bsn>.csv', 1, '2026-01-01', 'quarantined')", [delivery_id])
        assert destroy_expired_quarantine(con, zone, quarantined_at + timedelta(days=29)) == []
        assert destroy_expired_quarantine(con, zone, quarantined_at + timedelta(days=31)) == [delivery_id]
        assert con.execute("select destroyed_at from audit.deliveries").fetchone()[0] == datetime(2026, 2, 1)
    assert list(zone.quarantine_dir.iterdir()) == []
