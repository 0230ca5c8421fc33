"""Partitions: one per delivery (dynamic), per ended half-year (CBS, dynamic) and per year (CEO)."""

from __future__ import annotations

import warnings
from datetime import date, datetime
from zoneinfo import ZoneInfo

import dagster as dg

# BackfillPolicy is beta in Dagster 1.13; we rely on it on purpose (one run for many deliveries, and for
# the half-years they changed).
warnings.filterwarnings("ignore", message=r"Parameter `backfill_policy`", category=dg.BetaWarning)

TIMEZONE = "Europe/Amsterdam"
FIRST_YEAR = "2018"  # the region's monitoring started on 1 January 2018

deliveries = dg.DynamicPartitionsDefinition(name="deliveries")

# Half-years are named as CBS, the extract folders and ``rmj publish cbs`` name them: ``2025-H1``. Dagster has
# no half-year time window and strftime no half-year directive, so the keys are dynamic: each half-year is
# added once it has ended (``add_ended_half_years``: the half_years sensor, ``rmj process``, ``rmj publish``),
# oldest first, so the instance's order is the calendar's and no future half-year shows as missing.
half_years = dg.DynamicPartitionsDefinition(name="half_years")
years = dg.TimeWindowPartitionsDefinition(
    cron_schedule="0 0 1 1 *", start=FIRST_YEAR, fmt="%Y", timezone=TIMEZONE
)

PARTITION_TAG = "dagster/partition"  # the one partition of a run
# Tags Dagster reads to run a range of partitions in one run (as a single-run backfill does).
PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"


def backfill_policy(partitions_def) -> dg.BackfillPolicy | None:
    """Half-years run as one run over a range (the CBS assets and checks handle every period of it): the
    half-years one delivery run changed are published together, not in a run each. Years run one by one."""
    return dg.BackfillPolicy.single_run() if partitions_def is half_years else None


def half_years_of_run(context) -> list[str]:
    """The half-years (``2025-H1`` …) a run's step covers: its partition, or each of its range; [] outside a
    partitioned run."""
    if not (context.has_partition_key or context.has_partition_key_range):
        return []
    return list(context.partition_keys)


def half_year_of(day: date) -> str:
    """The half-year a day falls in: ``2025-08-14`` → ``2025-H2`` (the one rule for a half-year's name)."""
    return f"{day.year}-H{1 if day.month <= 6 else 2}"


def half_year_bounds(partition_key: str) -> tuple[date, date]:
    """``2025-H1`` → (1 January, 30 June 2025)."""
    year, half = int(partition_key[:4]), partition_key[-1]
    return (date(year, 1, 1), date(year, 6, 30)) if half == "1" else (date(year, 7, 1), date(year, 12, 31))


def ended_half_years(moment: datetime) -> list[str]:
    """Every half-year from the first one up to the last that ended before ``moment`` (UTC if naive; a
    half-year ends at midnight Amsterdam time), oldest first."""
    local = (moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("UTC"))).astimezone(ZoneInfo(TIMEZONE))
    running = half_year_of(local.date())
    every = [half_year_of(date(year, month, 1)) for year in range(int(FIRST_YEAR), local.year + 1) for month in (1, 7)]
    return [key for key in every if key < running]


def add_ended_half_years(instance, moment: datetime, graph=None) -> list[str]:
    """Adds the half-years ended by ``moment`` that the instance does not hold yet, oldest first, with what
    they carry over from their old names (``graph``: the asset graph); returns them. Whoever first needs a
    half-year calls this (never with a half-year that is still running)."""
    missing = half_years_missing(instance, moment)
    if missing:
        for event in [] if graph is None else carried_over(instance, graph, missing):
            instance.report_runless_asset_event(event)
        instance.add_dynamic_partitions(half_years.name, missing)
    return missing


def half_years_missing(instance, moment: datetime) -> list[str]:
    """The half-years ended by ``moment`` that are not partitions yet, oldest first."""
    known = set(instance.get_dynamic_partitions(half_years.name))
    return [key for key in ended_half_years(moment) if key not in known]


OLD_KEY_METADATA = "carried_over_from"


def carried_over(instance, graph, added: list[str]) -> list[dg.AssetMaterialization]:
    """Until issue 26 a half-year's partition was named by its first day (``2025-07-01``): a deployment from
    then holds its materializations under that name. For each half-year ``added``, the latest one of each
    half-year asset again under the new name, with its metadata: the UI shows it made and the publication
    policy re-makes it only after a change upstream, as before. Parents come before children, so a child is
    not made again for a parent that was only renamed."""
    events = []
    for key in graph.toposorted_asset_keys:
        if graph.get(key).partitions_def is not half_years:
            continue
        for half_year in added:
            old = half_year_bounds(half_year)[0].isoformat()
            records = instance.fetch_materializations(dg.AssetRecordsFilter(key, asset_partitions=[old]), limit=1).records
            if records:
                metadata = {**records[0].asset_materialization.metadata, OLD_KEY_METADATA: old}
                events.append(dg.AssetMaterialization(key, partition=half_year, metadata=metadata,
                                                      description=f"made as partition {old} before half-years were named {half_year}"))
    return events


def year_bounds(partition_key: str) -> tuple[date, date]:
    year = int(partition_key)
    return date(year, 1, 1), date(year, 12, 31)


def range_tags(keys: list[str]) -> dict[str, str]:
    """Tags for one run over the partitions from the first to the last of ``keys`` (in definition order)."""
    return {PARTITION_RANGE_START_TAG: keys[0], PARTITION_RANGE_END_TAG: keys[-1]}


def same_partitions_as(tags: dict[str, str]) -> tuple[str | None, dict[str, str]]:
    """(partition key, range tags) of a run over the partitions of the run tagged ``tags``: its one partition
    or its range; (None, {}) for a run over none."""
    if tags.get(PARTITION_TAG):
        return tags[PARTITION_TAG], {}
    if tags.get(PARTITION_RANGE_START_TAG) and tags.get(PARTITION_RANGE_END_TAG):
        return None, range_tags([tags[PARTITION_RANGE_START_TAG], tags[PARTITION_RANGE_END_TAG]])
    return None, {}


def carried_from(failed: dg.DagsterRun | None) -> list[str]:
    """The delivery partitions a new deliveries run takes over from ``failed`` (the last deliveries run, when it
    failed), for :func:`one_run_over`: its one partition or the two ends of its range. Its deliveries may have
    been loaded before it died; the new run reports their outcome with its own, else they would stay grey."""
    if failed is None:
        return []
    key, over = same_partitions_as(failed.tags)
    return [key] if key else [over[PARTITION_RANGE_START_TAG], over[PARTITION_RANGE_END_TAG]] if over else []


def one_run_over(keys: list[str], known: list[str]) -> tuple[str | None, dict[str, str]]:
    """(partition key, tags) of ONE run over every delivery in ``keys``.

    ``known`` is the partitions' order before this run; keys not in it are added after it. A run takes
    one partition or one contiguous range, so the range goes from the first to the last of ``keys``;
    deliveries in between that were processed before are a no-op for the delivery assets.
    """
    order = {k: i for i, k in enumerate([*known, *(k for k in dict.fromkeys(keys) if k not in known)])}
    wanted = sorted(set(keys), key=order.__getitem__)
    return (wanted[0], {}) if len(wanted) == 1 else (None, range_tags(wanted))
