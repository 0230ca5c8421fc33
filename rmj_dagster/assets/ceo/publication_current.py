"""Whether each published CEO year still shows the figures it would show now (a warning, never a rewrite)."""

import dagster as dg

from rmj_dagster.assets.asset_keys import PUBLICATION_CURRENT_CHECK, asset_key, asset_key_of_table
from rmj_dagster.cockpit import out_of_date
from rmj_dagster.resources import Warehouse


def _out_of_date_deps() -> list[dg.AssetKey]:
    # what the year is built from; and, in a CEO run, the record of the publication it compares with
    return sorted({asset_key_of_table(t) for t in out_of_date.upstream_tables()} | {asset_key("published_figures")},
                  key=lambda k: k.path)


IDLE_LEFT_OUT_TAG = "rmj/idle_left_out"  # a run whose idle models rmj process left out


def _years_touched_by_run(context: dg.AssetCheckExecutionContext) -> set[int] | None:
    """The years the rows this run rebuilt fall in, as the CEO figures' input says (``years_touched`` of its
    materialization in this run); None = every year: not rebuilt in this run (a CEO run), or rebuilt whole."""
    touched: set[int] = set()
    for key in {asset_key_of_table(t) for t in out_of_date.upstream_tables() if not t.startswith("ref.")}:  # ref: in the rules
        records = context.instance.fetch_materializations(key, limit=1).records
        if records and records[0].run_id != context.run.run_id and context.run.tags.get(IDLE_LEFT_OUT_TAG):
            continue  # left out of this run with nothing to write (rmj process): it touched no year
        if not records or records[0].run_id != context.run.run_id:
            return None
        said = records[0].asset_materialization.metadata.get("years_touched")
        if said is None:
            return None
        touched |= {int(y) for y in said.value}
    return touched


def _years_built_by_run(context: dg.AssetCheckExecutionContext) -> set[int]:
    """The year whose marts this run built (a CEO run) when nothing they read was written since: their tables
    as stored are the figures now, so the year is compared with them, not built again to be rolled back."""
    instance = context.instance
    latest = [instance.fetch_materializations(asset_key_of_table(t), limit=1).records for t in out_of_date.mart_tables()]
    if not all(r and r[0].run_id == context.run.run_id and r[0].partition_key for r in latest):
        return set()
    years = {r[0].partition_key for r in latest}
    built_at = min(r[0].storage_id for r in latest)
    # what they read, the marts' other years included (a year reads the year before), written since by another
    # run (between this run's steps): the year is built again, as any other
    for key in {asset_key_of_table(t) for t in out_of_date.upstream_tables() + out_of_date.mart_tables()}:
        since = instance.fetch_materializations(dg.AssetRecordsFilter(key, after_storage_id=built_at), limit=100)
        if since.has_more or any(r.run_id != context.run.run_id for r in since.records):
            return set()
    return {int(y) for y in years} if len(years) == 1 else set()


@dg.asset_check(
    asset=asset_key("ceo_publication"),
    name=PUBLICATION_CURRENT_CHECK,
    pool="duckdb",  # opens the warehouse
    additional_deps=_out_of_date_deps(),
    description=(
        "Warning, after each delivery run and each CEO run: every published CEO year still shows the figures it "
        "would show now. A year whose published figures (value and n as published, suppression) would now differ "
        "is out of date: the description says how many figures differ and which; an analyst publishes it anew "
        "(materialize the year, or rmj publish ceo <YYYY>). The published files stay as they are until then. "
        "Compared again: in a delivery run the years its rows touch and the year after each, and a year never "
        "compared, published anew or compared under other rules (SQL, codebook); in a CEO run every published "
        "year, the year it built with its marts as built (nothing they read written since), the others built anew. "
        "Every other year keeps the result of its last comparison (metadata: compared, kept)."
    ),
)
def publication_current(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    touched, built = _years_touched_by_run(context), _years_built_by_run(context)
    with warehouse.connect() as con:  # builds the marts as they would be now, then rolls back
        currency = out_of_date.check(con, touched, built)
    years = sorted(currency.compared + currency.kept)
    stale = currency.stale
    return dg.AssetCheckResult(
        passed=not stale,
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(str(s) for s in stale) if stale else (
            f"every published CEO year is current ({', '.join(map(str, years))})" if years else "no CEO year published yet"),
        metadata={
            "verified": "published years " + (", ".join(map(str, years)) or "none")
                        + f"; compared now: {', '.join(map(str, currency.compared)) or 'none'}"
                        + (f"; kept from their last comparison: {', '.join(map(str, currency.kept))}" if currency.kept else ""),
            "compared": dg.MetadataValue.json([str(y) for y in currency.compared]),
            "kept": dg.MetadataValue.json([str(y) for y in currency.kept]),
            "compared_as_built": dg.MetadataValue.json([str(y) for y in currency.compared if y in built]),
            "out_of_date": dg.MetadataValue.json({str(s.year): list(s.figures[:50]) for s in stale}),
            "figures_differing": sum(len(s.figures) for s in stale),
            "out_of_date_years": dg.MetadataValue.json([str(s) for s in stale]),
        },
    )
