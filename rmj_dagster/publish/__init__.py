"""Writing what leaves the warehouse: CBS extract files, the CEO indicators CSV and the publications for people.

Small pure functions over an open DuckDB connection, called by the assets of the stages ``rmj_dagster.assets.cbs`` and ``rmj_dagster.assets.ceo``:

- ``cbs_files.write_cbs_extract(con, period, export_dir, pipeline_version)`` — the CBS files of a half-year;
- ``ceo_files.write_ceo_outputs(con, year, export_dir)`` — ``indicators.csv`` of a year and, from it, the
  region report, the municipality and provider pages and the workbook (``report``, ``municipality_pages``,
  ``provider_pages``, ``workbook``; shared parts in ``figures``, ``dutch``, ``charts``, ``html_page``,
  ``page_sections``);
- ``ceo_files.verify_suppression(published_csv)`` — the suppression rules recomputed from the file alone;
- ``publication_check.verify_publication(export_dir, year)`` — every file of a year held against its CSV;
- ``versions`` — the manifest and the earlier versions of a publication folder; ``changes`` — what a new
  version changed against the previous one.

This module holds the atomic file-system helpers they share.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False  # the file system cannot exchange
    raise OSError(code, os.strerror(code), str(a))


def replace_directory(target: Path, build: Callable[[Path], bool | None], *, mode: int = 0o700) -> bool:
    """Build a new ``target`` in a temporary sibling directory with ``build(tmp)``, then swap it in.

    The swap is one rename: ``rename`` when ``target`` does not exist yet, otherwise an atomic exchange of
    the two directories (Linux), after which the old content is removed. Readers see the old folder or
    the new one, never a half-written one; when ``build`` fails, or returns False (nothing to replace),
    the old folder stays untouched. Only where the file system cannot exchange does it fall back to two
    renames (a moment without ``target``). Returns whether it swapped.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))  # born 0700
    try:
        os.chmod(staging, mode)
        if build(staging) is False:
            remove_tree(staging)
            return False
        if not target.exists():
            os.rename(staging, target)
            return True
        if _exchange(staging, target):
            remove_tree(staging)  # now holds the old content
            return True
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.rename(target, old / target.name)
        os.rename(staging, target)
        remove_tree(old, ignore_errors=True)
        return True
    except BaseException:
        remove_tree(staging, ignore_errors=True)
        raise


def remove_tree(top: Path, *, ignore_errors: bool = False) -> None:
    """``shutil.rmtree`` of a tree that may hold read-only folders (kept versions): they are opened first.

    Only folders are made writable: a kept version's files are hard links shared with the live tree.
    """
    for root, folders, _ in os.walk(top):
        for name in folders:
            try:
                os.chmod(Path(root) / name, 0o700)
            except OSError:
                if not ignore_errors:
                    raise
    shutil.rmtree(top, ignore_errors=ignore_errors)


def write_file_atomic(target: Path, write: Callable[[Path], None], *, mode: int = 0o644) -> None:
    """Write ``target`` through ``write(tmp_path)`` into a temporary sibling, then ``os.replace`` it in."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    tmp = Path(name)
    try:
        write(tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def sql_path(path: Path) -> str:
    """A file path as a single-quoted SQL string literal (for COPY ... TO)."""
    return "'" + Path(path).as_posix().replace("'", "''") + "'"
