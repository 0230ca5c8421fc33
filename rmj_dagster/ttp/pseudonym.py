"""The keyed pseudonym (the TTP algorithm): lowercase hex HMAC-SHA256 over the 9-digit BSN.

The one place the algorithm lives; the TTP step and the sample generator (which plays a TTP that
delivers pre-pseudonymised files) both call :func:`pseudonym`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

PSEUDONYM_PATTERN = re.compile(r"^[0-9a-f]{64}$")
PSEUDONYM_SQL_PATTERN = "[0-9a-f]{64}"  # the same, for DuckDB's regexp_full_match


def pseudonym(bsn9: str, key: bytes) -> str:
    """HMAC-SHA256 of the zero-padded 9-digit BSN under ``key``, as 64 lowercase hex characters."""
    return hmac.new(key, bsn9.encode("ascii"), hashlib.sha256).hexdigest()


def is_pseudonym(text: str | None) -> bool:
    """True for a well-formed pseudonym (64 lowercase hex characters)."""
    return text is not None and PSEUDONYM_PATTERN.match(text) is not None


MIN_KEY_BYTES = 32
DEMO_KEY = b"rmj-DEMO-ONLY-key-never-use-for-real-data-0000"
"""The key ``rmj demo`` uses. Refused unless demo mode is on: demo pseudonyms protect nobody."""


class KeyRefused(RuntimeError):
    """The pseudonym key is missing or unfit; the pipeline refuses to read any delivery."""


@dataclass(frozen=True)
class PseudonymKey:
    """A secret key and its public label. The key is never printed: ``repr`` shows the label only."""

    secret: bytes = field(repr=False)
    label: str

    def pseudonym(self, bsn9: str) -> str:
        """As :func:`pseudonym`, from a keyed HMAC state prepared once (the key schedule is not redone per BSN)."""
        state = self._keyed.copy()
        state.update(bsn9.encode("ascii"))
        return state.hexdigest()

    def sql(self, bsn9: str) -> tuple[str, list[bytes]]:
        """:meth:`pseudonym` as SQL over the 9-digit text ``bsn9``, with its parameters: HMAC-SHA256 written out
        (RFC 2104: H(K ^ opad || H(K ^ ipad || m))), so DuckDB hashes every distinct BSN of a read at once.
        The key enters only as its two pads, bound as parameters: never statement text, never stored."""
        block = hashlib.sha256().block_size
        secret = hashlib.sha256(self.secret).digest() if len(self.secret) > block else self.secret
        secret = secret.ljust(block, b"\0")
        inner, outer = bytes(b ^ 0x36 for b in secret), bytes(b ^ 0x5C for b in secret)
        return f"sha256(?::blob || unhex(sha256(?::blob || encode({bsn9}))))", [outer, inner]

    @cached_property
    def _keyed(self) -> hmac.HMAC:
        return hmac.new(self.secret, digestmod=hashlib.sha256)

    @property
    def binding(self) -> str:
        """What binds the label to this key in the warehouse (``audit.key_labels``): a keyed fingerprint
        (HMAC of a fixed text under the key), public, revealing nothing of the key; another key gives another."""
        return hmac.new(self.secret, b"rmj key binding", hashlib.sha256).hexdigest()[:32]

    def refuse_to_mix(self, labels_present: set[str], bindings: Mapping[str, str] | None = None) -> None:
        """Refuse when the warehouse holds pseudonyms made with another key: another label
        (``labels_present``), or this label bound to another key's fingerprint (``bindings``: label ->
        binding), e.g. a new key under the same explicit ``RMJ_PSEUDONYM_KEY_LABEL``.

        Pseudonyms are one-way: rows of two keys never link, so every join on them (corrections, the
        latest delivery per youth, goals per measurement) would silently treat one youth as two.
        """
        bound = (bindings or {}).get(self.label)
        if bound is not None and not hmac.compare_digest(bound, self.binding):
            raise KeyRefused(
                f"the warehouse's key label {self.label} belongs to another key (its fingerprint differs): "
                "pseudonyms of different keys never link, and mixing them in one warehouse is refused. "
                "Use the key this label was first used with, or start a new warehouse after a rotation "
                "(docs/privacy.md, 'Rotating the key')."
            )
        others = sorted(set(labels_present) - {self.label})
        if others:
            raise KeyRefused(
                f"the warehouse holds pseudonyms made with key label(s) {', '.join(others)}, this key's label is "
                f"{self.label}: pseudonyms of different keys never link, and mixing them in one warehouse is refused. "
                "Use the same key, or start a new warehouse after a rotation (docs/privacy.md, 'Rotating the key')."
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PseudonymKey:
        """Read the key from ``RMJ_PSEUDONYM_KEY`` or the file ``RMJ_PSEUDONYM_KEY_FILE`` names.

        Refuses (``KeyRefused``) a missing key, a key under 32 bytes, or the demo key outside demo
        mode. The label is ``RMJ_PSEUDONYM_KEY_LABEL`` or a keyed fingerprint: it changes when the key
        changes, so rows pseudonymised under different keys are told apart and never joined.
        """
        from rmj_dagster import settings

        env = os.environ if environ is None else environ
        secret = _read_secret(env, settings)
        if len(secret) < MIN_KEY_BYTES:
            raise KeyRefused(
                f"the pseudonym key is {len(secret)} bytes; at least {MIN_KEY_BYTES} are required "
                f"(generate one with: python -c 'import secrets; print(secrets.token_hex(32))')"
            )
        demo_mode = settings.is_on(env.get(settings.ENV_DEMO_MODE))
        if secret == DEMO_KEY and not demo_mode:
            raise KeyRefused(
                "the demo pseudonym key is only accepted in demo mode (RMJ_DEMO_MODE=1); "
                "real deliveries need a real secret key"
            )
        label = (env.get(settings.ENV_PSEUDONYM_KEY_LABEL) or "").strip()
        if label:  # the fingerprint is ours (hex after "fp-"); a label a person chose is checked
            _refuse_unfit_label(label, settings.ENV_PSEUDONYM_KEY_LABEL)
        return cls(secret=secret, label=label or fingerprint(secret))


_LABEL = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,39}")
_LONG_DIGITS = re.compile(r"\d{6,}")
_SEPARATED_NUMBERS = re.compile(r"\d[-_]+\d")  # 2026-1, 1-6-2011, 2026_01_01: parts of a date, or of a BSN
_MONTHS = (
    "januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december|"
    "january|february|march|may|june|july|august|october|"
    "jan|feb|mrt|mar|apr|jun|jul|aug|sep|sept|okt|oct|nov|dec"
)
_MONTH_BY_NUMBER = re.compile(rf"(\d[-_]*({_MONTHS}))|(({_MONTHS})[-_]*\d)", re.IGNORECASE)
_SHORT_DIGITS = re.compile(r"(?<!\d)\d{4,5}(?!\d)")


def _reads_as_date(run: str) -> bool:
    """Whether a run of 4-5 digits can be read as a day, month and two-digit year (``1611``: 1-6-11)."""
    from datetime import date

    for day_len in (1, 2):
        for month_len in (1, 2):
            if day_len + month_len + 2 != len(run):
                continue
            day, month, year = int(run[:day_len]), int(run[day_len:day_len + month_len]), int(run[-2:])
            for century in (1900, 2000):
                try:
                    date(century + year, month, day)
                    return True
                except ValueError:
                    pass
    return False


def label_problem(label: str) -> str | None:
    """Why ``label`` may not be a key label, or ``None`` when it may.

    The label is stored on every pseudonymised row and in the audit trail, so it is an allow-list: a
    letter first, then letters, digits, ``_`` or ``-`` (at most 40); and nothing in it may read as a
    BSN or a date in any form: no run of 6 or more digits, no numbers joined by a separator (``2026-1``,
    ``1-6-2011``), no month name beside a number (``1juni``) and no 4-5 digit run that reads as a
    day, month and year (``1611``). So a version is written as letters after the year: ``rmj-2026a``.
    """
    if not _LABEL.fullmatch(label):
        return "it must start with a letter and hold only letters, digits, '_' or '-' (at most 40 characters)"
    if _LONG_DIGITS.search(label):
        return "it holds a run of 6 or more digits (a BSN or a date without separators)"
    if _SEPARATED_NUMBERS.search(label):
        return "it holds numbers joined by '-' or '_' (a date such as 2026-01-01 or 1-6-2011)"
    if _MONTH_BY_NUMBER.search(label):
        return "it holds a month name beside a number (a date in words)"
    if any(_reads_as_date(m[0]) for m in _SHORT_DIGITS.finditer(label)):
        return "it holds a number that reads as a date (day, month and year)"
    return None


def _refuse_unfit_label(label: str, variable: str) -> None:
    """Refuse a label ``label_problem`` finds unfit, saying why and what a fit one looks like."""
    problem = label_problem(label)
    if problem is not None:
        raise KeyRefused(
            f"{variable} is refused: {problem}. A key label is stored beside every pseudonym, so it holds "
            "letters, digits, '_' and '-' only and nothing that reads as a BSN or a date; "
            "write a version as letters after the year, e.g. 'rmj-2026a'"
        )


def fingerprint(secret: bytes) -> str:
    """A short public label derived from the key (HMAC of a fixed text): reveals nothing of the key."""
    return "fp-" + hmac.new(secret, b"rmj key label", hashlib.sha256).hexdigest()[:12]


def _read_secret(env: Mapping[str, str], settings) -> bytes:
    direct = env.get(settings.ENV_PSEUDONYM_KEY)
    if direct:
        return direct.strip().encode("utf-8")
    key_file = env.get(settings.ENV_PSEUDONYM_KEY_FILE)
    if key_file:
        path = Path(key_file)
        try:
            mode = path.stat().st_mode
            if mode & 0o077:
                raise KeyRefused(
                    f"the pseudonym key file named by {settings.ENV_PSEUDONYM_KEY_FILE} is readable by others than its "
                    f"owner (mode {mode & 0o777:04o}); a secret key must be its owner's only. "
                    f"Run: chmod 600 {path}"
                )
            return path.read_bytes().strip()
        except OSError as error:
            raise KeyRefused(f"cannot read the pseudonym key file named by {settings.ENV_PSEUDONYM_KEY_FILE}: {error.strerror}") from None
    raise KeyRefused(
        f"no pseudonym key: set {settings.ENV_PSEUDONYM_KEY} (at least {MIN_KEY_BYTES} bytes) or "
        f"{settings.ENV_PSEUDONYM_KEY_FILE}; the pipeline never falls back to an unkeyed hash"
    )
