"""One provider's deliveries for one year: stop-zorg (CSV and/or JW307), JW305 starts, CEM+, doelrealisatie, corrections.

Written as soon as the year is simulated, so only one provider-year is ever in memory. Corrections
(status_aanlevering 2 and 3) arrive in later files than the records they change, and those records are kept
free of planted defects so that every correction has something to correct.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import groupby

from rmj_dagster.generate.csv_writers import CsvFile, Exporter, Row
from rmj_dagster.generate.defects import DefectPlanter, Setting
from rmj_dagster.generate.ijw_writer import SenderHabit, StartProduct, StopProduct, jw305_message, jw307_message
from rmj_dagster.generate.population import ProviderProfile, Trajectory, Youth
from rmj_dagster.generate.styles import Style
from rmj_dagster.generate.truth import DeliveryLedger
from rmj_dagster.ttp.pseudonym import pseudonym

CORRECTION_SHARE = 0.015  # of a correcting provider's stop records, changed or withdrawn a month later
MIN_CORRECTIONS = 3
JW307_CORRECTION_SLOTS = 2  # a changed and a withdrawn record, as two later messages
LATE_PROVIDER = 3  # in the monthly cadence, this provider sends one month's goals a month late
CORRECTED_REDEN = {"31": "34", "34": "31", "32": "34", "33": "32", "35": "31", "39": "31"}
"""A plausible change of the reason of ending on a status-2 record; other codes become 31."""


@dataclass(frozen=True)
class ProviderPlan:
    """A provider and its delivery habits."""

    profile: ProviderProfile
    style: Style
    identity: str  # bsn, or pseudoniem when it delivers through the TTP
    ijw: SenderHabit | None  # sends iJw messages: JW305 starts and JW307 stops (as far as the budgets allow)
    corrections: bool  # sends status 2/3 corrections in a later CSV
    naming: int

    @property
    def agb(self) -> str:
        return self.profile.agb


@dataclass
class YearContext:
    year: int
    last_day: date  # the last day care events may fall on (capped before today)
    today: date
    defect_rate: float
    jw307_slots: int
    jw305_slots: int
    ttp_key: bytes | None
    seed: int
    monthly: bool = False  # one file per kind per month (as agreed, seeds/002_*) instead of one per year


def write_provider_year(plan: ProviderPlan, ctx: YearContext, trajectories: list[Trajectory], ledger: DeliveryLedger) -> int:
    """Write the year's files; returns the iJw messages written."""
    agb, year = plan.agb, ctx.year
    rngs = {purpose: random.Random(f"{ctx.seed}:{agb}:{year}:{purpose}") for purpose in ("render", "split", "defects", "starts")}
    if plan.identity == "pseudoniem":
        for t in trajectories:
            if t.youth.pseudonym is None:
                t.youth.pseudonym = pseudonym(t.youth.bsn, ctx.ttp_key)
    exporter = Exporter(agb, plan.style, plan.identity, rngs["render"])
    planter = DefectPlanter(ctx.defect_rate, Setting(plan.style, plan.identity, ctx.today), rngs["defects"])
    received = min(date(year + 1, 1, 8 + plan.profile.index % 20), ctx.today - timedelta(days=2))

    ended = sorted((t for t in trajectories if t.einddatum is not None), key=lambda t: (t.einddatum, t.toewijzingnummer))
    messages, in_csv = _jw307_messages(plan, ctx, ended, ledger, rngs["split"])
    messages += _jw305_messages(plan, ctx, trajectories, ledger, rngs["starts"])
    corrections = _choose_corrections(in_csv, rngs["split"]) if plan.corrections else []
    corrected = {id(t) for t, _, _ in corrections}

    responses = sorted(((t, r) for t in trajectories for r in t.responses), key=lambda p: (p[1].invuldatum, p[0].toewijzingnummer))
    measurements = sorted(((t, m) for t in trajectories for m in t.measurements), key=lambda p: (p[1].meetdatum, p[0].toewijzingnummer))
    streams = (
        ("stop_zorg", in_csv, lambda t: t.einddatum, lambda items: planter.rows(stop_rows(items))),
        ("responses", responses, lambda p: p[1].invuldatum, lambda items: planter.rows(exporter.cem_row(t, r) for t, r in items)),
        ("goals", measurements, lambda p: p[1].meetdatum, lambda items: planter.measurements(exporter.goal_rows(t, m) for t, m in items)),
    )

    def stop_rows(items: Iterable[Trajectory]) -> Iterator[Row]:
        for t in items:
            row = exporter.stop_row(t)
            row.protected = id(t) in corrected
            yield row

    if ctx.monthly:
        received = _write_monthly(plan, ctx, ledger, exporter, planter, streams, rngs["split"])
    else:
        for what, items, _, render in streams:
            _write_csv(ledger, _name(plan, ledger, what, str(year), received), what, exporter, planter, render(items), received)
    if corrections:
        later = min(received + timedelta(days=rngs["split"].randint(25, 45)), ctx.today - timedelta(days=1))
        rows = (exporter.stop_row(t, status=status, einddatum=einde, reden=reden) for t, status, (einde, reden) in corrections)
        client = corrections[0][0].youth
        _write_csv(ledger, _name(plan, ledger, "correctie", str(year), later, client), "stop_zorg", exporter, None, rows, later)
    return messages


