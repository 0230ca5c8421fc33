"""Reading deliveries as they arrive: encodings, delimiters, dates, JW305/JW307, and what gets quarantined."""

from __future__ import annotations

import codecs
from datetime import date
from pathlib import Path

import duckdb
import pytest
from lxml import etree

from rmj_dagster import codebook, warehouse
from rmj_dagster.intake.detect import Quarantine, inspect_file
from rmj_dagster.ttp import pseudonymise
from rmj_dagster.ttp.pseudonym import PseudonymKey, pseudonym
from rmj_dagster.warehouse import ddl
from tests.conftest import SHARED, TEST_KEY
from tests.jw307_samples import jw305, jw307

KEY = PseudonymKey(secret=TEST_KEY.encode(), label="test")
BSN = "111222333"  # passes the 11-proef
CEM_COLUMNS = ["aanbieder_agb", "bsn", "geboortedatum", "gemeentecode", "toewijzingnummer", "vragenlijst", "invuldatum", "q01", "q09", "q10"]


def write(path: Path, text: str, encoding: str = "utf-8", newline: str = "\n") -> Path:
    path.write_bytes(text.replace("\n", newline).encode(encoding))
    return path


def cem_csv(delimiter: str = ";", rows: list[list[str]] | None = None, columns: list[str] = CEM_COLUMNS) -> str:
    rows = rows or [["12345678", BSN, "2010-03-15", "0363", "42", "OUDERS_EINDE", "2025-03-01", "4", "8", "03"]]
    return "\n".join(delimiter.join(r) for r in [columns, *rows]) + "\n"


@pytest.fixture
def con(tmp_path: Path):
    with warehouse.connect(tmp_path / "w.duckdb") as connection:
        ddl.ensure_tables(connection)
        codebook.load_into(connection)
        yield connection


def load(con: duckdb.DuckDBPyConnection, path: Path, delivery_id: str = "d" * 16) -> int:
    return pseudonymise.load_delivery(con, path, inspect_file(path), delivery_id, KEY)


@pytest.mark.parametrize(
    ("encoding", "delimiter", "newline", "expected_encoding"),
    [
        ("utf-8", ";", "\n", "utf-8"),
        ("utf-8-sig", ",", "\r\n", "utf-8-sig"),
        ("cp1252", ";", "\r\n", "cp1252"),
        ("utf-8", "\t", "\n", "utf-8"),
    ],
)
def test_encodings_delimiters_and_line_ends_read_the_same(con, tmp_path, encoding, delimiter, newline, expected_encoding):
    text = cem_csv(delimiter, columns=[*CEM_COLUMNS, "opmerking"], rows=[["12345678", BSN, "2010-03-15", "GM363", "42", "OUDERS_EINDE", "01-03-2025", "4", "8", "03", "Jöhn Dœ café"]])
    path = write(tmp_path / "export.csv", text + "\n\n", encoding=encoding, newline=newline)
    inspection = inspect_file(path)
    assert (inspection.kind.name, inspection.encoding, inspection.delimiter) == ("responses", expected_encoding, delimiter)
    assert inspection.extra_columns == ("opmerking",)
    assert load(con, path) == 1  # trailing blank lines are not rows
    row = con.execute("select pseudoniem, gemeentecode, invuldatum, q01, geboortejaarmaand, leeftijd from pseudo.responses").fetchone()
    # stored typed: the municipality code as its 4 digits, the date as a date, the answer as a number
    assert row == (pseudonym(BSN, KEY.secret), "0363", date(2025, 3, 1), 4, "2010-03", 14)


def test_headers_are_case_and_space_insensitive(con, tmp_path):
    text = cem_csv().replace("aanbieder_agb;bsn", " Aanbieder_AGB ; BSN ")
    assert load(con, write(tmp_path / "a.csv", text)) == 1


@pytest.mark.parametrize("birth", ["2010-03-15", "20100315", "15-03-2010", "20100300"])
def test_birth_date_formats_reduce_to_year_and_month(con, tmp_path, birth):
    path = write(tmp_path / "a.csv", cem_csv(rows=[["12345678", BSN, birth, "0363", "42", "OUDERS_EINDE", "2025-02-20", "4", "8", "03"]]))
    load(con, path)  # 14 on 2025-02-20 whether born on 1 or 15 March 2010
    assert con.execute("select geboortejaarmaand, leeftijd from pseudo.responses").fetchone() == ("2010-03", 14)


