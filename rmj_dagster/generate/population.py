"""Youths and their care trajectories at one provider, simulated one calendar year at a time.

Only one provider's long-term (DUURZAAM) trajectories are carried from year to year, so memory stays
bounded at national scale. Shares and durations are sample-data choices; every rule (region, JZ588 codes,
the 11-proef) comes from the codebook and ``rmj_dagster.ttp.bsn``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from rmj_dagster import codebook
from rmj_dagster.generate.numbering import Numbering
from rmj_dagster.generate.sampling import Picker, add_years, random_day, seasonal_day
from rmj_dagster.ttp.bsn import UNKNOWN_BSNS, passes_elfproef

# --- sample-data shares (not rules) -------------------------------------------------------------------
REDEN_SHARES = {"31": 60, "32": 12.5, "34": 8, "33": 4, "35": 3.5, "39": 5, "20": 2, "36": 1.5, "37": 1, "38": 2.2, "02": 0.3}
"""Share of each JZ588 code among ended trajectories; codebook codes missing here get a small share."""
ADULTHOOD_REDEN = {"31": 55, "39": 45}
"""Long-term care that must end at 18: as planned, or outflow to Wlz/Wmo/Zvw."""
POPULATION_THOUSANDS = {
    "0363": 930, "0479": 160, "0362": 96, "0439": 93, "0370": 10, "0385": 37, "0358": 33, "0384": 32,
    "0451": 31, "0852": 18, "0880": 17, "0437": 14, "0415": 12, "0431": 10,
}
"""Rough inhabitants per municipality; Purmerend includes Beemster (merged 2022)."""
SHORT_TYPES = {"PERSPECTIEF": 62, "INTENSIEF": 38}
AGE_SHARES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 3, 5: 4, 6: 5, 7: 5, 8: 6, 9: 6, 10: 6, 11: 6, 12: 7, 13: 7, 14: 8, 15: 8, 16: 7, 17: 6}
END_MONTH_SHARES = {1: 7, 2: 8, 3: 9, 4: 8, 5: 8, 6: 10, 7: 10, 8: 7, 9: 8, 10: 9, 11: 9, 12: 11}
DURATION_DAYS = {"PERSPECTIEF": (45, 180, 540), "INTENSIEF": (30, 90, 270), "DUURZAAM": (365, 900, 2500)}
"""(shortest, most common, longest) length of care, triangular."""
PRODUCT_CATEGORIES = {"45": 30, "43": 25, "44": 12, "41": 10, "42": 8, "46": 6, "47": 5, "48": 4}
LONG_TERM_SHARE = 0.2  # running long-term trajectories per ended trajectory a year (times a provider's tilt)
LONG_TERM_END_CHANCE = 0.2  # a long-term trajectory ends in a given year
SECOND_PRODUCT_CHANCE = 0.06  # a youth gets a second toewijzing at the same provider, ending the same day

FIRST_NAMES = ("Sem", "Noah", "Liam", "Daan", "Luuk", "Mohammed", "Adam", "Finn", "Bram", "Mees", "Yusuf",
               "Ayoub", "Thijs", "Jayden", "Sven", "Emma", "Julia", "Mila", "Tess", "Sophie", "Zoë", "Noor",
               "Yara", "Saar", "Fenna", "Anaïs", "Ilse", "Sara", "Fatima", "Lina", "Dewi", "Chloë", "Eliza")
SURNAMES = (("de", "Vries"), ("", "Jansen"), ("van", "Dijk"), ("", "Bakker"), ("", "Visser"), ("", "Smit"),
            ("", "Meijer"), ("de", "Boer"), ("", "Mulder"), ("de", "Groot"), ("", "Bos"), ("", "Vos"),
            ("", "Peters"), ("", "Hendriks"), ("van", "Leeuwen"), ("", "Dekker"), ("", "Brouwer"), ("de", "Wit"),
            ("", "Dijkstra"), ("van der", "Meer"), ("", "El Amrani"), ("", "Bouzid"), ("", "Öztürk"),
            ("", "Çelik"), ("", "Yilmaz"), ("", "Kaya"), ("", "Sedney"), ("", "Pinas"), ("", "Nguyen"),
            ("", "Kramer"), ("van 't", "Hof"), ("", "Schouten"), ("", "Koç"))
"""Fake names; every character is in Windows-1252, which some providers export in."""

_YEAR = 365
_PICK_AGE = Picker(AGE_SHARES)
_PICK_SHORT_TYPE = Picker(SHORT_TYPES)
_PICK_MONTH = Picker(END_MONTH_SHARES)
_PICK_CATEGORY = Picker(PRODUCT_CATEGORIES)
_PICK_ADULT_REDEN = Picker(ADULTHOOD_REDEN)


def reden_picker() -> Picker[str]:
    """JZ588 codes from the codebook, weighted by the sample shares."""
    return Picker({row["reden_beeindiging"]: REDEN_SHARES.get(row["reden_beeindiging"], 0.5) for row in codebook.rows("reden_beeindiging")})


@dataclass(frozen=True)
class Municipalities:
    """The region's current municipalities by population, and retired codes still valid on early dates."""

    pick: Picker[str]
    former: dict[str, tuple[str, date, float]]  # current code -> (retired code, valid until, share of youths)

    @classmethod
    def from_codebook(cls, tilt: dict[str, float] | None = None) -> Municipalities:
        current, former = {}, {}
        rows = codebook.rows("region")
        for row in rows:
            weight = POPULATION_THOUSANDS.get(row["gemeentecode"], 10) * (tilt or {}).get(row["subregio"], 1.0)
            if not row["valid_until"]:
                current[row["gemeentecode"]] = weight
        for row in rows:
            if row["valid_until"] and row["reported_as"] in current:
                share = POPULATION_THOUSANDS.get(row["gemeentecode"], 10) / POPULATION_THOUSANDS.get(row["reported_as"], 100)
                former[row["reported_as"]] = (row["gemeentecode"], date.fromisoformat(row["valid_until"]), min(share, 0.5))
        return cls(Picker(current), former)


