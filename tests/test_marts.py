"""The marts and what leaves the warehouse, on hand-built intermediate tables with hand-worked figures.

Every expected number is worked out in the comments from the definitions in outputs.md. Fixture
helpers (tests/mart_fixtures.py) create the intermediate tables with exactly the contract's columns.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import re
from datetime import date
from pathlib import Path

import pytest

from rmj_dagster.publish import replace_directory
from rmj_dagster.publish.cbs_files import write_cbs_extract
from rmj_dagster.publish.ceo_files import PUBLISHED_COLUMNS, SuppressionError, verify_suppression, write_ceo_outputs
from rmj_dagster.publish.figures import read_published
from rmj_dagster.quality.expectations import CBS_COLUMNS
from tests.mart_fixtures import (
    AGB_A,
    AGB_B,
    add_answers,
    add_measurement,
    add_outcome,
    add_response,
    add_start,
    add_stop,
    base_figure,
    build_indicators,
    mart_warehouse,
    published_figure,
    run,
)

Z = 1.959963984540054  # wilson_z in parameters.csv


def wilson_percent(x: int, n: int) -> tuple[float, float]:
    """Wilson score 95% interval, written out independently of the SQL macro (percent)."""
    p = x / n
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2)) / (1 + Z**2 / n)
    return 100 * (centre - half), 100 * (centre + half)


@pytest.fixture
def con(tmp_path):
    with mart_warehouse(tmp_path) as connection:
        yield connection


def published_rows(path: Path) -> dict[tuple, dict[str, str]]:
    return {
        (r["area_type"], r["area_code"], r["respondent_group"], r["care_type"], r["indicator"]): r
        for r in read_published(path)
    }


# --------------------------------------------------------------------------------------------------
# indicator_base: the figures


def test_pct_positive_counts_4_and_5_over_answers_1_to_5(con):
    # q01 of eight parents: 5, 4, 4, 3, 2, 1, 9 (not applicable), empty.
    # denominator = answers 1-5 = {5,4,4,3,2,1} = 6; numerator = answers 4 or 5 = {5,4,4} = 3 -> 3/6 = 50 %
    add_answers(con, "q01", [5, 4, 4, 3, 2, 1, 9, None])
    build_indicators(con)
    row = base_figure(con, "pct_positive_q01", group="OUDERS", care="EINDE")
    low, high = wilson_percent(3, 6)  # 18.76 - 81.24
    assert (row["numerator"], row["n"]) == (3, 6)
    assert row["value"] == pytest.approx(50.0)
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(low), pytest.approx(high))
    assert base_figure(con, "pct_positive_q01")["n"] == 6  # ALL/ALL holds the same single group
    assert base_figure(con, "pct_positive_q02") is None  # nobody answered q02: no cell, not a 0 %
    assert base_figure(con, "n_responses")["value"] == 8  # all eight responses count as responses


def test_an_indicator_base_built_whole_before_it_was_partitioned_is_replaced_by_its_year(con):
    """A warehouse from before indicator_base was partitioned holds it without a period column."""
    add_answers(con, "q01", [5, 4, 4, 3, 2, 1, 9, None])
    run(con, "indicator_observations")
    con.execute("create table marts.indicator_base as select 2024 as year, 'regio' as area_type")
    run(con, "indicator_base", "2025")
    assert con.execute("select distinct period, year from marts.indicator_base").fetchall() == [("2025", 2025)]
    assert base_figure(con, "pct_positive_q01", group="OUDERS", care="EINDE")["n"] == 6


def test_mean_q09_and_q09_7_plus_per_respondent_group(con):
    # parents' q09: 8, 7, 6, 10, empty -> n = 4, mean = 31/4 = 7.75
    # sd = sqrt(((.25)^2 + (-.75)^2 + (-1.75)^2 + (2.25)^2) / 3) = sqrt(8.75/3) = 1.7078
    # interval = 7.75 -/+ 1.96 * 1.7078 / sqrt(4) = 7.75 -/+ 1.6736 -> 6.0764 .. 9.4236
    # >= 7: 8, 7, 10 = 3 of 4 = 75 %
    add_answers(con, "q09", [8, 7, 6, 10, None])
    # one youth's 3: all respondents 8, 7, 6, 10, 3 -> mean 34/5 = 6.8; >= 7: 3 of 5 = 60 %
    add_answers(con, "q09", [3], vragenlijst="JONGEREN_EINDE")
    build_indicators(con)
    mean = base_figure(con, "mean_q09", group="OUDERS")
    half = Z * math.sqrt(8.75 / 3) / math.sqrt(4)
    assert (mean["n"], mean["numerator"]) == (4, None)
    assert mean["value"] == pytest.approx(7.75)
    assert (mean["ci_low"], mean["ci_high"]) == (pytest.approx(7.75 - half), pytest.approx(7.75 + half))
    assert mean["ci_low"] == pytest.approx(6.0764, abs=1e-4)
    assert base_figure(con, "pct_q09_7plus", group="OUDERS")["value"] == pytest.approx(75.0)
    assert base_figure(con, "mean_q09")["value"] == pytest.approx(6.8)
    assert base_figure(con, "pct_q09_7plus")["value"] == pytest.approx(60.0)
    assert base_figure(con, "mean_q09", group="JONGEREN", care="EINDE")["ci_low"] is None  # n = 1: no sd


def test_pct_zonder_hulp_verder_counts_03_and_04_over_01_to_04(con):
    # q10: 01, 02, 03, 04, 04, empty -> denominator 5, numerator {03, 04, 04} = 3 -> 60 %
    add_answers(con, "q10", [1, 2, 3, 4, 4, None])
    build_indicators(con)
    row = base_figure(con, "pct_zonder_hulp_verder")
    assert (row["numerator"], row["n"], row["value"]) == (3, 5, pytest.approx(60.0))


def test_pct_uitval_counts_only_ends_of_care(con):
    # 2025 ends: 31, 32, 32, 34, 33, 35, 02, 39 count (CBS 01-05) = 8; uitval (32, CBS 03) = 2
    # 20, 36, 37, 38 are no end of care: not in the denominator -> 2 / 8 = 25 %
    for reden in ("31", "32", "32", "34", "33", "35", "02", "39", "20", "36", "37", "38"):
        add_outcome(con, reden=reden)
    add_outcome(con, reden="32", einddatum=date(2024, 12, 31))  # belongs to 2024 (year of einddatum)
    build_indicators(con)
    row = base_figure(con, "pct_uitval")
    low, high = wilson_percent(2, 8)
    assert (row["numerator"], row["n"], row["value"]) == (2, 8, pytest.approx(25.0))
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(low), pytest.approx(high))
    assert base_figure(con, "pct_uitval", year=2024)["n"] == 1
    # not broken down by respondent group or care type
    groups = con.execute(
        "select distinct respondent_group, care_type from marts.indicator_base where indicator = 'pct_uitval'"
    ).fetchall()
    assert groups == [("ALL", "ALL")]


def test_response_rate_uses_the_90_day_window(con):
    # Through the real trajectory_outcomes model on hand-built cleaned tables. All trajectories end
    # 2025-06-30; 90 days before is 2025-04-01 (29 + 31 + 30 days), 90 days after is 2025-09-28 (31 + 31 + 28).
    end = date(2025, 6, 30)
    cases = {
        1: ("OUDERS_EINDE", date(2025, 4, 1), AGB_A),  # -90 days: counts
        2: ("OUDERS_EINDE", date(2025, 9, 28), AGB_A),  # +90 days: counts
        3: ("OUDERS_EINDE", date(2025, 9, 29), AGB_A),  # +91: outside
        4: ("OUDERS_EINDE", date(2025, 3, 31), AGB_A),  # -91: outside
        5: ("OUDERS_DUURZAAM", end, AGB_A),  # not an end-of-care questionnaire
        6: ("OUDERS_EINDE", end, AGB_B),  # another provider's toewijzingnummer 6
    }
    for number, (vragenlijst, day, agb) in cases.items():
        add_stop(con, toewijzingnummer=number, einddatum=end, reden="31")
        add_response(con, toewijzingnummer=number, vragenlijst=vragenlijst, invuldatum=day, aanbieder_agb=agb)
    add_stop(con, toewijzingnummer=7, einddatum=end, reden="36")  # no end of care: not in the denominator
    add_response(con, toewijzingnummer=7, invuldatum=end)
    run(con, "trajectory_outcomes")
    build_indicators(con)
    # denominator: trajectories 1-6 = 6; with an end questionnaire in the window: 1, 2 -> 2/6 = 33.3 %
    row = base_figure(con, "response_rate", care="EINDE")
    assert (row["numerator"], row["n"], row["value"]) == (2, 6, pytest.approx(100 * 2 / 6))
    assert base_figure(con, "response_rate", area_type="aanbieder", area_code=AGB_A, care="EINDE")["n"] == 6
    assert base_figure(con, "response_rate") is None  # only as ALL / EINDE


def test_goal_attainment_probleemafname_and_mean_gas_t(con):
    # T = 50 + 10 * sum(x) / sqrt(0.7 * 2 + 0.3 * 4) = 50 + 10 * sum(x) / sqrt(2.6) for two goals of weight 1:
    # goals (+1, 0) -> 56.2017; (0, 0) -> 50; (-1, 0) -> 43.7983; (+2, +1) -> 68.6052 (Zaanstad)
    # attained (T >= 50): 3 of 4 = 75 %; mean T = 50 + 10 * (1 + 0 - 1 + 3) / 4 / sqrt(2.6) = 54.6513
    # probleemafname 3, 2, none, 3 -> decreased (3) 2 of the 3 scored = 66.7 %
    t = [50 + 10 * s / math.sqrt(2.6) for s in (1, 0, -1, 3)]
    add_measurement(con, gas_t=t[0], goal_attained=True, probleemafname=3, problem_decreased=True)
    add_measurement(con, gas_t=t[1], goal_attained=True, probleemafname=2, problem_decreased=False)
    add_measurement(con, gas_t=t[2], goal_attained=False, probleemafname=None, problem_decreased=None)
    add_measurement(con, gas_t=t[3], goal_attained=True, probleemafname=3, problem_decreased=True, gemeentecode="0479")
    build_indicators(con)
    assert t[0] == pytest.approx(56.20, abs=0.005)  # the worked example of outputs.md
    goals = base_figure(con, "pct_doelrealisatie")
    assert (goals["numerator"], goals["n"], goals["value"]) == (3, 4, pytest.approx(75.0))
    problems = base_figure(con, "pct_probleemafname")
    assert (problems["numerator"], problems["n"], problems["value"]) == (2, 3, pytest.approx(200 / 3))
    mean = base_figure(con, "mean_gas_t")
    assert mean["value"] == pytest.approx(54.6513, abs=1e-4)
    # Amsterdam alone: 56.2, 50, 43.8 -> attained 2 of 3; Zaanstad: 1 of 1
    assert base_figure(con, "pct_doelrealisatie", "gemeente", "0363")["value"] == pytest.approx(200 / 3)
    assert base_figure(con, "pct_doelrealisatie", "subregio", "ZW")["n"] == 1


def test_wilson_interval_of_8_out_of_10(con):
    # p = 0.8, n = 10, z^2 = 3.841459:
    # centre = (0.8 + 3.841459/20) / (1 + 3.841459/10) = 0.992073 / 1.384146 = 0.716740
    # half   = 1.959964 * sqrt(0.8*0.2/10 + 3.841459/400) / 1.384146 = 1.959964 * 0.160011 / 1.384146 = 0.226578
    # -> 49.016 % .. 94.332 %
    add_answers(con, "q03", [5] * 6 + [4] * 2 + [2] * 2)
    build_indicators(con)
    row = base_figure(con, "pct_positive_q03")
    assert (row["value"], row["ci_low"], row["ci_high"]) == (
        pytest.approx(80.0), pytest.approx(49.016, abs=1e-3), pytest.approx(94.332, abs=1e-3))


def test_areas_names_and_breakdowns(con):
    add_response(con, gemeentecode="0363", q01=5)
    add_response(con, gemeentecode="0479", q01=5, aanbieder_agb=AGB_B)
    build_indicators(con)
    expected = {
        ("gemeente", "0363"): ("Amsterdam", "AA"),
        ("gemeente", "0479"): ("Zaanstad", "ZW"),
        ("subregio", "AA"): ("Amsterdam-Amstelland", "RMJ"),
        ("subregio", "ZW"): ("Zaanstreek-Waterland", "RMJ"),
        ("regio", "RMJ"): ("Regionale Monitor Jeugd", None),
        ("aanbieder", AGB_A): (AGB_A, "AANBIEDERS"),
        ("aanbieder", AGB_B): (AGB_B, "AANBIEDERS"),
    }
    got = {
        (r[0], r[1]): (r[2], r[3])
        for r in con.execute(
            "select distinct area_type, area_code, area_name, parent_code from marts.indicator_base"
        ).fetchall()
    }
    assert got == expected
    # groups x care types of a questionnaire figure: OUDERS/EINDE and the three ALL roll-ups
    cells = con.execute(
        "select respondent_group, care_type, n from marts.indicator_base "
        "where indicator = 'n_responses' and area_type = 'regio' order by 1, 2"
    ).fetchall()
    assert cells == [("ALL", "ALL", 2), ("ALL", "EINDE", 2), ("OUDERS", "ALL", 2), ("OUDERS", "EINDE", 2)]


# --------------------------------------------------------------------------------------------------
# ceo_indicators: suppression and the comparison with last year


def test_nine_is_suppressed_ten_is_shown(con):
    # Aalsmeer 9 and Amstelveen 9 responses (both below 10: two hidden cells, no complement needed),
    # Amsterdam 10: shown. Only n_responses figures exist (no answers given).
    add_response(con, count=9, gemeentecode="0358")
    add_response(con, count=9, gemeentecode="0362")
    add_response(con, count=10, gemeentecode="0363")
    build_indicators(con)
    nine = published_figure(con, "n_responses", "gemeente", "0358")
    ten = published_figure(con, "n_responses", "gemeente", "0363")
    assert nine["suppressed"] is True
    assert (nine["n"], nine["value"], nine["ci_low"], nine["ci_high"]) == (None, None, None, None)
    assert published_figure(con, "n_responses", "gemeente", "0362")["suppressed"] is True
    assert (ten["suppressed"], ten["n"], ten["value"]) == (False, 10, 10)
    assert published_figure(con, "n_responses", "subregio", "AA")["n"] == 28


def test_complementary_suppression_hides_the_next_smallest_municipality(con):
    # AA: Amsterdam 50, Amstelveen 12, Diemen 12, Aalsmeer 5 -> AA total 79. Hiding only Aalsmeer would leave
    # it recoverable: 79 - 50 - 12 - 12 = 5. So the next smallest is hidden too: Amstelveen and Diemen tie at
    # 12, the tie goes to the lower code, 0362 Amstelveen. ZW (Zaanstad 40) is another breakdown.
    for code, count in {"0363": 50, "0362": 12, "0384": 12, "0358": 5, "0479": 40}.items():
        add_response(con, count=count, gemeentecode=code)
    build_indicators(con)
    hidden = {
        code: published_figure(con, "n_responses", "gemeente", code)["suppressed"]
        for code in ("0363", "0362", "0384", "0358", "0479")
    }
    assert hidden == {"0363": False, "0362": True, "0384": False, "0358": True, "0479": False}
    assert published_figure(con, "n_responses", "subregio", "AA")["n"] == 79
    # the same for every group x care cell of the breakdown
    assert published_figure(con, "n_responses", "gemeente", "0362", group="OUDERS", care="EINDE")["suppressed"]


def test_a_complemented_sub_region_does_not_show_all_its_municipalities(con):
    # ZW: Zaanstad 5 + Purmerend 3 = 8 < 10 -> ZW hidden; it is the only small one of the two sub-regions,
    # so AA (75) is hidden too - else ZW = RMJ 83 - AA 75. But AA = Amsterdam 40 + Amstelveen 20 + Diemen 15:
    # showing all three would give AA back, and ZW with it. So the smallest, Diemen, goes as well: then
    # every equation has two unknowns (RMJ = AA + ZW, AA = 40 + 20 + Diemen, ZW = Zaanstad + Purmerend).
    for code, count in {"0363": 40, "0362": 20, "0384": 15, "0479": 5, "0439": 3}.items():
        add_response(con, count=count, gemeentecode=code)
    build_indicators(con)
    shown = {
        (area_type, code): not published_figure(con, "n_responses", area_type, code)["suppressed"]
        for area_type, code in [("regio", "RMJ"), ("subregio", "AA"), ("subregio", "ZW"), ("gemeente", "0363"),
                                ("gemeente", "0362"), ("gemeente", "0384"), ("gemeente", "0479"), ("gemeente", "0439")]
    }
    assert shown == {
        ("regio", "RMJ"): True, ("subregio", "AA"): False, ("subregio", "ZW"): False, ("gemeente", "0363"): True,
        ("gemeente", "0362"): True, ("gemeente", "0384"): False, ("gemeente", "0479"): False, ("gemeente", "0439"): False,
    }


def test_the_published_mart_holds_no_numerator_and_exactly_its_columns(con):
    add_response(con, count=12, q01=4)
    build_indicators(con)
    columns = [r[0] for r in con.execute("describe marts.ceo_indicators").fetchall()]
    assert columns == ["period", *PUBLISHED_COLUMNS]


def test_last_year_is_compared_with_the_same_suppression(con):
    # 2024: Amsterdam 20 + Aalsmeer 5 = 25; 2025: Amsterdam 20 + Aalsmeer 20 = 40.
    # Region q01 positive: 2024 5/25 = 20 % (8.9 .. 39.1); 2025 36/40 = 90 % (76.9 .. 96.0): no overlap.
    # Region q02 positive: 2024 12/25 = 48 % (30.0 .. 66.5); 2025 22/40 = 55 % (39.8 .. 69.3): overlap.
    # In 2024 Aalsmeer (5) was hidden and, as the next smallest of AA, Amsterdam too: no 2024 figure for
    # either municipality may appear as prev_value in 2025.
    y24, y25 = {"invuldatum": date(2024, 5, 1)}, {"invuldatum": date(2025, 5, 1)}
    for i in range(25):
        add_response(con, gemeentecode="0363" if i < 20 else "0358", q01=5 if i < 5 else 1, q02=4 if i < 12 else 2, **y24)
    for i in range(40):
        add_response(con, gemeentecode="0363" if i < 20 else "0358", q01=5 if i < 36 else 1, q02=4 if i < 22 else 2, **y25)
    build_indicators(con, 2025)
    q01 = published_figure(con, "pct_positive_q01")
    assert (q01["value"], q01["prev_value"], q01["ci_overlap_prev"]) == (pytest.approx(90.0), pytest.approx(20.0), False)
    assert (q01["prev_ci_low"], q01["prev_ci_high"]) == tuple(pytest.approx(b) for b in wilson_percent(5, 25))
    q02 = published_figure(con, "pct_positive_q02")
    assert (q02["value"], q02["prev_value"], q02["ci_overlap_prev"]) == (pytest.approx(55.0), pytest.approx(48.0), True)
    for code in ("0363", "0358"):
        row = published_figure(con, "n_responses", "gemeente", code)
        assert (row["suppressed"], row["n"], row["prev_value"]) == (False, 20, None)
    assert published_figure(con, "n_responses")["prev_value"] == 25
    assert published_figure(con, "n_responses")["ci_overlap_prev"] is None  # a count has no interval
    # building 2025 did not build 2024: one partition only
    assert con.execute("select distinct period from marts.ceo_indicators").fetchall() == [("2025",)]


def test_a_year_is_compared_with_the_year_before_even_when_that_year_was_never_built(con):
    """The daemon publishes the year just ended; the year before may never have had a CEO run (found by the
    year simulation: 2025 published without its 2024 comparison, which one batch run over the same files
    gave). A year's partition of indicator_base holds both years, from the data as it is now."""
    for when, positive in ((date(2024, 5, 1), 5), (date(2025, 5, 1), 18)):
        for i in range(20):
            add_response(con, q01=5 if i < positive else 1, invuldatum=when)
    run(con, "indicator_observations")
    run(con, "indicator_base", "2025")  # never 2024
    run(con, "ceo_indicators", "2025")
    q01 = published_figure(con, "pct_positive_q01")
    assert (q01["value"], q01["prev_value"]) == (pytest.approx(90.0), pytest.approx(25.0))
    assert con.execute("select distinct period, year from marts.indicator_base order by 2").fetchall() == [
        ("2025", 2024), ("2025", 2025)]


