"""The TTP step: the only code that sees a BSN or a birth date.

Deliveries are read inside DuckDB into temporary tables (in memory, never in the warehouse file):
CSV files of the same kind together, in one read whatever their shape (a statement per file costs more
than its rows), iJw messages of the same type likewise. Each distinct identity is hashed once with the keyed pseudonym, the
birth date is reduced to year and month plus the age at the event, every delivered field is typed as
``field_types.csv`` declares (the allow-list: a value not of its type is stored as NULL and named in
``field_problems``, never as text), and the rows are staged in another temporary table where the
remaining identifier checks run on the deliveries' own rows, each delivery's rows
against its own identifiers (the cost follows the deliveries, not the history). They land in the
``pseudo.*`` table in one transaction (delete-then-insert by delivery: re-runs never duplicate).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
from lxml import etree

from rmj_dagster import codebook
from rmj_dagster.intake.detect import ENVIRONMENT_ERRORS, Inspection, Quarantine, as_quarantine, parse_ijw
from rmj_dagster.intake.ijw import HEADER_FIELDS, NAME_PATH, OWN, Message, tag
from rmj_dagster.privacy import identifiers
from rmj_dagster.ttp import field_types
from rmj_dagster.ttp.bsn import UNKNOWN_BSNS, elfproef_total_sql, normalised_bsn_sql, stripped_sql
from rmj_dagster.ttp.pseudonym import PSEUDONYM_SQL_PATTERN, PseudonymKey
from rmj_dagster.warehouse import transaction
from rmj_dagster.warehouse.ddl import PSEUDO_COLUMNS, columns_of

_RAW = "rmj_delivery_rows"  # temporary view of the deliveries' rows (as read) while they are pseudonymised
_TEXT = "rmj_delivery_text"  # the temporary table under that view
_FILES = "rmj_delivery_files"  # per file read: its delivery and the row id of its first row
# Arrow tables reach DuckDB through its replacement scan of a local variable, not ``con.register``:
# DuckDB 2.0 refuses ``register`` while an earlier result on the connection is not fully fetched.
_DISTINCT = "rmj_delivery_identities"  # the read's identity values not judged before, while they are judged
_TRIPWIRE = "rmj_delivery_identifiers"  # the delivery's own BSNs, birth dates and names, while it loads
# The delivery's rows as they will be stored, with the row's own BSN and birth date beside them: every
# check runs here, on the delivery's rows only, before the one insert into the pseudo table.
_STAGED = "rmj_delivery_staged"
# Staged only, never stored: the row's valid BSN and birth date (its own-value checks), and what of them the
# tripwire holds: the BSN as delivered when it has 8 or 9 digits, the birth date as delivered and as read.
_OWN = (("rmj_own_bsn9", "varchar"), ("rmj_own_birth_date", "date"), ("rmj_own_bsn_text", "varchar"),
        ("rmj_own_birth_text", "varchar"), ("rmj_own_birth_read", "date"))


def identities_sql(column: str, key: PseudonymKey, distinct: str) -> tuple[str, list]:
    """SELECT (with its parameters) judging the identity values ``raw`` of ``distinct`` (each once) as values
    of ``column``: ``raw``, its ``pseudoniem`` and ``id_status`` (codes as in the data model), and ``bsn9``,
    the valid 9-digit BSN itself (only in the TTP step's temporary table, for the row's own-value checks).

    In DuckDB, a set at a time: the text stripped as Python strips it, the BSN normalised and judged by
    ``bsn.py``'s rules, the valid ones hashed with the keyed pseudonym (``PseudonymKey.sql``). ``distinct``
    is best a table: hashed from a table scan, the values are shared among DuckDB's threads."""
    text = stripped_sql("raw")
    if column == "pseudoniem":
        return (f"select raw, case when id_status = 'ok' then text end as pseudoniem, id_status, null::varchar as bsn9 "
                f"from (select raw, text, case when coalesce(text, '') = '' then 'identity_missing' "
                f"when regexp_full_match(text, '{PSEUDONYM_SQL_PATTERN}') then 'ok' else 'pseudoniem_invalid' end as id_status "
                f"from (select raw, {text} as text from {distinct}))"), []
    pseudonym_sql, parameters = key.sql("bsn")
    unknown = ", ".join(f"'{b}'" for b in sorted(UNKNOWN_BSNS))
    status = (f"case when coalesce(text, '') = '' then 'identity_missing' when bsn is null then 'bsn_invalid_format' "
              f"when bsn in ({unknown}) then 'unknown' when not (total > 0 and total % 11 = 0) then 'bsn_elfproef' "
              "else 'ok' end")
    return (f"select raw, case when id_status = 'ok' then {pseudonym_sql} end as pseudoniem, id_status, "
            "case when id_status = 'ok' then bsn end as bsn9 "
            f"from (select *, {status} as id_status from (select *, {elfproef_total_sql('bsn')} as total "
            f"from (select raw, text, {normalised_bsn_sql('text')} as bsn "
            f"from (select raw, {text} as text from {distinct}))))"), parameters


