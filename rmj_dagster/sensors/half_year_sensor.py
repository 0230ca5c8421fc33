"""The half_years sensor: adds each CBS half-year (``2025-H1``) as a partition once it has ended.

The half-year partitions are dynamic (see ``partitions.py``); this sensor is who first needs one in the
deployed platform: the publication policy can only request a half-year that exists, and its publication
day (the 15th) comes two weeks after the half-year ends. Reads the clock only, never the warehouse.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from rmj_dagster.partitions import carried_over, half_years, half_years_missing

HALF_YEAR_SENSOR_NAME = "half_years"


@dg.sensor(
    name=HALF_YEAR_SENSOR_NAME,
    minimum_interval_seconds=600,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds each CBS half-year (2025-H1, 2025-H2 …) as a partition once it has ended, oldest first; "
                "the publication_policy sensor makes it on its publication day.",
)
def half_year_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    missing = half_years_missing(context.instance, datetime.now(UTC))
    if not missing:
        known = context.instance.get_dynamic_partitions(half_years.name)
        return dg.SkipReason(f"every ended half-year is a partition (the last: {known[-1] if known else 'none'})")
    graph = context.repository_def.asset_graph if context.repository_def else None
    context.log.info(f"adding half-year partition(s) {', '.join(missing)}")
    return dg.SensorResult(  # Dagster reports the events first, then adds the partitions
        asset_events=[] if graph is None else carried_over(context.instance, graph, missing),
        dynamic_partitions_requests=[half_years.build_add_request(missing)],
    )
