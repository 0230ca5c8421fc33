"""The Dagster code location: the stages' ``Definitions`` joined, with the resources, sensors and executor."""

from __future__ import annotations

import dagster as dg

from rmj_dagster import automation, settings
from rmj_dagster.assets import cbs, ceo, intake, models, monitor, reference, snapshot, verification
from rmj_dagster.resources import AnalystSnapshot, ExportArea, LandingZoneResource, PseudonymKeyResource, Warehouse
from rmj_dagster.sensors import delivery_sensor, half_year_sensor

# The stages in the order the data travel.
STAGES = (intake, reference, models, monitor, cbs, ceo, snapshot, verification)

settings.owner_only_files()  # the code server and every run worker load this module first


def build_resources() -> dict[str, dg.ConfigurableResource]:
    """Resources from the RMJ_* environment (see settings.py and .env.example)."""
    return {
        "warehouse": Warehouse(database=settings.dagster_value(settings.ENV_WAREHOUSE)),
        "landing": LandingZoneResource(
            root=settings.dagster_value(settings.ENV_LANDING_DIR),
            retain_originals=settings.Settings.from_env().retain_originals,
        ),
        "exports": ExportArea(root=settings.dagster_value(settings.ENV_EXPORT_DIR)),
        "snapshot_area": AnalystSnapshot(path=settings.dagster_value(settings.ENV_SNAPSHOT)),
        "pseudonym_key": PseudonymKeyResource(),
    }


def build_defs() -> dg.Definitions:
    """The whole code location, with resources read from the environment as it is now."""
    stages = [stage.defs for stage in STAGES]
    conditioned = [key for d in stages for a in d.assets or [] for key, condition in a.automation_conditions_by_key.items()
                   if condition is not None]
    return dg.Definitions.merge(*stages, dg.Definitions(
        sensors=[delivery_sensor, half_year_sensor, automation.policy_sensor(dg.AssetSelection.assets(*conditioned))],
        resources=build_resources(),
        executor=dg.in_process_executor,
    ))


defs = build_defs()
