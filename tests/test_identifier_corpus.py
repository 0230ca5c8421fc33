"""Zero false alarms, every identifier found: the corpus of ``tests/identifier_corpus.py`` against every
identifier scan (the TTP step, the table-wide scan of every warehouse table, the export-file scan)."""

from __future__ import annotations

import pytest

from tests import identifier_corpus as corpus


@pytest.fixture(scope="module")
def legitimate_chain(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    tmp = tmp_path_factory.mktemp("corpus")
    paths = {"landing": tmp / "landing", "warehouse": tmp / "w" / "rmj.duckdb", "exports": tmp / "exports"}
    (paths["landing"] / "incoming").mkdir(parents=True)
    for name, value in {"RMJ_LANDING_DIR": paths["landing"], "RMJ_WAREHOUSE": paths["warehouse"],
                        "RMJ_EXPORT_DIR": paths["exports"]}.items():
        mp.setenv(name, str(value))
    mp.setenv("RMJ_SNAPSHOT", str(tmp / "snapshot" / "rmj_marts.duckdb"))
    mp.setenv("DAGSTER_HOME", str(tmp / "dagster_home"))  # rmj process records its runs here, not in .dagster_home/
    mp.setenv("RMJ_PSEUDONYM_KEY", "corpus-key-0123456789-0123456789-0123456789")
    for name in ("RMJ_PSEUDONYM_KEY_FILE", "RMJ_PSEUDONYM_KEY_LABEL", "RMJ_DEMO_MODE", "RMJ_RETAIN_ORIGINALS"):
        mp.delenv(name, raising=False)
    trajectories = corpus.write_legitimate_deliveries(paths["landing"] / "incoming")
    yield trajectories, corpus.scan_legitimate_chain(paths)
    mp.undo()


def test_legitimate_value_styles_give_no_finding_in_any_scan(legitimate_chain):
    _, result = legitimate_chain
    assert result["run"] == "ok" and result["failed_checks"] == []
    assert result["ttp"] == {"files_quarantined": 0, "rows_rejected_identifier_in_field": 0}
    assert result["table_scan"] == {}
    assert result["export_scan"] == {}


def test_every_toewijzingnummer_style_reaches_the_cbs_extract(legitimate_chain):
    trajectories, result = legitimate_chain
    expected = {str(int(n)) for n in corpus.LEGITIMATE["toewijzingnummer"]}
    assert set(result["cbs_toewijzingnummers"]) == expected and result["cbs_rows"] == trajectories


def test_legitimate_styles_in_a_cbs_format_file_are_no_finding(tmp_path):
    assert corpus.scan_cbs_style_file(tmp_path) == {}


def test_every_planted_identifier_is_caught_by_the_ttp_step_and_never_stored(tmp_path):
    results = corpus.scan_planted(tmp_path)
    assert len(results) == 16 * 7 + 9 * 7 + 9 * 4  # responses 16 fields, stop_zorg 9, goals 9 (no birth dates)
    for r in results:
        case = f"{r['kind']}.{r['field']}: {r['plant']}"
        if (r["field"], r["plant"]) in corpus.INDISTINGUISHABLE:
            assert r["found_by"] == [], case  # a legitimate toewijzingnummer by contract: no false alarm
            continue
        assert r["found_by"] and all(how.startswith("TTP") for how in r["found_by"]), case
        assert not r["stored"], case