@dataclass(frozen=True)
class Delivery:
    """A claimed delivery to pseudonymise. ``record`` (optional) is called with its number of rows inside the
    transaction that stores them, so what the caller writes there (the audit trail's status) is committed
    with the rows or not at all."""

    delivery_id: str
    path: Path
    inspection: Inspection
    record: Callable[[int], None] | None = None


def load_delivery(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    inspection: Inspection,
    delivery_id: str,
    key: PseudonymKey,
    record: Callable[[int], None] | None = None,
    batch: Batch | None = None,
    judged: Judged | None = None,
) -> int:
    """Pseudonymise one delivery (see :func:`load_deliveries`); returns the number of rows read.

    Raises ``Quarantine`` when the content turns out unreadable while loading (e.g. ragged CSV rows), or
    when an identifier of the delivery stands in a stored field (nothing of it is stored then).
    """
    outcome = load_deliveries(con, [Delivery(delivery_id, path, inspection, record)], key, batch, judged)
    if isinstance(outcome[delivery_id], Quarantine):
        raise outcome[delivery_id]
    return outcome[delivery_id]


def read_together(deliveries: list[Delivery]) -> list[list[Delivery]]:
    """The deliveries in groups that one read takes, up to ``ttp_read_bytes`` of files together (memory bounds a
    read): CSV files of the same kind and identity column, whatever their encoding, delimiter or header (each
    shape is parsed by a statement of its own, the rest of the read runs once); iJw messages of the same type.
    Order within a group is kept. A read costs a few dozen statements whatever its rows, so small deliveries
    read apart cost far more than their rows, and providers' files come in many shapes."""
    limit = int(codebook.parameter("ttp_read_bytes"))
    groups: list[list[Delivery]] = []
    open_groups: dict[tuple, tuple[list[Delivery], int]] = {}
    for delivery in deliveries:
        inspection = delivery.inspection
        together = (inspection.kind.name, inspection.source_format, inspection.identity_column)
        size = delivery.path.stat().st_size
        group, held = open_groups.get(together, (None, 0))
        if group is None or held + size > limit:
            group, held = [], 0
            groups.append(group)
        group.append(delivery)
        open_groups[together] = (group, held + size)
    return groups


def load_deliveries(
    con: duckdb.DuckDBPyConnection,
    deliveries: list[Delivery],
    key: PseudonymKey,
    batch: Batch | None = None,
    judged: Judged | None = None,
) -> dict[str, int | Quarantine]:
    """Pseudonymise deliveries of one read (:func:`read_together`) into their ``pseudo`` table; returns per
    delivery the number of rows read, or the ``Quarantine`` that refuses it (nothing of it is stored).

    The rows are pseudonymised into a temporary table and checked there (each delivery's rows against its
    own identifiers, fields emptied and flagged), so the work follows the deliveries' size, not the history
    already stored; then one transaction replaces their rows in the pseudo table (re-runs never duplicate).
    With ``batch`` that transaction waits for :meth:`Batch.store`, which stores several reads in one.
    With ``judged`` (the step's :class:`Judged`) an identity judged by an earlier read is not hashed again.

    When a read of several files fails on the content of one (a ragged row, anything but the machine
    failing), only that one is quarantined: the files the reader refuses are found by halving reads that
    only parse (:func:`_unreadable`), and the others are read again together; when every file parses, the
    read is split in halves, and so on, until the file at fault is read alone. A few reads per bad file, not
    one per file of the read. A failure of the machine (``ENVIRONMENT_ERRORS``) is raised: the run fails
    and the originals wait for the retry.
    """
    try:
        return _load_together(con, deliveries, key, batch, judged)
    except Exception as error:  # a file's content, never the run: quarantined, the others loaded
        if isinstance(error, ENVIRONMENT_ERRORS):
            raise
        if len(deliveries) == 1:
            return {deliveries[0].delivery_id: as_quarantine(error)}
    unreadable = _unreadable(con, deliveries)
    if unreadable:
        readable = [d for d in deliveries if d.delivery_id not in unreadable]
        return unreadable | (load_deliveries(con, readable, key, batch, judged) if readable else {})
    half = len(deliveries) // 2
    return (load_deliveries(con, deliveries[:half], key, batch, judged)
            | load_deliveries(con, deliveries[half:], key, batch, judged))


