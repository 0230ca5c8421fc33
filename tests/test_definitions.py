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
    graph = _graph()
    assert "2025-07-01" in graph.get(asset_key("cbs_outcome_extract")).partitions_def.get_partition_keys()
    assert "2025" in graph.get(asset_key("ceo_indicators")).partitions_def.get_partition_keys()


def test_sensor_schedule_and_jobs_are_listed():
    assert defs.resolve_sensor_def("delivery_sensor").job_name == "deliveries_job"
    schedule = defs.resolve_schedule_def("cbs_half_yearly_schedule")
    assert schedule.execution_timezone == "Europe/Amsterdam"
    for name in ("deliveries_job", "cbs_extract_job", "ceo_indicators_job"):
        assert defs.resolve_job_def(name)


def test_the_schedule_asks_for_the_half_year_that_just_ended():
    from datetime import date

    from rmj_dagster.schedules import previous_half_year

    assert previous_half_year(date(2026, 1, 15)) == "2025-07-01"
    assert previous_half_year(date(2026, 7, 15)) == "2026-01-01"


def test_every_node_that_opens_the_warehouse_is_in_the_duckdb_pool():
    """DuckDB allows one process on the file: a node outside the pool can crash a run on the lock."""
    nodes = [*defs.assets, *defs.asset_checks]
    opening = [n for n in nodes if "warehouse" in n.required_resource_keys]
    checks = [n for n in opening if isinstance(n, dg.AssetChecksDefinition)]
    assert len(checks) >= 20 and len(opening) > len(checks), "the definitions lost their warehouse nodes"
    outside = sorted(n.node_def.name for n in opening if n.node_def.pool != "duckdb")
    assert not outside, f"open the warehouse outside the duckdb pool: {outside}"
