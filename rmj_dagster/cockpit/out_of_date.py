"""Which published CEO years are out of date: their figures, as published, would now come out otherwise.

A CEO year is published only when an analyst asks; a later delivery (a correction, a late file) may change
what it would show. The year's marts are built as they would be now, in a transaction that is rolled back
(nothing kept, the published year stays as it is), and compared with the latest publication
(``audit.published_figures``) in published form: the value and n as ``indicators.csv`` shows them, and
suppression.

Work follows the delivery: a year is compared again only when something it reads may have changed (see
``years_due``); every other published year keeps the result of its last comparison, kept per year in
``audit.publication_currency`` with the rules and the publication it was made under.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from rmj_dagster import warehouse
from rmj_dagster.cockpit.lineage import FIGURES_TABLE, Figure
from rmj_dagster.warehouse import sql_models

PUBLISHED_FIGURES = "audit.published_figures"
CHECKED = "audit.publication_currency"  # per published year: its last comparison, under which rules and publication
_MARTS = ("indicator_base", "ceo_indicators")  # what a year's figures are built from, in order


@dataclass(frozen=True)
class OutOfDate:
    year: int
    figures: tuple[str, ...]  # each figure that differs: "<figure>: <as published> -> <now>"

    def __str__(self) -> str:
        shown = "; ".join(self.figures[:5]) + (f"; ... and {len(self.figures) - 5} more" if len(self.figures) > 5 else "")
        return (f"CEO {self.year} out of date: {len(self.figures)} figure(s) differ from the publication ({shown}); "
                f"run `rmj publish ceo {self.year}`")


def mart_tables() -> list[str]:
    """The tables a year's figures are, in the order they are built."""
    return [sql_models.model(name).table for name in _MARTS]


def upstream_tables() -> list[str]:
    """The tables a year's figures are built from (not the marts themselves): what the check reads."""
    marts = {sql_models.model(name).table for name in _MARTS}
    return sorted({t for name in _MARTS for t in sql_models.model(name).upstream_tables} - marts)


def published_years(con: duckdb.DuckDBPyConnection) -> list[int]:
    return sorted(_latest_publications(con))


def _latest_publications(con: duckdb.DuckDBPyConnection) -> dict[int, str]:
    """Each published year with the id of its latest publication."""
    if not warehouse.table_exists(con, PUBLISHED_FIGURES):
        return {}
    return dict(con.execute(
        f"select year, publication_id from (select distinct year, publication_id, recorded_at from {PUBLISHED_FIGURES}) "
        "qualify row_number() over (partition by year order by recorded_at desc, publication_id desc) = 1").fetchall())


def _shown(alias: str) -> str:
    return (f"case when not {alias}.suppressed then rmj_published_figure({alias}.indicator, {alias}.value) end as shown_value, "
            f"case when not {alias}.suppressed then rmj_published_count({alias}.n) end as shown_n, {alias}.suppressed")


def _differences(con: duckdb.DuckDBPyConnection, year: int) -> list[str]:
    """The figures of ``year`` whose published form differs between its latest publication and the marts."""
    keys = "year, area_type, area_code, respondent_group, care_type, indicator"
    rows = con.execute(
        f"""
        with latest as (
            select publication_id from {PUBLISHED_FIGURES} where year = $year
            order by recorded_at desc, publication_id desc limit 1
        ),
        published as (
            select {keys}, {_shown('f')} from {PUBLISHED_FIGURES} as f
            where f.year = $year and f.publication_id = (select publication_id from latest)
        ),
        now as (
            select {keys}, {_shown('m')} from {FIGURES_TABLE} as m where m.year = $year and m.period = $period
        )
        select {", ".join(f"coalesce(p.{k}, c.{k})" for k in keys.split(", "))},
               p.shown_value, p.shown_n, p.suppressed, c.shown_value, c.shown_n, c.suppressed
        from published as p
        full join now as c using ({keys})
        where (coalesce(not p.suppressed, false) or coalesce(not c.suppressed, false))
          and (p.suppressed is distinct from c.suppressed or p.shown_value is distinct from c.shown_value
               or p.shown_n is distinct from c.shown_n)
        order by 2, 3, 6, 4, 5
        """,
        {"year": year, "period": str(year)},
    ).fetchall()

    def shown(value, n, suppressed) -> str:
        if suppressed is None:
            return "absent"
        return "suppressed" if suppressed else f"{value} (n {n})"

    return [f"{Figure(*r[:6])}: {shown(*r[6:9])} -> {shown(*r[9:12])}" for r in rows]


@dataclass(frozen=True)
class Currency:
    """Every published year's latest comparison: ``compared`` now, the rest kept from an earlier run."""

    compared: tuple[int, ...]
    kept: tuple[int, ...]
    stale: tuple[OutOfDate, ...]  # over every published year


def years_due(published: dict[int, str], stored: dict[int, tuple[str, str]], rules: str,
              touched: set[int] | None) -> list[int]:
    """The published years to compare again: every one when ``touched`` is None (a CEO run, or a rebuild that
    does not say which years it changed); else each year the run's rows touched and the year after it (a year
    is compared with the one before), and each year never compared, published anew since, or last compared
    under other rules (a model's SQL, the macros, the codebook)."""
    return [y for y in sorted(published)
            if touched is None or y in touched or y - 1 in touched or stored.get(y) != (rules, published[y])]


def check(con: duckdb.DuckDBPyConnection, touched: set[int] | None, built: set[int] = frozenset()) -> Currency:
    """Compare the published years due (``years_due``), keep their results, and return every year's latest.

    ``built``: years whose marts as stored are what the rules give now (the caller's run built them, nothing
    they read was written since): compared with the marts as they are; every other year due with its marts
    built anew in a transaction that is rolled back."""
    from rmj_dagster.warehouse.builds import period_of, rules_fingerprint

    rules = rules_fingerprint(sql_models.model(_MARTS[-1]))  # covers the models it reads, the macros, the codebook
    con.execute(f"create table if not exists {CHECKED} (year integer not null, rules varchar not null, "
                "publication_id varchar not null, figures varchar[] not null)")
    published = _latest_publications(con)
    stored = {y: (r, p) for y, r, p in con.execute(f"select year, rules, publication_id from {CHECKED}").fetchall()}
    due = years_due(published, stored, rules, touched)
    for year in due:
        if year in built:
            differing = _differences(con, year)
        else:
            builds = [(sql_models.model(name), period_of(sql_models.model(name), str(year))) for name in _MARTS]
            differing = sql_models.preview(con, builds, lambda c, y=year: _differences(c, y))
        con.execute(f"delete from {CHECKED} where year = ?", [year])
        con.execute(f"insert into {CHECKED} values (?, ?, ?, ?)", [year, rules, published[year], differing])
    results = dict(con.execute(f"select year, figures from {CHECKED} where list_contains(?, year)", [list(published)]).fetchall())
    return Currency(tuple(due), tuple(y for y in sorted(published) if y not in due),
                    tuple(OutOfDate(y, tuple(results[y])) for y in sorted(published) if results.get(y)))
