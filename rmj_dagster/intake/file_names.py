"""File names outside the landing zone are derived, never the provider's name cleaned (delivery contract v1).

Providers name exports per client (``Jansen_123.456.782_1 juni 2011.csv``), and no pattern catches every
spelling of a BSN, a date or a name. So nothing of the name as received leaves the landing zone: what is
stored (``audit.deliveries``, ``audit.file_receipts``, reason files), logged, put in Dagster metadata or
run/sensor state, or printed is built from what the pipeline knows (``derived_name``)::

    <kind>_<AGB>_<received yyyymmdd>_<nnn>.<extension>      e.g. responses_74968677_20250131_003.csv

- kind: the delivery kind recognised from the content (``onbekend`` when it could not be);
- AGB: the provider's AGB code from the content's first record (``provider_agb``), when it has an AGB's
  shape and reads as neither a date nor a BSN; else ``onbekend``;
- the day the pipeline first saw the file (UTC) and its sequence among the receipts of that kind,
  provider and day (``derived_names``: stored receipts + 1, so a rerun that finds a delivery registered
  keeps its name, and a new one takes the next number);
- the extension of the format read (``csv``, ``xml``), else one of a short list, else ``onbekend``.

A file still in ``incoming/`` (waiting, or not a delivery) is named by its inode (``entry_label``):
``ls -i`` finds it. The name as received is used only to open the file while it is in the landing zone.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

from rmj_dagster.ttp.bsn import passes_elfproef

UNKNOWN = "onbekend"
_DIGITS = re.compile(r"\d+")
_AGB = re.compile(r"\d{8}")
_KIND = re.compile(r"[a-z][a-z0-9_]{0,30}")
EXTENSIONS = {"csv": "csv", "jw305": "xml", "jw307": "xml"}  # the format read -> the extension
HEAD_BYTES = 1 << 16  # how much of a file the AGB is looked for in
_OTHER_EXTENSIONS = frozenset({"csv", "txt", "xml", "xlsx", "xls", "json", "zip", "dat", "tsv"})


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


def name_agb(value: str | None) -> str | None:
    """``value`` as the AGB part of a derived name: exactly 8 ASCII digits that read as neither a date
    (``20110601``, ``01062011``) nor a BSN that lost its leading zero; else ``None``."""
    text = (value or "").strip()
    if not _AGB.fullmatch(text) or not text.isascii():
        return None
    return text if _digit_run(_DIGITS.fullmatch(text)) == text else None


def derived_name(kind: str | None, agb: str | None, received_at: datetime, sequence: int, extension: str) -> str:
    """The name a delivery's file has outside the landing zone (see the module docstring)."""
    kind_part = kind if kind and _KIND.fullmatch(kind) else UNKNOWN
    extension = extension if extension in _OTHER_EXTENSIONS else UNKNOWN
    return f"{name_prefix(kind_part, name_agb(agb), received_at)}{sequence:03d}.{extension}"


def name_prefix(kind: str | None, agb: str | None, received_at: datetime) -> str:
    """What derived names of one kind, provider and day share (the sequence number follows it)."""
    return f"{kind or UNKNOWN}_{agb or UNKNOWN}_{received_at:%Y%m%d}_"


def derived_names(con, receipts: Sequence[tuple[str | None, str | None, datetime, str]]) -> list[str]:
    """The ``derived_name`` of each receipt (kind, AGB, received at, extension), in the order given: each
    prefix's sequence goes on from its stored receipts (``audit.file_receipts``: their number + 1, so a rerun
    that finds a delivery registered keeps its name) through the receipts before it in the list. One query
    for all: a query per file costs more than its file."""
    prefixes = [name_prefix(kind, name_agb(agb), received_at) for kind, agb, received_at, _ in receipts]
    stored = dict(con.execute(
        "select p, count(distinct r.file_name) from unnest(?::varchar[]) t(p) "
        "left join audit.file_receipts r on starts_with(r.file_name, t.p) group by p",
        [sorted(set(prefixes))]).fetchall()) if prefixes else {}
    names = []
    for prefix, (kind, agb, received_at, extension) in zip(prefixes, receipts, strict=True):
        stored[prefix] += 1
        names.append(derived_name(kind, agb, received_at, stored[prefix], extension))
    return names


def extension_for(source_format: str | None, name: str) -> str:
    """The extension of the format read; for a file that could not be read, the received name's extension
    when it is a common one (``csv``, ``xml``, ``xlsx`` ...), else ``onbekend``."""
    if source_format in EXTENSIONS:
        return EXTENSIONS[source_format]
    suffix = Path(name).suffix.lower().lstrip(".")
    return suffix if suffix in _OTHER_EXTENSIONS else UNKNOWN


def provider_agb(path: Path, encoding: str | None = None, delimiter: str | None = None) -> str | None:
    """The provider's AGB code from the content, for the derived name: the ``aanbieder_agb`` of a CSV's
    first record, or the ``Afzender`` of an iJw message's header; ``None`` when there is none, it does not
    read as an AGB (``name_agb``), or the file cannot be read that far. Reads the head of the file only."""
    try:
        with path.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
    except OSError:
        return None
    return provider_agb_of_head(head, encoding, delimiter)


def provider_agb_of_head(head: bytes, encoding: str | None = None, delimiter: str | None = None) -> str | None:
    """``provider_agb`` of a file's first ``HEAD_BYTES`` bytes (the readable partition key reads them once)."""
    try:
        stripped = head.lstrip(b"\xef\xbb\xbf").lstrip()
        if stripped.startswith(b"<"):
            found = re.search(rb"<(?:\w+:)?Header\b.*?<(?:\w+:)?Afzender>\s*([^<]{1,20}?)\s*</", stripped, re.S)
            return name_agb(found[1].decode("ascii", "replace")) if found else None
        text = head.decode(encoding or "utf-8", errors="replace").lstrip("\ufeff")
        lines = [line for line in text.splitlines() if line.strip()][:2]
        if len(lines) < 2:
            return None
        if delimiter is None:
            delimiter = max((";", ",", "\t"), key=lines[0].count)
        header, first = (next(csv.reader([line], delimiter=delimiter)) for line in lines)
        columns = [c.replace("\ufeff", "").strip().strip('"').strip().lower() for c in header]
        return name_agb(first[columns.index("aanbieder_agb")]) if "aanbieder_agb" in columns and len(first) == len(columns) else None
    except (ValueError, csv.Error, LookupError):
        return None


def entry_label(inode: int) -> str:
    """How a file still in ``incoming/`` is named in messages: its inode (``ls -i incoming/`` shows it)."""
    return f"file #{inode}"
