"""Property-based: whatever bytes arrive, reading ends in rows or a quarantine reason, never a crash;
and the rows of a delivery that loads are each accepted or rejected once (the delivery reconciles)."""

from __future__ import annotations

import random
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rmj_dagster import codebook, warehouse
from rmj_dagster.intake.detect import Quarantine, inspect_file
from rmj_dagster.ttp import pseudonymise
from rmj_dagster.ttp.pseudonym import PseudonymKey
from rmj_dagster.warehouse import ddl, sql_models
from tests.hypothesis_profiles import examples
from tests.jw307_samples import jw305, jw307

KEY = PseudonymKey(secret=b"property-test-key-0123456789abcdef", label="prop")
QUARANTINE_CODES = {r["reason_code"] for r in codebook.rows("quarantine_reasons")}
VALID_CSV = (
    b"aanbieder_agb;bsn;geboortedatum;gemeentecode;toewijzingnummer;vragenlijst;invuldatum;q01;q09;q10\n"
    b"12345678;111222333;2010-03-15;0363;42;OUDERS_EINDE;2025-03-01;4;8;03\n"
    b"12345678;123456782;20100300;GM0362;43;JONGEREN_EINDE;01-03-2025;9;;1\n"
)
RECONCILING_MODELS = ("stg_responses", "stg_stop_zorg", "stg_goals", "stg_start_zorg", "delivery_reconciliation")
SEEDS = [VALID_CSV, jw307().encode(), VALID_CSV.replace(b";", b","), jw305().encode()]


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    with warehouse.connect(tmp_path_factory.mktemp("prop") / "w.duckdb") as connection:
        ddl.ensure_tables(connection)
        codebook.load_into(connection)
        yield connection


def mutate(data: bytes, rng: random.Random, edits: int) -> bytes:
    buffer = bytearray(data)
    for _ in range(edits):
        action = rng.choice(("flip", "cut", "insert", "duplicate_line", "truncate"))
        if not buffer:
            break
        at = rng.randrange(len(buffer))
        if action == "flip":
            buffer[at] = rng.randrange(256)
        elif action == "cut":
            del buffer[at : at + rng.randint(1, 20)]
        elif action == "insert":
            buffer[at:at] = rng.choice([b";", b",", b"\n", b'"', b"\x00", b"\xff", b"<", b"9999999999", "é".encode("cp1252")])
        elif action == "duplicate_line":
            lines = bytes(buffer).split(b"\n")
            line = rng.choice(lines)
            buffer = bytearray(b"\n".join([*lines, line]))
        else:
            del buffer[at:]
    return bytes(buffer)


def read_or_quarantine(con: duckdb.DuckDBPyConnection, path: Path) -> str:
    """What the pipeline does with one file: 'loaded' or a quarantine code. Anything else is a bug."""
    for table in ddl.PSEUDO_TABLES:  # the examples share one warehouse and one delivery id
        con.execute(f"delete from {table}")
    try:
        inspection = inspect_file(path)
        rows = pseudonymise.load_delivery(con, path, inspection, "p" * 16, KEY)
    except Quarantine as problem:
        assert problem.code in QUARANTINE_CODES
        assert "111222333" not in problem.message  # never echo row content
        return problem.code
    stored = con.execute(f"select count(*) from {inspection.kind.table} where delivery_id = ?", ["p" * 16]).fetchone()[0]
    assert stored == rows  # every row read is stored once ...
    con.execute("delete from audit.deliveries")
    con.execute(
        "insert into audit.deliveries (delivery_id, sha256, file_name, size_bytes, received_at, kind, status, rows_read) "
        "values (?, ?, 'delivery', 0, timestamp '2025-06-01 09:00', ?, 'loaded', ?)",
        ["p" * 16, "p" * 64, inspection.kind.name, rows],
    )
    for name in RECONCILING_MODELS:  # ... and staging accepts or rejects each of them exactly once
        sql_models.run_model(con, sql_models.model(name))
    reconciled = con.execute("select rows_read, rows_accepted + rows_rejected, reconciled from intermediate.delivery_reconciliation").fetchall()
    assert reconciled == [(rows, rows, True)]
    return "loaded"


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.sampled_from(range(len(SEEDS))), mutation=st.integers(0, 2**32), edits=st.integers(1, 6))
def test_mutated_deliveries_are_loaded_or_quarantined(con, tmp_path, seed, mutation, edits):
    path = tmp_path / "delivery"
    path.write_bytes(mutate(SEEDS[seed], random.Random(mutation), edits))
    assert read_or_quarantine(con, path) in QUARANTINE_CODES | {"loaded"}


@settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=400))
def test_random_bytes_are_loaded_or_quarantined(con, tmp_path, content):
    path = tmp_path / "delivery"
    path.write_bytes(content)
    assert read_or_quarantine(con, path) in QUARANTINE_CODES | {"loaded"}