def test_age_is_completed_years_at_the_event(con, tmp_path):
    rows = [
        ["12345678", BSN, "2010-03-15", "0363", "1", "OUDERS_EINDE", "2022-03-14", "", "", ""],  # day before 12th birthday
        ["12345678", BSN, "2010-03-15", "0363", "2", "OUDERS_EINDE", "2022-03-15", "", "", ""],  # 12th birthday
        ["12345678", BSN, "2010-03-15", "0363", "3", "OUDERS_EINDE", "2009-01-01", "", "", ""],  # before birth
    ]
    load(con, write(tmp_path / "a.csv", cem_csv(rows=rows)))
    got = con.execute("select toewijzingnummer, leeftijd, voor_geboorte from pseudo.responses order by source_row").fetchall()
    assert got[0][1:] == (11, False)
    assert got[1][1:] == (12, False)
    assert got[2][2] is True


def test_identity_statuses_without_keeping_any_bsn(con, tmp_path):
    rows = [
        ["12345678", BSN, "2010-03-15", "0363", "1", "OUDERS_EINDE", "2025-03-01", "", "", ""],
        ["12345678", "12345672", "2010-03-15", "0363", "2", "OUDERS_EINDE", "2025-03-01", "", "", ""],  # leading zero lost: 012345672
        ["12345678", "999999999", "2010-03-15", "0363", "3", "OUDERS_EINDE", "2025-03-01", "", "", ""],
        ["12345678", "123456789", "2010-03-15", "0363", "4", "OUDERS_EINDE", "2025-03-01", "", "", ""],  # fails the 11-proef
        ["12345678", "12AB", "2010-03-15", "0363", "5", "OUDERS_EINDE", "2025-03-01", "", "", ""],
        ["12345678", "", "2010-03-15", "0363", "6", "OUDERS_EINDE", "2025-03-01", "", "", ""],
    ]
    load(con, write(tmp_path / "a.csv", cem_csv(rows=rows)))
    statuses = [r[0] for r in con.execute("select id_status from pseudo.responses order by source_row").fetchall()]
    assert statuses == ["ok", "ok", "unknown", "bsn_elfproef", "bsn_invalid_format", "identity_missing"]
    assert con.execute("select pseudoniem from pseudo.responses where source_row = 2").fetchone()[0] == pseudonym("012345672", KEY.secret)
    dump = "\n".join(str(r) for r in con.execute("select * from pseudo.responses").fetchall())
    for raw in (BSN, "123456789", "999999999", "2010-03-15"):
        assert raw not in dump


def test_pseudonyms_from_the_ttp_and_from_bsn_are_identical(con, tmp_path):
    load(con, write(tmp_path / "bsn.csv", cem_csv()), "a" * 16)
    ttp_text = cem_csv(columns=[c if c != "bsn" else "pseudoniem" for c in CEM_COLUMNS],
                       rows=[["12345678", pseudonym(BSN, KEY.secret), "2010-03-15", "0363", "42", "OUDERS_EINDE", "2025-03-01", "4", "8", "03"]])
    load(con, write(tmp_path / "pseudonymise.csv", ttp_text), "b" * 16)
    pseudonyms = con.execute("select distinct pseudoniem, id_status from pseudo.responses").fetchall()
    assert pseudonyms == [(pseudonym(BSN, KEY.secret), "ok")]


def test_reloading_a_delivery_replaces_its_rows(con, tmp_path):
    path = write(tmp_path / "a.csv", cem_csv())
    load(con, path)
    load(con, path)
    assert con.execute("select count(*) from pseudo.responses").fetchone()[0] == 1



