"""Every codebook table in the warehouse equals its file, and a malformed file is refused, never loaded
empty or shifted (``quarantine_reasons.csv`` once loaded header-only because of a stray ``;``)."""

from __future__ import annotations

import csv

import pytest

from rmj_dagster import codebook, warehouse


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    path = tmp_path_factory.mktemp("codebook") / "w.duckdb"
    with warehouse.connect(path) as con:
        counts = codebook.load_into(con)
        tables = {name: (
            [d[0] for d in con.execute(f"select * from ref.{name} limit 0").description],
            con.execute(f"select * from ref.{name}").fetchall(),
        ) for name in codebook.TABLES}
    return counts, tables


def _as_text(value) -> str:
    if value is None:
        return ""
    return str(value).lower() if isinstance(value, bool) else str(value)


@pytest.mark.parametrize("name", codebook.TABLES)
def test_every_codebook_table_equals_its_file(loaded, name):
    counts, tables = loaded
    with codebook.path(name).open(encoding="utf-8", newline="") as handle:
        file_rows = list(csv.reader(handle, delimiter=";"))
    header, rows = file_rows[0], file_rows[1:]
    columns, stored = tables[name]
    assert columns == header
    assert counts[name] == len(stored) == len(rows) > 0
    assert [[_as_text(v) for v in row] for row in stored] == rows


def test_the_quarantine_reasons_are_all_loaded(loaded):
    _, tables = loaded
    codes = {row[0] for row in tables["quarantine_reasons"][1]}
    assert {"identifier_in_field", "unknown_kind", "empty_file"} <= codes


@pytest.mark.parametrize(
    "text",
    [
        "reason_code;description\na;one\nb;two; with a stray separator\n",  # an extra field
        "reason_code;description\na;one\nb\n",  # a missing field
        "reason_code;description\n",  # header only
    ],
)
def test_a_malformed_codebook_file_is_refused(tmp_path, monkeypatch, text):
    bad = tmp_path / "quarantine_reasons.csv"
    bad.write_text(text, encoding="utf-8")
    real = codebook.path
    monkeypatch.setattr(codebook, "path", lambda name: bad if name == "quarantine_reasons" else real(name))
    codebook.rows.cache_clear()
    try:
        with pytest.raises(codebook.CodebookError), warehouse.connect(tmp_path / "w.duckdb") as con:
            codebook.load_into(con)
    finally:
        codebook.rows.cache_clear()
