"""Sample deliveries for demos, tests and benchmarks: ``generate_deliveries``.

Realistic and consistent (every questionnaire and goal measurement belongs to a generated trajectory),
reproducible for a seed, and streamed per provider and year so national volumes fit in little memory.
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from rmj_dagster.generate import defects
from rmj_dagster.generate.jw307_writer import jw307_message
from rmj_dagster.generate.population import Trajectory, trajectories_for
from rmj_dagster.generate.styles import Style, style_for
from rmj_dagster.pseudonym import pseudonym

TRAJECTORIES_PER_YEAR_AT_SCALE_1 = 2000
STOP_COLUMNS = ["aanbieder_agb", "bsn", "geboortedatum", "gemeentecode", "toewijzingnummer", "productcategorie",
                "productcode", "begindatum", "einddatum", "reden_beeindiging", "status_aanlevering"]
CEM_COLUMNS = ["aanbieder_agb", "bsn", "geboortedatum", "gemeentecode", "toewijzingnummer", "vragenlijst", "invuldatum",
               *(f"q{i:02d}" for i in range(1, 11)), "geen_inzage_hulpverlener"]
GOAL_COLUMNS = ["aanbieder_agb", "bsn", "gemeentecode", "toewijzingnummer", "trajecttype", "meetdatum", "doel_nr",
                "gas_score", "gewicht", "probleemafname"]
JW307_SENDER = 1  # the provider (by index) whose system sends JW307 messages


@dataclass
class GenerationSummary:
    out_dir: Path
    files: Counter = field(default_factory=Counter)
    rows: Counter = field(default_factory=Counter)
    trajectories: int = 0
    providers: int = 0
    defects: Counter = field(default_factory=Counter)
    quarantine_files: Counter = field(default_factory=Counter)
    truth_path: Path | None = None

    def __str__(self) -> str:
        lines = [
            f"generated into {self.out_dir / 'incoming'}: {sum(self.files.values())} files from {self.providers} providers, "
            f"{self.trajectories} trajectories",
            "  files: " + ", ".join(f"{k} {v}" for k, v in sorted(self.files.items())),
            "  rows: " + ", ".join(f"{k} {v}" for k, v in sorted(self.rows.items())),
        ]
        if self.defects or self.quarantine_files:
            lines.append(f"  planted: {sum(self.defects.values())} bad rows, {sum(self.quarantine_files.values())} bad files (truth: {self.truth_path})")
        return "\n".join(lines)


class _Writer:
    """Writes one provider's files in its style and keeps the truth about them."""

    def __init__(self, incoming: Path, summary: GenerationSummary, truth: dict, today: date):
        self.incoming, self.summary, self.truth, self.today = incoming, summary, truth, today

    def csv(self, name: str, kind: str, style: Style, columns: list[str], rows: list[dict], planted: Counter, received: date) -> None:
        header = style.header(columns) + ([style.extra_column] if style.extra_column else [])
        lines = [style.delimiter.join(header)]
        for row in rows:
            values = [row.get(c, "") for c in columns] + (["zie dossier"] if style.extra_column else [])
            lines.append(style.delimiter.join(values))
        text = style.newline.join(lines) + style.newline + style.newline  # exporters leave a blank line
        self._write(name, text.encode(style.encoding), received)
        self.summary.files[kind] += 1
        self.summary.rows[kind] += len(rows)
        self.summary.defects.update(planted)
        self.truth["files"][name] = {"kind": kind, "outcome": "processed", "rows": len(rows), "defects": dict(planted)}

    def xml(self, name: str, content: bytes, rows: int, received: date) -> None:
        self._write(name, content, received)
        self.summary.files["stopzorg_jw307"] += 1
        self.summary.rows["stopzorg"] += rows
        self.truth["files"][name] = {"kind": "stopzorg", "outcome": "processed", "rows": rows, "defects": {}}

    def bad(self, name: str, content: bytes, reason: str, received: date) -> None:
        self._write(name, content, received)
        self.summary.quarantine_files[reason] += 1
        self.truth["files"][name] = {"kind": None, "outcome": "quarantined", "reason_code": reason, "rows": 0, "defects": {}}

    def _write(self, name: str, content: bytes, received: date) -> None:
        path = self.incoming / name
        path.write_bytes(content)
        moment = datetime.combine(min(received, self.today), datetime.min.time()).timestamp() + 9 * 3600
        os.utime(path, (moment, moment))  # "received at": the delivery date, so later deliveries sort later