def test_a_batch_stores_nothing_until_store_and_then_each_delivery_with_its_record(con, tmp_path):
    first = write(tmp_path / "a.csv", cem_csv())
    second = write(tmp_path / "b.csv", cem_csv(rows=[["12345678", BSN, "2010-03-15", "0363", "43", "OUDERS_EINDE", "2025-04-01", "4", "8", "03"]] * 2))
    recorded = []

    def record(delivery_id):  # runs inside the transaction that stores the rows
        return lambda rows: recorded.append((delivery_id, rows, con.execute("select count(*) from pseudo.responses").fetchone()[0]))

    batch = pseudonymise.Batch(con)
    pseudonymise.load_delivery(con, first, inspect_file(first), "a" * 16, KEY, record=record("a"), batch=batch)
    pseudonymise.load_delivery(con, second, inspect_file(second), "b" * 16, KEY, record=record("b"), batch=batch)
    assert batch.rows == 3
    assert con.execute("select count(*) from pseudo.responses").fetchone()[0] == 0  # nothing stored while waiting
    batch.discard()
    assert batch.store() == [] and con.execute("select count(*) from pseudo.responses").fetchone()[0] == 0

    load(con, first, "a" * 16)  # stored earlier: the batch replaces it, never duplicates
    all_recorded = []  # the batch's own record: every delivery stored, in one call, inside the transaction
    batch = pseudonymise.Batch(con, lambda loaded: all_recorded.append(
        (loaded, con.execute("select count(*) from pseudo.responses").fetchone()[0])))
    for path, delivery_id in ((first, "a"), (second, "b")):
        pseudonymise.load_delivery(con, path, inspect_file(path), delivery_id * 16, KEY, record=record(delivery_id), batch=batch)
    assert batch.store() == ["a" * 16, "b" * 16]
    assert recorded == [("a", 1, 1), ("b", 2, 3)]
    assert all_recorded == [([("a" * 16, 1), ("b" * 16, 2)], 3)]
    assert con.execute("select delivery_id, count(*) from pseudo.responses group by 1 order by 1").fetchall() == [("a" * 16, 1), ("b" * 16, 2)]
    assert not con.execute("select * from duckdb_tables() where temporary").fetchall()  # no staged rows left in memory

def test_files_read_together_give_each_delivery_what_it_gets_alone(con, tmp_path):
    """Several files of one shape go through one read; each delivery keeps its own row numbers, only a file
    with a ragged row or with its own BSN in a field is quarantined, and a field holding another delivery's
    BSN is emptied and flagged as it is when the file is read alone."""
    other = "123456782"  # passes the 11-proef

    def row(bsn, number, q01="4", q09="8"):
        return ["12345678", bsn, "2010-03-15", "0363", number, "OUDERS_EINDE", "2025-03-01", q01, q09, "03"]

    files = {
        "a": write(tmp_path / "a.csv", cem_csv(rows=[row(BSN, "41"), row(BSN, "42"), row(BSN, "43")])),
        "b": write(tmp_path / "b.csv", cem_csv(rows=[row(other, "51"), row(other, "52", q09=BSN)])),
        "c": write(tmp_path / "c.csv", cem_csv(rows=[row(BSN, "61")]) + "1;2;3;4;5;6;7;8;9;10;11\n"),
        "d": write(tmp_path / "d.csv", cem_csv(rows=[row(other, "71"), row(other, "72", q01=other)])),
    }
    deliveries = [pseudonymise.Delivery(name * 16, path, inspect_file(path)) for name, path in files.items()]
    assert pseudonymise.read_together(deliveries) == [deliveries]  # one shape: one read

    def stored():
        return con.execute("select delivery_id, source_row, toewijzingnummer, q01, q09, field_problems "
                           "from pseudo.responses order by all").fetchall()

    def codes(outcomes):
        return {d: o if isinstance(o, int) else o.code for d, o in outcomes.items()}

    readable = [d for d in deliveries if d.delivery_id != "c" * 16]
    outcomes = pseudonymise.load_deliveries(con, readable, KEY)  # one read
    together = stored()
    # a BSN in an answer is not an answer code: NULL with its class of problem, the delivery's rows all kept
    assert codes(outcomes) == {"a" * 16: 3, "b" * 16: 2, "d" * 16: 2}
    assert together == [("a" * 16, 1, 41, 4, 8, None), ("a" * 16, 2, 42, 4, 8, None), ("a" * 16, 3, 43, 4, 8, None),
                        ("b" * 16, 1, 51, 4, 8, None), ("b" * 16, 2, 52, 4, None, "q09:not_an_answer_code"),
                        ("d" * 16, 1, 71, 4, 8, None), ("d" * 16, 2, 72, None, 8, "q01:not_an_answer_code")]

    con.execute("delete from pseudo.responses")
    alone = {}
    for delivery in readable:
        alone |= pseudonymise.load_deliveries(con, [delivery], KEY)
    assert codes(alone) == codes(outcomes) and stored() == together

    con.execute("delete from pseudo.responses")  # the ragged file spoils the shared read: each file again alone
    assert codes(pseudonymise.load_deliveries(con, deliveries, KEY)) == codes(outcomes) | {"c" * 16: "unreadable_csv"}
    assert stored() == together
    assert not con.execute("select * from duckdb_tables() where temporary").fetchall()


