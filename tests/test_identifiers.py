"""No identifier anywhere: planted BSNs, birth dates and names are found, in the TTP step, the warehouse
and the exports; and every asset that writes a table carries a blocking scan."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rmj_dagster import warehouse
from rmj_dagster.assets import identifier_scan
from rmj_dagster.assets.asset_keys import asset_key
from rmj_dagster.assets.verification.full_scans import full_identifier_scan
from rmj_dagster.definitions import build_defs
from rmj_dagster.privacy import identifiers
from rmj_dagster.resources import Warehouse
from rmj_dagster.ttp import pseudonymise
from tests.hypothesis_profiles import examples
from tests.jw307_samples import jw307
from tests.test_ingest import BSN, CEM_COLUMNS, cem_csv, con, load, write  # noqa: F401 -- con is a fixture

ROW = ["12345678", BSN, "2010-03-15", "0363", "42", "OUDERS_EINDE", "2025-03-01", "4", "8", "03"]


@pytest.mark.parametrize(
    ("planted", "where"),
    [
        ({"q01": BSN}, "q01"),  # the youth's BSN pasted into an answer
        ({"q09": "2010-03-15"}, "q09"),  # the birth date as delivered
        ({"q10": "15-03-2010"}, "q10"),  # another spelling of it
    ],
)
def test_an_identifier_of_the_delivery_in_an_answer_is_not_an_answer_code(con, tmp_path, planted, where):
    """The field's type is the allow-list: what is not an answer code is stored as NULL with its class of
    problem (the row is rejected by staging), never as text; the delivery's other rows are not refused."""
    row = dict(zip(CEM_COLUMNS, ROW)) | planted
    load(con, write(tmp_path / "cem.csv", cem_csv(rows=[list(row.values())])))
    assert con.execute(f"select {where}, field_problems from pseudo.responses").fetchall() == [
        (None, f"{where}:not_an_answer_code")]
    dump = str(con.execute("select * from pseudo.responses").fetchall())
    assert BSN not in dump and "2010-03-15" not in dump and "15-03-2010" not in dump
    assert identifiers.findings(identifiers.scan_table(con, "pseudo.responses")) == 0


def test_a_name_from_the_delivery_in_an_answer_is_not_stored(con, tmp_path):
    columns = [*CEM_COLUMNS, "achternaam"]
    rows = [[*ROW[:9], "Zwaneveld", "Zwaneveld"]]  # the surname slipped into q10 as well
    load(con, write(tmp_path / "cem.csv", cem_csv(rows=rows, columns=columns)))
    assert con.execute("select q10, field_problems from pseudo.responses").fetchall() == [(None, "q10:not_an_answer_code")]
    assert "zwaneveld" not in str(con.execute("select * from pseudo.responses").fetchall()).lower()


def test_the_name_column_itself_is_never_stored(con, tmp_path):
    columns = [*CEM_COLUMNS, "achternaam"]
    load(con, write(tmp_path / "cem.csv", cem_csv(rows=[[*ROW, "Zwaneveld"]], columns=columns)))
    text = str(con.execute("select * from pseudo.responses").fetchall())
    assert "Zwaneveld" not in text and BSN not in text and "2010-03-15" not in text


def test_jw307_names_are_held_against_the_rows_but_never_become_a_row(tmp_path):
    path = tmp_path / "JW307.xml"
    path.write_text(jw307(), encoding="utf-8")
    rows, names = pseudonymise._ijw_rows(path)
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
    failing = full_identifier_scan(dg.AssetKey(["marts", "with_bsn"]), ["marts.with_bsn"])
    passing = full_identifier_scan(dg.AssetKey(["marts", "clean"]), ["marts.clean"])
    assert failing.check_specs and next(iter(failing.check_specs)).blocking
    result = failing(warehouse=resource)
    assert result.passed is False and "marts.with_bsn" in result.metadata["findings"].data
    assert "111222333" not in str(result.metadata)  # where and how many, never the value
    assert passing(warehouse=resource).passed is True


