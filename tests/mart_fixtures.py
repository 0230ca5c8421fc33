"""Hand-built intermediate tables for the mart tests, with exactly the columns of docs/data-model.md.

    with mart_warehouse(tmp_path) as con:
        add_response(con, q01=5, gemeentecode="0358")
        add_outcome(con, reden="32")
        build_indicators(con, 2025)          # indicator_base, then ceo_indicators for 2025

Rows get defaults that make a plausible record (provider AGB_A, Amsterdam 0363, year 2025); the
sub-region and the stop-record classification (CBS category, counts as end, uitval) are looked up in
the codebook the way the intermediate models do, so a test only states what it is about.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import duckdb

from rmj_dagster import codebook, warehouse
from rmj_dagster.warehouse import sql_models

AGB_A = "12345678"
AGB_B = "87654321"

# The intermediate tables the marts read, column by column as in docs/data-model.md.
CONTRACT: dict[str, tuple[tuple[str, str], ...]] = {
    "intermediate.cleaned_responses": (
        ("delivery_id", "varchar"), ("aanbieder_agb", "varchar"), ("pseudoniem", "varchar"),
        ("key_label", "varchar"), ("gemeentecode", "varchar"), ("subregio", "varchar"),
        ("toewijzingnummer", "bigint"), ("vragenlijst", "varchar"), ("respondent_group", "varchar"),
        ("care_type", "varchar"), ("invuldatum", "date"), ("leeftijd", "integer"),
        *((f"q{i:02d}", "integer") for i in range(1, 11)),
        ("geen_inzage_hulpverlener", "boolean"),
    ),
    "intermediate.cleaned_stop_zorg": (
        ("delivery_id", "varchar"), ("aanbieder_agb", "varchar"), ("pseudoniem", "varchar"),
        ("key_label", "varchar"), ("gemeentecode", "varchar"), ("subregio", "varchar"),
        ("toewijzingnummer", "bigint"), ("productcategorie", "varchar"), ("productcode", "varchar"),
        ("begindatum", "date"), ("einddatum", "date"), ("reden_beeindiging", "varchar"),
        ("cbs_categorie", "varchar"), ("counts_as_end", "boolean"), ("is_uitval", "boolean"),
    ),
    "intermediate.cleaned_start_zorg": (
        ("delivery_id", "varchar"), ("aanbieder_agb", "varchar"), ("pseudoniem", "varchar"),
        ("key_label", "varchar"), ("gemeentecode", "varchar"), ("subregio", "varchar"),
        ("toewijzingnummer", "bigint"), ("productcategorie", "varchar"), ("productcode", "varchar"),
        ("begindatum", "date"),
    ),
    "intermediate.trajectory_outcomes": (
        ("delivery_id", "varchar"), ("aanbieder_agb", "varchar"), ("toewijzingnummer", "bigint"), ("begindatum", "date"),
        ("gemeentecode", "varchar"), ("subregio", "varchar"), ("einddatum", "date"),
        ("cbs_categorie", "varchar"), ("counts_as_end", "boolean"), ("is_uitval", "boolean"),
        ("has_end_response", "boolean"),
    ),
    "intermediate.gas_scores": (
        ("delivery_id", "varchar"), ("aanbieder_agb", "varchar"), ("pseudoniem", "varchar"), ("toewijzingnummer", "bigint"),
        ("gemeentecode", "varchar"), ("subregio", "varchar"), ("trajecttype", "varchar"),
        ("meetdatum", "date"), ("n_goals", "bigint"), ("gas_t", "double"), ("goal_attained", "boolean"),
        ("probleemafname", "integer"), ("problem_decreased", "boolean"),
    ),
}

_serial = itertools.count(1)


def subregio_of(gemeentecode: str) -> str:
    return next(r["subregio"] for r in codebook.rows("region") if r["gemeentecode"] == gemeentecode)


def reason(reden: str) -> dict:
    """What cleaned_stop_zorg derives from a JZ588 code via ref.reden_beeindiging."""
    row = next(r for r in codebook.rows("reden_beeindiging") if r["reden_beeindiging"] == reden)
    return {
        "reden_beeindiging": reden,
        "cbs_categorie": row["cbs_categorie"] or None,
        "counts_as_end": row["counts_as_end"] == "true",
        "is_uitval": row["is_uitval"] == "true",
    }


@contextmanager
def mart_warehouse(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A fresh warehouse with the codebook loaded and the intermediate tables created empty."""
    with warehouse.connect(Path(tmp_path) / "warehouse.duckdb") as con:
        codebook.load_into(con)
        for table, columns in CONTRACT.items():
            con.execute(f"create table {table} ({', '.join(f'{c} {t}' for c, t in columns)})")
        yield con


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict]) -> None:
    columns = [c for c, _ in CONTRACT[table]]
    for row in rows:
        unknown = set(row) - set(columns)
        if unknown:
            raise KeyError(f"{table} has no column(s) {sorted(unknown)}")
    placeholders = ", ".join("?" for _ in columns)
    con.executemany(f"insert into {table} values ({placeholders})", [[r.get(c) for c in columns] for r in rows])