def test_a_ragged_file_in_a_large_read_costs_a_few_reads_not_one_per_file(con, tmp_path, monkeypatch):
    """A read of many files spoiled by one: the file is found by parsing halves of the read, and the others
    are loaded in one more read, not read again one by one."""
    rows = [["12345678", BSN, "2010-03-15", "0363", "42", "OUDERS_EINDE", "2025-03-01", "4", "8", "03"]]
    deliveries = [pseudonymise.Delivery(f"{n:016d}", path, inspect_file(path)) for n, path in enumerate(
        write(tmp_path / f"{n}.csv", cem_csv(rows=rows) + ("1;2;3;4;5;6;7;8;9;10;11\n" if n == 21 else "")) for n in range(32))]
    reads = []
    real = pseudonymise._load_together
    monkeypatch.setattr(pseudonymise, "_load_together", lambda con, group, *a: reads.append(len(group)) or real(con, group, *a))

    outcomes = pseudonymise.load_deliveries(con, deliveries, KEY)
    assert {d: o.code for d, o in outcomes.items() if isinstance(o, Quarantine)} == {f"{21:016d}": "unreadable_csv"}
    assert {d: o for d, o in outcomes.items() if not isinstance(o, Quarantine)} == {d.delivery_id: 1 for d in deliveries if d.delivery_id != f"{21:016d}"}
    assert reads == [32, 31]  # the spoiled read, then the others together
    assert con.execute("select count(*) from pseudo.responses").fetchone()[0] == 31


def test_ijw_messages_read_together_give_each_delivery_what_it_gets_alone(con, tmp_path):
    """Messages of one type go through one read: each delivery keeps its own rows, row numbers and pseudonyms;
    a message that cannot be parsed spoils the shared read, so each is read again alone and only it is
    quarantined."""
    other = "123456782"  # passes the 11-proef
    files = {
        "a": write(tmp_path / "a.xml", jw307()),
        "b": write(tmp_path / "b.xml", jw307(bsn=other, products=[
            {"toewijzingnummer": 700201, "begindatum": "2024-01-01", "reden": "02", "einddatum": "2025-01-31"},
            {"toewijzingnummer": 700202, "begindatum": "2024-02-01", "reden": "31", "einddatum": "2025-01-31"},
            {"toewijzingnummer": 700203, "begindatum": "2024-03-01", "reden": "32", "einddatum": "2025-01-31"}])),
        "d": write(tmp_path / "d.xml", jw307(agb="87654321")),
    }
    deliveries = [pseudonymise.Delivery(name * 16, path, inspect_file(path)) for name, path in files.items()]
    start = write(tmp_path / "start.xml", jw305())
    apart = pseudonymise.Delivery("s" * 16, start, inspect_file(start))
    assert pseudonymise.read_together([*deliveries, apart]) == [deliveries, [apart]]  # one message type: one read

    def stored():
        return con.execute("select delivery_id, source_row, pseudoniem, aanbieder_agb, toewijzingnummer, "
                           "reden_beeindiging, field_problems from pseudo.stop_zorg order by all").fetchall()

    def codes(outcomes):
        return {d: o if isinstance(o, int) else o.code for d, o in outcomes.items()}

    outcomes = pseudonymise.load_deliveries(con, deliveries, KEY)
    together = stored()
    assert codes(outcomes) == {"a" * 16: 2, "b" * 16: 3, "d" * 16: 2}
    assert [(d, n) for d, n, *_ in together] == [("a" * 16, 1), ("a" * 16, 2), ("b" * 16, 1), ("b" * 16, 2),
                                                 ("b" * 16, 3), ("d" * 16, 1), ("d" * 16, 2)]
    assert {row[2] for row in together} == {KEY.pseudonym(BSN), KEY.pseudonym(other)}

    con.execute("delete from pseudo.stop_zorg")
    alone = {}
    for delivery in deliveries:
        alone |= pseudonymise.load_deliveries(con, [delivery], KEY)
    assert codes(alone) == codes(outcomes) and stored() == together

    con.execute("delete from pseudo.stop_zorg")
    broken = write(tmp_path / "broken.xml", jw307().replace("</jw:Bericht>", ""))  # inspected whole, then cut
    spoiling = pseudonymise.Delivery("c" * 16, broken, deliveries[0].inspection)
    outcomes = pseudonymise.load_deliveries(con, [*deliveries, spoiling], KEY)
    assert isinstance(outcomes.pop("c" * 16), Quarantine) and codes(outcomes) == codes(alone)
    assert stored() == together
    assert not con.execute("select * from duckdb_tables() where temporary").fetchall()


