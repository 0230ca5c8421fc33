"""Bad input to plant in sample deliveries, each named by its codebook reason code.

Row defects: every planted row carries exactly one defect, chosen in turn among the reject reasons of the
codebook that apply to the row's kind, and planted so that no other reason applies (e.g. a future date is
never planted on a row whose municipality code is valid only on early dates). A planter that cannot make its
defect unambiguous on a given row declines, and another reason is tried. The generator counts what was
planted, so tests can hold the pipeline to exact figures.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache

from rmj_dagster import codebook
from rmj_dagster.generate.csv_writers import EVENT_COLUMN, Row
from rmj_dagster.generate.styles import Style
from rmj_dagster.ttp.bsn import UNKNOWN_BSNS, normalise_bsn, passes_elfproef

EXACT_DUPLICATE = "exact_duplicate"
INCONSISTENT = "probleemafname_inconsistent"
MEASUREMENT_DEFECT_SHARE = 0.3  # per measurement: defect_rate times this gets an inconsistent probleemafname


@dataclass(frozen=True)
class Setting:
    """What a planter may rely on: the export style, the identity column and the day of generation."""

    style: Style
    identity: str
    today: date

    @property
    def latest(self) -> date:
        """The last day a planted date may take without becoming a future date itself."""
        return self.today - timedelta(days=3)


Planter = Callable[[Row, Setting, random.Random], bool]


# --- codebook-derived candidates -----------------------------------------------------------------------
@cache
def _known_municipalities() -> frozenset[str]:
    return frozenset(r["gemeentecode"] for r in codebook.rows("gemeenten")) | frozenset(r["gemeentecode"] for r in codebook.rows("region"))


@cache
def _out_of_region() -> tuple[str, ...]:
    region = {r["gemeentecode"] for r in codebook.rows("region")}
    return tuple(sorted(r["gemeentecode"] for r in codebook.rows("gemeenten") if r["gemeentecode"] not in region))


@cache
def _unknown_municipalities() -> tuple[str, ...]:
    return tuple(c for c in ("9999", "0000", "0998", "GM9990") if c.removeprefix("GM") not in _known_municipalities())


@cache
def _reden_codes() -> frozenset[str]:
    return frozenset(r["reden_beeindiging"] for r in codebook.rows("reden_beeindiging"))


@cache
def _versions() -> dict[str, tuple[str, str, int, int | None]]:
    return {r["vragenlijst"]: (r["respondent_group"], r["care_type"], int(r["min_age"]), int(r["max_age"]) if r["max_age"] else None)
            for r in codebook.rows("vragenlijsten")}


@cache
def _invalid_answers() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Per item, values outside its range that are not its 'not applicable' code either."""
    result = []
    for r in codebook.rows("cem_items"):
        low, high, na = int(r["min_value"]), int(r["max_value"]), r["not_applicable_value"]
        bad = [str(v) for v in (high + 1, high + 2, low - 1) if str(v) != na and v >= 0]
        result.append((r["item"], tuple(bad)))
    return tuple(result)


# --- planters: change the row so that exactly one reason applies; False when that cannot be done here ---
def _identity_missing(row: Row, s: Setting, rng: random.Random) -> bool:
    row.values[s.identity] = ""
    return True


def _bsn_invalid_format(row: Row, s: Setting, rng: random.Random) -> bool:
    if s.identity != "bsn":
        return False
    digits = row.values["bsn"].zfill(9)
    row.values["bsn"] = rng.choice((digits[:4] + "-" + digits[4:], digits[:8] + "X", digits + "1"))
    return normalise_bsn(row.values["bsn"]) is None


def _bsn_elfproef(row: Row, s: Setting, rng: random.Random) -> bool:
    if s.identity != "bsn":
        return False
    digits = row.values["bsn"].zfill(9)
    wrong = digits[:8] + str((int(digits[8]) + rng.randint(1, 9)) % 10)
    if passes_elfproef(wrong) or wrong in UNKNOWN_BSNS:
        return False
    row.values["bsn"] = s.style.bsn(wrong)
    return True


def _pseudoniem_invalid(row: Row, s: Setting, rng: random.Random) -> bool:
    if s.identity != "pseudoniem":
        return False
    value = row.values["pseudoniem"]
    row.values["pseudoniem"] = rng.choice((value.upper(), value[:-1], value + "0"))
    return True


def _identifier_in_field(row: Row, s: Setting, rng: random.Random) -> bool:
    """The youth's own BSN delivered as toewijzingnummer (an export that maps the wrong column)."""
    if s.identity != "bsn":
        return False
    bsn = normalise_bsn(row.values["bsn"])
    if bsn is None or not passes_elfproef(bsn):
        return False
    row.values["toewijzingnummer"] = bsn
    return True


