"""What the CBS and CEO stages report alike about a publication folder: its version, and its files' identifiers."""

from pathlib import Path

from rmj_dagster.privacy import identifiers


def export_findings(con, files, folder: Path) -> dict[str, dict]:
    """The files holding an identifier, by their path in the publication folder."""
    return {path.relative_to(folder).as_posix(): scan for path, scan in identifiers.scan_export_files(con, list(files)).items()}


def version_metadata(exports: list, changed: str) -> dict:
    """Which version each publication now is, whether this run wrote it, and what it changed.

    ``new_version`` False: the published content equalled the current version, nothing was written.
    A version after the first is a correction (for CBS it replaces the whole period)."""
    suffix = (lambda e: f"_{e.period}") if len(exports) > 1 else (lambda e: "")  # noqa: E731
    found = {}
    for export in exports:
        found |= {f"version{suffix(export)}": export.version, f"correction{suffix(export)}": export.version > 1,
                  f"new_version{suffix(export)}": export.written, f"{changed}{suffix(export)}": getattr(export, changed)}
    return found
