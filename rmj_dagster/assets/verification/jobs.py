"""The full verification job, on demand and weekly (Europe/Amsterdam)."""

import dagster as dg

from rmj_dagster.assets import identifier_scan
from rmj_dagster.assets.models.checks import conforms_to_codebook, every_row_accounted_for
from rmj_dagster.partitions import TIMEZONE

FULL_VERIFICATION_JOB_NAME = "full_verification_job"
# Sunday night, when no provider delivers and no analyst reads: every row of every table, once a week.
FULL_VERIFICATION_CRON = "0 3 * * 0"

full_verification_job = dg.define_asset_job(
    name=FULL_VERIFICATION_JOB_NAME,
    selection=dg.AssetSelection.checks(*identifier_scan.full_scan_keys())
    | dg.AssetSelection.checks(every_row_accounted_for, conforms_to_codebook),
    description=(
        "Full verification, on demand and weekly: every row of every warehouse table scanned for "
        "identifiers, every delivery reconciled, every cleaned response validated (GX). Blocking "
        "checks: a finding fails the run."
    ),
)

full_verification_schedule = dg.ScheduleDefinition(
    name="full_verification_weekly",
    cron_schedule=FULL_VERIFICATION_CRON,
    job_name=FULL_VERIFICATION_JOB_NAME,
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Weekly: the full verification job (every table scanned for identifiers, every delivery reconciled).",
)
