"""Suppression, rounding and the files that leave the warehouse, on hand-made figures."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from rmj_dagster import codebook, warehouse
from rmj_dagster.publish.cbs_files import write_cbs_extract
from rmj_dagster.publish.ceo_files import verify_suppression, write_ceo_outputs
from rmj_dagster.publish.figures import read_published
from rmj_dagster.quality.expectations import CBS_COLUMNS
from rmj_dagster.warehouse import sql_models

BASE_COLUMNS = "period varchar, year integer, area_type varchar, area_code varchar, area_name varchar, parent_code varchar, respondent_group varchar, care_type varchar, indicator varchar, numerator bigint, n bigint, value double, ci_low double, ci_high double"


def cell(year, area_type, code, parent, n, value=50.0, indicator="pct_uitval"):
    return (year, area_type, code, code, parent, "ALL", "ALL", indicator, None, n, value, value - 5, value + 5)


@pytest.fixture
def con(tmp_path: Path):
    with warehouse.connect(tmp_path / "w.duckdb") as connection:
        codebook.load_into(connection)
        connection.execute(f"create table marts.indicator_base ({BASE_COLUMNS})")
        yield connection


def publish(con, rows, tmp_path: Path, year: int = 2025) -> dict[str, dict]:
    con.executemany("insert into marts.indicator_base values (" + ", ".join("?" * 14) + ")",
                    [(str(year), *row) for row in rows])  # the partition of the year published
    sql_models.run_model(con, sql_models.model("ceo_indicators"), period=str(year),
                         period_start=__import__("datetime").date(year, 1, 1), period_end=__import__("datetime").date(year, 12, 31))
    export = write_ceo_outputs(con, year, tmp_path / "exports")
    return {(r["area_type"], r["area_code"]): r for r in read_published(export.csv_path)}, export


def test_nine_is_suppressed_ten_is_shown(con, tmp_path):
    rows, _ = publish(con, [cell(2025, "regio", "RMJ", None, 19), cell(2025, "aanbieder", "11111111", "AANBIEDERS", 10),
                            cell(2025, "aanbieder", "22222222", "AANBIEDERS", 9)], tmp_path)
    small, shown = rows[("aanbieder", "22222222")], rows[("regio", "RMJ")]
    assert small["suppressed"] == "true" and small["value"] == "" and small["n"] == ""
    assert shown["suppressed"] == "false" and shown["value"] == "50.0"
    # the only other provider (n = 10) is hidden too: the region minus it would give the small one away
    assert rows[("aanbieder", "11111111")]["suppressed"] == "true"


def test_one_municipality_cannot_be_recovered_by_subtraction(con, tmp_path):
    # AA = 67 = 50 (Amsterdam) + 12 (Amstelveen) + 5 (Aalsmeer). Hiding only Aalsmeer would leave 67 - 50 - 12 = 5.
    figures = [
        cell(2025, "subregio", "AA", "RMJ", 67), cell(2025, "subregio", "ZW", "RMJ", 40),
        cell(2025, "gemeente", "0363", "AA", 50), cell(2025, "gemeente", "0362", "AA", 12), cell(2025, "gemeente", "0358", "AA", 5),
        cell(2025, "gemeente", "0479", "ZW", 40),
    ]
    rows, export = publish(con, figures, tmp_path)
    assert rows[("gemeente", "0358")]["suppressed"] == "true"  # below 10
    assert rows[("gemeente", "0362")]["suppressed"] == "true"  # the next smallest, so 0358 cannot be derived
    assert rows[("gemeente", "0363")]["suppressed"] == "false"
    assert rows[("gemeente", "0479")]["suppressed"] == "false"  # another breakdown
    assert verify_suppression(export.csv_path) == []


def test_the_verifier_catches_a_recoverable_cell_in_a_published_file(con, tmp_path):
    figures = [cell(2025, "subregio", "AA", "RMJ", 67), cell(2025, "gemeente", "0363", "AA", 50),
               cell(2025, "gemeente", "0362", "AA", 12), cell(2025, "gemeente", "0358", "AA", 5)]
    _, export = publish(con, figures, tmp_path)
    rows = read_published(export.csv_path)
    for row in rows:  # undo the complementary suppression, as a faulty pipeline would
        if row["area_code"] == "0362":
            row.update(suppressed="false", n="10", value="50.0", ci_low="45.0", ci_high="55.0")
    with export.csv_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
    problems = verify_suppression(export.csv_path)
    assert len(problems) == 1 and "0358" in problems[0] and "subtraction" in problems[0]


def test_the_verifier_catches_a_small_cell_shown(tmp_path):
    path = tmp_path / "indicators.csv"
    path.write_text("year;area_type;area_code;area_name;respondent_group;care_type;indicator;n;value;ci_low;ci_high;suppressed\n"
                    "2025;regio;RMJ;RMJ;ALL;ALL;pct_uitval;5;20.0;1.0;60.0;false\n", encoding="utf-8")
    assert verify_suppression(path) and "below" in verify_suppression(path)[0]


def test_counts_are_rounded_to_five_and_percentages_to_one_decimal(con, tmp_path):
    rows, _ = publish(con, [cell(2025, "aanbieder", "11111111", "AANBIEDERS", 12, 33.333333),
                            cell(2025, "aanbieder", "22222222", "AANBIEDERS", 13, 66.666666)], tmp_path)
    assert (rows[("aanbieder", "11111111")]["n"], rows[("aanbieder", "11111111")]["value"]) == ("10", "33.3")
    assert (rows[("aanbieder", "22222222")]["n"], rows[("aanbieder", "22222222")]["value"]) == ("15", "66.7")


def test_last_year_is_compared_only_where_it_was_publishable(con, tmp_path):
    figures = [
        cell(2024, "aanbieder", "11111111", "AANBIEDERS", 40, 40.0), cell(2025, "aanbieder", "11111111", "AANBIEDERS", 40, 60.0),
        cell(2024, "aanbieder", "22222222", "AANBIEDERS", 4, 10.0), cell(2025, "aanbieder", "22222222", "AANBIEDERS", 40, 20.0),
        cell(2024, "aanbieder", "33333333", "AANBIEDERS", 30, 12.0), cell(2025, "aanbieder", "33333333", "AANBIEDERS", 30, 15.0),
        cell(2024, "aanbieder", "44444444", "AANBIEDERS", 50, 30.0), cell(2025, "aanbieder", "44444444", "AANBIEDERS", 50, 32.0),
    ]
    rows, _ = publish(con, figures, tmp_path)
    first = rows[("aanbieder", "11111111")]
    assert (first["prev_value"], first["ci_overlap_prev"]) == ("40.0", "false")  # 35-45 against 55-65
    assert rows[("aanbieder", "22222222")]["prev_value"] == ""  # 2024 had n = 4: never shown, not even here
    # in 2024 22222222 was the only small provider, so the next smallest (33333333) was hidden with it
    assert rows[("aanbieder", "33333333")]["prev_value"] == ""
    assert (rows[("aanbieder", "44444444")]["prev_value"], rows[("aanbieder", "44444444")]["ci_overlap_prev"]) == ("30.0", "true")


def test_the_report_is_self_contained_and_drawn_from_published_figures(con, tmp_path):
    rows, export = publish(con, [cell(2025, "regio", "RMJ", None, 100, 12.3456), cell(2025, "subregio", "AA", "RMJ", 91, 11.1),
                                 cell(2025, "subregio", "ZW", "RMJ", 9, 77.7777)], tmp_path)
    html = export.report_path.read_text(encoding="utf-8")
    assert "<script src" not in html and "plotly" in html.lower()
    figure_data = html[html.index("</script>", html.index('id="plotly-js"')):]  # after the inlined plotly.js library
    assert "12.3" in figure_data and "12,3%" in figure_data  # the region figure is drawn and written in Dutch
    assert "77.7" not in figure_data and "77.8" not in figure_data and "77,8" not in figure_data  # ZW (n=9) hidden, AA too
    assert rows[("subregio", "AA")]["suppressed"] == "true"
    assert "12,3%" in export.summary_markdown and "77,8" not in export.summary_markdown


def test_cbs_files_are_owner_only_match_their_manifest_and_replace_the_period(tmp_path):
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        con.execute("create table marts.cbs_outcome_extract (period varchar, " + ", ".join(f"{c} varchar" for c in CBS_COLUMNS) + ")")
        con.execute("insert into marts.cbs_outcome_extract values ('2025-H1', '11111111', '5', '20240101', '20250301', '01', '8', '04', null, null),"
                    " ('2025-H1', '22222222', '6', '20240101', '20250301', '03', null, null, '6', '01')")
        first = write_cbs_extract(con, "2025-H1", tmp_path / "exports", "test")
        assert sorted(first.files) == ["11111111.csv", "22222222.csv"]
        con.execute("delete from marts.cbs_outcome_extract where aanbieder_agb = '22222222'")
        second = write_cbs_extract(con, "2025-H1", tmp_path / "exports", "test")
    folder = second.folder
    # the whole period replaced; version 1 kept as sent
    assert sorted(p.name for p in folder.iterdir()) == ["11111111.csv", "manifest.json", "versions"]
    assert sorted(p.name for p in (folder / "versions" / "1").iterdir()) == ["11111111.csv", "22222222.csv", "manifest.json"]
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    manifest = json.loads((folder / "manifest.json").read_text())
    for entry in manifest["files"]:
        path = folder / entry["file"]
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
    assert (folder / "11111111.csv").read_text().splitlines()[0].split(";") == list(CBS_COLUMNS)


def test_the_files_table_in_the_ui_keeps_its_placeholders():
    """Dagster renders metadata markdown as HTML: a bare ``gemeenten/<code>.html`` would show as ``gemeenten/.html``."""
    from rmj_dagster.assets.ceo.ceo_publication import _files_table
    from rmj_dagster.publish.ceo_files import CeoExport

    export = CeoExport(**{f: None for f in CeoExport.__dataclass_fields__} | {
        "year": 2025, "files": {"gemeenten": (14, 3_000_000), "aanbieders": (9, 2_000_000)}, "seconds": {}})
    table = _files_table(export)
    assert "| `gemeenten/<code>.html` | 14 |" in table and "| `aanbieders/<agb>.html` | 9 |" in table