# --------------------------------------------------------------------------------------------------
# the published CSV, its check and the report


def test_published_file_rounds_counts_to_5_and_figures_to_one_decimal(con, tmp_path):
    # Amsterdam: 12 responses, q01 = 5 for 4 of them, 1 for 8 -> 4/12 = 33.333 %, n 12 -> shown as 10
    # Zaanstad: 13 responses, q01 = 4 for 9, 2 for 4 -> 9/13 = 69.231 %, n 13 -> 15
    # region: 25 -> 25, 13/25 = 52.0 %
    add_answers(con, "q01", [5] * 4 + [1] * 8, gemeentecode="0363")
    add_answers(con, "q01", [4] * 9 + [2] * 4, gemeentecode="0479")
    build_indicators(con)
    export = write_ceo_outputs(con, 2025, tmp_path / "exports")
    assert export.csv_path == tmp_path / "exports" / "ceo" / "2025" / "indicators.csv"
    header = export.csv_path.read_text(encoding="utf-8").splitlines()[0]
    assert header.split(";") == list(PUBLISHED_COLUMNS)
    rows = published_rows(export.csv_path)
    ams = rows[("gemeente", "0363", "ALL", "ALL", "pct_positive_q01")]
    low, high = wilson_percent(4, 12)  # 13.81 .. 60.94
    assert (ams["n"], ams["value"], ams["ci_low"], ams["ci_high"]) == ("10", "33.3", f"{low:.1f}", f"{high:.1f}")
    zaa = rows[("gemeente", "0479", "ALL", "ALL", "pct_positive_q01")]
    assert (zaa["n"], zaa["value"], zaa["suppressed"]) == ("15", "69.2", "false")
    region = rows[("regio", "RMJ", "ALL", "ALL", "pct_positive_q01")]
    assert (region["n"], region["value"]) == ("25", "52.0")
    counts = rows[("gemeente", "0363", "ALL", "ALL", "n_responses")]
    assert (counts["n"], counts["value"], counts["ci_low"]) == ("10", "10", "")
    assert rows[("gemeente", "0479", "ALL", "ALL", "n_responses")]["value"] == "15"  # 13 -> 15, not 13
    # the warehouse keeps the unrounded figure
    assert published_figure(con, "pct_positive_q01", "gemeente", "0363")["value"] == pytest.approx(100 / 3)
    assert verify_suppression(export.csv_path) == []


