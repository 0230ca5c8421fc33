"""A made CBS half-year is made again only when a change upstream touched it: the work follows the delivery,
not the number of half-years made before."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from rmj_dagster.automation import TOUCHED_METADATA
from rmj_dagster.definitions import defs
from rmj_dagster.partitions import add_ended_half_years

AFTER_DAY = datetime(2026, 2, 1, 12, tzinfo=UTC)  # 2025-H2's publication day passed; it is the one due
H1, H2 = "2025-H1", "2025-H2"


def _cbs_keys(graph) -> list[dg.AssetKey]:
    """The CBS assets in the order a run materializes them (each after what it reads)."""
    return [k for k in graph.toposorted_asset_keys if graph.get(k).automation_condition]


def _requested(result, keys) -> dict[str, set[str]]:
    return {k.to_user_string(): set(result.get_requested_partitions(k)) for k in keys if result.get_num_requested(k)}


def _warehouse_written(instance, graph, cbs, touched: list[str] | None) -> None:
    """The delivery run's tables upstream of the CBS half-years, materialized and saying which half-years their
    rows fall in (``None``: they say nothing, as after a whole rebuild)."""
    metadata = {} if touched is None else {TOUCHED_METADATA: dg.MetadataValue.json(touched)}
    for key in {p for k in cbs for p in graph.get(k).parent_keys} - set(cbs):
        instance.report_runless_asset_event(dg.AssetMaterialization(key, metadata=metadata))


def test_a_delivery_touching_one_half_year_remakes_that_one_and_nothing_else():
    graph = defs.resolve_asset_graph()
    cbs = _cbs_keys(graph)
    instance = dg.DagsterInstance.ephemeral()
    add_ended_half_years(instance, AFTER_DAY)  # as the half_years sensor did
    _warehouse_written(instance, graph, cbs, None)
    for key in cbs:  # both half-years of 2025 made, after the warehouse
        for partition in (H1, H2):
            instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=partition))
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=AFTER_DAY)
    assert first.total_requested == 0  # made, nothing changed since

    _warehouse_written(instance, graph, cbs, [H2])  # a delivery whose rows fall in 2025-H2 only
    touched = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=AFTER_DAY, cursor=first.cursor)
    assert _requested(touched, cbs) == {k.to_user_string(): {H2} for k in cbs}
    # not made yet (say its run was refused): due still at the next evaluation, which reads only newer records
    touched = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=AFTER_DAY, cursor=touched.cursor)
    assert _requested(touched, cbs) == {k.to_user_string(): {H2} for k in cbs}

    for key in cbs:  # 2025-H2 made again; then a run that changed nothing (rmj process with nothing new)
        instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=H2))
    _warehouse_written(instance, graph, cbs, [])
    nothing = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=AFTER_DAY, cursor=touched.cursor)
    assert nothing.total_requested == 0

    # two runs before the next evaluation: each counts; and a rebuild that does not say (a rule change): all
    _warehouse_written(instance, graph, cbs, [H1])
    _warehouse_written(instance, graph, cbs, [])
    both = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=AFTER_DAY, cursor=nothing.cursor)
    assert _requested(both, cbs) == {k.to_user_string(): {H1} for k in cbs}
    for key in cbs:
        instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=H1))
    _warehouse_written(instance, graph, cbs, None)
    rebuilt = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=AFTER_DAY, cursor=both.cursor)
    assert _requested(rebuilt, cbs) == {k.to_user_string(): {H1, H2} for k in cbs}  # made ones only, not 2018 on



def _sensor_tick(instance) -> dg.SensorResult | dg.SkipReason:
    """One tick of the half_years sensor, applied as the daemon applies it: events first, then partitions."""
    from rmj_dagster.sensors import half_year_sensor

    tick = half_year_sensor(dg.build_sensor_context(instance=instance, definitions=defs))
    if isinstance(tick, dg.SensorResult):
        for event in tick.asset_events:
            instance.report_runless_asset_event(event)
        for request in tick.dynamic_partitions_requests:
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return tick


def test_half_years_made_under_their_old_names_stay_made_under_the_new_ones():
    """A deployment from before half-years were named 2025-H1 holds them under 2025-01-01: the half_years
    sensor carries each over with its metadata, so the policy neither makes the due one again nor forgets a
    made one; it follows the next delivery as before."""
    graph = defs.resolve_asset_graph()
    cbs = _cbs_keys(graph)
    instance = dg.DagsterInstance.ephemeral()
    _warehouse_written(instance, graph, cbs, None)
    for key in cbs:  # made by the old code, parents first
        for old, period in (("2025-01-01", H1), ("2025-07-01", H2)):
            instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=old, metadata={"period": period}))
    tick = _sensor_tick(instance)
    assert len(tick.asset_events) == 2 * len(cbs)
    assert isinstance(_sensor_tick(instance), dg.SkipReason)  # once
    for key in cbs:
        assert {H1, H2} <= instance.get_materialized_partitions(key)
        for old, period in (("2025-01-01", H1), ("2025-07-01", H2)):
            event = instance.fetch_materializations(dg.AssetRecordsFilter(key, asset_partitions=[period]), limit=1).records[0]
            assert {k: v.value for k, v in event.asset_materialization.metadata.items()} == {
                "period": period, "carried_over_from": old}
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=AFTER_DAY)
    assert first.total_requested == 0  # 2025-H2, due, is made; nothing changed since
    _warehouse_written(instance, graph, cbs, [H1])
    touched = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=AFTER_DAY, cursor=first.cursor)
    assert _requested(touched, cbs) == {k.to_user_string(): {H1} for k in cbs}

def _stop_file(incoming, name: str, rows: list[tuple[int, str, str]]) -> None:
    """A stop-zorg CSV of provider 12345678: rows (trajectory number, begindatum, einddatum), reason 31."""
    from tests.test_chain_exact_figures import valid_bsns

    bsns = valid_bsns(3100)
    lines = ["aanbieder_agb;bsn;geboortedatum;gemeentecode;toewijzingnummer;begindatum;einddatum;reden_beeindiging;status_aanlevering"]
    lines += [f"12345678;{bsns[n]};2015-01-01;0363;{n};{begin};{end};31;1" for n, begin, end in rows]
    (incoming / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _currency_check(instance) -> dict[str, object]:
    """The last evaluation of publication_current: which years it compared and which it kept."""
    from rmj_dagster.assets.asset_keys import asset_key

    record = instance.get_latest_asset_check_evaluation_record(dg.AssetCheckKey(asset_key("ceo_publication"), "publication_current"))
    metadata = record.evaluation.metadata
    return {"run": record.run_id, "compared": metadata["compared"].value, "kept": metadata["kept"].value,
            "as_built": metadata["compared_as_built"].value}


def test_rmj_process_remakes_the_half_year_a_delivery_touched_and_compares_only_its_years(rmj_env):
    from rmj_dagster.assets.asset_keys import asset_key
    from rmj_dagster.assets.cbs.jobs import CBS_JOB_NAME
    from rmj_dagster.runner import process, publish
    from tests.test_chain_exact_figures import write_deliveries

    incoming = rmj_env["landing"] / "incoming"
    write_deliveries(incoming)  # 2025: ends in H1, questionnaires in H1 and H2
    _stop_file(incoming, "stopzorg_2024.csv", [(3000 + n, "2024-02-01", "2024-11-01") for n in range(8)])
    instance = dg.DagsterInstance.ephemeral()

    def cbs_runs() -> list[str]:
        return [r.dagster_run.tags.get("dagster/partition") for r in instance.get_run_records(dg.RunsFilter(job_name=CBS_JOB_NAME))]

    assert [p for p, _, _ in process(instance=instance, now=AFTER_DAY).cbs_periods] == ["2025-H2"]  # the one due
    def one_run_took_the_snapshot(command) -> None:  # the command's only run, and it ends with the snapshot
        before = {r.dagster_run.run_id for r in instance.get_run_records()}
        command()
        new = [r.dagster_run.run_id for r in instance.get_run_records() if r.dagster_run.run_id not in before]
        assert new == [instance.get_latest_materialization_event(asset_key("analyst_snapshot")).run_id]

    for kind, period in (("cbs", "2025-H1"), ("ceo", "2024"), ("ceo", "2025")):
        one_run_took_the_snapshot(lambda k=kind, p=period: publish(k, p, instance=instance))
    # the CEO run compares every published year: the one it built with its marts as built, the other built anew
    assert _currency_check(instance) | {"run": None} == {"run": None, "compared": ["2024", "2025"], "kept": [],
                                                         "as_built": ["2025"]}
    made = cbs_runs()

    one_run_took_the_snapshot(lambda: process(instance=instance, now=AFTER_DAY))  # nothing new: one run
    nothing = process(instance=instance, now=AFTER_DAY)  # nothing new: no CBS run, no year compared again
    assert cbs_runs() == made and nothing.cbs_periods == [] and nothing.cbs_unchanged == []
    assert _currency_check(instance)["compared"] == [] and _currency_check(instance)["kept"] == ["2024", "2025"]
    assert "made again" not in str(nothing) and "published by this run" not in str(nothing)

    _stop_file(incoming, "stopzorg_2025_h2.csv", [(2001, "2025-08-01", "2025-10-01")])  # touches 2025-H2 only
    one = process(instance=instance, now=AFTER_DAY)
    assert cbs_runs() == [H2, *made]  # newest first: 2025-H2 made again, 2025-H1 not
    # no questionnaire for it: the files are the same, so no new version, and the summary says so
    assert one.cbs_periods == [] and one.cbs_unchanged == ["2025-H2"]
    assert "made again, unchanged, no new version: CBS extract 2025-H2" in str(one)
    assert "published by this run" not in str(one)
    check = _currency_check(instance)
    assert check["compared"] == ["2025"] and check["kept"] == ["2024"]  # 2026 (the year after) is not published


def test_a_ceo_run_compares_the_year_it_built_as_built_only_while_nothing_it_reads_was_written_since():
    """The year a CEO run built is compared with its marts as stored only when nothing they read, and no other
    year of the marts (a year reads the year before), was written by another run after them: else built again."""
    from types import SimpleNamespace

    from rmj_dagster.assets.asset_keys import asset_key_of_table
    from rmj_dagster.assets.ceo.publication_current import _years_built_by_run
    from rmj_dagster.cockpit import out_of_date

    instance = dg.DagsterInstance.ephemeral()
    marts = [asset_key_of_table(t) for t in out_of_date.mart_tables()]
    for key in marts:  # this run (runless events share one run id: the check's run here) built 2025's marts
        instance.report_runless_asset_event(dg.AssetMaterialization(key, partition="2025"))
    context = SimpleNamespace(instance=instance, run=SimpleNamespace(run_id=instance.fetch_materializations(
        marts[0], limit=1).records[0].run_id))
    assert _years_built_by_run(context) == {2025}

    def written_by_another_run(key: dg.AssetKey, partition: str | None = None) -> None:
        partitions = dg.StaticPartitionsDefinition([partition]) if partition else None
        assert dg.materialize([_writes(key, partitions)], instance=instance, partition_key=partition).success

    written_by_another_run(marts[0], "2024")  # another year of the marts, since
    assert _years_built_by_run(context) == set()
    for key in marts:  # built again by this run: as built once more
        instance.report_runless_asset_event(dg.AssetMaterialization(key, partition="2025"))
    assert _years_built_by_run(context) == {2025}
    written_by_another_run(asset_key_of_table(out_of_date.upstream_tables()[-1]))  # what they read, since
    assert _years_built_by_run(context) == set()


def _writes(key: dg.AssetKey, partitions) -> dg.AssetsDefinition:
    @dg.asset(key=key, partitions_def=partitions)
    def written() -> None:
        return None

    return written
