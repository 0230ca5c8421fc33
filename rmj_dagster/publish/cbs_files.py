"""The CBS extract files: one CSV per provider plus a manifest, per half-year, readable by the owner only.

``<export_dir>/cbs/<YYYY>-H<n>/<agb>.csv`` (``;``-separated, UTF-8, header, the columns of ``outputs.md``
without ``period``), written by DuckDB's COPY straight from ``marts.cbs_outcome_extract``, and
``manifest.json`` (period, rows and sha256 per file, produced_at, pipeline_version). The period folder is
built next to its final place and swapped in whole, so a re-run (a CBS correction, §7.6) replaces the
entire period. Folders 0700, files 0600.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from rmj_dagster.intake.landing_zone import sha256_of
from rmj_dagster.publish import replace_directory, sql_path
from rmj_dagster.quality.expectations import CBS_COLUMNS

_PERIOD = re.compile(r"[0-9]{4}-H[12]")
_AGB = re.compile(r"[0-9]{8}")
SPECIFICATION = "CBS informatieprotocol Beleidsinformatie Jeugd v7, section 4 (outcome criteria)"


@dataclass(frozen=True)
class CbsExport:
    period: str
    folder: Path
    manifest_path: Path
    paths: tuple[Path, ...]  # the provider files, by AGB code
    files: dict[str, int]  # file name -> data rows
    total_rows: int


def period_dir(export_dir: Path, period: str) -> Path:
    """``<export_dir>/cbs/<YYYY>-H<n>``."""
    return Path(export_dir) / "cbs" / period


def _providers_in(con: duckdb.DuckDBPyConnection, period: str) -> list[str]:
    """The providers with rows in the period; each must be 8 digits, since a file name is made of it."""
    providers = [
        agb
        for (agb,) in con.execute(
            "select distinct aanbieder_agb from marts.cbs_outcome_extract where period = ? order by 1", [period]
        ).fetchall()
    ]
    bad = [agb for agb in providers if agb is None or not _AGB.fullmatch(agb)]
    if bad:
        raise ValueError(f"{len(bad)} provider code(s) in the {period} extract are not 8 digits")
    return providers


def _write_provider_file(con: duckdb.DuckDBPyConnection, folder: Path, period: str, agb: str) -> dict:
    """One provider's rows as ``<agb>.csv`` (owner-only); returns its manifest entry."""
    path = folder / f"{agb}.csv"
    (rows,) = con.execute(
        f"copy (select {', '.join(CBS_COLUMNS)} from marts.cbs_outcome_extract "
        "where period = $period and aanbieder_agb = $agb "
        "order by try_cast(toewijzingnummer as bigint), toewijzingnummer, datum_aanvang) "
        f"to {sql_path(path)} (format csv, header true, delimiter ';', quote '\"')",
        {"period": period, "agb": agb},
    ).fetchone()
    os.chmod(path, 0o600)
    return {"file": path.name, "aanbieder_agb": agb, "rows": int(rows), "sha256": sha256_of(path)}


def _write_manifest(folder: Path, period: str, entries: list[dict], pipeline_version: str) -> None:
    """``manifest.json``: period, rows and sha256 per file, when and by which version (owner-only)."""
    manifest = {
        "period": period,
        "files": entries,
        "total_rows": sum(e["rows"] for e in entries),
        "produced_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "pipeline_version": pipeline_version,
        "specification": SPECIFICATION,
    }
    fd = os.open(folder / "manifest.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=2)
        handle.write("\n")


def write_cbs_extract(
    con: duckdb.DuckDBPyConnection, period: str, export_dir: Path, pipeline_version: str
) -> CbsExport:
    """Write the period's files from ``marts.cbs_outcome_extract`` and swap the period folder in whole.

    A period without rows gets a folder with only its manifest (an explicit empty delivery).
    """
    if not _PERIOD.fullmatch(period):
        raise ValueError(f"period must look like 2025-H1, not {period!r}")
    providers = _providers_in(con, period)
    target = period_dir(export_dir, period)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(target.parent, 0o700)
    files: dict[str, int] = {}

    def build(folder: Path) -> None:
        entries = [_write_provider_file(con, folder, period, agb) for agb in providers]
        files.update({e["file"]: e["rows"] for e in entries})
        _write_manifest(folder, period, entries, pipeline_version)

    replace_directory(target, build, mode=0o700)
    return CbsExport(
        period=period,
        folder=target,
        manifest_path=target / "manifest.json",
        paths=tuple(target / name for name in files),
        files=dict(files),
        total_rows=sum(files.values()),
    )