def _unreadable(con: duckdb.DuckDBPyConnection, deliveries: list[Delivery]) -> dict[str, Quarantine]:
    """The deliveries of a read whose files the reader refuses, each with the ``Quarantine`` its file read
    alone gets: found by parsing halves of the read (no pseudonymising, nothing staged) down to the file."""
    try:
        _parse(con, deliveries)
        return {}
    except Exception as error:
        if isinstance(error, ENVIRONMENT_ERRORS):
            raise
        if len(deliveries) == 1:
            return {deliveries[0].delivery_id: as_quarantine(error)}
    half = len(deliveries) // 2
    return _unreadable(con, deliveries[:half]) | _unreadable(con, deliveries[half:])


def _parse(con: duckdb.DuckDBPyConnection, deliveries: list[Delivery]) -> None:
    """Parse the files of a read as :func:`_load_together` does, and drop what was read."""
    try:
        if deliveries[0].inspection.source_format != "csv":
            _ijw_read(deliveries)
        else:
            with _private_copies_where_needed(deliveries) as readable:
                _read_csv(con, readable)
    finally:
        _drop_read(con)


def _load_together(
    con: duckdb.DuckDBPyConnection,
    deliveries: list[Delivery],
    key: PseudonymKey,
    batch: Batch | None,
    judged: Judged | None,
) -> dict[str, int | Quarantine]:
    inspection = deliveries[0].inspection
    kind = inspection.kind
    own = Judged(con)  # this read's only, when the caller keeps none
    try:
        if inspection.source_format != "csv":
            ijw_rows, names = _ijw_read(deliveries)  # noqa: F841 -- rows read by DuckDB's replacement scan
            con.execute(f"create or replace temp table {_TEXT} as select * from ijw_rows")
            con.execute(f"create or replace temp view {_RAW} as select * from {_TEXT}")
            present = set(kind.columns)
        else:
            with _private_copies_where_needed(deliveries) as readable:
                names, present = _read_csv(con, readable)
        identities = (judged or own).judge(inspection.identity_column, key)
        con.execute(_staged_table_sql(kind.table))
        con.execute(_insert_sql(inspection, identities, present), [key.label])
        refused = _refuse_identifiers_from_input(con, inspection, names)
        if refused:
            con.execute(f"delete from {_STAGED} where list_contains(?, delivery_id)", [list(refused)])
        _empty_identifier_fields(con, inspection)
        counted = dict(con.execute(f"select delivery_id, count(*) from {_STAGED} group by delivery_id").fetchall())
        outcomes: dict[str, int | Quarantine] = {
            d.delivery_id: refused.get(d.delivery_id, int(counted.get(d.delivery_id, 0))) for d in deliveries
        }
        waiting = batch or Batch(con)
        waiting.add(kind.table, [(d.delivery_id, outcomes[d.delivery_id], d.record)
                                 for d in deliveries if d.delivery_id not in refused])
        if batch is None:
            waiting.store()
        return outcomes
    finally:
        _drop_read(con)
        for table in (_DISTINCT, _TRIPWIRE, _STAGED):
            con.execute(f"drop table if exists {table}")
        own.drop()


