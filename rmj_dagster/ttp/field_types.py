"""Every delivered field's type, the allow-list of the TTP step (codebook ``field_types.csv``).

A field stores only a value of its type: a code from its list, a whole number in its range, a date, an
AGB code, a toewijzingnummer, a municipality code, an iJw product code or category. Anything else is
stored as NULL and named in the row's ``field_problems`` (``q05:not_an_answer_code``), never as text: a
BSN, a name or a birth date in any spelling cannot pass through a field that was never meant to hold it.
The SQL here runs inside the TTP step's one INSERT … SELECT (and once over an old warehouse's text
tables, :func:`rmj_dagster.warehouse.ddl.ensure_tables`); it uses the shared macros of ``macros.sql``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from rmj_dagster import codebook

# field_type -> the type it is stored as
STORAGE = {
    "agb_code": "varchar",
    "municipality_code": "varchar",
    "toewijzingnummer": "bigint",
    "date": "date",
    "answer_code": "integer",
    "yes_no": "boolean",
    "code": "varchar",
    "whole_number": "integer",
    "positive_number": "double",
    "product_category": "varchar",
    "product_code": "varchar",
}

# field_type -> the value class (``identifier_exemptions.csv``) whose shape every stored value of the type has:
# a stored AGB code is 8 digits, a stored toewijzingnummer a whole number 0-999999999. In a column of that class
# such a value is legitimate whatever it reads as, so the TTP step's identifier checks of a delivery's values
# need not look at it (tests/test_field_types.py holds every type here to its class).
LEGITIMATE_AS = {"agb_code": "agb_code", "toewijzingnummer": "care_number"}

# field_type -> the class of problem of a delivered value that is not of the type (whole numbers and
# positive numbers tell "not a number at all" from "a number outside the range", see :func:`problem_sql`)
PROBLEM = {
    "agb_code": "not_an_agb_code",
    "municipality_code": "not_a_municipality_code",
    "toewijzingnummer": "not_a_whole_number",
    "date": "not_a_date",
    "answer_code": "not_an_answer_code",
    "yes_no": "not_yes_or_no",
    "code": "not_a_code",
    "whole_number": "not_a_whole_number",
    "positive_number": "not_a_number",
    "product_category": "not_a_product_category",
    "product_code": "not_a_product_code",
}


@dataclass(frozen=True)
class Field:
    table: str  # the pseudo table, e.g. pseudo.responses
    column: str
    field_type: str
    minimum: str
    maximum: str
    code_list: str


@cache
def fields() -> dict[tuple[str, str], Field]:
    """(pseudo table, column) -> its declared field, from ``field_types.csv``; an unknown type is refused."""
    declared = {}
    for row in codebook.rows("field_types"):
        if row["field_type"] not in STORAGE:
            raise codebook.CodebookError(f"field_types.csv: unknown field_type {row['field_type']!r}")
        field = Field(f"pseudo.{row['pseudo_table']}", row["column"], row["field_type"], row["minimum"], row["maximum"],
                      row["code_list"])
        declared[(field.table, field.column)] = field
    return declared


def field(table: str, column: str) -> Field:
    try:
        return fields()[(table, column)]
    except KeyError:
        raise KeyError(f"{table}.{column} has no type in field_types.csv: every delivered field needs one") from None


def is_delivered(table: str, column: str) -> bool:
    return (table, column) in fields()


def storage_type(table: str, column: str) -> str:
    return STORAGE[field(table, column).field_type]


def always_legitimate(table: str, column: str, value_class: str | None) -> bool:
    """Whether every value the field can store is of ``value_class`` (the column's class of legitimate
    values, or None): see :data:`LEGITIMATE_AS`."""
    return is_delivered(table, column) and value_class is not None \
        and LEGITIMATE_AS.get(field(table, column).field_type) == value_class


def _bound(value: str) -> int:
    """A range bound: a number, or the name of a codebook parameter (gas_score_min)."""
    try:
        return int(value)
    except ValueError:
        return int(codebook.parameter(value))


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _codes(field: Field) -> list[str]:
    """The allowed codes of a ``code`` field: column ``<list>.<column>`` of a codebook table."""
    table, column = field.code_list.split(".")
    return [row[column] for row in codebook.rows(table)]


def _answers(column: str) -> list[str]:
    """The valid answers of a CEM+ item, as the plain number or with a leading zero ('4', '04')."""
    (item,) = [row for row in codebook.rows("cem_items") if row["item"] == column]
    numbers = list(range(int(item["min_value"]), int(item["max_value"]) + 1))
    if item["not_applicable_value"]:
        numbers.append(int(item["not_applicable_value"]))
    return sorted({form for n in numbers for form in (str(n), f"{n:02d}")})


def typed_sql(field: Field, v: str) -> str:
    """SQL of the stored value: ``v`` (SQL of the delivered text, trimmed, empty as NULL) when it is of the
    field's type, in the type it is stored as; NULL otherwise."""
    kind = field.field_type
    if kind == "agb_code":
        return f"rmj_agb({v})"
    if kind == "municipality_code":
        return f"rmj_gemeentecode({v})"
    if kind == "toewijzingnummer":
        return f"rmj_toewijzingnummer({v})"
    if kind == "date":
        return f"rmj_date({v})"
    if kind == "yes_no":
        return f"rmj_boolean({v})"
    if kind == "answer_code":
        answers = ", ".join(_literal(a) for a in _answers(field.column))
        return f"case when {v} in ({answers}) then {v}::integer end"
    if kind == "code":
        codes = _codes(field)
        candidates = [f"upper({v})"]
        widths = {len(c) for c in codes}
        if all(c.isdigit() for c in codes) and len(widths) == 1:  # a number code: '2' is '02' (lpad cuts longer text)
            width = widths.pop()
            candidates = [f"case when regexp_full_match({v}, '[0-9]{{1,{width}}}') then lpad({v}, {width}, '0') end"]
        listed = ", ".join(_literal(c) for c in codes)
        return f"case when {candidates[0]} in ({listed}) then {candidates[0]} end"
    if kind == "whole_number":
        return (f"case when rmj_whole_number({v}) between {_bound(field.minimum)} and {_bound(field.maximum)} "
                f"then rmj_whole_number({v})::integer end")
    if kind == "positive_number":  # at most 4 decimals and below its maximum: no BSN or date fits in it
        return (f"case when regexp_full_match({v}, '[0-9]{{1,15}}([.,][0-9]{{1,4}})?') "
                f"and rmj_decimal({v}) > 0 and rmj_decimal({v}) <= {_bound(field.maximum)} then rmj_decimal({v}) end")
    if kind == "product_category":  # iJw LDT_ProductCategorie: a two-digit code
        return f"case when regexp_full_match({v}, '[0-9]{{2}}') then {v} end"
    if kind == "product_code":
        # iJw LDT_ProductCode: the region's codes are five letters or digits with at least one digit
        # (45A01, 54001); five letters alone could be a name
        return (f"case when regexp_full_match(upper({v}), '[0-9A-Z]{{5}}') and regexp_matches({v}, '[0-9]') "
                f"then upper({v}) end")
    raise ValueError(kind)


