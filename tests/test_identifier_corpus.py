"""Zero false alarms, every identifier found: the corpus of ``tests/identifier_corpus.py`` against every
identifier scan (the TTP step, the table-wide scan of every warehouse table, the export-file scan)."""

from __future__ import annotations

import sys

import pytest

from tests import identifier_corpus as corpus
from tests.conftest import PROJECT_ROOT
from tests.stored_text import tables_as_text

sys.path.insert(0, str(PROJECT_ROOT / "scripts"))
from local_daemon import LocalDaemon, landing_idle  # noqa: E402


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


def _texts_of_duckdb(path, place: str) -> dict[str, str]:
    """Every table of a DuckDB file, every column cast to text, by table."""
    return {f"{place} {table}": text for table, text in tables_as_text(path).items()}


def _texts_of_files(folder) -> str:
    """Every file under folder as text (zip members too: xlsx), bytes that are no UTF-8 skipped."""
    import zipfile

    out = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                out += [archive.read(member).decode("utf-8", "ignore") for member in archive.namelist()]
        else:
            out.append(path.read_bytes().decode("utf-8", "ignore"))
    return "\n".join(out)


def test_identifiers_spelled_as_people_write_them_are_stored_nowhere(rmj_env, tmp_path, monkeypatch, capsys):
    """Issue 23: the row's own BSN, birth date and surname in every spelling, in every delivered field of
    every kind, processed by ``rmj process``: the run exits 0, every delivery reconciles, and not one of
    those strings is in the warehouse, the snapshot, the exports, the console, the landing zone's state or
    Dagster's storage (its event log)."""
    from rmj_dagster import cli, warehouse

    monkeypatch.setenv("RMJ_SNAPSHOT", str(tmp_path / "snapshot" / "rmj_marts.duckdb"))
    written = corpus.write_spelled_deliveries(rmj_env["landing"] / "incoming")
    assert cli.main(["process"]) == 0
    console = capsys.readouterr()
    with warehouse.connect(rmj_env["warehouse"], read_only=True) as con:
        loaded = con.execute("select status, rows_read from audit.deliveries order by rows_read").fetchall()
        assert loaded == sorted(("loaded", n) for n in written.values())
        reconciled = con.execute("select rows_read, rows_accepted + rows_rejected, reconciled "
                                 "from intermediate.delivery_reconciliation").fetchall()
        assert len(reconciled) == len(written) and all(r == a and ok for r, a, ok in reconciled), reconciled
        # the clean rows are accepted, each planted row rejected with its column named, never its value
        details = [d for (d,) in con.execute("select distinct reason_detail from intermediate.rejected_rows").fetchall()]
    places = {
        **_texts_of_duckdb(rmj_env["warehouse"], "warehouse"),
        **_texts_of_duckdb(tmp_path / "snapshot" / "rmj_marts.duckdb", "snapshot"),
        "exports": _texts_of_files(rmj_env["exports"]),
        "console": console.out + console.err,
        "landing state": _texts_of_files(rmj_env["landing"] / "state"),
        "dagster storage": _texts_of_files(rmj_env["dagster_home"]),
        "reject details": "\n".join(d or "" for d in details),
    }
    assert places["dagster storage"] and places["warehouse pseudo.responses"]  # the places were read
    found = {(where, needle) for where, text in places.items() for needle in corpus.spelled_needles() if needle in text}
    assert found == set()


@pytest.mark.slow  # a real dagster-daemon
def test_identifiers_spelled_as_people_write_them_are_stored_nowhere_under_the_daemon(rmj_env, tmp_path):
    """The same corpus through the deployed path: the real daemon's sensor requests the run and launches it.
    Every run succeeds, every delivery reconciles, and no spelling is in the warehouse, the snapshot, the
    exports, the landing zone's state, Dagster's storage (runs, events, sensor ticks and cursor) or the
    daemon's log."""
    import dagster as dg
    import duckdb

    home, snapshot = rmj_env["dagster_home"], tmp_path / "snapshot" / "rmj_marts.duckdb"
    incoming = rmj_env["landing"] / "incoming"
    written = corpus.write_spelled_deliveries(incoming)
    for path in list(incoming.iterdir()):
        (incoming / f"{path.name}.done").touch()  # uploaded completely
    with LocalDaemon(home, {"RMJ_SNAPSHOT": str(snapshot), "DAGSTER_DISABLE_TELEMETRY": "1"}) as daemon:
        def through() -> bool:
            runs = daemon.runs("deliveries_job")
            return bool(runs) and all(r.is_finished for r in runs) and landing_idle(rmj_env["landing"]) and snapshot.exists()

        assert daemon.wait_until(through, timeout=480, what="the sensor's run"), [(r.status, r.run_id) for r in daemon.runs()]
        runs = daemon.runs("deliveries_job")
    assert (home / "daemon.log").stat().st_size > 0  # the daemon's log is read with the storage below
    assert [r.status for r in runs] == [dg.DagsterRunStatus.SUCCESS] * len(runs)
    with duckdb.connect(str(rmj_env["warehouse"]), read_only=True) as con:
        loaded = con.execute("select status, rows_read from audit.deliveries order by rows_read").fetchall()
        reconciled = con.execute("select rows_read = rows_accepted + rows_rejected and reconciled "
                                 "from intermediate.delivery_reconciliation").fetchall()
    assert loaded == sorted(("loaded", n) for n in written.values())
    assert len(reconciled) == len(written) and all(ok for (ok,) in reconciled)
    places = {
        **_texts_of_duckdb(rmj_env["warehouse"], "warehouse"),
        **_texts_of_duckdb(snapshot, "snapshot"),
        "exports": _texts_of_files(rmj_env["exports"]),
        "landing state": _texts_of_files(rmj_env["landing"] / "state"),
        "dagster storage": _texts_of_files(home),  # the daemon's log included
    }
    assert "delivery_sensor" in places["dagster storage"]  # the instance's storage was read
    found = {(where, needle) for where, text in places.items() for needle in corpus.spelled_needles() if needle in text}
    assert found == set()
