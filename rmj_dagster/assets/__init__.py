"""All assets of the chain, in the order the data travel."""

from __future__ import annotations

import dagster as dg


def all_assets() -> list[dg.AssetsDefinition]:
    from rmj_dagster.assets.cockpit_assets import delivery_monitor_page, published_figures
    from rmj_dagster.assets.delivery_assets import pseudonymised_deliveries, raw_provider_drops
    from rmj_dagster.assets.model_assets import build_sql_assets
    from rmj_dagster.assets.publication_assets import cbs_extract_files, ceo_publication
    from rmj_dagster.assets.reference_assets import codebook_tables
    from rmj_dagster.assets.snapshot_assets import analyst_snapshot

    return [
        raw_provider_drops,
        pseudonymised_deliveries,
        codebook_tables,
        *build_sql_assets(),
        cbs_extract_files,
        ceo_publication,
        published_figures,
        delivery_monitor_page,
        analyst_snapshot,
    ]
