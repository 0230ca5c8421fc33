"""Verification: every row of every warehouse table scanned again, on demand and weekly."""

import dagster as dg

from rmj_dagster.assets.verification.full_scans import full_identifier_scans
from rmj_dagster.assets.verification.jobs import full_verification_job, full_verification_schedule

defs = dg.Definitions(
    asset_checks=full_identifier_scans(),
    jobs=[full_verification_job],
    schedules=[full_verification_schedule],
)
