"""The periods a set of deliveries touches: the CBS half-years and CEO years whose figures their rows can change.

One rule, in SQL, for the delivery run's assets (their materialization metadata, which the CBS half-year's
automation condition and the ``publication_current`` check read) and for ``rmj process``'s summary.

A row reaches a period through its own date, and through its trajectory (provider + toewijzingnummer): a
stop or start record of a long-term trajectory changes each half-year in which it had a questionnaire, a
correction or deletion changes the periods of the rows it replaces. So the periods touched are those of
every staged row (every delivery's, superseded ones included) of the trajectories the deliveries' rows
belong to: a superset, never less than what changed.
"""

from __future__ import annotations

from rmj_dagster.partitions import half_year_of

# The date that places a cleaned row in a period, per table.
EVENT_DATES = " union all ".join(
    f"select {column} as d, delivery_id from intermediate.{table}"
    for table, column in (("cleaned_stop_zorg", "einddatum"), ("cleaned_responses", "invuldatum"), ("cleaned_goals", "meetdatum")))

# Every staged row's trajectory and the dates that place it in a period (a start record: its begin date).
_STAGED = " union all ".join(
    f"select delivery_id, aanbieder_agb, toewijzingnummer, {column} as d from staging.{table}"
    for table, column in (("stg_responses", "invuldatum"), ("stg_stop_zorg", "einddatum"), ("stg_stop_zorg", "begindatum"),
                          ("stg_goals", "meetdatum"), ("stg_start_zorg", "begindatum")))


def periods_of_deliveries(con, deliveries: list[str]) -> dict[str, set[str]]:
    """The half-year partition keys (``half_year``) and years (``year``) the rows of ``deliveries`` touch."""
    if not deliveries:
        return {"half_year": set(), "year": set()}
    trajectories = "select distinct aanbieder_agb, toewijzingnummer from staged where list_contains($ids, delivery_id)"
    own = f"select d from ({EVENT_DATES}) where list_contains($ids, delivery_id)"  # a row without a trajectory too
    return _periods(con, trajectories, own, {"ids": deliveries})


def periods_of_keys(con, keys_table: str) -> dict[str, set[str]]:
    """The periods the trajectories in ``keys_table`` (aanbieder_agb, toewijzingnummer) touch: what a keyed
    model's rebuild of those keys can change."""
    return _periods(con, f"select distinct aanbieder_agb, toewijzingnummer from {keys_table}", None, {})


def metadata(touched: dict[str, set[str]]) -> dict[str, object]:
    """As a step's materialization metadata (read by the CBS half-year's automation condition)."""
    import dagster as dg

    from rmj_dagster.automation import TOUCHED_METADATA

    return {TOUCHED_METADATA: dg.MetadataValue.json(sorted(touched["half_year"])),
            "years_touched": dg.MetadataValue.json(sorted(touched["year"]))}


def _periods(con, trajectories: str, own: str | None, params: dict) -> dict[str, set[str]]:
    dates = [d for (d,) in con.execute(
        f"""
        with staged as ({_STAGED}),
        touched as ({trajectories})
        select distinct s.d from staged as s
        join touched as t on s.aanbieder_agb is not distinct from t.aanbieder_agb
                         and s.toewijzingnummer is not distinct from t.toewijzingnummer
        where s.d is not null
        {f"union select d from ({own}) where d is not null" if own else ""}
        """, params).fetchall()]
    return {"half_year": {half_year_of(d) for d in dates}, "year": {str(d.year) for d in dates}}