def test_suppressed_rows_in_the_file_show_only_their_flag(con, tmp_path):
    add_response(con, count=5, gemeentecode="0358", q01=5)
    add_response(con, count=30, gemeentecode="0363", q01=5)
    add_response(con, count=30, gemeentecode="0362", q01=5)
    build_indicators(con)
    export = write_ceo_outputs(con, 2025, tmp_path)
    rows = published_rows(export.csv_path)
    small = rows[("gemeente", "0358", "ALL", "ALL", "pct_positive_q01")]
    assert {k: small[k] for k in ("n", "value", "ci_low", "ci_high", "suppressed", "ci_overlap_prev")} == {
        "n": "", "value": "", "ci_low": "", "ci_high": "", "suppressed": "true", "ci_overlap_prev": ""}
    # the complement: Amstelveen and Amsterdam tie at 30, the lower code (0362) is hidden
    assert rows[("gemeente", "0362", "ALL", "ALL", "pct_positive_q01")]["suppressed"] == "true"
    assert rows[("gemeente", "0363", "ALL", "ALL", "pct_positive_q01")]["suppressed"] == "false"
    assert export.suppressed == sum(1 for r in rows.values() if r["suppressed"] == "true") > 0
    assert verify_suppression(export.csv_path) == []


def _rewrite(path: Path, change) -> None:
    rows = read_published(path)
    for row in rows:
        change(row)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=";")
        writer.writeheader()
        writer.writerows(rows)