def add_response(con, *, count: int = 1, vragenlijst: str = "OUDERS_EINDE", **given) -> None:
    """``count`` cleaned responses (q01-q10 empty unless given)."""
    group, care = vragenlijst.split("_")
    gemeentecode = given.get("gemeentecode", "0363")
    rows = []
    for _ in range(count):
        serial = next(_serial)
        rows.append({
            "delivery_id": "d1", "aanbieder_agb": AGB_A, "pseudoniem": f"{serial:064x}", "key_label": "test",
            "gemeentecode": gemeentecode, "subregio": subregio_of(gemeentecode), "toewijzingnummer": serial,
            "vragenlijst": vragenlijst, "respondent_group": group, "care_type": care,
            "invuldatum": date(2025, 3, 1), "leeftijd": 14,
        } | given)
    _insert(con, "intermediate.cleaned_responses", rows)


def add_answers(con, item: str, answers: list, **given) -> None:
    """One response per answer to ``item`` (None = not answered)."""
    for answer in answers:
        add_response(con, **{item: answer} | given)


def add_stop(con, *, reden: str = "31", **given) -> None:
    gemeentecode = given.get("gemeentecode", "0363")
    _insert(con, "intermediate.cleaned_stop_zorg", [{
        "delivery_id": "d2", "aanbieder_agb": AGB_A, "pseudoniem": f"{next(_serial):064x}", "key_label": "test",
        "gemeentecode": gemeentecode, "subregio": subregio_of(gemeentecode), "toewijzingnummer": next(_serial),
        "productcategorie": "45", "productcode": "45A01", "begindatum": date(2024, 9, 1),
        "einddatum": date(2025, 3, 1),
    } | reason(reden) | given])


def add_start(con, **given) -> None:
    """A JW305 start record (cleaned_start_zorg)."""
    gemeentecode = given.get("gemeentecode", "0363")
    _insert(con, "intermediate.cleaned_start_zorg", [{
        "delivery_id": "d3", "aanbieder_agb": AGB_A, "pseudoniem": f"{next(_serial):064x}", "key_label": "test",
        "gemeentecode": gemeentecode, "subregio": subregio_of(gemeentecode), "toewijzingnummer": next(_serial),
        "productcategorie": "45", "productcode": "45A01", "begindatum": date(2023, 1, 1),
    } | given])


def add_outcome(con, *, reden: str = "31", has_end_response: bool = False, **given) -> None:
    gemeentecode = given.get("gemeentecode", "0363")
    classified = reason(reden)
    del classified["reden_beeindiging"]
    _insert(con, "intermediate.trajectory_outcomes", [{
        "delivery_id": "d2", "aanbieder_agb": AGB_A, "toewijzingnummer": next(_serial), "begindatum": date(2024, 9, 1),
        "gemeentecode": gemeentecode, "subregio": subregio_of(gemeentecode), "einddatum": date(2025, 3, 1),
        "has_end_response": has_end_response,
    } | classified | given])


def add_measurement(con, *, gas_t: float, goal_attained: bool, probleemafname: int | None,
                    problem_decreased: bool | None, **given) -> None:
    gemeentecode = given.get("gemeentecode", "0363")
    _insert(con, "intermediate.gas_scores", [{
        "delivery_id": "d3", "aanbieder_agb": AGB_A, "pseudoniem": f"{next(_serial):064x}", "toewijzingnummer": next(_serial),
        "gemeentecode": gemeentecode, "subregio": subregio_of(gemeentecode), "trajecttype": "PERSPECTIEF",
        "meetdatum": date(2025, 3, 1), "n_goals": 2, "gas_t": gas_t, "goal_attained": goal_attained,
        "probleemafname": probleemafname, "problem_decreased": problem_decreased,
    } | given])


def run(con, name: str, period: str | None = None) -> int:
    """Run one SQL model; a period is ``2025`` (year) or ``2025-H1`` (half-year)."""
    model = sql_models.model(name)
    if model.partition is None:
        return sql_models.run_model(con, model)
    if "-H" in period:
        year, half = int(period[:4]), period[-1]
        start, end = (date(year, 1, 1), date(year, 6, 30)) if half == "1" else (date(year, 7, 1), date(year, 12, 31))
    else:
        start, end = date(int(period), 1, 1), date(int(period), 12, 31)
    return sql_models.run_model(con, model, period=period, period_start=start, period_end=end)


def build_indicators(con, year: int = 2025) -> None:
    run(con, "indicator_observations")
    for built in sorted({y for (y,) in con.execute("select distinct year from intermediate.indicator_observations").fetchall()} | {year}):
        run(con, "indicator_base", str(built))
    run(con, "ceo_indicators", str(year))


def base_figure(con, indicator: str, area_type: str = "regio", area_code: str = "RMJ", group: str = "ALL",
                care: str = "ALL", year: int = 2025) -> dict | None:
    """One row of marts.indicator_base as a dict (None when the cell does not exist)."""
    cursor = con.execute(
        "select * from marts.indicator_base where period = year::varchar and year = ? and indicator = ? and area_type = ? and area_code = ? "
        "and respondent_group = ? and care_type = ?",
        [year, indicator, area_type, area_code, group, care],
    )
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    assert len(rows) <= 1, rows
    return dict(zip(names, rows[0])) if rows else None


def published_figure(con, indicator: str, area_type: str = "regio", area_code: str = "RMJ", group: str = "ALL",
                     care: str = "ALL", year: int = 2025) -> dict | None:
    """One row of marts.ceo_indicators for the year."""
    cursor = con.execute(
        "select * from marts.ceo_indicators where period = ? and indicator = ? and area_type = ? and area_code = ? "
        "and respondent_group = ? and care_type = ?",
        [str(year), indicator, area_type, area_code, group, care],
    )
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    assert len(rows) <= 1, rows
    return dict(zip(names, rows[0])) if rows else None