@dataclass(slots=True)
class Youth:
    bsn: str
    birth: date
    first_name: str
    prefix: str
    surname: str
    gender: str  # iJw LDT_Geslacht: 0 unknown, 1 male, 2 female
    gemeentecode: str
    former_code: str | None = None
    former_until: date | None = None
    pseudonym: str | None = None  # filled once when a TTP key is used

    def gemeente_on(self, day: date) -> str:
        """The code a provider writes for a record judged on ``day`` (e.g. Beemster before its merger)."""
        if self.former_code and self.former_until and day <= self.former_until:
            return self.former_code
        return self.gemeentecode

    @property
    def eighteenth(self) -> date:
        return add_years(self.birth, 18)

    @property
    def initials(self) -> str:
        return self.first_name[0]

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.prefix, self.surname) if part)


@dataclass(slots=True)
class Response:
    """One CEM+ questionnaire; ``answers`` holds q01..q10 as canonical text ('' = not answered)."""

    vragenlijst: str
    invuldatum: date
    answers: dict[str, str]
    geen_inzage: bool


@dataclass(slots=True)
class Measurement:
    """One GAS measurement: scores and weights per goal, one probleemafname ('' = not scored)."""

    meetdatum: date
    scores: list[int]
    weights: list[str]
    probleemafname: str


@dataclass(slots=True)
class Trajectory:
    toewijzingnummer: str  # as the issuing municipality writes it (``generate.numbering``)
    youth: Youth
    trajecttype: str
    begindatum: date
    productcategorie: str
    productcode: str
    einddatum: date | None = None  # None: long-term care still running at the end of the year
    reden: str | None = None
    responses: list[Response] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)
    anniversary: date | None = None  # this year's yearly moment of a long-term trajectory
    start_reported: bool = False  # a JW305 start message for it was written


class YouthFactory:
    """Unique valid BSNs (a bijection of a serial number, so no two youths share one) and fake people."""

    SERIALS_PER_PROVIDER = 2_000_000

    def __init__(self, seed: int, provider_index: int, municipalities: Municipalities):
        shared = random.Random(f"{seed}:bsn")  # one bijection for all providers: no BSN is dealt twice
        self._multiplier = shared.randrange(1, 10**7) * 10 + shared.choice((1, 3, 7, 9))  # coprime to 10**8
        self._offset = shared.randrange(10**8)
        self._serial = provider_index * self.SERIALS_PER_PROVIDER
        self._last_serial = self._serial + self.SERIALS_PER_PROVIDER
        self._municipalities = municipalities

    def _next_bsn(self) -> str:
        while True:
            self._serial += 1
            if self._serial >= self._last_serial:
                raise RuntimeError("a provider ran out of BSN serials; generate fewer years or a smaller scale")
            base = f"{(self._serial * self._multiplier + self._offset) % 10**8:08d}"
            check = sum(int(d) * w for d, w in zip(base, (9, 8, 7, 6, 5, 4, 3, 2), strict=True)) % 11
            bsn = base + str(check)
            # no BSN below 010000000: a spreadsheet that drops leading zeros loses at most one (restored)
            if check < 10 and not bsn.startswith("00") and bsn not in UNKNOWN_BSNS and passes_elfproef(bsn):
                return bsn

    def make(self, rng: random.Random, birth: date) -> Youth:
        prefix, surname = rng.choice(SURNAMES)
        code = self._municipalities.pick(rng)
        youth = Youth(self._next_bsn(), birth, rng.choice(FIRST_NAMES), prefix, surname,
                      rng.choice("1212121210"), code)
        retired = self._municipalities.former.get(code)
        if retired and birth <= retired[1] and rng.random() < retired[2]:
            youth.former_code, youth.former_until = retired[0], retired[1]
        return youth


@dataclass
class ProviderProfile:
    """What makes one provider differ from another: size, care mix, where its clients live, habits."""

    index: int
    agb: str
    ended_per_year: float
    long_term_tilt: float
    response_propensity: float
    measurement_propensity: float
    municipalities: Municipalities


