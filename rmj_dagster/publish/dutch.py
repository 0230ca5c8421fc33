"""What a Dutch reader sees instead of codes and decimal points: labels from the codebook, Dutch numbers.

Labels live in the codebook (``indicatoren.csv``, ``labels.csv``, ``aanbieders.csv``, ``region.csv``);
this module only looks them up and formats published text fields (``16.1`` -> ``16,1%``).
"""

from __future__ import annotations

from datetime import date, datetime

from rmj_dagster import codebook
from rmj_dagster.publish.figures import number

SUPPRESSED = "niet getoond"
"""What a suppressed figure shows instead of its value (never a number)."""

_MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
           "oktober", "november", "december")


def indicator(code: str) -> dict[str, str]:
    """The codebook row of an indicator (label, kort, eenheid, kop, zorgtype_kop, definitie)."""
    for row in codebook.rows("indicatoren"):
        if row["indicator"] == code:
            return row
    raise KeyError(f"indicator {code!r} has no label in the codebook (indicatoren.csv)")


def indicators() -> list[dict[str, str]]:
    return list(codebook.rows("indicatoren"))


def headline_indicators() -> list[dict[str, str]]:
    """The headline figures in their order (``kop`` in ``indicatoren.csv``)."""
    return sorted((r for r in codebook.rows("indicatoren") if r["kop"]), key=lambda r: int(r["kop"]))


def item_indicators() -> list[dict[str, str]]:
    """The questionnaire statements q01-q08 (% (helemaal) eens)."""
    return [r for r in codebook.rows("indicatoren") if r["indicator"].startswith("pct_positive_")]


def label(dimension: str, code: str) -> str:
    """A code of ``respondent_group``, ``care_type``, ``area_type`` (or ``..._meervoud``, ``regio``)."""
    for row in codebook.rows("labels"):
        if row["dimensie"] == dimension and row["code"] == code:
            return row["label"]
    raise KeyError(f"no label for {dimension} {code!r} in the codebook (labels.csv)")


def provider_name(agb: str) -> str:
    """The provider's name from the codebook; where it is not known, its AGB code."""
    for row in codebook.rows("aanbieders"):
        if row["aanbieder_agb"] == agb:
            return row["aanbiedernaam"]
    return f"Aanbieder met AGB-code {agb}"


def unnamed_providers(codes) -> list[str]:
    """The AGB codes among ``codes`` that the codebook (``aanbieders.csv``) gives no name: published, they
    would read "Aanbieder met AGB-code ..."."""
    named = {row["aanbieder_agb"] for row in codebook.rows("aanbieders")}
    return sorted(set(codes) - named)


def area_name(row: dict[str, str]) -> str:
    """How a published row's area is named for a reader."""
    if row["area_type"] == "aanbieder":
        return provider_name(row["area_code"])
    if row["area_type"] == "regio":
        return f"Regio {label('regio', row['area_code'])}"
    return row["area_name"]


def decimal(value: float | None, decimals: int = 1) -> str:
    """``16.1`` -> ``16,1``; thousands with a dot (``1.234``)."""
    if value is None:
        return ""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def figure(indicator_code: str, text: str) -> str:
    """A published value as a reader sees it: ``16,1%``, ``7,2``, ``1.235``; empty stays empty."""
    value = number(text)
    if value is None:
        return ""
    unit = indicator(indicator_code)["eenheid"]
    if unit == "aantal":
        return decimal(value, 0)
    return decimal(value) + ("%" if unit == "pct" else "")


def interval(indicator_code: str, low: str, high: str) -> str:
    """``14,2–18,3%``; empty when either bound is empty."""
    if number(low) is None or number(high) is None:
        return ""
    suffix = "%" if indicator(indicator_code)["eenheid"] == "pct" else ""
    return f"{decimal(number(low))}–{decimal(number(high))}{suffix}"


def count(text: str) -> str:
    value = number(text)
    return "" if value is None else decimal(value, 0)


def overlap(flag: str) -> str:
    """Whether this year's and last year's intervals overlap, in words."""
    return {"true": "verschil binnen de marge", "false": "verschil groter dan de marge"}.get(flag, "")


def long_date(moment: date | datetime | None) -> str:
    """``1 december 2026`` (never a numeric date: a published file holds none)."""
    if moment is None:
        return "onbekend"
    return f"{moment.day} {_MONTHS[moment.month - 1]} {moment.year}"


def version(number: int, produced: date) -> str:
    """``Versie 2, 7 december 2026 (correctie op versie 1)``: which version of a publication a reader holds."""
    text = f"Versie {number}, {long_date(produced)}"
    return text + (f" (correctie op versie {number - 1})" if number > 1 else "")
