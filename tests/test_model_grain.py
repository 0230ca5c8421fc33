"""Every SQL model declares its grain; the generated check fails on a duplicate key or a NULL key column."""

from __future__ import annotations

import dagster as dg

from rmj_dagster import checks, warehouse
from rmj_dagster.resources import Warehouse
from rmj_dagster.warehouse import sql_models


def test_every_model_declares_a_grain_of_columns_it_has():
    for model in sql_models.discover():
        assert model.grain, f"{model.name} has no '-- grain:' header"
        assert "grain:" not in model.description, model.name


def test_the_grain_header_marks_nullable_columns():
    model = sql_models.model("cleaned_responses")
    assert [(c.name, c.nullable) for c in model.grain][:2] == [("aanbieder_agb", False), ("pseudoniem", True)]


def _check_on(tmp_path, rows_sql: str, partition_key: str | None = None) -> dg.AssetCheckResult:
    path = tmp_path / "w.duckdb"
    with warehouse.connect(path) as con:
        con.execute(f"create or replace table intermediate.cleaned_stop_zorg as {rows_sql}")
    check = next(c for c in checks.all_checks() if any(
        s.name == "grain_holds" and s.asset_key.path[-1] == "cleaned_stop_zorg" for s in c.check_specs))
    assert next(iter(check.check_specs)).blocking
    return check(dg.build_asset_check_context(), warehouse=Warehouse(database=str(path)))


def test_the_generated_check_passes_on_one_row_per_key(tmp_path):
    result = _check_on(tmp_path, "select * from (values ('12345678', '1', date '2025-01-01'), "
                                 "('12345678', '2', date '2025-01-01')) t(aanbieder_agb, toewijzingnummer, begindatum)")
    assert result.passed and result.metadata["duplicate_keys"].value == 0


def test_the_generated_check_fails_on_a_duplicate_key_and_a_null(tmp_path):
    result = _check_on(tmp_path, "select * from (values ('12345678', '1', date '2025-01-01'), "
                                 "('12345678', '1', date '2025-01-01'), ('12345678', null, date '2025-02-01')) "
                                 "t(aanbieder_agb, toewijzingnummer, begindatum)")
    assert not result.passed
    assert result.metadata["duplicate_keys"].value == 1 and result.metadata["null_toewijzingnummer"].value == 1


def test_nullable_key_columns_compare_like_a_unique_constraint(tmp_path):
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        con.execute("create table intermediate.gas_scores as select * from (values "
                    "('12345678', null, '1', date '2025-01-01'), ('12345678', null, '1', date '2025-01-01'), "
                    "('12345678', 'p', '1', date '2025-01-01'), ('12345678', 'p', '1', date '2025-01-01')) "
                    "t(aanbieder_agb, pseudoniem, toewijzingnummer, meetdatum)")
        found = sql_models.grain_violations(con, sql_models.model("gas_scores"))
    assert found == {"duplicate_keys": 1, "null_aanbieder_agb": 0, "null_toewijzingnummer": 0, "null_meetdatum": 0}