class ProviderSimulation:
    """One provider's trajectories, year after year; holds only the running long-term ones in between."""

    def __init__(self, profile: ProviderProfile, seed: int, *, varied_numbering: bool = True):
        self.profile = profile
        setup = random.Random(f"{seed}:{profile.agb}:setup")
        self.youths = YouthFactory(seed, profile.index, profile.municipalities)
        self._numbers = Numbering(setup, varied=varied_numbering)
        self._running: list[Trajectory] | None = None
        self._reden = reden_picker()

    def _number(self, rng: random.Random, youth: Youth, begin: date) -> str:
        return self._numbers.next(rng, youth.gemeentecode, begin.year)

    def year(self, rng: random.Random, year: int, last_day: date) -> Iterator[Trajectory]:
        """Every trajectory with something to report in ``year`` (ended, or long-term with a yearly moment)."""
        first_day = date(year, 1, 1)
        fraction = ((last_day - first_day).days + 1) / ((date(year, 12, 31) - first_day).days + 1)
        target_ended = round(self.profile.ended_per_year * fraction)
        target_running = round(self.profile.ended_per_year * LONG_TERM_SHARE * self.profile.long_term_tilt)
        if self._running is None:
            self._running = [self._long_term(rng, first_day, started_before=True) for _ in range(target_running)]
        still_running, ended = [], 0
        for t in self._running:
            if t.youth.eighteenth <= first_day:
                continue  # turned 18 in a year that was not generated
            t.responses, t.measurements = [], []
            self._long_term_year(rng, t, year, last_day)
            if t.einddatum is None:
                still_running.append(t)
            else:
                ended += 1
            yield t
        for _ in range(max(0, target_ended - ended)):
            yield from self._short(rng, year, last_day)
        for _ in range(max(0, target_running - len(still_running))):
            t = self._long_term(rng, random_day(rng, first_day, last_day), started_before=False)
            still_running.append(t)
        self._running = still_running

    def _short(self, rng: random.Random, year: int, last_day: date) -> Iterator[Trajectory]:
        einde = seasonal_day(rng, year, last_day, _PICK_MONTH)
        age = _PICK_AGE(rng)
        birth = einde - timedelta(days=age * _YEAR + rng.randint(60, 360))  # age at einde: ``age`` (0-17)
        youth = self.youths.make(rng, birth)
        kind = _PICK_SHORT_TYPE(rng)
        reden = self._reden(rng)
        yield self._ended(rng, youth, kind, einde, reden)
        if rng.random() < SECOND_PRODUCT_CHANCE:
            yield self._ended(rng, youth, kind, einde, reden)

    def _ended(self, rng: random.Random, youth: Youth, kind: str, einde: date, reden: str) -> Trajectory:
        shortest, mode, longest = DURATION_DAYS[kind]
        begin = max(einde - timedelta(days=round(rng.triangular(shortest, longest, mode))), youth.birth + timedelta(days=14))
        category = _PICK_CATEGORY(rng)
        return Trajectory(self._number(rng, youth, begin), youth, kind, begin, category,
                          f"{category}A{rng.randint(1, 99):02d}", einddatum=einde, reden=reden)

    def _long_term(self, rng: random.Random, start: date, *, started_before: bool) -> Trajectory:
        """A long-term trajectory running on ``start`` (begun years earlier when ``started_before``)."""
        age = rng.randint(1, 17) if started_before else rng.randint(0, 15)
        birth = start - timedelta(days=age * _YEAR + rng.randint(30, 360))
        youth = self.youths.make(rng, birth)
        begin = start - timedelta(days=rng.randint(30, 4 * _YEAR)) if started_before else start
        begin = max(begin, birth + timedelta(days=30))
        category = _PICK_CATEGORY(rng)
        return Trajectory(self._number(rng, youth, begin), youth, "DUURZAAM", begin, category,
                          f"{category}A{rng.randint(1, 99):02d}")

    def _long_term_year(self, rng: random.Random, t: Trajectory, year: int, last_day: date) -> None:
        """Decide whether a long-term trajectory ends this year (always before 18) and its yearly moment."""
        first_day = date(year, 1, 1)
        eighteenth = t.youth.eighteenth
        anniversary = add_years(t.begindatum, year - t.begindatum.year)
        t.anniversary = anniversary if t.begindatum < anniversary <= last_day and anniversary < eighteenth else None
        earliest_end = max(first_day, t.begindatum + timedelta(days=30))
        if eighteenth <= date(year, 12, 31) and eighteenth - timedelta(days=1) <= last_day:
            day_before = eighteenth - timedelta(days=1)
            t.einddatum = min(random_day(rng, max(earliest_end, eighteenth - timedelta(days=90)), day_before), day_before)
            t.reden = _PICK_ADULT_REDEN(rng)
        elif rng.random() < LONG_TERM_END_CHANCE and earliest_end <= last_day:
            t.einddatum = random_day(rng, earliest_end, last_day)
            t.reden = self._reden(rng)
        if t.einddatum is not None and t.anniversary is not None and t.anniversary >= t.einddatum:
            t.anniversary = None
