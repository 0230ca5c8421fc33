"""How municipalities number their toewijzingen (iJw ``LDT_Nummer``, 0-999999999), one scheme per municipality.

Real municipal systems differ: year-prefixed sequences (``20250001``: they read like dates), 9-digit numbers
(some pass the 11-proef like a BSN), numbers written with leading zeros (``00123456``) and short ones
(``4711``). A provider sees numbers of every municipality it works for, so the generator writes them all.
Each scheme draws from its own counter per provider, and the schemes' value ranges are disjoint, so a
provider never holds one number twice (the pipeline keys trajectories on provider + toewijzingnummer):

    year_prefixed  YYYY + 4-digit sequence (19xx0001-20xx9999); past 9999 a 5-digit sequence (2025xxxxx)
    nine_digit     300000000-999999999
    leading_zeros  8 characters, two leading zeros: 00100000-00999999
    short          10-99999
A short or leading-zero counter that runs out continues in the nine-digit range (national-scale runs).
"""

from __future__ import annotations

import random
from collections import defaultdict

SCHEMES = ("year_prefixed", "nine_digit", "leading_zeros", "short")
MUNICIPALITY_SCHEMES = {
    "0363": "year_prefixed", "0385": "year_prefixed", "0852": "year_prefixed",
    "0479": "nine_digit", "0358": "nine_digit", "0880": "nine_digit", "0431": "nine_digit",
    "0362": "leading_zeros", "0384": "leading_zeros", "0437": "leading_zeros",
    "0439": "short", "0451": "short", "0415": "short",
}
"""Sample-data choice: the scheme of each of the region's municipalities (others: nine_digit)."""
SINGLE = "single"  # the generator's earlier habit: one provider-wide sequence of 6-8 digits


class Numbering:
    """Hands out one provider's toewijzingnummers as text, as the issuing municipality writes them."""

    def __init__(self, setup: random.Random, *, varied: bool = True):
        self.varied = varied
        self._single = setup.randint(100_000, 40_000_000)
        self._nine = setup.randint(300_000_000, 900_000_000)
        self._leading = setup.randint(100_000, 400_000)
        self._short = setup.randint(10, 4_000)
        self._by_year: dict[int, int] = defaultdict(lambda: setup.randint(1, 400))

    def scheme(self, gemeentecode: str) -> str:
        return MUNICIPALITY_SCHEMES.get(gemeentecode, "nine_digit") if self.varied else SINGLE

    def next(self, rng: random.Random, gemeentecode: str, year: int) -> str:
        """The next number for a toewijzing of ``gemeentecode`` beginning in ``year``."""
        step = rng.randint(1, 3)  # gaps: numbers of other providers' toewijzingen
        scheme = self.scheme(gemeentecode)
        if scheme == SINGLE:
            self._single += step
            return str(self._single)
        if scheme == "year_prefixed":
            self._by_year[year] += step
            sequence = self._by_year[year]
            if sequence <= 9_999:
                return f"{year}{sequence:04d}"
            if sequence <= 99_999:
                return f"{year}{sequence:05d}"
        elif scheme == "leading_zeros" and self._leading + step <= 999_999:
            self._leading += step
            return f"{self._leading:08d}"
        elif scheme == "short" and self._short + step <= 99_999:
            self._short += step
            return str(self._short)
        self._nine += step
        if self._nine > 999_999_999:
            raise OverflowError("the nine-digit toewijzingnummer range of one provider is used up")
        return str(self._nine)
