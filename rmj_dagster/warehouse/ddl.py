"""Tables written from Python (audit trail and the TTP step's output); the SQL models create the rest."""

from __future__ import annotations

import duckdb

# (column, type) of the tables the TTP step writes: their DDL and the TTP step's column list come from here.
_COMMON_PSEUDO = (
    ("delivery_id", "varchar not null"),
    ("source_row", "bigint not null"),
    ("aanbieder_agb", "varchar"),
    ("pseudoniem", "varchar"),
    ("key_label", "varchar not null"),
    ("id_status", "varchar not null"),
    ("gemeentecode", "varchar"),
    ("toewijzingnummer", "varchar"),
)
_PERSON = (
    ("geboortejaarmaand", "varchar"),
    ("leeftijd", "integer"),
    ("leeftijd_min", "integer"),
    ("voor_geboorte", "boolean"),
)


def _text(*names: str) -> tuple[tuple[str, str], ...]:
    """Delivered values are stored as text; staging types them (and rejects what does not parse)."""
    return tuple((name, "varchar") for name in names)


# Set by the TTP step: the delivered fields that held an identifier and were emptied before storing
# (comma-separated column names); staging rejects such a row as identifier_in_field.
_FLAG = (("identifier_in_field", "varchar"),)

PSEUDO_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "pseudo.responses": _COMMON_PSEUDO + _PERSON + _text(
        "vragenlijst", "invuldatum", *(f"q{i:02d}" for i in range(1, 11)), "geen_inzage_hulpverlener"
    ) + _FLAG,
    "pseudo.stop_zorg": _COMMON_PSEUDO + _PERSON + _text(
        "productcategorie", "productcode", "begindatum", "einddatum", "reden_beeindiging", "status_aanlevering"
    ) + (("source_format", "varchar not null"),) + _FLAG,
    "pseudo.goals": _COMMON_PSEUDO + _text(
        "trajecttype", "meetdatum", "doel_nr", "gas_score", "gewicht", "probleemafname"
    ) + _FLAG,
    "pseudo.start_zorg": _COMMON_PSEUDO + _PERSON + _text(
        "productcategorie", "productcode", "begindatum", "status_aanlevering"
    ) + _FLAG,
}
PSEUDO_TABLES: dict[str, str] = {
    table: ", ".join(f"{name} {kind}" for name, kind in columns) for table, columns in PSEUDO_COLUMNS.items()
}


def columns_of(table: str) -> list[str]:
    """The columns of a table the TTP step writes, in table order."""
    return [name for name, _ in PSEUDO_COLUMNS[table]]


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
    # each key label with the keyed fingerprint of the key it was first used with (PseudonymKey.binding)
    "audit.key_labels": """
    key_label varchar primary key,
    key_fingerprint varchar not null,
    first_used_at timestamp not null
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
    for table in PSEUDO_TABLES:  # warehouses made before the TTP step flagged identifier fields
        con.execute(f"alter table {table} add column if not exists identifier_in_field varchar")
