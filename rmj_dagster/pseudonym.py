"""The keyed pseudonym (the TTP algorithm): lowercase hex HMAC-SHA256 over the 9-digit BSN.

The one place the algorithm lives; the TTP step and the sample generator (which plays a TTP that
delivers pre-pseudonymised files) both call :func:`pseudonym`.
"""

from __future__ import annotations

import hashlib
import hmac
import re

PSEUDONYM_PATTERN = re.compile(r"^[0-9a-f]{64}$")


def pseudonym(bsn9: str, key: bytes) -> str:
    """HMAC-SHA256 of the zero-padded 9-digit BSN under ``key``, as 64 lowercase hex characters."""
    return hmac.new(key, bsn9.encode("ascii"), hashlib.sha256).hexdigest()


def is_pseudonym(text: str | None) -> bool:
    """True for a well-formed pseudonym (64 lowercase hex characters)."""
    return text is not None and PSEUDONYM_PATTERN.match(text) is not None
