"""No identifier anywhere: planted BSNs, birth dates and names are found, in the TTP step, the warehouse
and the exports; and every asset that writes a table carries a blocking scan."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from rmj_dagster.assets.asset_keys import asset_key
import pytest

from rmj_dagster import checks, warehouse
from rmj_dagster.privacy import identifiers
from rmj_dagster.ttp import pseudonymise
from rmj_dagster.definitions import build_defs
from rmj_dagster.intake.detect import Quarantine
from rmj_dagster.resources import Warehouse
from tests.jw307_samples import jw307
from tests.test_ingest import BSN, CEM_COLUMNS, cem_csv, con, load, write  # noqa: F401 -- con is a fixture

ROW = ["12345678", BSN, "2010-03-15", "0363", "42", "OUDERS_EINDE", "2025-03-01", "4", "8", "03"]


def _quarantined(con, path: Path) -> Quarantine:
    with pytest.raises(Quarantine) as caught:
        load(con, path)
    assert con.execute("select count(*) from pseudo.responses").fetchone()[0] == 0  # nothing stored
    return caught.value


@pytest.mark.parametrize(
    ("planted", "where"),
    [
        ({"q01": BSN}, "q01"),  # the youth's BSN pasted into an answer
        ({"q09": "2010-03-15"}, "q09"),  # the birth date as delivered
        ({"q10": "15-03-2010"}, None),  # another spelling of it is not this delivery's value: stored, and
    ],
)
def test_an_identifier_of_the_delivery_in_a_stored_field_quarantines_it(con, tmp_path, planted, where):
    row = dict(zip(CEM_COLUMNS, ROW)) | planted
    path = write(tmp_path / "cem.csv", cem_csv(rows=[list(row.values())]))
    if where is None:  # ... then caught by the warehouse scan as a full date in a non-date column
        load(con, path)
        assert identifiers.scan_table(con, "pseudo.responses")["full_dates"] == {"q10": 1}
        return
    problem = _quarantined(con, path)
    assert problem.code == "identifier_in_field" and where in problem.message
    assert BSN not in problem.message and "2010" not in problem.message


def test_a_name_from_the_delivery_in_a_stored_field_quarantines_it(con, tmp_path):
    columns = [*CEM_COLUMNS, "achternaam"]
    rows = [[*ROW[:9], "Zwaneveld", "Zwaneveld"]]  # the surname slipped into q10 as well
    problem = _quarantined(con, write(tmp_path / "cem.csv", cem_csv(rows=rows, columns=columns)))
    assert problem.code == "identifier_in_field" and "q10" in problem.message and "Zwaneveld" not in problem.message


def test_the_name_column_itself_is_never_stored(con, tmp_path):
    columns = [*CEM_COLUMNS, "achternaam"]
    load(con, write(tmp_path / "cem.csv", cem_csv(rows=[[*ROW, "Zwaneveld"]], columns=columns)))
    text = str(con.execute("select * from pseudo.responses").fetchall())
    assert "Zwaneveld" not in text and BSN not in text and "2010-03-15" not in text


def test_jw307_names_are_held_against_the_rows_but_never_become_a_row(tmp_path):
    path = tmp_path / "JW307.xml"
    path.write_text(jw307(), encoding="utf-8")
    rows, names = pseudonymise._jw307_rows(path)
    assert "zwaneveld" in names
    assert "Zwaneveld" not in str(rows.to_pylist())


@pytest.fixture
def planted_warehouse(tmp_path: Path):
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        con.execute("create table marts.clean as select '0363' as gemeentecode, date '2025-03-01' as invuldatum, "
                    "'111222333' as toewijzingnummer, 12345678 as aanbieder_agb")
        con.execute("create table marts.with_bsn as select '111222333' as code")
        con.execute("create table marts.with_name_column as select 'x' as achternaam")
        con.execute("create table marts.with_birth_date as select date '2010-03-15' as geboren")
        con.execute("create table marts.with_date_text as select '15-03-2010' as opmerking")
        yield con, tmp_path / "w.duckdb"


def test_the_warehouse_scan_finds_each_planted_identifier(planted_warehouse):
    con, _ = planted_warehouse
    scans = {t: identifiers.scan_table(con, t) for t in identifiers.warehouse_tables(con)}
    assert identifiers.findings(scans["marts.clean"]) == 0  # event date, toewijzingnummer and AGB are allowed
    assert scans["marts.with_bsn"]["bsn_candidates"] == {"code": 1}
    assert scans["marts.with_name_column"]["identifying_columns"] == ["achternaam"]
    assert scans["marts.with_birth_date"]["full_dates"] == {"geboren": -1}
    assert scans["marts.with_date_text"]["full_dates"] == {"opmerking": 1}


def test_the_blocking_check_fails_on_a_planted_bsn_and_passes_on_a_clean_table(planted_warehouse):
    con, path = planted_warehouse
    con.close()  # the check opens the warehouse read-only, as in a run
    resource = Warehouse(database=str(path))
    failing = checks._no_identifier_check(dg.AssetKey(["marts", "with_bsn"]), ["marts.with_bsn"])
    passing = checks._no_identifier_check(dg.AssetKey(["marts", "clean"]), ["marts.clean"])
    assert failing.check_specs and next(iter(failing.check_specs)).blocking
    result = failing(warehouse=resource)
    assert result.passed is False and "marts.with_bsn" in result.metadata["findings"].data
    assert "111222333" not in str(result.metadata)  # where and how many, never the value
    assert passing(warehouse=resource).passed is True


def test_export_files_are_scanned(tmp_path, planted_warehouse):
    con, _ = planted_warehouse
    leaky = tmp_path / "leaky.csv"
    leaky.write_text("aanbieder_agb;toewijzingnummer;code\n12345678;111222333;111222333\n", encoding="utf-8")
    assert identifiers.scan_export_file(con, leaky)["bsn_candidates"] == {"code": 1}
    report = tmp_path / "report.html"
    report.write_text('<script>/** * plotly.js v4.1.1 * 2012-2026 123456782 */</script><p>born 2010-03-15</p>')
    assert identifiers.scan_export_file(con, report) == {"bsn_candidates": 0, "full_dates": 1}
    report.write_text('<script>/** * plotly.js v4.1.1 * 2012-2026 123456782 */</script><p>69.2</p>')
    assert identifiers.export_findings(identifiers.scan_export_file(con, report)) == 0


def test_every_asset_that_writes_a_table_has_a_blocking_identifier_scan(rmj_env):
    defs = build_defs()
    graph = defs.resolve_asset_graph()
    scanned = {key.asset_key for key in graph.asset_check_keys if key.name == "no_identifiers"}
    writers = {
        node.key for node in graph.asset_nodes
        if node.metadata.get("dagster/table_name") or node.key.path[-1] in ("codebook", "raw_provider_drops")
    }
    assert writers and writers <= scanned
    assert asset_key("ceo_publication") in {k.asset_key for k in graph.asset_check_keys if k.name == "published_files_hold_no_identifiers"}


def test_digits_inside_a_digest_are_not_a_bsn(tmp_path, planted_warehouse):
    con, _ = planted_warehouse
    manifest = tmp_path / "manifest.json"
    digest = "ab" + "111222333" + "c" * 53  # 64 hex characters with an 11-proef run inside
    manifest.write_text(f'{{"period": "2025-H1", "files": [{{"file": "x.csv", "sha256": "{digest}"}}], '
                        f'"produced_at": "2026-01-15T06:00:00"}}', encoding="utf-8")
    assert identifiers.export_findings(identifiers.scan_export_file(con, manifest)) == 0
    manifest.write_text('{"note": "client 111222333"}', encoding="utf-8")
    assert identifiers.scan_export_file(con, manifest)["bsn_candidates"] == 1
