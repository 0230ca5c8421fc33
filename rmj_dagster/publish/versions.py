"""Publications kept by version: ``manifest.json`` of a publication folder and its earlier versions.

A publication folder (``cbs/<YYYY-Hn>/``, ``ceo/<YYYY>/``) holds the current version's files, its
``manifest.json`` (``version``, ``produced_at``, ``data_cutoff``, every file with its sha256, ``changes``)
and ``versions/<n>/``: every earlier version, byte for byte (hard links of the files it published, read-only,
in read-only folders). A new version is built whole in a temporary sibling, the current one linked into
its ``versions/<n>/``, and swapped in with one rename (``replace_directory``): a kill at any moment leaves
version n as it was. Whether a re-make is a new version is decided by the writer on the published content.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from rmj_dagster import warehouse
from rmj_dagster.intake.landing_zone import sha256_of
from rmj_dagster.publish import remove_tree, replace_directory

MANIFEST = "manifest.json"
VERSIONS = "versions"


def read_manifest(folder: Path) -> dict | None:
    """The current version's manifest; None when the folder holds no publication (or one made before versions)."""
    path = Path(folder) / MANIFEST
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def version_of(manifest: dict | None) -> int:
    """The version a manifest describes: 0 for none; a manifest from before versions counts as version 1."""
    return 0 if manifest is None else int(manifest.get("version", 1))


def data_cutoff(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """When the last delivery was received (the figures hold nothing received later); None if unknown."""
    if not warehouse.table_exists(con, "audit.deliveries"):
        return None
    return con.execute("select max(received_at) from audit.deliveries").fetchone()[0]


def now() -> datetime:
    return datetime.now(UTC)


def stamp(moment: datetime | None) -> str | None:
    """A moment as the manifest writes it (ISO 8601, seconds)."""
    return None if moment is None else moment.isoformat(timespec="seconds")


def published_files(folder: Path) -> list[str]:
    """The files of the version in ``folder`` by relative path: all but its manifest and ``versions/``."""
    folder = Path(folder)
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if p.is_file() and p.name != MANIFEST and p.relative_to(folder).parts[0] != VERSIONS)


def file_entries(folder: Path, rows: dict[str, int] | None = None) -> list[dict]:
    """Every file of the version in ``folder`` (its relative path, sha256, and rows where given), sorted."""
    rows = rows or {}
    return [{"file": name, **({"rows": rows[name]} if name in rows else {}), "sha256": sha256_of(Path(folder) / name)}
            for name in published_files(folder)]


def write_manifest(folder: Path, manifest: dict, mode: int) -> None:
    fd = os.open(Path(folder) / MANIFEST, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=2, ensure_ascii=False)
        handle.write("\n")


def publish(target: Path, build: Callable[[Path], bool], *, mode: int) -> bool:
    """Build the next version of ``target`` with ``build(staging)`` and swap it in, the current one kept.

    ``build`` writes the new files and manifest and returns False when the published content equals the
    current version's: then nothing is swapped and ``target`` stays untouched (returns False).
    """
    target = Path(target)
    for stale in [*target.parent.glob(f".{target.name}.new-*"), *target.parent.glob(f".{target.name}.old-*")]:
        remove_tree(stale, ignore_errors=True)  # left by a write that was killed (one writer at a time: pool duckdb)
    current = read_manifest(target)

    def build_and_keep(staging: Path) -> bool:
        if build(staging) is False:
            return False
        _keep_versions(target, current, staging / VERSIONS, mode)
        return True

    return replace_directory(target, build_and_keep, mode=mode) is not False


def _keep_versions(target: Path, current: dict | None, versions: Path, mode: int) -> None:
    """Link every earlier version and the current one (the files its manifest lists) into ``versions``.

    Links, not copies: the bytes are the published ones and a year of pages costs no second copy. Done
    last in the build, so a failing build leaves the current files' modes as they were.
    """
    if current is None:
        return  # nothing published yet, or files from before versions: replaced as before
    versions.mkdir(mode=mode)
    earlier = target / VERSIONS
    for kept in sorted(earlier.iterdir()) if earlier.exists() else []:
        _link_tree(kept, versions / kept.name)
    number = versions / str(version_of(current))
    number.mkdir(mode=mode)
    for name in [entry["file"] for entry in current["files"]] + [MANIFEST]:
        (number / name).parent.mkdir(parents=True, exist_ok=True, mode=mode)
        _link(target / name, number / name)
    _make_read_only(versions, mode)


def _link(source: Path, destination: Path) -> None:
    try:
        os.link(source, destination)
    except OSError:  # a file system without hard links
        shutil.copy2(source, destination)


def _link_tree(source: Path, destination: Path) -> None:
    destination.mkdir(mode=0o700)
    for path in sorted(source.rglob("*")):
        if path.is_dir():
            (destination / path.relative_to(source)).mkdir(mode=0o700)
        else:
            _link(path, destination / path.relative_to(source))


def _make_read_only(top: Path, mode: int) -> None:
    """Files and folders under ``top`` (and ``top``) without any write permission, folders last."""
    for root, folders, files in os.walk(top, topdown=False):
        for name in files:
            path = Path(root) / name
            os.chmod(path, path.stat().st_mode & 0o555)
        for name in folders:
            os.chmod(Path(root) / name, mode & 0o555)
    os.chmod(top, mode & 0o555)
