"""Asset keys: the warehouse schema an asset writes (or ``exports``), then its name.

The one place a key is derived, so the lineage reads ``staging/stg_responses`` as every anchor project
does, while groups are the stage packages beside this module. SQL models take their folder (= schema) as the
prefix. Also the names used across stages: which asset owns a table, the check `rmj process` reads back.
"""

from __future__ import annotations

import dagster as dg

from rmj_dagster.intake.kinds import KINDS
from rmj_dagster.warehouse import sql_models

# Assets written from Python: the schema (or export area) they write.
PYTHON_ASSET_PREFIX = {
    "raw_provider_drops": "audit",
    "delivery_outcome": "audit",  # per delivery, from intermediate.delivery_reconciliation
    "codebook": "ref",
    **{kind.asset: kind.table.split(".")[0] for kind in KINDS.values()},  # pseudonymised_<kind> -> pseudo
    "cbs_extract_files": "exports",
    "ceo_publication": "exports",
    "published_figures": "audit",
    "delivery_monitor_page": "exports",
    "analyst_snapshot": "snapshot",
}


def python_asset_names(name: str) -> dict:
    """``name`` and ``key_prefix`` for the ``@dg.asset`` of Python asset ``name``, so its key is ``asset_key(name)``."""
    return {"name": name, "key_prefix": [PYTHON_ASSET_PREFIX[name]]}


# The check a delivery run and a CEO run both take, and `rmj process` reads back, by the name the UI shows.
PUBLICATION_CURRENT_CHECK = "publication_current"

# Tables written from Python rather than by a model: which asset owns them.
PYTHON_OWNED = {
    "audit.deliveries": "raw_provider_drops",
    "audit.file_receipts": "raw_provider_drops",
    "audit.key_labels": "raw_provider_drops",  # the receipt step binds the key's label first
    **{kind.table: kind.asset for kind in KINDS.values()},
    "audit.published_figures": "published_figures",
}


def asset_key(name: str) -> dg.AssetKey:
    """The key of the asset called ``name`` (a Python asset or a SQL model)."""
    if name in PYTHON_ASSET_PREFIX:
        return dg.AssetKey([PYTHON_ASSET_PREFIX[name], name])
    layers = {m.name: m.layer for m in sql_models.discover()}
    if name not in layers:
        raise KeyError(f"no asset is called {name!r}")
    return dg.AssetKey([layers[name], name])


def asset_key_of_table(table: str) -> dg.AssetKey:
    """The asset that writes ``schema.table``: the codebook, an ingest asset, or the model of that name."""
    schema, name = table.split(".")
    if schema == "ref":
        return asset_key("codebook")
    if table in PYTHON_OWNED:
        return asset_key(PYTHON_OWNED[table])
    return dg.AssetKey([schema, name])
