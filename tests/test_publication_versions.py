"""Publications kept by version: version 1, a changed input, version 2 listing exactly what changed, version 1
kept byte for byte and read-only; a re-make with the same figures writes nothing.

The CEO year is built through the real mart models from hand-made intermediate rows (``mart_fixtures``); the
CBS period from a hand-made ``marts.cbs_outcome_extract``.
"""

from __future__ import annotations

import json
import os
import stat
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from rmj_dagster import warehouse
from rmj_dagster.assets.publications import export_findings
from rmj_dagster.publish import workbook
from rmj_dagster.publish.cbs_files import write_cbs_extract
from rmj_dagster.publish.ceo_files import write_ceo_outputs
from rmj_dagster.publish.figures import read_published
from rmj_dagster.publish.publication_check import verify_publication
from rmj_dagster.quality.expectations import CBS_COLUMNS
from tests.mart_fixtures import AGB_A, AGB_B, add_response, build_indicators, mart_warehouse

PRODUCED = date(2026, 12, 7)
FIELDS = ("n", "value", "ci_low", "ci_high", "suppressed")


def tree(folder: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file under ``folder``: bytes, inode and modification time (untouched means all three equal)."""
    return {p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_ino, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def contents(folder: Path) -> dict[str, bytes]:
    return {name: data for name, (data, _, _) in tree(folder).items()}


def writable(folder: Path) -> list[str]:
    return [p.as_posix() for p in [folder, *folder.rglob("*")] if p.stat().st_mode & 0o222]


def expected_changes(old_csv: Path, new_csv: Path) -> dict[tuple, tuple]:
    """The figures whose published fields differ, worked out from the two files with the csv module."""
    def keyed(path):
        return {(r["area_type"], r["area_code"], r["indicator"], r["respondent_group"], r["care_type"]):
                {f: r[f] or None for f in FIELDS} for r in read_published(path)}
    old, new = keyed(old_csv), keyed(new_csv)
    return {key: (old.get(key), new.get(key)) for key in old.keys() | new.keys() if old.get(key) != new.get(key)}


@pytest.fixture
def two_ceo_versions(tmp_path):
    """Version 1 of 2025 from 40 responses in Amsterdam; version 2 after 25 more in Zaanstad (provider B)."""
    exports = tmp_path / "exports"
    with mart_warehouse(tmp_path) as con:
        add_response(con, count=40, q01=5)
        build_indicators(con)
        first = write_ceo_outputs(con, 2025, exports, produced=PRODUCED)
        folder = first.folder
        v1 = contents(folder)
        add_response(con, count=25, q01=1, gemeentecode="0479", aanbieder_agb=AGB_B)
        build_indicators(con)
        second = write_ceo_outputs(con, 2025, exports, produced=PRODUCED)
        yield {"con": con, "exports": exports, "folder": folder, "first": first, "second": second, "v1": v1}


def test_a_changed_year_is_version_2_listing_exactly_the_changed_figures(two_ceo_versions):
    folder, v1, first, second = (two_ceo_versions[k] for k in ("folder", "v1", "first", "second"))
    assert (first.version, first.written, first.changed_figures) == (1, True, 0)
    assert (second.version, second.written) == (2, True)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["version"] == 2 and manifest["replaces_version"] == 1 and manifest["produced_at"]
    assert manifest["data_cutoff"] is None  # the fixture has no audit.deliveries

    # version 1 kept byte for byte: every file it published and its manifest
    kept = folder / "versions" / "1"
    assert contents(kept) == {name: data for name, data in v1.items()}
    assert json.loads(v1["manifest.json"])["version"] == 1
    assert writable(folder / "versions") == []  # files and folders read-only

    # exactly the figures that differ between the two files, with old and new as published
    listed = {(c["area_type"], c["area_code"], c["indicator"], c["respondent_group"], c["care_type"]): (c["old"], c["new"])
              for c in manifest["changes"]}
    assert len(listed) == len(manifest["changes"]) == second.changed_figures > 0
    assert listed == expected_changes(kept / "indicators.csv", folder / "indicators.csv")
    region = listed[("regio", "RMJ", "n_responses", "ALL", "ALL")]
    assert (region[0]["n"], region[1]["n"]) == ("40", "65")
    assert listed[("gemeente", "0479", "n_responses", "ALL", "ALL")][0] is None  # Zaanstad is new: no old figure

    # the manifest lists every file of the current version with its sha256; the whole folder checks out
    assert {e["file"] for e in manifest["files"]} == set(contents(folder)) - {"manifest.json"} - {
        n for n in contents(folder) if n.startswith("versions/")}
    assert verify_publication(two_ceo_versions["exports"], 2025) == []


def test_an_unchanged_remake_writes_nothing(two_ceo_versions):
    con, exports, folder = two_ceo_versions["con"], two_ceo_versions["exports"], two_ceo_versions["folder"]
    before = tree(folder)
    con.execute("create table audit.deliveries as select now()::timestamp as received_at")  # a later cut-off alone
    again = write_ceo_outputs(con, 2025, exports, produced=date(2027, 1, 5))
    assert (again.version, again.written, again.changed_figures) == (2, False, two_ceo_versions["second"].changed_figures)
    assert tree(folder) == before  # bytes, inodes and times: not one file rewritten, no version added
    assert [p.name for p in folder.parent.iterdir()] == ["2025"]  # nothing half-built left beside it


def test_pages_and_workbook_show_the_version_and_what_changed(two_ceo_versions):
    folder = two_ceo_versions["folder"]
    line = "Versie 2, 7 december 2026 (correctie op versie 1)"
    report = (folder / "report.html").read_text(encoding="utf-8")
    assert line in report and "Wijzigingen ten opzichte van versie 1" in report
    assert f"Gewijzigd zijn {two_ceo_versions['second'].changed_figures} cijfers" in report
    for page in [*(folder / "gemeenten").glob("*.html"), *(folder / "aanbieders").glob("*.html")]:
        assert line in page.read_text(encoding="utf-8"), page.name
    assert "Versie 1, 7 december 2026" in (folder / "versions" / "1" / "report.html").read_text(encoding="utf-8")
    assert "Wijzigingen" not in (folder / "versions" / "1" / "report.html").read_text(encoding="utf-8")

    book = load_workbook(folder / "indicatoren-2025.xlsx", read_only=True)
    about = [row[0] for row in book["Toelichting"].iter_rows(values_only=True)]
    assert any(text.startswith(line) for text in about)
    changes = list(book["Wijzigingen"].iter_rows(values_only=True))
    header, lines = changes[0], changes[1:]
    assert len(lines) == two_ceo_versions["second"].changed_figures
    region = next(dict(zip(header, r)) for r in lines if r[-3:] == ("regio", "RMJ", "n_responses") and r[1] == "Allen"
                  and r[2] == "Alle hulp")
    assert (region["n versie 1"], region["n versie 2"]) == (40, 65)  # numbers as numbers
    book.close()
    assert "Wijzigingen" not in load_workbook(folder / "versions" / "1" / "indicatoren-2025.xlsx", read_only=True).sheetnames


def test_the_privacy_scan_and_the_publication_check_cover_kept_versions(two_ceo_versions):
    con, exports, folder = two_ceo_versions["con"], two_ceo_versions["exports"], two_ceo_versions["folder"]
    every_file = sorted(p for p in folder.rglob("*") if p.is_file())
    assert any("versions/1/" in p.as_posix() for p in every_file)
    assert export_findings(con, every_file, folder) == {}
    planted = folder / "versions" / "1" / "report.html"  # someone edits a kept version
    os.chmod(planted.parent, 0o755)
    copy = planted.read_bytes().replace(b"</footer>", b"<p>111222333</p></footer>")  # passes the 11-proef
    planted.unlink()
    planted.write_bytes(copy)
    assert set(export_findings(con, every_file, folder)) == {"versions/1/report.html"}
    problems = verify_publication(exports, 2025)
    assert "versions/1/report.html: sha256 differs from its manifest" in problems
    assert any(p.startswith("versions/1/") and "can be written to" in p for p in problems)


def test_a_failed_build_of_version_2_leaves_version_1_untouched(tmp_path, monkeypatch):
    exports = tmp_path / "exports"
    with mart_warehouse(tmp_path) as con:
        add_response(con, count=40, q01=5)
        build_indicators(con)
        folder = write_ceo_outputs(con, 2025, exports, produced=PRODUCED).folder
        before = tree(folder)
        add_response(con, count=25, q01=1)
        build_indicators(con)

        def disk_full(*args, **kwargs):
            raise OSError("disk full")

        monkeypatch.setattr(workbook, "write_workbook", disk_full)  # after the CSV and every page
        with pytest.raises(OSError, match="disk full"):
            write_ceo_outputs(con, 2025, exports, produced=PRODUCED)
    assert tree(folder) == before
    assert [p.name for p in folder.parent.iterdir()] == ["2025"]


def _cbs(con, rows: list[tuple]) -> None:
    con.execute("delete from marts.cbs_outcome_extract")
    if rows:
        con.executemany("insert into marts.cbs_outcome_extract values (" + ", ".join("?" * (1 + len(CBS_COLUMNS))) + ")",
                        [("2025-H1", *row) for row in rows])


def test_a_changed_cbs_period_is_a_correction_kept_beside_the_version_sent(tmp_path):
    record = {"a1": (AGB_A, "5", "20240101", "20250301", "01", "8", "04", None, None),
              "a2": (AGB_A, "7", "20240201", "20250401", "02", "6", "01", None, None),
              "b1": (AGB_B, "6", "20240101", "20250301", "03", None, None, "6", "01")}
    exports = tmp_path / "exports"
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        con.execute("create table marts.cbs_outcome_extract (period varchar, " + ", ".join(f"{c} varchar" for c in CBS_COLUMNS) + ")")
        _cbs(con, [record["a1"], record["a2"], record["b1"]])
        first = write_cbs_extract(con, "2025-H1", exports, "test")
        folder = first.folder
        sent = contents(folder)
        assert (first.version, first.correction, first.written) == (1, False, True)
        assert json.loads(sent["manifest.json"])["correction"] is False

        unchanged = tree(folder)
        again = write_cbs_extract(con, "2025-H1", exports, "test")
        assert (again.version, again.written) == (1, False) and tree(folder) == unchanged

        # a2's satisfaction corrected, b1 gone, a new record for A
        _cbs(con, [record["a1"], (*record["a2"][:5], "9", *record["a2"][6:]), (AGB_A, "8", "20240301", "", "", "7", "02", None, None)])
        second = write_cbs_extract(con, "2025-H1", exports, "test")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert (second.version, second.correction, second.written) == (2, True, True)
    assert manifest["version"] == 2 and manifest["correction"] is True and manifest["corrects_version"] == 1
    assert "7.6" in manifest["replaces"] and manifest["period"] == "2025-H1" and manifest["produced_at"]
    assert manifest["changes"] == [
        {"file": f"{AGB_A}.csv", "rows_before": 2, "rows_after": 3, "rows_added": 1, "rows_removed": 0, "rows_changed": 1},
        {"file": f"{AGB_B}.csv", "rows_before": 1, "rows_after": 0, "rows_added": 0, "rows_removed": 1, "rows_changed": 0},
    ]
    assert second.changed_records == 3
    assert sorted(p.name for p in folder.iterdir()) == [f"{AGB_A}.csv", "manifest.json", "versions"]  # the whole period replaced
    kept = folder / "versions" / "1"
    assert contents(kept) == sent  # the version sent, byte for byte
    assert stat.S_IMODE(kept.stat().st_mode) == 0o500 and stat.S_IMODE((folder / "versions").stat().st_mode) == 0o500
    assert {stat.S_IMODE(p.stat().st_mode) for p in kept.iterdir()} == {0o400}  # read-only, still owner-only
    assert not any(p.stat().st_mode & 0o077 for p in folder.rglob("*"))


def test_the_asset_metadata_says_which_version_and_what_it_changed(tmp_path):
    import dagster as dg

    from rmj_dagster.assets.ceo.ceo_publication import ceo_publication
    from rmj_dagster.resources import ExportArea, Warehouse

    with mart_warehouse(tmp_path) as con:
        add_response(con, count=40, q01=5)
        build_indicators(con)
    resources = {"warehouse": Warehouse(database=str(tmp_path / "warehouse.duckdb")),
                 "exports": ExportArea(root=str(tmp_path / "exports"))}

    def publish() -> dict:
        result = dg.materialize([ceo_publication], partition_key="2025", resources=resources)
        metadata = result.asset_materializations_for_node(ceo_publication.op.name)[0].metadata
        return {k: metadata[k].value for k in ("version", "correction", "new_version", "changed_figures", "manifest")}

    first = publish()
    assert first == {"version": 1, "correction": False, "new_version": True, "changed_figures": 0,
                     "manifest": str(tmp_path / "exports" / "ceo" / "2025" / "manifest.json")}
    assert publish() == first | {"new_version": False}
    with warehouse.connect(tmp_path / "warehouse.duckdb") as con:
        add_response(con, count=25, q01=1)
        build_indicators(con)
    second = publish()
    changed = json.loads(Path(second["manifest"]).read_text(encoding="utf-8"))["changes"]
    assert second == first | {"version": 2, "correction": True, "changed_figures": len(changed)} and changed


KILLER = """
import os, signal, sys
from datetime import date
from pathlib import Path
import rmj_dagster.publish as publish
from rmj_dagster import warehouse
from rmj_dagster.publish import ceo_files, workbook

point, root = sys.argv[1], Path(sys.argv[2])

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)  # no cleanup of any kind runs

