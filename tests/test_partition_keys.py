"""Readable delivery partition keys (issue 26): ``<agb>-<kind>-<yyyymm>-<delivery id>``, from the content only.

The key helps a person find a provider's file in the UI; the delivery id stays the delivery's id. Privacy is an
allow-list: 8 digits that ``name_agb`` takes or ``onbekend``, a known kind or ``onbekend``, never anything of
the name as received. The same bytes keep the key they were first given, an old hash-only one included.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rmj_dagster.intake.landing_zone import delivery_id_of
from rmj_dagster.intake.partition_keys import DeliveryKeys, delivery_id_of_key, readable_key
from tests.jw307_samples import jw305, jw307

CEM = "aanbieder_agb;bsn;geboortedatum;gemeentecode;toewijzingnummer;vragenlijst;invuldatum\n{agb};111222333;2010-01-01;0363;1;OUDERS_EINDE;2025-01-31\n"
STOP = "aanbieder_agb;bsn;geboortedatum;gemeentecode;toewijzingnummer;begindatum;einddatum;reden_beeindiging\n{agb};111222333;2010-01-01;0363;1;2024-01-01;2025-01-01;32\n"
GOALS = "aanbieder_agb,pseudoniem,gemeentecode,toewijzingnummer,trajecttype,meetdatum,doel_nr,gas_score\n{agb},p1,0363,1,A,2025-01-01,1,2\n"
SEEN = datetime(2025, 1, 31, 23, 30)  # UTC, as the landing zone records the first look


def did(content: bytes) -> str:
    return delivery_id_of(hashlib.sha256(content).hexdigest())


@pytest.mark.parametrize(("content", "prefix"), [
    (CEM.format(agb="74968677").encode(), "74968677-responses-202501-"),
    (STOP.format(agb="74968677").encode("cp1252"), "74968677-stop_zorg-202501-"),
    (GOALS.format(agb="74968677").encode("utf-8-sig"), "74968677-goals-202501-"),
    (jw307(agb="74968677").encode(), "74968677-stop_zorg-202501-"),
    (jw305(agb="74968677").encode(), "74968677-start_zorg-202501-"),
])
def test_a_key_reads_as_provider_kind_and_month_and_maps_to_its_delivery_id(content, prefix):
    key = readable_key(content[:65536], SEEN, did(content))
    assert key == prefix + did(content)
    assert delivery_id_of_key(key) == did(content)
    assert delivery_id_of_key(did(content)) == did(content)  # a hash-only key of an older instance


@pytest.mark.parametrize("agb", [
    "111222333",  # a BSN
    "11222311",  # a BSN that lost its leading zero (011222311 passes the 11-proef)
    "20110601", "01062011",  # birth dates
    "1234567", "123456789", "7496867a", "７４９６８６７７",  # not 8 ASCII digits
    "Jansen",
])
def test_an_agb_that_is_no_agb_never_reaches_the_key(agb):
    for content in (CEM.format(agb=agb).encode(), jw307(agb=agb).encode()):
        key = readable_key(content, SEEN, did(content))
        assert key.startswith("onbekend-") and agb not in key, key


@pytest.mark.parametrize("content", [
    b"factuurnummer;bedrag;klant\n1;2;Jansen\n",  # no known kind
    b"\x00\xff\xfe garbage \x89PNG\r\n" * 100,
    "aanbieder_agb;bsn\n74968677;1\n".encode("utf-16"),
    b"",
    b'<?xml version="1.0"?><Bericht xmlns="urn:other"><Afzender>74968677</Afzender></Bericht>',
])
def test_an_unknown_kind_or_garbage_reads_onbekend(content):
    key = readable_key(content, SEEN, did(content))
    assert key.split("-")[1] == "onbekend" and key.endswith(f"-202501-{did(content)}")


def test_a_file_is_keyed_from_its_head_never_its_name(tmp_path):
    named = tmp_path / "Jansen_123456782_20110601_stop_zorg_74968677.csv"
    named.write_bytes(b"kolom\nwaarde\n")
    key = DeliveryKeys([]).of_file(named, SEEN, "0" * 16)
    assert key == f"onbekend-onbekend-202501-{'0' * 16}"
    big = tmp_path / "big.csv"
    big.write_bytes(CEM.format(agb="74968677").encode() + b"\x00" * 20_000_000)  # garbage after the head: not read
    assert DeliveryKeys([]).of_file(big, SEEN, "1" * 16).startswith("74968677-responses-")


@pytest.mark.parametrize("path", ["missing.csv", "."])
def test_a_file_that_cannot_be_read_gets_a_key_all_the_same(tmp_path, path):
    assert DeliveryKeys([]).of_file(tmp_path / path, SEEN, "2" * 16) == f"onbekend-onbekend-202501-{'2' * 16}"


def test_known_bytes_keep_their_key_whatever_its_prefix(tmp_path):
    """A re-drop (another month, another name) is the same delivery: found by its id, an old hash-only key too."""
    content = CEM.format(agb="74968677").encode()
    path = tmp_path / "again.csv"
    path.write_bytes(content)
    later = datetime(2025, 6, 2, tzinfo=UTC)
    first = f"74968677-responses-202501-{did(content)}"
    assert DeliveryKeys([first]).of_file(path, later, did(content)) == first
    assert DeliveryKeys([did(content)]).of_file(path, later, did(content)) == did(content)  # mixed instance
    assert DeliveryKeys([]).of_file(path, later, did(content)) == f"74968677-responses-202506-{did(content)}"


def test_a_claim_left_in_received_keeps_its_key_or_is_keyed_from_its_file(tmp_path):
    from rmj_dagster.intake.landing_zone import LandingZone

    zone = LandingZone(tmp_path).ensure()
    content = CEM.format(agb="74968677").encode()
    (zone.incoming / "x.csv").write_bytes(content)
    (state,) = zone.scan()  # first seen now
    zone.claim("x.csv", did(content))
    assert DeliveryKeys([f"old-{did(content)}"]).of_claim(zone, did(content)) == f"old-{did(content)}"
    assert DeliveryKeys([]).of_claim(zone, did(content)) == readable_key(content, state.received_at, did(content))
    assert Path(zone.received / did(content)).is_dir()
