"""The code location loads as `dagster dev -w workspace.yaml` would load it.

Keys, lineage, groups, kinds, pools, partitioning and which checks block are reviewed as one file,
``tests/asset_graph.json`` (``tests/test_asset_graph_snapshot.py``); these tests hold what it does not.
"""

from __future__ import annotations

import dagster as dg

from rmj_dagster.assets.asset_keys import asset_key
from rmj_dagster.definitions import defs


def _graph():
    return defs.resolve_asset_graph()


def test_definitions_load_and_validate():
    dg.Definitions.validate_loadable(defs)


def test_every_asset_has_group_description_owner_and_kind():
    for spec in (n.to_asset_spec() for n in _graph().asset_nodes):
        assert spec.group_name and spec.group_name != "default", spec.key
        assert spec.description, spec.key
        assert spec.owners, spec.key
        assert spec.kinds, spec.key


def test_the_half_years_and_years_reach_back_to_2025():
    """Which definition partitions which asset is in tests/asset_graph.json; where the calendars start is not."""
    from rmj_dagster.partitions import half_years

    graph = _graph()
    assert graph.get(asset_key("cbs_outcome_extract")).partitions_def is half_years
    assert "2025" in graph.get(asset_key("ceo_indicators")).partitions_def.get_partition_keys()


def test_a_half_year_is_named_as_cbs_names_it_and_exists_once_it_has_ended():
    """Partition keys read ``2025-H1`` as the folders and ``rmj publish cbs`` do; a half-year ends at midnight
    Amsterdam time, and none still running (or later) is a partition."""
    from datetime import UTC, date, datetime

    from rmj_dagster.partitions import ended_half_years, half_year_bounds, half_year_of

    assert half_year_of(date(2025, 6, 30)) == "2025-H1" and half_year_of(date(2025, 7, 1)) == "2025-H2"
    assert half_year_bounds("2025-H1") == (date(2025, 1, 1), date(2025, 6, 30))
    assert half_year_bounds("2025-H2") == (date(2025, 7, 1), date(2025, 12, 31))
    before = ended_half_years(datetime(2026, 6, 30, 21, 59, tzinfo=UTC))  # 23:59 in Amsterdam
    after = ended_half_years(datetime(2026, 6, 30, 22, 0, tzinfo=UTC))  # midnight: 2026-H1 has ended
    assert before[:3] == ["2018-H1", "2018-H2", "2019-H1"] and before[-1] == "2025-H2" and len(before) == 16
    assert after == [*before, "2026-H1"]
    assert ended_half_years(datetime(2026, 12, 31, 22, 59, tzinfo=UTC))[-1] == "2026-H1"
    assert ended_half_years(datetime(2026, 12, 31, 23, 0, tzinfo=UTC))[-1] == "2026-H2"


def test_the_half_year_sensor_adds_each_ended_half_year_once_oldest_first():
    from datetime import UTC, datetime

    from rmj_dagster.partitions import add_ended_half_years, ended_half_years, half_years
    from rmj_dagster.sensors import half_year_sensor

    instance = dg.DagsterInstance.ephemeral()
    add_ended_half_years(instance, datetime(2025, 1, 2, tzinfo=UTC))  # rmj process ran last year
    assert instance.get_dynamic_partitions(half_years.name)[-1] == "2024-H2"
    # the sensor reads the wall clock: the test holds if a half-year ends while it runs
    before = ended_half_years(datetime.now(UTC))
    tick = half_year_sensor(dg.build_sensor_context(instance=instance))
    after = ended_half_years(datetime.now(UTC))
    (request,) = tick.dynamic_partitions_requests
    assert request.partition_keys in ([k for k in before if k > "2024-H2"], [k for k in after if k > "2024-H2"])
    instance.add_dynamic_partitions(half_years.name, list(request.partition_keys))
    assert list(instance.get_dynamic_partitions(half_years.name)) in (before, after)
    again = half_year_sensor(dg.build_sensor_context(instance=instance))
    assert isinstance(again, dg.SkipReason) and request.partition_keys[-1] in again.skip_message


def test_sensors_and_jobs_are_listed():
    assert defs.resolve_sensor_def("delivery_sensor").job_name == "deliveries_job"
    assert defs.resolve_sensor_def("half_years").default_status == dg.DefaultSensorStatus.RUNNING
    policy = defs.resolve_sensor_def("publication_policy")
    assert policy.default_status == dg.DefaultSensorStatus.RUNNING  # the daemon evaluates it from the start
    for name in ("deliveries_job", "cbs_extract_job", "ceo_indicators_job"):
        assert defs.resolve_job_def(name)


