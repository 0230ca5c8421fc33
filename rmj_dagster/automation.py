"""When things run, declared on the assets (Dagster declarative automation), the one rule for the daemon
and for ``rmj process``.

- The warehouse follows each delivery: the delivery sensor launches the delivery job (staging to marts,
  the delivery monitor, the analysts' snapshot) and finishes a run that died halfway.
- A CBS half-year is made on its publication day (15 January / 15 July, 06:00 Europe/Amsterdam, for the
  half-year that just ended), and on request for any other; once made, a later change upstream makes it
  again (the files then say whether its figures changed).
- A CEO year is made only when an analyst asks (the UI, or ``rmj publish ceo <YYYY>``): no condition.
"""

from __future__ import annotations

import warnings
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import dagster as dg

from rmj_dagster.partitions import TIMEZONE, half_year_key

# Evaluating in the code server is beta in Dagster 1.13; we rely on it on purpose (our own condition).
warnings.filterwarnings("ignore", message=r"Parameter `use_user_code_server`", category=dg.BetaWarning)
# ... and dg.evaluate_automation_conditions (rmj process) selects with a beta parameter of its own
warnings.filterwarnings("ignore", message=r"Parameter `include_sources`", category=dg.BetaWarning)

POLICY_SENSOR_NAME = "publication_policy"
# CBS wants the period within three weeks after it ends (informatieprotocol §7). Providers deliver
# monthly, so the extract waits until the 15th for late stop messages and still leaves a week.
PUBLICATION_DAY = 15
PUBLICATION_TIME = time(6, 0)


def previous_half_year(today: date) -> str:
    """The partition key of the half-year that ended before ``today``."""
    start = date.fromisoformat(half_year_key(today))
    return half_year_key(date(start.year - 1, 7, 1) if start.month == 1 else date(start.year, 1, 1))


def due_half_year(moment: datetime) -> str:
    """The half-year whose publication day is the latest one at ``moment`` (UTC if naive): on 15 July from
    06:00 Amsterdam time until 15 January, the first half of the year; then the second."""
    local = (moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("UTC"))).astimezone(ZoneInfo(TIMEZONE))
    days = [datetime.combine(date(year, month, PUBLICATION_DAY), PUBLICATION_TIME, tzinfo=local.tzinfo)
            for year in (local.year - 1, local.year) for month in (1, 7)]
    return previous_half_year(max(day for day in days if day <= local).date())


class PublicationDayPassed(dg.AutomationCondition):
    """True for the one half-year whose publication day (15 January / 15 July, 06:00) is the latest passed
    at the evaluation time: a pure function of that time, so the daemon and ``rmj process`` agree and a
    daemon that was down on the day still makes it afterwards."""

    @property
    def description(self) -> str:
        return "Publication day (15 January / 15 July, 06:00) of this half-year is the latest one passed"

    @property
    def name(self) -> str:
        return "publication_day_passed"

    @property
    def requires_cursor(self) -> bool:
        return False

    def evaluate(self, context: dg.AutomationContext) -> dg.AutomationResult:
        key = due_half_year(context.evaluation_time)
        candidates = context.candidate_subset
        if candidates.partitions_def is None or not candidates.partitions_def.has_partition_key(key):
            return dg.AutomationResult(context, context.get_empty_subset())
        return dg.AutomationResult(context, candidates.compute_intersection_with_partition_keys({key}))


def cbs_half_year() -> dg.AutomationCondition:
    """A CBS half-year: made once its publication day passed and the warehouse holds what it reads (not
    retried after a failure: a person looks first), and made again after a change upstream once it exists. Never all the empty half-years since
    2018: only the one just due is made by itself."""
    made_on_its_day = (
        PublicationDayPassed() & dg.AutomationCondition.missing() & ~dg.AutomationCondition.execution_failed()
        & ~dg.AutomationCondition.any_deps_missing()  # nothing delivered yet: nothing to make it from
    ).with_label("publication day passed, not made yet")
    made_again = (
        ~dg.AutomationCondition.missing() & dg.AutomationCondition.any_deps_updated().since_last_handled()
    ).with_label("made, and its upstream changed since")
    return (
        (made_on_its_day | made_again)
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("CBS half-year: on its publication day, then after each change upstream")


def policy_sensor(target: dg.AssetSelection) -> dg.AutomationConditionSensorDefinition:
    """The sensor that evaluates the conditions in the daemon; running from the start, and in the code
    server, since the publication-day condition is this project's own code."""
    return dg.AutomationConditionSensorDefinition(
        POLICY_SENSOR_NAME,
        target=target,
        default_status=dg.DefaultSensorStatus.RUNNING,
        use_user_code_server=True,
        description="Evaluates the automation conditions on the assets: the CBS half-year on its publication day "
                    "and after each change upstream. CEO years have none: an analyst publishes them.",
    )


def condition_for(partitions_def) -> dg.AutomationCondition | None:
    """The condition of an asset by its partitioning: the CBS half-years have one; the rest none (the
    delivery sensor drives the warehouse, an analyst the CEO years)."""
    from rmj_dagster.partitions import half_years

    return cbs_half_year() if partitions_def is half_years else None
