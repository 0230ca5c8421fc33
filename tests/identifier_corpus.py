"""The identifier corpus: every contract field in the value styles real systems produce, and every
identifier planted in every field, held against every identifier scan.

Two halves (``tests/test_identifier_corpus.py`` asserts both; ``python -m tests.identifier_corpus`` prints
the tables):

- **legitimate** -- deliveries of all three kinds whose every field takes each style in turn
  (``LEGITIMATE``), run through the whole chain (``runner.process``: the TTP step, every SQL model, the
  CBS extract). Findings are counted per scan: the TTP step (files quarantined, rows rejected as
  ``identifier_in_field`` or fields whose declared type refused the value), the table-wide scan of every warehouse table, and the export-file scan of
  every CBS file. A legitimate value is never a finding.
- **planted** -- for every stored field of every kind: the row's own BSN, another valid BSN, the row's
  birth date as delivered and in another accepted format, and the row's name (delivered in a name
  column) put into that field, one delivery each, loaded by the TTP step and then scanned table-wide. A
  planted identifier is found when the TTP step quarantines the file, rejects the row or the field's type
  refuses the value (NULL with its class of problem in ``field_problems``), or the table
  scan reports it; it is *stored* when its text is in the pseudo table afterwards.

Only public APIs that exist before and after the change are used, so the same file measures both.
"""

from __future__ import annotations

import csv
import io
import sys
from itertools import cycle, islice
from pathlib import Path

from rmj_dagster.ttp.bsn import passes_elfproef

AGB = "12345678"


def valid_bsns(count: int, start: int = 100_000_000) -> list[str]:
    found, candidate = [], start
    while len(found) < count:
        candidate += 1
        if passes_elfproef(str(candidate)):
            found.append(str(candidate))
    return found


# Every contract field (stored by the TTP step) with the styles real systems deliver it in.
LEGITIMATE: dict[str, list[str]] = {
    "aanbieder_agb": ["12345678", "01234567", "98765432"],
    # iJw LDT_Nummer as municipalities issue it: year-prefixed sequence numbers (read as dates by a naive
    # scan), 9-digit numbers passing the 11-proef, leading zeros, short numbers
    "toewijzingnummer": ["20250101", "20250131", "20120304", "20150101", "123456782", "111222333", "000000042",
                         "0012345", "7", "421", "100000000", "999999990"],
    "gemeentecode": ["0363", "363", "GM0363", "0358"],
    "date": ["2025-03-01", "20250301", "01-03-2025"],  # every event date: invuldatum, begindatum, einddatum, meetdatum
    "geboortedatum": ["2015-01-01", "20150101", "01-01-2015", "20150100"],
    "vragenlijst": ["OUDERS_EINDE"],
    "q01": ["1", "2", "3", "4", "5", "9", ""],
    "q09": ["1", "7", "10", ""],
    "q10": ["01", "04", "1", "4", ""],
    "geen_inzage_hulpverlener": ["1", "0", "ja", "nee", "true", "false", ""],
    "productcategorie": ["45", "54", ""],
    "productcode": ["45A01", "47A13", "54001", ""],
    "reden_beeindiging": ["31", "2", "34"],
    "status_aanlevering": ["1", "2", ""],
    "trajecttype": ["PERSPECTIEF", "INTENSIEF", "DUURZAAM"],
    "doel_nr": ["1", "2", "12"],
    "gas_score": ["-2", "+1", "0", "2"],
    "gewicht": ["1", "1.5", "2,5", ""],
    "probleemafname": ["1", "2", "3"],
}
# derived by the pipeline, scanned table-wide: ages (leeftijd), year-months (geboortejaarmaand), counts


def _styles(field: str, n: int) -> list[str]:
    return list(islice(cycle(LEGITIMATE[field]), n))


def _csv(columns: list[str], rows: list[list[str]], delimiter: str) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows([columns, *rows])
    return out.getvalue()


