"""The weekly full verification (Europe/Amsterdam). The CBS half-year has no schedule: its automation
condition (rmj_dagster/automation.py) makes it on its publication day."""

import dagster as dg

from rmj_dagster.jobs import FULL_VERIFICATION_JOB_NAME
from rmj_dagster.partitions import TIMEZONE

# Sunday night, when no provider delivers and no analyst reads: every row of every table, once a week.
FULL_VERIFICATION_CRON = "0 3 * * 0"

full_verification_schedule = dg.ScheduleDefinition(
    name="full_verification_weekly",
    cron_schedule=FULL_VERIFICATION_CRON,
    job_name=FULL_VERIFICATION_JOB_NAME,
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Weekly: the full verification job (every table scanned for identifiers, every delivery reconciled).",
)
