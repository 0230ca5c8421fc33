"""The CBS extract files: one CSV per provider plus a manifest, per half-year, readable by the owner only.

``<export_dir>/cbs/<YYYY>-H<n>/<agb>.csv`` (``;``-separated, UTF-8, header, the columns of ``outputs.md``
without ``period``), written by DuckDB's COPY straight from ``marts.cbs_outcome_extract``, and
``manifest.json`` (period, version, correction, rows and sha256 per file, produced_at, data_cutoff, changes per
provider file, pipeline_version). Kept by version (``rmj_dagster.publish.versions``): a re-make with other
records is the next version, a correction that replaces the entire period (§7.6), built next to its final
place and swapped in whole; earlier versions stay read-only in ``versions/<n>/``. Folders 0700, files 0600.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from rmj_dagster.intake.landing_zone import sha256_of
from rmj_dagster.publish import changes as changes_of
from rmj_dagster.publish import sql_path, versions
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
    version: int
    correction: bool  # a version after the first: replaces the whole period as sent
    changed_records: int  # records added, removed or changed against the previous version
    written: bool  # False: the records equal the current version's, nothing was written


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


def write_cbs_extract(
    con: duckdb.DuckDBPyConnection, period: str, export_dir: Path, pipeline_version: str
) -> CbsExport:
    """Write the period's files from ``marts.cbs_outcome_extract`` as its next version, or nothing.

    When the provider files equal the current version's (same names, same sha256) nothing is written.
    Otherwise the period is built whole and swapped in (``versions.publish``); a version after the first
    is a correction, which replaces the whole period (CBS informatieprotocol §7.6). A period without rows
    gets a folder with only its manifest (an explicit empty delivery).
    """
    if not _PERIOD.fullmatch(period):
        raise ValueError(f"period must look like 2025-H1, not {period!r}")
    providers = _providers_in(con, period)
    target = period_dir(export_dir, period)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(target.parent, 0o700)
    current = versions.read_manifest(target)

    def build(folder: Path) -> bool:
        entries = [_write_provider_file(con, folder, period, agb) for agb in providers]
        if current is not None and _published(entries) == _published(current["files"]):
            return False
        version = versions.version_of(current) + 1
        changes = (changes_of.cbs_changes(con, [target / e["file"] for e in current["files"]],
                                          [folder / e["file"] for e in entries]) if current else [])
        versions.write_manifest(folder, {
            "period": period,
            "version": version,
            "correction": version > 1,
            **({"corrects_version": version - 1,
                "replaces": f"the whole period {period} as sent in version {version - 1} (informatieprotocol §7.6)"}
               if version > 1 else {}),
            "produced_at": versions.stamp(versions.now()),
            "data_cutoff": versions.stamp(versions.data_cutoff(con)),
            "files": entries,
            "total_rows": sum(e["rows"] for e in entries),
            "changes": changes,
            "pipeline_version": pipeline_version,
            "specification": SPECIFICATION,
        }, mode=0o600)
        return True

    written = versions.publish(target, build, mode=0o700)
    manifest = versions.read_manifest(target)
    files = {e["file"]: e["rows"] for e in manifest["files"]}
    return CbsExport(
        period=period,
        folder=target,
        manifest_path=target / versions.MANIFEST,
        paths=tuple(target / name for name in files),
        files=files,
        total_rows=sum(files.values()),
        version=versions.version_of(manifest),
        correction=versions.version_of(manifest) > 1,
        changed_records=sum(c["rows_added"] + c["rows_removed"] + c["rows_changed"] for c in manifest.get("changes", [])),
        written=written,
    )


def _published(entries: list[dict]) -> list[tuple[str, str]]:
    """What a CBS version publishes: its provider files by name and content."""
    return sorted((e["file"], e["sha256"]) for e in entries)