def write_legitimate_deliveries(incoming: Path) -> int:
    """One CEM+, stop-zorg and goals delivery per provider style; one trajectory per toewijzingnummer
    style, each with a stop record, a parents' questionnaire and a goal measurement that link (same
    provider and number), so every style reaches the CBS extract. Returns the number of trajectories."""
    numbers = LEGITIMATE["toewijzingnummer"]
    n = len(numbers)
    bsns = valid_bsns(n)
    agbs, gemeenten, births = _styles("aanbieder_agb", n), _styles("gemeentecode", n), _styles("geboortedatum", n)
    dates = _styles("date", n + 1)
    q01, q09, q10 = _styles("q01", n), _styles("q09", n), _styles("q10", n)
    inzage = _styles("geen_inzage_hulpverlener", n)
    cem = [[agbs[i], bsns[i], births[i], gemeenten[i], numbers[i], "OUDERS_EINDE",
            {"2025-03-01": "2025-02-20", "20250301": "20250220", "01-03-2025": "20-02-2025"}[dates[i]],
            q01[i], q09[i], q10[i], inzage[i]] for i in range(n)]
    begin = {"2025-03-01": "2024-09-01", "20250301": "20240901", "01-03-2025": "01-09-2024"}
    categorie, code = _styles("productcategorie", n), _styles("productcode", n)
    reden, status = _styles("reden_beeindiging", n), _styles("status_aanlevering", n)
    stop = [[agbs[i], bsns[i], births[i], gemeenten[i], numbers[i], categorie[i], code[i], begin[dates[i + 1]],
             dates[i], reden[i], status[i]] for i in range(n)]
    traject, gas, gewicht, afname = (_styles(f, n) for f in ("trajecttype", "gas_score", "gewicht", "probleemafname"))
    goals = []
    for i in range(n):
        for doel in LEGITIMATE["doel_nr"]:
            goals.append([agbs[i], bsns[i], gemeenten[i], numbers[i], traject[i], dates[i], doel, gas[i], gewicht[i], afname[i]])
    (incoming / "CEM_export 2025.csv").write_text(_csv(
        ["aanbieder_agb", "bsn", "geboortedatum", "gemeentecode", "toewijzingnummer", "vragenlijst", "invuldatum",
         "q01", "q09", "q10", "geen_inzage_hulpverlener"], cem, ";"), encoding="utf-8")
    (incoming / "stopzorg.csv").write_text(_csv(
        ["aanbieder_agb", "bsn", "geboortedatum", "gemeentecode", "toewijzingnummer", "productcategorie", "productcode",
         "begindatum", "einddatum", "reden_beeindiging", "status_aanlevering"], stop, ","), encoding="utf-8")
    (incoming / "doelen.csv").write_text(_csv(
        ["aanbieder_agb", "bsn", "gemeentecode", "toewijzingnummer", "trajecttype", "meetdatum", "doel_nr", "gas_score",
         "gewicht", "probleemafname"], goals, ";"), encoding="utf-8")
    return n


