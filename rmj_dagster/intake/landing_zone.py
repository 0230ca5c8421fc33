"""The landing zone on disk: what providers dropped, and the folders the pipeline owns beside it.

``incoming/``   providers drop files here (any name); the sensor only looks here.
``received/``   a delivery claimed by a run, waiting for the TTP step (owner-only).
``quarantine/`` files that cannot be loaded: ``<delivery_id>/<derived name>`` with ``<delivery_id>.reason.json``
                beside it; fix and re-drop. Destroyed after the codebook's retention period.
``retained/``   originals kept after processing, only when RMJ_RETAIN_ORIGINALS is on (development).
``state/``      the landing zone's own memory: when the pipeline first saw each file (owner-only), keyed by
                a keyed hash of its name (``name_tag``), never the name: the name as received exists only
                in the landing zone while the file is there (``intake/file_names.py``).

Two rules live here, so the sensor and ``rmj process`` apply them alike:

- **Complete file** (``is_complete``): a ``<name>.done`` marker stands beside it, or its size and mtime
  are the same as at an earlier look, or nothing has touched it for the settle time (its ctime, which
  every write sets and no copy tool can set back, is older): a file still being written is left alone.
- **Arrival order** is the order the pipeline saw the bytes: every look (``scan``) records when a file
  (by its name's tag) was first seen, and a delivery's ``received_at`` is that time, not the provider's mtime (which may
  be older than the original's for a correction copied with its timestamps kept). Files first seen in
  the same look are ordered by mtime, then name.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import hmac
import json
import os
import shutil
import stat as stat_module
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rmj_dagster import codebook
from rmj_dagster.intake.file_names import entry_label

DONE_SUFFIX = ".done"
_IN_PROGRESS_SUFFIXES = (".part", ".tmp", ".crdownload", ".filepart", DONE_SUFFIX)
DELIVERY_ID_LENGTH = 16
REASON_SUFFIX = ".reason.json"
NAME_KEY_FILE = "name.key"  # state/: the landing zone's own secret for name tags (never leaves it)
PARTIAL_GRACE = timedelta(hours=codebook.parameter("partial_name_report_hours"))
"""How long a temporary/partial name may wait in incoming/ before it is reported as not a delivery."""

# Why an entry of incoming/ is not a delivery (never opened, never followed).
STILL_BEING_WRITTEN = "still_being_written"  # a temporary or partial-upload name (.part, .tmp, ...)
HIDDEN_NAME = "hidden_name"  # a dot-file (.DS_Store, ._x.csv, .~lock.x.csv#)
SYMLINK = "symlink"
DIRECTORY = "directory"
NOT_A_FILE = "not_a_regular_file"  # fifo, socket, device
NOT_A_DELIVERY_MESSAGES = {
    STILL_BEING_WRITTEN: "has a temporary or partial-upload name and has not changed for a long time; rename it when complete",
    HIDDEN_NAME: "is a hidden file (name starting with a dot), never read as a delivery; remove it",
    SYMLINK: "is a symbolic link, never followed; drop the file itself",
    DIRECTORY: "is a folder, never entered; drop the files themselves in incoming/",
    NOT_A_FILE: "is not a regular file; drop the file itself",
}


def not_deliveries_message(found: list[tuple[str, str]]) -> str:
    """One readable line for entries of incoming/ that are not deliveries (named by inode, ``entry_label``)."""
    return f"{len(found)} entry(ies) in incoming/ are not processed: " + "; ".join(
        f"{name} {NOT_A_DELIVERY_MESSAGES[reason]} ({reason})" for name, reason in found[:20]
    ) + (" …" if len(found) > 20 else "") + " (files named by inode: ls -i incoming/)"


def unreadable_message(labels: list[str]) -> str:
    """One readable line for complete files in incoming/ this process may not read (named by label only)."""
    return (f"{len(labels)} file(s) in incoming/ cannot be read by this service ({', '.join(labels[:5])}"
            f"{' …' if len(labels) > 5 else ''}): make them readable by the service user (e.g. group rmj, mode 0640), "
            "see docs/operations.md 'A delivery that cannot be read'; they are looked at again every time")


def _name_too_long(error: OSError) -> bool:
    return error.errno == errno.ENAMETOOLONG


@dataclass(frozen=True)
class FileState:
    """A file in ``incoming/`` as seen from its directory entry (no content read)."""

    name: str
    size: int
    mtime_ns: int
    inode: int = 0
    first_seen_us: int | None = None  # when the pipeline first saw this name (µs since the epoch, UTC)
    changed_ns: int = 0  # st_ctime_ns: the last write or metadata change (0 = not known)
    tag: str = ""  # the keyed hash of the name (``LandingZone.name_tag``): stable across looks, reveals nothing

    @property
    def token(self) -> str:
        """How run and sensor state name the file: its inode and its name's tag, never the name as received
        (a rename or a new file under the name gives a new token)."""
        return f"{self.inode}:{self.tag}"

    @property
    def label(self) -> str:
        """How messages name the file while it is in ``incoming/`` (``entry_label``)."""
        return entry_label(self.inode)

    @property
    def look(self) -> tuple[int, int]:
        return (self.size, self.mtime_ns)

    @property
    def received_at(self) -> datetime:
        """When the pipeline first saw the file (its mtime only when no look recorded it)."""
        micros = self.first_seen_us if self.first_seen_us is not None else self.mtime_ns // 1000
        return datetime.fromtimestamp(micros / 1e6, tz=UTC).replace(tzinfo=None)


def is_complete(state: FileState, earlier_look: Sequence[int] | None, has_done_marker: bool,
                quiet_since_ns: int | None = None) -> bool:
    """The complete-file rule: a ``.done`` marker, or size and mtime unchanged since an earlier look, or
    untouched since ``quiet_since_ns`` (now minus the settle time; ctime, so a kept mtime cannot fake it)."""
    return (
        has_done_marker
        or (earlier_look is not None and tuple(earlier_look[:2]) == state.look)
        or (quiet_since_ns is not None and 0 < state.changed_ns <= quiet_since_ns)
    )


def quiet_since(settle_seconds: float) -> int:
    """The moment (ns since the epoch) a file must be untouched since to count as complete on one look."""
    return time.time_ns() - int(settle_seconds * 1e9)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def delivery_id_of(sha256: str) -> str:
    """The delivery's id: the first 16 hex digits of its sha256 (its partition key ends in it, ``partition_keys``)."""
    return sha256[:DELIVERY_ID_LENGTH]


