"""The code location loads as `dagster dev -w workspace.yaml` would load it, with the whole lineage."""

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


def test_lineage_runs_from_drops_to_both_outputs():
    graph = _graph()
    upstream_of = lambda key: graph.get(asset_key(key)).parent_keys  # noqa: E731
    assert asset_key("raw_provider_drops") in upstream_of("pseudonymised_responses")
    assert asset_key("pseudonymised_responses") in upstream_of("stg_responses")
    assert asset_key("stg_responses") in upstream_of("cleaned_responses")
    assert asset_key("cbs_outcome_extract") in upstream_of("cbs_extract_files")
    assert asset_key("ceo_indicators") in upstream_of("ceo_publication")
    everything_after_drops = graph.get(asset_key("raw_provider_drops")).child_keys
    assert everything_after_drops
    downstream = dg.AssetSelection.assets(asset_key("raw_provider_drops")).downstream().resolve(graph)
    assert {asset_key("cbs_extract_files"), asset_key("ceo_publication")} <= downstream


def test_keys_carry_the_schema_they_write():
    keys = {n.key.path[-1]: n.key.path[0] for n in _graph().asset_nodes}
    assert keys["stg_responses"] == "staging" and keys["cleaned_responses"] == "intermediate"
    assert keys["ceo_indicators"] == "marts" and keys["pseudonymised_goals"] == "pseudo"
    assert keys["codebook"] == "ref" and keys["raw_provider_drops"] == "audit"
    assert all(len(n.key.path) == 2 for n in _graph().asset_nodes)


def test_groups_follow_the_stages():
    groups = {n.key.path[-1]: n.group_name for n in _graph().asset_nodes}
    assert groups["raw_provider_drops"] == "ingest"
    assert groups["pseudonymised_stop_zorg"] == "pseudonymise"
    assert groups["stg_stop_zorg"] == "clean"
    assert groups["cbs_extract_files"] == "cbs"
    assert groups["ceo_publication"] == "indicators"


def test_partitioning_of_deliveries_half_years_and_years():
    graph = _graph()
    assert graph.get(asset_key("raw_provider_drops")).partitions_def.name == "deliveries"
    assert "2025-07-01" in graph.get(asset_key("cbs_outcome_extract")).partitions_def.get_partition_keys()
    assert "2025" in graph.get(asset_key("ceo_indicators")).partitions_def.get_partition_keys()


def test_sensor_schedule_and_jobs_are_listed():
    assert defs.resolve_sensor_def("delivery_sensor").job_name == "deliveries_job"
    schedule = defs.resolve_schedule_def("cbs_half_yearly_schedule")
    assert schedule.execution_timezone == "Europe/Amsterdam"
    for name in ("deliveries_job", "cbs_extract_job", "ceo_indicators_job"):
        assert defs.resolve_job_def(name)


def test_blocking_checks_guard_people_and_reconciliation():
    graph = _graph()
    checks = {key.name: graph.get_check_spec(key) for key in graph.asset_check_keys}
    for name in ("every_row_accounted_for", "no_identifiers", "extract_conforms_and_holds_no_identifiers", "suppression_holds_in_published_file"):
        assert name in checks and checks[name].blocking, name


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