def test_files_of_many_shapes_read_together_give_each_delivery_what_it_gets_alone(con, tmp_path):
    """One read takes a kind's files of every delimiter, header (column order, an extra or a missing optional
    column, a name column), encoding (BOM, Windows-1252) and blank lines: each delivery's stored rows, row
    numbers and outcome are those of its file read alone, a name of one delivery refuses only that one."""
    other = "123456782"
    base = [["12345678", BSN, "2010-03-15", "0363", "41", "OUDERS_EINDE", "2025-03-01", "4", "8", "03"],
            ["12345678", other, "2011-04-16", "0363", "42", "OUDERS_EINDE", "2025-03-02", "5", "", "02"]]
    reordered = [CEM_COLUMNS[1], CEM_COLUMNS[0], *CEM_COLUMNS[2:]]
    texts = {
        "a": (cem_csv(rows=base), "utf-8"),
        "b": (cem_csv(",", rows=[r[:] for r in base]), "utf-8-sig"),
        "c": (cem_csv(rows=[[r[1], r[0], *r[2:]] for r in base], columns=reordered), "utf-8"),
        "d": (cem_csv(rows=[[*r, "café"] for r in base], columns=[*CEM_COLUMNS, "opmerking"]), "cp1252"),
        "e": (cem_csv(rows=[r[:8] for r in base], columns=CEM_COLUMNS[:8]), "utf-8"),  # no q09, q10
        "f": (cem_csv(rows=[[*r, "Jansen"] for r in base], columns=[*CEM_COLUMNS, "achternaam"]), "utf-8"),
        "g": (cem_csv(rows=[[*base[0][:8], "jansen", "03"], base[1]]), "utf-8"),  # the name of delivery f
        "h": (cem_csv(rows=base).replace("\n", "\n  \t\n", 1), "utf-8"),  # a line of only spaces and a tab
    }
    deliveries = [pseudonymise.Delivery(n * 16, path, inspect_file(path)) for n, (text, encoding) in texts.items()
                  for path in [write(tmp_path / f"{n}.csv", text, encoding=encoding)]]
    assert pseudonymise.read_together(deliveries) == [deliveries]

    def stored():
        return con.execute("select * exclude (key_label) from pseudo.responses order by all").fetchall()

    def codes(outcomes):
        return {d: o if isinstance(o, int) else o.code for d, o in outcomes.items()}

    together = codes(pseudonymise.load_deliveries(con, deliveries, KEY))
    rows = stored()
    con.execute("delete from pseudo.responses")
    alone = {}
    for delivery in deliveries:
        alone |= codes(pseudonymise.load_deliveries(con, [delivery], KEY))
    assert together == alone == {n * 16: 2 for n in "abcdefh"} | {"g" * 16: 2}
    assert stored() == rows and len(rows) == 16
    assert {(d[0], d[1]) for d in rows} == {(n * 16, i) for n in "abcdefgh" for i in (1, 2)}
    assert not con.execute("select * from duckdb_tables() where temporary").fetchall()


