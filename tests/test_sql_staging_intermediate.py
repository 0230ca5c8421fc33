"""Staging and intermediate SQL models on hand-built pseudo rows: what a user of the tables checks.

One warehouse is built for the module: every scenario is its own delivery (or its own toewijzingnummer),
the staging and intermediate models run once in layer order, and each test looks at its own rows.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from rmj_dagster import codebook, warehouse
from rmj_dagster.privacy import identifiers
from rmj_dagster.warehouse import sql_models
from tests.sql_fixtures import OTHER_PSEUDONYM, insert_delivery, make_warehouse, run_models

TOMORROW = (date.today() + timedelta(days=1)).isoformat()
KINDS = ("responses", "stop_zorg", "goals", "start_zorg")
STAGING = {"responses": "staging.stg_responses", "stop_zorg": "staging.stg_stop_zorg", "goals": "staging.stg_goals",
           "start_zorg": "staging.stg_start_zorg"}
REASONS = [r["reason_code"] for r in codebook.rows("reject_reasons")]  # the CSV order = the precedence
APPLIES = {r["reason_code"]: set(r["applies_to"].split(",")) for r in codebook.rows("reject_reasons")}
IDENTITY_CODES = ["identity_missing", "bsn_invalid_format", "bsn_elfproef", "pseudoniem_invalid"]
BSN_LIKE = "111222333"  # 9 digits passing the 11-proef


# ---------------------------------------------------------------------------------------------------
# Reason-code cases: each delivery holds a clean control row (source_row 1) and the planted row(s).

@dataclass
class Case:
    kind: str
    code: str
    rows: list[dict]
    expect: dict[int, str]  # planted row number (1-based) -> reason code
    detail: str | None = None  # expected reject_detail of the first planted row (None: not checked)

    @property
    def delivery(self) -> str:
        return f"{self.kind}-{self.code}"


def _identity_cases() -> list[Case]:
    return [
        Case(kind, code, [{"pseudoniem": None, "id_status": code}], {1: code})
        for kind in KINDS
        for code in IDENTITY_CODES
    ]


def _common_cases() -> list[Case]:
    cases = []
    for kind in KINDS:
        cases += [
            # the TTP step emptied a field that held an identifier and named it: the row is rejected first
            Case(kind, "identifier_in_field", [{"toewijzingnummer": None, "identifier_in_field": "toewijzingnummer"}],
                 {1: "identifier_in_field"}, "toewijzingnummer"),
            Case(kind, "agb_invalid", [{"aanbieder_agb": "1234567"}], {1: "agb_invalid"}, "aanbieder_agb: not an agb code"),
            Case(kind, "gemeentecode_unknown", [{"gemeentecode": "9999"}], {1: "gemeentecode_unknown"}, "gemeentecode: not a CBS municipality"),
            Case(kind, "gemeentecode_out_of_region", [{"gemeentecode": "GM0599"}], {1: "gemeentecode_out_of_region"}, "gemeentecode: not in the region"),
            Case(kind, "toewijzingnummer_invalid", [{"toewijzingnummer": "1000000000"}], {1: "toewijzingnummer_invalid"}, "toewijzingnummer: out of range"),
            Case(kind, "exact_duplicate", [{"toewijzingnummer": "77"}, {"toewijzingnummer": "77"}], {1: None, 2: "exact_duplicate"}),
        ]
    return cases


CASES: list[Case] = _identity_cases() + _common_cases() + [
    # cem
    Case("responses", "birthdate_invalid", [{"geboortedatum": None}], {1: "birthdate_invalid"}, "geboortedatum"),
    Case("responses", "date_invalid", [{"invuldatum": "2025-02-30"}], {1: "date_invalid"}, "invuldatum"),
    Case("responses", "date_in_future", [{"invuldatum": TOMORROW}], {1: "date_in_future"}, "invuldatum"),
    Case("responses", "date_before_birth", [{"geboortedatum": "2025-03-01", "invuldatum": "2025-02-20"}], {1: "date_before_birth"}, "invuldatum"),
    Case("responses", "vragenlijst_unknown", [{"vragenlijst": "OUDERS_TUSSEN"}], {1: "vragenlijst_unknown"}, "vragenlijst: not a code"),
    Case("responses", "version_age_mismatch", [{"vragenlijst": "OUDERS_EINDE", "geboortedatum": "2005-01-01"}], {1: "version_age_mismatch"}, "vragenlijst=OUDERS_EINDE, leeftijd=20"),
    Case("responses", "answer_out_of_range", [{"q03": "7"}], {1: "answer_out_of_range"}, "q03: not an answer code"),
    # stop-zorg
    Case("stop_zorg", "birthdate_invalid", [{"geboortedatum": None}], {1: "birthdate_invalid"}, "geboortedatum"),
    Case("stop_zorg", "date_invalid", [{"einddatum": "31-02-2025"}], {1: "date_invalid"}, "einddatum"),
    Case("stop_zorg", "date_in_future", [{"einddatum": TOMORROW}], {1: "date_in_future"}, "einddatum"),
    Case("stop_zorg", "date_before_birth", [{"geboortedatum": "2024-10-01"}], {1: "date_before_birth"}, "begindatum"),
    Case("stop_zorg", "end_before_begin", [{"einddatum": "2024-08-31"}], {1: "end_before_begin"}, "einddatum"),
    Case("stop_zorg", "reden_beeindiging_unknown", [{"reden_beeindiging": "99"}], {1: "reden_beeindiging_unknown"}, "reden_beeindiging: not a code"),
    Case("stop_zorg", "status_aanlevering_invalid", [{"status_aanlevering": "4"}], {1: "status_aanlevering_invalid"}, "status_aanlevering: out of range"),
    # start-zorg (JW305)
    Case("start_zorg", "birthdate_invalid", [{"geboortedatum": None}], {1: "birthdate_invalid"}, "geboortedatum"),
    Case("start_zorg", "date_invalid", [{"begindatum": "2024-02-30"}], {1: "date_invalid"}, "begindatum"),
    Case("start_zorg", "date_in_future", [{"begindatum": TOMORROW}], {1: "date_in_future"}, "begindatum"),
    Case("start_zorg", "date_before_birth", [{"geboortedatum": "2024-10-01"}], {1: "date_before_birth"}, "begindatum"),
    Case("start_zorg", "status_aanlevering_invalid", [{"status_aanlevering": "0"}], {1: "status_aanlevering_invalid"}, "status_aanlevering: out of range"),
    # doelrealisatie
    Case("goals", "date_invalid", [{"meetdatum": "2025-13-01"}], {1: "date_invalid"}, "meetdatum"),
    Case("goals", "date_in_future", [{"meetdatum": TOMORROW}], {1: "date_in_future"}, "meetdatum"),
    Case("goals", "trajecttype_unknown", [{"trajecttype": "KORT"}], {1: "trajecttype_unknown"}, "trajecttype: not a code"),
    Case("goals", "doel_nr_invalid", [{"doel_nr": "0"}], {1: "doel_nr_invalid"}, "doel_nr: out of range"),
    Case("goals", "gas_score_out_of_range", [{"gas_score": "3"}], {1: "gas_score_out_of_range"}, "gas_score: out of range"),
    Case("goals", "gewicht_invalid", [{"gewicht": "-1"}], {1: "gewicht_invalid"}, "gewicht: out of range"),
    Case("goals", "probleemafname_out_of_range", [{"probleemafname": "4"}], {1: "probleemafname_out_of_range"}, "probleemafname: out of range"),
    Case(
        "goals", "probleemafname_inconsistent",
        [{"doel_nr": "1", "probleemafname": "1"}, {"doel_nr": "2", "probleemafname": "3"}],
        {1: "probleemafname_inconsistent", 2: "probleemafname_inconsistent"},
    ),
]

# More cases that are not one-defect-per-code, each in its own delivery: (delivery, kind, rows).
EXTRA_DELIVERIES = {
    # two defects: the earlier code of reject_reasons.csv wins
    "two-defects-cem": ("responses", [{"gemeentecode": "9999", "q03": "7"}]),
    "two-defects-stop": ("stop_zorg", [{"einddatum": "2024-08-31", "reden_beeindiging": "99"}]),
    "two-defects-doel": ("goals", [{"gas_score": "5", "gewicht": "0"}]),
    # a copy of a bad row carries the bad row's reason, not exact_duplicate
    "bad-copy": ("responses", [{"q01": "6"}, {"q01": "6"}]),
    # several bad answers, a non-numeric one, a bad yes/no and a BSN-like value: all named, the BSN never shown
    "answers": ("responses", [
        {"q01": "0", "q05": "x", "q09": "11", "q10": "5", "geen_inzage_hulpverlener": "misschien"},
        {"toewijzingnummer": "2", "q02": BSN_LIKE},
        {"toewijzingnummer": "3", "q10": "9"},  # 9 is "don't know" only for q01-q08
    ]),
    # an inconsistent measurement only counts rows that pass the other checks
    "inconsistent-partly": ("goals", [
        {"toewijzingnummer": "88", "doel_nr": "1", "probleemafname": "2"},
        {"toewijzingnummer": "88", "doel_nr": "2", "probleemafname": "3", "gas_score": "9"},
        {"toewijzingnummer": "88", "doel_nr": "3", "probleemafname": None},
    ]),
    # a delete needs no end date or reason; a first delivery does
    "delete-without-end": ("stop_zorg", [
        {"toewijzingnummer": "91", "status_aanlevering": "3", "einddatum": None, "reden_beeindiging": None},
        {"toewijzingnummer": "92", "status_aanlevering": "1", "einddatum": None},
        {"toewijzingnummer": "93", "status_aanlevering": None, "reden_beeindiging": None},
    ]),
    # unknown BSN: accepted without pseudonym
    "unknown-id-cem": ("responses", [{"pseudoniem": None, "id_status": "unknown"}]),
    "unknown-id-stop": ("stop_zorg", [{"pseudoniem": None, "id_status": "unknown", "toewijzingnummer": "94"}]),
    "unknown-id-doel": ("goals", [{"pseudoniem": None, "id_status": "unknown", "toewijzingnummer": "95"}]),
}

BOOLEANS = {"1": True, "0": False, "ja": True, "Nee": False, "TRUE": True, "false": False, "j": True, "n": False, "yes": True, "No": False, None: False, "": False}

# ---------------------------------------------------------------------------------------------------
# Scenarios over several deliveries (cleaned tables). Times are received_at.

T1, T2, T3 = "2025-03-01 09:00", "2025-04-01 09:00", "2025-05-01 09:00"


def _typing_rows() -> dict[str, tuple[str, list[dict]]]:
    cem = [
        {"toewijzingnummer": "0000123", "gemeentecode": "GM363", "invuldatum": "20250220",
         "q01": "9", "q02": "", "q03": "05", "q09": "10", "q10": "01"},
        *({"toewijzingnummer": str(500 + i), "geen_inzage_hulpverlener": v} for i, v in enumerate(BOOLEANS)),
        # day of birth unknown (YYYYMM00) and the birth month: 11 or 12, 15 or 16 -- both versions may fit
        {"toewijzingnummer": "610", "geboortedatum": "20120300", "invuldatum": "2024-03-15", "vragenlijst": "JONGEREN_EINDE"},
        {"toewijzingnummer": "611", "geboortedatum": "20080300", "invuldatum": "2024-03-15", "vragenlijst": "OUDERS_EINDE"},
        {"toewijzingnummer": "612", "geboortedatum": "20080200", "invuldatum": "2024-03-15", "vragenlijst": "OUDERS_EINDE"},
        {"toewijzingnummer": "600", "gemeentecode": "0370", "vragenlijst": "OUDERS_EINDE", "invuldatum": "31-12-2021"},
        {"toewijzingnummer": "601", "gemeentecode": "0370", "vragenlijst": "OUDERS_EINDE", "invuldatum": "2022-01-01"},
    ]
    stop = [
        {"toewijzingnummer": "700", "status_aanlevering": "", "reden_beeindiging": "2", "productcategorie": " 45 "},
        {"toewijzingnummer": "701", "gemeentecode": "0370", "begindatum": "2021-01-01", "einddatum": "2021-06-30"},
    ]
    doel = [
        {"toewijzingnummer": "800", "doel_nr": "1", "gas_score": "+1", "gewicht": "1,5", "probleemafname": ""},
        {"toewijzingnummer": "800", "doel_nr": "2", "gas_score": "-2", "gewicht": "2", "probleemafname": ""},
    ]
    return {"typing-cem": ("responses", cem), "typing-stop": ("stop_zorg", stop), "typing-doel": ("goals", doel)}


def _scenario_deliveries() -> list[tuple[str, str, str, list[dict]]]:
    """(delivery_id, kind, received_at, rows) of the multi-delivery scenarios."""
    stop_a = [
        {"toewijzingnummer": "3001", "reden_beeindiging": "31"},
        {"toewijzingnummer": "3002", "reden_beeindiging": "31"},
        {"toewijzingnummer": "3003", "reden_beeindiging": "31"},
        {"toewijzingnummer": "3004", "reden_beeindiging": "31"},
        {"toewijzingnummer": "3004", "status_aanlevering": "3", "einddatum": None, "reden_beeindiging": None},
        {"toewijzingnummer": "3006", "status_aanlevering": "3", "einddatum": None, "reden_beeindiging": None},
    ]
    stop_b = [
        {"toewijzingnummer": "3001", "status_aanlevering": "2", "reden_beeindiging": "32", "einddatum": "2025-04-01"},
        {"toewijzingnummer": "3002", "status_aanlevering": "3", "einddatum": None, "reden_beeindiging": None},
        {"toewijzingnummer": "3003", "status_aanlevering": "1", "reden_beeindiging": "34"},
        {"toewijzingnummer": "3006", "status_aanlevering": "1", "reden_beeindiging": "35"},
    ]
    cem_a = [
        {"toewijzingnummer": "4001", "q09": "5"},
        {"toewijzingnummer": "4002", "pseudoniem": None, "id_status": "unknown", "q09": "6"},
        {"toewijzingnummer": "4002", "pseudoniem": None, "id_status": "unknown", "q09": "7"},
        {"toewijzingnummer": "4002", "pseudoniem": None, "id_status": "unknown", "q09": "6"},  # exact copy of row 2
        {"toewijzingnummer": "4003", "q09": "8"},
        {"toewijzingnummer": "4003", "q09": "8"},  # exact copy: counted once
        {"toewijzingnummer": "4004", "q09": "4"},
        {"toewijzingnummer": "4004", "q09": "3", "pseudoniem": OTHER_PSEUDONYM},
    ]
    cem_b = [
        {"toewijzingnummer": "4001", "q09": "9"},
        {"toewijzingnummer": "4002", "pseudoniem": None, "id_status": "unknown", "q09": "6"},
    ]
    goals = {
        # T = 56.20: two goals, weight 1, scores +1 and 0 (outputs.md)
        "5001": [{"doel_nr": "1", "gas_score": "+1"}, {"doel_nr": "2", "gas_score": "0"}],
        # weighted: w = 2, 1, 1.5 (decimal comma), x = +2, -1, 0
        "5002": [{"doel_nr": "1", "gas_score": "+2", "gewicht": "2"}, {"doel_nr": "2", "gas_score": "-1", "gewicht": "1"},
                 {"doel_nr": "3", "gas_score": "0", "gewicht": "1,5"}],
        "5003": [{"doel_nr": "1", "gas_score": "-1", "probleemafname": "2"}, {"doel_nr": "2", "gas_score": "0", "probleemafname": "2"}],
        "5004": [{"doel_nr": "1", "gas_score": "0", "probleemafname": None}],
        "5005": [{"doel_nr": str(i), "gas_score": "-2"} for i in (1, 2, 3)],
    }
    goals_a = [g | {"toewijzingnummer": n} for n, rows in goals.items() for g in rows]
    goals_a += [{"toewijzingnummer": "5006", "pseudoniem": None, "id_status": "unknown", "gas_score": "1"}]
    goals_b = [{"toewijzingnummer": "5005", "doel_nr": "1", "gas_score": "2"}, {"toewijzingnummer": "5005", "doel_nr": "2", "gas_score": "2"}]
    goals_b += [{"toewijzingnummer": "5006", "pseudoniem": None, "id_status": "unknown", "gas_score": "1"}]
    outcomes_stop = [
        {"toewijzingnummer": "6001", "reden_beeindiging": "32", "einddatum": "2024-06-01", "begindatum": "2024-01-01"},
        {"toewijzingnummer": "6002", "reden_beeindiging": "36", "einddatum": "2024-06-01", "begindatum": "2024-01-01"},
        {"toewijzingnummer": "6003", "reden_beeindiging": "31", "einddatum": "2024-06-01", "begindatum": "2024-01-01"},
        {"toewijzingnummer": "6004", "reden_beeindiging": "31", "einddatum": "2024-06-01", "begindatum": "2024-01-01"},
        {"toewijzingnummer": "6005", "reden_beeindiging": "31", "einddatum": "2024-06-01", "begindatum": "2024-01-01"},
    ]
    end = date(2024, 6, 1)
    outcomes_cem = [  # OUDERS: the youth is 11 or 12 then
        {"toewijzingnummer": "6001", "vragenlijst": "OUDERS_EINDE", "invuldatum": (end + timedelta(days=90)).isoformat()},  # inside the window
        {"toewijzingnummer": "6002", "vragenlijst": "OUDERS_EINDE", "invuldatum": (end - timedelta(days=91)).isoformat()},  # one day outside
        {"toewijzingnummer": "6003", "invuldatum": end.isoformat(), "vragenlijst": "OUDERS_DUURZAAM"},  # not EINDE
        {"toewijzingnummer": "6004", "vragenlijst": "OUDERS_EINDE", "invuldatum": end.isoformat(), "aanbieder_agb": "87654321"},  # other provider
        {"toewijzingnummer": "6005", "vragenlijst": "OUDERS_EINDE", "invuldatum": (end - timedelta(days=90)).isoformat()},  # inside, before the end
    ]
    return [
        ("stop-a", "stop_zorg", T1, stop_a),
        ("stop-b", "stop_zorg", T2, stop_b),
        # received later although its id sorts first: received_at decides, not the id
        ("0-stop-late", "stop_zorg", T3, [{"toewijzingnummer": "3005", "reden_beeindiging": "33"}]),
        ("z-stop-early", "stop_zorg", T1, [{"toewijzingnummer": "3005", "reden_beeindiging": "31"}]),
        ("responses-a", "responses", T1, cem_a),
        ("responses-b", "responses", T2, cem_b),
        ("goals-a", "goals", T1, goals_a),
        ("goals-b", "goals", T2, goals_b),
        ("outcomes-stop", "stop_zorg", T1, outcomes_stop),
        ("outcomes-cem", "responses", T1, outcomes_cem),
        ("start-a", "start_zorg", T1, [{"toewijzingnummer": n} for n in ("7001", "7002", "7003")]),
        ("start-b", "start_zorg", T2, [
            {"toewijzingnummer": "7001", "status_aanlevering": "3"},  # withdrawn
            {"toewijzingnummer": "7002", "status_aanlevering": "2", "productcode": "45A02"},  # changed
            {"toewijzingnummer": "7004", "begindatum": "20230115"},  # another date format, first delivery
        ]),
    ]


CONTROL = {"toewijzingnummer": "2002"}


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = make_warehouse(tmp_path_factory.mktemp("sql"))
    with warehouse.connect(path) as con:
        for case in CASES:
            insert_delivery(con, case.delivery, case.kind, T1, [CONTROL, *case.rows])
        for delivery, (kind, rows) in {**EXTRA_DELIVERIES, **_typing_rows()}.items():
            insert_delivery(con, delivery, kind, T1, rows)
        for delivery, kind, received, rows in _scenario_deliveries():
            insert_delivery(con, delivery, kind, received, rows)
        insert_delivery(con, "miscounted", "responses", T1, [{}], rows_read=2)
        insert_delivery(con, "quarantined", "responses", T1, [], status="quarantined", rows_read=None)
        run_models(con)
    return path


@pytest.fixture
def con(db):
    with warehouse.connect(db, read_only=True) as connection:
        yield connection


def staged(con, kind: str, delivery: str) -> dict[int, tuple[str | None, str | None]]:
    rows = con.execute(
        f"select source_row, reject_reason, reject_detail from {STAGING[kind]} where delivery_id = ?", [delivery]
    ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


# ---------------------------------------------------------------------------------------------------
# The model files themselves

MODEL_UPSTREAM = {
    "stg_responses": {"audit.deliveries", "pseudo.responses", "ref.gemeenten", "ref.region", "ref.vragenlijsten"},
    "stg_stop_zorg": {"audit.deliveries", "pseudo.stop_zorg", "ref.gemeenten", "ref.region"},
    "stg_goals": {"audit.deliveries", "pseudo.goals", "ref.gemeenten", "ref.region"},
    "stg_start_zorg": {"audit.deliveries", "pseudo.start_zorg", "ref.gemeenten", "ref.region"},
    "cleaned_start_zorg": {"staging.stg_start_zorg"},
    "cleaned_responses": {"staging.stg_responses"},
    "cleaned_stop_zorg": {"staging.stg_stop_zorg", "ref.reden_beeindiging"},
    "cleaned_goals": {"staging.stg_goals"},
    "gas_scores": {"intermediate.cleaned_goals"},
    "rejected_rows": {"staging.stg_responses", "staging.stg_stop_zorg", "staging.stg_goals", "staging.stg_start_zorg"},
    "delivery_reconciliation": {"audit.deliveries", "audit.file_receipts", "staging.stg_responses", "staging.stg_stop_zorg",
                                "staging.stg_goals", "staging.stg_start_zorg"},
    "trajectory_outcomes": {"intermediate.cleaned_stop_zorg", "intermediate.cleaned_responses"},
}


@pytest.mark.parametrize("name", sorted(MODEL_UPSTREAM))
def test_model_reads_the_tables_it_depends_on(name):
    assert set(sql_models.model(name).upstream_tables) == MODEL_UPSTREAM[name]


def _code_text(sql: str) -> str:
    """The SQL without comments and string literals."""
    without_comments = "\n".join(line.split("--")[0] for line in sql.splitlines())
    return re.sub(r"'[^']*'", "''", without_comments)


@pytest.mark.parametrize("name", sorted(MODEL_UPSTREAM))
def test_model_is_one_lower_case_select_with_a_description(name):
    model = sql_models.model(name)
    assert model.sql.startswith("-- ")
    summary = model.description.splitlines()[0]
    assert 20 < len(summary) < 130 and len(model.description.splitlines()) >= 2
    code = _code_text(model.sql)
    assert code == code.lower(), "SQL outside literals and comments is lower case"
    assert ";" not in code
    assert re.match(r"\s*(with|select)\b", code)


def _with_shared_checks(sql: str) -> str:
    """The model's SQL with each shared check macro's body written where the model calls it."""
    bodies = dict(re.findall(r"create or replace temp macro (\w+)\([^)]*\) as(.*?);\n", warehouse.macros_sql(), re.S))
    for name in ("rmj_delivery_rejection", "rmj_exact_duplicate"):
        sql = sql.replace(f"{name}(", f"{bodies[name]}(")
    return sql


@pytest.mark.parametrize("kind", KINDS)
def test_reason_checks_are_written_in_the_order_of_reject_reasons_csv(kind):
    sql = _with_shared_checks(sql_models.model(STAGING[kind].split(".")[1]).sql)
    code_sql = "\n".join(line.split("--")[0] for line in sql.splitlines())
    first_seen = {}
    for match in re.finditer(r"'([a-z_]+)'", code_sql):
        if match.group(1) in REASONS:
            first_seen.setdefault(match.group(1), match.start())
    applicable = [c for c in REASONS if kind in APPLIES[c] and c not in IDENTITY_CODES]
    assert sorted(first_seen, key=first_seen.get) == applicable  # every code of this kind, in CSV order, nothing else
    identity_branch = re.search(r"then \{'reason': (\w\.)?id_status", code_sql)
    assert identity_branch and identity_branch.start() < min(first_seen.values()), "identity codes come first"


def test_every_reason_code_has_a_planted_case():
    planted = {(c.kind, c.code) for c in CASES}
    expected = {(k, code) for code in REASONS for k in APPLIES[code]}
    assert planted == expected


# ---------------------------------------------------------------------------------------------------
# Staging

@pytest.mark.parametrize("case", CASES, ids=lambda c: c.delivery)
def test_planted_defect_gets_its_reason_and_the_clean_row_is_accepted(con, case):
    rows = staged(con, case.kind, case.delivery)
    assert rows[1] == (None, None), "the control row is accepted"
    for planted, code in case.expect.items():
        assert rows[planted + 1][0] == code
    if case.detail is not None:
        assert rows[2][1] == case.detail


def test_staging_holds_every_pseudo_row_once(con):
    for kind, table in STAGING.items():
        pseudo = {"responses": "pseudo.responses", "stop_zorg": "pseudo.stop_zorg", "goals": "pseudo.goals",
                  "start_zorg": "pseudo.start_zorg"}[kind]
        n_pseudo = con.execute(f"select count(*) from {pseudo}").fetchone()[0]
        n_staged, n_keys = con.execute(f"select count(*), count(distinct (delivery_id, source_row)) from {table}").fetchone()
        assert n_staged == n_keys == n_pseudo > 10


def test_staging_emits_only_codebook_reasons_for_its_kind(con):
    for kind, table in STAGING.items():
        emitted = con.execute(f"select count(distinct reject_reason) from {table}").fetchone()[0]
        foreign = con.execute(
            f"select distinct s.reject_reason from {table} as s "
            "anti join ref.reject_reasons as r "
            "on r.reason_code = s.reject_reason and list_contains(string_split(r.applies_to, ','), ?) "
            "where s.reject_reason is not null",
            [kind],
        ).fetchall()
        assert emitted > 5 and foreign == [], (kind, foreign)


def test_the_first_failing_check_in_csv_order_wins(con):
    assert staged(con, "responses", "two-defects-cem")[1][0] == "gemeentecode_unknown"
    assert staged(con, "stop_zorg", "two-defects-stop")[1][0] == "end_before_begin"
    assert staged(con, "goals", "two-defects-doel")[1][0] == "gas_score_out_of_range"


def test_a_copy_of_a_bad_row_carries_the_bad_rows_reason(con):
    assert staged(con, "responses", "bad-copy") == {1: ("answer_out_of_range", "q01: not an answer code"), 2: ("answer_out_of_range", "q01: not an answer code")}


def test_answer_detail_names_every_bad_item_but_never_an_identifier(con):
    rows = staged(con, "responses", "answers")
    assert rows[1] == ("answer_out_of_range", "q01: not an answer code, q05: not an answer code, q09: not an answer code, "
                       "q10: not an answer code, geen_inzage_hulpverlener: not yes or no")
    assert rows[2] == ("answer_out_of_range", "q02: not an answer code")
    assert rows[3] == ("answer_out_of_range", "q10: not an answer code")
    assert identifiers.bsn_candidates_in_table(con, "intermediate.rejected_rows") == {}
    assert con.execute("select count(*) from intermediate.rejected_rows where reason_detail like ?", [f"%{BSN_LIKE}%"]).fetchone()[0] == 0


def test_inconsistent_probleemafname_only_among_rows_that_pass_other_checks(con):
    rows = staged(con, "goals", "inconsistent-partly")
    # row 2 fails on its gas_score, so rows 1 (score 2) and 3 (no score) agree: accepted
    assert [rows[i][0] for i in (1, 2, 3)] == [None, "gas_score_out_of_range", None]
    assert staged(con, "goals", "goals-probleemafname_inconsistent")[2][1] == "probleemafname from 1 to 3"


def test_a_delete_needs_no_end_date_or_reason_but_a_first_delivery_does(con):
    rows = staged(con, "stop_zorg", "delete-without-end")
    assert rows == {1: (None, None), 2: ("date_invalid", "einddatum"), 3: ("reden_beeindiging_unknown", "reden_beeindiging: missing")}


def test_unknown_bsn_rows_are_accepted_without_pseudonym(con):
    for kind, delivery in (("responses", "unknown-id-cem"), ("stop_zorg", "unknown-id-stop"), ("goals", "unknown-id-doel")):
        assert con.execute(
            f"select reject_reason, pseudoniem, id_status from {STAGING[kind]} where delivery_id = ?", [delivery]
        ).fetchall() == [(None, None, "unknown")]


def test_accepted_rows_are_typed(con):
    row = con.execute(
        "select reject_reason, gemeentecode, subregio, toewijzingnummer, invuldatum, q01, q02, q03, q09, q10, "
        "respondent_group, care_type from staging.stg_responses where delivery_id = 'typing-cem' and source_row = 1"
    ).fetchone()
    assert row == (None, "0363", "AA", 123, date(2025, 2, 20), 9, None, 5, 10, 1, "JONGEREN", "EINDE")

    stop = con.execute(
        "select reject_reason, status_aanlevering, reden_beeindiging, productcategorie, begindatum "
        "from staging.stg_stop_zorg where delivery_id = 'typing-stop' and source_row = 1"
    ).fetchone()
    assert stop == (None, 1, "02", "45", date(2024, 9, 1))

    goals = con.execute(
        "select reject_reason, gas_score, gewicht, probleemafname from staging.stg_goals "
        "where delivery_id = 'typing-doel' order by source_row"
    ).fetchall()
    assert goals == [(None, 1, 1.5, None), (None, -2, 2.0, None)]
    assert con.execute("select gewicht from staging.stg_goals where delivery_id = 'goals-agb_invalid' and source_row = 1").fetchone() == (1.0,)


def test_yes_no_spellings_and_empty_means_no(con):
    got = dict(
        con.execute(
            "select source_row, geen_inzage_hulpverlener from staging.stg_responses "
            "where delivery_id = 'typing-cem' and source_row between 2 and ? and reject_reason is null",
            [1 + len(BOOLEANS)],
        ).fetchall()
    )
    assert got == {i + 2: expected for i, expected in enumerate(BOOLEANS.values())}


def test_age_with_unknown_day_of_birth_is_judged_leniently(con):
    rows = dict(
        con.execute(
            "select toewijzingnummer, reject_reason from staging.stg_responses "
            "where delivery_id = 'typing-cem' and toewijzingnummer between 610 and 612"
        ).fetchall()
    )
    # born in March 2012 / 2008, answered 15 March 2024: possibly 12 / possibly 15; born February 2008: 16 for sure
    assert rows == {610: None, 611: None, 612: "version_age_mismatch"}


def test_beemster_0370_counts_as_purmerend_before_2022_only(con):
    cem = con.execute(
        "select source_row, reject_reason, gemeentecode, subregio from staging.stg_responses "
        "where delivery_id = 'typing-cem' and toewijzingnummer in (600, 601) order by source_row"
    ).fetchall()
    assert [r[1:] for r in cem] == [(None, "0439", "ZW"), ("gemeentecode_unknown", "0370", None)]
    stop = con.execute(
        "select reject_reason, gemeentecode, subregio from staging.stg_stop_zorg where delivery_id = 'typing-stop' and source_row = 2"
    ).fetchone()
    assert stop == (None, "0439", "ZW")


# ---------------------------------------------------------------------------------------------------
# Intermediate

def test_stop_records_status_2_replaces_3_deletes_and_later_delivery_wins(con):
    records = {
        r[0]: r[1:]
        for r in con.execute(
            "select toewijzingnummer, delivery_id, reden_beeindiging, einddatum, cbs_categorie, is_uitval "
            "from intermediate.cleaned_stop_zorg where toewijzingnummer between 3001 and 3006"
        ).fetchall()
    }
    assert records[3001] == ("stop-b", "32", date(2025, 4, 1), "03", True)  # status 2 replaced reden 31
    assert 3002 not in records  # deleted by a later delivery
    assert records[3003][:2] == ("stop-b", "34")  # a later first delivery also wins
    assert 3004 not in records  # deleted later in the same delivery
    assert records[3005][:2] == ("0-stop-late", "33")  # received later wins, whatever the id
    assert records[3006][:2] == ("stop-b", "35")  # a record after a delete brings the trajectory back
    assert con.execute("select count(*) from intermediate.cleaned_stop_zorg group by aanbieder_agb, toewijzingnummer, begindatum order by 1 desc limit 1").fetchone() == (1,)


def test_start_records_status_2_replaces_3_deletes(con):
    records = {
        r[0]: r[1:]
        for r in con.execute(
            "select toewijzingnummer, delivery_id, productcode, begindatum from intermediate.cleaned_start_zorg "
            "where toewijzingnummer between 7001 and 7004"
        ).fetchall()
    }
    assert records == {
        7002: ("start-b", "45A02", date(2024, 9, 1)),
        7003: ("start-a", "45A01", date(2024, 9, 1)),
        7004: ("start-b", "45A01", date(2023, 1, 15)),
    }


def test_responses_later_delivery_wins_and_exact_duplicates_count_once(con):
    def q09s(number):
        return sorted(
            r for r in con.execute(
                "select q09, delivery_id from intermediate.cleaned_responses where toewijzingnummer = ?", [number]
            ).fetchall()
        )

    assert q09s(4001) == [(9, "responses-b")]
    assert q09s(4003) == [(8, "responses-a")]
    assert staged(con, "responses", "responses-a")[6] == ("exact_duplicate", "copy of row 5")
    assert q09s(4004) == [(3, "responses-a"), (4, "responses-a")]  # two youths: two responses


def test_unknown_bsn_responses_are_never_collapsed(con):
    # cem-a rows 2 and 3 (different answers) and cem-b row 2 (same content as cem-a row 2): three responses;
    # cem-a row 4 is an exact copy of row 2 within its delivery: counted once
    rows = sorted(con.execute("select q09, delivery_id, pseudoniem from intermediate.cleaned_responses where toewijzingnummer = 4002").fetchall())
    assert rows == [(6, "responses-a", None), (6, "responses-b", None), (7, "responses-a", None)]
    assert staged(con, "responses", "responses-a")[4] == ("exact_duplicate", "copy of row 2")


def test_cleaned_tables_carry_key_label(con):
    for table in ("cleaned_responses", "cleaned_stop_zorg", "cleaned_goals"):
        assert con.execute(f"select count(*), count(key_label) from intermediate.{table}").fetchone()[0] > 0
        assert con.execute(f"select count(*) from intermediate.{table} where key_label is distinct from 'test-key'").fetchone() == (0,)


def _gas(con, number):
    return con.execute(
        "select n_goals, gas_t, goal_attained, probleemafname, problem_decreased from intermediate.gas_scores where toewijzingnummer = ?",
        [number],
    ).fetchall()


def test_gas_t_score_of_the_outputs_example_is_56_20(con):
    [(n_goals, gas_t, attained, afname, decreased)] = _gas(con, 5001)
    assert (n_goals, round(gas_t, 2), attained, afname, decreased) == (2, 56.20, True, 3, True)


def test_weighted_gas_t_score_worked_by_hand(con):
    # sum(w*x) = 2*2 + 1*(-1) + 1.5*0 = 3; sum(w^2) = 4 + 1 + 2.25 = 7.25; sum(w) = 4.5 -> (sum w)^2 = 20.25
    # T = 50 + 10*3 / sqrt(0.7*7.25 + 0.3*20.25) = 50 + 30 / sqrt(11.15) = 50 + 8.984 = 58.98
    [(n_goals, gas_t, attained, _, _)] = _gas(con, 5002)
    assert (n_goals, round(gas_t, 2), attained) == (3, 58.98, True)
    assert gas_t == pytest.approx(50 + 30 / math.sqrt(11.15))


def test_goal_not_attained_and_problem_decrease_flags(con):
    [(_, gas_t, attained, afname, decreased)] = _gas(con, 5003)
    assert (round(gas_t, 2), attained, afname, decreased) == (43.80, False, 2, False)
    [(_, gas_t, attained, afname, decreased)] = _gas(con, 5004)
    assert (gas_t, attained, afname, decreased) == (50.0, True, None, None)


def test_a_later_delivery_replaces_a_whole_measurement(con):
    assert con.execute("select count(*), min(delivery_id), sum(gas_score) from intermediate.cleaned_goals where toewijzingnummer = 5005").fetchone() == (2, "goals-b", 4)
    [(n_goals, gas_t, attained, _, _)] = _gas(con, 5005)
    assert (n_goals, attained) == (2, True) and gas_t > 60


def test_unknown_bsn_measurements_of_different_deliveries_stay_apart(con):
    assert len(_gas(con, 5006)) == 2


@pytest.mark.parametrize(
    ("number", "cbs", "counts", "uitval", "answered"),
    [
        (6001, "03", True, True, True),  # 32: uitval; EINDE questionnaire 90 days after the end
        (6002, None, False, False, False),  # 36: administrative, not an end of care; questionnaire 91 days before
        (6003, "01", True, False, False),  # 31; only a DUURZAAM questionnaire
        (6004, "01", True, False, False),  # questionnaire of another provider
        (6005, "01", True, False, True),  # questionnaire 90 days before the end
    ],
)
def test_trajectory_outcomes_per_jz588_code_and_end_response(con, number, cbs, counts, uitval, answered):
    assert set(staged(con, "responses", "outcomes-cem").values()) == {(None, None)}, "every questionnaire is accepted"
    row = con.execute(
        "select cbs_categorie, counts_as_end, is_uitval, has_end_response from intermediate.trajectory_outcomes where toewijzingnummer = ?",
        [number],
    ).fetchall()
    assert row == [(cbs, counts, uitval, answered)]


def test_rejected_rows_hold_every_rejection_and_no_identifier(con):
    columns = [c for c, _ in warehouse.column_schema(con, "intermediate.rejected_rows")]
    assert columns == ["kind", "delivery_id", "source_row", "reason_code", "reason_detail"]
    for kind, table in STAGING.items():
        staged_rejections = con.execute(f"select count(*) from {table} where reject_reason is not null").fetchone()[0]
        listed = con.execute("select count(*) from intermediate.rejected_rows where kind = ?", [kind]).fetchone()[0]
        assert listed == staged_rejections > 0
    assert con.execute(
        "select reason_code, reason_detail from intermediate.rejected_rows where delivery_id = 'responses-answer_out_of_range'"
    ).fetchall() == [("answer_out_of_range", "q03: not an answer code")]


def test_every_delivery_reconciles_and_shows_where_its_rows_went(con):
    recon = {r[0]: r[1:] for r in con.execute("select delivery_id, kind, rows_read, rows_accepted, rows_rejected, reconciled from intermediate.delivery_reconciliation").fetchall()}
    assert recon["quarantined"][1:] == (0, 0, 0, True)  # nothing read; the file is kept whole in quarantine
    assert recon["responses-exact_duplicate"] == ("responses", 3, 2, 1, True)
    assert recon["responses-a"] == ("responses", 8, 6, 2, True)
    assert recon["miscounted"] == ("responses", 2, 1, 0, False)
    assert all(r[-1] for d, r in recon.items() if d != "miscounted")
    assert len(recon) == con.execute("select count(*) from audit.deliveries").fetchone()[0]
    by_reason = dict(con.execute(
        "select delivery_id, rejected_by_reason from intermediate.delivery_reconciliation").fetchall())
    assert by_reason["responses-exact_duplicate"] == "exact_duplicate=1"
    assert by_reason["responses-b"] is None


def test_codebook_csv_order_is_what_the_tests_assume():
    with codebook.path("reject_reasons").open(encoding="utf-8", newline="") as handle:
        order = [r["reason_code"] for r in csv.DictReader(handle, delimiter=";")]
    assert order == REASONS and order[:4] == IDENTITY_CODES and order[-1] == "exact_duplicate"