def scan_legitimate_chain(settings_paths: dict[str, Path]) -> dict[str, object]:
    """Run the chain over ``incoming/`` and count findings per scan and field (the runs recorded in memory:
    the findings are the warehouse's and the exports', and SQLite instance storage doubles a run's cost)."""
    import dagster as dg

    from rmj_dagster import warehouse
    from rmj_dagster.privacy import identifiers
    from rmj_dagster.runner import PipelineFailed, periods_with_data, process, publish

    result: dict[str, object] = {"run": "ok"}
    instance = dg.DagsterInstance.ephemeral()
    try:
        summary = process(instance=instance)
        result["failed_checks"] = list(summary.failed_checks)
        for kind, periods in periods_with_data().items():  # every publication, as an analyst asks for it
            for period in periods:
                result["failed_checks"] += publish(kind, period, instance=instance).failed_checks
    except PipelineFailed as failure:
        result["run"] = f"failed: {failure}"
    with warehouse.connect(settings_paths["warehouse"], read_only=True) as con:
        quarantined = con.execute(
            "select count(*) from audit.deliveries where status = 'quarantined'").fetchone()[0]
        ttp = {"files_quarantined": quarantined}
        if warehouse.table_exists(con, "intermediate.rejected_rows"):
            ttp["rows_rejected_identifier_in_field"] = con.execute(
                "select count(*) from intermediate.rejected_rows where reason_code = 'identifier_in_field'").fetchone()[0]
        tables: dict[str, dict] = {}
        for table in identifiers.warehouse_tables(con):
            scan = identifiers.scan_table(con, table)
            if identifiers.findings(scan):
                tables[table] = {k: v for k, v in scan.items() if v}
        exports: dict[str, dict] = {}
        cbs_rows = 0
        for path in sorted((settings_paths["exports"] / "cbs").rglob("*")) if (settings_paths["exports"] / "cbs").exists() else []:
            if path.is_file():
                if path.suffix == ".csv":
                    cbs_rows += len(path.read_text(encoding="utf-8").splitlines()) - 1
                scan = identifiers.scan_export_file(con, path)
                if identifiers.export_findings(scan):
                    exports[path.name] = {k: v for k, v in scan.items() if v}
        numbers_listed = set()
        for path in sorted((settings_paths["exports"] / "cbs").rglob("*.csv")) if (settings_paths["exports"] / "cbs").exists() else []:
            for row in csv.DictReader(path.open(encoding="utf-8"), delimiter=";"):
                numbers_listed.add(row["toewijzingnummer"])
    result |= {"ttp": ttp, "table_scan": tables, "export_scan": exports, "cbs_rows": cbs_rows,
               "cbs_toewijzingnummers": sorted(numbers_listed)}
    return result


def scan_cbs_style_file(folder: Path) -> dict[str, object]:
    """The export-file scan on a CBS-format file holding every legitimate style of its columns (as the
    extract writes them: numbers without leading zeros, dates as YYYYMMDD), independent of the chain."""
    import duckdb

    from rmj_dagster.privacy import identifiers
    from rmj_dagster.quality.expectations import CBS_COLUMNS

    numbers = [str(int(t)) for t in LEGITIMATE["toewijzingnummer"]]
    agbs = _styles("aanbieder_agb", len(numbers))
    rows = [[agbs[i], numbers[i], "20240901", "20250301", "01", "8", "03", "7", "04"] for i in range(len(numbers))]
    path = folder / "cbs_style.csv"
    path.write_text(_csv(list(CBS_COLUMNS), rows, ";"), encoding="utf-8")
    with duckdb.connect() as con:
        return {k: v for k, v in identifiers.scan_export_file(con, path).items() if v}


# ----------------------------------------------------------------------------------------------------
# planted identifiers

KIND_FIELDS = {
    "responses": ["aanbieder_agb", "gemeentecode", "toewijzingnummer", "vragenlijst", "invuldatum",
                  *(f"q{i:02d}" for i in range(1, 11)), "geen_inzage_hulpverlener"],
    "stop_zorg": ["aanbieder_agb", "gemeentecode", "toewijzingnummer", "productcategorie", "productcode",
                  "begindatum", "einddatum", "reden_beeindiging", "status_aanlevering"],
    "goals": ["aanbieder_agb", "gemeentecode", "toewijzingnummer", "trajecttype", "meetdatum", "doel_nr",
              "gas_score", "gewicht", "probleemafname"],
}
_CLEAN = {
    "responses": {"aanbieder_agb": AGB, "gemeentecode": "0363", "toewijzingnummer": "1001",
                  "vragenlijst": "OUDERS_EINDE", "invuldatum": "2025-02-20", **{f"q{i:02d}": "4" for i in range(1, 9)},
                  "q09": "8", "q10": "03", "geen_inzage_hulpverlener": "0"},
    "stop_zorg": {"aanbieder_agb": AGB, "gemeentecode": "0363", "toewijzingnummer": "1001",
                  "productcategorie": "45", "productcode": "45A01", "begindatum": "2024-09-01",
                  "einddatum": "2025-03-01", "reden_beeindiging": "31", "status_aanlevering": "1"},
    "goals": {"aanbieder_agb": AGB, "gemeentecode": "0363", "toewijzingnummer": "1001", "trajecttype": "PERSPECTIEF",
              "meetdatum": "2025-03-01", "doel_nr": "1", "gas_score": "0", "gewicht": "1", "probleemafname": "3"},
}
OWN_BSN, OTHER_ROW_BSN, STRANGER_BSN = valid_bsns(3, start=123_000_000)
BIRTH = "2011-06-01"
NAME = "Zwaneveld"
PLANTS = {
    "own BSN": OWN_BSN,
    "other row's BSN": OTHER_ROW_BSN,
    "unknown BSN": STRANGER_BSN,
    "birth date as delivered": BIRTH,
    "birth date, other format": "01-06-2011",
    "birth date, compact": "20110601",
    "name": NAME,
}


