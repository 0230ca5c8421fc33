"""The generator's ledger: every file it wrote, what the pipeline should make of it, and the summary.

The truth file (``generator_truth.json``, next to ``incoming/``, never inside it) lets tests hold the pipeline
to exact figures: per file its kind, expected outcome, quarantine reason, rows and planted row defects. It
holds no identifier.
"""

from __future__ import annotations

import calendar
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

TRUTH_FILE = "generator_truth.json"
DELIVERY_HOUR = time(9, 0)


@dataclass
class GenerationSummary:
    """What ``generate_deliveries`` wrote: files and rows per kind, trajectories, planted defects."""

    out_dir: Path
    truth_path: Path
    providers: int = 0
    years: tuple[int, ...] = ()
    trajectories: int = 0  # trajectory-years: ended ones plus long-term ones with a yearly moment
    ended_trajectories: int = 0
    files: Counter = field(default_factory=Counter)  # responses, stop_zorg, stop_zorg_jw307, start_zorg_jw305, goals, quarantine
    rows: Counter = field(default_factory=Counter)  # rows per kind in files that should be processed
    defects: Counter = field(default_factory=Counter)  # planted bad rows per reject reason code
    quarantined: Counter = field(default_factory=Counter)  # planted bad files per quarantine reason code

    def __str__(self) -> str:
        f, r = self.files, self.rows
        lines = [
            (f"generated {sum(f.values())} files into {self.out_dir / 'incoming'}: {self.providers} providers, "
             f"years {', '.join(map(str, self.years))}, {self.ended_trajectories:,} ended trajectories "
             f"({self.trajectories:,} trajectory-years)"),
            f"  responses (CEM+):         {f['responses']} files, {r['responses']:,} rows",
            f"  stop_zorg (JW307 / CSV):  {f['stop_zorg']} CSV files + {f['stop_zorg_jw307']} JW307 messages, {r['stop_zorg']:,} records",
            f"  goals (doelrealisatie):   {f['goals']} files, {r['goals']:,} rows",
            f"  start_zorg (JW305):       {f['start_zorg_jw305']} JW305 messages, {r['start_zorg']:,} starts of long-term care",
        ]
        if self.defects or self.quarantined:
            planted = ", ".join(f"{reason} {n}" for reason, n in sorted(self.defects.items()))
            lines.append(f"  planted:                  {sum(self.defects.values()):,} bad rows ({planted or 'none'})")
            lines.append(f"                            {sum(self.quarantined.values())} bad files ({', '.join(sorted(self.quarantined))})")
        lines.append(f"  truth:                    {self.truth_path}")
        return "\n".join(lines)


class DeliveryLedger:
    """Registers each written delivery, dates it (mtime = day received: later deliveries sort later)."""

    def __init__(self, incoming: Path, summary: GenerationSummary, settings: dict):
        self.incoming = incoming
        self.summary = summary
        self.settings = settings
        self.files: dict[str, dict] = {}
        self.providers: list[dict] = []
        self.late: list[dict] = []  # files sent after the agreed month (monthly cadence)
        self._export_numbers = 0

    def path(self, name: str) -> Path:
        if name in self.files:
            raise ValueError(f"the generator named two deliveries {name!r}")
        return self.incoming / name

    def export_name(self) -> str:
        """The name a browser gives a downloaded export: ``Export (3).CSV``."""
        self._export_numbers += 1
        return f"Export ({self._export_numbers}).CSV"

    def processed(self, name: str, kind: str, source_format: str, rows: int, defects: Counter, received: date) -> None:
        self._stamp(name, received)
        self.files[name] = {"kind": kind, "format": source_format, "outcome": "processed", "reason_code": None,
                            "rows": rows, "defects": dict(sorted(defects.items())), "received": received.isoformat()}
        self.summary.files[kind if source_format == "csv" else f"{kind}_{source_format}"] += 1
        self.summary.rows[kind] += rows
        self.summary.defects.update(defects)

    def quarantined(self, name: str, kind: str | None, reason: str, rows: int, received: date) -> None:
        self._stamp(name, received)
        self.files[name] = {"kind": kind, "format": None, "outcome": "quarantined", "reason_code": reason,
                            "rows": rows, "defects": {}, "received": received.isoformat()}
        self.summary.files["quarantine"] += 1
        self.summary.quarantined[reason] += 1

    def _stamp(self, name: str, received: date) -> None:
        moment = calendar.timegm(datetime.combine(received, DELIVERY_HOUR).timetuple())
        os.utime(self.incoming / name, (moment, moment))

    def write_truth(self) -> Path:
        s = self.summary
        by_kind: dict[str, Counter] = {}
        for entry in self.files.values():
            if entry["outcome"] == "processed":
                by_kind.setdefault(entry["kind"], Counter()).update(entry["defects"])
        truth = {
            "generator": self.settings,
            "providers": self.providers,
            "late_deliveries": self.late,
            "files": dict(sorted(self.files.items())),
            "totals": {
                "files": dict(Counter(e["outcome"] for e in self.files.values())),
                "rows": dict(sorted(s.rows.items())),
                "rejected_rows": {kind: sum(c.values()) for kind, c in sorted(by_kind.items())},
                "defects": dict(sorted(s.defects.items())),
                "defects_by_kind": {kind: dict(sorted(c.items())) for kind, c in sorted(by_kind.items())},
                "quarantined_files": dict(sorted(s.quarantined.items())),
                "trajectories": s.trajectories,
                "ended_trajectories": s.ended_trajectories,
            },
        }
        s.truth_path.write_text(json.dumps(truth, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        return s.truth_path


def replay_arrivals(out_dir: Path) -> int:
    """Tell the landing zone each generated file arrived on the day the truth file says it was received
    (at ``DELIVERY_HOUR``), as if the pipeline had watched the landing zone all along; returns how many."""
    from rmj_dagster.intake.landing_zone import LandingZone

    files = json.loads((Path(out_dir) / TRUTH_FILE).read_text(encoding="utf-8"))["files"]
    received = {name: datetime.combine(date.fromisoformat(f["received"]), DELIVERY_HOUR) for name, f in files.items()}
    LandingZone(out_dir).replay_arrivals(received)
    return len(received)