def generate_deliveries(
    out_dir: Path,
    *,
    seed: int = 42,
    years: Sequence[int] = (2024, 2025),
    scale: float = 1.0,
    defect_rate: float = 0.0,
    jw307_max_files: int = 40,
    ttp_key: bytes | None = None,
    today: date | None = None,
) -> GenerationSummary:
    """Write sample deliveries into ``out_dir/incoming`` and the truth about them into ``out_dir/generator_truth.json``."""
    today = today or date.today()  # the only place the wall clock enters
    out_dir = Path(out_dir)
    incoming = out_dir / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    summary = GenerationSummary(out_dir=out_dir)
    truth: dict = {"seed": seed, "years": list(years), "scale": scale, "defect_rate": defect_rate, "files": {}}
    writer = _Writer(incoming, summary, truth, today)
    master = random.Random(seed)
    providers = max(6, min(40, round(6 * scale**0.5)))
    summary.providers = providers
    agbs = [f"7{master.randint(1000000, 9999999)}" for _ in range(providers)]
    shares = [master.uniform(0.4, 1.6) for _ in range(providers)]
    total_share = sum(shares)
    jw307_budget = jw307_max_files
    for year in years:
        for index, agb in enumerate(agbs):
            rng = random.Random(f"{seed}-{year}-{index}")
            count = round(TRAJECTORIES_PER_YEAR_AT_SCALE_1 * scale * shares[index] / total_share)
            trajectories = trajectories_for(rng, index, year, count, today)
            summary.trajectories += len(trajectories)
            style = style_for(index)
            identity = "pseudoniem" if ttp_key is not None and index == 2 else "bsn"
            delivered = date(year + 1, 1, 10 + index % 10)
            jw307_budget = _provider_year(writer, rng, agb, index, year, trajectories, style, identity, ttp_key,
                                          defect_rate, jw307_budget, delivered, today)
    if defect_rate > 0:
        rng = random.Random(f"{seed}-bad-files")
        for name, content, reason in defects.bad_files(rng, agbs[0]):
            writer.bad(name, content, reason, date(max(years) + 1, 1, 20))
    truth["totals"] = {
        "rows": dict(summary.rows),
        "defects": dict(summary.defects),
        "quarantined_files": dict(summary.quarantine_files),
    }
    summary.truth_path = out_dir / "generator_truth.json"
    summary.truth_path.write_text(json.dumps(truth, indent=1, sort_keys=True), encoding="utf-8")
    return summary


def _identity(row: dict, youth, style: Style, identity: str, key: bytes | None) -> None:
    if identity == "pseudoniem":
        row["pseudoniem"] = pseudonym(youth.bsn, key)
    else:
        row["bsn"] = youth.bsn.lstrip("0") if style.lost_leading_zeros else youth.bsn


def _gemeente(code: str, style: Style) -> str:
    return f"GM{code}" if style.gm_prefix else code