def _undo_complement(row):
    if row["area_code"] == "0362" and row["indicator"] == "n_responses" and row["respondent_group"] == "ALL" \
            and row["care_type"] == "ALL":
        row.update(suppressed="false", n="10", value="10")


def _show_small_cell(row):
    if row["area_code"] == "0358" and row["indicator"] == "n_responses" and row["respondent_group"] == "ALL" \
            and row["care_type"] == "ALL":
        row.update(suppressed="false", n="5", value="5")


def _leak_a_value(row):
    if row["area_code"] == "0358" and row["indicator"] == "n_responses" and row["respondent_group"] == "ALL" \
            and row["care_type"] == "ALL":
        row.update(value="5")


def _unrounded_count(row):
    if row["area_code"] == "0363" and row["indicator"] == "n_responses" and row["respondent_group"] == "ALL" \
            and row["care_type"] == "ALL":
        row.update(n="52")


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (_undo_complement, ["only 0358 is suppressed, so it can be recovered by subtraction"]),
        # showing Aalsmeer breaks two rules: its n is small, and Amstelveen is now the only hidden cell
        (_show_small_cell, ["0358 n_responses ALL/ALL: shown with n below 10", "only 0362 is suppressed"]),
        (_leak_a_value, ["0358 n_responses ALL/ALL: suppressed but shows value"]),
        (_unrounded_count, ["0363 n_responses ALL/ALL: n is not rounded to a multiple of 5"]),
    ],
)
def test_the_checker_finds_a_tampered_file(con, tmp_path, tamper, expected):
    # Amsterdam 50, Amstelveen 12, Aalsmeer 5: Aalsmeer hidden, Amstelveen hidden as its complement.
    for code, count in {"0363": 50, "0362": 12, "0358": 5}.items():
        add_response(con, count=count, gemeentecode=code)
    build_indicators(con)
    export = write_ceo_outputs(con, 2025, tmp_path)
    assert verify_suppression(export.csv_path) == []
    _rewrite(export.csv_path, tamper)
    problems = verify_suppression(export.csv_path)
    # a figure changed in ALL/ALL alone also breaks its respondent-group and care-type equations
    assert all(any(text in problem for problem in problems) for text in expected), problems


