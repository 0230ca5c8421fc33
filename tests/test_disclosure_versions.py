"""Nothing derivable under 10 across versions: a correction of a few people does not give them away.

2024 and 2025 are published (version 1, recorded in ``audit.published_figures`` as the publication asset
does), a correction brings a few more responses in one small municipality, 2025 is published again (version
2). The attacker (tests/disclosure_attacker.py) reads both versions' ``indicators.csv`` (with 2024's file
beside them) and looks for figures and hidden groups whose n differs by 1 to 9 between them.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import pytest

from rmj_dagster import codebook, warehouse
from rmj_dagster.cockpit.lineage import record_publication
from rmj_dagster.privacy.disclosure import close_disclosure
from rmj_dagster.publish.ceo_files import (
    SuppressionError,
    verify_against_versions,
    verify_suppression,
    write_ceo_outputs,
    write_indicators_csv,
)
from rmj_dagster.publish.publication_check import verify_publication
from tests import mart_fixtures as mf
from tests.disclosure_attacker import attack, attack_versions, version_files
from tests.test_disclosure_attack import _row, _small_region

PRODUCED = date(2026, 12, 7)


def _publish(con, exports, year: int, version: int) -> None:
    mf.run(con, "ceo_indicators", str(year))
    written = write_ceo_outputs(con, year, exports, produced=PRODUCED)
    assert (written.version, written.written) == (version, True)
    record_publication(con, f"run-{year}-{version}", datetime(2026, 12, version), year)


def _published_once(folder: Path, seed: int) -> None:
    """The small region of ``seed`` with 2024 and 2025 published as version 1: ``warehouse.duckdb`` and
    ``exports/`` in ``folder``."""
    with mf.mart_warehouse(folder) as con:
        _small_region(con, seed)
        mf.build_indicators(con)
        _publish(con, folder / "exports", 2024, 1)
        _publish(con, folder / "exports", 2025, 1)


@pytest.fixture(scope="module")
def published_23(tmp_path_factory) -> Path:
    """Seed 23 published once, copied by each test that corrects it (the costly part, made once)."""
    folder = tmp_path_factory.mktemp("published-23")
    _published_once(folder, 23)
    return folder


def _two_versions(tmp_path, seed: int, count: int, hidden_count: int = 0, *, remembered: bool = True,
                  published: Path | None = None):
    """The year folder of 2025 after version 2, and 2024's file. ``hidden_count``: as many more in a town of
    the same sub-region that was hidden. ``remembered=False``: the record of version 1 is gone when version
    2 is made (as before versions were compared). ``published``: a copy of ``_published_once`` for ``seed``."""
    exports = tmp_path / "exports"
    if published is None:
        _published_once(tmp_path, seed)
    else:
        shutil.copytree(published, tmp_path, dirs_exist_ok=True)
    with warehouse.connect(tmp_path / "warehouse.duckdb") as con:
        # the smallest municipality whose responses were shown: the correction changes its n by ``count``
        town = con.execute(
            "select area_code from marts.ceo_indicators where period = '2025' and area_type = 'gemeente' "
            "and indicator = 'n_responses' and respondent_group = 'ALL' and care_type = 'ALL' and not suppressed "
            "order by n, area_code limit 1").fetchone()[0]
        corrections = [(town, count)]
        if hidden_count:
            hidden = [code for (code,) in con.execute(
                "select area_code from marts.ceo_indicators where period = '2025' and area_type = 'gemeente' "
                "and indicator = 'n_responses' and respondent_group = 'ALL' and care_type = 'ALL' and suppressed "
                "order by area_code").fetchall() if mf.subregio_of(code) == mf.subregio_of(town)]
            corrections.append((hidden[0], hidden_count))
        for code, more in corrections:
            mf.add_response(con, count=more, gemeentecode=code, invuldatum=date(2025, 5, 1), q01=4, q02=5, q09=8, q10=2)
        mf.build_indicators(con)
        folder, last_year = exports / "ceo" / "2025", exports / "ceo" / "2024" / "indicators.csv"
        if remembered:
            _publish(con, exports, 2025, 2)
            return version_files(folder), last_year
        con.execute("delete from audit.published_figures where year = 2025")
        mf.run(con, "ceo_indicators", "2025")
        would_be = tmp_path / "would-be" / "indicators.csv"
        would_be.parent.mkdir()
        write_indicators_csv(con, 2025, would_be)  # each file on its own passes verify_suppression
        with pytest.raises(SuppressionError, match="small change since an earlier version"):
            write_ceo_outputs(con, 2025, exports, produced=PRODUCED)
        assert version_files(folder) == [folder / "indicators.csv"]  # nothing written: version 1 stays
        return [folder / "indicators.csv", would_be], last_year


@pytest.mark.parametrize(("seed", "count"), [(23, 4), (6, 3)])
def test_a_small_correction_gives_no_one_away_between_versions(tmp_path, request, seed, count):
    published = request.getfixturevalue("published_23") if seed == 23 else None
    files, last_year = _two_versions(tmp_path, seed, count, published=published)
    folder = last_year.parent.parent / "2025"
    assert [p.relative_to(folder).as_posix() for p in files] == ["versions/1/indicators.csv", "indicators.csv"]
    assert verify_publication(folder.parent.parent, 2025) == []
    groups, stats = attack_versions(files, context=[last_year])
    assert stats["compared_figures"] > 100 and stats["compared_groups"] > 20, stats
    shown = [f"{sorted(g.cells)[:3]} differs by {g.low:g}..{g.high:g} ({g.how})" for g in groups[:5]]
    threshold = codebook.parameter("suppression_min_n")
    assert not groups, f"{len(groups)} difference(s) under {threshold:g} between the versions, e.g. {shown}"
    for path in files:  # each version still holds on its own
        assert attack([path, last_year])[0] == []
        assert verify_suppression(path) == []


def test_without_the_earlier_version_the_attacker_finds_the_people_added(tmp_path, published_23):
    """The attack works: made without its record of version 1, version 2 would give the correction away,
    and the publication refuses it (``verify_against_versions``); version 1 stays the current one."""
    files, last_year = _two_versions(tmp_path, 23, 4, remembered=False, published=published_23)
    groups, _ = attack_versions(files, context=[last_year])
    one_figure = [g for g in groups if "one figure" in g.how]
    assert one_figure and all(g.low == g.high == 4 for g in one_figure if g.low == g.high), groups[:5]


def _table(earlier: bool) -> list[dict]:
    """A sub-region of 55 (was 40) with towns A 37 (was 25) and B, C hidden (9 each; hidden before too)."""
    cells = [(1, True, 55, 40), (2, False, 37, 25), (3, False, 9, None), (4, False, 9, None)]
    return [{"equation_id": 1, "cell_id": cell, "is_total": total, "hidden": n < 10, "n": n, "area_code": str(cell),
             "earlier": [then] if earlier else []} for cell, total, n, then in cells]


def test_a_hidden_group_that_changed_by_a_few_is_closed():
    """Every shown figure changed by 10 or more, but B and C together held 40 - 25 = 15 and now 55 - 37 = 18:
    the 3 people added there are derivable. The closure hides A too; without version 1 it sees nothing."""
    assert close_disclosure(_table(earlier=False)) == []
    assert close_disclosure(_table(earlier=True)) == [2]


def test_the_attacker_finds_a_hidden_group_that_changed_by_a_few(tmp_path):
    """Version 1: Amsterdam-Amstelland 40, Amsterdam 25, Aalsmeer and Amstelveen hidden (15 together);
    version 2: 55 and 37 (both changed by 10 or more), the hidden two 18 together: 3 people added there."""
    paths = []
    for version, (total, shown) in enumerate([(40, 25), (55, 37)], start=1):
        rows = [_row("AA", "subregio", total, total // 4), _row("0363", "gemeente", shown, shown // 4),
                _row("0358", "gemeente", None), _row("0362", "gemeente", None)]
        path = tmp_path / str(version) / "indicators.csv"
        path.parent.mkdir()
        path.write_text(";".join(rows[0]) + "\n" + "".join(";".join(r.values()) + "\n" for r in rows), encoding="utf-8")
        paths.append(path)
    groups, _ = attack_versions(paths)
    assert [(sorted(k[3] for k in g.cells), g.low, g.high) for g in groups] == [(["0358", "0362"], 3, 3)]
    assert verify_against_versions(paths[1], paths[:1]) == []  # the file check covers single figures only
