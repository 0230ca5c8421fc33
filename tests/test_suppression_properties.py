"""Suppression against an attacker, on random tables (hypothesis).

Random numbers of responses per municipality x provider x questionnaire go through the real indicator
SQL and the real file writer. Either the file is published, and then it passes the verifier and an
attacker written here independently learns nothing: one who knows every shown n *exactly* (not rounded)
and solves all the equations of the table at once by linear algebra, not one subtraction at a time. Or
publication is refused and nothing is written. On tiny tables where the cell-by-cell rule of the SQL is
not enough the second happens; on the demo's tables it does not (see docs/privacy.md).
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from rmj_dagster import codebook
from rmj_dagster.publish.ceo_files import SuppressionError, verify_suppression, write_ceo_outputs
from rmj_dagster.publish.figures import read_published
from tests.hypothesis_profiles import examples
from tests.mart_fixtures import AGB_A, AGB_B, add_response, build_indicators, mart_warehouse

MUNICIPALITIES = ("0363", "0362", "0384", "0479", "0439")  # three of AA, two of ZW
QUESTIONNAIRES = ("OUDERS_EINDE", "JONGEREN_EINDE", "OUDERS_DUURZAAM", "JONGEREN_DUURZAAM")
THRESHOLD = codebook.parameter("suppression_min_n")

cell_counts = st.dictionaries(
    st.tuples(st.sampled_from(MUNICIPALITIES), st.sampled_from((AGB_A, AGB_B)), st.sampled_from(QUESTIONNAIRES)),
    st.integers(min_value=1, max_value=14),
    min_size=1,
    max_size=12,
)


def _key(row: dict[str, str]) -> tuple[str, ...]:
    return (row["area_type"], row["area_code"], row["respondent_group"], row["care_type"])


def _equations(keys: set[tuple]) -> list[tuple[tuple, list[tuple]]]:
    """(total, cells) for every breakdown of n_responses, built here independently of the product."""
    subregio = {r["gemeentecode"]: r["subregio"] for r in codebook.rows("region")}
    breakdowns: dict[tuple, list[tuple]] = defaultdict(list)
    for key in keys:
        area_type, code, group, care = key
        if area_type == "gemeente":
            breakdowns[(("subregio", subregio[code], group, care), "gemeente")].append(key)
        elif area_type in ("subregio", "aanbieder"):
            breakdowns[(("regio", "RMJ", group, care), area_type)].append(key)
        if group != "ALL":
            breakdowns[((area_type, code, "ALL", care), "group")].append(key)
        if care != "ALL":
            breakdowns[((area_type, code, group, "ALL"), "care")].append(key)
    return [(total, cells) for (total, _), cells in breakdowns.items() if total in keys]


def _determined(hidden: list[tuple], equations, exact_n: dict[tuple, int]) -> list[tuple]:
    """The hidden cells whose n follows from the shown ones: e_i lies in the row space of the system."""
    if not hidden:
        return []
    column = {key: i for i, key in enumerate(hidden)}
    rows = []
    for total, cells in equations:
        row = np.zeros(len(hidden))
        for key, sign in [(total, 1.0)] + [(c, -1.0) for c in cells]:
            if key in column:
                row[column[key]] += sign
        if row.any():
            rows.append(row)
    if not rows:
        return []
    system = np.array(rows)
    rank = np.linalg.matrix_rank(system)
    return [key for key, i in column.items()
            if np.linalg.matrix_rank(np.vstack([system, np.eye(len(hidden))[i]])) == rank]


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cell_counts)
def test_no_hidden_count_can_be_worked_out(counts):
    with tempfile.TemporaryDirectory() as folder, mart_warehouse(Path(folder)) as con:
        for (gemeentecode, agb, vragenlijst), count in counts.items():
            add_response(con, count=count, gemeentecode=gemeentecode, aanbieder_agb=agb, vragenlijst=vragenlijst)
        build_indicators(con)
        try:
            export = write_ceo_outputs(con, 2025, Path(folder) / "exports")
        except SuppressionError as refusal:
            event("publication refused")
            assert "can be worked out" in str(refusal)
            assert not any((Path(folder) / "exports").rglob("*.csv")), "a refused file was left behind"
            return
        event("published")
        assert verify_suppression(export.csv_path) == []

        exact_n = {
            (a, c, g, k): n
            for a, c, g, k, n in con.execute(
                "select area_type, area_code, respondent_group, care_type, n from marts.indicator_base "
                "where indicator = 'n_responses' and year = 2025"
            ).fetchall()
        }
        published = {_key(r): r for r in read_published(export.csv_path) if r["indicator"] == "n_responses"}
        assert set(published) == set(exact_n)
        hidden = [k for k, r in published.items() if r["suppressed"] == "true"]
        assert all(exact_n[k] >= THRESHOLD for k, r in published.items() if r["suppressed"] == "false")
        small = [k for k in hidden if exact_n[k] < THRESHOLD]
        leaked = set(_determined(hidden, _equations(set(published)), exact_n)) & set(small)
        assert not leaked, {k: exact_n[k] for k in leaked}
