"""File names outside the landing zone: identifiers replaced by placeholders (delivery contract v1).

Providers name exports per client (``Jansen_123456782_2011-06-01.csv``), so a file name is treated as
data. ``safe_name`` is the one function that makes the form of a name that may be stored (audit tables,
reason files), logged, put in Dagster metadata or run/sensor state, or printed. The name as received
is used only to open the file while it is in the landing zone.

Rules, applied in this order (over-replacing is harmless: the delivery id identifies the file):
1. dates in any form a person writes them: ``YYYY-MM-DD`` / ``DD-MM-YYYY`` / ``DD-MM-YY`` with ``-``,
   ``.``, ``_``, ``/`` or a space between the parts, and digit runs of 8 (``YYYYMMDD``, ``DDMMYYYY``,
   CBS ``YYYYMM00``) or 6 (``DDMMYY``, ``YYMMDD``) that read as a real date -> ``<datum>``;
2. BSN-like numbers: every run of exactly 9 digits, and a run of 8 digits that passes the 11-proef
   once its lost leading zero is restored -> ``<bsn>``; runs of 10 or more digits (a BSN and a date
   written together) -> ``<nummer>``;
3. names: a client's name cannot be told from a provider's or a system's word by its form, so every
   word (run of letters) not in the codebook's ``file_name_words.csv`` becomes ``<naam>``;
4. control characters become ``?`` and the result is cut to ``MAX_SAFE_NAME`` characters (extension kept).
"""

from __future__ import annotations

import re
from datetime import date
from functools import cache

from rmj_dagster import codebook
from rmj_dagster.ttp.bsn import passes_elfproef

MAX_SAFE_NAME = 120
_SEP = r"[-._/ ]"
_YMD = re.compile(rf"(?<!\d)(\d{{4}})({_SEP})(\d{{1,2}})\2(\d{{1,2}})(?!\d)")
_DMY = re.compile(rf"(?<!\d)(\d{{1,2}})({_SEP})(\d{{1,2}})\2(\d{{4}}|\d{{2}})(?!\d)")
_DIGITS = re.compile(r"\d+")
_WORD = re.compile(r"[^\W\d_]+")
_NAME_RUN = re.compile(r"<naam>(?:[ '\-]+<naam>)+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _is_date(year: int, month: int, day: int, *, day_may_be_zero: bool = False) -> bool:
    if year < 100:
        year += 2000
    if not 1900 <= year <= 2099:
        return False
    if day_may_be_zero and day == 0:
        return 1 <= month <= 12
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _replace_separated_dates(text: str) -> str:
    text = _YMD.sub(lambda m: "<datum>" if _is_date(int(m[1]), int(m[3]), int(m[4])) else m[0], text)
    return _DMY.sub(lambda m: "<datum>" if _is_date(int(m[4]), int(m[3]), int(m[1])) else m[0], text)


def _digit_run(match: re.Match) -> str:
    run = match[0]
    if len(run) == 8:
        y, m, d = int(run[:4]), int(run[4:6]), int(run[6:])
        if _is_date(y, m, d, day_may_be_zero=True) or _is_date(int(run[4:]), int(run[2:4]), int(run[:2])):
            return "<datum>"
        return "<bsn>" if passes_elfproef("0" + run) else run
    if len(run) == 6 and (_is_date(int(run[4:]), int(run[2:4]), int(run[:2])) or _is_date(int(run[:2]), int(run[2:4]), int(run[4:]))):
        return "<datum>"
    if len(run) == 9:
        return "<bsn>"
    if len(run) >= 10:
        return "<nummer>"
    return run


def scrub_text(text: str) -> str:
    """Dates and BSN-like numbers replaced (rules 1-2); for messages that may quote a name or a value."""
    return _DIGITS.sub(_digit_run, _replace_separated_dates(text))


@cache
def _kept_words() -> frozenset[str]:
    return frozenset(row["word"].strip().lower() for row in codebook.rows("file_name_words"))


def safe_name(name: str) -> str:
    """The form of a delivered file name that may leave the landing zone (see the module docstring)."""
    text = _CONTROL.sub("?", scrub_text(name))
    kept = _kept_words()
    text = _WORD.sub(lambda m: m[0] if m[0].lower() in kept or m[0] in ("datum", "bsn", "nummer", "naam") else "<naam>", text)
    text = _NAME_RUN.sub("<naam>", text)  # "van der Meer" is one name
    if len(text) > MAX_SAFE_NAME:
        stem, dot, extension = text.rpartition(".")
        tail = f".{extension}" if dot and len(extension) <= 8 else ""
        text = text[: MAX_SAFE_NAME - len(tail) - 1] + "…" + tail
    return text