def test_reads_follow_the_shape_and_the_size_of_the_files(tmp_path, monkeypatch):
    """CSV files of one kind and identity column are read together whatever their delimiter, header or
    encoding, until ``ttp_read_bytes`` would be passed; iJw XML apart from CSV."""
    shaped = {
        "a": cem_csv(), "b": cem_csv(), "comma": cem_csv(","), "extra": cem_csv(columns=[*CEM_COLUMNS, "opmerking"],
        rows=[["12345678", BSN, "2010-03-15", "0363", "42", "OUDERS_EINDE", "2025-03-01", "4", "8", "03", "x"]]),
    }
    deliveries = [pseudonymise.Delivery(name, write(tmp_path / f"{name}.csv", text), None) for name, text in shaped.items()]
    deliveries = [pseudonymise.Delivery(d.delivery_id, d.path, inspect_file(d.path)) for d in deliveries]
    windows = write(tmp_path / "w.csv", shaped["extra"].replace(";x\n", ";café\n"), encoding="cp1252")  # as "extra"
    xml = write(tmp_path / "stop.xml", jw307())
    deliveries += [pseudonymise.Delivery(p.stem, p, inspect_file(p)) for p in (windows, xml)]
    deliveries.append(pseudonymise.Delivery("c", deliveries[0].path, deliveries[0].inspection))
    grouped = [[d.delivery_id for d in group] for group in pseudonymise.read_together(deliveries)]
    assert grouped == [["a", "b", "comma", "extra", "w", "c"], ["stop"]]
    size = deliveries[0].path.stat().st_size
    monkeypatch.setattr(codebook, "parameter", lambda name: 2 * size if name == "ttp_read_bytes" else None)
    grouped = [[d.delivery_id for d in group] for group in pseudonymise.read_together(deliveries)]
    assert grouped == [["a", "b"], ["comma"], ["extra"], ["w"], ["stop"], ["c"]]


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "empty_file"),
        (b"   \r\n\r\n", "empty_file"),
        (b"naam;leeftijd\nJan;12\n", "unknown_kind"),
        (b"aanbieder_agb;bsn;gemeentecode;toewijzingnummer;vragenlijst\n1;2;3;4;5\n", "missing_required_column"),
        (b"aanbieder_agb;bsn;pseudoniem;geboortedatum;gemeentecode;toewijzingnummer;vragenlijst;invuldatum\n", "mixed_identity"),
        (b"aanbieder_agb;geboortedatum;gemeentecode;toewijzingnummer;vragenlijst;invuldatum\n", "mixed_identity"),
        (codecs.BOM_UTF16_LE + "aanbieder_agb;bsn\n".encode("utf-16-le"), "unreadable_encoding"),
        (b"\x81\x8d\x8f\x90\x9d binary \x00\x01", "unreadable_encoding"),
        (b"<?xml version='1.0'?><jw:Bericht xmlns:jw='http://www.istandaarden.nl/ijw/3_2/jw307/schema'><jw:Header>", "xml_not_well_formed"),
        (b"<?xml version='1.0'?><Other xmlns='urn:x'/>", "unknown_kind"),
    ],
)
def test_unreadable_files_are_quarantined_with_a_reason(tmp_path, content, code):
    path = tmp_path / "delivery.bin"
    path.write_bytes(content)
    with pytest.raises(Quarantine) as caught:
        inspect_file(path)
    assert caught.value.code == code
    assert caught.value.code in {r["reason_code"] for r in codebook.rows("quarantine_reasons")}


def test_ragged_csv_rows_quarantine_the_file_without_quoting_the_row(con, tmp_path):
    path = write(tmp_path / "a.csv", cem_csv() + f"12345678;{BSN};2010;0363\n")
    with pytest.raises(Quarantine) as caught:
        load(con, path)
    assert caught.value.code == "unreadable_csv"
    assert BSN not in caught.value.message
    assert con.execute("select count(*) from pseudo.responses").fetchone()[0] == 0