def _write_monthly(plan: ProviderPlan, ctx: YearContext, ledger: DeliveryLedger, exporter: Exporter,
                   planter: DefectPlanter, streams, rng: random.Random) -> date:
    """One file per kind per month with events, received in the next month; returns the last day received.

    The late provider sends one month's goals together with the next month's (or a month later when it is the
    last month), so the delivery monitor has a real late month to find; the ledger records which.
    """
    last = date(ctx.year, 1, 1)
    late_month = rng.randint(2, 10) if plan.profile.index == LATE_PROVIDER else None
    for what, items, day_of, render in streams:
        for (year, month), group in groupby(items, key=lambda item: (day_of(item).year, day_of(item).month)):
            received = _monthly_receipt(plan, ctx, year, month + (what == "goals" and month == late_month))
            name = _name(plan, ledger, what, f"{year}{month:02d}", received)
            _write_csv(ledger, name, what, exporter, planter, render(list(group)), received)
            if what == "goals" and month == late_month:
                ledger.late.append({"agb": plan.agb, "kind": what, "month": f"{year}-{month:02d}",
                                    "received": received.isoformat()})
            last = max(last, received)
    return last


def _monthly_receipt(plan: ProviderPlan, ctx: YearContext, year: int, month: int) -> date:
    """The day a month's file arrives: on the provider's own day of the next month, never after today - 2."""
    year, month = year + month // 12, month % 12 + 1
    return min(date(year, month, 8 + plan.profile.index % 20), ctx.today - timedelta(days=2))


def _write_csv(ledger: DeliveryLedger, name: str, kind: str, exporter: Exporter, planter: DefectPlanter | None,
               rows: Iterator[Row], received: date) -> None:
    before = Counter(planter.planted) if planter else Counter()
    file = CsvFile(ledger.path(name), exporter.columns(kind), exporter.style)
    written = file.write(rows)
    if written == 0:
        file.path.unlink()  # nothing to report: no delivery
        if planter:
            planter.planted = before
        return
    planted = Counter(planter.planted) - before if planter else Counter()
    ledger.processed(name, kind, "csv", written, planted, received)


def client_name(youth: Youth, habit: int, extension: str) -> str:
    """A per-client file name as providers' systems write them: surname, BSN and birth date (delivery
    contract: "File names are data too"); the pipeline must store it only with those replaced."""
    surname = f"{youth.prefix} {youth.surname}".strip()
    styles = (
        f"{youth.surname}_{youth.bsn}_{youth.birth:%Y-%m-%d}",
        f"{youth.bsn} {surname} {youth.birth:%d-%m-%Y}",
        f"{surname.replace(' ', '')}{youth.birth:%Y%m%d}_{youth.bsn}",
    )
    return f"{styles[habit % len(styles)]}.{extension}"


