"""The CBS extract files: one CSV per provider plus a manifest, per half-year, owner-only."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from rmj_dagster.landing import sha256_of
from rmj_dagster.publish.files import replace_directory
from rmj_dagster.validation import CBS_COLUMNS


@dataclass(frozen=True)
class CbsExport:
    period: str
    folder: Path
    files: dict[str, int]  # file name → rows
    manifest_path: Path

    @property
    def total_rows(self) -> int:
        return sum(self.files.values())


def period_dir(export_dir: Path, period: str) -> Path:
    return export_dir / "cbs" / period


def write_cbs_extract(con: duckdb.DuckDBPyConnection, period: str, export_dir: Path, pipeline_version: str) -> CbsExport:
    """Write the period's files from ``marts.cbs_outcome_extract`` (DuckDB's COPY); replace the period whole."""
    providers = [
        agb
        for (agb,) in con.execute(
            "select distinct aanbieder_agb from marts.cbs_outcome_extract where period = ? order by 1", [period]
        ).fetchall()
    ]
    files: dict[str, int] = {}
    target = period_dir(export_dir, period)
    os.makedirs(target.parent, mode=0o700, exist_ok=True)
    os.chmod(target.parent, 0o700)

    def build(folder: Path) -> None:
        entries = []
        for agb in providers:
            path = folder / f"{agb}.csv"
            con.execute(
                f"copy (select {', '.join(CBS_COLUMNS)} from marts.cbs_outcome_extract "
                "where period = $period and aanbieder_agb = $agb order by toewijzingnummer, datum_aanvang) "
                f"to '{path.as_posix()}' (header, delimiter ';', quote '\"')",
                {"period": period, "agb": agb},
            )
            os.chmod(path, 0o600)
            rows = con.execute(
                "select count(*) from marts.cbs_outcome_extract where period = ? and aanbieder_agb = ?", [period, agb]
            ).fetchone()[0]
            files[path.name] = int(rows)
            entries.append({"file": path.name, "aanbieder_agb": agb, "rows": int(rows), "sha256": sha256_of(path)})
        manifest = {
            "period": period,
            "files": entries,
            "total_rows": sum(e["rows"] for e in entries),
            "produced_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "pipeline_version": pipeline_version,
            "specification": "CBS informatieprotocol Beleidsinformatie Jeugd v7, section 4 (outcome criteria)",
        }
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        os.chmod(folder / "manifest.json", 0o600)

    replace_directory(target, build)
    return CbsExport(period=period, folder=target, files=files, manifest_path=target / "manifest.json")