def test_the_checker_finds_a_hidden_total_that_is_the_sum_of_shown_cells(con, tmp_path):
    for code, count in {"0363": 40, "0362": 20, "0384": 15, "0479": 5, "0439": 3}.items():
        add_response(con, count=count, gemeentecode=code)
    build_indicators(con)
    export = write_ceo_outputs(con, 2025, tmp_path)
    assert verify_suppression(export.csv_path) == []

    def show_aa_municipalities(row):
        if row["area_code"] == "0384" and row["indicator"] == "n_responses" \
                and row["respondent_group"] == "ALL" and row["care_type"] == "ALL":
            row.update(suppressed="false", n="15", value="15")

    _rewrite(export.csv_path, show_aa_municipalities)
    problems = verify_suppression(export.csv_path)
    assert any("gemeente breakdown of subregio AA" in p and "sum of its cells" in p for p in problems), problems


def test_nothing_is_published_when_the_figures_break_suppression(con, tmp_path):
    add_response(con, count=12)
    build_indicators(con)
    export = write_ceo_outputs(con, 2025, tmp_path)
    before = export.csv_path.read_bytes()
    con.execute("update marts.ceo_indicators set n = 6 where area_type = 'regio' and indicator = 'n_responses'")
    with pytest.raises(SuppressionError):
        write_ceo_outputs(con, 2025, tmp_path)
    assert export.csv_path.read_bytes() == before
    assert sorted(p.name for p in export.folder.iterdir()) == [  # no temp file left
        "aanbieders", "gemeenten", "indicatoren-2025.xlsx", "indicators.csv", "manifest.json", "report.html"]
    assert [p.name for p in export.folder.parent.iterdir()] == ["2025"]  # nor a half-built version beside it