def test_the_scan_in_the_writing_step_finds_a_plant_among_the_rows_it_wrote(planted_warehouse):
    con, _ = planted_warehouse
    con.execute("create table staging.rows as select * from (values ('d1', 'x'), ('d2', '111222333')) t(delivery_id, code)")
    key = dg.AssetKey(["staging", "rows"])
    written_by_d2 = identifier_scan.result(con, key, ["staging.rows"], where="delivery_id in ('d2')")
    written_by_d1 = identifier_scan.result(con, key, ["staging.rows"], where="delivery_id in ('d1')")
    assert written_by_d2.passed is False and written_by_d2.check_name == "no_identifiers"
    assert written_by_d2.metadata["findings"].data == {"staging.rows": {"identifying_columns": [], "bsn_candidates": {"code": 1}, "full_dates": {}}}
    assert written_by_d1.passed is True  # d2's rows were scanned by the step that wrote them ...
    assert identifier_scan.result(con, key, ["staging.rows"]).passed is False  # ... and by the full scan
    assert "111222333" not in str(written_by_d2.metadata)


def test_a_plant_in_a_table_a_step_writes_fails_that_step_and_stops_what_follows(rmj_env, monkeypatch):
    """A BSN coming out of a model fails the model's own step (blocking): nothing downstream is built."""
    from dataclasses import replace

    from rmj_dagster.warehouse import sql_models

    models = sql_models.discover()
    leak = "\nunion all by name select 'planted' as delivery_id, '111222333' as productcode"
    monkeypatch.setattr(sql_models, "discover", lambda: tuple(
        replace(m, sql=m.sql.rstrip() + leak) if m.name == "cleaned_stop_zorg" else m for m in models))
    from rmj_dagster.assets import models as models_stage
    from rmj_dagster.assets.models.after_build import AFTER_BUILD
    from rmj_dagster.assets.sql_assets import build_sql_assets
    from rmj_dagster.warehouse import ddl

    # the stage's models as built from the planted SQL (a stage builds its assets once, when imported)
    monkeypatch.setattr(models_stage, "defs", dg.Definitions(
        assets=build_sql_assets("models", AFTER_BUILD), asset_checks=models_stage.defs.asset_checks))

    with warehouse.connect(rmj_env["warehouse"]) as con:  # an empty warehouse: the plant is the one row
        ddl.ensure_tables(con)
    defs = build_defs()
    job = defs.resolve_job_def("deliveries_job")
    keys = [k for a in defs.assets if a.partitions_def is None for k in a.keys if k in job.asset_layer.executable_asset_keys]
    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), raise_on_error=False, asset_selection=keys)
    failed = {e.asset_check_key for e in result.get_asset_check_evaluations() if not e.passed}
    assert dg.AssetCheckKey(asset_key("cleaned_stop_zorg"), "no_identifiers") in failed
    assert {k.asset_key for k in failed} == {asset_key("cleaned_stop_zorg")}  # the planted row breaks its grain too
    assert "intermediate__cleaned_stop_zorg" in {e.step_key for e in result.all_events if e.is_step_failure}
    built = {e.asset_key for e in result.get_asset_materialization_events()}
    assert asset_key("cleaned_responses") in built
    assert asset_key("trajectory_outcomes") not in built and asset_key("indicator_base") not in built


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


def test_a_period_of_export_files_scanned_together_names_each_file_that_holds_an_identifier(tmp_path):
    """Forty clean provider files cost one pass; a BSN, a birth date or a forbidden column in any of them
    is still found and named by file, whatever the other files hold."""
    import duckdb

    con = duckdb.connect()
    header = "aanbieder_agb;toewijzingnummer;begindatum\n"
    paths = []
    for i in range(40):
        path = tmp_path / f"provider_{i:02d}.csv"
        path.write_text(header + f"{10000000 + i};{20250101 + i};2025-01-0{1 + i % 9}\n", encoding="utf-8")
        paths.append(path)
    assert identifiers.scan_export_files(con, paths) == {}
    paths[7].write_text(header + "10000007;20250108;2025-01-08\n10000007;20250109; 111222333\n", encoding="utf-8")
    paths[30].write_text("aanbieder_agb;bsn\n10000030;7\n", encoding="utf-8")
    found = identifiers.scan_export_files(con, paths)
    assert set(found) == {paths[7], paths[30]}
    assert found[paths[7]]["bsn_candidates"] == {"begindatum": 1}
    assert found[paths[30]]["identifying_columns"] == ["bsn"]
    manifest = tmp_path / "manifest.json"
    manifest.write_text('{"note": "geboren 2010-03-15"}', encoding="utf-8")
    assert set(identifiers.scan_export_files(con, [*paths[:5], manifest])) == {manifest}


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