def _agb_invalid(row: Row, s: Setting, rng: random.Random) -> bool:
    agb = row.values["aanbieder_agb"]
    row.values["aanbieder_agb"] = rng.choice((agb[:7], agb[:4] + " " + agb[4:], agb[:7] + "O"))  # never 9 digits: would look like a BSN
    return True


def _gemeentecode_unknown(row: Row, s: Setting, rng: random.Random) -> bool:
    row.values["gemeentecode"] = rng.choice(_unknown_municipalities())
    return True


def _gemeentecode_out_of_region(row: Row, s: Setting, rng: random.Random) -> bool:
    row.values["gemeentecode"] = rng.choice(_out_of_region())
    return True


def _toewijzingnummer_invalid(row: Row, s: Setting, rng: random.Random) -> bool:
    number = row.values["toewijzingnummer"]
    row.values["toewijzingnummer"] = rng.choice((f"T{number}", f"{number}-1", f"1{int(number):09d}"))
    return True


def _birthdate_invalid(row: Row, s: Setting, rng: random.Random) -> bool:
    row.values["geboortedatum"] = rng.choice(("", "onbekend", s.style.invalid_day()))
    return True


def _date_invalid(row: Row, s: Setting, rng: random.Random) -> bool:
    row.values[EVENT_COLUMN[row.kind]] = rng.choice(("", s.style.invalid_day()))
    return True


def _date_in_future(row: Row, s: Setting, rng: random.Random) -> bool:
    if row.retired_code:
        return False  # a retired code is judged on this date: it would become unknown first
    row.values[EVENT_COLUMN[row.kind]] = s.style.day(s.today + timedelta(days=rng.randint(400, 1500)))
    return True


def _date_before_birth(row: Row, s: Setting, rng: random.Random) -> bool:
    """The birth date moves past the event (at least 40 days, so a YYYYMM00 month lies after it too)."""
    anchor = row.begin if row.kind == "stop_zorg" else row.event
    new_birth = anchor + timedelta(days=rng.randint(40, 120))
    if row.birth is None or new_birth > s.latest:
        return False
    row.values["geboortedatum"] = s.style.birth(new_birth)
    return True


def _plant_unknown(row: Row, rng: random.Random, column: str, candidates: tuple[str, ...], known) -> bool:
    """Put a plausible value the codebook does not know into ``column`` (False if it happens to know it)."""
    value = rng.choice(candidates)
    if value in known:
        return False
    row.values[column] = value
    return True


def _vragenlijst_unknown(row: Row, s: Setting, rng: random.Random) -> bool:
    return _plant_unknown(row, rng, "vragenlijst", ("OUDERS_TUSSENTIJDS", "JONGEREN_START", "OUDER_EINDE", "CEM"), _versions())


def _version_age_mismatch(row: Row, s: Setting, rng: random.Random) -> bool:
    """Another version of the same care type that certainly does not fit the age (any day in a YYYYMM00 month)."""
    youngest, oldest = row.age_range
    for name, (_, care_type, low, high) in sorted(_versions().items()):
        if care_type == row.care_type and name != row.values["vragenlijst"] and (low > oldest or (high is not None and youngest > high)):
            row.values["vragenlijst"] = name
            return True
    return False


def _answer_out_of_range(row: Row, s: Setting, rng: random.Random) -> bool:
    item, bad = rng.choice(_invalid_answers())
    row.values[item] = rng.choice(bad)
    return True


def _end_before_begin(row: Row, s: Setting, rng: random.Random) -> bool:
    row.values["einddatum"] = s.style.day(row.begin - timedelta(days=rng.randint(1, 60)))
    return True


def _reden_beeindiging_unknown(row: Row, s: Setting, rng: random.Random) -> bool:
    return _plant_unknown(row, rng, "reden_beeindiging", ("99", "30", "40", "21"), _reden_codes())


def _status_aanlevering_invalid(row: Row, s: Setting, rng: random.Random) -> bool:
    row.values["status_aanlevering"] = rng.choice(("4", "0", "N"))
    return True


def _trajecttype_unknown(row: Row, s: Setting, rng: random.Random) -> bool:
    known = {r["trajecttype"] for r in codebook.rows("trajecttypen")}
    return _plant_unknown(row, rng, "trajecttype", ("LANGDUREND", "KORTDUREND", "AMBULANT"), known)


def _doel_nr_invalid(row: Row, s: Setting, rng: random.Random) -> bool:
    row.values["doel_nr"] = rng.choice(("0", "-1", "a", "1.5"))
    return True


def _gas_score_out_of_range(row: Row, s: Setting, rng: random.Random) -> bool:
    low, high = int(codebook.parameter("gas_score_min")), int(codebook.parameter("gas_score_max"))
    row.values["gas_score"] = rng.choice((str(high + 1), str(low - 1), f"+{high + 3}", "1.5"))
    return True


