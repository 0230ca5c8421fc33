"""All assets of the chain, in the order the data travel."""

from __future__ import annotations

import dagster as dg


def all_assets() -> list[dg.AssetsDefinition]:
    from rmj_dagster.assets.codebook import codebook_tables
    from rmj_dagster.assets.ingest import pseudonymised_deliveries, raw_provider_drops
    from rmj_dagster.assets.publish import cbs_extract_files, ceo_publication
    from rmj_dagster.assets.sql_models import build_sql_assets

    return [
        raw_provider_drops,
        pseudonymised_deliveries,
        codebook_tables,
        *build_sql_assets(),
        cbs_extract_files,
        ceo_publication,
    ]