def test_generated_style_jw307_is_valid_against_the_shared_schema(tmp_path):
    schema = etree.XMLSchema(etree.parse(str(SHARED / "reference" / "ijw-3.2" / "JW307.xsd")))
    assert schema.validate(etree.fromstring(jw307().encode()))


def test_jw307_is_read_without_name_or_bsn(con, tmp_path):
    path = write(tmp_path / "JW307_1.xml", jw307())
    assert load(con, path) == 2
    rows = con.execute(
        "select aanbieder_agb, gemeentecode, toewijzingnummer, productcategorie, begindatum, einddatum, reden_beeindiging, "
        "status_aanlevering, source_format, geboortejaarmaand, pseudoniem from pseudo.stop_zorg order by source_row"
    ).fetchall()
    assert rows[0] == ("12345678", "0363", 700123, "45", date(2024, 9, 1), date(2025, 2, 28), "32", 1, "jw307", "2011-04",
                       pseudonym(BSN, KEY.secret))
    assert rows[1][3] is None
    dump = str(con.execute("select * from pseudo.stop_zorg").fetchall())
    assert "Zwaneveld" not in dump and BSN not in dump


def test_jw307_that_breaks_the_schema_is_quarantined_without_echoing_values(tmp_path):
    path = write(tmp_path / "bad.xml", jw307(bsn="12AB56789"))
    with pytest.raises(Quarantine) as caught:
        inspect_file(path)
    assert caught.value.code == "xml_not_valid_jw307"
    assert "12AB56789" not in caught.value.message and "Bsn" in caught.value.message


def test_jw307_prefix_free_default_namespace_is_read_too(con, tmp_path):
    text = jw307().replace("jw:", "").replace("xmlns:jw=", "xmlns=")
    assert load(con, write(tmp_path / "JW307_2.xml", text)) == 2


def test_jw305_is_recognised_from_its_namespace_and_read_without_name_or_birth_date(con, tmp_path):
    products = [
        {"toewijzingnummer": 800001, "begindatum": "2022-03-01", "categorie": "45", "code": "45A01", "ingangsdatum": "2022-02-15"},
        {"toewijzingnummer": 800002, "begindatum": "2022-04-01", "status": "2"},
    ]
    path = write(tmp_path / "export.xml", jw305(products=products))  # the name says nothing
    inspection = inspect_file(path)
    assert (inspection.kind.name, inspection.source_format, inspection.identity_column) == ("start_zorg", "jw305", "bsn")
    assert load(con, path) == 2
    rows = con.execute(
        "select source_row, aanbieder_agb, gemeentecode, toewijzingnummer, productcategorie, productcode, begindatum, "
        "status_aanlevering, geboortejaarmaand, leeftijd, id_status, pseudoniem from pseudo.start_zorg order by source_row"
    ).fetchall()
    assert rows == [
        (1, "12345678", "0363", 800001, "45", "45A01", date(2022, 3, 1), 1, "2011-04", 10, "ok", pseudonym(BSN, KEY.secret)),
        (2, "12345678", "0363", 800002, None, None, date(2022, 4, 1), 2, "2011-04", 10, "ok", pseudonym(BSN, KEY.secret)),
    ]
    dump = str(con.execute("select * from pseudo.start_zorg").fetchall())
    assert "Zwaneveld" not in dump and BSN not in dump and "2011-04-17" not in dump
    assert con.execute("select count(*) from pseudo.stop_zorg").fetchone()[0] == 0


def test_jw305_and_jw307_validate_against_the_shipped_schemas(tmp_path):
    for name, text in (("JW305.xsd", jw305()), ("JW307.xsd", jw307())):
        shipped = Path(pseudonymise.__file__).parents[1] / "schemas" / "ijw-3.2" / name
        schema = etree.XMLSchema(etree.parse(str(shipped)))
        assert schema.validate(etree.fromstring(text.encode())), name


def test_jw305_that_breaks_the_schema_is_quarantined_without_echoing_values(tmp_path):
    path = write(tmp_path / "start.xml", jw305(products=[{"toewijzingnummer": 1, "begindatum": "01-03-2022"}]))
    with pytest.raises(Quarantine) as caught:
        inspect_file(path)
    assert caught.value.code == "xml_not_valid_jw305"
    assert caught.value.code in {r["reason_code"] for r in codebook.rows("quarantine_reasons")}
    assert "01-03-2022" not in caught.value.message and "Begindatum" in caught.value.message