# A 9-digit number passing the 11-proef is a legitimate toewijzingnummer (delivery contract): one that is
# not this row's own BSN cannot be told from a care number by any scan.
INDISTINGUISHABLE = {("toewijzingnummer", "other row's BSN"), ("toewijzingnummer", "unknown BSN")}


def planted_delivery(kind: str, field: str, plant: str) -> str:
    """Two rows: the first carries ``plant`` in ``field``; the second is clean (another youth)."""
    fields = KIND_FIELDS[kind]
    person = ["bsn"] + (["geboortedatum"] if kind != "goals" else []) + ["achternaam"]
    first = dict(_CLEAN[kind]) | {field: PLANTS[plant]}
    rows = [
        [OWN_BSN] + ([BIRTH] if kind != "goals" else []) + [NAME] + [first[f] for f in fields],
        [OTHER_ROW_BSN] + (["2012-02-02"] if kind != "goals" else []) + ["Jansen"]
        + [_CLEAN[kind][f] if f != "toewijzingnummer" else "1002" for f in fields],
    ]
    return _csv([*person, *fields], rows, ";")


def scan_planted(tmp: Path) -> list[dict]:
    """Every plant in every field: how it was found (or not) and whether its text was stored."""
    import duckdb

    from rmj_dagster import codebook, warehouse
    from rmj_dagster.intake.detect import Quarantine, inspect_file
    from rmj_dagster.privacy import identifiers
    from rmj_dagster.ttp import pseudonymise
    from rmj_dagster.ttp.pseudonym import PseudonymKey
    from rmj_dagster.warehouse import ddl

    key = PseudonymKey(secret=b"corpus-key-0123456789-0123456789-0123456789", label="corpus")
    results = []
    with warehouse.connect(tmp / "planted.duckdb") as con:
        ddl.ensure_tables(con)
        codebook.load_into(con)
        for kind, fields in KIND_FIELDS.items():
            table = f"pseudo.{kind}"
            stored_columns = {c for (c,) in con.execute(
                "select column_name from information_schema.columns where table_schema = 'pseudo' and table_name = ?",
                [kind]).fetchall()}
            flag = "identifier_in_field" in stored_columns
            typed = "field_problems" in stored_columns  # the field's type refused the value (NULL + its class)
            for field in fields:
                for plant, value in PLANTS.items():
                    if kind == "goals" and plant.startswith("birth"):
                        continue  # goals carry no birth date
                    path = tmp / f"{kind}_{field}.csv"
                    path.write_text(planted_delivery(kind, field, plant), encoding="utf-8")
                    con.execute(f"delete from {table}")
                    how = []
                    try:
                        pseudonymise.load_delivery(con, path, inspect_file(path), "p" * 16, key)
                    except Quarantine as problem:
                        how.append(f"TTP quarantine ({problem.code})")
                    except duckdb.Error as error:  # pragma: no cover -- reported, not hidden
                        how.append(f"error {type(error).__name__}")
                    if flag and con.execute(f"select count(*) from {table} where identifier_in_field is not null").fetchone()[0]:
                        how.append("TTP row reject")
                    if typed and con.execute(f"select count(*) from {table} where field_problems like ?",
                                             [f"%{field}:%"]).fetchone()[0]:
                        how.append("TTP field type")
                    scan = identifiers.scan_table(con, table)  # a finding counts when it is in the planted field
                    if any(field in (v if isinstance(v, (dict, list)) else ()) for v in scan.values()):
                        how.append("table scan (blocking)")
                    stored = value.lower() in str(con.execute(f"select * from {table}").fetchall()).lower()
                    results.append({"kind": kind, "field": field, "plant": plant, "found_by": how, "stored": stored})
    return results


