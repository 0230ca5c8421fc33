"""The sample generator: reproducible, schema-valid, consistent, varied, and honest about what it planted.

Files are read back with the csv module and lxml (not with the pipeline's reader), so these tests judge the
generator on its own; one test runs ``rmj process`` over planted defects and holds it to the truth file.
"""

from __future__ import annotations

import calendar
import csv
import hashlib
import io
import json
import subprocess
import sys
import tracemalloc
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from lxml import etree

from rmj_dagster import codebook
from rmj_dagster.generate import GenerationSummary, generate_deliveries
from rmj_dagster.generate.bad_files import NOT_MADE
from rmj_dagster.intake.ijw import NS_BASIS, NS_JW305, NS_JW307
from rmj_dagster.ttp.bsn import normalise_bsn, passes_elfproef
from rmj_dagster.ttp.pseudonym import is_pseudonym, pseudonym
from tests.conftest import SHARED

TODAY = date(2026, 11, 22)
KEY = b"a test TTP key of at least thirty-two bytes"
XSD = SHARED / "reference" / "ijw-3.2" / "JW307.xsd"
XSD_JW305 = SHARED / "reference" / "ijw-3.2" / "JW305.xsd"
SIGNATURES = {"vragenlijst": "responses", "reden_beeindiging": "stop_zorg", "gas_score": "goals"}
REGION = {r["gemeentecode"]: r for r in codebook.rows("region")}
GEMEENTEN = {r["gemeentecode"] for r in codebook.rows("gemeenten")}
VALID_ANSWERS = {
    r["item"]: {""} | {f"{v}" for v in range(int(r["min_value"]), int(r["max_value"]) + 1)}
    | {f"{v:02d}" for v in range(int(r["min_value"]), int(r["max_value"]) + 1)} | {r["not_applicable_value"]} - {""}
    for r in codebook.rows("cem_items")
}
CONTRACT_COLUMNS = {
    "aanbieder_agb", "bsn", "pseudoniem", "geboortedatum", "gemeentecode", "toewijzingnummer", "vragenlijst", "invuldatum",
    *VALID_ANSWERS, "geen_inzage_hulpverlener", "productcategorie", "productcode", "begindatum", "einddatum",
    "reden_beeindiging", "status_aanlevering", "trajecttype", "meetdatum", "doel_nr", "gas_score", "gewicht", "probleemafname",
}


@dataclass
class Delivery:
    """A generated CSV as read back: how it was written and its rows (header names normalised)."""

    path: Path
    kind: str | None
    encoding: str
    delimiter: str
    raw_header: list[str]
    rows: list[dict[str, str]]
    text: str

    @property
    def columns(self) -> list[str]:
        return [c.strip().lower() for c in self.raw_header]


def read_csv(path: Path) -> Delivery:
    raw = path.read_bytes()
    if not raw.strip() or b"\x00" in raw:  # the planted empty and UTF-16 files
        return Delivery(path, None, "utf-8", ";", [], [], "")
    try:
        encoding, text = ("utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8"), raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        encoding, text = "cp1252", raw.decode("cp1252")
    first = text.splitlines()[0]
    delimiter = max(";,", key=first.count)
    csv.field_size_limit(1 << 24)  # the planted line_too_long file has a cell of megabytes
    records = [r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if r]
    header = records[0]
    columns = [c.strip().lower() for c in header]
    kind = next((k for signature, k in SIGNATURES.items() if signature in columns), None)
    return Delivery(path, kind, encoding, delimiter, header, [dict(zip(columns, r, strict=False)) for r in records[1:]], text)


def csv_deliveries(folder: Path) -> list[Delivery]:
    return [read_csv(p) for p in sorted((folder / "incoming").iterdir()) if p.suffix.lower() == ".csv"]


def messages(folder: Path, namespace: str = NS_JW307) -> list[Path]:
    """The iJw messages of one kind (by the namespace near their start; truncated ones included)."""
    return sorted(p for p in (folder / "incoming").glob("*.xml") if namespace.encode() in p.read_bytes()[:300])


def start_records(folder: Path) -> list[dict[str, str]]:
    records = []
    for path in messages(folder, NS_JW305):
        root = etree.parse(str(path)).getroot()
        for product in root.iter(f"{{{NS_JW305}}}StartProduct"):
            records.append({
                "aanbieder_agb": root.findtext(f".//{{{NS_JW305}}}Afzender"),
                "bsn": root.findtext(f".//{{{NS_JW305}}}Bsn"),
                "toewijzingnummer": product.findtext(f"{{{NS_JW305}}}ToewijzingNummer"),
                "begindatum": product.findtext(f"{{{NS_JW305}}}Begindatum"),
                "_file": path.name,
            })
    return records