def _outside_the_plotly_library(page: str) -> str:
    """The page without the inlined plotly.js bundle (the one very large script)."""
    return re.sub(r"<script[^>]*>(?:(?!</script>).){100000,}</script>", "", page, flags=re.S)


def test_report_is_self_contained_and_shows_no_suppressed_figure(con, tmp_path):
    # Aalsmeer 7 responses, q01 positive 3 -> 42.857 % (hidden, n < 10); Amstelveen 8, all positive (hidden);
    # Amsterdam 30, 15 positive -> 50.0 %; AA = region = 45 responses, 3 + 8 + 15 = 26 positive -> 57.8 %.
    add_answers(con, "q01", [5] * 3 + [1] * 4, gemeentecode="0358")
    add_answers(con, "q01", [5] * 8, gemeentecode="0362")
    add_answers(con, "q01", [4] * 15 + [2] * 15, gemeentecode="0363")
    build_indicators(con)
    # the warehouse does hold the hidden figure; the report must not
    assert base_figure(con, "pct_positive_q01", "gemeente", "0358")["value"] == pytest.approx(300 / 7)
    export = write_ceo_outputs(con, 2025, tmp_path)
    page = export.report_path.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, flags=re.I)  # nothing loaded from elsewhere
    assert "plotly" in page.lower() and len(page) > 1_000_000  # the library is inlined
    ours = _outside_the_plotly_library(page)
    assert len(ours) < len(page) / 5
    for hidden in ("42.9", "42,9", "42.85", "42,85"):  # Aalsmeer's hidden percentage, rounded or not
        assert hidden not in ours
    assert "57,8%" in ours  # the region's figure, in Dutch
    assert "niet getoond" in ours and "minder dan 10 waarnemingen" in ours  # the explanation
    aalsmeer = _outside_the_plotly_library((export.folder / "gemeenten" / "0358.html").read_text(encoding="utf-8"))
    amsterdam = _outside_the_plotly_library((export.folder / "gemeenten" / "0363.html").read_text(encoding="utf-8"))
    assert "50,0%" in amsterdam and "57,8%" in amsterdam  # Amsterdam beside its sub-region
    assert 'data-field="value">niet getoond<' in aalsmeer
    for hidden in ("42.9", "42,9", "42.85", "42,85"):
        assert hidden not in aalsmeer
    assert "http://" not in ours and "https://" not in ours
    assert "42,9" not in export.summary_markdown
    assert oct(export.report_path.stat().st_mode & 0o777) == "0o644"


# --------------------------------------------------------------------------------------------------
# the CBS extract


def cbs_fixture(con) -> None:
    """Half-year 2025-H1. Numbers are toewijzingnummers; provider A unless said otherwise."""
    # 101 ended 2025-03-15 as planned (31 -> 01). Parents answered 03-01 (8, 04) and 03-20 (6, 02): the later
    # counts; the youth 03-10 (9, 03) and 07-02 (outside the period).
    add_stop(con, toewijzingnummer=101, begindatum=date(2024, 5, 1), einddatum=date(2025, 3, 15), reden="31")
    add_response(con, toewijzingnummer=101, vragenlijst="OUDERS_EINDE", invuldatum=date(2025, 3, 1), q09=8, q10=4)
    add_response(con, toewijzingnummer=101, vragenlijst="OUDERS_EINDE", invuldatum=date(2025, 3, 20), q09=6, q10=2)
    add_response(con, toewijzingnummer=101, vragenlijst="JONGEREN_EINDE", invuldatum=date(2025, 3, 10), q09=9, q10=3)
    add_response(con, toewijzingnummer=101, vragenlijst="JONGEREN_EINDE", invuldatum=date(2025, 7, 2), q09=1, q10=1)
    # 102 ended (32 -> 03) but has no response of provider A; provider B's 102 is another trajectory
    add_stop(con, toewijzingnummer=102, einddatum=date(2025, 4, 1), reden="32")
    add_response(con, toewijzingnummer=102, aanbieder_agb=AGB_B, invuldatum=date(2025, 4, 1), q09=5, q10=1)
    # 103 ended with 36 (municipality): no end of care, not listed
    add_stop(con, toewijzingnummer=103, einddatum=date(2025, 5, 1), reden="36")
    add_response(con, toewijzingnummer=103, invuldatum=date(2025, 5, 1), q09=7, q10=3)
    # 104 long-term, running at the end of the period (its stop record says 2025-12-31), youth answered
    add_stop(con, toewijzingnummer=104, begindatum=date(2023, 1, 1), einddatum=date(2025, 12, 31), reden="31")
    add_response(con, toewijzingnummer=104, vragenlijst="JONGEREN_DUURZAAM", invuldatum=date(2025, 2, 1), q09=7, q10=1)
    # 105 long-term without any stop record: begin date unknown -> not listed, counted
    add_response(con, toewijzingnummer=105, vragenlijst="OUDERS_DUURZAAM", invuldatum=date(2025, 5, 5), q09=8, q10=2)
    # 106 provider B, ended 2025-06-30 (34 -> 02); the parent left q09 empty
    add_stop(con, toewijzingnummer=106, aanbieder_agb=AGB_B, begindatum=date(2025, 1, 15), einddatum=date(2025, 6, 30), reden="34")
    add_response(con, toewijzingnummer=106, aanbieder_agb=AGB_B, invuldatum=date(2025, 6, 30), q09=None, q10=3)
    # 107 ended in 2024-H2; its late response does not bring it into 2025-H1
    add_stop(con, toewijzingnummer=107, einddatum=date(2024, 12, 31), reden="31")
    add_response(con, toewijzingnummer=107, invuldatum=date(2025, 1, 5), q09=9, q10=4)
    # 108 long-term, ended in the period with 38 (other provider): neither ended with a category nor running
    add_stop(con, toewijzingnummer=108, begindatum=date(2024, 1, 1), einddatum=date(2025, 4, 4), reden="38")
    add_response(con, toewijzingnummer=108, vragenlijst="OUDERS_DUURZAAM", invuldatum=date(2025, 3, 3), q09=8, q10=4)
    # 109 not long-term, still running at the end of the period (ends 2025-08-01), answered an end-of-care
    # questionnaire early: only a long-term trajectory is listed while running
    add_stop(con, toewijzingnummer=109, begindatum=date(2025, 1, 1), einddatum=date(2025, 8, 1), reden="31")
    add_response(con, toewijzingnummer=109, vragenlijst="OUDERS_EINDE", invuldatum=date(2025, 6, 20), q09=8, q10=4)


