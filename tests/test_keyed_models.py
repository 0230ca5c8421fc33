"""Models rebuilt per key (``-- incremental by key:``) hold exactly what a rebuild from scratch holds.

A delivery run rebuilds cleaning, outcomes and observations only for the trajectory keys its deliveries
touch; these tests hold every such table against its model run whole over the same staging rows, after
batches with corrections and deletes, after a run that died before a model took its deliveries in, and
when the rules of a model upstream change.
"""

from __future__ import annotations

import dataclasses
import shutil
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from rmj_dagster.generate import generate_deliveries
from rmj_dagster.runner import process
from rmj_dagster.warehouse import builds, connect, sql_models

TODAY = date(2026, 11, 22)
KEYED = [m for m in sql_models.discover() if m.keys]


def _differences(con: duckdb.DuckDBPyConnection, model: sql_models.SqlModel) -> int:
    """Rows in the table and not in a whole rebuild, or the other way round (as multisets)."""
    stored = f"select * exclude (observation_id) from {model.table}" if model.name == "indicator_observations" else f"select * from {model.table}"
    rebuilt = sql_models._select(model.sql)
    if model.name == "indicator_observations":
        rebuilt = f"select * exclude (observation_id) from ({rebuilt})"
    return con.execute(
        f"select (select count(*) from (select * from ({stored}) except all select * from ({rebuilt}))) "
        f"+ (select count(*) from (select * from ({rebuilt}) except all select * from ({stored})))"
    ).fetchone()[0]


def _feed(root: Path, files: list[Path], instance: dg.DagsterInstance) -> None:
    incoming = root / "landing" / "incoming"
    for path in files:
        shutil.copy2(path, incoming / path.name)  # keeps the mtime: the day it was received
    assert process(instance=instance).checks["failed"] == 0


def _env(root: Path, monkeypatch) -> None:
    for name, sub in (("RMJ_LANDING_DIR", "landing"), ("RMJ_WAREHOUSE", "w.duckdb"), ("RMJ_EXPORT_DIR", "exports"),
                      ("RMJ_SNAPSHOT", "snapshot.duckdb")):
        monkeypatch.setenv(name, str(root / sub))
    (root / "landing" / "incoming").mkdir(parents=True)


@pytest.mark.slow  # whole `rmj process` runs: a minute or more on the shared machine
def test_keyed_tables_equal_a_whole_rebuild_after_batches_and_after_a_run_that_died(rmj_env, tmp_path, monkeypatch):
    source = tmp_path / "source"
    generate_deliveries(source, seed=41, scale=0.05, years=[2024, 2025], today=TODAY)
    files = sorted((source / "incoming").iterdir(), key=lambda p: (p.stat().st_mtime_ns, p.name))
    assert len(files) >= 6
    root = tmp_path / "chain"
    _env(root, monkeypatch)
    instance = dg.DagsterInstance.ephemeral()
    # the first batch ends after the first goal file, so a goal delivery can be left behind
    first = next(i for i, p in enumerate(files) if p.name.startswith("doelen")) + 1
    second = (first + len(files)) // 2
    _feed(root, files[:first], instance)

    # a run that died after staging but before cleaned_goals took one delivery in: its rows are missing and
    # the ledger does not have it
    with connect(root / "w.duckdb") as con:
        (left_behind,) = con.execute(
            "select delivery_id from intermediate.cleaned_goals group by all order by count(*) desc limit 1"
        ).fetchone()
        con.execute("delete from intermediate.cleaned_goals where delivery_id = ?", [left_behind])
        con.execute("delete from audit.model_deliveries where model = 'intermediate.cleaned_goals' and delivery_id = ?", [left_behind])

    _feed(root, files[first:second], instance)
    _feed(root, files[second:], instance)
    with connect(root / "w.duckdb", read_only=True) as con:
        assert {m.name: _differences(con, m) for m in KEYED} == {m.name: 0 for m in KEYED}
        assert con.execute(
            "select count(*) from intermediate.cleaned_goals where delivery_id = ?", [left_behind]
        ).fetchone()[0] > 0
        staged = con.execute(builds._staged_deliveries_sql()).fetchall()
        for model in KEYED:  # every staged delivery taken in by every keyed model, once
            taken = con.execute(
                "select delivery_id from audit.model_deliveries where model = ?", [model.table]
            ).fetchall()
            assert sorted(taken) == sorted(staged), model.name
        # the keyed models really ran per key: corrections and deletes are among the deliveries
        assert con.execute("select count(*) from staging.stg_stop_zorg where status_aanlevering in (2, 3)").fetchone()[0] > 0


