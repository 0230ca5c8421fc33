"""How different providers' systems export: encodings, delimiters, date formats, header habits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Style:
    """One export style; every one of them is valid under delivery contract v1."""

    encoding: str  # utf-8, utf-8-sig or cp1252
    delimiter: str
    newline: str
    date_format: str  # strftime pattern
    gm_prefix: bool = False  # gemeentecode as GM0363
    shouty_header: bool = False  # " Aanbieder_AGB " style header names
    lost_leading_zeros: bool = False  # BSN stored as a number by a spreadsheet
    birth_cbs_style: bool = False  # birth date as YYYYMM00
    q10_padded: bool = True  # "01" rather than "1"
    boolean_words: tuple[str, str] = ("1", "0")
    extra_column: str | None = None  # a column outside the contract (free text, must never be loaded)

    def day(self, value: date) -> str:
        return value.strftime(self.date_format)

    def birth(self, value: date) -> str:
        return value.strftime("%Y%m00") if self.birth_cbs_style else self.day(value)

    def header(self, columns: list[str]) -> list[str]:
        return [f" {c.title()} " if self.shouty_header else c for c in columns]


STYLES = (
    Style("utf-8", ";", "\n", "%Y-%m-%d"),
    Style("cp1252", ";", "\r\n", "%d-%m-%Y", gm_prefix=True, boolean_words=("ja", "nee"), extra_column="opmerking"),
    Style("utf-8-sig", ",", "\r\n", "%Y-%m-%d", shouty_header=True, q10_padded=False, boolean_words=("true", "false")),
    Style("utf-8", ";", "\n", "%Y%m%d", birth_cbs_style=True, lost_leading_zeros=True),
    Style("cp1252", ";", "\r\n", "%Y-%m-%d", q10_padded=False),
    Style("utf-8-sig", ";", "\n", "%d-%m-%Y", gm_prefix=True),
)


def style_for(provider_index: int) -> Style:
    return STYLES[provider_index % len(STYLES)]