def test_the_half_year_due_is_the_one_whose_publication_day_passed_last():
    from datetime import UTC, date, datetime

    from rmj_dagster.automation import due_half_year, previous_half_year

    assert previous_half_year(date(2026, 1, 15)) == "2025-H2"
    assert previous_half_year(date(2026, 7, 15)) == "2026-H1"
    assert due_half_year(datetime(2026, 1, 15, 4, 59, tzinfo=UTC)) == "2025-H1"  # 05:59 in Amsterdam
    assert due_half_year(datetime(2026, 1, 15, 5, 0, tzinfo=UTC)) == "2025-H2"  # 06:00: the day's run
    assert due_half_year(datetime(2026, 7, 15, 3, 59, tzinfo=UTC)) == "2025-H2"  # summer time
    assert due_half_year(datetime(2026, 7, 15, 4, 0, tzinfo=UTC)) == "2026-H1"
    assert due_half_year(datetime(2026, 12, 31, 23, 0, tzinfo=UTC)) == "2026-H1"


def test_the_policy_is_on_the_assets_cbs_only():
    """CBS half-years carry the condition; the CEO year (analyst) and the warehouse (delivery sensor) none."""
    graph = _graph()
    conditioned = {k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).automation_condition}
    assert conditioned == {"marts/cbs_outcome_extract", "marts/cbs_unlisted_trajectories", "exports/cbs_extract_files"}


def test_the_conditions_request_only_the_half_year_due_and_nothing_before_it_is_made():
    from datetime import UTC, datetime

    graph = _graph()
    cbs = {k for k in graph.get_all_asset_keys() if graph.get(k).automation_condition}
    from rmj_dagster.partitions import add_ended_half_years

    instance = dg.DagsterInstance.ephemeral()
    day = datetime(2026, 1, 15, 6, tzinfo=UTC)
    add_ended_half_years(instance, day)  # what the half_years sensor did on 1 January
    nothing_yet = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=day)
    assert nothing_yet.total_requested == 0  # nothing delivered: nothing to make it from
    for key in {p for k in cbs for p in graph.get(k).parent_keys} - cbs:  # the warehouse as after a delivery run
        instance.report_runless_asset_event(dg.AssetMaterialization(key))
    before = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=nothing_yet.cursor,
                                               evaluation_time=datetime(2026, 1, 15, 4, tzinfo=UTC))
    due = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=before.cursor, evaluation_time=day)
    requested = {k.to_user_string(): due.get_requested_partitions(k) for k in cbs if due.get_num_requested(k)}
    # never every empty half-year since 2018: the one due; 2025-H1 (due before, never made) waits for a request
    assert requested == {k: {"2025-H2"} for k in
                         ("marts/cbs_outcome_extract", "marts/cbs_unlisted_trajectories", "exports/cbs_extract_files")}
    assert {p for k in cbs for p in before.get_requested_partitions(k)} == {"2025-H1"}  # the one due before 06:00


def test_every_node_that_opens_the_warehouse_is_in_the_duckdb_pool():
    """DuckDB allows one process on the file: a node outside the pool can crash a run on the lock."""
    nodes = [*defs.assets, *defs.asset_checks]
    opening = [n for n in nodes if "warehouse" in n.required_resource_keys]
    checks = [n for n in opening if isinstance(n, dg.AssetChecksDefinition)]
    assert len(checks) >= 20 and len(opening) > len(checks), "the definitions lost their warehouse nodes"
    outside = sorted(n.node_def.name for n in opening if n.node_def.pool != "duckdb")
    assert not outside, f"open the warehouse outside the duckdb pool: {outside}"


def test_each_stage_is_one_package_and_one_group():
    """One name per stage: every package under rmj_dagster/assets/ is joined into the code location, and the
    assets it defines carry its folder's name as their group (keys keep their schema, see asset_keys.py)."""
    import importlib
    import pkgutil

    import rmj_dagster.assets
    from rmj_dagster.definitions import STAGES

    packages = sorted(m.name for m in pkgutil.iter_modules(rmj_dagster.assets.__path__) if m.ispkg)
    assert sorted(stage.__name__.rsplit(".", 1)[1] for stage in STAGES) == packages
    keys_by_stage = {}
    for name in packages:
        stage = importlib.import_module(f"rmj_dagster.assets.{name}").defs
        groups = {spec.key.to_user_string(): spec.group_name for a in stage.assets or [] for spec in a.specs}
        assert set(groups.values()) <= {name}, f"stage {name} defines assets of another group: {groups}"
        keys_by_stage[name] = set(groups)
    assert set().union(*keys_by_stage.values()) == {k.to_user_string() for k in _graph().get_all_asset_keys()}


def test_the_progress_display_names_stages_in_the_order_the_code_location_joins_them():
    from rmj_dagster import progress
    from rmj_dagster.definitions import STAGES

    order = [stage.__name__.rsplit(".", 1)[1] for stage in STAGES]
    assert [s for s in order if s in progress.STAGES] == list(progress.STAGES)
