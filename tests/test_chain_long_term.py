"""Long-term (DUURZAAM) care through the whole chain to the CBS extract, with every figure worked out by hand.

One provider (AGB 12345678), Amsterdam (0363), half-year 2025-H1:
  2001 long-term, started 2023-02-01 (JW305 start message), youth's yearly questionnaire 2025-02-10,
       no stop record: running -> listed with datum_aanvang, empty datum_einde and reden;
  2002 long-term, parents' yearly questionnaire 2025-03-10, no start and no stop record -> not listed,
       counted as begindatum_unknown;
  2003 long-term, started 2022-09-01 (JW305, second client), parents' yearly questionnaire 2025-01-20,
       ended 2025-04-30 as planned (stop CSV) -> listed once, as ended (CBS 01);
  2005 a second product in 2001's start message that begins in 2099: rejected (date_in_future).
"""

from __future__ import annotations

import csv

import dagster as dg
import pytest

from rmj_dagster import warehouse
from rmj_dagster.assets.asset_keys import asset_key
from rmj_dagster.runner import process, publish
from tests.jw307_samples import jw305
from tests.test_chain_exact_figures import valid_bsns

AGB = "12345678"
BSN = dict(zip(("A", "B", "C"), valid_bsns(3)))
BIRTH = {"A": "2011-06-01", "B": "2012-02-01", "C": "2013-09-09"}


def write_deliveries(incoming) -> None:
    start_a = jw305(AGB, BSN["A"], birth=BIRTH["A"], products=[
        {"toewijzingnummer": 2001, "begindatum": "2023-02-01", "categorie": "45", "code": "45A01"},
        {"toewijzingnummer": 2005, "begindatum": "2099-01-01"},
    ])
    (incoming / "JW305_12345678_0001.xml").write_text(start_a, encoding="utf-8")
    start_b = jw305(AGB, BSN["B"], birth=BIRTH["B"], products=[{"toewijzingnummer": 2003, "begindatum": "2022-09-01"}])
    (incoming / "JW305_12345678_0002.xml").write_text(start_b, encoding="utf-8")
    stop = ["aanbieder_agb;bsn;geboortedatum;gemeentecode;toewijzingnummer;begindatum;einddatum;reden_beeindiging",
            f"{AGB};{BSN['B']};{BIRTH['B']};0363;2003;2022-09-01;2025-04-30;31"]
    (incoming / "stopzorg.csv").write_text("\n".join(stop) + "\n", encoding="utf-8")
    cem = ["aanbieder_agb;bsn;geboortedatum;gemeentecode;toewijzingnummer;vragenlijst;invuldatum;q09;q10",
           f"{AGB};{BSN['A']};{BIRTH['A']};0363;2001;JONGEREN_DUURZAAM;2025-02-10;8;03",
           f"{AGB};{BSN['C']};{BIRTH['C']};0363;2002;OUDERS_DUURZAAM;2025-03-10;7;02",
           f"{AGB};{BSN['B']};{BIRTH['B']};0363;2003;OUDERS_DUURZAAM;2025-01-20;9;04"]
    (incoming / "cem.csv").write_text("\n".join(cem) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    root = tmp_path_factory.mktemp("long-term")
    mp = pytest.MonkeyPatch()
    for name, value in {
        "RMJ_LANDING_DIR": str(root / "landing"),
        "RMJ_WAREHOUSE": str(root / "warehouse" / "rmj.duckdb"),
        "RMJ_EXPORT_DIR": str(root / "exports"),
        "RMJ_SNAPSHOT": str(root / "snapshot" / "rmj_marts.duckdb"),
        "DAGSTER_HOME": str(root / "dagster_home"),
        "RMJ_PSEUDONYM_KEY": "long-term-test-key-0123456789abcdef01234567",
    }.items():
        mp.setenv(name, value)
    for name in ("RMJ_DEMO_MODE", "RMJ_RETAIN_ORIGINALS", "RMJ_PSEUDONYM_KEY_FILE", "RMJ_PSEUDONYM_KEY_LABEL"):
        mp.delenv(name, raising=False)
    incoming = root / "landing" / "incoming"
    incoming.mkdir(parents=True)
    write_deliveries(incoming)
    instance = dg.DagsterInstance.ephemeral()
    summary = process(instance=instance)
    publish("cbs", "2025-H1", instance=instance)  # on request: the half-year due by now is a later one
    yield {"root": root, "summary": summary, "instance": instance}
    mp.undo()


def test_start_messages_are_loaded_and_reconcile(chain):
    with warehouse.connect(chain["root"] / "warehouse" / "rmj.duckdb", read_only=True) as con:
        deliveries = con.execute(
            "select kind, source_format, rows_read, rows_accepted, rows_rejected, rejected_by_reason, reconciled "
            "from intermediate.delivery_reconciliation order by kind, rows_read"
        ).fetchall()
        rejected = con.execute("select kind, reason_code, reason_detail from intermediate.rejected_rows").fetchall()
        starts = con.execute("select toewijzingnummer, begindatum from intermediate.cleaned_start_zorg order by 1").fetchall()
    assert deliveries == [
        ("responses", "csv", 3, 3, 0, None, True),
        ("start_zorg", "jw305", 1, 1, 0, None, True),
        ("start_zorg", "jw305", 2, 1, 1, "date_in_future=1", True),
        ("stop_zorg", "csv", 1, 1, 0, None, True),
    ]
    assert rejected == [("start_zorg", "date_in_future", "begindatum")]
    assert [(n, d.isoformat()) for n, d in starts] == [(2001, "2023-02-01"), (2003, "2022-09-01")]
    assert chain["summary"].checks["failed"] == 0, chain["summary"].failed_checks


def test_cbs_extract_lists_the_long_term_trajectory_with_a_start(chain):
    path = chain["root"] / "exports" / "cbs" / "2025-H1" / f"{AGB}.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    assert rows == [
        {"aanbieder_agb": AGB, "toewijzingnummer": "2001", "datum_aanvang": "20230201", "datum_einde": "",
         "reden_beeindiging": "", "tevredenheid_jeugdige": "8", "zonder_hulp_verder_jeugdige": "03",
         "tevredenheid_ouder": "", "zonder_hulp_verder_ouder": ""},
        {"aanbieder_agb": AGB, "toewijzingnummer": "2003", "datum_aanvang": "20220901", "datum_einde": "20250430",
         "reden_beeindiging": "01", "tevredenheid_jeugdige": "", "zonder_hulp_verder_jeugdige": "",
         "tevredenheid_ouder": "9", "zonder_hulp_verder_ouder": "04"},
    ]


