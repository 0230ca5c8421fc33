"""Whole deliveries the pipeline must quarantine, one (or two) per quarantine reason of the codebook.

Each is a mistake real senders make: an empty upload, an invoice export dropped in the wrong folder, a
column forgotten, both identity columns, a message cut off in transfer, a BSN that lost its leading zero in
a JW307 message, a product category written as text in a JW305 message, a UTF-16 export, a spreadsheet
uploaded as-is, a row that lost its last fields, a BSN pasted into another column.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from rmj_dagster import codebook
from rmj_dagster.generate.csv_writers import IDENTITY, LAYOUTS
from rmj_dagster.generate.ijw_writer import SENDER_HABITS, StartProduct, StopProduct, jw305_message, jw307_message
from rmj_dagster.generate.population import Youth
from rmj_dagster.ttp.pseudonym import pseudonym


@dataclass(frozen=True)
class BadFile:
    name: str
    content: bytes
    reason: str
    kind: str | None  # the kind its header or namespace claims, if any
    rows: int


@dataclass(frozen=True)
class Sample:
    """Material for the bad files: a provider, a youth and a day."""

    agb: str
    youth: Youth
    day: date

    def stop_values(self) -> list[str]:
        d = self.day.isoformat()
        return [self.agb, self.youth.bsn, self.youth.birth.isoformat(), self.youth.gemeentecode, "4100231", "45",
                "45A53", "2024-02-01", d, "31", "1"]

    def message(self, bsn: str | None = None) -> bytes:
        product = StopProduct("4100231", "45", "45A53", date(2024, 2, 1), self.day, "31")
        return jw307_message(agb=self.agb, gemeente=self.youth.gemeentecode, youth=self.youth, message_id="EXP000000001",
                             dagtekening=self.day, products=[product], habit=SENDER_HABITS[-1], bsn=bsn)


def _empty(s: Sample) -> BadFile:
    return BadFile(f"cem_{s.agb}_{s.day:%Y%m%d}.csv", b"", "empty_file", None, 0)


def _unknown_kind(s: Sample) -> BadFile:
    text = "factuurnummer;clientnummer;periode;bedrag\n2025-0113;10023;2025-01;1.250,00\n2025-0114;10024;2025-01;980,50\n"
    return BadFile(f"facturen_{s.agb}.csv", text.encode("utf-8"), "unknown_kind", None, 2)


def _missing_column(s: Sample) -> BadFile:
    columns = [c for c in LAYOUTS["goals"] if c != "meetdatum"]
    values = [s.agb, s.youth.bsn, s.youth.gemeentecode, "4100231", "PERSPECTIEF", "1", "1", "", "3"]
    text = ";".join(columns) + "\n" + ";".join(values) + "\n"
    return BadFile(f"doelen_{s.agb}_{s.day.year}_v2.csv", text.encode("utf-8"), "missing_required_column", "goals", 1)


def _mixed_identity(s: Sample) -> BadFile:
    columns = list(LAYOUTS["stop_zorg"])
    columns.insert(columns.index(IDENTITY) + 1, "pseudoniem")
    values = s.stop_values()
    values.insert(2, pseudonym(s.youth.bsn, b"a TTP key the region never sees, 32+ bytes"))
    text = ",".join(columns) + "\r\n" + ",".join(values) + "\r\n"
    return BadFile(f"stopzorg-{s.agb}-{s.day.year}-ttp.csv", text.encode("utf-8"), "mixed_identity", "stop_zorg", 1)


def _truncated_xml(s: Sample) -> BadFile:
    content = s.message()
    return BadFile(f"JW307_{s.agb}_99001.xml", content[: len(content) * 3 // 5], "xml_not_well_formed", "stop_zorg", 0)


def _invalid_jw307(s: Sample) -> BadFile:
    content = s.message(bsn=s.youth.bsn.lstrip("0") if s.youth.bsn.startswith("0") else s.youth.bsn[1:])
    return BadFile(f"JW307_{s.agb}_99002.xml", content, "xml_not_valid_jw307", "stop_zorg", 0)


def _invalid_jw305(s: Sample) -> BadFile:
    """A start message whose sender wrote the product category as text the schema does not allow."""
    product = StartProduct("4100232", "Jeugd-GGZ", "45A53", date(2024, 2, 1))
    content = jw305_message(agb=s.agb, gemeente=s.youth.gemeentecode, youth=s.youth, message_id="EXP000000002",
                            dagtekening=date(2024, 2, 3), products=[product], habit=SENDER_HABITS[0])
    return BadFile(f"JW305_{s.agb}_99003.xml", content, "xml_not_valid_jw305", "start_zorg", 0)


def _utf16(s: Sample) -> BadFile:
    text = ";".join(LAYOUTS["stop_zorg"]) + "\r\n" + ";".join(s.stop_values()) + "\r\n"
    return BadFile(f"stopzorg_{s.agb}_unicode.csv", text.encode("utf-16-le"), "unreadable_encoding", None, 1)


def _spreadsheet(s: Sample) -> BadFile:
    rng = random.Random(f"{s.agb}:xlsx")
    body = bytes(rng.randrange(256) for _ in range(1500))
    return BadFile("Doelrealisatie totaal.xlsx", b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + body, "unreadable_encoding", None, 0)


def _ragged(s: Sample) -> BadFile:
    columns = LAYOUTS["stop_zorg"]
    full = ";".join(s.stop_values())
    cut = ";".join(s.stop_values()[:7])  # the export stopped mid-row
    text = ";".join(columns) + "\n" + full + "\n" + cut + "\n"
    return BadFile(f"Stop zorg {s.agb} handmatig.csv", text.encode("utf-8"), "unreadable_csv", "stop_zorg", 2)


def _doctype(s: Sample) -> BadFile:
    """A message from a tool that writes an internal DTD and uses an entity for a repeated code."""
    content = s.message()
    head, _, rest = content.partition(b"?>")
    root = rest.lstrip().split(b">", 1)[0].split()[0].lstrip(b"<")
    content = head + b'?>\n<!DOCTYPE ' + root + b' [<!ENTITY c "45A53">]>' + rest.replace(b">45A53<", b">&c;<", 1)
    return BadFile(f"JW307_{s.agb}_99003.xml", content, "xml_doctype_refused", "stop_zorg", 0)


def _giant_cell(s: Sample) -> BadFile:
    """A stop-zorg export with a free-text column into which a whole document was pasted (over 2 MB)."""
    columns = [*LAYOUTS["stop_zorg"], "opmerking"]
    note = "Verslag van het eindgesprek. " * 80_000
    text = ";".join(columns) + "\n" + ";".join([*s.stop_values(), f'"{note}"']) + "\n"
    return BadFile(f"stopzorg_{s.agb}_met_verslag.csv", text.encode("utf-8"), "line_too_long", "stop_zorg", 1)


NOT_MADE = frozenset({"unreadable_file", "identifier_in_field"})
"""Quarantine reasons no bad file is made for: ``unreadable_file`` is the catch-all for failures nobody
foresaw, and a failure someone can plant gets a reason of its own. ``identifier_in_field`` (a delivery's own
BSN, birth date or name in a stored field) stays as a defence, but with every field typed at the door
(``field_types.csv``) no such value is of a stored field's type: a BSN pasted into a product code is no
product code (stored as NULL, never as text)."""

MAKERS: dict[str, list[Callable[[Sample], BadFile]]] = {
    "empty_file": [_empty],
    "unknown_kind": [_unknown_kind],
    "unreadable_encoding": [_utf16, _spreadsheet],
    "missing_required_column": [_missing_column],
    "mixed_identity": [_mixed_identity],
    "xml_not_well_formed": [_truncated_xml],
    "xml_not_valid_jw307": [_invalid_jw307],
    "xml_not_valid_jw305": [_invalid_jw305],
    "unreadable_csv": [_ragged],
    "xml_doctype_refused": [_doctype],
    "line_too_long": [_giant_cell],
}


# bad messages per kind (JW307 truncated, schema-invalid, with a DOCTYPE; JW305 invalid): they count against the caps on iJw files
XML_BAD_FILES = {"stop_zorg": 3, "start_zorg": 1}


def bad_files(sample: Sample) -> list[BadFile]:
    """One or more bad files for every quarantine reason in the codebook that the generator knows to make."""
    return [make(sample) for row in codebook.rows("quarantine_reasons") for make in MAKERS.get(row["reason_code"], [])]
