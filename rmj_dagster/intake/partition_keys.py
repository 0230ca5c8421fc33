"""A delivery's Dagster partition key: ``<agb>-<kind>-<yyyymm>-<delivery id>``.

For example ``74968677-responses-202501-3fa9c0d1e2b4a5f6``: an operator finds a provider's file in the UI's
partition search by AGB, kind or month. The delivery id (the first 16 hex digits of the content's sha256) stays
the delivery's id everywhere else (warehouse, landing zone folders, reason files); ``delivery_id_of_key`` is the
one way from a key to it. The prefix is an allow-list, read from the content as the derived name is
(``file_names``): the AGB only when ``name_agb`` takes it, the kind only when a known kind is recognised, else
``onbekend``; the month the pipeline first saw the file (UTC). Nothing of the name as received.

A key, once added, is the delivery's for ever: the same bytes again (later, under another name) are found by
their id, whatever the key's prefix, the hash-only keys of instances from before this naming included.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from rmj_dagster.intake import file_names
from rmj_dagster.intake.detect import kind_of_head
from rmj_dagster.intake.kinds import KINDS
from rmj_dagster.intake.landing_zone import DELIVERY_ID_LENGTH, LandingZone


def delivery_id_of_key(key: str) -> str:
    """The delivery id a partition key names: its last 16 characters (a key from before readable keys is the id)."""
    return key[-DELIVERY_ID_LENGTH:]


def readable_key(head: bytes, first_seen: datetime, delivery_id: str) -> str:
    """The key of a new delivery from its file's first bytes and when it was first seen (naive = UTC)."""
    agb = file_names.provider_agb_of_head(head) or file_names.UNKNOWN
    kind = kind_of_head(head)
    month = (first_seen.astimezone(UTC) if first_seen.tzinfo else first_seen).strftime("%Y%m")
    return f"{agb}-{kind if kind in KINDS else file_names.UNKNOWN}-{month}-{delivery_id}"


class DeliveryKeys:
    """The partition key of each delivery: the instance's when it knows the delivery id, else a new readable one."""

    def __init__(self, known: Iterable[str]):
        self.by_id = {delivery_id_of_key(key): key for key in known}

    def of_file(self, path: Path, first_seen: datetime, delivery_id: str) -> str:
        """Reads the file's head only, and only for a delivery not known yet; a file that cannot be read (gone,
        not readable, garbage) gets ``onbekend-onbekend-<yyyymm>-<id>``, never an error."""
        if delivery_id not in self.by_id:
            try:
                with path.open("rb") as handle:
                    head = handle.read(file_names.HEAD_BYTES)
            except OSError:
                head = b""
            try:
                self.by_id[delivery_id] = readable_key(head, first_seen, delivery_id)
            except Exception:  # a key must never stop the sensor: the prefix is only a help for people
                self.by_id[delivery_id] = readable_key(b"", first_seen, delivery_id)
        return self.by_id[delivery_id]

    def of_claim(self, zone: LandingZone, delivery_id: str) -> str:
        """A delivery left in ``received/`` by a run (its key is normally known: it was added for that run)."""
        if delivery_id in self.by_id:
            return self.by_id[delivery_id]
        path = zone.claimed(delivery_id)
        micros = zone.first_seen_of_claim(delivery_id)
        if micros is None:
            try:
                micros = path.stat().st_mtime_ns // 1000 if path is not None else None
            except OSError:
                micros = None
        first_seen = datetime.now(UTC) if micros is None else datetime.fromtimestamp(micros / 1e6, UTC)
        return self.of_file(path or zone.received / delivery_id, first_seen, delivery_id)
