"""The Great Expectations suites as the checks run them: rows read as Arrow, validated in GX's worker
process (``rmj process``) or in the step's own process (daemon runs), with the same outcome."""

from __future__ import annotations

import duckdb
import pytest

from rmj_dagster.quality import expectations

_COLUMNS = ("aanbieder_agb varchar, pseudoniem varchar, gemeentecode varchar, vragenlijst varchar, invuldatum date, "
            "respondent_group varchar, care_type varchar, " + ", ".join(f"q{i:02d} integer" for i in range(1, 11)))
_GOOD = ("'12345678', repeat('a', 64), '0363', 'OUDERS_EINDE', date '2025-03-01', 'OUDERS', 'EINDE', "
         "4, 5, null, 9, 3, 2, 1, 5, 8, 4")  # a question left open (null) is allowed


def _rows(*values: str):
    con = duckdb.connect()
    con.execute(f"create table r ({_COLUMNS})")
    for row in values:
        con.execute(f"insert into r values ({row})")
    return con.sql("select * from r").to_arrow_table()


@pytest.fixture(scope="module")
def worker():
    return expectations.import_in_background()


@pytest.mark.parametrize(("planted", "expectation", "column"), [
    (_GOOD.replace(", 4, 5, null", ", 7, 5, null"), "expect_column_values_to_be_in_set", "q01"),  # not an answer
    (_GOOD.replace("'0363'", "'0999'"), "expect_column_values_to_be_in_set", "gemeentecode"),  # not in the region
    (_GOOD.replace("date '2025-03-01'", "null"), "expect_column_values_to_not_be_null", "invuldatum"),
    (_GOOD.replace("repeat('a', 64)", "'123456782'"), "expect_column_values_to_match_regex", "pseudoniem"),
])
def test_a_planted_row_fails_the_cleaned_responses_suite_in_the_worker_and_here(worker, planted, expectation, column):
    rows = _rows(_GOOD, _GOOD, planted)
    here = expectations._validate(rows, "cleaned_responses", expectations.cleaned_responses_expectations)
    there = expectations.validate(rows, "cleaned_responses", expectations.cleaned_responses_expectations)
    assert worker.is_alive()
    assert not here.success
    assert here.failures == [{"expectation": expectation, "column": column, "unexpected_count": 1}]
    assert there == here


def test_good_rows_pass_in_the_worker_and_here(worker):
    rows = _rows(_GOOD, _GOOD.replace("'OUDERS_EINDE'", "'JONGEREN_EINDE'"))
    there = expectations.validate(rows, "cleaned_responses", expectations.cleaned_responses_expectations)
    suite = expectations.cleaned_responses_expectations(expectations._import_gx())  # the real GX
    assert there.success and there.failures == [] and there.evaluated == len(suite) > 0
    worker.join(timeout=1.0)  # the worker gives the suite's memory back after answering: it lives on
    assert worker.is_alive()
    assert there == expectations._validate(rows, "cleaned_responses", expectations.cleaned_responses_expectations)


def test_a_row_wise_suite_in_slices_finds_what_one_validation_finds():
    """Planted rows in different slices: the sliced outcome names each failing expectation once, with the
    unexpected rows of every slice added up, as one validation of all rows does."""
    bad_answer = _GOOD.replace(", 4, 5, null", ", 7, 5, null")
    no_date = _GOOD.replace("date '2025-03-01'", "null")
    rows = _rows(bad_answer, _GOOD, _GOOD, bad_answer, _GOOD, no_date, bad_answer)
    whole = expectations._validate(rows, "cleaned_responses", expectations.cleaned_responses_expectations, chunk_rows=len(rows))
    sliced = expectations._validate(rows, "cleaned_responses", expectations.cleaned_responses_expectations, chunk_rows=2)
    assert sorted(whole.failures, key=str) == [
        {"expectation": "expect_column_values_to_be_in_set", "column": "q01", "unexpected_count": 3},
        {"expectation": "expect_column_values_to_not_be_null", "column": "invuldatum", "unexpected_count": 1},
    ]
    assert (sliced.success, sliced.evaluated, sorted(sliced.failures, key=str)) == (whole.success, whole.evaluated, sorted(whole.failures, key=str))


def test_the_outcome_of_several_periods_names_the_period_of_each_failure():
    """The CBS check validates each half-year of a range on its own: a failure keeps its period, and the same
    expectation failing in two periods is two findings, not one sum."""
    unique = {"expectation": "expect_compound_columns_to_be_unique", "column": ["aanbieder_agb", "toewijzingnummer", "datum_aanvang"]}
    first = expectations.Outcome(False, 11, [unique | {"unexpected_count": 2}]).labelled(period="2025-H1")
    second = expectations.Outcome(False, 11, [unique | {"unexpected_count": 4}]).labelled(period="2025-H2")
    fine = expectations.Outcome(True, 11, []).labelled(period="2024-H2")
    combined = expectations.merged([first, fine, second])
    assert (combined.success, combined.evaluated) == (False, 11)
    assert combined.failures == [{"period": "2025-H1"} | unique | {"unexpected_count": 2},
                                 {"period": "2025-H2"} | unique | {"unexpected_count": 4}]
    assert expectations.merged([fine]).success


def test_a_suite_that_needs_every_row_at_once_is_never_sliced():
    """The CBS suite holds a trajectory unique in its period: a duplicate split over two slices is still found."""
    con = duckdb.connect()
    row = "'12345678', '1001', '20250101', '20250301', '01', '8', '03', '7', '02'"
    con.execute(f"create table r as select * from (values ({row}), ({row})) t({', '.join(expectations.CBS_COLUMNS)})")
    rows = con.sql("select * from r").to_arrow_table()
    outcome = expectations._validate(rows, "cbs_outcome_extract", expectations.cbs_extract_expectations, chunk_rows=1)
    assert not outcome.success
    assert outcome.failures == [{"expectation": "expect_compound_columns_to_be_unique",
                                 "column": ["aanbieder_agb", "toewijzingnummer", "datum_aanvang"], "unexpected_count": 2}]


_COMMAND = """
import duckdb
from rmj_dagster.quality import expectations

if __name__ == "__main__":
    worker = expectations.import_in_background()
    rows = duckdb.connect().sql("select {good} from range(3)").to_arrow_table()
    rows = rows.rename_columns([c.split()[0] for c in {columns!r}.split(", ")])
    print(expectations.validate(rows, "cleaned_responses", expectations.cleaned_responses_expectations).success)
    expectations._stop_worker()  # what the command's exit runs
    print(worker.exitcode)
"""


def test_the_worker_validates_for_a_command_and_leaves_cleanly_when_it_ends(tmp_path):
    """As under ``rmj``: a script that starts the worker (spawned: it imports the script as its main
    module), validates there and ends; the worker ends with it, cleanly (no leaked semaphores reported)."""
    import subprocess
    import sys

    script = tmp_path / "command.py"
    script.write_text(_COMMAND.format(good=_GOOD, columns=_COLUMNS), encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True", "0"]
    assert "leaked" not in done.stderr and "Traceback" not in done.stderr
