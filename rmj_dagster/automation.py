"""When things run, declared on the assets (Dagster declarative automation), the one rule for the daemon
and for ``rmj process``.

- The warehouse follows each delivery: the delivery sensor launches the delivery job (staging to marts,
  the delivery monitor, the analysts' snapshot) and finishes a run that died halfway.
- A CBS half-year is made on its publication day (15 January / 15 July, 06:00 Europe/Amsterdam, for the
  half-year that just ended), and on request for any other; once made, it is made again only when an
  upstream materialization newer than its own touched it (the delivery run's assets say which half-years
  their rows fall in: ``half_years_touched``) or its SQL changed (the files then say whether its figures
  changed). Work follows the delivery, not the number of half-years made.
- A CEO year is made only when an analyst asks (the UI, or ``rmj publish ceo <YYYY>``): no condition.
"""

from __future__ import annotations

import warnings
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import dagster as dg

from rmj_dagster.partitions import TIMEZONE, half_year_of

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
    """The partition key of the half-year that ended before ``today``: ``2026-01-15`` → ``2025-H2``."""
    return half_year_of(date(today.year - 1, 12, 31) if today.month <= 6 else date(today.year, 6, 30))


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
        # the half-year's partition exists once it has ended and the half_years sensor (or rmj) added it
        if candidates.partitions_def is None or not candidates.partitions_def.has_partition_key(key):
            return dg.AutomationResult(context, context.get_empty_subset())
        return dg.AutomationResult(context, candidates.compute_intersection_with_partition_keys({key}))


TOUCHED_METADATA = "half_years_touched"  # materialization metadata: the half-year partition keys it changed


class UpstreamTouchedSinceMade(dg.AutomationCondition):
    """True for a made half-year when a materialization of an upstream asset newer than the half-year's own
    latest one touched it: a partitioned parent's of that half-year, or an unpartitioned parent's whose
    ``half_years_touched`` names it. A parent that says nothing (a whole rebuild after a rule change, an
    asset that does not know) touched every half-year. Read from the instance's records, so several runs
    between two evaluations all count and a half-year made since (``rmj publish``, the UI) has handled them;
    only the records stored since the previous evaluation are read (what was true then and is not made
    since stays true), so the work follows what happened since, not the history of the instance."""

    @property
    def description(self) -> str:
        return f"An upstream materialization since this half-year was made touched it (metadata {TOUCHED_METADATA})"

    @property
    def name(self) -> str:
        return "upstream_touched_since_made"

    @property
    def requires_cursor(self) -> bool:
        return True  # the previous evaluation's true subset

    def evaluate(self, context: dg.AutomationContext) -> dg.AutomationResult:
        instance = context.asset_graph_view.instance
        made: dict[str, int] = {}  # partition key -> storage id of its latest materialization
        for partition in context.candidate_subset.expensively_compute_partition_keys():
            records = instance.fetch_materializations(
                dg.AssetRecordsFilter(context.key, asset_partitions=[partition]), limit=1).records
            if records:
                made[partition] = records[0].storage_id
        previous, seen = context.previous_true_subset, context.previous_max_storage_id
        if previous is None or seen is None:  # first evaluation: every record since each was made
            seen, touched = 0, set()
        else:  # still true: touched before and not made since
            touched = {p for p in previous.expensively_compute_partition_keys() if p in made and made[p] <= seen}
        after = {p: max(storage_id, seen) for p, storage_id in made.items()}
        if after:
            for parent in context.asset_graph.get(context.key).parent_keys:
                for record in _materializations_after(instance, parent, min(after.values())):
                    touched |= {p for p in _touched_by(record, made) if after[p] < record.storage_id}
        return dg.AutomationResult(context, context.candidate_subset.compute_intersection_with_partition_keys(touched))


def _materializations_after(instance: dg.DagsterInstance, key: dg.AssetKey, storage_id: int):
    """Every materialization of ``key`` stored after ``storage_id``, oldest first, page by page."""
    cursor = None
    while True:
        result = instance.fetch_materializations(dg.AssetRecordsFilter(key, after_storage_id=storage_id),
                                                 limit=100, cursor=cursor, ascending=True)
        yield from result.records
        if not result.has_more:
            return
        cursor = result.cursor


def _touched_by(record, made: dict[str, int]) -> set[str]:
    """The made half-years one upstream materialization touched."""
    if record.partition_key is not None:  # a half-year of a CBS asset upstream
        return {record.partition_key} & made.keys()
    said = record.asset_materialization.metadata.get(TOUCHED_METADATA)
    return set(made) if said is None else set(said.value) & made.keys()


def cbs_half_year() -> dg.AutomationCondition:
    """A CBS half-year: made once its publication day passed and the warehouse holds what it reads (not
    retried after a failure: a person looks first), and made again once it exists when what it reads changed
    for it: an upstream materialization touched it, its own SQL changed (``code_version_changed``), or a CBS
    asset it reads is requested now. Never all the empty half-years since 2018: only the one just due is made
    by itself."""
    made_on_its_day = (
        PublicationDayPassed() & dg.AutomationCondition.missing() & ~dg.AutomationCondition.execution_failed()
        & ~dg.AutomationCondition.any_deps_missing()  # nothing delivered yet: nothing to make it from
    ).with_label("publication day passed, not made yet")
    made_again = (
        (dg.AutomationCondition.code_version_changed() | UpstreamTouchedSinceMade()
         | dg.AutomationCondition.any_deps_match(dg.AutomationCondition.will_be_requested()))
        & ~dg.AutomationCondition.missing() & ~dg.AutomationCondition.execution_failed()
    ).with_label("made, and a change upstream touched it since")
    return (
        (made_on_its_day | made_again)
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("CBS half-year: on its publication day, then after each change upstream that touches it")


def policy_sensor(target: dg.AssetSelection) -> dg.AutomationConditionSensorDefinition:
    """The sensor that evaluates the conditions in the daemon; running from the start, and in the code
    server, since the publication-day condition is this project's own code."""
    return dg.AutomationConditionSensorDefinition(
        POLICY_SENSOR_NAME,
        target=target,
        default_status=dg.DefaultSensorStatus.RUNNING,
        use_user_code_server=True,
        description="Evaluates the automation conditions on the assets: the CBS half-year on its publication day "
                    "and after each change upstream that touches it. CEO years have none: an analyst publishes them.",
    )


def condition_for(partitions_def) -> dg.AutomationCondition | None:
    """The condition of an asset by its partitioning: the CBS half-years have one; the rest none (the
    delivery sensor drives the warehouse, an analyst the CEO years)."""
    from rmj_dagster.partitions import half_years

    return cbs_half_year() if partitions_def is half_years else None
