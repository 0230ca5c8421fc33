"""The whole chain on small hand-built deliveries, with every expected figure worked out by hand.

One provider (AGB 12345678), Amsterdam (0363, sub-region AA), year 2025. Twelve trajectories
1001-1012 began 2024-09-01 and ended 2025-03-01 (H1 2025):
  1001-1008 reden 31 (CBS 01), 1009-1010 reden 32 (CBS 03, uitval), 1011 reden 34 (CBS 02, via JW307),
  1012 reden 36 (municipality: not an end of care for the indicators).
"""

from __future__ import annotations

import csv
import math
import shutil
from pathlib import Path

import dagster as dg
import pytest

from rmj_dagster import warehouse
from rmj_dagster.runner import process, publish
from rmj_dagster.ttp.bsn import passes_elfproef
from tests.jw307_samples import jw307

AGB = "12345678"
Z = 1.959963984540054


def valid_bsns(count: int) -> list[str]:
    found, candidate = [], 100000000
    while len(found) < count:
        candidate += 1
        if passes_elfproef(str(candidate)):
            found.append(str(candidate))
    return found


BSNS = dict(zip(range(1001, 1014), valid_bsns(13)))
BIRTH = {n: "2015-01-01" for n in BSNS} | {1001: "2011-06-01"}  # 1001's youth is 13: parents and youth may answer
REDEN = {**{n: "31" for n in range(1001, 1009)}, 1009: "32", 1010: "32", 1011: "34", 1012: "36"}

# traj: (q01, q09, q10, invuldatum) of the parents' end-of-care questionnaire
OUDERS = {
    1001: ("5", "8", "01", "2025-02-20"),
    1002: ("5", "7", "03", "2025-02-20"),
    1003: ("4", "9", "04", "2025-02-20"),
    1004: ("4", "6", "04", "2025-02-20"),
    1005: ("4", "7", "02", "2025-02-20"),
    1006: ("3", "5", "03", "2025-02-20"),
    1007: ("2", "10", "04", "2025-07-15"),  # 136 days after the end: outside the 90-day window, and in H2
    1008: ("1", "8", "01", "2025-07-15"),
    1009: ("9", "", "", "2025-02-20"),
    1010: ("", "", "", "2025-02-20"),
    1011: ("4", "7", "03", "2025-02-20"),
    1012: ("5", "8", "04", "2025-02-20"),
}
# traj: (goal scores, probleemafname), two goals of weight 1 each, meetdatum 2025-03-01
GOALS = {
    1001: ((1, 0), 3), 1002: ((0, 0), 3), 1003: ((-1, 0), 3), 1004: ((2, 1), 3), 1005: ((1, 1), 2),
    1006: ((-2, -1), 2), 1007: ((0, 1), 2), 1008: ((1, -1), 1), 1009: ((-1, -1), 1), 1010: ((0, 0), 1),
}


def wilson(x: int, n: int) -> tuple[float, float]:
    p = x / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return round(100 * (centre - half), 1), round(100 * (centre + half), 1)


