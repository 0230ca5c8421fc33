"""What a new version of a publication changes against the previous one (the manifest's ``changes``), in DuckDB.

- CEO: per figure (area, indicator, respondent group, care type, as keyed in ``indicators.csv``) whose
  published n, value, interval or suppressed flag differs, the old and the new fields as text as published;
  a figure only in one version has ``null`` on the other side.
- CBS: per provider file, how many records were added, removed or changed (a record is keyed as CBS keys a
  trajectory: provider, toewijzingnummer, datum aanvang). Counts, not the records: the correction replaces
  the whole period anyway (informatieprotocol §7.6), and a manifest naming records would copy
  record-level detail to a second place.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from rmj_dagster.publish import sql_path
from rmj_dagster.publish.figures import KEY_COLUMNS
from rmj_dagster.quality.expectations import CBS_COLUMNS

FIGURE_FIELDS = ("n", "value", "ci_low", "ci_high", "suppressed")
_FIGURE_KEY = tuple(c for c in KEY_COLUMNS if c != "year")  # one year per folder
_RECORD_KEY = ("aanbieder_agb", "toewijzingnummer", "datum_aanvang")


def _read(paths: list[Path], columns: tuple[str, ...]) -> str:
    """The CSV files as text columns; an empty relation with the same columns when there are none."""
    if not paths:
        return "select " + ", ".join(f"null::varchar as {c}" for c in columns) + " where false"
    files = "[" + ", ".join(sql_path(p) for p in paths) + "]"
    return (f"select {', '.join(columns)} from read_csv({files}, delim = ';', header = true, quote = '\"', "
            "all_varchar = true)")


def ceo_changes(con: duckdb.DuckDBPyConnection, old_csv: Path, new_csv: Path) -> list[dict]:
    """The figures of ``new_csv`` that differ from ``old_csv`` (added, removed or changed), in file order."""
    columns = (*_FIGURE_KEY, "area_name", *FIGURE_FIELDS)
    on = " and ".join(f"o.{c} = n.{c}" for c in _FIGURE_KEY)
    differs = " or ".join(f"o.{c} is distinct from n.{c}" for c in FIGURE_FIELDS)
    side = lambda alias: (f"case when {alias}.{_FIGURE_KEY[0]} is not null then "  # noqa: E731
                          f"{{{', '.join(f'{c!r}: {alias}.{c}' for c in FIGURE_FIELDS)}}} end")
    cursor = con.execute(f"""
        with o as ({_read([old_csv], columns)}), n as ({_read([new_csv], columns)})
        select {', '.join(f'coalesce(n.{c}, o.{c}) as {c}' for c in _FIGURE_KEY)}, coalesce(n.area_name, o.area_name) as area_name,
               {side('o')} as old, {side('n')} as new
        from o full outer join n on {on}
        where o.{_FIGURE_KEY[0]} is null or n.{_FIGURE_KEY[0]} is null or {differs}
        order by list_position(['regio', 'subregio', 'gemeente', 'aanbieder'], coalesce(n.area_type, o.area_type)),
                 coalesce(n.area_code, o.area_code), coalesce(n.indicator, o.indicator),
                 list_position(['ALL', 'OUDERS', 'JONGEREN'], coalesce(n.respondent_group, o.respondent_group)),
                 list_position(['ALL', 'EINDE', 'DUURZAAM'], coalesce(n.care_type, o.care_type))
    """)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def cbs_changes(con: duckdb.DuckDBPyConnection, old_files: list[Path], new_files: list[Path]) -> list[dict]:
    """Per provider file present in either version and not identical: records added, removed, changed."""
    key = ", ".join(_RECORD_KEY)
    cursor = con.execute(f"""
        with o as ({_read(old_files, CBS_COLUMNS)}), n as ({_read(new_files, CBS_COLUMNS)}),
        gone as (select * from o except all select * from n),
        came as (select * from n except all select * from o),
        changed as (select distinct {key} from gone semi join came using ({key})),
        marked as (
            select d.*, c.aanbieder_agb is not null as is_changed
            from (select 'gone' as side, {key} from gone union all select 'came', {key} from came) d
            left join changed c using ({key})
        ),
        per_file as (
            select aanbieder_agb,
                   count(*) filter (where side = 'came' and not is_changed) as rows_added,
                   count(*) filter (where side = 'gone' and not is_changed) as rows_removed,
                   count(distinct ({key})) filter (where is_changed) as rows_changed
            from marked
            group by aanbieder_agb
        )
        select aanbieder_agb || '.csv' as file,
               (select count(*) from o where o.aanbieder_agb = p.aanbieder_agb) as rows_before,
               (select count(*) from n where n.aanbieder_agb = p.aanbieder_agb) as rows_after,
               rows_added, rows_removed, rows_changed
        from per_file p
        order by file
    """)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]
