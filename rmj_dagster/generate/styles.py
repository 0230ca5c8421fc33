"""How different providers' systems export: encodings, delimiters, dates, header and value habits.

Every style is valid under delivery contract v1; together they exercise what the contract allows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date

from rmj_dagster.generate.sampling import Picker


@dataclass(frozen=True)
class Style:
    name: str
    encoding: str  # utf-8, utf-8-sig (BOM) or cp1252
    delimiter: str
    newline: str
    date_format: str  # strftime pattern: %Y-%m-%d, %d-%m-%Y or %Y%m%d
    birth_cbs_style: bool = False  # geboortedatum as YYYYMM00 (day unknown)
    mixed_case_header: bool = False  # " Aanbieder_Agb " style header names
    bsn_as_number: bool = False  # a spreadsheet dropped the BSN's leading zeros
    gm_prefix_share: float = 0.0  # share of rows with gemeentecode written GM0363
    q10_padded: bool = True  # q10 as 01-04 rather than 1-4
    booleans: tuple[str, str] = ("1", "0")  # geen_inzage_hulpverlener true / false
    plus_sign: bool = False  # gas_score +1 rather than 1
    weight_habit: str = "mixed"  # gewicht: empty, ones or mixed (mostly empty or 1, sometimes 2)
    status_first_empty: bool = False  # status_aanlevering left empty for first deliveries (default 1)
    quote_all: bool = False
    blank_lines_at_end: int = 0
    extra_columns: dict[str, str] = field(default_factory=dict)  # kind -> a free-text column outside the contract
    _days: dict = field(default_factory=dict, compare=False, repr=False)

    def day(self, value: date) -> str:
        text = self._days.get(value)
        if text is None:
            text = self._days[value] = value.strftime(self.date_format)
        return text

    def birth(self, value: date) -> str:
        return value.strftime("%Y%m00") if self.birth_cbs_style else self.day(value)

    def header(self, columns: list[str]) -> list[str]:
        return [f" {c.title()} " if self.mixed_case_header else c for c in columns]

    def gemeente(self, code: str, rng: random.Random) -> str:
        return f"GM{code}" if self.gm_prefix_share and rng.random() < self.gm_prefix_share else code

    def bsn(self, bsn9: str) -> str:
        return bsn9.lstrip("0") if self.bsn_as_number else bsn9

    def q10(self, value: str) -> str:
        return value.zfill(2) if value and self.q10_padded else value

    def boolean(self, value: bool) -> str:
        return self.booleans[0] if value else self.booleans[1]

    def gas_score(self, value: int) -> str:
        return f"{value:+d}" if self.plus_sign and value else str(value)

    def status(self, value: str) -> str:
        return "" if self.status_first_empty and value == "1" else value

    def invalid_day(self) -> str:
        """A date-looking text that is no date (31 April) in this style's format."""
        return self.date_format.replace("%Y", "2025").replace("%m", "04").replace("%d", "31")


STYLES = (
    Style("plain", "utf-8", ";", "\n", "%Y-%m-%d", gm_prefix_share=0.05, weight_habit="mixed"),
    Style("windows", "cp1252", ";", "\r\n", "%d-%m-%Y", booleans=("ja", "nee"), weight_habit="ones",
          status_first_empty=True, blank_lines_at_end=1),
    Style("excel-comma", "utf-8-sig", ",", "\r\n", "%Y-%m-%d", mixed_case_header=True, q10_padded=False,
          booleans=("true", "false"), plus_sign=True, weight_habit="empty"),
    Style("spreadsheet", "utf-8", ";", "\n", "%Y%m%d", birth_cbs_style=True, bsn_as_number=True, quote_all=True,
          blank_lines_at_end=2),
    Style("questionnaire-vendor", "cp1252", ";", "\r\n", "%Y-%m-%d", q10_padded=False, booleans=("1", ""),
          extra_columns={"responses": "clientnaam"}, weight_habit="mixed"),
    Style("bom-semicolon", "utf-8-sig", ";", "\n", "%d-%m-%Y", gm_prefix_share=1.0, plus_sign=True,
          extra_columns={"goals": "opmerking"}, blank_lines_at_end=1),
)
REMARKS = Picker({"": 70, "doel behaald": 8, "zie dossier": 8, "evaluatie met ouders": 6, "deels behaald": 8})
"""Free text in the extra ``opmerking`` column (never loaded by the pipeline)."""


def style_for(provider_index: int) -> Style:
    """The first six providers show every habit; larger runs repeat them."""
    return STYLES[provider_index % len(STYLES)]
