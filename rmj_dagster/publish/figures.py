"""The published figures as every other file reads them: the one reader of ``indicators.csv``.

Pages, charts, the workbook and the publication check are all built from these rows (text as in the
file, empty string = empty field), so nothing can show what the CSV does not.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

KEY_COLUMNS = ("year", "area_type", "area_code", "respondent_group", "care_type", "indicator")


def year_dir(export_dir: Path, year: int) -> Path:
    """``<export_dir>/ceo/<YYYY>``."""
    return Path(export_dir) / "ceo" / str(int(year))


def indicators_path(export_dir: Path, year: int) -> Path:
    return year_dir(export_dir, year) / "indicators.csv"


def read_published(path: Path) -> list[dict[str, str]]:
    """The rows of a published ``indicators.csv`` as text (empty string = empty field)."""
    with Path(path).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def number(text: str | None) -> float | None:
    """A published field as a number; None for an empty or non-numeric one."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def figure_key(row: dict[str, str]) -> str:
    """``year|area_type|area_code|respondent_group|care_type|indicator``: how pages tag a figure."""
    return "|".join(row[c] for c in KEY_COLUMNS)


def is_suppressed(row: dict[str, str]) -> bool:
    return row["suppressed"] == "true"


@dataclass(frozen=True)
class Published:
    """One year's published rows by key, with the earlier years' published rows (for trends)."""

    year: int
    rows: tuple[dict[str, str], ...]
    earlier: dict[int, tuple[dict[str, str], ...]]

    def by_key(self) -> dict[str, dict[str, str]]:
        """Every year's rows (this one and the earlier ones) by figure key."""
        found = {figure_key(r): r for rows in self.earlier.values() for r in rows}
        found.update({figure_key(r): r for r in self.rows})
        return found

    def years(self) -> list[int]:
        return sorted([*self.earlier, self.year])

    def all_rows(self) -> list[dict[str, str]]:
        return [r for y in self.years() for r in (self.rows if y == self.year else self.earlier[y])]


def load(export_dir: Path, year: int, csv_path: Path | None = None) -> Published:
    """The published CSV of ``year`` (or ``csv_path``: a version being built) and those of the earlier
    years already published beside it."""
    earlier = {}
    ceo = Path(export_dir) / "ceo"
    for folder in sorted(ceo.iterdir()) if ceo.exists() else []:
        if folder.name.isdigit() and int(folder.name) < year and (folder / "indicators.csv").exists():
            earlier[int(folder.name)] = tuple(read_published(folder / "indicators.csv"))
    return Published(year=year, rows=tuple(read_published(csv_path or indicators_path(export_dir, year))), earlier=earlier)


Lookup = dict[tuple[str, str, str, str, str], dict[str, str]]


def lookup(rows) -> Lookup:
    """Rows by (area_type, area_code, respondent_group, care_type, indicator), for one year."""
    return {(r["area_type"], r["area_code"], r["respondent_group"], r["care_type"], r["indicator"]): r for r in rows}