# ---------------------------------------------------------------------------------------------------
# Ordinary inputs that once failed a blocking check for good: now a row reject at most, the chain goes on.

def _stop_csv(rows: list[list[str]], extra_header: str | None = None) -> str:
    columns = ["aanbieder_agb", "bsn", "geboortedatum", "gemeentecode", "toewijzingnummer", "begindatum", "einddatum",
               "reden_beeindiging"] + ([extra_header] if extra_header else [])
    return "\n".join(";".join(r) for r in [columns, *rows]) + "\n"


def test_ordinary_inputs_never_wedge_the_chain_and_an_identifier_loses_only_its_row(rmj_env):
    from rmj_dagster.runner import process
    from tests.test_chain_exact_figures import valid_bsns

    a, b, c, d = valid_bsns(4)
    rows = [
        ["12345678", a, "2012-05-05", "0363", "20120304", "2024-09-01", "2025-03-01", "31", "x"],  # year-prefixed
        ["12345678", b, "2012-05-05", "0363", "123456782", "2024-09-01", "2025-03-01", "31", "x"],  # 9 digits, 11-proef
        ["12345678", c, "2012-05-05", "0363", c, "2024-09-01", "2025-03-01", "31", "x"],  # the youth's own BSN
        ["12345678", d, "2012-05-05", "0363", "1004", "111222333", "2025-03-01", "31", "x"],  # a BSN as begindatum
    ]
    (rmj_env["landing"] / "incoming" / "stop.csv").write_text(_stop_csv(rows, extra_header="123456782"), encoding="utf-8")
    summary = process(instance=dg.DagsterInstance.ephemeral())  # runs recorded in memory: half the cost of SQLite
    assert summary.failed_checks == [] and summary.checks["failed"] == 0
    with warehouse.connect(rmj_env["warehouse"], read_only=True) as con:
        assert con.execute("select status, extra_columns from audit.deliveries").fetchall() == [("loaded", "#9")]
        rejected = con.execute(
            "select source_row, reason_code, reason_detail from intermediate.rejected_rows order by source_row").fetchall()
        # a BSN as begindatum is not a date: the field is NULL (not_a_date) and the row rejected as date_invalid
        assert rejected == [(3, "identifier_in_field", "toewijzingnummer"), (4, "date_invalid", "begindatum")]
        accepted = con.execute("select toewijzingnummer from staging.stg_stop_zorg where reject_reason is null "
                               "order by source_row").fetchall()
        assert accepted == [(20120304,), (123456782,)]
        everything = " ".join(str(con.execute(f"select * from {t}").fetchall()) for t in identifiers.warehouse_tables(con))
    assert c not in everything and "111222333" not in everything


def test_a_jw307_whose_toewijzingnummer_is_the_clients_bsn_loses_that_product_only(con, tmp_path):
    products = [
        {"toewijzingnummer": "111222333", "begindatum": "2024-09-01", "einddatum": "2025-03-01", "reden": "31"},
        {"toewijzingnummer": "20250101", "begindatum": "2024-09-01", "einddatum": "2025-03-01", "reden": "31"},
    ]
    path = tmp_path / "JW307.xml"
    path.write_text(jw307(bsn="111222333", products=products), encoding="utf-8")
    load(con, path)
    assert con.execute("select toewijzingnummer, identifier_in_field from pseudo.stop_zorg order by source_row").fetchall() == [
        (None, "toewijzingnummer"), (20250101, None)]


