"""Intake: deliveries received from the landing zone and pseudonymised (the TTP step), one run per batch."""

import dagster as dg

from rmj_dagster.assets.intake.delivery_assets import pseudonymised_deliveries, raw_provider_drops
from rmj_dagster.assets.intake.delivery_outcome import delivery_outcome
from rmj_dagster.assets.intake.jobs import delivery_job

defs = dg.Definitions(
    assets=[raw_provider_drops, pseudonymised_deliveries, delivery_outcome],
    jobs=[delivery_job],
)
