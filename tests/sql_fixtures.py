"""Helpers for SQL model tests: a warehouse with the codebook and empty audit/pseudo tables, and
hand-built deliveries inserted straight into ``audit.deliveries`` and the ``pseudo`` tables (as if
the ingest and TTP steps had run).

    path = make_warehouse(tmp_path)
    with warehouse.connect(path) as con:
        insert_delivery(con, "d1", "responses", "2025-03-01 10:00", [{"q03": "7"}, {}])
        run_models(con)

A row dict holds pseudo-table columns as delivered (text). Missing columns get the defaults of
``DEFAULTS[kind]``, which make an accepted row (provider 12345678, Amsterdam 0363, pseudonym 'a'*64).
A row may carry ``geboortedatum`` (as delivered, also ``YYYYMM00``): it is reduced the way the TTP step does
it (``geboortejaarmaand``, ``leeftijd``, ``leeftijd_min`` and ``voor_geboorte`` at the kind's event date) and
is not stored.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb

from rmj_dagster import codebook, warehouse
from rmj_dagster.warehouse import ddl, sql_models

PSEUDONYM = "a" * 64
OTHER_PSEUDONYM = "b" * 64
AGB = "12345678"

TABLES = {"responses": "pseudo.responses", "stop_zorg": "pseudo.stop_zorg", "goals": "pseudo.goals",
          "start_zorg": "pseudo.start_zorg"}
EVENT_DATE = {"responses": "invuldatum", "stop_zorg": "begindatum", "start_zorg": "begindatum"}

_COMMON = {
    "aanbieder_agb": AGB,
    "pseudoniem": PSEUDONYM,
    "key_label": "test-key",
    "id_status": "ok",
    "gemeentecode": "0363",
    "toewijzingnummer": "1001",
}

DEFAULTS: dict[str, dict] = {
    "responses": _COMMON
    | {
        "geboortedatum": "2012-06-15",
        "vragenlijst": "JONGEREN_EINDE",
        "invuldatum": "2025-02-20",
        **{f"q{i:02d}": "4" for i in range(1, 9)},
        "q09": "8",
        "q10": "03",
        "geen_inzage_hulpverlener": None,
    },
    "stop_zorg": _COMMON
    | {
        "geboortedatum": "2012-06-15",
        "productcategorie": "45",
        "productcode": "45A01",
        "begindatum": "2024-09-01",
        "einddatum": "2025-03-01",
        "reden_beeindiging": "31",
        "status_aanlevering": "1",
        "source_format": "csv",
    },
    "start_zorg": _COMMON
    | {
        "geboortedatum": "2012-06-15",
        "productcategorie": "45",
        "productcode": "45A01",
        "begindatum": "2024-09-01",
        "status_aanlevering": "1",
    },
    "goals": _COMMON
    | {
        "trajecttype": "PERSPECTIEF",
        "meetdatum": "2025-03-01",
        "doel_nr": "1",
        "gas_score": "0",
        "gewicht": None,
        "probleemafname": "3",
    },
}


def make_warehouse(tmp_path: Path, name: str = "w.duckdb") -> Path:
    """A new warehouse file with every ``ref.*`` table loaded and the audit/pseudo tables created."""
    path = Path(tmp_path) / name
    with warehouse.connect(path) as con:
        ddl.ensure_tables(con)
        codebook.load_into(con)
    return path


def _as_date(text: str | None, *, birth: bool = False) -> date | None:
    """A delivered date as rmj_date / rmj_birth_date read it (YYYY-MM-DD, YYYYMMDD, DD-MM-YYYY, YYYYMM00)."""
    text = (text or "").strip()
    if birth and len(text) == 8 and text.isdigit() and text.endswith("00"):
        text = text[:6] + "01"
    for pattern in ("%Y-%m-%d", "%Y%m%d", "%d-%m-%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def _reduce_birth_date(row: dict, kind: str) -> dict:
    """What the TTP step keeps of a birth date: year-month, age at the event, event before birth."""
    if kind not in EVENT_DATE:
        row.pop("geboortedatum", None)
        return row
    given_birth = row.pop("geboortedatum", None)
    birth = _as_date(given_birth, birth=True)
    event = _as_date(row.get(EVENT_DATE[kind]))
    row.setdefault("geboortejaarmaand", birth.strftime("%Y-%m") if birth else None)
    if birth and event:
        row.setdefault("leeftijd", _age(birth, event))
        # day of birth unknown (YYYYMM00): the youngest possible age, with the last day of the month
        cbs_style = len(str(given_birth).strip()) == 8 and str(given_birth).strip().endswith("00")
        latest = _last_day_of_month(birth) if cbs_style else birth
        row.setdefault("leeftijd_min", _age(latest, event))
        row.setdefault("voor_geboorte", event < birth)
    else:
        row.setdefault("leeftijd", None)
        row.setdefault("leeftijd_min", None)
        row.setdefault("voor_geboorte", None)
    return row


def _age(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _last_day_of_month(day: date) -> date:
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return following - timedelta(days=1)


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    schema, name = table.split(".")
    return [
        c
        for (c,) in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
            "order by ordinal_position",
            [schema, name],
        ).fetchall()
    ]


def insert_delivery(
    con: duckdb.DuckDBPyConnection,
    delivery_id: str,
    kind: str,
    received_at: str | datetime,
    rows: list[dict],
    table: str | None = None,
    *,
    status: str = "loaded",
    rows_read: int | None = None,
    defaults: bool = True,
) -> None:
    """One ``audit.deliveries`` row plus its pseudo rows (source_row 1, 2, ... unless a row gives one).

    ``rows_read`` defaults to ``len(rows)``; give another number to plant a reconciliation error.
    ``defaults=False`` inserts only the given columns (others NULL, delivery_id/source_row still filled).
    """
    table = table or TABLES[kind]
    con.execute(
        "insert into audit.deliveries (delivery_id, sha256, file_name, size_bytes, received_at, kind, "
        "source_format, encoding, delimiter, status, rows_read, key_label, processed_at) "
        "values (?, ?, ?, 0, ?, ?, 'csv', 'utf-8', ';', ?, ?, 'test-key', ?)",
        [delivery_id, (delivery_id * 64)[:64], f"{delivery_id}.csv", received_at, kind, status,
         len(rows) if rows_read is None else rows_read, received_at],
    )
    columns = _columns(con, table)
    records = []
    for number, given in enumerate(rows, start=1):
        row = (DEFAULTS[kind] if defaults else {}) | given
        row = _reduce_birth_date(dict(row), kind)
        row |= {"delivery_id": delivery_id, "source_row": given.get("source_row", number)}
        if "leeftijd_min" not in columns and "leeftijd_min" not in given:
            row.pop("leeftijd_min", None)  # a pseudo table without the column
        unknown = set(row) - set(columns)
        if unknown:
            raise KeyError(f"{table} has no column(s) {sorted(unknown)}")
        records.append([row.get(c) for c in columns])
    if records:  # as delivered text, typed on the way in as the TTP step types it (ddl.typed_select_sql)
        placeholders = ", ".join("?" for _ in columns)
        con.execute(f"create or replace temp table rmj_fixture_text ({', '.join(f'{c} varchar' for c in columns)})")
        con.executemany(f"insert into rmj_fixture_text values ({placeholders})",
                        [[None if v is None else str(v) for v in record] for record in records])
        con.execute(f"insert into {table} {ddl.typed_select_sql(table, 'rmj_fixture_text', set(columns))}")
        con.execute("drop table rmj_fixture_text")


def run_models(con: duckdb.DuckDBPyConnection, layers: tuple[str, ...] = ("staging", "intermediate")) -> None:
    """Build every unpartitioned model of the given layers, in dependency order."""
    for model in sql_models.discover():
        if model.layer in layers and model.partition is None:
            sql_models.run_model(con, model)