def test_an_event_date_equal_to_the_rows_own_birth_date_is_rejected_but_another_youths_is_not(con, tmp_path):
    rows = [
        ["12345678", BSN, "2010-03-15", "0363", "42", "OUDERS_EINDE", "15-03-2010", "4", "8", "03"],  # own birth date
        ["12345678", "123456782", "2011-02-20", "0363", "43", "OUDERS_EINDE", "2010-03-15", "4", "8", "03"],  # another's
    ]
    load(con, write(tmp_path / "cem.csv", cem_csv(rows=rows)))
    assert con.execute("select invuldatum, identifier_in_field from pseudo.responses order by source_row").fetchall() == [
        (None, "invuldatum"), (date(2010, 3, 15), None)]


def test_header_cells_reach_the_audit_trail_only_as_plain_names():
    header = ("aanbieder_agb", "bsn", "123456782", "opmerking", "2026-01-01", "x" * 41, "jansen 20110601")
    assert identifiers.column_names_for_audit(header, header[2:]) == "#3,opmerking,#5,#6,#7"
    assert identifiers.column_names_for_audit(header, ()) is None


def test_the_full_verification_rescans_every_row_and_fails_on_a_row_written_outside_a_run(rmj_env):
    """A value that never passed a writing step (planted afterwards) is caught by the weekly full scan."""
    from rmj_dagster.warehouse import ddl

    with warehouse.connect(rmj_env["warehouse"]) as con:
        ddl.ensure_tables(con)
    defs = build_defs()
    job = defs.resolve_job_def("deliveries_job")
    keys = [k for a in defs.assets if a.partitions_def is None for k in a.keys if k in job.asset_layer.executable_asset_keys]
    instance = dg.DagsterInstance.ephemeral()
    assert job.execute_in_process(instance=instance, asset_selection=keys).success
    full = defs.resolve_job_def("full_verification_job")
    clean = full.execute_in_process(instance=instance, raise_on_error=False)
    assert clean.success and {e.asset_check_key.name for e in clean.get_asset_check_evaluations()} >= {"full_identifier_scan"}
    with warehouse.connect(rmj_env["warehouse"]) as con:
        con.execute("insert into intermediate.rejected_rows (kind, delivery_id, source_row, reason_code, reason_detail) "
                    "values ('goals', 'later', 1, 'x', '111222333')")
    leaked = full.execute_in_process(instance=instance, raise_on_error=False)
    failed = {e.asset_check_key for e in leaked.get_asset_check_evaluations() if not e.passed}
    assert failed == {dg.AssetCheckKey(asset_key("rejected_rows"), "full_identifier_scan")}
    assert not leaked.success
    assert defs.resolve_schedule_def("full_verification_weekly").job_name == "full_verification_job"


_LIBRARY_AS_A_REGEX = re.compile(r"<script[^>]*>\s*/\*\*\s*\*\s*plotly\.js v.*?</script>", re.S)
_PIECES = ["<script>", '<script id="plotly-js">', "<script\n type=x>", "/**", "* ", " ", "\n", "plotly.js v", "4.1",
           "</script>", "</script", "<", ">", "123456782", "2010-03-15", "x", "<p>", "/** * plotly.js v"]


@settings(max_examples=examples(400), deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=30))
def test_the_library_is_cut_out_exactly_as_the_pattern_describes(pieces):
    """The string search that skips plotly.js cuts out what the pattern it replaced would: no more, no less."""
    text = "".join(pieces)
    assert identifiers.without_plotly_library(text) == _LIBRARY_AS_A_REGEX.sub("", text)


def test_a_real_page_library_is_skipped_and_its_neighbours_scanned():
    from plotly.offline import get_plotlyjs

    page = (f'<p>voor 2010-03-15</p><script type="text/javascript" id="plotly-js">{get_plotlyjs()}</script>'
            '<script class="rmj-chart">{"x": [123456782]}</script>')
    assert identifiers.without_plotly_library(page) == _LIBRARY_AS_A_REGEX.sub("", page)
    assert identifiers.scan_text(page) == {"bsn_candidates": 1, "full_dates": 1}