def test_cbs_extract_rows(con):
    cbs_fixture(con)
    assert run(con, "cbs_outcome_extract", "2025-H1") == 3
    columns = [r[0] for r in con.execute("describe marts.cbs_outcome_extract").fetchall()]
    assert columns == ["period", *CBS_COLUMNS]
    rows = con.execute(
        f"select {', '.join(CBS_COLUMNS)} from marts.cbs_outcome_extract where period = '2025-H1' order by 1, 2"
    ).fetchall()
    assert rows == [
        (AGB_A, "101", "20240501", "20250315", "01", "9", "03", "6", "02"),
        (AGB_A, "104", "20230101", None, None, "7", "01", None, None),
        (AGB_B, "106", "20250115", "20250630", "02", None, None, None, "03"),
    ]
    assert run(con, "cbs_unlisted_trajectories", "2025-H1") == 2
    assert con.execute(
        "select aanbieder_agb, toewijzingnummer, reason from marts.cbs_unlisted_trajectories order by 2"
    ).fetchall() == [(AGB_A, "105", "begindatum_unknown"), (AGB_A, "108", "ended_without_cbs_category")]
    # 2024-H2: 107 ended then, but its only response is in 2025: no linked response in that period
    assert run(con, "cbs_outcome_extract", "2024-H2") == 0


def test_long_term_trajectories_take_their_begin_date_from_jw305_starts(con):
    """Half-year 2025-H1; every trajectory below has a DUURZAAM questionnaire in the period."""
    def duurzaam(number, agb=AGB_A, **answers):
        add_response(con, toewijzingnummer=number, aanbieder_agb=agb, vragenlijst="JONGEREN_DUURZAAM",
                     invuldatum=date(2025, 4, 1), **answers)

    # 201 started 2022-03-01 (JW305), no stop record: running, listed with empty end and reason
    add_start(con, toewijzingnummer=201, begindatum=date(2022, 3, 1))
    duurzaam(201, q09=8, q10=2)
    # 202 started, then ended in the period as planned: listed once, as ended
    add_start(con, toewijzingnummer=202, begindatum=date(2022, 5, 1))
    add_stop(con, toewijzingnummer=202, begindatum=date(2022, 5, 1), einddatum=date(2025, 5, 1), reden="31")
    duurzaam(202, q09=7, q10=3)
    # 203 start and a stop record of the same key ending after the period: listed once
    add_start(con, toewijzingnummer=203, begindatum=date(2023, 1, 1))
    add_stop(con, toewijzingnummer=203, begindatum=date(2023, 1, 1), einddatum=date(2025, 12, 31), reden="31")
    duurzaam(203, q09=6, q10=1)
    # 204 started 2024-02-01 and ended 2024-10-01: the questionnaire came after the end
    add_start(con, toewijzingnummer=204, begindatum=date(2024, 2, 1))
    add_stop(con, toewijzingnummer=204, begindatum=date(2024, 2, 1), einddatum=date(2024, 10, 1), reden="31")
    duurzaam(204, q09=9, q10=4)
    # 205 starts only after the period; 206 has no record at all
    add_start(con, toewijzingnummer=205, begindatum=date(2025, 8, 1))
    duurzaam(205, q09=8, q10=2)
    duurzaam(206, q09=8, q10=2)
    # 207 started, ended in the period with 38 (another provider): no end of care for CBS
    add_start(con, toewijzingnummer=207, begindatum=date(2021, 1, 1))
    add_stop(con, toewijzingnummer=207, begindatum=date(2021, 1, 1), einddatum=date(2025, 3, 1), reden="38")
    duurzaam(207, q09=5, q10=1)
    # 208 the start says 2023-03-01, the (later) stop record 2023-04-01 and runs on: the stop record decides
    add_start(con, toewijzingnummer=208, begindatum=date(2023, 3, 1))
    add_stop(con, toewijzingnummer=208, begindatum=date(2023, 4, 1), einddatum=date(2026, 1, 31), reden="31")
    duurzaam(208, q09=10, q10=4)
    # 209: provider B's start does not give provider A's 209 a begin date
    add_start(con, toewijzingnummer=209, aanbieder_agb=AGB_B, begindatum=date(2022, 1, 1))
    duurzaam(209, q09=8, q10=2)

    assert run(con, "cbs_outcome_extract", "2025-H1") == 4
    rows = con.execute(
        f"select {', '.join(CBS_COLUMNS)} from marts.cbs_outcome_extract where period = '2025-H1' order by 1, 2"
    ).fetchall()
    assert rows == [
        (AGB_A, "201", "20220301", None, None, "8", "02", None, None),
        (AGB_A, "202", "20220501", "20250501", "01", "7", "03", None, None),
        (AGB_A, "203", "20230101", None, None, "6", "01", None, None),
        (AGB_A, "208", "20230401", None, None, "10", "04", None, None),
    ]
    assert run(con, "cbs_unlisted_trajectories", "2025-H1") == 5
    assert con.execute(
        "select aanbieder_agb, toewijzingnummer, reason from marts.cbs_unlisted_trajectories order by 2"
    ).fetchall() == [
        (AGB_A, "204", "ended_before_period"),
        (AGB_A, "205", "begindatum_unknown"),
        (AGB_A, "206", "begindatum_unknown"),
        (AGB_A, "207", "ended_without_cbs_category"),
        (AGB_A, "209", "begindatum_unknown"),
    ]
    # in 2024-H2, 201 ran too, but its questionnaire is in 2025: nothing to list then
    assert run(con, "cbs_outcome_extract", "2024-H2") == 0


