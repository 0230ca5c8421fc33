"""Tables written from Python (audit trail and the TTP step's output); the SQL models create the rest."""

from __future__ import annotations

import duckdb

from rmj_dagster.ttp import field_types

# (column, type) of the tables the TTP step writes: their DDL and the TTP step's column list come from here.
# Every delivered field is stored in the type declared for it in the codebook's field_types.csv (the TTP
# step's allow-list, rmj_dagster.ttp.field_types): a value not of its type is stored as NULL and named in
# field_problems, never as text.
_PERSON = (
    ("geboortejaarmaand", "varchar"),
    ("leeftijd", "integer"),
    ("leeftijd_min", "integer"),
    ("voor_geboorte", "boolean"),
)


def _typed(table: str, *names: str) -> tuple[tuple[str, str], ...]:
    """Delivered fields with their declared storage type."""
    return tuple((name, field_types.storage_type(table, name)) for name in names)


def _common(table: str) -> tuple[tuple[str, str], ...]:
    return (
        ("delivery_id", "varchar not null"),
        ("source_row", "bigint not null"),
        *_typed(table, "aanbieder_agb"),
        ("pseudoniem", "varchar"),
        ("key_label", "varchar not null"),
        ("id_status", "varchar not null"),
        *_typed(table, "gemeentecode", "toewijzingnummer"),
    )


# Set by the TTP step: identifier_in_field, the delivered fields that held the row's own BSN or birth date
# and were emptied before storing (comma-separated column names; staging rejects the row as
# identifier_in_field); field_problems, the fields whose value was not of their type ('column:class', comma-
# separated, e.g. 'q05:not_an_answer_code,invuldatum:not_a_date'; staging derives its reject reasons from them).
_FLAGS = (("identifier_in_field", "varchar"), ("field_problems", "varchar"))

PSEUDO_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "pseudo.responses": _common("pseudo.responses") + _PERSON + _typed(
        "pseudo.responses", "vragenlijst", "invuldatum", *(f"q{i:02d}" for i in range(1, 11)),
        "geen_inzage_hulpverlener",
    ) + _FLAGS,
    "pseudo.stop_zorg": _common("pseudo.stop_zorg") + _PERSON + _typed(
        "pseudo.stop_zorg", "productcategorie", "productcode", "begindatum", "einddatum", "reden_beeindiging",
        "status_aanlevering",
    ) + (("source_format", "varchar not null"),) + _FLAGS,
    "pseudo.goals": _common("pseudo.goals") + _typed(
        "pseudo.goals", "trajecttype", "meetdatum", "doel_nr", "gas_score", "gewicht", "probleemafname"
    ) + _FLAGS,
    "pseudo.start_zorg": _common("pseudo.start_zorg") + _PERSON + _typed(
        "pseudo.start_zorg", "productcategorie", "productcode", "begindatum", "status_aanlevering"
    ) + _FLAGS,
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
    # one version of a year's CEO figures per publication (exact n; NULL where suppressed): what
    # marts.ceo_indicators compares a new version with (cockpit.lineage.record_publication appends)
    "audit.published_figures": """
    publication_id varchar not null,
    recorded_at timestamp not null,
    year integer not null,
    area_type varchar not null,
    area_code varchar not null,
    respondent_group varchar not null,
    care_type varchar not null,
    indicator varchar not null,
    n bigint,
    value double,
    suppressed boolean not null
    """,
}


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the audit and pseudo tables when missing (idempotent). A pseudo table of an older version
    (delivered fields stored as text, no ``field_problems``) is retyped in place: see :func:`_retype`."""
    for table, columns in AUDIT_TABLES.items():
        con.execute(f"create table if not exists {table} ({columns})")
    for table, columns in PSEUDO_TABLES.items():
        stored = dict(con.execute(
            "select column_name, lower(data_type) from information_schema.columns "
            "where table_schema || '.' || table_name = ?", [table]).fetchall())
        if not stored:
            con.execute(f"create table {table} ({columns})")
        elif any(stored.get(name) != type_.split()[0] for name, type_ in PSEUDO_COLUMNS[table]):
            _retype(con, table, stored)


def _retype(con: duckdb.DuckDBPyConnection, table: str, stored: dict[str, str]) -> None:
    """Rebuild a pseudo table made by an older version, in one transaction: each delivered text field goes
    through its declared type as at the TTP door (what does not fit becomes NULL, named in
    ``field_problems``), so the old text leaves the warehouse; the rows, their pseudonyms and flags are
    kept. Staging tables built from the old rows are left as they are (their values were already typed)."""
    select = typed_select_sql(table, f"{table}_before_types", set(stored))
    old = f"{table}_before_types"
    con.execute("begin transaction")
    try:
        con.execute(f"alter table {table} rename to {old.split('.')[1]}")
        con.execute(f"create table {table} ({PSEUDO_TABLES[table]})")
        con.execute(f"insert into {table} {select}")
        con.execute(f"drop table {old}")
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


def typed_select_sql(table: str, source: str, present: set[str]) -> str:
    """SELECT of a pseudo table's rows from ``source``, a relation holding its ``present`` columns as text
    (an older version's table): each delivered field typed as at the TTP door, ``field_problems`` from them,
    every other column cast to its type."""
    delivered = [name for name, _ in PSEUDO_COLUMNS[table] if field_types.is_delivered(table, name) and name in present]

    def text(name: str) -> str:
        return field_types.delivered_text(f"{name}::varchar")

    select = []
    for name, type_ in PSEUDO_COLUMNS[table]:
        if name in delivered:
            select.append(f"{field_types.typed_sql(field_types.field(table, name), text(name))} as {name}")
        elif name == "field_problems":
            select.append(f"{field_types.field_problems_sql(table, delivered, text)} as {name}")
        elif name in present:
            select.append(f"{name}::{type_.split()[0]} as {name}")
        else:
            select.append(f"null as {name}")
    return f"select {', '.join(select)} from {source}"
