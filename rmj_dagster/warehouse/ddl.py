"""Tables written from Python (audit trail and the TTP step's output); the SQL models create the rest."""

from __future__ import annotations

import duckdb

_COMMON_PSEUDO = """
    delivery_id varchar not null,
    source_row bigint not null,
    aanbieder_agb varchar,
    pseudoniem varchar,
    key_label varchar not null,
    id_status varchar not null,
    gemeentecode varchar,
    toewijzingnummer varchar,
"""

_PERSON = """
    geboortejaarmaand varchar,
    leeftijd integer,
    leeftijd_min integer,
    voor_geboorte boolean,
"""

PSEUDO_TABLES: dict[str, str] = {
    "pseudo.responses": _COMMON_PSEUDO
    + _PERSON
    + """
    vragenlijst varchar, invuldatum varchar,
    q01 varchar, q02 varchar, q03 varchar, q04 varchar, q05 varchar,
    q06 varchar, q07 varchar, q08 varchar, q09 varchar, q10 varchar,
    geen_inzage_hulpverlener varchar
    """,
    "pseudo.stop_zorg": _COMMON_PSEUDO
    + _PERSON
    + """
    productcategorie varchar, productcode varchar, begindatum varchar, einddatum varchar,
    reden_beeindiging varchar, status_aanlevering varchar, source_format varchar not null
    """,
    "pseudo.goals": _COMMON_PSEUDO
    + """
    trajecttype varchar, meetdatum varchar, doel_nr varchar, gas_score varchar,
    gewicht varchar, probleemafname varchar
    """,
}

AUDIT_TABLES: dict[str, str] = {
    "audit.deliveries": """
    delivery_id varchar primary key,
    sha256 varchar not null,
    file_name varchar not null,
    size_bytes bigint not null,
    received_at timestamp not null,
    kind varchar,
    source_format varchar,
    encoding varchar,
    delimiter varchar,
    status varchar not null,
    reason_code varchar,
    reason_message varchar,
    rows_read bigint,
    extra_columns varchar,
    key_label varchar,
    processed_at timestamp,
    destroyed_at timestamp
    """,
    "audit.file_receipts": """
    sha256 varchar not null,
    delivery_id varchar not null,
    file_name varchar not null,
    size_bytes bigint not null,
    received_at timestamp not null,
    outcome varchar not null,
    recorded_at timestamp not null,
    destroyed_at timestamp,
    kept_at varchar,
    primary key (sha256, file_name, received_at)
    """,
}


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the audit and pseudo tables when missing (idempotent)."""
    for table, columns in {**AUDIT_TABLES, **PSEUDO_TABLES}.items():
        con.execute(f"create table if not exists {table} ({columns})")