def test_files_read_together_are_judged_by_their_own_column_names(tmp_path):
    """Files whose headers differ (the same columns in another order) are never read by position into one
    another's columns: a date is legitimate in an event-date column only; a quoted cell is read as its value."""
    import duckdb

    con = duckdb.connect()
    event_first, code_first = tmp_path / "a.csv", tmp_path / "b.csv"
    event_first.write_text("begindatum;code\n2010-03-15;A\n", encoding="utf-8")
    code_first.write_text("code;begindatum\n2010-03-15;2025-01-01\n", encoding="utf-8")
    quoted = tmp_path / "c.csv"
    quoted.write_text('begindatum;code\n2025-01-01;"111222333"\n', encoding="utf-8")
    scan = identifiers.scan_csv(con, [event_first, code_first, quoted])
    assert scan["full_dates"] == {"code": 1} and scan["bsn_candidates"] == {"code": 1}
    assert set(identifiers.scan_export_files(con, [event_first, code_first, quoted])) == {code_first, quoted}


def test_a_csv_scanned_in_one_query_counts_as_the_column_by_column_scan(tmp_path):
    """Every column of an export CSV judged in one pass finds what the per-column table scan finds."""
    import duckdb

    path = tmp_path / "planted.csv"
    path.write_text(
        "aanbieder_agb;toewijzingnummer;code;datum_aanvang;geboortedatum;it's\n"
        "12345678;111222333;111222333;2025-01-01;2010-03-15;01-02-2011\n"
        "12345678;2011-06-01;123456782; 123456782 ;;\n"
        "87654321;20250101;2010-03-15;2025/02/30;x;20110601\n", encoding="utf-8")
    con = duckdb.connect()
    scan = identifiers.scan_csv(con, path)
    con.execute(f"create table t as select * from read_csv('{path}', delim=';', header=true, all_varchar=true)")
    columns = [r[0] for r in con.execute("describe t").fetchall()]
    assert scan == {
        "identifying_columns": ["geboortedatum"],
        "bsn_candidates": identifiers.bsn_candidates_in_relation(con, "t", columns),
        "full_dates": identifiers.full_dates_in_relation(con, "t", columns),
    }
    assert scan["bsn_candidates"] == {"code": 2, "datum_aanvang": 1} and scan["full_dates"]["it's"] == 2


def test_text_after_the_bundle_inside_its_script_is_cut_out_too():
    """A page whose library script holds more than the bundle: cut up to the first ``</script>`` all the same."""
    from plotly.offline import get_plotlyjs

    page = f'<script id="plotly-js">{get_plotlyjs()}123456782</script><p>2010-03-15 123456782</p>'
    assert identifiers.without_plotly_library(page) == _LIBRARY_AS_A_REGEX.sub("", page) == "<p>2010-03-15 123456782</p>"


def test_a_page_read_around_its_bundle_has_the_findings_of_the_page_read_whole(tmp_path):
    """The export scan skips decoding the inlined plotly.js only where the page holds exactly the bundle
    as a script's whole text; anywhere else (more text in the script, the bundle outside a script) the
    page is read whole, and the findings are always those of the whole text."""
    from plotly.offline import get_plotlyjs

    bundle = get_plotlyjs()
    pages = {
        "as published": f'<p>é 2010-03-15</p><script type="text/javascript" id="plotly-js">{bundle}</script><p>123456782</p>',
        "more in the script": f'<script id="plotly-js">{bundle}123456782</script><p>ë</p>',
        "not in a script": f'<p>{bundle}</p><p>2010-03-15</p>',
        "a tag inside the opening": f'<script <b>{bundle}</script><p>2011-06-01</p>',
        "no bundle": '<p>111222333 2010-03-15</p>',
    }
    cut = {}
    for name, text in pages.items():
        path = tmp_path / f"{len(cut)}.html"
        path.write_text(text, encoding="utf-8")
        cut[name] = identifiers.around_plotly_bundle(path.read_bytes()) is not None
        assert identifiers.scan_export_file(None, path) == identifiers.scan_text(text), name
    assert cut == {"as published": True, "more in the script": False, "not in a script": False,
                   "a tag inside the opening": False, "no bundle": False}
    assert identifiers.scan_text(pages["as published"]) == {"bsn_candidates": 1, "full_dates": 1}