def summarise_planted(results: list[dict]) -> dict[str, dict[str, int]]:
    """Per plant: how many fields found it by each route, how many missed it, how many stored it."""
    out: dict[str, dict[str, int]] = {}
    for r in results:
        row = out.setdefault(r["plant"], {"fields": 0, "found": 0, "missed": 0, "stored": 0})
        row["fields"] += 1
        row["found" if r["found_by"] else "missed"] += 1
        row["stored"] += r["stored"]
        for route in r["found_by"]:
            row[route] = row.get(route, 0) + 1
    return out


def main() -> None:  # pragma: no cover -- a measuring tool
    import json
    import os
    import tempfile

    with tempfile.TemporaryDirectory(prefix="rmj-corpus-") as folder:
        tmp = Path(folder)
        paths = {"landing": tmp / "landing", "warehouse": tmp / "w" / "rmj.duckdb", "exports": tmp / "exports"}
        (paths["landing"] / "incoming").mkdir(parents=True)
        os.environ |= {"RMJ_LANDING_DIR": str(paths["landing"]), "RMJ_WAREHOUSE": str(paths["warehouse"]),
                       "RMJ_EXPORT_DIR": str(paths["exports"]), "RMJ_SNAPSHOT": str(tmp / "snapshot" / "rmj_marts.duckdb"),
                       "DAGSTER_HOME": str(tmp / "dagster_home"),
                       "RMJ_PSEUDONYM_KEY": "corpus-key-0123456789-0123456789-0123456789"}
        n = write_legitimate_deliveries(paths["landing"] / "incoming")
        print(f"legitimate corpus: {n} trajectories; styles per field:")
        for field, styles in LEGITIMATE.items():
            print(f"  {field:26} {', '.join(repr(s) for s in styles)}")
        print("legitimate, whole chain:", json.dumps(scan_legitimate_chain(paths), indent=1))
        print("legitimate, CBS-style file:", json.dumps(scan_cbs_style_file(tmp)))
        results = scan_planted(tmp)
        print("planted, per plant over all fields:")
        for plant, row in summarise_planted(results).items():
            print(f"  {plant:26} {json.dumps(row)}")
        missed = [f"{r['kind']}.{r['field']}: {r['plant']}" for r in results if not r["found_by"]]
        print("indistinguishable by contract:", sorted(INDISTINGUISHABLE))
        print("planted and missed:", missed)
        stored = [f"{r['kind']}.{r['field']}: {r['plant']} ({', '.join(r['found_by'])})" for r in results if r["stored"]]
        print("planted and stored:", stored)


if __name__ == "__main__":
    sys.exit(main())


# ----------------------------------------------------------------------------------------------------
# identifiers written the way people write them (issue 23): every spelling in every delivered field

SPELLED_BSN = valid_bsns(1, start=146_000_000)[0]
SPELLED_BIRTH = "2011-06-01"
SPELLED_NAME = "BOSMA"  # the youth's surname, in capitals; delivered as "Bosma" in its name column