def _unused(ledger: DeliveryLedger, name: str) -> str:
    """``name``, or ``name (2)``… when the ledger has it already (a second message for one client)."""
    stem, _, extension = name.rpartition(".")
    number, candidate = 1, name
    while candidate in ledger.files:
        number += 1
        candidate = f"{stem} ({number}).{extension}"
    return candidate


def _name(plan: ProviderPlan, ledger: DeliveryLedger, what: str, year: int | str, received: date,
          client: Youth | None = None) -> str:
    agb, habit = plan.agb, plan.naming % 3
    if what == "responses" and habit == 1:
        return ledger.export_name()
    if what == "correctie" and habit == 1 and client is not None:  # saved under the first client's name
        return _unused(ledger, client_name(client, plan.naming, "csv"))
    names = {
        "stop_zorg": (f"stopzorg-{agb}-{year}.csv", f"Stop zorg {agb} {year}.CSV", f"JW307-export_{agb}_{year}.csv"),
        "responses": (f"cem_{agb}_{received:%Y%m%d}.csv", "", f"CEM+ {year} {agb}.csv"),
        "goals": (f"doelen_{agb}_{year}.csv", f"Doelrealisatie {year} - {agb}.csv", f"GAS_{agb}_{year}12.csv"),
        "correctie": (f"stopzorg-{agb}-{year}-correctie.csv", f"Stop zorg {agb} {year} (correctie).CSV",
                      f"JW307-export_{agb}_{year}_herzien.csv"),
    }
    return names[what][habit]


def _choose_corrections(ended: list[Trajectory], rng: random.Random) -> list[tuple[Trajectory, str, tuple[date, str]]]:
    """Status 2 (changed einddatum and/or reden) for some records, status 3 for some without outcomes."""
    if len(ended) < 4 * MIN_CORRECTIONS:
        return []
    count = max(MIN_CORRECTIONS, round(len(ended) * CORRECTION_SHARE))
    chosen = sorted(rng.sample(range(len(ended)), count))
    result = []
    for number, index in enumerate(chosen):
        t = ended[index]
        if number % 3 == 2 and not t.responses and not t.measurements:
            result.append((t, "3", (t.einddatum, t.reden)))
        else:
            result.append((t, "2", _changed(t, rng)))
    return result


def _changed(t: Trajectory, rng: random.Random) -> tuple[date, str]:
    """A later, corrected end: another reason, or the same reason with an earlier end date."""
    if rng.random() < 0.5:
        return t.einddatum, CORRECTED_REDEN.get(t.reden, "31")
    earlier = max(t.einddatum - timedelta(days=rng.randint(3, 40)), t.begindatum + timedelta(days=1), date(t.einddatum.year, 1, 1))
    return earlier, t.reden


