"""Nothing derivable under 10: an attacker with only the published files finds no small group of hidden people.

Two years of a region with a few large and many small municipalities, three providers, both respondent
groups and care types, built straight into the intermediate tables (tests/mart_fixtures.py) and published
as the product does (``write_indicators_csv``, with its blocking check). The attacker
(tests/disclosure_attacker.py) reads the two ``indicators.csv`` files and nothing else.
"""

from __future__ import annotations

import random
from datetime import date

import pytest

from rmj_dagster import codebook
from rmj_dagster.publish.ceo_files import verify_suppression, write_indicators_csv
from tests import mart_fixtures as mf
from tests.disclosure_attacker import _wilson, attack

AGB_C = "11223344"
LARGE = {"0363", "0479", "0439", "0362"}  # Amsterdam, Zaanstad, Purmerend, Amstelveen


def _small_region(con, seed: int) -> None:
    """Responses, ends of care and goal measurements for 2024 and 2025: small towns hold 0-12 of each."""
    rng = random.Random(seed)
    towns = [r["gemeentecode"] for r in codebook.rows("region") if r["gemeentecode"] == r["reported_as"]]
    responses, outcomes, measurements = [], [], []
    for year in (2024, 2025):
        for town in towns:
            size = rng.randint(25, 60) if town in LARGE else rng.randint(0, 12)
            subregio = mf.subregio_of(town)
            for _ in range(size):
                serial = next(mf._serial)
                group, care = rng.choice(["OUDERS", "JONGEREN"]), rng.choice(["EINDE", "EINDE", "DUURZAAM"])
                answers = {f"q{i:02d}": rng.choice([1, 2, 3, 4, 4, 5, 5, 9, None]) for i in range(1, 9)}
                responses.append({
                    "delivery_id": "d1", "aanbieder_agb": rng.choice([mf.AGB_A, mf.AGB_A, mf.AGB_B, AGB_C]),
                    "pseudoniem": f"{serial:064x}", "key_label": "test", "gemeentecode": town, "subregio": subregio,
                    "toewijzingnummer": serial, "vragenlijst": f"{group}_{care}", "respondent_group": group,
                    "care_type": care, "invuldatum": date(year, rng.randint(1, 12), 1), "leeftijd": 14,
                    "q09": rng.choice([None, *range(3, 11)]), "q10": rng.choice([None, 1, 2, 3, 4]), **answers,
                })
            for _ in range(size if town in LARGE else rng.randint(0, 12)):
                reden = rng.choice(["31", "31", "32", "34", "33"])
                outcome = {k: v for k, v in mf.reason(reden).items() if k != "reden_beeindiging"}
                outcomes.append({
                    "delivery_id": "d2", "aanbieder_agb": rng.choice([mf.AGB_A, mf.AGB_B, AGB_C]),
                    "toewijzingnummer": next(mf._serial), "begindatum": date(year - 1, 6, 1), "gemeentecode": town,
                    "subregio": subregio, "einddatum": date(year, rng.randint(1, 12), 1),
                    "has_end_response": rng.random() < 0.4, **outcome,
                })
            for _ in range(size if town in LARGE else rng.randint(0, 12)):
                gas_t = round(rng.uniform(30, 70), 2)
                score = rng.choice([None, 1, 2, 3])
                measurements.append({
                    "delivery_id": "d3", "aanbieder_agb": rng.choice([mf.AGB_A, mf.AGB_B, AGB_C]),
                    "pseudoniem": f"{next(mf._serial):064x}", "toewijzingnummer": next(mf._serial),
                    "gemeentecode": town, "subregio": subregio, "trajecttype": "PERSPECTIEF",
                    "meetdatum": date(year, rng.randint(1, 12), 1), "n_goals": 2, "gas_t": gas_t,
                    "goal_attained": gas_t >= 50, "probleemafname": score,
                    "problem_decreased": None if score is None else score == 3,
                })
    mf._insert(con, "intermediate.cleaned_responses", responses)
    mf._insert(con, "intermediate.trajectory_outcomes", outcomes)
    mf._insert(con, "intermediate.gas_scores", measurements)


@pytest.mark.parametrize("seed", [23, 6])
def test_no_group_under_the_threshold_can_be_derived_from_the_published_files(tmp_path, seed):
    with mf.mart_warehouse(tmp_path) as con:
        _small_region(con, seed)
        mf.run(con, "indicator_observations")
        for year in (2024, 2025):
            mf.run(con, "indicator_base", str(year))
            mf.run(con, "ceo_indicators", str(year))
        published = []
        for year in (2024, 2025):
            target = tmp_path / "ceo" / str(year) / "indicators.csv"
            target.parent.mkdir(parents=True)
            write_indicators_csv(con, year, target)
            published.append(target)

    groups, stats = attack(published)
    # the attack itself works: most shown percentages give their exact n away, so the n behind a hidden group
    # is known to the person whenever the group can be formed at all
    assert stats["exact"] > 0.8 * stats["percentages"], stats
    assert stats["hidden"] > 50, stats
    threshold = codebook.parameter("suppression_min_n")
    shown = [f"{sorted(g.cells)} holds {g.low:g}-{g.high:g} ({g.how})" for g in groups[:5]]
    assert not groups, f"{len(groups)} group(s) of hidden figures under {threshold:g} can be derived, e.g. {shown}"
    for path in published:
        assert verify_suppression(path) == []


def _row(code: str, area_type: str, n: int | None, k: int = 0) -> dict:
    """One published pct_uitval row as the product writes it (n rounded, value and interval at one decimal)."""
    row = {"year": "2025", "area_type": area_type, "area_code": code, "area_name": code, "respondent_group": "ALL",
           "care_type": "ALL", "indicator": "pct_uitval", "n": "", "value": "", "ci_low": "", "ci_high": "",
           "suppressed": "true"}
    if n is not None:
        base = codebook.parameter("count_rounding_base")
        low, high = _wilson(k, n, codebook.parameter("wilson_z"))
        row |= {"n": str(int(round(n / base) * base)), "value": f"{100 * k / n:.1f}", "ci_low": f"{low:.1f}",
                "ci_high": f"{high:.1f}", "suppressed": "false"}
    return row


def test_the_published_file_check_refuses_a_hidden_group_under_the_threshold(tmp_path):
    """Amsterdam-Amstelland 52, Amsterdam 44 shown: Aalsmeer and Amstelveen, both hidden, hold 8 together.
    Two hidden cells satisfy complementary suppression; the file check still refuses the file."""
    rows = [_row("AA", "subregio", 52, 13), _row("0363", "gemeente", 44, 11), _row("0358", "gemeente", None),
            _row("0362", "gemeente", None)]
    path = tmp_path / "indicators.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(";".join(rows[0]) + "\n" + "".join(";".join(r.values()) + "\n" for r in rows))
    violations = verify_suppression(path)
    assert len(violations) == 1, violations
    assert "0358" in violations[0] and "0362" in violations[0] and "fewer than 10" in violations[0]
    groups, _ = attack([path])
    assert [sorted(k[3] for k in g.cells) for g in groups] == [["0358", "0362"]]
    assert (groups[0].low, groups[0].high) == (8, 8)