def test_a_change_to_an_upstream_model_changes_the_fingerprint_so_the_table_is_rebuilt_whole(monkeypatch):
    goals = sql_models.model("gas_scores")
    before = builds.rules_fingerprint(goals)
    responses_before = builds.rules_fingerprint(sql_models.model("cleaned_responses"))
    changed = tuple(
        dataclasses.replace(m, sql=m.sql + "\n-- a changed rule") if m.name == "stg_goals" else m
        for m in sql_models.discover()
    )
    monkeypatch.setattr(sql_models, "discover", lambda: changed)
    assert builds.rules_fingerprint(goals) != before
    # a model that does not read stg_goals keeps its rows
    assert builds.rules_fingerprint(sql_models.model("cleaned_responses")) == responses_before


def test_a_model_ending_in_a_comment_can_be_wrapped_as_the_per_key_and_per_period_builds_wrap_it():
    """The builds that are not whole wrap the SELECT (``({select}) limit 0``): a comment on its last line
    must not swallow the closing parenthesis."""
    select = sql_models._select("select 1 as x\nfrom range(1)  -- the last line\n")
    assert duckdb.sql(f"select count(*) from (select * from ({select}) limit 0)").fetchall() == [(0,)]


@pytest.mark.slow  # whole `rmj process` runs: a minute or more on the shared machine
def test_a_run_with_nothing_new_stages_only_what_was_left_behind_unless_the_rules_changed(rmj_env, tmp_path, monkeypatch):
    """``rmj process`` with nothing new (an hourly cron, say) must not rebuild the staging tables: it takes in
    a delivery an earlier run loaded but never staged, and rebuilds a table whole only when its rules changed.
    A model with nothing to write is not launched; the GX validation of the cleaned responses runs again
    unless the last one passed over every row as they are, under the same suite (a delivery run's validation
    of what it changed does, when every other row stood validated before it)."""
    from rmj_dagster.assets.models.checks import CONFORMS_TO_CODEBOOK
    from rmj_dagster.quality import expectations
    source = tmp_path / "source"
    generate_deliveries(source, seed=42, scale=0.05, years=[2025], today=TODAY)
    for path in (source / "incoming").iterdir():
        shutil.copy2(path, rmj_env["landing"] / "incoming" / path.name)
    instance = dg.DagsterInstance.ephemeral()
    assert process(instance=instance).checks["failed"] == 0

    def counts(con) -> dict[str, int]:
        return {m.table: con.execute(f"select count(*) from {m.table}").fetchone()[0] for m in sql_models.discover() if m.incremental}

    with connect(rmj_env["warehouse"]) as con:
        before = counts(con)
        (left_behind, rows_left) = con.execute(  # a run died after the TTP step, before staging this delivery
            "select delivery_id, count(*) from staging.stg_goals group by all order by count(*) desc limit 1").fetchone()
        con.execute("delete from staging.stg_goals where delivery_id = ?", [left_behind])
        con.execute("comment on table staging.stg_responses is 'rules of an earlier version'")

    def latest_run(key: dg.AssetKey) -> str:
        return instance.get_latest_materialization_event(key).run_id

    def validated() -> dict:
        record = instance.get_latest_asset_check_evaluation_record(CONFORMS_TO_CODEBOOK)
        return {"run": record.run_id} | {k: v.value for k, v in record.event.dagster_event.event_specific_data.metadata.items()}

    stop_zorg = dg.AssetKey(["staging", "stg_stop_zorg"])
    first_run = latest_run(stop_zorg)
    assert process(instance=instance).checks["failed"] == 0  # nothing new arrived

    def written(name: str) -> dict:
        event = instance.get_latest_materialization_event(dg.AssetKey(["staging", name]))
        return {k: v.value for k, v in event.asset_materialization.metadata.items()}

    # a model has work (stg_goals left behind, stg_responses' rules): all run, the idle ones writing nothing
    # (runner._idle: all or none, a keyed build reads more than its declared parents)
    rerun = latest_run(stop_zorg)
    assert rerun != first_run and "rows_written" in written("stg_stop_zorg") and written("stg_stop_zorg")["rows_written"] == 0
    assert written("stg_goals")["rows_written"] == rows_left
    # cleaned_responses reads stg_responses (rebuilt whole), so it ran with its GX validation over every row
    second = validated()
    assert second["run"] == latest_run(dg.AssetKey(["intermediate", "cleaned_responses"])) != first_run
    assert second["verified"].startswith("every row") and "table_state" in second

    assert process(instance=instance).checks["failed"] == 0  # nothing new, nothing left behind
    assert latest_run(stop_zorg) == rerun  # nothing to write: not launched, nor its checks
    assert instance.get_latest_asset_check_evaluation_record(dg.AssetCheckKey(stop_zorg, "no_identifiers")).run_id == rerun
    assert validated()["run"] == second["run"]  # the same rows under the same suite: not validated again
    monkeypatch.setattr(expectations, "suite_version", lambda: "another suite")
    assert process(instance=instance).checks["failed"] == 0
    third = validated()
    assert third["run"] != second["run"] and third["suite_version"] == "another suite"  # the check alone ran
    assert latest_run(dg.AssetKey(["intermediate", "cleaned_responses"])) == second["run"]
    assert "rows_written" not in written("stg_responses")  # rebuilt whole: its rules changed
    with connect(rmj_env["warehouse"], read_only=True) as con:
        assert counts(con) == before
        assert con.execute("select comment from duckdb_tables() where table_name = 'stg_responses'").fetchone()[0].startswith("rules ")

    # a delivery run validates what it changed; every other row stood validated, so it stands for the table
    # as it is now and the next run with nothing new does not validate again
    later = tmp_path / "later"
    generate_deliveries(later, seed=43, scale=0.05, years=[2025], today=TODAY)
    for path in sorted((later / "incoming").iterdir())[:2]:
        shutil.copy2(path, rmj_env["landing"] / "incoming" / path.name)
    assert process(instance=instance).checks["failed"] == 0
    fourth = validated()
    assert fourth["run"] != third["run"] and fourth["verified"].startswith("rows of intermediate.cleaned_responses the run's")
    assert "table_state" in fourth
    assert process(instance=instance).checks["failed"] == 0
    assert validated()["run"] == fourth["run"]