def write_deliveries(incoming: Path) -> None:
    stop = ["aanbieder_agb;bsn;geboortedatum;gemeentecode;toewijzingnummer;begindatum;einddatum;reden_beeindiging;status_aanlevering"]
    stop += [f"{AGB};{BSNS[n]};{BIRTH[n]};0363;{n};2024-09-01;2025-03-01;{REDEN[n]};1" for n in range(1001, 1013) if n != 1011]
    stop.append(f"{AGB};{BSNS[1013]};2015-01-01;0599;1013;2024-09-01;2025-03-01;31;1")  # Rotterdam: not the region's
    (incoming / "stopzorg_12345678_2025.csv").write_text("\n".join(stop) + "\n", encoding="utf-8")

    message = jw307(AGB, BSNS[1011], [{"toewijzingnummer": 1011, "begindatum": "2024-09-01", "einddatum": "2025-03-01", "reden": "34"}])
    (incoming / "JW307_12345678_1.xml").write_text(message.replace("2011-04-17", BIRTH[1011]), encoding="utf-8")

    cem = ["aanbieder_agb;bsn;geboortedatum;gemeentecode;toewijzingnummer;vragenlijst;invuldatum;q01;q03;q09;q10"]
    cem += [f"{AGB};{BSNS[n]};{BIRTH[n]};0363;{n};OUDERS_EINDE;{d};{q01};;{q09};{q10}" for n, (q01, q09, q10, d) in OUDERS.items()]
    cem.append(f"{AGB};{BSNS[1001]};{BIRTH[1001]};0363;1001;JONGEREN_EINDE;2025-02-21;;;6;02")
    cem.append(f"{AGB};{BSNS[1002]};{BIRTH[1002]};0363;1002;OUDERS_EINDE;2025-02-22;4;7;8;03")  # q03=7: out of range
    (incoming / "cem_12345678_20250301.csv").write_text("\n".join(cem) + "\n", encoding="cp1252")

    goals = ["aanbieder_agb;bsn;gemeentecode;toewijzingnummer;trajecttype;meetdatum;doel_nr;gas_score;gewicht;probleemafname"]
    for n, (scores, afname) in GOALS.items():
        goals += [f"{AGB};{BSNS[n]};0363;{n};PERSPECTIEF;2025-03-01;{i};{s:+d};;{afname}" for i, s in enumerate(scores, 1)]
    (incoming / "doelen_12345678_2025.csv").write_text("\n".join(goals) + "\n", encoding="utf-8")
    shutil.copy(incoming / "doelen_12345678_2025.csv", incoming / "Export (3).CSV")  # the same bytes again
    (incoming / "leeg.csv").write_text("")


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    root = tmp_path_factory.mktemp("chain")
    env = {
        "RMJ_LANDING_DIR": str(root / "landing"),
        "RMJ_WAREHOUSE": str(root / "warehouse" / "rmj.duckdb"),
        "RMJ_EXPORT_DIR": str(root / "exports"),
        "RMJ_SNAPSHOT": str(root / "snapshot" / "rmj_marts.duckdb"),
        "RMJ_PSEUDONYM_KEY": "chain-test-key-0123456789abcdef0123456789",
        "DAGSTER_HOME": str(root / "dagster_home"),
    }
    mp = pytest.MonkeyPatch()
    for k, v in env.items():
        mp.setenv(k, v)
    for k in ("RMJ_DEMO_MODE", "RMJ_RETAIN_ORIGINALS", "RMJ_PSEUDONYM_KEY_FILE", "RMJ_PSEUDONYM_KEY_LABEL"):
        mp.delenv(k, raising=False)
    incoming = root / "landing" / "incoming"
    incoming.mkdir(parents=True)
    write_deliveries(incoming)
    instance = dg.DagsterInstance.ephemeral()  # the figures are the warehouse's: runs recorded in memory, half the cost
    summary = process(instance=instance)
    # the publications an analyst asks for (rmj process makes only the CBS half-year due)
    publications = [publish("ceo", "2025", instance=instance), publish("cbs", "2025-H1", instance=instance)]
    yield {"root": root, "summary": summary, "publications": publications, "incoming": incoming}
    mp.undo()


def published(chain) -> dict[tuple, dict]:
    path = chain["root"] / "exports" / "ceo" / "2025" / "indicators.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    return {(r["area_type"], r["area_code"], r["respondent_group"], r["care_type"], r["indicator"]): r for r in rows}


def region(chain, indicator: str, group: str = "ALL", care: str = "ALL") -> dict:
    return published(chain)[("regio", "RMJ", group, care, indicator)]


def test_every_file_is_processed_or_quarantined_and_nothing_is_left(chain):
    assert list(chain["incoming"].iterdir()) == []
    with warehouse.connect(chain["root"] / "warehouse" / "rmj.duckdb", read_only=True) as con:
        statuses = dict(con.execute("select status, count(*) from audit.deliveries group by 1").fetchall())
        outcomes = dict(con.execute("select outcome, count(*) from audit.file_receipts group by 1").fetchall())
        reasons = con.execute("select reason_code from audit.deliveries where status = 'quarantined'").fetchall()
    assert statuses == {"loaded": 4, "quarantined": 1}
    assert outcomes == {"processed": 4, "quarantined": 1, "duplicate": 1}
    assert reasons == [("empty_file",)]
    assert not (chain["root"] / "landing" / "received").exists() or not any((chain["root"] / "landing" / "received").iterdir())