def test_the_trajectory_without_a_start_is_counted_with_its_reason(chain):
    with warehouse.connect(chain["root"] / "warehouse" / "rmj.duckdb", read_only=True) as con:
        unlisted = con.execute("select period, aanbieder_agb, toewijzingnummer, reason from marts.cbs_unlisted_trajectories").fetchall()
    assert unlisted == [("2025-H1", AGB, "2002", "begindatum_unknown")]
    event = chain["instance"].get_latest_materialization_event(asset_key("cbs_extract_files"))
    metadata = {k: v.value for k, v in event.asset_materialization.metadata.items()}
    assert event.asset_materialization.partition == "2025-H1"
    assert (metadata["dagster/row_count"], metadata["unlisted_long_term_trajectories"], metadata["unlisted_begindatum_unknown"]) == (2, 1, 1)


def test_nothing_of_the_start_messages_identifies_the_youth(chain):
    root = chain["root"]
    secrets = set(BSN.values()) | set(BIRTH.values()) | {"Zwaneveld"}
    with warehouse.connect(root / "warehouse" / "rmj.duckdb", read_only=True) as con:
        for (table,) in con.execute("select table_schema || '.' || table_name from information_schema.tables "
                                    "where table_schema not in ('information_schema', 'pg_catalog')").fetchall():
            text = "\n".join(map(str, con.execute(f"select * from {table}").fetchall()))
            assert not any(s in text for s in secrets), table