owner, name = {"pages": (workbook, "write_workbook"), "swap": (publish, "_exchange"),
               "cleanup": (publish, "remove_tree")}[point]
setattr(owner, name, die)
with warehouse.connect(root / "warehouse.duckdb") as con:
    ceo_files.write_ceo_outputs(con, 2025, root / "exports", produced=date(2026, 12, 7))
"""


@pytest.mark.slow  # SIGKILL of a writing process
@pytest.mark.parametrize("point", ["pages", "swap", "cleanup"])
def test_a_kill_while_writing_version_2_never_loses_version_1(tmp_path, point):
    import signal
    import subprocess
    import sys

    exports = tmp_path / "exports"
    with mart_warehouse(tmp_path) as con:
        add_response(con, count=40, q01=5)
        build_indicators(con)
        folder = write_ceo_outputs(con, 2025, exports, produced=PRODUCED).folder
        v1 = contents(folder)
        add_response(con, count=25, q01=1)
        build_indicators(con)
    killed = subprocess.run([sys.executable, "-c", KILLER, point, str(tmp_path)], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[1], timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    if point == "cleanup":  # killed after the swap: version 2 is in place, version 1 kept
        assert json.loads((folder / "manifest.json").read_text())["version"] == 2
        assert contents(folder / "versions" / "1") == v1
    else:  # killed before the swap: version 1 as it was
        assert contents(folder) == v1

    with warehouse.connect(tmp_path / "warehouse.duckdb") as con:
        again = write_ceo_outputs(con, 2025, exports, produced=PRODUCED)
    assert again.version == 2 and again.written == (point != "cleanup")
    assert contents(folder / "versions" / "1") == v1 and writable(folder / "versions") == []
    assert [p.name for p in folder.parent.iterdir()] == ["2025"]  # what the killed write left is gone
    assert verify_publication(exports, 2025) == []