def spellings(bsn: str = SPELLED_BSN) -> dict[str, str]:
    """The row's own BSN, birth date and surname as people write them (none is a value of any field's type)."""
    a, b, c = bsn[:3], bsn[3:6], bsn[6:]
    return {
        "BSN with spaces": f"{a} {b} {c}",
        "BSN with dots": f"{a}.{b}.{c}",
        "BSN with dashes": f"{a}-{b}-{c}",
        "BSN with a zero-width space": f"{a}\u200b{b}{c}",
        "BSN with non-breaking spaces": f"{a}\u00a0{b}\u00a0{c}",
        "BSN with a prefix": f"BSN {bsn}",
        "BSN with a leading zero": f"0{bsn}",
        "birth date d-m-yyyy": "1-6-2011",
        "birth date dd-mm-yy": "01-06-11",
        "birth date in words": "1 juni 2011",
        "birth date d/m/yyyy": "1/6/2011",
        "surname in capitals": SPELLED_NAME,
        "surname with prefix in capitals": f"DE {SPELLED_NAME}",
    }


_SPELLED_FIELDS = {  # per CSV kind: its delivered fields (start_zorg comes as JW305 only)
    "responses": KIND_FIELDS["responses"],
    "stop_zorg": KIND_FIELDS["stop_zorg"],
    "goals": KIND_FIELDS["goals"],
}
# A goal delivery carries no birth date: a date in a contract format as meetdatum is a measurement day and
# nothing can tell it from the youth's birthday (elsewhere the row's own birth date is held against it).
SPELLED_INDISTINGUISHABLE = {("goals", "meetdatum", "birth date d-m-yyyy")}


def write_spelled_deliveries(incoming: Path) -> dict[str, int]:
    """One CSV delivery per kind whose rows each carry one spelling in one field (a clean row first), plus
    a JW307 and a JW305 message with the spellings that fit their schema. Returns rows per file."""
    from tests.jw307_samples import jw305, jw307

    written = {}
    for kind, fields in _SPELLED_FIELDS.items():
        person = ["bsn"] + (["geboortedatum"] if kind != "goals" else []) + ["achternaam"]
        rows = []
        number = 2000
        for field in [None, *fields]:
            for label, spelled in (spellings().items() if field else [(None, None)]):
                if (kind, field, label) in SPELLED_INDISTINGUISHABLE:
                    continue
                number += 1
                values = dict(_CLEAN[kind]) | {"toewijzingnummer": str(number)}
                if field:
                    values[field] = spelled
                rows.append([SPELLED_BSN] + ([SPELLED_BIRTH] if kind != "goals" else []) + ["Bosma"]
                            + [values[f] for f in fields])
        name = f"spelled_{kind}.csv"
        (incoming / name).write_text(_csv([*person, *fields], rows, ";"), encoding="utf-8")
        written[name] = len(rows)
    # iJw messages: the schema types most fields; a product code (1-5 characters) can still carry a name
    stop = [{"toewijzingnummer": 3001 + i, "begindatum": "2024-09-01", "einddatum": "2025-03-01", "reden": "31"}
            for i in range(2)]
    text = jw307(bsn=SPELLED_BSN, products=stop).replace(">45A01<", f">{SPELLED_NAME}<")
    (incoming / "spelled_jw307.xml").write_text(text, encoding="utf-8")
    written["spelled_jw307.xml"] = 2
    start = [{"toewijzingnummer": 4001, "begindatum": "2022-03-01", "categorie": "45", "code": SPELLED_NAME},
             {"toewijzingnummer": 4002, "begindatum": "2022-03-01", "categorie": "45", "code": "45A01"}]
    (incoming / "spelled_jw305.xml").write_text(jw305(bsn=SPELLED_BSN, products=start, birth=SPELLED_BIRTH),
                                                encoding="utf-8")
    written["spelled_jw305.xml"] = 2
    return written


def spelled_needles() -> list[str]:
    """What must be found nowhere: every spelling (as text and as JSON writes it), the BSN's digits, the
    birth date in the delivered and the usual formats."""
    import json

    plain = [*spellings().values(), SPELLED_BSN, SPELLED_BSN[:3] + " " + SPELLED_BSN[3:6], SPELLED_BIRTH, "20110601",
             "01-06-2011", "Bosma"]
    return sorted({form for value in plain for form in (value, json.dumps(value)[1:-1])})
