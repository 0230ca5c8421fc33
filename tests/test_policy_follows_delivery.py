"""A made CBS half-year is made again only when a change upstream touched it: the work follows the delivery,
not the number of half-years made before."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from rmj_dagster.automation import TOUCHED_METADATA
from rmj_dagster.definitions import defs

AFTER_DAY = datetime(2026, 2, 1, 12, tzinfo=UTC)  # 2025-H2's publication day passed; it is the one due
H1, H2 = "2025-01-01", "2025-07-01"


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
    _warehouse_written(instance, graph, cbs, None)
    for key in cbs:  # both half-years of 2025 made, after the warehouse
        for partition in (H1, H2):
            instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=partition))
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=AFTER_DAY)
    assert first.total_requested == 0  # made, nothing changed since

    _warehouse_written(instance, graph, cbs, [H2])  # a delivery whose rows fall in 2025-H2 only
    touched = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=AFTER_DAY, cursor=first.cursor)
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
