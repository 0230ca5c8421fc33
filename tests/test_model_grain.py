"""Every SQL model declares its grain; the generated check fails on a duplicate key or a NULL key column."""

from __future__ import annotations

import dagster as dg
import pytest

from rmj_dagster import warehouse
from rmj_dagster.assets.asset_keys import asset_key
from rmj_dagster.assets.sql_assets import build_sql_assets, grain_result
from rmj_dagster.warehouse import sql_models


def test_every_model_declares_a_grain_of_columns_it_has():
    for model in sql_models.discover():
        assert model.grain, f"{model.name} has no '-- grain:' header"
        assert "grain:" not in model.description, model.name


def test_the_grain_header_marks_nullable_columns():
    model = sql_models.model("cleaned_responses")
    assert [(c.name, c.nullable) for c in model.grain][:2] == [("aanbieder_agb", False), ("pseudoniem", True)]


def _check_on(tmp_path, rows_sql: str, partition_key: str | None = None) -> dg.AssetCheckResult:
    """The check as the model's own step reports it (the step verifies the rows it just wrote)."""
    model = sql_models.model("cleaned_stop_zorg")
    asset = next(a for a in build_sql_assets("models") if a.key == asset_key("cleaned_stop_zorg"))
    assert next(s for s in asset.check_specs if s.name == "grain_holds").blocking
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        con.execute(f"create or replace table intermediate.cleaned_stop_zorg as {rows_sql}")
        return grain_result(con, asset.key, model)


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


def test_upstream_tables_are_the_tables_the_select_reads_not_its_ctes_history_or_own_table(tmp_path):
    """What makes a model's dependencies: every schema-qualified table in the SELECT, however deep (a join, a
    subquery, a CTE's body), without the CTEs' names, the ``-- history:`` record and the model's own table."""
    from rmj_dagster.warehouse.sql_models import SqlModel

    sql = """-- history: audit.kept
with staging as (select * from staging.stg_a where x = $param), other as (select 1 as y)
select s.*, o.y from staging as s
join intermediate.b as b using (id)
cross join other as o
where exists (select 1 from marts.c where c.id = s.id and c.k in (select k from audit.kept))
  and s.id not in (select id from intermediate.me)
"""
    model = SqlModel(name="me", layer="intermediate", sql=sql, path=tmp_path / "me.sql")
    assert model.upstream_tables == ("intermediate.b", "marts.c", "staging.stg_a")
    broken = SqlModel(name="bad", layer="marts", sql="select from from", path=tmp_path / "bad.sql")
    with pytest.raises(ValueError, match="bad.sql"):
        _ = broken.upstream_tables
