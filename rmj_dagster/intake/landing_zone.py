"""The landing zone on disk: what providers dropped, and the folders the pipeline owns beside it.

``incoming/``   providers drop files here (any name); the sensor only looks here.
``received/``   a delivery claimed by a run, waiting for the TTP step (owner-only).
``quarantine/`` files that cannot be loaded, each with ``<name>.reason.json``; fix and re-drop.
``retained/``   originals kept after processing, only when RMJ_RETAIN_ORIGINALS is on (development).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

DONE_SUFFIX = ".done"
_IN_PROGRESS_SUFFIXES = (".part", ".tmp", ".crdownload", ".filepart", DONE_SUFFIX)
DELIVERY_ID_LENGTH = 16


@dataclass(frozen=True)
class FileState:
    """A file in ``incoming/`` as seen from its directory entry (no content read)."""

    name: str
    size: int
    mtime_ns: int

    @property
    def received_at(self) -> datetime:
        return datetime.fromtimestamp(self.mtime_ns / 1e9, tz=timezone.utc).replace(tzinfo=None)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def delivery_id_of(sha256: str) -> str:
    """The delivery's id and Dagster partition key: the first 16 hex digits of its sha256."""
    return sha256[:DELIVERY_ID_LENGTH]


class LandingZone:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.incoming = self.root / "incoming"
        self.received = self.root / "received"
        self.quarantine_dir = self.root / "quarantine"
        self.retained = self.root / "retained"

    def ensure(self) -> LandingZone:
        self.incoming.mkdir(parents=True, exist_ok=True)
        for owned in (self.received, self.quarantine_dir, self.retained):
            owned.mkdir(parents=True, exist_ok=True)
            os.chmod(owned, 0o700)
        return self

    # --- what the sensor sees -------------------------------------------------------------------
    def scan(self) -> list[FileState]:
        """Regular files in ``incoming/`` (markers, hidden and partial-upload names left out)."""
        if not self.incoming.is_dir():
            return []
        states = []
        with os.scandir(self.incoming) as entries:
            for entry in entries:
                if entry.name.startswith(".") or entry.name.lower().endswith(_IN_PROGRESS_SUFFIXES):
                    continue
                try:
                    if not entry.is_file(follow_symlinks=False):
                        continue
                    stat = entry.stat(follow_symlinks=False)
                except OSError:  # vanished between listing and stat
                    continue
                states.append(FileState(entry.name, stat.st_size, stat.st_mtime_ns))
        return sorted(states, key=lambda s: (s.mtime_ns, s.name))

    def has_done_marker(self, name: str) -> bool:
        return (self.incoming / f"{name}{DONE_SUFFIX}").exists()

    # --- what a run does with a file ----------------------------------------------------------
    def claim(self, name: str, delivery_id: str) -> Path:
        """Move a file from ``incoming/`` to ``received/<delivery_id>/`` (same file system: atomic)."""
        target_dir = self.received / delivery_id
        target_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(target_dir, 0o700)
        target = target_dir / name
        os.replace(self.incoming / name, target)
        self._drop_marker(name)
        return target

    def pending_claims(self) -> list[str]:
        """Deliveries claimed by a run that did not finish them (their original still waits in ``received/``)."""
        if not self.received.is_dir():
            return []
        return sorted(folder.name for folder in self.received.iterdir() if folder.is_dir() and any(folder.iterdir()))

    def claimed(self, delivery_id: str) -> Path | None:
        folder = self.received / delivery_id
        if not folder.is_dir():
            return None
        files = sorted(p for p in folder.iterdir() if p.is_file())
        return files[0] if files else None

    def quarantine(self, path: Path, *, delivery_id: str, sha256: str, code: str, message: str) -> Path:
        """Move a file to ``quarantine/`` with a machine-readable reason beside it; never loaded."""
        self.quarantine_dir.mkdir(parents=True, exist_ok=True)
        target = self.quarantine_dir / f"{delivery_id}_{path.name}"
        os.replace(path, target)
        reason = {
            "file_name": path.name,
            "delivery_id": delivery_id,
            "sha256": sha256,
            "reason_code": code,
            "message": message,
            "quarantined_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "what_to_do": "correct the file and drop it in incoming/ again; new bytes make a new delivery",
        }
        target.with_name(target.name + ".reason.json").write_text(json.dumps(reason, indent=2), encoding="utf-8")
        self._drop_marker(path.name)
        self._remove_empty(path.parent)
        return target

    def dispose(self, path: Path, *, retain: bool) -> Path | None:
        """Destroy an original after successful processing, or move it to ``retained/`` (development).

        Returns where it was kept, or ``None`` when destroyed.
        """
        kept = None
        if retain:
            target = self.retained / path.parent.name / path.name if path.parent != self.incoming else self.retained / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
            kept = target
        else:
            path.unlink(missing_ok=True)
        self._drop_marker(path.name)
        self._remove_empty(path.parent)
        return kept

    def _drop_marker(self, name: str) -> None:
        (self.incoming / f"{name}{DONE_SUFFIX}").unlink(missing_ok=True)

    def _remove_empty(self, folder: Path) -> None:
        if folder.parent == self.received and folder.is_dir() and not any(folder.iterdir()):
            shutil.rmtree(folder, ignore_errors=True)
