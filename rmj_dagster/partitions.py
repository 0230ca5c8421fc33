"""Partitions: one per delivery (dynamic), per half-year (CBS) and per year (CEO)."""

from __future__ import annotations

import warnings
from datetime import date

import dagster as dg

# BackfillPolicy is beta in Dagster 1.13; we rely on it on purpose (one run for many deliveries, and for
# the half-years they changed).
warnings.filterwarnings("ignore", message=r"Parameter `backfill_policy`", category=dg.BetaWarning)

TIMEZONE = "Europe/Amsterdam"
FIRST_YEAR = "2018"  # the region's monitoring started on 1 January 2018

deliveries = dg.DynamicPartitionsDefinition(name="deliveries")

# No built-in half-year class: a time window on a cron that fires on 1 January and 1 July.
half_years = dg.TimeWindowPartitionsDefinition(
    cron_schedule="0 0 1 1,7 *", start=f"{FIRST_YEAR}-01-01", fmt="%Y-%m-%d", timezone=TIMEZONE
)
years = dg.TimeWindowPartitionsDefinition(
    cron_schedule="0 0 1 1 *", start=FIRST_YEAR, fmt="%Y", timezone=TIMEZONE
)

# Tags Dagster reads to run a range of partitions in one run (as a single-run backfill does).
PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"


def backfill_policy(partitions_def) -> dg.BackfillPolicy | None:
    """Half-years run as one run over a range (the CBS assets and checks handle every period of it): the
    half-years one delivery run changed are published together, not in a run each. Years run one by one."""
    return dg.BackfillPolicy.single_run() if partitions_def is half_years else None


def half_year_label(partition_key: str) -> str:
    """``2025-07-01`` → ``2025-H2`` (how CBS names the period and how the extract folder is named)."""
    start = date.fromisoformat(partition_key)
    return f"{start.year}-H{1 if start.month == 1 else 2}"


def half_years_of_run(context) -> list[str]:
    """The half-years (``2025-H1`` …) a run's step covers: its partition, or each of its range; [] outside a
    partitioned run."""
    if not (context.has_partition_key or context.has_partition_key_range):
        return []
    return [half_year_label(key) for key in context.partition_keys]


def half_year_bounds(partition_key: str) -> tuple[date, date]:
    start = date.fromisoformat(partition_key)
    end = date(start.year, 6, 30) if start.month == 1 else date(start.year, 12, 31)
    return start, end


def half_year_key(day: date) -> str:
    """The half-year partition a day falls in: ``2025-08-14`` → ``2025-07-01``."""
    return f"{day.year}-{'01' if day.month <= 6 else '07'}-01"


def year_bounds(partition_key: str) -> tuple[date, date]:
    year = int(partition_key)
    return date(year, 1, 1), date(year, 12, 31)


def range_tags(keys: list[str]) -> dict[str, str]:
    """Tags for one run over the partitions from the first to the last of ``keys`` (in definition order)."""
    return {PARTITION_RANGE_START_TAG: keys[0], PARTITION_RANGE_END_TAG: keys[-1]}


def one_run_over(keys: list[str], known: list[str]) -> tuple[str | None, dict[str, str]]:
    """(partition key, tags) of ONE run over every delivery in ``keys``.

    ``known`` is the partitions' order before this run; keys not in it are added after it. A run takes
    one partition or one contiguous range, so the range goes from the first to the last of ``keys``;
    deliveries in between that were processed before are a no-op for the delivery assets.
    """
    order = {k: i for i, k in enumerate([*known, *(k for k in dict.fromkeys(keys) if k not in known)])}
    wanted = sorted(set(keys), key=order.__getitem__)
    return (wanted[0], {}) if len(wanted) == 1 else (None, range_tags(wanted))
