"""Provider CSV exports: records rendered as text in a provider's style, written one row at a time.

Each rendered row keeps a small context (its dates, whether its municipality code is a retired one, the age
range the pipeline can read from the birth date) so a defect can be planted without creating another.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from rmj_dagster.generate.population import Measurement, Response, Trajectory, Youth
from rmj_dagster.generate.sampling import age_on, month_bounds
from rmj_dagster.generate.styles import REMARKS, Style

IDENTITY = "bsn"  # replaced by ``pseudoniem`` in the files of a provider that delivers through the TTP
LAYOUTS = {
    "stop_zorg": ("aanbieder_agb", IDENTITY, "geboortedatum", "gemeentecode", "toewijzingnummer", "productcategorie",
                 "productcode", "begindatum", "einddatum", "reden_beeindiging", "status_aanlevering"),
    "responses": ("aanbieder_agb", IDENTITY, "geboortedatum", "gemeentecode", "toewijzingnummer", "vragenlijst", "invuldatum",
            *(f"q{i:02d}" for i in range(1, 11)), "geen_inzage_hulpverlener"),
    "goals": ("aanbieder_agb", IDENTITY, "gemeentecode", "toewijzingnummer", "trajecttype", "meetdatum", "doel_nr",
               "gas_score", "gewicht", "probleemafname"),
}
"""Column order of the providers' exports (delivery contract v1 columns; order is free)."""
EVENT_COLUMN = {"responses": "invuldatum", "stop_zorg": "einddatum", "goals": "meetdatum"}
"""The date each kind's municipality is judged on, and the one a future or invalid date is planted in."""


@dataclass(slots=True)
class Row:
    """One data row as text, plus what the defect planter needs to know about it."""

    values: dict[str, str]
    kind: str
    event: date
    birth: date | None = None
    begin: date | None = None
    retired_code: bool = False  # the municipality code is valid only on early dates (0370 before 2022)
    care_type: str | None = None
    age_range: tuple[int, int] | None = None  # ages at invuldatum the pipeline can read from the birth date
    protected: bool = False  # a later correction refers to this row: it stays clean


@dataclass(frozen=True)
class Exporter:
    """Renders one provider's records (``identity`` is bsn or pseudoniem)."""

    agb: str
    style: Style
    identity: str
    rng: random.Random

    def _identity(self, youth: Youth) -> str:
        return youth.pseudonym if self.identity == "pseudoniem" else self.style.bsn(youth.bsn)

    def _gemeente(self, youth: Youth, day: date) -> tuple[str, bool]:
        code = youth.gemeente_on(day)
        return self.style.gemeente(code, self.rng), code != youth.gemeentecode

    def columns(self, kind: str) -> list[str]:
        extra = self.style.extra_columns.get(kind)
        return [self.identity if c == IDENTITY else c for c in LAYOUTS[kind]] + ([extra] if extra else [])

    def stop_row(self, t: Trajectory, *, status: str = "1", einddatum: date | None = None, reden: str | None = None) -> Row:
        einde = einddatum or t.einddatum
        gemeente, retired = self._gemeente(t.youth, einde)
        s = self.style
        values = {
            "aanbieder_agb": self.agb, self.identity: self._identity(t.youth), "geboortedatum": s.birth(t.youth.birth),
            "gemeentecode": gemeente, "toewijzingnummer": t.toewijzingnummer,
            "productcategorie": t.productcategorie, "productcode": t.productcode, "begindatum": s.day(t.begindatum),
            "einddatum": s.day(einde), "reden_beeindiging": reden or t.reden, "status_aanlevering": s.status(status),
        }
        return Row(values, "stop_zorg", einde, birth=t.youth.birth, begin=t.begindatum, retired_code=retired)

    def cem_row(self, t: Trajectory, r: Response) -> Row:
        gemeente, retired = self._gemeente(t.youth, r.invuldatum)
        s = self.style
        values = {
            "aanbieder_agb": self.agb, self.identity: self._identity(t.youth), "geboortedatum": s.birth(t.youth.birth),
            "gemeentecode": gemeente, "toewijzingnummer": t.toewijzingnummer, "vragenlijst": r.vragenlijst,
            "invuldatum": s.day(r.invuldatum), **r.answers, "q10": s.q10(r.answers["q10"]),
            "geen_inzage_hulpverlener": s.boolean(r.geen_inzage),
        }
        if s.extra_columns.get("responses") == "clientnaam":
            values["clientnaam"] = t.youth.full_name
        return Row(values, "responses", r.invuldatum, birth=t.youth.birth, retired_code=retired,
                   care_type=r.vragenlijst.split("_")[-1], age_range=self._ages(t.youth.birth, r.invuldatum))

    def _ages(self, birth: date, day: date) -> tuple[int, int]:
        if not self.style.birth_cbs_style:
            age = age_on(birth, day)
            return age, age
        earliest, latest = month_bounds(birth)
        return age_on(latest, day), age_on(earliest, day)

    def goal_rows(self, t: Trajectory, m: Measurement) -> list[Row]:
        gemeente, retired = self._gemeente(t.youth, m.meetdatum)
        s = self.style
        extra = s.extra_columns.get("goals")
        rows = []
        for number, (score, weight) in enumerate(zip(m.scores, m.weights, strict=True), start=1):
            values = {
                "aanbieder_agb": self.agb, self.identity: self._identity(t.youth), "gemeentecode": gemeente,
                "toewijzingnummer": t.toewijzingnummer, "trajecttype": t.trajecttype, "meetdatum": s.day(m.meetdatum),
                "doel_nr": str(number), "gas_score": s.gas_score(score), "gewicht": weight,
                "probleemafname": m.probleemafname,
            }
            if extra:
                values[extra] = REMARKS(self.rng)
            rows.append(Row(values, "goals", m.meetdatum, retired_code=retired))
        return rows


class CsvFile:
    """Streams rows into one CSV file in a provider's style; counts the data rows written."""

    def __init__(self, path: Path, columns: list[str], style: Style):
        self.path, self.columns, self.style = path, columns, style
        self.rows = 0

    def write(self, rows: Iterable[Row]) -> int:
        s = self.style
        quoting = csv.QUOTE_ALL if s.quote_all else csv.QUOTE_MINIMAL
        with self.path.open("w", encoding=s.encoding, newline="") as handle:
            writer = csv.writer(handle, delimiter=s.delimiter, lineterminator=s.newline, quoting=quoting)
            writer.writerow(s.header(self.columns))
            columns = self.columns
            for row in rows:
                writer.writerow([row.values.get(c, "") for c in columns])
                self.rows += 1
            handle.write(s.newline * s.blank_lines_at_end)
        return self.rows


def flatten(groups: Iterable[list[Row]]) -> Iterator[Row]:
    for group in groups:
        yield from group