def problem_sql(field: Field, v: str, typed: str | None = None) -> str:
    """SQL of the field's entry in ``field_problems`` (``column:class``), NULL when the value is empty or
    of its type. The class names what is wrong, never what was delivered. ``typed``: SQL of the value
    :func:`typed_sql` gives, when the caller has it already (the typing then runs once per row)."""
    problem = _literal(PROBLEM[field.field_type])
    if field.field_type == "whole_number":
        problem = f"case when rmj_whole_number({v}) is null then {problem} else 'out_of_range' end"
    elif field.field_type == "toewijzingnummer":
        problem = f"case when regexp_full_match({v}, '[0-9]{{1,18}}') then 'out_of_range' else 'not_a_whole_number' end"
    elif field.field_type == "positive_number":
        problem = f"case when rmj_decimal({v}) is null then {problem} else 'out_of_range' end"
    return f"case when {v} is not null and ({typed or typed_sql(field, v)}) is null then '{field.column}:' || {problem} end"


def delivered_text(column: str) -> str:
    """SQL of a delivered text column as the types read it: trimmed, empty as NULL."""
    return f"nullif(trim({column}), '')"


def field_problems_sql(table: str, columns: list[str], value_of, typed_of=None) -> str:
    """SQL of the row's ``field_problems``: the problems of ``columns`` in column order, comma-separated,
    NULL when there are none. ``value_of(column)`` gives the SQL of a column's delivered text, ``typed_of``
    (optional) that of its typed value where the caller has computed it."""
    entries = ", ".join(problem_sql(field(table, c), value_of(c), typed_of(c) if typed_of else None) for c in columns)
    return f"nullif(concat_ws(',', {entries}), '')" if entries else "null"
