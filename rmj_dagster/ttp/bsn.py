"""BSN rules: the 11-proef and the codes that mean "unknown".

The one place that knows what a valid BSN is, in Python (the sample generator, the identifier scans) and
as SQL (the TTP step judges every distinct identity of a delivery inside DuckDB); tests hold the two
forms to the same answers.
"""

from __future__ import annotations

from operator import mul

UNKNOWN_BSNS = frozenset({"999999999", "000000000"})
"""BSNs that mean "unknown": kept as unknown (no pseudonym), counted, never linked."""


def normalise_bsn(raw: str | None) -> str | None:
    """Strip spaces and restore one leading zero lost by a spreadsheet; ``None`` if not 8 or 9 digits.

    The contract asks for 9 digits, leading zeros kept or restored. Restoring one zero is safe; a value
    of 7 digits or fewer is not a BSN that lost zeros but a wrong value (``140``, ``10``): rejected
    (``bsn_invalid_format``) rather than padded into a number that may belong to someone else.
    """
    if raw is None:
        return None
    text = raw.strip()
    if text.endswith(".0"):  # Excel turned the number into a float
        text = text[:-2]
    if not text.isascii() or not text.isdigit() or len(text) not in (8, 9):
        return None
    return text.zfill(9)


_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, -1)


def passes_elfproef(bsn: str) -> bool:
    """The BSN 11-proef: 9·d1 + 8·d2 + … + 2·d8 − 1·d9 is a positive multiple of 11."""
    if len(bsn) != 9 or not bsn.isdigit():
        return False
    total = sum(map(mul, map(int, bsn), _WEIGHTS))  # no Python frame per digit
    return total > 0 and total % 11 == 0


# What Python's str.isspace() holds for, as an RE2 class (equal for every code point: tests/test_bsn_sql.py).
_SPACE = r"[\t-\r\x{1c}-\x{1f}\x{85}\p{Z}]"


def stripped_sql(value: str) -> str:
    """SQL: the text ``value`` without leading or trailing white space, as ``str.strip()`` takes it off."""
    return f"regexp_replace({value}, '^{_SPACE}+|{_SPACE}+$', '', 'g')"


def normalised_bsn_sql(stripped: str) -> str:
    """SQL of :func:`normalise_bsn` for a text already stripped (:func:`stripped_sql`): the 9-digit BSN or NULL."""
    text = f"(case when suffix({stripped}, '.0') then left({stripped}, length({stripped}) - 2) else {stripped} end)"
    return f"case when regexp_full_match({text}, '[0-9]{{8,9}}') then lpad({text}, 9, '0') end"


def elfproef_total_sql(bsn9: str) -> str:
    """SQL: the weighted digit sum of the 11-proef of a 9-digit text; :func:`passes_elfproef` holds when it is
    a positive multiple of 11."""
    return " + ".join(f"({weight}) * (ascii(substr({bsn9}, {i}, 1)) - 48)" for i, weight in enumerate(_WEIGHTS, 1))