_SPACES = ["", " ", "  ", "\u00a0", "\u3000", "\t", "\u2002\u2002\u2002"]


@settings(max_examples=examples(150), deadline=None)
@given(st.lists(st.tuples(
    st.sampled_from(_SPACES), st.sampled_from(["123456782", "12345678", "2011-06-01", "01-06-2011", "20110601",
                                               "123456789", "1234567820", "x", "abcdefghijklmno", "0123456782"]),
    st.sampled_from(_SPACES), st.one_of(st.integers(-10**10, 10**10),
                                        st.sampled_from([123456782, 20110601, 12345678, -12345678, 1234567820, 19991231]))),
    min_size=1, max_size=30))
def test_the_table_scan_finds_what_a_row_by_row_trim_finds(rows):
    """The scan tests only values that can have an identifier's shape (8-10 characters once trimmed; numbers of 8
    or 9 digits): it must find exactly what trimming and testing every value of every row finds."""
    import duckdb

    with duckdb.connect() as con:
        con.execute("create schema s")
        con.execute("create table s.t (v varchar, toewijzingnummer varchar, n bigint, doel_nr integer)")
        con.executemany("insert into s.t values (?, ?, ?, ?)",
                        [(f"{a}{text}{b}", f"{b}{text}", number, max(-2**31, min(2**31 - 1, number))) for a, text, b, number in rows])
        columns = ["v", "toewijzingnummer", "n", "doel_nr"]
        every_row = {c: set(v for (v,) in con.execute(  # the scan as it was: every value trimmed and tested
            f"select distinct trim({c}::varchar) as v from s.t where {identifiers.finding_sql(c, f'trim({c}::varchar)')}").fetchall())
            for c in columns}
        bsn, dates = identifiers._shaped_per_column(con, "s.t", columns, ["v", "toewijzingnummer"],
                                                    integers=frozenset({"n", "doel_nr"}))
        # a whole-number column of a class that makes every whole number legitimate is left out of the scan
        con.execute("create table s.u as select n as toewijzingnummer from s.t")
        numbers_found = {v for (v,) in con.execute("select distinct toewijzingnummer::varchar as v from s.u where "
                                                   f"{identifiers.finding_sql('toewijzingnummer', 'toewijzingnummer::varchar')}").fetchall()}
        left_out = identifiers._shaped_per_column(con, "s.u", ["toewijzingnummer"], [], integers=frozenset({"toewijzingnummer"}))[0]
    expected_bsn = {c: {v for v in every_row[c] if len(v) == 9 and v.isdigit() and identifiers.passes_elfproef(v)} for c in columns}
    expected_dates = {c: {v for v in every_row[c] if not (len(v) == 9 and v.isdigit())} for c in ["v", "toewijzingnummer"]}
    assert (bsn, dates) == (expected_bsn, expected_dates)
    assert numbers_found == set() and left_out == {"toewijzingnummer": set()}


@settings(max_examples=examples(200), deadline=None)
@given(st.one_of(st.integers(10**7, 10**9 - 1), st.sampled_from([10**7, 10**8 - 1, 10**8, 10**9 - 1, 123456782, 20110601])))
def test_every_whole_number_of_an_identifiers_length_is_legitimate_in_the_classes_left_out_of_the_scan(number):
    """A whole-number column of a class in WHOLE_NUMBERS_LEGITIMATE is not scanned: that is only right while every
    whole number the scan would test there (8 or 9 digits) is legitimate in the class."""
    import duckdb

    with duckdb.connect() as con:
        for value_class in identifiers.WHOLE_NUMBERS_LEGITIMATE:
            legitimate = identifiers.VALUE_CLASSES[value_class]("?::bigint::varchar")
            assert con.execute(f"select {legitimate}", [number]).fetchone()[0], (value_class, number)