def test_cbs_files_manifest_modes_and_a_rerun_replacing_the_period(con, tmp_path):
    cbs_fixture(con)
    run(con, "cbs_outcome_extract", "2025-H1")
    export_dir = tmp_path / "exports"
    first = write_cbs_extract(con, "2025-H1", export_dir, "1.2.3")
    folder = export_dir / "cbs" / "2025-H1"
    assert first.folder == folder and first.files == {f"{AGB_A}.csv": 2, f"{AGB_B}.csv": 1} and first.total_rows == 3
    lines = (folder / f"{AGB_A}.csv").read_text(encoding="utf-8").splitlines()
    assert lines == [";".join(CBS_COLUMNS), f"{AGB_A};101;20240501;20250315;01;9;03;6;02", f"{AGB_A};104;20230101;;;7;01;;"]
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["period"] == "2025-H1" and manifest["pipeline_version"] == "1.2.3" and manifest["produced_at"]
    assert [(e["file"], e["rows"]) for e in manifest["files"]] == [(f"{AGB_A}.csv", 2), (f"{AGB_B}.csv", 1)]
    for entry in manifest["files"]:
        assert hashlib.sha256((folder / entry["file"]).read_bytes()).hexdigest() == entry["sha256"]
    for path in (folder / f"{AGB_A}.csv", folder / f"{AGB_B}.csv", folder / "manifest.json"):
        assert oct(path.stat().st_mode & 0o777) == "0o600", path
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    assert oct(folder.parent.stat().st_mode & 0o777) == "0o700"
    text = "".join(p.read_text(encoding="utf-8") for p in folder.iterdir())
    assert f"{1:064x}"[:20] not in text  # no pseudonym

    # a correction: provider B's record is gone; a stray file in the folder must not survive either
    (folder / "stray.csv").write_text("x")
    con.execute("delete from intermediate.cleaned_stop_zorg where aanbieder_agb = ?", [AGB_B])
    run(con, "cbs_outcome_extract", "2025-H1")
    second = write_cbs_extract(con, "2025-H1", export_dir, "1.2.4")
    assert sorted(p.name for p in folder.iterdir()) == [f"{AGB_A}.csv", "manifest.json", "versions"]
    assert sorted(p.name for p in (folder / "versions" / "1").iterdir()) == [f"{AGB_A}.csv", f"{AGB_B}.csv", "manifest.json"]
    assert second.files == {f"{AGB_A}.csv": 2} and second.version == 2 and second.correction
    assert sorted(p.name for p in folder.parent.iterdir()) == ["2025-H1"]  # no temporary folders left


def test_a_failed_build_leaves_the_published_period_untouched(tmp_path):
    target = tmp_path / "cbs" / "2025-H1"
    replace_directory(target, lambda d: (d / "a.csv").write_text("old"))

    def broken(folder: Path) -> None:
        (folder / "a.csv").write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        replace_directory(target, broken)
    assert [p.name for p in target.parent.iterdir()] == ["2025-H1"]
    assert (target / "a.csv").read_text() == "old"


def test_the_published_period_never_disappears_while_it_is_replaced(tmp_path, monkeypatch):
    import shutil

    import rmj_dagster.publish as publish

    target = tmp_path / "cbs" / "2025-H1"
    replace_directory(target, lambda d: (d / "a.csv").write_text("old"))
    seen = []

    def watched(function):
        def call(*args, **kwargs):
            seen.append((function.__name__, target.exists() and (target / "a.csv").exists()))
            return function(*args, **kwargs)
        return call

    monkeypatch.setattr(publish.os, "rename", watched(os.rename))
    monkeypatch.setattr(publish.shutil, "rmtree", watched(shutil.rmtree))
    replace_directory(target, lambda d: (d / "a.csv").write_text("new"))
    seen.append(("after", target.exists()))
    assert all(present for _, present in seen), seen  # readers always find a complete folder
    assert (target / "a.csv").read_text() == "new"
    assert [p.name for p in target.parent.iterdir()] == ["2025-H1"]