def truth_of(folder: Path) -> dict:
    return json.loads((folder / "generator_truth.json").read_text(encoding="utf-8"))


def parse_day(text: str) -> date | None:
    for pattern in ("%Y-%m-%d", "%d-%m-%Y", "%Y%m%d"):
        try:
            return datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
    return None


def parse_birth(text: str) -> tuple[date, date]:
    """Earliest and latest possible birth date (YYYYMM00: any day of the month)."""
    if len(text) == 8 and text.isdigit() and text.endswith("00"):
        first = date(int(text[:4]), int(text[4:6]), 1)
        last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        return first, last
    day = parse_day(text)
    return day, day


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def digest(folder: Path) -> dict[str, str]:
    files = sorted((folder / "incoming").iterdir()) + [folder / "generator_truth.json"]
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def stop_records(folder: Path) -> list[dict[str, str]]:
    """Stop records from CSV and JW307 alike, with the file they came from and its mtime."""
    records = []
    for delivery in csv_deliveries(folder):
        if delivery.kind == "stop_zorg":
            mtime = delivery.path.stat().st_mtime
            records += [r | {"_file": delivery.path.name, "_mtime": mtime} for r in delivery.rows]
    for path in messages(folder):
        root = etree.parse(str(path)).getroot()
        for product in root.iter(f"{{{NS_JW307}}}StopProduct"):
            records.append({
                "aanbieder_agb": root.findtext(f".//{{{NS_JW307}}}Afzender"),
                "bsn": root.findtext(f".//{{{NS_JW307}}}Bsn"),
                "toewijzingnummer": product.findtext(f"{{{NS_JW307}}}ToewijzingNummer"),
                "begindatum": product.findtext(f"{{{NS_JW307}}}Begindatum"),
                "einddatum": product.findtext(f"{{{NS_JW307}}}Einddatum"),
                "reden_beeindiging": product.findtext(f"{{{NS_JW307}}}RedenBeeindiging"),
                "status_aanlevering": product.findtext(f"{{{NS_JW307}}}StatusAanlevering"),
                "_file": path.name, "_mtime": path.stat().st_mtime,
            })
    return records


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("clean")
    generate_deliveries(out, seed=3, scale=0.3, today=TODAY)
    return out