def _jw307_messages(plan: ProviderPlan, ctx: YearContext, ended: list[Trajectory], ledger: DeliveryLedger,
                    rng: random.Random) -> tuple[int, list[Trajectory]]:
    """Send clients of the year as JW307 messages (one client each, with all their products; clients with several
    products first, so multi-product messages are written whenever there are any); the rest goes into the CSV."""
    if plan.ijw is None or ctx.jw307_slots <= 0 or plan.identity != "bsn":
        return 0, ended
    by_youth: dict[str, list[Trajectory]] = {}
    for t in ended:
        by_youth.setdefault(t.youth.bsn, []).append(t)
    reserve = JW307_CORRECTION_SLOTS if ctx.jw307_slots >= 3 * JW307_CORRECTION_SLOTS and len(by_youth) > 2 else 0
    clients = sorted(by_youth.values(), key=lambda group: len(group) == 1)[: ctx.jw307_slots - reserve]  # stable
    sent: list[tuple[list[Trajectory], date]] = []
    number = 0
    for group in clients:
        number += 1
        day = min(max(t.einddatum for t in group) + timedelta(days=rng.randint(1, 10)), ctx.today - timedelta(days=2))
        _write_message(plan, ctx, ledger, number, group, [_product(t) for t in group], day)
        sent.append((group, day))
    if reserve and len(sent) >= 2:
        for status, (group, day) in zip(("2", "3"), sent[:2], strict=True):
            number += 1
            t = group[0]
            einde, reden = _changed(t, rng) if status == "2" else (t.einddatum, t.reden)
            later = min(day + timedelta(days=rng.randint(20, 60)), ctx.today - timedelta(days=1))
            _write_message(plan, ctx, ledger, number, [t], [_product(t, status, einde, reden)], later)
    in_messages = {id(t) for group in clients for t in group}
    return number, [t for t in ended if id(t) not in in_messages]


def _product(t: Trajectory, status: str = "1", einddatum: date | None = None, reden: str | None = None) -> StopProduct:
    return StopProduct(t.toewijzingnummer, t.productcategorie, t.productcode, t.begindatum,
                       einddatum or t.einddatum, reden or t.reden, status)


def _write_message(plan: ProviderPlan, ctx: YearContext, ledger: DeliveryLedger, number: int,
                   group: list[Trajectory], products: list[StopProduct], day: date) -> None:
    youth = group[0].youth
    gemeente = youth.gemeente_on(max(p.einddatum for p in products))
    message_id = f"{plan.agb[-4:]}{ctx.year % 100:02d}{number:06d}"
    content = jw307_message(agb=plan.agb, gemeente=gemeente, youth=youth, message_id=message_id, dagtekening=day,
                            products=products, habit=plan.ijw)
    # one client per message: some systems name the file after the client (surname, BSN, birth date)
    habit = plan.naming % 3
    name = (f"JW307_{plan.agb}_{ctx.year}_{number:04d}.xml" if habit == 0
            else _unused(ledger, client_name(youth, plan.naming + number, "xml")))
    ledger.path(name).write_bytes(content)
    ledger.processed(name, "stop_zorg", "jw307", len(products), Counter(), day)


def _jw305_messages(plan: ProviderPlan, ctx: YearContext, trajectories: list[Trajectory], ledger: DeliveryLedger,
                    rng: random.Random) -> int:
    """JW305 start messages for long-term trajectories not reported before, dated just after their begin date.

    Those with a yearly questionnaire this year come first: the CBS extract needs their begin date. The rest
    (beyond the budget, or at providers that send no iJw messages) stay known only from a stop record, if any.
    """
    if plan.ijw is None or ctx.jw305_slots <= 0 or plan.identity != "bsn":
        return 0
    candidates = [t for t in trajectories if t.trajecttype == "DUURZAAM" and not t.start_reported]
    candidates.sort(key=lambda t: (not any(r.vragenlijst.endswith("_DUURZAAM") for r in t.responses), t.begindatum))
    for number, t in enumerate(candidates[: ctx.jw305_slots], start=1):
        day = min(t.begindatum + timedelta(days=rng.randint(1, 10)), ctx.today - timedelta(days=2))
        product = StartProduct(t.toewijzingnummer, t.productcategorie, t.productcode, t.begindatum)
        content = jw305_message(agb=plan.agb, gemeente=t.youth.gemeente_on(t.begindatum), youth=t.youth,
                                message_id=f"S{plan.agb[-4:]}{ctx.year % 100:02d}{number:05d}", dagtekening=day,
                                products=[product], habit=plan.ijw)
        name = f"JW305_{plan.agb}_{ctx.year}_{number:04d}.xml"
        ledger.path(name).write_bytes(content)
        ledger.processed(name, "start_zorg", "jw305", 1, Counter(), day)
        t.start_reported = True
    return min(len(candidates), ctx.jw305_slots)
