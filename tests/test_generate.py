"""The sample generator: reproducible, schema-valid, consistent, and honest about what it planted."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import Counter
from datetime import date
from pathlib import Path

import duckdb
import pytest
from lxml import etree

from rmj_dagster import codebook
from rmj_dagster.generate import generate_deliveries
from rmj_dagster.identity import passes_elfproef
from rmj_dagster.ingest.detect import inspect_file
from rmj_dagster.pseudonym import is_pseudonym
from rmj_dagster.runner import process
from tests.conftest import SHARED

TODAY = date(2026, 11, 22)


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((folder / "incoming").iterdir())}


def read_rows(path: Path) -> list[dict[str, str]]:
    """Read a generated CSV the way the contract allows it to be written."""
    inspection = inspect_file(path)
    text = path.read_text(encoding=inspection.encoding)
    rows = list(csv.reader(io.StringIO(text), delimiter=inspection.delimiter))
    return [dict(zip(inspection.header, r)) for r in rows[1:] if r]


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("clean")
    generate_deliveries(out, seed=3, scale=0.3, today=TODAY)
    return out


def test_same_seed_same_bytes_other_seed_other_bytes(clean, tmp_path):
    generate_deliveries(tmp_path / "again", seed=3, scale=0.3, today=TODAY)
    generate_deliveries(tmp_path / "other", seed=4, scale=0.3, today=TODAY)
    assert digest(tmp_path / "again") == digest(clean)
    assert digest(tmp_path / "other") != digest(clean)


def test_jw307_messages_validate_against_the_ijw_schema(clean):
    schema = etree.XMLSchema(etree.parse(str(SHARED / "reference" / "ijw-3.2" / "JW307.xsd")))
    messages = sorted((clean / "incoming").glob("*.xml"))
    assert messages
    for message in messages:
        assert schema.validate(etree.parse(str(message))), (message.name, schema.error_log)


def test_every_response_and_goal_belongs_to_a_trajectory(clean):
    trajectories, long_term = set(), set()
    responses, goals = [], []
    for path in (clean / "incoming").iterdir():
        if path.suffix == ".xml":
            root = etree.parse(str(path)).getroot()
            agb = root.findtext(".//{*}Afzender")
            trajectories |= {(agb, n.text) for n in root.iter("{*}ToewijzingNummer")}
            continue
        kind = inspect_file(path).kind.name
        rows = read_rows(path)
        if kind == "stopzorg":
            trajectories |= {(r["aanbieder_agb"], r["toewijzingnummer"]) for r in rows}
        elif kind == "cem":
            responses += rows
        else:
            goals += rows
    for r in responses:
        if r["vragenlijst"].endswith("DUURZAAM"):
            long_term.add((r["aanbieder_agb"], r["toewijzingnummer"]))
    for g in goals:
        if g["trajecttype"] == "DUURZAAM":
            long_term.add((g["aanbieder_agb"], g["toewijzingnummer"]))
    assert responses and goals
    orphans = [r for r in responses + goals if (r["aanbieder_agb"], r["toewijzingnummer"]) not in trajectories | long_term]
    assert orphans == []


def test_clean_data_has_valid_bsns_and_region_municipalities(clean):
    region = {r["gemeentecode"] for r in codebook.rows("region")}
    for path in (clean / "incoming").glob("*.[cC][sS][vV]"):
        for row in read_rows(path):
            assert passes_elfproef(row["bsn"].zfill(9)), path.name
            assert row["gemeentecode"].upper().removeprefix("GM").zfill(4) in region


def test_a_ttp_key_makes_one_provider_deliver_pseudonyms(tmp_path):
    generate_deliveries(tmp_path, seed=5, scale=0.2, ttp_key=b"k" * 40, today=TODAY)
    with_pseudonyms = [p for p in (tmp_path / "incoming").glob("*.[cC][sS][vV]") if inspect_file(p).identity_column == "pseudoniem"]
    assert with_pseudonyms
    assert all(is_pseudonym(row["pseudoniem"]) for row in read_rows(with_pseudonyms[0]))


@pytest.fixture(scope="module")
def processed_with_defects(tmp_path_factory):
    root = tmp_path_factory.mktemp("defects")
    summary = generate_deliveries(root / "landing", seed=11, scale=0.3, defect_rate=0.04, today=TODAY)
    bsns = {row["bsn"].zfill(9) for p in (root / "landing" / "incoming").glob("*.[cC][sS][vV]")
            for row in _safe_rows(p) if row.get("bsn", "").isdigit()}
    mp = pytest.MonkeyPatch()
    mp.setenv("RMJ_LANDING_DIR", str(root / "landing"))
    mp.setenv("RMJ_WAREHOUSE", str(root / "rmj.duckdb"))
    mp.setenv("RMJ_EXPORT_DIR", str(root / "exports"))
    mp.setenv("RMJ_PSEUDONYM_KEY", "generated-data-test-key-0123456789abcdef")
    for name in ("DAGSTER_HOME", "RMJ_DEMO_MODE", "RMJ_RETAIN_ORIGINALS", "RMJ_PSEUDONYM_KEY_FILE"):
        mp.delenv(name, raising=False)
    result = process()
    yield {"root": root, "truth": json.loads(summary.truth_path.read_text()), "summary": result, "bsns": bsns}
    mp.undo()


def _safe_rows(path: Path) -> list[dict[str, str]]:
    try:
        return read_rows(path)
    except Exception:  # the planted bad files
        return []


def test_process_reports_exactly_the_planted_row_defects(processed_with_defects):
    truth = processed_with_defects["truth"]["totals"]
    with duckdb.connect(str(processed_with_defects["root"] / "rmj.duckdb"), read_only=True) as con:
        found = dict(con.execute("select reason_code, count(*) from intermediate.rejected_rows group by 1").fetchall())
        quarantined = dict(con.execute("select reason_code, count(*) from audit.deliveries where status = 'quarantined' group by 1").fetchall())
        unreconciled = con.execute("select count(*) from intermediate.delivery_reconciliation where not reconciled").fetchone()[0]
    assert sum(truth["defects"].values()) > 20
    assert found == truth["defects"]
    assert quarantined == truth["quarantined_files"]
    assert unreconciled == 0


def test_every_generated_file_is_accounted_for(processed_with_defects):
    truth = processed_with_defects["truth"]["files"]
    with duckdb.connect(str(processed_with_defects["root"] / "rmj.duckdb"), read_only=True) as con:
        outcomes = dict(con.execute("select file_name, outcome from audit.file_receipts").fetchall())
    assert Counter(outcomes.values()) == Counter("processed" if f["outcome"] == "processed" else "quarantined" for f in truth.values())
    assert not any((processed_with_defects["root"] / "landing" / "incoming").iterdir())


def test_outputs_exist_and_checks_pass(processed_with_defects):
    summary = processed_with_defects["summary"]
    exports = processed_with_defects["root"] / "exports"
    assert summary.checks["failed"] == 0 and summary.checks["passed"] > 0
    assert (exports / "cbs" / "2025-H2" / "manifest.json").exists()
    assert (exports / "ceo" / "2025" / "indicators.csv").exists()
    assert (exports / "ceo" / "2025" / "report.html").stat().st_size > 100_000


def test_no_generated_bsn_reaches_warehouse_or_exports(processed_with_defects):
    bsns = processed_with_defects["bsns"]
    assert len(bsns) > 100
    root = processed_with_defects["root"]
    with duckdb.connect(str(root / "rmj.duckdb"), read_only=True) as con:
        for (table,) in con.execute("select table_schema || '.' || table_name from information_schema.tables").fetchall():
            for (column,) in con.execute(f"select column_name from information_schema.columns where table_schema || '.' || table_name = '{table}'").fetchall():
                hits = con.execute(f'select count(*) from {table} where list_contains(?, "{column}"::varchar)', [sorted(bsns)]).fetchone()[0]
                assert hits == 0, f"{table}.{column}"
    for path in (root / "exports").rglob("*.csv"):
        assert not bsns & set(path.read_text(encoding="utf-8").replace(";", "\n").split()), path