def test_rows_reconcile_and_rejections_carry_their_reason(chain):
    with warehouse.connect(chain["root"] / "warehouse" / "rmj.duckdb", read_only=True) as con:
        recon = con.execute("select kind, sum(rows_read), sum(rows_accepted), sum(rows_rejected), bool_and(reconciled) from intermediate.delivery_reconciliation where status = 'loaded' group by kind order by kind").fetchall()
        rejected = con.execute("select kind, reason_code, reason_detail from intermediate.rejected_rows order by kind").fetchall()
        per_delivery = con.execute("select aanbieder_agb, kind, rejected_by_reason from intermediate.delivery_reconciliation where rows_rejected > 0 order by kind").fetchall()
    # goals: 10 measurements x 2 goals; responses: 12 parents + 1 youth + 1 bad row; stop_zorg: 11 + 1 Rotterdam in CSV, 1 in JW307
    assert recon == [("goals", 20, 20, 0, True), ("responses", 14, 13, 1, True), ("stop_zorg", 13, 12, 1, True)]
    assert rejected[0][:2] == ("responses", "answer_out_of_range") and "q03" in rejected[0][2]
    assert rejected[1][:2] == ("stop_zorg", "gemeentecode_out_of_region")
    assert per_delivery == [(AGB, "responses", "answer_out_of_range=1"), (AGB, "stop_zorg", "gemeentecode_out_of_region=1")]


def test_uitval(chain):
    # counting ends: 1001-1011 = 11 (1012, reden 36, does not count); uitval (CBS 03): 1009, 1010 = 2
    row = region(chain, "pct_uitval")
    low, high = wilson(2, 11)
    assert (row["value"], row["ci_low"], row["ci_high"], row["n"], row["suppressed"]) == (f"{200 / 11:.1f}", f"{low}", f"{high}", "10", "false")


def test_goal_attainment_and_problem_decrease(chain):
    # T = 50 + 10*(x1+x2)/sqrt(0.7*2 + 0.3*4) = 50 + 6.2017*(x1+x2): T >= 50 when x1+x2 >= 0
    # sums: 1,0,-1,3,2,-3,1,0,-2,0 -> attained 7 of 10; mean T = 50 + 6.2017*0.1 = 50.62
    assert region(chain, "pct_doelrealisatie")["value"] == "70.0"
    assert region(chain, "mean_gas_t")["value"] == f"{50 + 10 * 0.1 / math.sqrt(2.6):.1f}"
    # probleemafname 3 for 1001-1004: 4 of 10
    assert region(chain, "pct_probleemafname")["value"] == "40.0"


def unpublished(chain, indicator: str, group: str = "ALL") -> float:
    """A region figure as the warehouse holds it before suppression (marts.indicator_base)."""
    with warehouse.connect(chain["root"] / "warehouse" / "rmj.duckdb", read_only=True) as con:
        return con.execute(
            "select value from marts.indicator_base where area_type = 'regio' and respondent_group = ? "
            "and care_type = 'ALL' and indicator = ? and year = 2025 and period = '2025'",
            [group, indicator],
        ).fetchone()[0]


def test_questionnaire_figures(chain):
    # q01 (parents): answers 1-5 are 5,5,4,4,4,3,2,1,4,5 (9 and empty excluded) -> 10; 4 or 5: 7 -> 70%
    assert unpublished(chain, "pct_positive_q01", "OUDERS") == pytest.approx(70.0)
    # q09 parents: 8,7,9,6,7,5,10,8,7,8 = 75 / 10 = 7.5; >= 7: 8 of 10
    assert unpublished(chain, "mean_q09", "OUDERS") == pytest.approx(7.5)
    assert unpublished(chain, "pct_q09_7plus", "OUDERS") == pytest.approx(80.0)
    # with the youth's 6: 81 / 11 = 7.36; >= 7 still 8 -> 8/11 = 72.7%
    assert region(chain, "mean_q09")["value"] == "7.4"
    assert region(chain, "pct_q09_7plus")["value"] == f"{800 / 11:.1f}"
    # q10 parents 01,03,04,04,02,03,04,01,03,04 -> 03/04: 7 of 10; with the youth's 02: 7 of 11
    assert unpublished(chain, "pct_zonder_hulp_verder", "OUDERS") == pytest.approx(70.0)
    assert region(chain, "pct_zonder_hulp_verder")["value"] == f"{700 / 11:.1f}"
    # 12 parents' + 1 youth's cleaned responses; shown counts are rounded to 5
    assert region(chain, "n_responses")["value"] == "15"


