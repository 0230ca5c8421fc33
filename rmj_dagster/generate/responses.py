"""What clients answer on the CEM+ and how providers score goals (GAS), given how care ended.

Valid values and who fills in which version come from the codebook (``cem_items``, ``vragenlijsten``,
``reden_beeindiging``); the distributions are sample-data choices: mostly positive, worse after dropout.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from functools import cache

from rmj_dagster import codebook
from rmj_dagster.generate.population import Measurement, ProviderProfile, Response, Trajectory
from rmj_dagster.generate.sampling import Picker, age_on, clamp

MOODS = ("positive", "neutral", "negative")
LIKERT = {
    "positive": {"5": 38, "4": 40, "3": 9, "2": 3, "1": 1, "9": 5, "": 4},
    "neutral": {"5": 18, "4": 40, "3": 21, "2": 9, "1": 3, "9": 5, "": 4},
    "negative": {"5": 6, "4": 22, "3": 28, "2": 22, "1": 12, "9": 5, "": 5},
}
RAPPORTCIJFER = {
    "positive": {"10": 9, "9": 16, "8": 34, "7": 26, "6": 8, "5": 3, "4": 1, "": 3},
    "neutral": {"10": 3, "9": 8, "8": 27, "7": 31, "6": 16, "5": 7, "4": 3, "3": 1, "": 4},
    "negative": {"9": 2, "8": 8, "7": 18, "6": 22, "5": 20, "4": 12, "3": 8, "2": 4, "1": 3, "": 3},
}
ZONDER_HULP_VERDER = {
    "positive": {"4": 33, "3": 30, "2": 25, "1": 9, "": 3},
    "neutral": {"4": 18, "3": 26, "2": 32, "1": 21, "": 3},
    "negative": {"4": 8, "3": 14, "2": 30, "1": 45, "": 3},
}
GAS = {
    "positive": {-2: 2, -1: 6, 0: 36, 1: 40, 2: 16},
    "neutral": {-2: 5, -1: 15, 0: 42, 1: 29, 2: 9},
    "negative": {-2: 20, -1: 35, 0: 30, 1: 12, 2: 3},
}
PROBLEEMAFNAME = {
    "positive": {"3": 55, "2": 35, "1": 6, "": 4},
    "neutral": {"3": 25, "2": 48, "1": 23, "": 4},
    "negative": {"3": 8, "2": 34, "1": 54, "": 4},
}
GOALS = {1: 20, 2: 35, 3: 30, 4: 15}
WEIGHT_HABITS = {"empty": {"": 1}, "ones": {"1": 1}, "mixed": {"": 55, "1": 33, "2": 12}}
DEATH = "02"  # JZ588 overlijden: nobody answers a questionnaire
RAPPORTCIJFER_ITEM, ZONDER_HULP_ITEM = "q09", "q10"  # CBS §4.3 and §4.4 (delivery contract)
SCHOOL_ITEMS = ("q05", "q08")  # school and friends: often "not applicable" for toddlers
RESPONSE_CHANCE = {"planned": 0.42, "uitval": 0.16, "early": 0.27, "death": 0.0, "administrative": 0.18, "long_term": 0.45}
MEASUREMENT_CHANCE = {"planned": 0.86, "uitval": 0.7, "early": 0.8, "death": 0.25, "administrative": 0.45, "long_term": 0.85}
BOTH_VERSIONS_CHANCE = 0.25  # 12 up to 16: parents and youth both fill in
INZAGE_CHANCE = 0.1  # "no insight for my care worker" ticked

_LIKERT = {mood: Picker(w) for mood, w in LIKERT.items()}
_RAPPORTCIJFER = {mood: Picker(w) for mood, w in RAPPORTCIJFER.items()}
_ZONDER_HULP = {mood: Picker(w) for mood, w in ZONDER_HULP_VERDER.items()}
_GAS = {mood: Picker(w) for mood, w in GAS.items()}
_PROBLEEMAFNAME = {mood: Picker(w) for mood, w in PROBLEEMAFNAME.items()}
_GOALS = Picker(GOALS)
_WEIGHTS = {habit: Picker(w) for habit, w in WEIGHT_HABITS.items()}


@cache
def _reden_rows() -> dict[str, dict[str, str]]:
    return {row["reden_beeindiging"]: row for row in codebook.rows("reden_beeindiging")}


def ending(t: Trajectory) -> str:
    """How the trajectory ended, in the terms that drive response and outcome (codebook classification)."""
    if t.einddatum is None:
        return "long_term"
    row = _reden_rows()[t.reden]
    if row["counts_as_end"] != "true":
        return "administrative"
    if row["is_uitval"] == "true":
        return "uitval"
    if t.reden == DEATH:
        return "death"
    return "planned" if row["cbs_categorie"] in ("01", "02") else "early"


def mood_of(rng: random.Random, how: str) -> str:
    weights = {"planned": (60, 32, 8), "uitval": (15, 40, 45), "early": (30, 42, 28), "death": (20, 50, 30),
               "administrative": (40, 45, 15), "long_term": (45, 42, 13)}[how]
    return rng.choices(MOODS, weights=weights)[0]


@cache
def _versions() -> tuple[tuple[str, str, int, int | None], ...]:
    return tuple(
        (r["vragenlijst"], r["care_type"], int(r["min_age"]), int(r["max_age"]) if r["max_age"] else None)
        for r in codebook.rows("vragenlijsten")
    )


def versions_for(rng: random.Random, age: int, care_type: str) -> list[str]:
    """Who fills in at this age: one of the allowed versions, both sometimes when two are allowed."""
    allowed = [name for name, care, low, high in _versions() if care == care_type and low <= age and (high is None or age <= high)]
    if len(allowed) > 1 and rng.random() >= BOTH_VERSIONS_CHANCE:
        return [rng.choice(allowed)]
    return allowed


@cache
def likert_items() -> tuple[str, ...]:
    """The agree/disagree items of the codebook (everything but the two CBS items)."""
    return tuple(r["item"] for r in codebook.rows("cem_items") if r["item"] not in (RAPPORTCIJFER_ITEM, ZONDER_HULP_ITEM))


def answers(rng: random.Random, mood: str, age: int) -> dict[str, str]:
    """Every codebook item as canonical text (q10 unpadded; the export style pads it); '' = not answered."""
    values = {item: _LIKERT[mood](rng) for item in likert_items()}
    if age < 4:
        for item in SCHOOL_ITEMS:
            if rng.random() < 0.6:
                values[item] = "9"
    values[RAPPORTCIJFER_ITEM] = _RAPPORTCIJFER[mood](rng)
    values[ZONDER_HULP_ITEM] = _ZONDER_HULP[mood](rng)
    return values


def add_outcomes(rng: random.Random, t: Trajectory, profile: ProviderProfile, last_day: date, weight_habit: str) -> None:
    """Questionnaires and goal measurements for this year: at the end, and at the yearly moment of long-term care."""
    how = ending(t)
    mood = mood_of(rng, how)
    eighteenth = t.youth.eighteenth
    earliest = max(t.begindatum + timedelta(days=1), date(last_day.year, 1, 1))  # a response belongs to its year's file
    if t.anniversary is not None:
        _respond(rng, t, profile, "long_term", "DUURZAAM", mood, t.anniversary + timedelta(days=rng.randint(-20, 20)),
                 earliest, min(last_day, eighteenth - timedelta(days=1), (t.einddatum or last_day) - timedelta(days=1)))
        if rng.random() < MEASUREMENT_CHANCE["long_term"] * profile.measurement_propensity:
            t.measurements.append(_measurement(rng, t.anniversary, mood, weight_habit))
    if t.einddatum is not None:
        offset = rng.randint(-21, 0) if rng.random() < 0.72 else rng.randint(1, 14)
        _respond(rng, t, profile, how, "EINDE", mood, t.einddatum + timedelta(days=offset),
                 earliest, min(last_day, eighteenth - timedelta(days=1)))
        if rng.random() < MEASUREMENT_CHANCE[how] * profile.measurement_propensity:
            t.measurements.append(_measurement(rng, t.einddatum, mood, weight_habit))


def _respond(rng: random.Random, t: Trajectory, profile: ProviderProfile, how: str, care_type: str, mood: str,
             day: date, earliest: date, latest: date) -> None:
    if latest < earliest or rng.random() >= RESPONSE_CHANCE[how] * profile.response_propensity:
        return
    day = clamp(day, earliest, latest)
    age = age_on(t.youth.birth, day)
    for version in versions_for(rng, age, care_type):
        t.responses.append(Response(version, day, answers(rng, mood, age), rng.random() < INZAGE_CHANCE))


def _measurement(rng: random.Random, day: date, mood: str, weight_habit: str) -> Measurement:
    goals = _GOALS(rng)
    return Measurement(day, [_GAS[mood](rng) for _ in range(goals)], [_WEIGHTS[weight_habit](rng) for _ in range(goals)],
                       _PROBLEEMAFNAME[mood](rng))
