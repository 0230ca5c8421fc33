"""Why a quarantined delivery stays a "Materialized" partition (docs/operations.md, "What the UI shows for one
delivery"): in Dagster as pinned, a step over a range of partitions can leave some unmaterialised only by not
yielding its output, and then every step depending on it is skipped. When an upgrade lifts that, this test
fails: then raw_provider_drops can materialise the loaded deliveries only."""

from __future__ import annotations

import dagster as dg

from rmj_dagster.partitions import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG


def test_a_ranged_step_that_materialises_some_partitions_skips_what_depends_on_it():
    parts = dg.DynamicPartitionsDefinition(name="deliveries")

    @dg.asset(partitions_def=parts, backfill_policy=dg.BackfillPolicy.single_run(), output_required=False)
    def drops(context):
        for key in context.partition_keys:
            if key != "quarantined":
                context.log_event(dg.AssetMaterialization(asset_key=context.asset_key, partition=key))
        yield from ()

    @dg.asset(deps=[drops])
    def chain() -> None:
        return None

    defs = dg.Definitions(assets=[drops, chain], jobs=[dg.define_asset_job("run", selection=[drops, chain])])
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("deliveries", ["loaded", "quarantined"])
    result = defs.resolve_job_def("run").execute_in_process(
        instance=instance, tags={PARTITION_RANGE_START_TAG: "loaded", PARTITION_RANGE_END_TAG: "quarantined"})

    assert instance.get_materialized_partitions(dg.AssetKey("drops")) == {"loaded"}  # what we would want ...
    skipped = {e.step_key for e in result.all_events if e.event_type_value == "STEP_SKIPPED"}
    assert skipped == {"chain"}  # ... at the price of the whole chain after it