@dataclass(frozen=True)
class FirstLook:
    states: list[FileState]
    taken_at: float  # time.monotonic()
    all_complete: bool


class LandingZone:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.incoming = self.root / "incoming"
        self.received = self.root / "received"
        self.quarantine_dir = self.root / "quarantine"
        self.retained = self.root / "retained"
        self.state = self.root / "state"
        self._name_key: bytes | None = None

    def ensure(self) -> LandingZone:
        self.incoming.mkdir(parents=True, exist_ok=True)
        for owned in (self.received, self.quarantine_dir, self.retained, self.state):
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
                states.append(FileState(entry.name, stat.st_size, stat.st_mtime_ns, stat.st_ino, changed_ns=stat.st_ctime_ns,
                                        tag=self.name_tag(entry.name)))
        return sorted(self._record_arrivals(states), key=lambda s: (s.first_seen_us or 0, s.mtime_ns, s.name))

    def not_deliveries(self, now: datetime, partial_grace: timedelta) -> list[tuple[str, str]]:
        """Entries of ``incoming/`` that ``scan`` leaves alone and a person should hear about:
        (``entry_label``, reason code) for symlinks, folders, other non-files and hidden files, and for
        temporary/partial names unchanged for longer than ``partial_grace`` (before that they are
        still being written). Markers (``.done``) are not reported. Nothing is opened or followed."""
        if not self.incoming.is_dir():
            return []
        found = []
        with os.scandir(self.incoming) as entries:
            for entry in entries:
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                name, lower = entry.name, entry.name.lower()
                if stat_module.S_ISLNK(info.st_mode):
                    reason = SYMLINK
                elif stat_module.S_ISDIR(info.st_mode):
                    reason = DIRECTORY
                elif not stat_module.S_ISREG(info.st_mode):
                    reason = NOT_A_FILE
                elif lower.endswith(DONE_SUFFIX):
                    continue
                elif name.startswith("."):
                    reason = HIDDEN_NAME
                elif lower.endswith(_IN_PROGRESS_SUFFIXES):
                    age = now - datetime.fromtimestamp(info.st_mtime, tz=UTC).replace(tzinfo=None)
                    if age <= partial_grace:
                        continue
                    reason = STILL_BEING_WRITTEN
                else:
                    continue
                found.append((entry_label(info.st_ino), reason))
        return sorted(found)

    def has_done_marker(self, name: str) -> bool:
        try:
            return (self.incoming / f"{name}{DONE_SUFFIX}").exists()
        except OSError as error:  # a name of 250+ bytes cannot have a marker beside it
            if _name_too_long(error):
                return False
            raise

    def complete(self, states: list[FileState], earlier_looks: Mapping[str, Sequence[int]],
                 quiet_since_ns: int | None = None) -> tuple[list[FileState], list[FileState]]:
        """(complete, still being written) by ``is_complete``; ``earlier_looks``: token → (size, mtime)."""
        done, waiting = [], []
        for state in states:
            ready = is_complete(state, earlier_looks.get(state.token), self.has_done_marker(state.name), quiet_since_ns)
            (done if ready else waiting).append(state)
        return done, waiting

    def look_twice(self, settle_seconds: float, sleep=time.sleep) -> tuple[list[FileState], list[FileState]]:
        """Two looks ``settle_seconds`` apart; one when every file is complete already (a marker, or
        untouched for the settle time): (complete, waiting)."""
        return self.second_look(self.first_look(settle_seconds), settle_seconds, sleep)

    def first_look(self, settle_seconds: float) -> FirstLook:
        """The first of ``look_twice``'s looks; other work can go on before ``second_look``."""
        states = self.scan()
        return FirstLook(states, time.monotonic(), not self.complete(states, {}, quiet_since(settle_seconds))[1])

    def second_look(self, first: FirstLook, settle_seconds: float, sleep=time.sleep) -> tuple[list[FileState], list[FileState]]:
        """(complete, waiting): the first look's files if all were complete, else a look ``settle_seconds``
        after the first (waiting only for what is left of that time)."""
        if first.all_complete:
            return first.states, []
        sleep(max(0.0, settle_seconds - (time.monotonic() - first.taken_at)))
        return self.complete(self.scan(), {s.token: s.look for s in first.states}, quiet_since(settle_seconds))

    # --- the landing zone's own memory: when each file was first seen -----------------------------
    def name_tag(self, name: str) -> str:
        """A keyed hash of a name as received (HMAC-SHA256 under ``state/name.key``, a secret the landing
        zone makes once): what the arrival record and the sensor's cursor keep instead of the name. Without
        the key, a tag cannot be tested against guessed names (a BSN has only 10^9 values)."""
        return hmac.new(self._tag_key(), name.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()[:24]

    def _tag_key(self) -> bytes:
        if self._name_key is None:
            path = self.state / NAME_KEY_FILE
            try:
                self._name_key = bytes.fromhex(path.read_text(encoding="ascii").strip())
            except (OSError, ValueError):
                self._name_key = self._new_tag_key(path)
        return self._name_key

    def _new_tag_key(self, path: Path) -> bytes:
        key = os.urandom(32)
        try:
            self.state.mkdir(parents=True, exist_ok=True)
            os.chmod(self.state, 0o700)
            temporary = path.with_name(f"{NAME_KEY_FILE}.{os.getpid()}.tmp")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(key.hex())
            try:
                os.link(temporary, path)  # the first process to make one wins; the others read it
            except FileExistsError:
                key = bytes.fromhex(path.read_text(encoding="ascii").strip())
            finally:
                temporary.unlink(missing_ok=True)
        except OSError:
            pass  # a read-only landing zone keeps no memory: a key for this process only
        return key

    @contextmanager
    def _arrivals(self) -> Iterator[dict]:
        """The arrivals record under an exclusive lock (the sensor and a run may look at once)."""
        try:
            self.state.mkdir(parents=True, exist_ok=True)
            os.chmod(self.state, 0o700)
        except OSError:
            yield {"incoming": {}, "claims": {}, "last_us": 0}  # read-only landing zone: no memory
            return
        path = self.state / "arrivals.json"
        with open(self.state / "arrivals.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the process dies, too
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                record = {}
            record = {"incoming": dict(record.get("incoming", {})), "claims": dict(record.get("claims", {})),
                      "last_us": int(record.get("last_us", 0))}
            before = json.dumps(record, sort_keys=True)
            yield record
            after = json.dumps(record, sort_keys=True)
            if after != before:
                temporary = path.with_suffix(".tmp")
                fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(after)
                os.replace(temporary, path)

    def _record_arrivals(self, states: list[FileState]) -> list[FileState]:
        if not states and not (self.state / "arrivals.json").exists():
            return states
        with self._arrivals() as record:
            seen = record["incoming"]
            for tag in [t for t in seen if t not in {s.tag for s in states}]:
                del seen[tag]  # gone from incoming/ (claimed, removed or renamed); also a record of an older
                # version keyed by names as received
            now_us = time.time_ns() // 1000
            stamped = []
            for state in sorted(states, key=lambda s: (s.mtime_ns, s.name)):
                if state.tag not in seen:
                    record["last_us"] = max(now_us, record["last_us"] + 1)  # one look: mtime order, strictly rising
                    seen[state.tag] = record["last_us"]
                stamped.append(replace(state, first_seen_us=int(seen[state.tag])))
        return stamped

    def replay_arrivals(self, received: Mapping[str, datetime]) -> None:
        """Record when files in ``incoming/`` arrived, as a watcher that saw each arrive would have (UTC).

        For deliveries made with their receipt dates and dropped in one go (the demo, tests, benchmarks
        that replay a year): without it they all arrive now. A file already seen keeps its time."""
        with self._arrivals() as record:
            seen = record["incoming"]
            for name, moment in received.items():
                tag = self.name_tag(name)
                if tag not in seen and (self.incoming / name).is_file():
                    seen[tag] = int(moment.replace(tzinfo=UTC).timestamp() * 1_000_000)

    def first_seen_of_claim(self, delivery_id: str) -> int | None:
        """When the file a run claimed for ``delivery_id`` was first seen in ``incoming/``."""
        with self._arrivals() as record:
            found = record["claims"].get(delivery_id)
        return int(found) if found is not None else None

    # --- what a run does with a file ----------------------------------------------------------
    def claim(self, name: str, delivery_id: str, *, record_arrival: bool = True) -> Path:
        """Move a file from ``incoming/`` to ``received/<delivery_id>/`` (same file system: atomic). Its arrival
        goes with it, kept under the delivery id: recorded before the move (a look in between must not lose
        it), unless ``record_arrival`` is off because ``claim_all`` recorded it with others."""
        target_dir = self.received / delivery_id
        target_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(target_dir, 0o700)
        target = target_dir / name
        if record_arrival:
            self._keep_arrivals([(name, delivery_id)])
        os.replace(self.incoming / name, target)
        if record_arrival:
            self._forget_arrivals([self.incoming / name])
        self._drop_marker(name)
        return target

    def claim_all(self, claims: Sequence[tuple[str, str]]) -> list[Path]:
        """``claim`` each (name, delivery_id), in order: the arrivals kept under the delivery ids in one rewrite
        of the record before the first move, and forgotten under the names in one after the last (a rewrite
        per file costs more than the file). A kill in between leaves a name's arrival that the next look drops
        or, for a file not moved yet, still holds."""
        self._keep_arrivals(claims)
        claimed = [self.claim(name, delivery_id, record_arrival=False) for name, delivery_id in claims]
        self._forget_arrivals([self.incoming / name for name, _ in claims])
        return claimed

    def _keep_arrivals(self, claims: Sequence[tuple[str, str]]) -> None:
        """Keep each named file's arrival under the delivery id that claims it."""
        if not claims:
            return
        with self._arrivals() as record:
            for name, delivery_id in claims:
                tag = self.name_tag(name)
                if tag in record["incoming"]:
                    record["claims"][delivery_id] = record["incoming"][tag]

    def pending_claims(self) -> list[str]:
        """Deliveries claimed by a run that did not finish them (their original still waits in ``received/``)."""
        if not self.received.is_dir():
            return []
        return sorted(
            folder.name for folder in self.received.iterdir()
            if folder.is_dir() and any(not p.name.startswith(".") for p in folder.iterdir())
        )

    def holds_deliveries(self, look: FirstLook) -> bool:
        """Whether there may be deliveries to take in: files in the look, or claims an earlier run left."""
        return bool(look.states) or bool(self.pending_claims())

    def claimed(self, delivery_id: str) -> Path | None:
        folder = self.received / delivery_id
        if not folder.is_dir():
            return None
        files = sorted(p for p in folder.iterdir() if p.is_file())
        return files[0] if files else None

    def quarantine(self, path: Path, *, delivery_id: str, sha256: str, code: str, message: str, stored_name: str,
                   now: datetime | None = None) -> Path:
        """Move a file to ``quarantine/<delivery_id>/<stored_name>`` (the derived name: the provider's name
        stays behind) with a machine-readable reason in ``quarantine/<delivery_id>.reason.json``; never loaded."""
        folder = self.quarantine_dir / delivery_id
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        target = folder / stored_name
        os.replace(path, target)
        reason = {
            "file_name": stored_name,
            "delivery_id": delivery_id,
            "sha256": sha256,
            "reason_code": code,
            "message": message,
            "quarantined_at": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
            "what_to_do": "correct the file and drop it in incoming/ again; new bytes make a new delivery; "
                          "the file is destroyed after the retention period",
        }
        self.reason_file(delivery_id).write_text(json.dumps(reason, indent=2), encoding="utf-8")
        self._drop_marker(path.name)
        self._remove_empty(path.parent)
        self._forget_arrivals([path])
        return target

    def reason_file(self, delivery_id: str) -> Path:
        return self.quarantine_dir / f"{delivery_id}{REASON_SUFFIX}"

    def quarantined(self) -> list[tuple[str, datetime, Path]]:
        """(delivery id, quarantined at as naive UTC, reason file) of every delivery held in ``quarantine/``
        (also the earlier layout ``<delivery_id>_<name>`` with ``<delivery_id>_<name>.reason.json``)."""
        if not self.quarantine_dir.is_dir():
            return []
        held = []
        for reason in self.quarantine_dir.glob(f"*{REASON_SUFFIX}"):
            try:
                recorded = json.loads(reason.read_text(encoding="utf-8"))
                delivery_id = str(recorded["delivery_id"])
                stamp = datetime.fromisoformat(recorded["quarantined_at"])
            except (ValueError, KeyError, TypeError, OSError):
                delivery_id = reason.name[:DELIVERY_ID_LENGTH]
                stamp = datetime.fromtimestamp(reason.stat().st_mtime, tz=UTC)
            if stamp.tzinfo is not None:
                stamp = stamp.astimezone(UTC).replace(tzinfo=None)
            held.append((delivery_id, stamp, reason))
        return sorted(held)

    def destroy_quarantined(self, delivery_id: str, reason: Path) -> None:
        """Remove a quarantined delivery's file (either layout) and then its reason file."""
        folder = self.quarantine_dir / delivery_id
        if folder.is_dir() and not folder.is_symlink():
            shutil.rmtree(folder)
        legacy = reason.with_name(reason.name[: -len(REASON_SUFFIX)])
        if legacy != folder and (legacy.is_file() or legacy.is_symlink()):
            legacy.unlink()
        reason.unlink(missing_ok=True)

    def dispose(self, path: Path, *, retain: bool, forget_arrival: bool = True) -> Path | None:
        """Destroy an original after successful processing, or move it to ``retained/`` (development).

        Returns where it was kept, or ``None`` when destroyed. Its arrival (a copy's in ``incoming/``, a
        claim's once its folder is empty) is forgotten, unless ``forget_arrival`` is off: ``dispose_all``
        forgets those of many files in one rewrite of the record.
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
        if forget_arrival:
            self._forget_arrivals([path])
        return kept

    def dispose_all(self, paths: Sequence[Path], *, retain: bool) -> list[Path | None]:
        """``dispose`` each file (where each was kept, in order), their arrivals forgotten in one rewrite of the
        record: a rewrite per file costs more than the file. A kill before it leaves arrivals of files that
        are gone, which claim nothing: the next look drops a name's, a finished claim's is never asked for."""
        kept = [self.dispose(path, retain=retain, forget_arrival=False) for path in paths]
        self._forget_arrivals(paths)
        return kept

    def _forget_arrivals(self, paths: Sequence[Path]) -> None:
        """Forget the arrival of files gone from ``incoming/`` (claimed, or copies destroyed) and of claims whose
        folder is gone."""
        copies = [self.name_tag(p.name) for p in paths if p.parent == self.incoming and not p.exists()]
        finished = [p.parent.name for p in paths if p.parent.parent == self.received and not p.parent.is_dir()]
        if not copies and not finished:
            return
        with self._arrivals() as record:  # a finished claim's arrival is in the audit trail
            for tag in copies:
                record["incoming"].pop(tag, None)
            for delivery_id in finished:
                record["claims"].pop(delivery_id, None)

    def _drop_marker(self, name: str) -> None:
        try:
            (self.incoming / f"{name}{DONE_SUFFIX}").unlink(missing_ok=True)
        except OSError as error:  # a name of 250+ bytes cannot have a marker beside it
            if not _name_too_long(error):
                raise

    def _remove_empty(self, folder: Path) -> None:
        if folder.parent == self.received and folder.is_dir() and not any(folder.iterdir()):
            shutil.rmtree(folder, ignore_errors=True)
