"""Sample deliveries for demos, tests and benchmarks: ``generate_deliveries``.

Realistic (provider habits, shares of endings, answers that follow how care ended), consistent (every
questionnaire and goal measurement belongs to a generated trajectory), reproducible (the same seed,
arguments and ``today`` give the same bytes) and streamed per provider and year, so national volumes fit in
little memory. Varied as real deliveries are: each municipality's own toewijzingnummer scheme, JW307 stop
messages with several products of one client, JW305 starts of long-term care. With ``defect_rate`` it plants
bad rows and bad files and says exactly what it planted in ``generator_truth.json``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path

from rmj_dagster.generate.bad_files import XML_BAD_FILES, Sample, bad_files
from rmj_dagster.generate.deliveries import ProviderPlan, YearContext, write_provider_year
from rmj_dagster.generate.ijw_writer import SENDER_HABITS
from rmj_dagster.generate.population import Municipalities, ProviderProfile, ProviderSimulation, YouthFactory
from rmj_dagster.generate.responses import add_outcomes
from rmj_dagster.generate.styles import STYLES, style_for
from rmj_dagster.generate.truth import TRUTH_FILE, DeliveryLedger, GenerationSummary

__all__ = ["GenerationSummary", "generate_deliveries"]

ENDED_PER_YEAR_AT_SCALE_1 = 2000  # the region: about 2,000 ended trajectories a year
PROVIDERS_AT_SCALE_1 = 6
MAX_PROVIDERS = 40  # national size
JW307_SENDERS = (1, 4)  # provider indexes whose systems send JW307 messages
TTP_PROVIDER = 2  # with a TTP key, this provider's CSVs carry pseudoniem instead of bsn
DAYS_BEFORE_TODAY = 3  # the most recent day any generated event may fall on: today minus this


def generate_deliveries(
    out_dir: Path,
    *,
    seed: int = 42,
    years: Sequence[int] = (2024, 2025),
    scale: float = 1.0,
    defect_rate: float = 0.0,
    jw307_max_files: int = 40,
    jw305_max_files: int = 40,
    ttp_key: bytes | None = None,
    today: date | None = None,
    varied_numbering: bool = True,
    monthly: bool = False,
    on_progress: Callable[[int, int, int], None] | None = None,
) -> GenerationSummary:
    """Write sample deliveries into ``out_dir/incoming`` and the truth about them into ``out_dir/generator_truth.json``.

    ``scale`` 1.0 is the region (~2,000 ended trajectories a year, 6 providers), ~225 national (40 providers).
    ``today`` is the only link to the wall clock: no generated date lies after it.
    ``jw307_max_files`` and ``jw305_max_files`` cap the iJw messages (one file per client each).
    ``varied_numbering`` gives each municipality its own toewijzingnummer scheme (``generate.numbering``:
    year-prefixed, 9-digit, leading zeros, short); off, every provider numbers in one 6-8 digit sequence.
    ``monthly``: one file per kind per month, received the next month, as agreed with the providers (one of
    them sends a month's goals late). ``on_progress(providers done, providers, rows written)`` is called after
    each provider.
    """
    today = today or date.today()
    years = _checked(years, scale, defect_rate, today)
    out_dir = Path(out_dir)
    incoming = out_dir / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    summary = GenerationSummary(out_dir=out_dir, truth_path=out_dir / TRUTH_FILE, years=years)
    settings = {"seed": seed, "years": list(years), "scale": scale, "defect_rate": defect_rate,
                "jw307_max_files": jw307_max_files, "jw305_max_files": jw305_max_files, "ttp": ttp_key is not None,
                "today": today.isoformat(), "varied_numbering": varied_numbering}
    if monthly:
        settings["monthly"] = True
    ledger = DeliveryLedger(incoming, summary, settings)
    plans = plan_providers(seed, scale, with_ttp=ttp_key is not None)
    summary.providers = len(plans)
    # planted bad messages count against the caps too
    bad_xml = {kind: min(cap, XML_BAD_FILES[kind]) if defect_rate > 0 else 0
               for kind, cap in (("stop_zorg", jw307_max_files), ("start_zorg", jw305_max_files))}
    slots = _message_slots(plans, years, jw307_max_files - bad_xml["stop_zorg"])
    start_slots = _message_slots(plans, years, jw305_max_files - bad_xml["start_zorg"])
    for plan in plans:
        simulation = ProviderSimulation(plan.profile, seed, varied_numbering=varied_numbering)
        for year in years:
            last_day = min(date(year, 12, 31), today - timedelta(days=DAYS_BEFORE_TODAY))
            rng = random.Random(f"{seed}:{plan.agb}:{year}:care")
            trajectories = list(simulation.year(rng, year, last_day))
            for t in trajectories:
                add_outcomes(rng, t, plan.profile, last_day, plan.style.weight_habit)
            summary.trajectories += len(trajectories)
            summary.ended_trajectories += sum(t.einddatum is not None for t in trajectories)
            key = (plan.profile.index, year)
            ctx = YearContext(year, last_day, today, defect_rate, slots.get(key, 0), start_slots.get(key, 0), ttp_key, seed, monthly=monthly)
            write_provider_year(plan, ctx, trajectories, ledger)
        ledger.providers.append(_describe(plan))
        if on_progress is not None:  # providers done, providers, rows written so far
            on_progress(len(ledger.providers), len(plans), sum(summary.rows.values()))
    if defect_rate > 0:
        _write_bad_files(ledger, plans[0], seed, max(years), today, bad_xml)
    ledger.write_truth()
    return summary


def _checked(years: Sequence[int], scale: float, defect_rate: float, today: date) -> tuple[int, ...]:
    chosen = tuple(sorted(set(years)))
    if not chosen:
        raise ValueError("generate at least one year")
    if chosen[-1] > today.year or date(chosen[-1], 1, 1) + timedelta(days=DAYS_BEFORE_TODAY) > today:
        raise ValueError(f"cannot generate {chosen[-1]}: care in it would lie after today ({today})")
    if not scale > 0:
        raise ValueError("scale must be positive")
    if not 0 <= defect_rate < 0.5:
        raise ValueError("defect_rate must be at least 0 and below 0.5")
    return chosen


def plan_providers(seed: int, scale: float, *, with_ttp: bool) -> list[ProviderPlan]:
    """Providers (fictitious 8-digit AGB codes starting with 7), their sizes, client mix and export habits."""
    rng = random.Random(f"{seed}:providers")
    count = min(MAX_PROVIDERS, max(PROVIDERS_AT_SCALE_1, round(PROVIDERS_AT_SCALE_1 * math.sqrt(scale))))
    agbs: list[str] = []
    while len(agbs) < count:
        agb = f"7{rng.randint(1_000_000, 9_999_999)}"
        if agb not in agbs:
            agbs.append(agb)
    sizes = [rng.lognormvariate(0, 0.55) for _ in agbs]
    total = sum(sizes)
    plans = []
    for index, agb in enumerate(agbs):
        amsterdam_lean = rng.lognormvariate(0, 0.5)
        profile = ProviderProfile(
            index=index,
            agb=agb,
            ended_per_year=ENDED_PER_YEAR_AT_SCALE_1 * scale * sizes[index] / total,
            long_term_tilt=rng.uniform(0.3, 2.0),
            response_propensity=rng.uniform(0.7, 1.25),
            measurement_propensity=rng.uniform(0.85, 1.1),
            municipalities=Municipalities.from_codebook({"AA": amsterdam_lean, "ZW": 1 / amsterdam_lean}),
        )
        sender = JW307_SENDERS.index(index) if index in JW307_SENDERS else None
        plans.append(ProviderPlan(
            profile=profile,
            style=style_for(index),
            identity="pseudoniem" if with_ttp and index == TTP_PROVIDER else "bsn",
            ijw=SENDER_HABITS[sender % len(SENDER_HABITS)] if sender is not None else None,
            corrections=index % 3 == 0,
            naming=index // len(STYLES) + index,
        ))
    return plans


def _message_slots(plans: list[ProviderPlan], years: tuple[int, ...], max_files: int) -> dict[tuple[int, int], int]:
    """An iJw message budget, shared evenly over the senders' years (earliest first for the remainder)."""
    keys = [(p.profile.index, year) for year in years for p in plans if p.ijw is not None and p.identity == "bsn"]
    if not keys or max_files <= 0:
        return {}
    share, remainder = divmod(max_files, len(keys))
    return {key: share + (number < remainder) for number, key in enumerate(keys)}


def _describe(plan: ProviderPlan) -> dict:
    s = plan.style
    return {"agb": plan.agb, "style": s.name, "identity": plan.identity, "jw307": plan.ijw is not None, "jw305": plan.ijw is not None,
            "corrections": plan.corrections, "encoding": s.encoding, "delimiter": s.delimiter, "date_format": s.date_format,
            "extra_columns": dict(s.extra_columns)}


def _write_bad_files(ledger: DeliveryLedger, plan: ProviderPlan, seed: int, year: int, today: date,
                     xml_allowed: dict[str, int]) -> None:
    rng = random.Random(f"{seed}:bad-files")
    day = min(date(year, 12, 1), today - timedelta(days=DAYS_BEFORE_TODAY))
    youths = YouthFactory(seed, MAX_PROVIDERS, plan.profile.municipalities)  # serials no provider uses
    youth = youths.make(rng, day - timedelta(days=rng.randint(4000, 5000)))
    received = min(date(year + 1, 1, 20), today - timedelta(days=2))
    files = bad_files(Sample(plan.agb, youth, day))
    xml = [bad for kind, allowed in xml_allowed.items() for bad in [b for b in files if b.name.endswith(".xml") and b.kind == kind][:allowed]]
    for bad in (bad for bad in files if not bad.name.endswith(".xml") or bad in xml):
        ledger.path(bad.name).write_bytes(bad.content)
        ledger.quarantined(bad.name, bad.kind, bad.reason, bad.rows, received)
