"""Scanning for direct identifiers where none may be: every warehouse table and every export file.

Three things identify a youth directly (domain.md, "Privacy rules"):
- a **BSN**: any 9-digit value passing the 11-proef;
- a **birth date**: the warehouse keeps only ``geboortejaarmaand`` (YYYY-MM) and ages, so a full date is a
  finding unless the column holds event dates;
- a **name**: columns named like one are findings. Names as values can only be recognised against the
  input itself: ``ttp.load_delivery`` checks each delivery's rows against the names, BSNs and birth dates
  of that delivery before it commits (the only moment both are at hand).

What is legitimate is decided per column, in one place: the codebook's ``identifier_exemptions.csv`` gives
a column a value class (``VALUE_CLASSES``), and a value of that class's shape is never a finding there --
a year-prefixed ``toewijzingnummer`` 20250101 or one of 9 digits that passes the 11-proef, an AGB code,
an event date. Anything else in those columns (``2011-06-01`` as a toewijzingnummer, a BSN as a
begindatum) is scanned like any other value. The TTP step uses the same rules to reject such rows before
they are stored (``identifier_shaped_values``), so the table-wide scans stay the last safety net.
Findings say where and how many, never the value.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import duckdb

from rmj_dagster import codebook
from rmj_dagster.ttp import field_types
from rmj_dagster.ttp.bsn import passes_elfproef
from rmj_dagster.warehouse import column_schema

FORBIDDEN_COLUMNS = frozenset({
    "bsn", "burgerservicenummer", "geboortedatum", "naam", "clientnaam", "achternaam", "voornamen",
    "voornaam", "voorletters", "geslachtsnaam", "tussenvoegsel", "adres", "postcode", "telefoon", "email",
})
_INTEGER_TYPES = ("BIGINT", "INTEGER", "HUGEINT", "UBIGINT")
_TEXT_TYPES = ("VARCHAR", *_INTEGER_TYPES)
_DATE_TYPES = ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE")
# a full date written out: 2011-06-01, 01-06-2011, 2011/06/01, 20110601 (8 digits are dates only with a
# plausible year, month and day: an AGB code such as 12345678 is not)
_FULL_DATE_PATTERNS = (
    r"(19|20)\d\d[-/.](0[1-9]|1[0-2])[-/.](0[1-9]|[12]\d|3[01])",
    r"(0[1-9]|[12]\d|3[01])[-/.](0[1-9]|1[0-2])[-/.](19|20)\d\d",
    r"(19|20)\d\d(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])",
)
_BSN_SHAPE_PATTERN = "[0-9]{9}"  # and passes the 11-proef (checked in Python)
# Every identifier shape is 8 to 10 characters of ASCII digits and separators: the cheap length test
# spares the regular expression on most values.
_SHAPE_LENGTHS = (8, 10)


def _one_of(patterns) -> str:
    """One regular expression that fully matches what any of ``patterns`` fully matches (RE2 full match)."""
    return "|".join(f"(?:{p})" for p in patterns)


def full_date_sql(value: str = "v") -> str:
    """SQL: the text ``value`` is a full date in one of the written-out forms."""
    return f"regexp_full_match({value}, '{_one_of(_FULL_DATE_PATTERNS)}')"


def identifier_shaped_sql(value: str = "v") -> str:
    """SQL: the text ``value`` has the shape of a BSN (9 digits, before the 11-proef) or of a full date."""
    low, high = _SHAPE_LENGTHS
    return (f"(length({value}) between {low} and {high} "
            f"and regexp_full_match({value}, '{_one_of((_BSN_SHAPE_PATTERN, *_FULL_DATE_PATTERNS))}'))")


# Value classes of identifier_exemptions.csv: a value of the class's shape is legitimate in its columns
# (SQL over a text value).
VALUE_CLASSES = {
    "event_date": full_date_sql,  # any full date; a BSN in the column is still a finding
    "care_number": lambda value: f"regexp_full_match({value}, '[0-9]{{1,9}}')",  # whole number 0-999999999, leading zeros kept
    "agb_code": lambda value: f"regexp_full_match({value}, '[0-9]{{8}}')",
}
# The classes of the whole-number field types whose every value is legitimate in their class
# (field_types.LEGITIMATE_AS: a toewijzingnummer is care_number): a whole-number column of such a class is left
# out of the scans, no value of it can be a finding (tests/test_identifiers.py holds each class to every whole
# number of an identifier's length).
WHOLE_NUMBERS_LEGITIMATE = frozenset(value_class for field_type, value_class in field_types.LEGITIMATE_AS.items()
                                     if field_types.STORAGE[field_type] in ("integer", "bigint"))


@cache
def exemptions() -> dict[str, str]:
    """Column name -> value class, from the codebook (``identifier_exemptions.csv``)."""
    rules = {row["column"]: row["value_class"] for row in codebook.rows("identifier_exemptions")}
    unknown = set(rules.values()) - set(VALUE_CLASSES)
    if unknown:
        raise ValueError(f"identifier_exemptions.csv names unknown value classes: {', '.join(sorted(unknown))}")
    return rules


def columns_of_class(value_class: str) -> frozenset[str]:
    return frozenset(c for c, k in exemptions().items() if k == value_class)


def legitimate_sql(column: str, value: str = "v") -> str:
    """SQL over a trimmed text ``value``: true when it is legitimate in ``column`` (its class's shape)."""
    value_class = exemptions().get(column.lower())
    return f"({VALUE_CLASSES[value_class](value)})" if value_class else "false"


def finding_sql(column: str, value: str = "v") -> str:
    """SQL: the trimmed text ``value`` of ``column`` is a BSN candidate (before the 11-proef) or a full
    date, and not legitimate there."""
    return f"({identifier_shaped_sql(value)} and not {legitimate_sql(column, value)})"


EVENT_DATE_COLUMNS = columns_of_class("event_date")  # full dates are events here, not persons
NUMBER_COLUMNS = columns_of_class("care_number")  # numbers about care that may read as a BSN or a date
# a token on its own: not part of a longer number or of a hex digest such as a manifest's sha256
_NINE_DIGITS = re.compile(r"(?<![0-9A-Za-z])\d{9}(?![0-9A-Za-z])")
_FULL_DATE = re.compile(
    r"(?<![0-9A-Za-z])(?:(?:19|20)\d\d[-/.](?:0[1-9]|1[0-2])[-/.](?:0[1-9]|[12]\d|3[01])"
    r"|(?:0[1-9]|[12]\d|3[01])[-/.](?:0[1-9]|1[0-2])[-/.](?:19|20)\d\d)(?![0-9A-Za-z])"
)


def looks_like_identifier(text: str) -> bool:
    """Whether free text (a label, a header cell) holds a 9-digit number passing the 11-proef or a
    full date anywhere in it (2011-06-01, 01-06-2011, 20110601)."""
    compact = re.search(r"(?<!\d)(19|20)\d\d(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?!\d)", text) is not None
    return compact or bool(_FULL_DATE.search(text)) or any(passes_elfproef(m) for m in _NINE_DIGITS.findall(text))


_PLAIN_NAME = re.compile(r"[a-z][a-z0-9_ ]{0,39}")


def column_names_for_audit(header: tuple[str, ...], names: tuple[str, ...]) -> str | None:
    """Header names as the audit trail may keep them (``audit.deliveries.extra_columns``): a plain name
    (a letter, then letters, digits, ``_`` or spaces, at most 40) that holds no BSN or date is kept; any
    other header cell -- ``123456782``, ``2011-06-01``, a pasted line of data -- is named by its position
    in the header (``#3``), never stored as text."""
    kept = [
        name if _PLAIN_NAME.fullmatch(name) and not looks_like_identifier(name) else f"#{header.index(name) + 1}"
        for name in names
    ]
    return ",".join(kept) or None


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _candidate_sql(column: str, integer: bool) -> str:
    """SQL: the column's value as trimmed text when it can have an identifier's shape (8 to 10 characters), else
    NULL, without casting or trimming every row (a trim of millions of long ids cost more than the scan): a whole
    number has that shape only with 8 or 9 digits; a text of fewer than 8 bytes never has it, one of 8 to 10
    characters is trimmed, and a longer one only when trimming changes it (it begins or ends with a space)."""
    c = _quoted(column)
    if integer:
        return f"case when {c} between 10000000 and 999999999 then {c}::varchar end"
    text = f"{c}::varchar"
    low, high = _SHAPE_LENGTHS
    return (f"case when strlen({text}) < {low} then null when length({text}) between {low} and {high} then trim({text}) "
            f"when length({text}) > {high} and trim({text}) <> {text} then trim({text}) end")


def _never_a_finding(column: str, integers: frozenset[str]) -> bool:
    """Whether no value of the column can be a finding: a whole-number column whose class makes every whole number
    of an identifier's length legitimate (a toewijzingnummer of 8 or 9 digits is one, whatever it reads as)."""
    return column in integers and exemptions().get(column.lower()) in WHOLE_NUMBERS_LEGITIMATE


def _shaped_per_column(
    con: duckdb.DuckDBPyConnection, relation: str, bsn_columns: list[str], date_columns: list[str],
    filter_sql: str = "true", *, small: bool = False, integers: frozenset[str] = frozenset(),
) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Per column: the distinct values that are BSN candidates (9 digits passing the 11-proef, among
    ``bsn_columns``) and full dates (among ``date_columns``), neither legitimate in their column.

    One pass over the relation gathers each column's distinct values of an identifier's length (``integers``:
    the columns of a whole-number type, judged by their number), then only those are tested. A ``small``
    relation (one delivery's rows) is read per column instead, its distinct values tested: the shapes are
    then tested once per distinct value, not per row (a date column holds a few hundred)."""
    bsn: dict[str, set[str]] = {c: set() for c in bsn_columns}
    dates: dict[str, set[str]] = {c: set() for c in date_columns}
    columns = [c for c in dict.fromkeys([*bsn_columns, *date_columns]) if not _never_a_finding(c, integers)]
    if not columns:
        return bsn, dates
    if small:
        per_column = dict(con.execute(" union all ".join(
            f"select {i}, list(distinct v) filter (where {finding_sql(c, 'v')}) from "
            f"(select trim(x::varchar) as v from (select distinct {_quoted(c)} as x from {relation} where {filter_sql}))"
            for i, c in enumerate(columns))).fetchall())
        row = [per_column[i] for i in range(len(columns))]
    else:
        values = ", ".join(f"{_candidate_sql(c, c in integers)} as v{i}" for i, c in enumerate(columns))
        candidates = ", ".join(f"list(distinct v{i}) as v{i}" for i in range(len(columns)))
        found = ", ".join(f"list_filter(v{i}, lambda v: {finding_sql(c, 'v')})" for i, c in enumerate(columns))
        row = con.execute(f"select {found} from (select {candidates} from (select {values} from {relation} "
                          f"where {filter_sql}))").fetchone()
    for column, shaped in zip(columns, row, strict=True):
        for value in shaped or ():
            if len(value) == 9 and value.isdigit():  # 9 digits are never a full date (8 digits, or separators)
                if column in bsn and passes_elfproef(value):
                    bsn[column].add(value)
            elif column in dates:
                dates[column].add(value)
    return bsn, dates


def _counts(values: dict[str, set[str]]) -> dict[str, int]:
    return {column: len(found) for column, found in values.items() if found}


def bsn_candidates_in_relation(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str],
                               integers: frozenset[str] = frozenset()) -> dict[str, int]:
    """Per column: how many distinct 9-digit values pass the 11-proef and are not legitimate there
    (``integers``: the columns of a whole-number type)."""
    return _counts(_shaped_per_column(con, relation, columns, [], integers=integers)[0])


def full_dates_in_relation(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str]) -> dict[str, int]:
    """Per column: how many distinct values are full dates and not legitimate there (event dates are)."""
    return _counts(_shaped_per_column(con, relation, [], columns)[1])


def identifier_shaped_values(
    con: duckdb.DuckDBPyConnection, relation: str, columns: list[str], filter_sql: str = "true", *, small: bool = False,
) -> dict[str, set[str]]:
    """Per column of ``columns`` (those with any): the distinct values the table-wide scan would report, BSN
    candidates and full dates not legitimate there (``small``: see ``_shaped_per_column``). The TTP step
    empties and flags the fields holding them before they are stored."""
    bsn, dates = _shaped_per_column(con, relation, columns, columns, filter_sql, small=small)
    return {c: bsn[c] | dates[c] for c in columns if bsn[c] | dates[c]}


def _columns(column_types: list[tuple[str, str]], types: tuple[str, ...]) -> list[str]:
    """The names among ``column_types`` (``warehouse.column_schema``) whose type is one of ``types``."""
    return [c for c, kind in column_types if kind in types]


def bsn_candidates_in_table(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, int]:
    kinds = column_schema(con, table)
    return bsn_candidates_in_relation(con, table, _columns(kinds, _TEXT_TYPES), frozenset(_columns(kinds, _INTEGER_TYPES)))


def scan_table(con: duckdb.DuckDBPyConnection, table: str, where: str | None = None) -> dict[str, object]:
    """Every finding in one table: identifying column names, BSN candidates, full dates of persons.

    ``where`` restricts the values scanned to some rows (those a step just wrote); column names and
    types are judged for the whole table either way."""
    relation = table if where is None else f"(select * from {table} where {where})"
    kinds = column_schema(con, table)
    named = [c for c in _columns(kinds, _TEXT_TYPES + _DATE_TYPES + ("BOOLEAN", "DOUBLE"))
             if c.lower() in FORBIDDEN_COLUMNS]
    typed_dates = [c for c in _columns(kinds, _DATE_TYPES) if c.lower() not in EVENT_DATE_COLUMNS]
    bsn, dates = _shaped_per_column(con, relation, _columns(kinds, _TEXT_TYPES), _columns(kinds, ("VARCHAR",)),
                                    integers=frozenset(_columns(kinds, _INTEGER_TYPES)))
    return {
        "identifying_columns": named,
        "bsn_candidates": _counts(bsn),
        "full_dates": _counts(dates) | {c: -1 for c in typed_dates},  # -1: the column's type is a date
    }


def findings(scan: dict[str, object]) -> int:
    return sum(len(v) for v in scan.values())


def warehouse_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every table of the warehouse (the codebook's ``ref`` schema included: it is scanned like the rest)."""
    return [
        f"{s}.{t}"
        for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = current_database() and table_schema not in ('information_schema', 'pg_catalog') "
            "and table_type = 'BASE TABLE' order by 1, 2"
        ).fetchall()
    ]


def scan_csv(con: duckdb.DuckDBPyConnection, path: Path | list[Path]) -> dict[str, object]:
    """An export CSV (``;``-separated, with header), or several read as one: the same findings as a
    warehouse table.

    Files with the same header line are read together (a period's 40 provider files come from one writer:
    one read, not 40 dialect and header detections); files with other headers in a read of their own.
    Each read goes into a temporary table, scanned in one pass over its cells; the distinct values found
    are put together per column name, as one read of all would find them."""
    groups: dict[bytes, list[Path]] = {}
    for one in path if isinstance(path, list) else [path]:
        groups.setdefault(_header_line(one), []).append(one)
    columns: dict[str, None] = {}
    bsn: dict[str, set[str]] = {}
    dates: dict[str, set[str]] = {}
    for files in groups.values():
        listed = ", ".join("'" + p.as_posix().replace("'", "''") + "'" for p in files)
        con.execute(
            f"create or replace temp table rmj_scanned_csv as select * from "
            f"read_csv([{listed}], delim=';', header=true, all_varchar=true"
            f"{', union_by_name=true' if len(files) == 1 else _TOGETHER})"
        )
        try:
            read = [r[0] for r in con.execute("describe rmj_scanned_csv").fetchall()]
            found_bsn, found_dates = _shaped_per_column(con, "rmj_scanned_csv", read, read)
        finally:
            con.execute("drop table if exists rmj_scanned_csv")
        columns |= dict.fromkeys(read)
        for found, into in ((found_bsn, bsn), (found_dates, dates)):
            for column, values in found.items():
                into.setdefault(column, set()).update(values)
    return {
        "identifying_columns": [c for c in columns if c.lower() in FORBIDDEN_COLUMNS],
        "bsn_candidates": _counts(bsn),
        "full_dates": _counts(dates),
    }


# Files read together: the dialect the export writers use (RFC 4180 quoting), not one detected in the first
# file alone: a cell quoted in a later file is read as its value.
_TOGETHER = ", quote='\"', escape='\"'"


def _header_line(path: Path) -> bytes:
    """The file's first line as bytes (its header): files read together must name the same columns in order."""
    with path.open("rb") as handle:
        return handle.readline()


# The plotly.js library embedded in a self-contained report: code, not data (its licence years and
# numeric constants would read as dates and 9-digit numbers). A script element whose text opens with
# plotly.js's banner, up to the first ``</script>`` after it.
_PLOTLY_LIBRARY_START = re.compile(r"<script[^>]*>\s*/\*\*\s*\*\s*plotly\.js v")
_SCRIPT_END = "</script>"


def without_plotly_library(text: str) -> str:
    """``text`` with every embedded plotly.js library element cut out.

    The same as substituting ``<script[^>]*>\\s*/\\*\\*\\s*\\*\\s*plotly\\.js v.*?</script>`` (DOTALL) by
    nothing, but found with plain string search: only the few ``<script`` openings are tried against the
    banner, and the library's end is one ``str.find`` (a regex would step through its 4.8 MB byte by byte).
    """
    kept, position, start = [], 0, text.find("<script")
    while start >= 0:
        opening = _PLOTLY_LIBRARY_START.match(text, start)
        end = _script_end(text, start, opening.end()) if opening else -1
        if end < 0:
            start = text.find("<script", start + 1)
            continue
        kept.append(text[position:start])
        position = end + len(_SCRIPT_END)
        start = text.find("<script", position)
    return "".join(kept) + text[position:] if kept else text


@cache
def _plotly_bundle() -> str:
    """The plotly.js bundle of the installed plotly: what a self-contained page inlines."""
    from plotly.offline import get_plotlyjs

    bundle = get_plotlyjs()
    return bundle if _SCRIPT_END not in bundle else ""


def _script_end(text: str, tag: int, after: int) -> int:
    """The first ``</script>`` at or after ``after``; when the script opened at ``tag`` holds the known
    bundle, the search starts at the bundle's end (it holds no ``</script>``, so nothing is skipped)."""
    bundle = _plotly_bundle()
    body = text.find(">", tag) + 1
    if bundle and text.startswith(bundle, body) and body + len(bundle) >= after:
        return text.find(_SCRIPT_END, max(after, body + len(bundle) - len(_SCRIPT_END) + 1))
    return text.find(_SCRIPT_END, after)


@cache
def _plotly_bundle_bytes() -> bytes:
    return _plotly_bundle().encode()


def around_plotly_bundle(data: bytes) -> tuple[str, str] | None:
    """A page's text before and after its inlined plotly.js, when the page holds the installed plotly's
    exact bundle as the whole text of a script element (the tag before it, ``</script>`` right after);
    None otherwise. The two sides are decoded without the bundle: decoding its 4.8 MB (not all ASCII)
    for each of a year's 55 pages costs more than everything else read from them."""
    bundle = _plotly_bundle_bytes()
    at = data.find(bundle) if bundle else -1
    if at < 0 or not data.startswith(_SCRIPT_END.encode(), at + len(bundle)) or not data[:at].endswith(b">"):
        return None
    tag = data.rfind(b"<script", 0, at)
    if tag < 0 or b"<" in data[tag + 1:at] or data.find(b">", tag) != at - 1:
        return None
    return data[:at].decode("utf-8", errors="replace"), data[at + len(bundle):].decode("utf-8", errors="replace")


def scan_text(text: str) -> dict[str, object]:
    """Any other export file: BSN candidates and full dates in its text (an embedded plotly.js skipped)."""
    text = without_plotly_library(text)
    return {
        "bsn_candidates": sum(1 for m in set(_NINE_DIGITS.findall(text)) if passes_elfproef(m)),
        "full_dates": len(set(_FULL_DATE.findall(text))),
    }


def scan_export_file(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, object]:
    if path.suffix.lower() == ".csv":
        return scan_csv(con, path)
    if path.suffix.lower() == ".json":  # a manifest: its event-date fields are allowed, the rest scanned
        manifest = json.loads(path.read_text(encoding="utf-8"))
        kept = {k: v for k, v in manifest.items() if k not in EVENT_DATE_COLUMNS} if isinstance(manifest, dict) else manifest
        return scan_text(json.dumps(kept))
    if path.suffix.lower() == ".xlsx":  # a workbook: the text of its cells (the file itself is a zip)
        from rmj_dagster.read_back import workbook_rows

        cells = "\n".join(str(v) for lines in workbook_rows(path).values() for line in lines for v in line if v is not None)
        return scan_text(cells)
    data = path.read_bytes()
    around = around_plotly_bundle(data)
    # the bundle cut out leaves its empty script element: the same findings as cutting the whole element
    return scan_text("".join(around) if around else data.decode("utf-8", errors="replace"))


def scan_export_files(con: duckdb.DuckDBPyConnection, paths: list[Path]) -> dict[Path, dict[str, object]]:
    """The scan of each file in ``paths`` that holds a finding (see ``scan_export_file``).

    The CSV files are first scanned together in one pass (a period's 40 provider files cost one read, not
    40); only when that pass finds something is each CSV scanned on its own, to name the file."""
    csvs = [p for p in paths if p.suffix.lower() == ".csv"]
    alone = [p for p in paths if p.suffix.lower() != ".csv"]
    if len(csvs) > 1 and not export_findings(scan_csv(con, csvs)):
        csvs = []  # the common case: nothing in any of them
    found = {}
    for path in sorted([*csvs, *alone]):
        scan = scan_export_file(con, path)
        if export_findings(scan):
            found[path] = scan
    return found


def export_findings(scan: dict[str, object]) -> int:
    return sum(v if isinstance(v, int) else len(v) for v in scan.values())
