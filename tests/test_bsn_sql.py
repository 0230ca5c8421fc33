"""The TTP step judges identities in DuckDB; the BSN rules and the keyed pseudonym also live in Python
(``bsn.py``, ``pseudonym.py``: the generator, the scans, a TTP's pre-pseudonymised files). Both forms must
give the same answer for every delivered text, or one youth would get two pseudonyms."""

from __future__ import annotations

import duckdb
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from rmj_dagster.ttp.bsn import UNKNOWN_BSNS, normalise_bsn, passes_elfproef, stripped_sql
from rmj_dagster.ttp.pseudonym import PseudonymKey, is_pseudonym, pseudonym
from rmj_dagster.ttp.pseudonymise import identities_sql

KEY = PseudonymKey(b"test-key-0123456789abcdef0123456789abcdef", "test")


def expected(raw: str | None, column: str, key: PseudonymKey) -> tuple[str | None, str, str | None]:
    """(pseudoniem, id_status, bsn9) by the Python rules."""
    if raw is None or not raw.strip():
        return None, "identity_missing", None
    if column == "pseudoniem":
        return (raw.strip(), "ok", None) if is_pseudonym(raw.strip()) else (None, "pseudoniem_invalid", None)
    bsn = normalise_bsn(raw)
    if bsn is None:
        return None, "bsn_invalid_format", None
    if bsn in UNKNOWN_BSNS:
        return None, "unknown", None
    if not passes_elfproef(bsn):
        return None, "bsn_elfproef", None
    return pseudonym(bsn, key.secret), "ok", bsn


def judged_in_sql(values: list[str | None], column: str, key: PseudonymKey) -> dict[str | None, tuple]:
    delivered = pa.table({"raw": pa.array(list(dict.fromkeys(values)), pa.string())})  # noqa: F841 -- replacement scan
    sql, parameters = identities_sql(column, key, "delivered")
    with duckdb.connect() as con:
        return {raw: rest for raw, *rest in con.execute(f"select raw, pseudoniem, id_status, bsn9 from ({sql})", parameters).fetchall()}


def test_sql_strips_exactly_what_python_strips_for_every_code_point():
    characters = [chr(i) for i in range(0x110000) if not 0xD800 <= i < 0xE000]
    texts = pa.table({"t": [f"{c}1{c}" for c in characters]})  # noqa: F841 -- replacement scan
    with duckdb.connect() as con:
        stripped = [r[0] for r in con.execute(f"select {stripped_sql('t')} from texts").fetchall()]
    assert [i for i, (c, s) in enumerate(zip(characters, stripped, strict=True)) if s != f"{c}1{c}".strip()] == []


SPELLINGS = [
    None, "", "   ", "\t", "123456782", " 123456782 ", "\u00a0123456782\u2003", "\t123456782\n", "12345672", "012345672",
    "123456782.0", "12345672.0", "123456789", "999999999", "000000000", "99999999", "140", "12AB", "12 345 678",
    "123 456 782", "123.456.782", "BSN 123456782", "١٢٣٤٥٦٧٨٢", "１２３４５６７８２", "1234567820", ".0", "+12345678",
    "000000012", "00000001.0", "123456782\u200b",
]


def test_every_spelling_is_judged_in_sql_as_the_python_rules_judge_it():
    got = judged_in_sql(SPELLINGS, "bsn", KEY)
    assert {raw: tuple(got[raw]) for raw in SPELLINGS} == {raw: expected(raw, "bsn", KEY) for raw in SPELLINGS}
    assert {got[raw][1] for raw in SPELLINGS} == {"ok", "identity_missing", "bsn_invalid_format", "unknown", "bsn_elfproef"}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(
    st.none(),
    st.text(alphabet=st.sampled_from("0123456789 .\t\u00a0\u2003١x-"), max_size=13),
    st.integers(0, 999_999_999).map(lambda n: f"{n:09d}"),
    st.integers(0, 99_999_999).map(str),
), max_size=40))
def test_any_delivered_text_is_judged_in_sql_as_in_python(values):
    got = judged_in_sql(values, "bsn", KEY)
    assert {raw: tuple(got[raw]) for raw in values} == {raw: expected(raw, "bsn", KEY) for raw in values}


def test_pre_pseudonymised_values_are_judged_in_sql_as_in_python():
    good = pseudonym("123456782", KEY.secret)
    values = [good, f"  {good}\t", good.upper(), good[:-1], f"{good}0", "", None, "x" * 64]
    got = judged_in_sql(values, "pseudoniem", KEY)
    assert {raw: tuple(got[raw]) for raw in values} == {raw: expected(raw, "pseudoniem", KEY) for raw in values}


@given(st.binary(min_size=1, max_size=200), st.integers(0, 999_999_999))
@settings(max_examples=50, deadline=None)
def test_the_keyed_pseudonym_in_sql_is_the_hmac_for_any_key_length(secret, number):
    key = PseudonymKey(secret, "k")
    bsn = f"{number:09d}"
    sql, parameters = key.sql("?")
    with duckdb.connect() as con:
        assert con.execute(f"select {sql}", [*parameters, bsn]).fetchone()[0] == key.pseudonym(bsn) == pseudonym(bsn, secret)