def _drop_read(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the read's view and the temporary tables under it (one per CSV shape)."""
    con.execute(f"drop view if exists {_RAW}")
    shapes = [name for (name,) in con.execute(
        "select table_name from duckdb_tables() where temporary and (starts_with(table_name, ?) or starts_with(table_name, ?))",
        [f"{_TEXT}_", f"{_FILES}_"]).fetchall()]
    for table in (_TEXT, *shapes):
        con.execute(f"drop table if exists {table}")


class Judged:
    """The identities the reads of one step have judged and hashed, so a youth in the stop, CEM+ and goal
    files is hashed once per step, not once per read. A temporary table per identity column (memory, the
    valid BSNs beside their pseudonyms, like the staged rows): :meth:`drop` it when the step ends, whatever
    happened."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self._tables: dict[str, str] = {}

    def judge(self, column: str, key: PseudonymKey) -> str:
        """Judge the values of ``column`` in the read's rows not judged before; returns the table of all judged."""
        table = self._tables.get(column)
        if table is None:
            table = self._tables[column] = f"rmj_step_identities_{column}"
            self._con.execute(f"create or replace temp table {table} "
                              "(raw varchar, pseudoniem varchar, id_status varchar, bsn9 varchar)")
        self._con.execute(f"create or replace temp table {_DISTINCT} as "
                          f"select {column} as raw from {_RAW} except select raw from {table}")
        judge, parameters = identities_sql(column, key, _DISTINCT)
        self._con.execute(f"insert into {table} {judge}", parameters)
        return table

    def drop(self) -> None:
        tables, self._tables = self._tables, {}
        for table in tables.values():
            self._con.execute(f"drop table if exists {table}")


class Batch:
    """Deliveries pseudonymised and checked, waiting to be stored together: one transaction for several
    reads, as a commit per delivery costs more than its rows. Their staged rows stay in temporary
    tables (memory, the row's own BSN and birth date beside them) until :meth:`store` or :meth:`discard`;
    nothing of them is in the warehouse before, so a kill loses the batch whole and a rerun redoes it.

    ``record`` (optional) is called in that transaction with (delivery_id, rows) of every delivery stored,
    so the caller records them all with one statement, committed with the rows or not at all."""

    def __init__(self, con: duckdb.DuckDBPyConnection,
                 record: Callable[[list[tuple[str, int]]], None] | None = None) -> None:
        self._con = con
        self._record = record
        # per read: its staged table, the pseudo table, and (delivery_id, rows, record) of its deliveries
        self._waiting: list[tuple[str, str, list[tuple[str, int, Callable[[int], None] | None]]]] = []
        self._made = 0

    @property
    def rows(self) -> int:
        return sum(rows for *_, deliveries in self._waiting for _, rows, _record in deliveries)

    def add(self, table: str, deliveries: list[tuple[str, int, Callable[[int], None] | None]]) -> None:
        """Take over the staged rows of a read's ``deliveries`` (the temporary table is renamed, not copied)."""
        if not deliveries:
            return
        self._made += 1
        staged = f"{_STAGED}_{self._made}"
        self._con.execute(f"alter table {_STAGED} rename to {staged}")
        self._waiting.append((staged, table, deliveries))

    def store(self) -> list[str]:
        """In one transaction, each waiting delivery's rows replace its earlier ones (delete-then-insert:
        one delete per table for all of them, as each delete reads the table's whole history), each one's
        ``record`` runs with its row count and the batch's ``record`` with all; returns the deliveries stored,
        in the order added."""
        waiting, self._waiting = self._waiting, []
        try:
            if waiting:
                with transaction(self._con):
                    for table in dict.fromkeys(table for _, table, _ in waiting):  # one pass over each table
                        self._con.execute(f"delete from {table} where list_contains(?, delivery_id)",
                                          [[d for _, t, deliveries in waiting if t == table for d, *_ in deliveries]])
                    for staged, table, deliveries in waiting:
                        columns = ", ".join(columns_of(table))
                        self._con.execute(f"insert into {table} ({columns}) select {columns} from {staged}")
                        for _delivery_id, rows, record in deliveries:
                            if record is not None:
                                record(rows)
                    if self._record is not None:
                        self._record([(d, rows) for *_, deliveries in waiting for d, rows, _ in deliveries])
        finally:
            for staged, *_ in waiting:
                self._con.execute(f"drop table if exists {staged}")
        return [delivery_id for *_, deliveries in waiting for delivery_id, *_ in deliveries]

    def discard(self) -> None:
        """Drop what waits, storing nothing (the run failed; the originals wait for the rerun)."""
        waiting, self._waiting = self._waiting, []
        for staged, *_ in waiting:
            self._con.execute(f"drop table if exists {staged}")


def _staged_table_sql(table: str) -> str:
    """The temporary table for the delivery's rows: the pseudo table's columns and types, and the own values."""
    columns = ", ".join(f"{name} {type_}" for name, type_ in (*PSEUDO_COLUMNS[table], *_OWN))
    return f"create or replace temp table {_STAGED} ({columns})"


def _refuse_identifiers_from_input(
    con: duckdb.DuckDBPyConnection, inspection: Inspection, names: dict[str, set[str]],
) -> dict[str, Quarantine]:
    """Before the insert: no BSN, birth date or name *of a delivery* in any stored column of its rows.

    The tripwire holds each delivery's own values (lowercased, in memory, dropped with the temporary
    tables); a value legitimate in its column (``identifier_exemptions.csv``: an event date, a
    ``toewijzingnummer``, an AGB code) is not held against them: an event may fall on someone's
    birthday and a year-prefixed number may read as one. Those columns get the row-wise checks of
    ``_empty_identifier_fields``. One query over the staged rows holds each column's distinct values of
    a delivery against that delivery's tripwire (``names``: the name values per delivery).
    Returns ``Quarantine('identifier_in_field')`` per delivery refused, naming columns and counts, never a
    value; nothing of such a delivery is stored and its file is kept for the provider to correct.
    """
    kind = inspection.kind
    name_values = pa.table({  # noqa: F841 -- replacement scan
        "d": pa.array([d for d in names for _ in names[d]], pa.string()),
        "v": pa.array([v for d in names for v in sorted(names[d])], pa.string()),
    })
    own = "rmj_own_bsn_text, lpad(rmj_own_bsn_text, 9, '0'), rmj_own_birth_text, strftime(rmj_own_birth_read, '%Y-%m-%d')"
    con.execute(
        f"create or replace temp table {_TRIPWIRE} as select distinct d, v from ("
        f"select delivery_id as d, unnest([{own}]) as v from {_STAGED} union all select d, v from name_values) "
        "where v is not null and length(v) >= 2"
    )
    delivered = _columns_to_check(kind.table)
    hits: dict[str, dict[str, list[str]]] = {}  # delivery -> column -> values
    distinct_values = " union all ".join(
        f"select {i} as i, d, v from (select distinct delivery_id as d, trim({column}::varchar) as v from {_STAGED})"
        for i, column in enumerate(delivered)
    )
    legitimate = " ".join(f"when {i} then {identifiers.legitimate_sql(column, 'c.v')}" for i, column in enumerate(delivered))
    for i, delivery_id, value in con.execute(  # each column's distinct values against the tripwire, in one join
        f"with cells as materialized ({distinct_values}) select c.i, c.d, c.v from cells c "
        f"join {_TRIPWIRE} t on t.d = c.d and t.v = lower(c.v) where not (case c.i {legitimate} else false end)"
    ).fetchall():
        hits.setdefault(delivery_id, {}).setdefault(delivered[i], []).append(value)
    refused = {}
    for delivery_id, held in hits.items():  # rows per column, for the message (only when a delivery is refused)
        found = {
            column: con.execute(f"select count(*) from {_STAGED} where delivery_id = ? "
                                f"and list_contains(?, trim({column}::varchar))", [delivery_id, values]).fetchone()[0]
            for column, values in held.items()
        }
        where = ", ".join(f"{c} ({n} row(s))" for c, n in sorted(found.items()))
        refused[delivery_id] = Quarantine(
            "identifier_in_field",
            f"a BSN, birth date or name of this delivery stands in a stored field: {where}",
        )
    return refused


def _empty_identifier_fields(con: duckdb.DuckDBPyConnection, inspection: Inspection) -> None:
    """Before the insert: a field holding an identifier is emptied and its row flagged (``identifier_in_field``,
    rejected by staging with the column named), so the one row is lost, not the delivery or the chain.

    With every field typed at the door, what is left to catch here is what a field's type allows: a whole
    number (doel_nr) that is a BSN or a compact date, and the row's own values in the columns whose type
    admits them. Two kinds of hit, both decided by the per-column rules of ``identifier_exemptions.csv``:
    - a value the table-wide scan would report: a 9-digit number passing the 11-proef or a full date,
      where the column's class does not make it legitimate (a BSN as begindatum, a date as q09);
    - in a column whose class makes such values legitimate (``toewijzingnummer``, AGB code, event dates):
      the row's *own* BSN (``toewijzingnummer`` only, as a number, leading zeros ignored) or own birth
      date (as a date, when its day is known). Only the same row is compared: a year-prefixed 20150101
      beside another youth born that day is not a hit. Any other 9-digit number is a legitimate
      ``toewijzingnummer`` by contract and cannot be told from a BSN.
    Both run on the delivery's staged rows: one pass finds the first kind for every column whose type can
    store such a value (``_columns_to_check``), one UPDATE empties them, and one UPDATE handles the second kind.
    """
    kind = inspection.kind
    delivered = _delivered_columns(kind.table)
    shaped = identifiers.identifier_shaped_values(con, _STAGED, _columns_to_check(kind.table), small=True)
    if shaped:
        shaped_values = pa.table({  # noqa: F841 -- replacement scan
            "rmj_column": pa.array([c for c in shaped for _ in shaped[c]], pa.string()),
            "v": pa.array([v for c in shaped for v in sorted(shaped[c])], pa.string()),
        })
        con.execute(f"create or replace temp table {_TRIPWIRE}_shaped as select * from shaped_values")
        try:
            _flag(con, {column: f"trim({column}::varchar) in (select v from {_TRIPWIRE}_shaped where rmj_column = '{column}')"
                        for column in delivered if column in shaped})
        finally:
            con.execute(f"drop table if exists {_TRIPWIRE}_shaped")
    own = {}
    for column in delivered:
        if column not in identifiers.exemptions():
            continue
        tests = []
        stored_as = field_types.storage_type(kind.table, column)
        if inspection.identity_column == "bsn" and identifiers.exemptions()[column] == "care_number":
            tests.append(  # a number typed at the door (0-999999999) is compared as it is
                f"{column} = try_cast(rmj_own_bsn9 as bigint)" if stored_as == "bigint" else
                f"regexp_full_match(trim({column}::varchar), '[0-9]{{1,9}}') and rmj_own_bsn9 is not null "
                f"and try_cast(trim({column}::varchar) as bigint) = try_cast(rmj_own_bsn9 as bigint)")
        if kind.birth_date:  # a typed date is compared as it is; a number or code reads as itself (every
            # form rmj_date reads writes the year's digits: the cheap test spares the parse on almost every row)
            tests.append(f"{column} = rmj_own_birth_date" if stored_as == "date" else
                         f"rmj_date(case when contains({column}::varchar, year(rmj_own_birth_date)::varchar) "
                         f"then {column}::varchar end) = rmj_own_birth_date")
        if tests:
            own[column] = " or ".join(f"({t})" for t in tests)
    _flag(con, own)


def _flag(con: duckdb.DuckDBPyConnection, hits: dict[str, str]) -> None:
    """One UPDATE of the staged rows: each column whose test (SQL) holds is emptied and named, in column
    order, in ``identifier_in_field``."""
    if not hits:
        return
    tests = {column: f"coalesce({test}, false)" for column, test in hits.items()}
    names = ", ".join(f"case when {test} then '{column}' end" for column, test in tests.items())
    emptied = ", ".join(f"{column} = case when {test} then null else {column} end" for column, test in tests.items())
    con.execute(
        f"update {_STAGED} set identifier_in_field = concat_ws(',', identifier_in_field, {names}), {emptied} "
        f"where {' or '.join(tests.values())}"
    )


# Columns the TTP step computes or sets itself; every other column of a pseudo table is a delivered field.
_COMPUTED = frozenset({"delivery_id", "source_row", "pseudoniem", "key_label", "id_status", "geboortejaarmaand",
                       "leeftijd", "leeftijd_min", "voor_geboorte", "source_format", "identifier_in_field",
                       "field_problems"})


def _delivered_columns(table: str) -> list[str]:
    return [c for c in columns_of(table) if c not in _COMPUTED]


def _columns_to_check(table: str) -> list[str]:
    """The delivered columns whose stored values can be a finding of the delivery-wide checks: not those whose
    type makes every value legitimate there (an AGB code, a toewijzingnummer). Those get the row-wise checks."""
    return [c for c in _delivered_columns(table)
            if not field_types.always_legitimate(table, c, identifiers.exemptions().get(c))]


def _insert_sql(inspection: Inspection, identities: str, present: set[str]) -> str:
    """INSERT … SELECT from the deliveries' rows into the staged table: identity and birth date replaced, every
    delivered field typed as ``field_types.csv`` declares (a value not of its type is NULL, its column and
    class of problem in ``field_problems``); beside them the row's own valid BSN and birth date, for the
    checks (never stored).

    In three steps, so each row's regex-heavy typing runs once: the delivered texts (trimmed), then each
    field's typed value and the birth and event dates, then the stored columns and the field problems
    from those (the problem of a field is its text without a typed value). ``present``: the columns the read
    gives (a column some files of the read lack is NULL in their rows, as it is stored when no file has it)."""
    kind = inspection.kind
    delivered = [c for c in _delivered_columns(kind.table) if c in present]
    texts = [f"{field_types.delivered_text(f'r.{c}')} as rmj_text_{c}" for c in delivered]
    typed = [f"{field_types.typed_sql(field_types.field(kind.table, c), f'rmj_text_{c}')} as rmj_typed_{c}"
             for c in delivered]
    computed = {
        "delivery_id": "rmj_delivery",
        "source_row": "source_row",
        "pseudoniem": "rmj_pseudoniem",
        "key_label": "$1",
        "id_status": "rmj_id_status",
        "identifier_in_field": "null",
    }
    if kind.birth_date:
        event = f"rmj_typed_{kind.event_date}" if kind.event_date in delivered else f"rmj_date({kind.event_date})"
        typed += ["rmj_birth_date(geboortedatum) as rmj_birth", "rmj_birth_date_latest(geboortedatum) as rmj_birth_latest",
                  f"{event} as rmj_event", "rmj_date(geboortedatum) as rmj_own_birth"]
        computed |= {
            "geboortejaarmaand": "strftime(rmj_birth, '%Y-%m')",
            "leeftijd": "rmj_age(rmj_birth, rmj_event)",
            # with the day of birth unknown (YYYYMM00) the age may be one year less in the birth month
            "leeftijd_min": "rmj_age(rmj_birth_latest, rmj_event)",
            "voor_geboorte": "rmj_event < rmj_birth",
        }
    if kind.name == "stop_zorg":
        computed["source_format"] = f"'{inspection.source_format}'"
    columns = columns_of(kind.table)
    computed["field_problems"] = field_types.field_problems_sql(
        kind.table, delivered, lambda c: f"rmj_text_{c}", lambda c: f"rmj_typed_{c}")
    select = []
    for column in columns:
        if column in computed:
            select.append(f"{computed[column]} as {column}")
        elif column in present:  # only a value of the field's declared type is stored, never the text
            select.append(f"rmj_typed_{column} as {column}")
        else:
            select.append(f"null as {column}")
    select.append("rmj_bsn9 as rmj_own_bsn9")
    select.append(f"{'rmj_own_birth' if kind.birth_date else 'null'} as rmj_own_birth_date")
    # only values that can be a BSN (garbage like '10' is no identifier), only birth dates that read as one
    select.append("case when regexp_full_match(trim(bsn), '[0-9]{8,9}') then trim(bsn) end as rmj_own_bsn_text"
                  if inspection.identity_column == "bsn" else "null as rmj_own_bsn_text")
    select.append("case when rmj_birth is not null then lower(trim(geboortedatum)) end as rmj_own_birth_text"
                  if kind.birth_date else "null as rmj_own_birth_text")
    select.append(f"{'rmj_birth' if kind.birth_date else 'null'} as rmj_own_birth_read")
    read = (f"select r.*, i.pseudoniem as rmj_pseudoniem, i.id_status as rmj_id_status, i.bsn9 as rmj_bsn9, "
            f"{', '.join(texts) or 'null as rmj_no_text'} from {_RAW} r "
            f"left join {identities} i on r.{inspection.identity_column} is not distinct from i.raw")
    return (
        f"insert into {_STAGED} ({', '.join(columns)}, {', '.join(name for name, _ in _OWN)}) "
        f"select {', '.join(select)} from (select *{''.join(', ' + t for t in typed)} from ({read}))"
    )


def _read_csv(con: duckdb.DuckDBPyConnection, files: list[tuple[Path, str, Inspection]]) -> tuple[dict[str, set[str]], set[str]]:
    """Read the CSV files (path, delivery_id, inspection) of one kind with DuckDB's reader, one statement per
    shape (delimiter and header), every column as text, renamed to normalised header names; the rows of
    all shapes in one view, each with its delivery and its row number in its file.

    Returns per delivery the distinct values of columns named like a name (``naam``, ``achternaam``, …),
    lowercased: they are never stored, only held against the rows by the identifier tripwire; and the
    columns the view gives.
    """
    shapes: dict[tuple, list[tuple[Path, str, Inspection]]] = {}
    for file in files:
        shapes.setdefault((file[2].delimiter, file[2].header), []).append(file)
    names: dict[str, set[str]] = {delivery_id: set() for _, delivery_id, _ in files}
    selects, present = [], set()
    for number, shaped in enumerate(shapes.values()):
        select, columns = _read_csv_shape(con, shaped, number, names)
        selects.append(select)
        present |= columns
    con.execute(f"create or replace temp view {_RAW} as {' union all by name '.join(selects)}")
    return names, present


def _read_csv_shape(con: duckdb.DuckDBPyConnection, files: list[tuple[Path, str, Inspection]], number: int,
                    names: dict[str, set[str]]) -> tuple[str, set[str]]:
    """Read files of one shape into a temporary table; adds their name values to ``names`` and returns the
    SELECT of their rows as the read's view gives them, and its columns."""
    inspection = files[0][2]
    text, of_file = f"{_TEXT}_{number}", f"{_FILES}_{number}"
    name_columns = [c for c in inspection.header if c in identifiers.FORBIDDEN_COLUMNS and c not in ("bsn", "geboortedatum")]
    wanted = set(inspection.kind.columns) | {inspection.identity_column}
    max_line = int(codebook.parameter("csv_max_line_bytes"))
    try:
        con.execute(
            f"create or replace temp table {text} as select * from read_csv(?, delim=?, header=true, "
            "all_varchar=true, quote='\"', escape='\"', strict_mode=true, filename=true, "
            "null_padding=false, auto_detect=false, columns=?, max_line_size=?)",
            [[str(path) for path, _, _ in files], inspection.delimiter,
             {f"c{i}": "VARCHAR" for i in range(len(inspection.header))}, max_line],
        )
    except (duckdb.InvalidInputException, duckdb.ConversionException) as error:
        if "maximum line size" in str(error).lower():
            raise Quarantine("line_too_long", f"a line is longer than {max_line:,} bytes (e.g. a cell of megabytes); "
                                              "no row is that long in a delivery") from None
        raise Quarantine("unreadable_csv", f"the CSV cannot be read as {len(inspection.header)} columns per row: "
                                           f"{_first_line_of(error, files)}") from None
    delivery_of = pa.table({  # noqa: F841 -- replacement scan
        "filename": pa.array([str(path) for path, _, _ in files], pa.string()),
        "rmj_delivery": pa.array([delivery_id for _, delivery_id, _ in files], pa.string()),
    })
    # rows keep the files' order (insertion order), so a row's number in its file counts from its file's first
    con.execute(f"create or replace temp table {of_file} as select f.*, first_row from delivery_of f "
                f"join (select filename, min(rowid) as first_row from {text} group by filename) using (filename)")
    columns = {name: i for i, name in enumerate(inspection.header) if name in wanted}
    for column in name_columns:
        index = inspection.header.index(column)
        for delivery_id, value in con.execute(
                f"select distinct f.rmj_delivery, lower(trim(t.c{index})) from {text} t join {of_file} f using (filename) "
                f"where t.c{index} is not null").fetchall():
            names[delivery_id].add(value)
    select = ", ".join(f"t.c{i} as {name}" for name, i in columns.items())
    return (f"select f.rmj_delivery, t.rowid - f.first_row + 1 as source_row, {select} "
            f"from {text} t join {of_file} f using (filename)"), set(columns)


def _first_line_of(error: Exception, files: list) -> str:
    """Where DuckDB's CSV reader failed, as a line number only: its message quotes the offending line (which
    may hold a BSN or a name) and the file's path (which may hold a name), so nothing else of it is kept."""
    found = re.search(r"line:?\s*(\d+)", str(error), flags=re.IGNORECASE)
    return f"line {found.group(1)}" if found else "a row of another number of columns"


def _needs_private_copy(inspection: Inspection) -> bool:
    return inspection.encoding == "cp1252" or inspection.blank_lines


@contextmanager
def _private_copies_where_needed(deliveries: list[Delivery]) -> Iterator[list[tuple[Path, str, Inspection]]]:
    """The files to read, as (path, delivery_id, inspection). A Windows-1252 file is transcoded to a UTF-8 copy
    in an owner-only temp dir, removed afterwards; so is a file with lines of only spaces or tabs, without
    those lines (the contract's blank lines)."""
    if not any(_needs_private_copy(d.inspection) for d in deliveries):
        yield [(d.path, d.delivery_id, d.inspection) for d in deliveries]
        return
    with tempfile.TemporaryDirectory(prefix="rmj-ttp-") as folder:
        os.chmod(folder, 0o700)
        readable = []
        for number, delivery in enumerate(deliveries):
            if not _needs_private_copy(delivery.inspection):
                readable.append((delivery.path, delivery.delivery_id, delivery.inspection))
                continue
            target = Path(folder) / f"delivery_{number}.csv"
            with (delivery.path.open("r", encoding=delivery.inspection.encoding, newline="") as source,
                  target.open("w", encoding="utf-8", newline="") as sink):
                for line in source:
                    if not line.strip("\r\n") or line.strip():
                        sink.write(line)
            readable.append((target, delivery.delivery_id, delivery.inspection))
        yield readable


def _ijw_read(deliveries: list[Delivery]) -> tuple[pa.Table, dict[str, set[str]]]:
    """The rows of iJw messages of one type, each with its delivery (``rmj_delivery``), and per delivery the
    client's name parts (for the tripwire only)."""
    tables, names = [], {}
    for delivery in deliveries:
        rows, names[delivery.delivery_id] = _ijw_rows(delivery.path)
        tables.append(rows.add_column(0, "rmj_delivery", pa.array([delivery.delivery_id] * rows.num_rows, pa.string())))
    return pa.concat_tables(tables), names


def _ijw_rows(path: Path) -> tuple[pa.Table, set[str]]:
    """One row per product of an iJw message (JW305 StartProduct, JW307 StopProduct), with the column
    names of the kind's CSV form, and the client's name parts.

    ``Client/Naam`` never becomes a row value: its parts (lowercased) are returned only for the
    identifier tripwire, which drops them with the delivery's temporary tables.
    """
    tree, message = parse_ijw(path)
    root = tree.getroot()

    def find(element: etree._Element | None, path: tuple[tuple[str, str], ...]) -> etree._Element | None:
        for step in path:
            if element is None:
                return None
            element = element.find(tag(message, step))
        return element

    def text(element: etree._Element | None, path: tuple[tuple[str, str], ...]) -> str | None:
        found = find(element, path)
        return found.text.strip() if found is not None and found.text else None

    base = {column: text(root, steps) for column, steps in HEADER_FIELDS.items()}
    products = find(root, ((OWN, "Client"), (OWN, message.products)))
    rows = [
        base | {"source_row": number} | {column: text(product, steps) for column, steps in message.product_fields.items()}
        for number, product in enumerate(_children(products, message), start=1)
    ]
    naam = find(root, NAME_PATH)
    names = {e.text.strip().lower() for e in (naam.iter() if naam is not None else []) if e.text and e.text.strip()}
    columns = ["source_row", *base, *message.product_fields]
    return pa.table(
        {c: pa.array([r[c] for r in rows], pa.int64() if c == "source_row" else pa.string()) for c in columns}
    ), names


def _children(products: etree._Element | None, message: Message) -> list[etree._Element]:
    return [] if products is None else products.findall(tag(message, (OWN, message.product)))