@pytest.fixture(scope="module")
def with_defects(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("defects")
    generate_deliveries(out, seed=11, scale=0.3, defect_rate=0.08, today=TODAY)
    return out


# --- reproducibility ---------------------------------------------------------------------------------
def test_same_seed_same_bytes_other_seed_other_bytes(clean, tmp_path):
    generate_deliveries(tmp_path / "again", seed=3, scale=0.3, today=TODAY)
    generate_deliveries(tmp_path / "other", seed=4, scale=0.3, today=TODAY)
    assert digest(tmp_path / "again") == digest(clean)
    other = digest(tmp_path / "other")
    assert not set(other.items()) & set(digest(clean).items())


def test_summary_counts_what_was_written(tmp_path):
    summary = generate_deliveries(tmp_path, seed=8, scale=0.2, years=[2025], defect_rate=0.05, today=TODAY)
    assert isinstance(summary, GenerationSummary)
    truth = truth_of(tmp_path)
    assert summary.truth_path == tmp_path / "generator_truth.json" and not (tmp_path / "incoming" / "generator_truth.json").exists()
    assert sum(summary.files.values()) == len(list((tmp_path / "incoming").iterdir())) == len(truth["files"])
    assert dict(summary.rows) == truth["totals"]["rows"] and dict(summary.defects) == truth["totals"]["defects"]
    assert 300 < summary.ended_trajectories < 500  # ~2,000 a year at scale 1
    text = str(summary)
    assert "responses" in text and "JW307" in text and "planted" in text and str(summary.truth_path) in text


# --- JW307 -------------------------------------------------------------------------------------------
def test_jw307_messages_validate_against_the_ijw_schema(clean):
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    found = messages(clean)
    assert 0 < len(found) <= 40
    prefixes = set()
    for path in found:
        tree = etree.parse(str(path))
        assert schema.validate(tree), (path.name, schema.error_log)
        root = tree.getroot()
        prefixes.add(tuple(sorted((k or "", v) for k, v in root.nsmap.items())))
        assert root.find(f".//{{{NS_BASIS}}}Identificatie") is not None  # shared types in the basisschema namespace
        assert root.find(f".//{{{NS_JW307}}}Naam/{{{NS_BASIS}}}Geslachtsnaam/{{{NS_BASIS}}}Achternaam") is not None
    assert len(prefixes) >= 2, "senders should bind different prefixes"
    assert {r["status_aanlevering"] for r in stop_records(clean) if r["_file"].endswith(".xml")} == {"1", "2", "3"}


@pytest.mark.parametrize("defect_rate", [0.0, 0.05])
def test_jw307_file_budget_is_respected(tmp_path, defect_rate):
    generate_deliveries(tmp_path, seed=3, scale=0.5, jw307_max_files=5, defect_rate=defect_rate, today=TODAY)
    assert 0 < len(messages(tmp_path)) <= 5


def test_planted_bad_messages_fail_as_planted(with_defects):
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    files = truth_of(with_defects)["files"]
    invalid = [n for n, f in files.items() if f["reason_code"] == "xml_not_valid_jw307"]
    broken = [n for n, f in files.items() if f["reason_code"] == "xml_not_well_formed"]
    assert invalid and broken
    for name in invalid:
        tree = etree.parse(str(with_defects / "incoming" / name))
        assert etree.QName(tree.getroot()).namespace == NS_JW307 and not schema.validate(tree)
    for name in broken:
        with pytest.raises(etree.XMLSyntaxError):
            etree.parse(str(with_defects / "incoming" / name))
    with_doctype = [n for n, f in files.items() if f["reason_code"] == "xml_doctype_refused"]
    assert with_doctype
    for name in with_doctype:  # a fine message but for its DOCTYPE: a parser that expands entities accepts it
        assert schema.validate(etree.parse(str(with_defects / "incoming" / name), etree.XMLParser(no_network=True)))
    schemas = {"jw307": schema, "jw305": etree.XMLSchema(etree.parse(str(XSD_JW305)))}
    for name, entry in files.items():
        if name.endswith(".xml") and entry["outcome"] == "processed":
            assert schemas[entry["format"]].validate(etree.parse(str(with_defects / "incoming" / name))), name
    invalid_starts = [n for n, f in files.items() if f["reason_code"] == "xml_not_valid_jw305"]
    assert invalid_starts
    for name in invalid_starts:
        tree = etree.parse(str(with_defects / "incoming" / name))
        assert etree.QName(tree.getroot()).namespace == NS_JW305 and not schemas["jw305"].validate(tree)


# --- consistency of clean data -------------------------------------------------------------------------
def test_every_response_and_goal_belongs_to_a_trajectory(clean):
    trajectories = {(r["aanbieder_agb"], r["toewijzingnummer"]) for r in stop_records(clean)}
    deliveries = csv_deliveries(clean)
    responses = [r for d in deliveries if d.kind == "responses" for r in d.rows]
    goals = [r for d in deliveries if d.kind == "goals" for r in d.rows]
    assert len(responses) > 200 and len(goals) > 1000
    orphans = [r for r in responses if (r["aanbieder_agb"], r["toewijzingnummer"]) not in trajectories and not r["vragenlijst"].endswith("DUURZAAM")]
    orphans += [g for g in goals if (g["aanbieder_agb"], g["toewijzingnummer"]) not in trajectories and g["trajecttype"] != "DUURZAAM"]
    assert orphans == []
    long_term = {(r["aanbieder_agb"], r["toewijzingnummer"]) for r in goals if r["trajecttype"] == "DUURZAAM"}
    assert long_term - trajectories, "some long-term trajectories run on without a stop record"


def test_clean_data_passes_every_contract_rule(clean):
    latest = TODAY - timedelta(days=3)
    versions = {r["vragenlijst"]: r for r in codebook.rows("vragenlijsten")}
    redenen = {r["reden_beeindiging"] for r in codebook.rows("reden_beeindiging")}
    for delivery in csv_deliveries(clean):
        for row in delivery.rows:
            bsn = normalise_bsn(row["bsn"])
            assert bsn and passes_elfproef(bsn), delivery.path.name
            code = row["gemeentecode"].upper().removeprefix("GM")
            assert code in REGION and not REGION[code]["valid_until"], (delivery.path.name, code)  # no Beemster after 2021
            assert len(row["aanbieder_agb"]) == 8 and row["aanbieder_agb"].isdigit()
            assert row["toewijzingnummer"].isdigit() and int(row["toewijzingnummer"]) <= 999_999_999
            if delivery.kind == "responses":
                day = parse_day(row["invuldatum"])
                earliest, last = parse_birth(row["geboortedatum"])
                version = versions[row["vragenlijst"]]
                assert day <= latest and day >= last
                high = int(version["max_age"]) if version["max_age"] else 99
                # the version fits the age (YYYYMM00: for some day of the birth month), and the youth is 0-17
                assert int(version["min_age"]) <= age_on(earliest, day) and age_on(last, day) <= high
                assert age_on(earliest, day) >= 0 and age_on(last, day) <= 17
            elif delivery.kind == "stop_zorg":
                begin, end = parse_day(row["begindatum"]), parse_day(row["einddatum"])
                earliest, last = parse_birth(row["geboortedatum"])
                assert earliest <= begin <= end <= latest and age_on(last, end) <= 17
                assert row["reden_beeindiging"] in redenen and row["status_aanlevering"] in ("", "1", "2", "3")
            else:
                assert parse_day(row["meetdatum"]) <= latest and row["trajecttype"] in ("PERSPECTIEF", "INTENSIEF", "DUURZAAM")
                assert -2 <= int(row["gas_score"]) <= 2 and row["gewicht"] in ("", "1", "2") and row["probleemafname"] in ("", "1", "2", "3")
    assert truth_of(clean)["totals"]["defects"] == {}


def test_one_probleemafname_per_measurement_and_no_duplicate_rows(clean):
    for delivery in csv_deliveries(clean):
        lines = [tuple(r.values()) for r in delivery.rows]
        assert len(lines) == len(set(lines)), delivery.path.name
        if delivery.kind == "goals":
            scores: dict[tuple, set] = {}
            for r in delivery.rows:
                scores.setdefault((r["bsn"], r["toewijzingnummer"], r["meetdatum"]), set()).add(r["probleemafname"])
            assert all(len(s) == 1 for s in scores.values())
            assert 1 <= max(Counter((r["bsn"], r["toewijzingnummer"], r["meetdatum"]) for r in delivery.rows).values()) <= 4


def test_realistic_shares(clean):
    stop = [r for r in stop_records(clean) if r["status_aanlevering"] in ("", "1")]
    reden = Counter(r["reden_beeindiging"] for r in stop)
    assert 0.5 < reden["31"] / len(stop) < 0.7 and 0.07 < reden["32"] / len(stop) < 0.18
    deliveries = csv_deliveries(clean)
    cem = [r for d in deliveries if d.kind == "responses" for r in d.rows]
    answered = {(r["aanbieder_agb"], r["toewijzingnummer"]) for r in cem if r["vragenlijst"].endswith("EINDE")}
    ended = {(r["aanbieder_agb"], r["toewijzingnummer"]) for r in stop}
    assert 0.25 < len(answered & ended) / len(ended) < 0.45
    positive = sum(r["q03"] in ("4", "5") for r in cem) / len(cem)
    assert positive > 0.55
    assert Counter(r["q09"] for r in cem).most_common(1)[0][0] in ("7", "8")
    inzage = sum(r["geen_inzage_hulpverlener"].lower() in ("1", "ja", "true") for r in cem) / len(cem)
    assert 0.05 < inzage < 0.15
    municipalities = Counter(r["gemeentecode"].upper().removeprefix("GM") for d in deliveries if d.kind == "goals" for r in d.rows)
    assert municipalities.most_common(1)[0][0] == "0363"


# --- variety -----------------------------------------------------------------------------------------
def test_providers_export_in_every_allowed_format(clean):
    deliveries = csv_deliveries(clean)
    assert {d.encoding for d in deliveries} == {"utf-8", "utf-8-sig", "cp1252"}
    assert {d.delimiter for d in deliveries} == {",", ";"}
    assert any("\r\n" in d.text for d in deliveries) and any("\r\n" not in d.text for d in deliveries)
    assert any(d.text.endswith(("\n\n", "\r\n\r\n")) for d in deliveries)
    assert any(c != c.strip().lower() for d in deliveries for c in d.raw_header)
    formats = {len(r["begindatum"]) == 8 or r["begindatum"][2] == "-" for d in deliveries if d.kind == "stop_zorg" for r in d.rows}
    assert formats == {True, False}
    assert any(r["geboortedatum"].endswith("00") and len(r["geboortedatum"]) == 8 for d in deliveries if d.kind == "responses" for r in d.rows)
    rows = [r for d in deliveries for r in d.rows]
    assert any(r["gemeentecode"].startswith("GM") for r in rows)
    assert any(len(r["bsn"]) < 9 for r in rows), "a spreadsheet dropped leading zeros"
    assert {r["q10"] for d in deliveries if d.kind == "responses" for r in d.rows} >= {"01", "1", ""}
    spellings = {r["geen_inzage_hulpverlener"] for d in deliveries if d.kind == "responses" for r in d.rows}
    assert spellings >= {"1", "0", "ja", "nee", "true", "false"}
    assert {c for d in deliveries for c in d.columns} - CONTRACT_COLUMNS == {"clientnaam", "opmerking"}
    names = [r["clientnaam"] for d in deliveries if "clientnaam" in d.columns for r in d.rows]
    assert names and all(" " in n for n in names)
    assert any(d.path.name.startswith("Export (") for d in deliveries)


def test_jw307_messages_carry_several_products_of_one_client(clean):
    counts = [len(etree.parse(str(p)).getroot().findall(f".//{{{NS_JW307}}}StopProduct")) for p in messages(clean)]
    assert max(counts) >= 2 and min(counts) == 1  # one client per message, several StopProduct where it has them


def test_jw305_starts_are_valid_and_give_long_term_trajectories_their_begin_date(clean):
    schema = etree.XMLSchema(etree.parse(str(XSD_JW305)))
    found = messages(clean, NS_JW305)
    assert 0 < len(found) <= 40
    assert all(schema.validate(etree.parse(str(p))) for p in found)
    prefixes = {tuple(sorted((k or "", v) for k, v in etree.parse(str(p)).getroot().nsmap.items())) for p in found}
    assert len(prefixes) >= 2, "senders should bind different prefixes"
    deliveries = csv_deliveries(clean)
    long_term = {(r["aanbieder_agb"], r["toewijzingnummer"]): r["bsn"] for d in deliveries if d.kind == "responses"
                 for r in d.rows if r["vragenlijst"].endswith("_DUURZAAM")}
    long_term |= {(r["aanbieder_agb"], r["toewijzingnummer"]): r["bsn"] for d in deliveries if d.kind == "goals"
                  for r in d.rows if r["trajecttype"] == "DUURZAAM"}
    starts = start_records(clean)
    keys = [(r["aanbieder_agb"], r["toewijzingnummer"]) for r in starts]
    assert len(keys) == len(set(keys)), "one start per trajectory"
    for start in starts:  # the start of a long-term trajectory the same youth has questionnaires or goals for
        key = (start["aanbieder_agb"], start["toewijzingnummer"])
        assert normalise_bsn(long_term[key]) == start["bsn"]
    stops = {(r["aanbieder_agb"], r["toewijzingnummer"]): parse_day(r["begindatum"]) for r in stop_records(clean)}
    ended = [s for s in starts if (s["aanbieder_agb"], s["toewijzingnummer"]) in stops]
    assert ended, "some started long-term trajectories also end"
    assert all(stops[(s["aanbieder_agb"], s["toewijzingnummer"])] == parse_day(s["begindatum"]) for s in ended)
    answered = {(r["aanbieder_agb"], r["toewijzingnummer"]) for d in deliveries if d.kind == "responses"
                for r in d.rows if r["vragenlijst"].endswith("_DUURZAAM")}
    assert answered & set(keys), "yearly questionnaires of started trajectories: the CBS extract lists them"
    assert answered - set(keys), "and of trajectories without a start message: counted as unlisted"


@pytest.mark.parametrize("defect_rate", [0.0, 0.05])
def test_jw305_file_budget_is_respected(tmp_path, defect_rate):
    generate_deliveries(tmp_path, seed=3, scale=0.5, jw305_max_files=5, defect_rate=defect_rate, today=TODAY)
    assert 0 < len(messages(tmp_path, NS_JW305)) <= 5


def _numbers(folder: Path) -> list[tuple[str, str, str]]:
    """(provider, municipality, toewijzingnummer) of every record written."""
    rows = [(r["aanbieder_agb"], r["gemeentecode"].upper().removeprefix("GM"), r["toewijzingnummer"])
            for d in csv_deliveries(folder) if d.kind for r in d.rows]
    return rows + [(r["aanbieder_agb"], "", r["toewijzingnummer"]) for r in stop_records(folder) + start_records(folder)]


def test_municipalities_number_their_toewijzingen_in_their_own_scheme(clean):
    numbers = _numbers(clean)
    texts = {n for _, _, n in numbers}
    year_prefixed = {n for n in texts if len(n) == 8 and n[:2] == "20" and 2000 <= int(n[:4]) <= 2026}
    nine = {n for n in texts if len(n) == 9}
    assert year_prefixed and any(n[4:8] in {f"{m:02d}{d:02d}" for m in range(1, 13) for d in range(1, 29)} for n in year_prefixed), \
        "some read like dates (2025MMDD)"
    assert nine and any(passes_elfproef(n) for n in nine) and not all(passes_elfproef(n) for n in nine)
    assert any(n.startswith("00") and len(n) == 8 for n in texts)
    assert any(len(n) <= 5 for n in texts)
    schemes: dict[str, set[str]] = {}
    for _, code, number in numbers:
        if code:
            kind = ("zeros" if number.startswith("0") else "year" if number in year_prefixed
                    else "short" if len(number) <= 5 else f"{len(number)} digits")
            schemes.setdefault(code, set()).add(kind)
    assert len({frozenset(s) for s in schemes.values()}) >= 4 and all(len(s) == 1 for s in schemes.values()), schemes
    by_value: dict[tuple[str, int], set[str]] = {}
    for agb, _, number in numbers:  # one provider never holds two toewijzingen with the same value
        by_value.setdefault((agb, int(number)), set()).add(number)
    assert all(len(v) == 1 for v in by_value.values())


def test_numbering_in_one_provider_wide_sequence_when_asked(tmp_path):
    generate_deliveries(tmp_path, seed=3, scale=0.2, years=[2025], today=TODAY, varied_numbering=False)
    assert all(6 <= len(n) <= 8 and not n.startswith("0") for _, _, n in _numbers(tmp_path))
    assert truth_of(tmp_path)["generator"]["varied_numbering"] is False


def test_corrections_replace_earlier_records_in_later_files(clean):
    records = stop_records(clean)
    firsts = {(r["aanbieder_agb"], r["toewijzingnummer"], parse_day(r["begindatum"])): r for r in records if r["status_aanlevering"] in ("", "1")}
    corrections = [r for r in records if r["status_aanlevering"] in ("2", "3")]
    assert {r["status_aanlevering"] for r in corrections} == {"2", "3"}
    for r in corrections:
        original = firsts[(r["aanbieder_agb"], r["toewijzingnummer"], parse_day(r["begindatum"]))]
        assert original["_file"] != r["_file"] and original["_mtime"] < r["_mtime"]
        if r["status_aanlevering"] == "2":
            assert (parse_day(r["einddatum"]), r["reden_beeindiging"]) != (parse_day(original["einddatum"]), original["reden_beeindiging"])


# --- planted defects ---------------------------------------------------------------------------------
def _recount(delivery: Delivery) -> Counter:
    """Reasons that can be told from a row alone, judged independently of the generator and the pipeline."""
    found = Counter()
    previous = None
    for row in delivery.rows:
        values = tuple(row.values())
        if values == previous:
            found["exact_duplicate"] += 1
            continue
        previous = values
        identity = row.get("bsn", row.get("pseudoniem", ""))
        if not identity.strip():
            found["identity_missing"] += 1
        elif "bsn" in row and normalise_bsn(row["bsn"]) is None:
            found["bsn_invalid_format"] += 1
        elif "bsn" in row and not passes_elfproef(normalise_bsn(row["bsn"])):
            found["bsn_elfproef"] += 1
        elif "pseudoniem" in row and not is_pseudonym(row["pseudoniem"]):
            found["pseudoniem_invalid"] += 1
        own = normalise_bsn(row["bsn"]) if "bsn" in row else None
        if own and passes_elfproef(own) and row["toewijzingnummer"].isdigit() and int(row["toewijzingnummer"]) == int(own):
            found["identifier_in_field"] += 1  # the youth's own BSN as toewijzingnummer
        if not (len(row["aanbieder_agb"]) == 8 and row["aanbieder_agb"].isdigit()):
            found["agb_invalid"] += 1
        code = row["gemeentecode"].upper().removeprefix("GM")
        if code not in GEMEENTEN and code not in REGION:
            found["gemeentecode_unknown"] += 1
        elif code not in REGION:
            found["gemeentecode_out_of_region"] += 1
        if not (row["toewijzingnummer"].isdigit() and int(row["toewijzingnummer"]) <= 999_999_999):
            found["toewijzingnummer_invalid"] += 1
        event = {"responses": "invuldatum", "stop_zorg": "einddatum", "goals": "meetdatum"}[delivery.kind]
        day = parse_day(row[event])
        if day is None:
            found["date_invalid"] += 1
        elif day > TODAY:
            found["date_in_future"] += 1
        if delivery.kind == "responses":
            found["vragenlijst_unknown"] += row["vragenlijst"] not in {r["vragenlijst"] for r in codebook.rows("vragenlijsten")}
            found["answer_out_of_range"] += any(row[item] not in allowed for item, allowed in VALID_ANSWERS.items())
        if delivery.kind == "stop_zorg":
            found["reden_beeindiging_unknown"] += row["reden_beeindiging"] not in {r["reden_beeindiging"] for r in codebook.rows("reden_beeindiging")}
            found["status_aanlevering_invalid"] += row["status_aanlevering"] not in ("", "1", "2", "3")
            begin = parse_day(row["begindatum"])
            found["end_before_begin"] += bool(day and begin and day < begin)
        if delivery.kind == "goals":
            found["trajecttype_unknown"] += row["trajecttype"] not in ("PERSPECTIEF", "INTENSIEF", "DUURZAAM")
            found["doel_nr_invalid"] += not (row["doel_nr"].isdigit() and int(row["doel_nr"]) >= 1)
            found["gas_score_out_of_range"] += row["gas_score"] not in ("-2", "-1", "0", "1", "2", "+1", "+2")
            found["gewicht_invalid"] += row["gewicht"] not in ("", "1", "2")
            found["probleemafname_out_of_range"] += row["probleemafname"] not in ("", "1", "2", "3")
    return +found


def test_planted_row_defects_match_the_truth_file(with_defects):
    truth = truth_of(with_defects)
    recounted = set()
    for delivery in csv_deliveries(with_defects):
        entry = truth["files"][delivery.path.name]
        if entry["outcome"] != "processed":
            continue
        found = _recount(delivery)
        recounted |= set(found)
        assert entry["rows"] == len(delivery.rows)
        assert found == Counter({reason: n for reason, n in entry["defects"].items() if reason in _SIMPLE}), delivery.path.name
    assert recounted == _SIMPLE - {"pseudoniem_invalid"}
    totals = truth["totals"]["defects"]
    assert totals == dict(sorted(sum((Counter(e["defects"]) for e in truth["files"].values()), Counter()).items()))
    applicable = {r["reason_code"] for r in codebook.rows("reject_reasons")} - {"pseudoniem_invalid"}
    assert set(totals) == applicable, "every reject reason is planted somewhere"


_SIMPLE = {"exact_duplicate", "identity_missing", "bsn_invalid_format", "bsn_elfproef", "pseudoniem_invalid", "identifier_in_field", "agb_invalid",
           "gemeentecode_unknown", "gemeentecode_out_of_region", "toewijzingnummer_invalid", "date_invalid", "date_in_future",
           "vragenlijst_unknown", "answer_out_of_range", "reden_beeindiging_unknown", "status_aanlevering_invalid",
           "end_before_begin", "trajecttype_unknown", "doel_nr_invalid", "gas_score_out_of_range", "gewicht_invalid",
           "probleemafname_out_of_range"}
"""Reasons ``_recount`` tells from a row alone (the others need the birth date or the whole measurement)."""


def test_bad_files_cover_every_quarantine_reason(with_defects):
    truth = truth_of(with_defects)
    reasons = Counter(f["reason_code"] for f in truth["files"].values() if f["outcome"] == "quarantined")
    assert set(reasons) == {r["reason_code"] for r in codebook.rows("quarantine_reasons")} - NOT_MADE
    assert truth["totals"]["quarantined_files"] == dict(reasons)
    empty = [n for n, f in truth["files"].items() if f["reason_code"] == "empty_file"]
    assert all((with_defects / "incoming" / n).read_bytes().strip() == b"" for n in empty)
    contents = [p.read_bytes() for p in (with_defects / "incoming").iterdir()]
    assert len(set(contents)) == len(contents), "no two deliveries share their bytes"


@pytest.mark.slow  # whole `rmj process` runs: a minute or more on the shared machine
def test_pipeline_rejects_exactly_what_was_planted(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    summary = generate_deliveries(landing, seed=12, scale=0.2, years=[2025], defect_rate=0.1, today=TODAY)
    names = {r["clientnaam"] for d in csv_deliveries(landing) if "clientnaam" in d.columns for r in d.rows}
    monkeypatch.setenv("RMJ_LANDING_DIR", str(landing))
    monkeypatch.setenv("RMJ_WAREHOUSE", str(tmp_path / "rmj.duckdb"))
    monkeypatch.setenv("RMJ_EXPORT_DIR", str(tmp_path / "exports"))
    monkeypatch.setenv("RMJ_PSEUDONYM_KEY", "generated-data-test-key-0123456789abcdef")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    for name in ("RMJ_DEMO_MODE", "RMJ_RETAIN_ORIGINALS", "RMJ_PSEUDONYM_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    from rmj_dagster.runner import process

    process()
    truth = truth_of(landing)["totals"]
    with duckdb.connect(str(tmp_path / "rmj.duckdb"), read_only=True) as con:
        found = dict(con.execute("select reason_code, count(*) from intermediate.rejected_rows group by 1").fetchall())
        quarantined = dict(con.execute("select reason_code, count(*) from audit.deliveries where status = 'quarantined' group by 1").fetchall())
        text_columns = con.execute("select table_schema || '.' || table_name, column_name from information_schema.columns where data_type = 'VARCHAR'").fetchall()
        leaked = [f"{t}.{c}" for t, c in text_columns
                  if con.execute(f'select count(*) from {t} where list_contains(?, "{c}")', [sorted(names)]).fetchone()[0]]
    assert sum(truth["defects"].values()) > 50
    assert found == truth["defects"] == dict(summary.defects)
    assert quarantined == truth["quarantined_files"]
    assert names and leaked == [], "the free-text client name must never be loaded"


# --- TTP mode, today, memory -------------------------------------------------------------------------
def test_a_ttp_key_makes_one_provider_deliver_pseudonyms(tmp_path):
    generate_deliveries(tmp_path / "ttp", seed=5, scale=0.2, ttp_key=KEY, today=TODAY)
    generate_deliveries(tmp_path / "plain", seed=5, scale=0.2, today=TODAY)
    pseudonymous = [d for d in csv_deliveries(tmp_path / "ttp") if "pseudoniem" in d.columns]
    assert len({d.rows[0]["aanbieder_agb"] for d in pseudonymous}) == 1
    assert {d.kind for d in pseudonymous} == {"responses", "stop_zorg", "goals"}
    for delivery in pseudonymous:
        assert "bsn" not in delivery.columns
        plain = read_csv(tmp_path / "plain" / "incoming" / delivery.path.name)
        assert len(plain.rows) == len(delivery.rows)
        for with_key, without in zip(delivery.rows, plain.rows, strict=True):
            assert is_pseudonym(with_key["pseudoniem"])
            assert with_key["pseudoniem"] == pseudonym(normalise_bsn(without["bsn"]), KEY)
    for path in messages(tmp_path / "ttp"):
        assert etree.parse(str(path)).getroot().find(f".//{{{NS_JW307}}}Bsn") is not None


def test_no_date_after_today_and_future_years_refused(tmp_path):
    today = date(2026, 3, 10)
    generate_deliveries(tmp_path, seed=9, scale=0.3, years=[2025, 2026], defect_rate=0.0, today=today)
    latest = today - timedelta(days=3)
    for delivery in csv_deliveries(tmp_path):
        for row in delivery.rows:
            for column in ("invuldatum", "begindatum", "einddatum", "meetdatum"):
                if column in row:
                    assert parse_day(row[column]) <= latest
    assert max(p.stat().st_mtime for p in (tmp_path / "incoming").iterdir()) <= calendar.timegm(today.timetuple())
    assert any(parse_day(r["einddatum"]).year == 2026 for r in stop_records(tmp_path))
    with pytest.raises(ValueError):
        generate_deliveries(tmp_path / "future", years=[2027], today=today)


def test_memory_stays_bounded_as_scale_grows(tmp_path):
    """Streamed per provider-year: peak memory grows far less than the data written."""
    tracemalloc.start()
    generate_deliveries(tmp_path, seed=1, scale=2, years=[2025], today=TODAY)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    written = sum(p.stat().st_size for p in (tmp_path / "incoming").iterdir())
    assert written > 1_000_000
    assert peak < 16_000_000, f"peak {peak / 1e6:.0f} MB"  # measured: 2 MB at scale 2, 4 MB at scale 8


# The national year generated in a process of its own, which reports its own peak resident memory: tracemalloc
# would make the generation ten times slower. Measured: 475,662 ended trajectories in 24 s, peak 73 MB
# (interpreter and libraries included); the population of a year held in memory would be several times that.
NATIONAL_GENERATION = """
import json, sys
from datetime import date
from pathlib import Path
from rmj_dagster.generate import generate_deliveries
summary = generate_deliveries(sys.argv[1], seed=7, scale=225, years=[2025], today=date.fromisoformat(sys.argv[2]))
# VmHWM: this process image's own peak (getrusage's ru_maxrss keeps the forking parent's peak across exec)
peak = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM:"))
print(json.dumps({"ended": summary.ended_trajectories, "peak_kib": int(peak.split()[1])}))
"""


@pytest.mark.slow  # national scale: about 25 s
def test_national_scale_fits_in_little_memory(tmp_path):
    done = subprocess.run([sys.executable, "-c", NATIONAL_GENERATION, str(tmp_path), TODAY.isoformat()],
                          capture_output=True, text=True, check=True)
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    assert measured["ended"] > 400_000
    assert measured["peak_kib"] < 250 * 1024, f"peak {measured['peak_kib'] / 1024:.0f} MiB"