def test_one_youth_is_suppressed_and_cannot_be_recovered_from_the_parents(chain):
    row = region(chain, "mean_q09", "JONGEREN")
    assert row["suppressed"] == "true" and row["value"] == "" and row["n"] == ""
    # ALL = OUDERS + JONGEREN: with the parents shown, the youth's 6 would be 11 x 7.36 - 10 x 7.5. So the
    # parents' figures are hidden with it, while the ALL figures stay shown. (q01 is not on the youth's
    # questionnaire: there ALL = OUDERS and nothing is hidden.)
    assert region(chain, "pct_positive_q01", "OUDERS")["value"] == region(chain, "pct_positive_q01")["value"] == "70.0"
    for indicator in ("mean_q09", "pct_q09_7plus", "pct_zonder_hulp_verder", "n_responses"):
        parents = region(chain, indicator, "OUDERS")
        assert (parents["suppressed"], parents["value"], parents["n"]) == ("true", "", ""), indicator
        assert region(chain, indicator)["suppressed"] == "false", indicator


def test_response_rate_uses_the_90_day_window(chain):
    # counting ended trajectories 11; with an end questionnaire within 90 days: all but 1007, 1008 -> 9
    row = published(chain)[("regio", "RMJ", "ALL", "EINDE", "response_rate")]
    assert row["value"] == f"{900 / 11:.1f}"


def test_cbs_extract_rows(chain):
    folder = chain["root"] / "exports" / "cbs" / "2025-H1"
    with (folder / f"{AGB}.csv").open(encoding="utf-8", newline="") as handle:
        rows = {int(r["toewijzingnummer"]): r for r in csv.DictReader(handle, delimiter=";")}
    # ended in H1 with a counting reason and a CEM+ in H1: 1001-1006, 1009-1011 (1007/1008 answered in H2; 1012 does not count)
    assert sorted(rows) == [1001, 1002, 1003, 1004, 1005, 1006, 1009, 1010, 1011]
    assert rows[1001] == {
        "aanbieder_agb": AGB, "toewijzingnummer": "1001", "datum_aanvang": "20240901", "datum_einde": "20250301",
        "reden_beeindiging": "01", "tevredenheid_jeugdige": "6", "zonder_hulp_verder_jeugdige": "02",
        "tevredenheid_ouder": "8", "zonder_hulp_verder_ouder": "01",
    }
    assert rows[1009]["reden_beeindiging"] == "03" and rows[1009]["tevredenheid_ouder"] == ""
    assert rows[1011]["reden_beeindiging"] == "02"
    assert (folder / "manifest.json").exists()
    assert oct((folder / f"{AGB}.csv").stat().st_mode & 0o777) == "0o600"


def test_no_bsn_birth_date_or_name_anywhere(chain):
    root = chain["root"]
    secrets = set(BSNS.values()) | {"2011-06-01", "Zwaneveld"}
    with warehouse.connect(root / "warehouse" / "rmj.duckdb", read_only=True) as con:
        tables = con.execute("select table_schema || '.' || table_name from information_schema.tables where table_schema not in ('information_schema', 'pg_catalog')").fetchall()
        for (table,) in tables:
            text = "\n".join(map(str, con.execute(f"select * from {table}").fetchall()))
            assert not any(s in text for s in secrets), table
    for path in (root / "exports").rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            assert not any(s in text for s in secrets), path


def test_what_holds_person_level_data_is_readable_by_its_owner_only(chain):
    root = chain["root"]
    mode = lambda path: oct(path.stat().st_mode & 0o777)  # noqa: E731
    assert mode(root / "warehouse" / "rmj.duckdb") == "0o600"
    for owned in ("received", "quarantine", "retained"):
        assert mode(root / "landing" / owned) == "0o700", owned
    assert mode(root / "exports" / "cbs") == "0o700"  # the record-level extract
    ceo = root / "exports" / "ceo" / "2025"
    assert mode(ceo / "indicators.csv") == "0o644"  # aggregated and suppressed: a separate folder, publishable
