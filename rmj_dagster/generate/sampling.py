"""Fast weighted choices and calendar helpers for the generator (pure functions of a ``random.Random``)."""

from __future__ import annotations

import calendar
import random
from bisect import bisect
from collections.abc import Hashable, Mapping
from datetime import date, timedelta
from itertools import accumulate
from typing import Generic, TypeVar

T = TypeVar("T", bound=Hashable)


class Picker(Generic[T]):
    """Weighted choice with precomputed cumulative weights: ``random.choices`` re-sums them on every call."""

    __slots__ = ("_cumulative", "_total", "_values")

    def __init__(self, weights: Mapping[T, float]):
        self._values = list(weights)
        self._cumulative = list(accumulate(weights.values()))
        self._total = self._cumulative[-1]

    def __call__(self, rng: random.Random) -> T:
        return self._values[bisect(self._cumulative, rng.random() * self._total)]


def random_day(rng: random.Random, first: date, last: date) -> date:
    """A uniformly drawn day in [first, last] (``first`` when the range is empty)."""
    span = (last - first).days
    return first if span <= 0 else first + timedelta(days=rng.randint(0, span))


def clamp(day: date, first: date, last: date) -> date:
    return max(first, min(day, last))


def add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later; 29 February becomes 1 March in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


def age_on(birth: date, day: date) -> int:
    """Completed years on ``day`` (negative before birth)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def month_bounds(day: date) -> tuple[date, date]:
    """First and last day of the month of ``day``: the range a CBS-style YYYYMM00 birth date stands for."""
    return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])


def seasonal_day(rng: random.Random, year: int, last: date, month_weights: Picker[int]) -> date:
    """A day in ``year`` up to ``last``, months weighted (care ends cluster before summer and year end)."""
    while True:
        month = month_weights(rng)
        if date(year, month, 1) <= last:
            break
    days = calendar.monthrange(year, month)[1]
    return min(date(year, month, rng.randint(1, days)), last)
