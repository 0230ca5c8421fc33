"""Random but plausible youths, trajectories, questionnaires and goal measurements for one provider-year."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from rmj_dagster import codebook
from rmj_dagster.identity import UNKNOWN_BSNS

# Shares are sample-data choices, not rules: the rules live in the codebook.
REDEN_WEIGHTS = {"31": 58, "32": 12, "34": 9, "33": 4, "35": 4, "39": 5, "20": 2, "36": 2, "37": 1, "38": 2, "02": 1}
TRAJECT_WEIGHTS = {"PERSPECTIEF": 55, "INTENSIEF": 30, "DUURZAAM": 15}
LIKERT_WEIGHTS = {"5": 30, "4": 40, "3": 12, "2": 6, "1": 3, "9": 5, "": 4}
Q09_WEIGHTS = {"1": 1, "2": 1, "3": 2, "4": 3, "5": 5, "6": 10, "7": 25, "8": 30, "9": 13, "10": 8, "": 2}
Q10_WEIGHTS = {"1": 20, "2": 30, "3": 25, "4": 22, "": 3}
GAS_WEIGHTS = {-2: 5, -1: 12, 0: 35, 1: 33, 2: 15}
PRODUCT_CATEGORIES = ("41", "42", "43", "44", "45", "46", "47", "48")
MUNICIPALITY_WEIGHTS = {  # roughly by number of youths in care
    "0363": 55, "0479": 10, "0362": 6, "0439": 6, "0358": 2, "0384": 2, "0437": 1, "0451": 2,
    "0385": 2, "0415": 1, "0431": 1, "0852": 1, "0880": 1,
}
SURNAMES = ("de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "El Amrani", "Yılmaz", "Öztürk", "Mulder",
            "de Boer", "Bouzid", "Peters", "Hendriks", "van Dijk", "Kramer", "Çelik", "Dekker", "Brouwer", "Vermeulen")


def pick(rng: random.Random, weights: dict) -> object:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def make_bsn(rng: random.Random) -> str:
    """A random 9-digit number that passes the 11-proef (and is not a code for "unknown")."""
    while True:
        digits = [rng.randint(0, 9) for _ in range(8)]
        check = sum(d * w for d, w in zip(digits, (9, 8, 7, 6, 5, 4, 3, 2))) % 11
        bsn = "".join(map(str, digits)) + str(check)
        if check < 10 and bsn not in UNKNOWN_BSNS and int(bsn) > 0:
            return bsn


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


@dataclass
class Youth:
    bsn: str
    geboortedatum: date
    naam: str
    voorletters: str


@dataclass
class Trajectory:
    toewijzingnummer: int
    youth: Youth
    gemeentecode: str
    trajecttype: str
    begindatum: date
    einddatum: date | None  # None: long-term care still running at the end of the year
    reden: str | None
    productcategorie: str
    productcode: str
    responses: list[dict] = field(default_factory=list)
    measurement: dict | None = None


def versions_for(age: int, care_type: str, rng: random.Random) -> list[str]:
    """Who fills in which CEM+ version at this age (codebook vragenlijsten.csv)."""
    allowed = [
        r["vragenlijst"]
        for r in codebook.rows("vragenlijsten")
        if r["care_type"] == care_type and int(r["min_age"]) <= age and (not r["max_age"] or age <= int(r["max_age"]))
    ]
    if len(allowed) == 2:  # 12 up to 16: parents and/or youth, at least one
        return allowed if rng.random() < 0.25 else [rng.choice(allowed)]
    return allowed


def answers(rng: random.Random) -> dict[str, str]:
    values = {f"q{i:02d}": pick(rng, LIKERT_WEIGHTS) for i in range(1, 9)}
    values["q09"] = pick(rng, Q09_WEIGHTS)
    values["q10"] = pick(rng, Q10_WEIGHTS)
    values["geen_inzage_hulpverlener"] = rng.random() < 0.1
    return values


def trajectories_for(rng: random.Random, provider_index: int, year: int, count: int, today: date) -> list[Trajectory]:
    """``count`` trajectories ending in ``year`` plus about 12% long-term ones still running at its end."""
    last_day = min(date(year, 12, 31), today - timedelta(days=7))
    first_day = date(year, 1, 1)
    if last_day < first_day:
        return []
    span = (last_day - first_day).days
    result = []
    running = max(0, round(count * 0.12))
    for number in range(count + running):
        youth_birth = date(year - rng.randint(2, 18), rng.randint(1, 12), rng.randint(1, 28))
        youth = Youth(make_bsn(rng), youth_birth, rng.choice(SURNAMES), "".join(rng.choice("ABCDEFGHJKLMNPRSTW") for _ in range(rng.randint(1, 2))))
        ended = number < count
        kind = pick(rng, TRAJECT_WEIGHTS) if ended else "DUURZAAM"
        if ended:
            einde = first_day + timedelta(days=rng.randint(0, span))
            begin = einde - timedelta(days=rng.randint(30, 540 if kind == "DUURZAAM" else 400))
        else:
            einde, begin = None, first_day - timedelta(days=rng.randint(60, 900))
        begin = max(begin, youth_birth + timedelta(days=30))
        category = rng.choice(PRODUCT_CATEGORIES)
        result.append(
            Trajectory(
                toewijzingnummer=(provider_index + 1) * 10_000_000 + (year % 100) * 100_000 + number,
                youth=youth,
                gemeentecode=str(pick(rng, MUNICIPALITY_WEIGHTS)),
                trajecttype=kind,
                begindatum=begin,
                einddatum=einde,
                reden=str(pick(rng, REDEN_WEIGHTS)) if ended else None,
                productcategorie=category,
                productcode=f"{category}A{rng.randint(1, 99):02d}",
            )
        )
    for trajectory in result:
        _add_questionnaires_and_goals(rng, trajectory, year, last_day)
    return result


def _add_questionnaires_and_goals(rng: random.Random, t: Trajectory, year: int, last_day: date) -> None:
    if t.einddatum is not None:
        moment, care_type, respond = t.einddatum - timedelta(days=rng.randint(0, 21)), "EINDE", 0.35
    else:
        moment, care_type, respond = date(year, rng.randint(1, 12), rng.randint(1, 28)), "DUURZAAM", 0.5
    moment = min(max(moment, t.begindatum), last_day)
    if rng.random() < respond:
        for version in versions_for(age_on(t.youth.geboortedatum, moment), care_type, rng):
            t.responses.append({"vragenlijst": version, "invuldatum": moment, **answers(rng)})
    if rng.random() < 0.8:
        goals = rng.randint(1, 4)
        t.measurement = {
            "meetdatum": t.einddatum or moment,
            "scores": [pick(rng, GAS_WEIGHTS) for _ in range(goals)],
            "gewichten": [rng.choice(["", "", "", "1", "2"]) for _ in range(goals)],
            "probleemafname": str(rng.choices([1, 2, 3], weights=[20, 40, 40])[0]),
        }