def _provider_year(writer, rng, agb, index, year, trajectories: list[Trajectory], style, identity, key,
                   defect_rate, jw307_budget, delivered, today) -> int:
    id_columns = lambda columns: [identity if c == "bsn" else c for c in columns]  # noqa: E731
    stop_rows, cem_rows, goal_rows = [], [], []
    jw307_trajectories = []
    for t in trajectories:
        if t.einddatum is not None:
            if index == JW307_SENDER and jw307_budget > 0 and identity == "bsn":
                jw307_trajectories.append(t)
                jw307_budget -= 1
            else:
                row = {"aanbieder_agb": agb, "geboortedatum": style.birth(t.youth.geboortedatum),
                       "gemeentecode": _gemeente(t.gemeentecode, style), "toewijzingnummer": str(t.toewijzingnummer),
                       "productcategorie": t.productcategorie, "productcode": t.productcode,
                       "begindatum": style.day(t.begindatum), "einddatum": style.day(t.einddatum),
                       "reden_beeindiging": t.reden, "status_aanlevering": "1"}
                _identity(row, t.youth, style, identity, key)
                stop_rows.append(row)
        for response in t.responses:
            row = {"aanbieder_agb": agb, "geboortedatum": style.birth(t.youth.geboortedatum),
                   "gemeentecode": _gemeente(t.gemeentecode, style), "toewijzingnummer": str(t.toewijzingnummer),
                   "vragenlijst": response["vragenlijst"], "invuldatum": style.day(response["invuldatum"]),
                   **{f"q{i:02d}": response[f"q{i:02d}"] for i in range(1, 10)},
                   "q10": response["q10"].zfill(2) if style.q10_padded and response["q10"] else response["q10"],
                   "geen_inzage_hulpverlener": style.boolean_words[0 if response["geen_inzage_hulpverlener"] else 1]}
            _identity(row, t.youth, style, identity, key)
            cem_rows.append(row)
        if t.measurement:
            m = t.measurement
            measurement_rows = []
            for number, (score, weight) in enumerate(zip(m["scores"], m["gewichten"]), start=1):
                row = {"aanbieder_agb": agb, "gemeentecode": _gemeente(t.gemeentecode, style),
                       "toewijzingnummer": str(t.toewijzingnummer), "trajecttype": t.trajecttype,
                       "meetdatum": style.day(m["meetdatum"]), "doel_nr": str(number), "gas_score": f"{score:+d}" if score else "0",
                       "gewicht": weight, "probleemafname": m["probleemafname"]}
                _identity(row, t.youth, style, identity, key)
                measurement_rows.append(row)
            goal_rows.append(measurement_rows)

    corrections = _corrections(stop_rows) if index == 0 and len(stop_rows) >= 10 else []  # from clean rows
    planted = {kind: Counter() for kind in ("cem", "stopzorg", "doelen")}
    if defect_rate > 0:
        stop_rows = _plant_rows(stop_rows, "stopzorg", rng, style, defect_rate, planted["stopzorg"], today, identity)
        cem_rows = _plant_rows(cem_rows, "cem", rng, style, defect_rate, planted["cem"], today, identity)
        goal_rows = _plant_measurements(goal_rows, rng, style, defect_rate, planted["doelen"], today, identity)
    flat_goals = [row for measurement in goal_rows for row in measurement]

    name_style = index % 3
    if stop_rows:
        writer.csv(f"stopzorg-{agb}-{year}.csv" if name_style else f"Stop zorg {agb} {year}.CSV", "stopzorg", style,
                   id_columns(STOP_COLUMNS), stop_rows, planted["stopzorg"], delivered)
    if cem_rows:
        writer.csv(f"cem_{agb}_{year}1231.csv" if name_style != 2 else f"Export ({index}) {year}.csv", "cem", style,
                   id_columns(CEM_COLUMNS), cem_rows, planted["cem"], delivered)
    if flat_goals:
        writer.csv(f"doelen_{agb}_{year}.csv", "doelen", style, id_columns(GOAL_COLUMNS), flat_goals, planted["doelen"], delivered)
    for number, t in enumerate(jw307_trajectories, start=1):
        content = jw307_message(
            agb=agb, gemeente=t.gemeentecode, bsn=t.youth.bsn, birth=t.youth.geboortedatum, surname=t.youth.naam,
            initials=t.youth.voorletters, message_id=f"{year}{number:06d}", dagtekening=min(t.einddatum + timedelta(days=5), today),
            products=[{"toewijzingnummer": t.toewijzingnummer, "categorie": t.productcategorie, "code": t.productcode,
                       "begindatum": t.begindatum, "einddatum": t.einddatum, "reden": t.reden}],
            prefix_style=number,
        )
        writer.xml(f"JW307_{agb}_{year}_{number:04d}.xml", content, 1, min(t.einddatum + timedelta(days=5), today))
    if corrections:  # a month after the year's delivery
        writer.csv(f"stopzorg-{agb}-{year}-correctie.csv", "stopzorg", style, id_columns(STOP_COLUMNS), corrections,
                   Counter(), delivered + timedelta(days=30))
    return jw307_budget


def _corrections(stop_rows: list[dict]) -> list[dict]:
    """Records of a later delivery: three changed (status 2, now reden 34), two withdrawn (status 3)."""
    clean = [r for r in stop_rows if r["reden_beeindiging"] == "31"][:5]
    corrections = []
    for number, row in enumerate(clean):
        changed = dict(row)
        if number < 3:
            changed.update(status_aanlevering="2", reden_beeindiging="34")
        else:
            changed.update(status_aanlevering="3")
        corrections.append(changed)
    return corrections


def _plant_rows(rows, kind, rng, style, rate, planted: Counter, today, identity) -> list[dict]:
    result = []
    for row in rows:
        result.append(row)
        if rng.random() >= rate:
            continue
        if rng.random() < 0.15:
            result.append(dict(row))  # an exact copy right after: the copy is the rejected one
            planted["exact_duplicate"] += 1
            continue
        reason = defects.choose(kind, rng)
        if reason.startswith("bsn") and identity != "bsn":
            continue
        defects.plant(row, kind, reason, rng, style, today)
        planted[reason] += 1
    return result


def _plant_measurements(measurements, rng, style, rate, planted: Counter, today, identity) -> list[list[dict]]:
    result = []
    for rows in measurements:
        if rng.random() < rate and len(rows) >= 2 and rng.random() < 0.3:
            rows = [dict(r) for r in rows]
            rows[-1]["probleemafname"] = str(1 + int(rows[0]["probleemafname"]) % 3)
            planted["probleemafname_inconsistent"] += len(rows)
            result.append(rows)
            continue
        result.append(_plant_rows(rows, "doelen", rng, style, rate, planted, today, identity))
    return result
