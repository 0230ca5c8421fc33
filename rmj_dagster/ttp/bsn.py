"""BSN rules: the 11-proef and the codes that mean "unknown".

The one place that knows what a valid BSN is; the TTP step (pseudonymise) and the sample
generator both use it.
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
    total = sum(map(mul, map(int, bsn), _WEIGHTS))  # no Python frame per digit: called once per distinct BSN
    return total > 0 and total % 11 == 0