def _gewicht_invalid(row: Row, s: Setting, rng: random.Random) -> bool:
    row.values["gewicht"] = rng.choice(("0", "-1", "x"))
    return True


def _probleemafname_out_of_range(row: Row, s: Setting, rng: random.Random) -> bool:
    low, high = int(codebook.parameter("probleemafname_min")), int(codebook.parameter("probleemafname_max"))
    row.values["probleemafname"] = rng.choice((str(low - 1), str(high + 1), str(high + 2)))
    return True


PLANTERS: dict[str, Planter] = {
    "identity_missing": _identity_missing,
    "bsn_invalid_format": _bsn_invalid_format,
    "bsn_elfproef": _bsn_elfproef,
    "pseudoniem_invalid": _pseudoniem_invalid,
    "identifier_in_field": _identifier_in_field,
    "agb_invalid": _agb_invalid,
    "gemeentecode_unknown": _gemeentecode_unknown,
    "gemeentecode_out_of_region": _gemeentecode_out_of_region,
    "toewijzingnummer_invalid": _toewijzingnummer_invalid,
    "birthdate_invalid": _birthdate_invalid,
    "date_invalid": _date_invalid,
    "date_in_future": _date_in_future,
    "date_before_birth": _date_before_birth,
    "vragenlijst_unknown": _vragenlijst_unknown,
    "version_age_mismatch": _version_age_mismatch,
    "answer_out_of_range": _answer_out_of_range,
    "end_before_begin": _end_before_begin,
    "reden_beeindiging_unknown": _reden_beeindiging_unknown,
    "status_aanlevering_invalid": _status_aanlevering_invalid,
    "trajecttype_unknown": _trajecttype_unknown,
    "doel_nr_invalid": _doel_nr_invalid,
    "gas_score_out_of_range": _gas_score_out_of_range,
    "gewicht_invalid": _gewicht_invalid,
    "probleemafname_out_of_range": _probleemafname_out_of_range,
}
"""Row-wise defects; exact_duplicate and probleemafname_inconsistent are planted by ``DefectPlanter``."""


@cache
def reasons_for(kind: str) -> tuple[str, ...]:
    """Codebook reject reasons that apply to ``kind`` and can be planted in a single row."""
    return tuple(
        r["reason_code"] for r in codebook.rows("reject_reasons")
        if kind in r["applies_to"].split(",") and (r["reason_code"] in PLANTERS or r["reason_code"] == EXACT_DUPLICATE)
    )


@dataclass
class DefectPlanter:
    """Plants defects in a stream of rows at ``rate`` and counts them per reason code."""

    rate: float
    setting: Setting
    rng: random.Random
    planted: Counter = field(default_factory=Counter)
    _queues: dict[str, list[str]] = field(default_factory=dict)

    def rows(self, rows: Iterable[Row]) -> Iterator[Row]:
        for row in rows:
            yield from self._row(row)

    def measurements(self, groups: Iterable[list[Row]]) -> Iterator[Row]:
        """Goal rows by measurement: an inconsistent probleemafname takes the whole measurement."""
        for group in groups:
            if self._inconsistent(group):
                yield from group
            else:
                for row in group:
                    yield from self._row(row)

    def _inconsistent(self, group: list[Row]) -> bool:
        if self.rate <= 0 or len(group) < 2 or any(r.protected for r in group) or not group[0].values["probleemafname"]:
            return False
        if self.rng.random() >= self.rate * MEASUREMENT_DEFECT_SHARE:
            return False
        current = group[-1].values["probleemafname"]
        group[-1].values["probleemafname"] = self.rng.choice([v for v in ("1", "2", "3") if v != current])
        self.planted[INCONSISTENT] += len(group)
        return True

    def _row(self, row: Row) -> Iterator[Row]:
        reason = self._plant(row) if self.rate > 0 and not row.protected and self.rng.random() < self.rate else None
        yield row
        if reason == EXACT_DUPLICATE:
            yield Row(dict(row.values), row.kind, row.event)  # the copy right after is the rejected one

    def _plant(self, row: Row) -> str | None:
        """The least recently planted reason that this row can carry (so every reason turns up, evenly)."""
        queue = self._queues.get(row.kind)
        if queue is None:
            queue = self._queues[row.kind] = self.rng.sample(reasons_for(row.kind), len(reasons_for(row.kind)))
        for position, reason in enumerate(queue):
            if reason == EXACT_DUPLICATE or PLANTERS[reason](row, self.setting, self.rng):
                queue.append(queue.pop(position))
                self.planted[reason] += 1
                return reason
        return None
