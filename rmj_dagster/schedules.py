"""The half-yearly CBS schedule and the weekly full verification (Europe/Amsterdam)."""

from datetime import date

import dagster as dg

from rmj_dagster.jobs import CBS_JOB_NAME, FULL_VERIFICATION_JOB_NAME
from rmj_dagster.partitions import TIMEZONE, half_year_key, half_year_label

# CBS wants the period within three weeks after it ends (informatieprotocol §7). Providers deliver
# monthly, so the run waits until the 15th for late stop messages and still leaves a week.
CBS_CRON = "0 6 15 1,7 *"


def previous_half_year(today: date) -> str:
    """The partition key of the half-year that ended before ``today``."""
    start = date.fromisoformat(half_year_key(today))
    return half_year_key(date(start.year - 1, 7, 1) if start.month == 1 else date(start.year, 1, 1))


@dg.schedule(
    cron_schedule=CBS_CRON,
    job_name=CBS_JOB_NAME,
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="On 15 January and 15 July: the CBS outcome extract of the half-year that just ended.",
)
def cbs_half_yearly_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    key = previous_half_year(context.scheduled_execution_time.date())
    return dg.RunRequest(run_key=f"cbs-{key}", partition_key=key, tags={"rmj/period": half_year_label(key)})


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