def test_a_stop_element_in_a_start_message_is_not_read_as_a_stop(tmp_path):
    """The namespace decides the message; a JW305 dressed with a JW307 body fails the JW305 schema."""
    text = jw305().replace("StartProducten", "StopProducten").replace("StartProduct>", "StopProduct>")
    path = write(tmp_path / "mixed.xml", text)
    with pytest.raises(Quarantine) as caught:
        inspect_file(path)
    assert caught.value.code == "xml_not_valid_jw305"



def test_a_warehouse_with_the_old_text_pseudo_tables_is_retyped_in_place(tmp_path):
    """A pseudo table of the version that stored delivered text is rebuilt by ensure_tables: each field typed
    as at the TTP door, what does not fit NULL with its class, the free text gone; a second call changes nothing."""
    answers = ", ".join(f"q{i:02d} varchar" for i in range(1, 11))
    with warehouse.connect(tmp_path / "old.duckdb") as con:
        con.execute(
            "create table pseudo.responses (delivery_id varchar not null, source_row bigint not null, aanbieder_agb varchar, "
            "pseudoniem varchar, key_label varchar not null, id_status varchar not null, gemeentecode varchar, "
            "toewijzingnummer varchar, geboortejaarmaand varchar, leeftijd integer, leeftijd_min integer, "
            f"voor_geboorte boolean, vragenlijst varchar, invuldatum varchar, {answers}, geen_inzage_hulpverlener varchar)")
        con.execute("insert into pseudo.responses (delivery_id, source_row, aanbieder_agb, key_label, id_status, gemeentecode, "
                    "toewijzingnummer, vragenlijst, invuldatum, q01, q05, geen_inzage_hulpverlener) values "
                    "('d', 1, '12345678', 'k', 'ok', 'GM363', '0042', 'ouders_einde', '01-03-2025', '04', 'Jansen', 'ja')")
        ddl.ensure_tables(con)
        row = con.execute("select gemeentecode, toewijzingnummer, vragenlijst, invuldatum, q01, q05, geen_inzage_hulpverlener, "
                          "identifier_in_field, field_problems from pseudo.responses").fetchone()
        assert row == ("0363", 42, "OUDERS_EINDE", date(2025, 3, 1), 4, None, True, None, "q05:not_an_answer_code")
        assert "Jansen" not in str(con.execute("select * from pseudo.responses").fetchall())
        types = dict(con.execute("select column_name, data_type from information_schema.columns "
                                 "where table_schema = 'pseudo' and table_name = 'responses'").fetchall())
        assert (types["q05"], types["invuldatum"], types["toewijzingnummer"]) == ("INTEGER", "DATE", "BIGINT")
        ddl.ensure_tables(con)  # now of this version: nothing to do
        assert con.execute("select count(*) from pseudo.responses").fetchone()[0] == 1
        assert not con.execute("select * from duckdb_tables() where table_name like '%before_types%'").fetchall()


def test_a_claimed_file_is_inspected_once_until_it_changes(tmp_path, monkeypatch):
    """The receipt and the TTP step of a run both ask what a claimed file is: it is read once; a file
    replaced or rewritten is read again, and a file that fails inspection is never remembered."""
    from rmj_dagster.intake import detect

    path = write(tmp_path / "claimed.csv", cem_csv())
    reads = []
    real = detect._inspect_csv
    monkeypatch.setattr(detect, "_inspect_csv", lambda p: reads.append(p) or real(p))
    first = detect.inspect_claimed(path)
    assert detect.inspect_claimed(path) is first and len(reads) == 1
    write(tmp_path / "other.csv", cem_csv(",")).replace(path)  # another file under the name
    assert detect.inspect_claimed(path).delimiter == "," and len(reads) == 2
    write(path, "naam;leeftijd\nJan;12\n")
    for _ in range(2):
        with pytest.raises(Quarantine):
            detect.inspect_claimed(path)
    assert len(reads) == 4
