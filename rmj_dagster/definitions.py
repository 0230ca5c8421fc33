"""The Dagster code location: one ``Definitions`` for the whole RMJ chain."""

from __future__ import annotations

import dagster as dg

from rmj_dagster import automation, settings
from rmj_dagster.assets import all_assets
from rmj_dagster.checks import all_checks
from rmj_dagster.jobs import build_jobs
from rmj_dagster.resources import AnalystSnapshot, ExportArea, LandingZoneResource, PseudonymKeyResource, Warehouse
from rmj_dagster.schedules import full_verification_schedule
from rmj_dagster.sensors import delivery_sensor, half_year_sensor

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
    assets = all_assets()
    checks = all_checks()
    return dg.Definitions(
        assets=assets,
        asset_checks=checks,
        jobs=build_jobs(assets, checks),
        sensors=[delivery_sensor, half_year_sensor, automation.policy_sensor(dg.AssetSelection.assets(
            *[k for a in assets for k, c in a.automation_conditions_by_key.items() if c is not None]))],
        schedules=[full_verification_schedule],
        resources=build_resources(),
        executor=dg.in_process_executor,
    )


defs = build_defs()