def test_a_model_has_work_only_when_a_delivery_waits_for_it_or_its_rules_changed(tmp_path):
    """What ``rmj process`` with nothing new leaves unlaunched (``builds.has_work``) is exactly what its step
    would have written nothing for; and a keyed model's state changes with every delivery it takes in."""
    from tests.sql_fixtures import insert_delivery, make_warehouse

    per_delivery = [m for m in sql_models.discover() if m.incremental or m.keys]
    with connect(make_warehouse(tmp_path)) as con:
        assert all(builds.has_work(con, m) for m in per_delivery)  # never built
        for model in per_delivery:
            builds.build_incremental(con, model, []) if model.incremental else builds.build_keyed(con, model)
        assert not any(builds.has_work(con, m) for m in per_delivery)
        cleaned = sql_models.model("cleaned_stop_zorg")
        before = builds.state(con, cleaned)

        insert_delivery(con, "d1", "stop_zorg", "2025-03-01 10:00", [{}])  # loaded by a run that died before staging
        assert {m.name for m in per_delivery if builds.has_work(con, m)} == {"stg_stop_zorg"}
        assert builds.build_incremental(con, sql_models.model("stg_stop_zorg"), [])[0] == 1
        assert not builds.has_work(con, sql_models.model("stg_stop_zorg"))
        # staged, not yet taken in by any keyed model (each keeps its own ledger)
        assert [m for m in per_delivery if builds.has_work(con, m)] == [m for m in per_delivery if m.keys]
        assert builds.build_keyed(con, cleaned)[0] == 1
        assert not builds.has_work(con, cleaned) and builds.state(con, cleaned) != before

        taken_in = builds.state(con, cleaned)
        con.execute(f"comment on table {cleaned.table} is 'rules of an earlier version'")
        assert builds.has_work(con, cleaned) and builds.state(con, cleaned) != taken_in
