"""The asset graph as a reviewed file: a change to keys, deps, groups, kinds, pools or blocking checks
shows up in review as a diff of ``tests/asset_graph.json``.

After an intended change: ``RMJ_UPDATE_GRAPH_SNAPSHOT=1 .venv/bin/pytest tests/test_asset_graph_snapshot.py``
rewrites the file; commit it with the change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from rmj_dagster.definitions import defs

SNAPSHOT = Path(__file__).with_name("asset_graph.json")


def _pool_of(assets_def) -> str | None:
    return getattr(assets_def.op, "pool", None) if assets_def.is_executable else None


def _partitioning(partitions_def) -> str | None:
    """Dynamic partitions by name (deliveries, half-years), time windows by their cron (years)."""
    if partitions_def is None:
        return None
    return getattr(partitions_def, "name", None) or f"cron {partitions_def.cron_schedule}"


def graph_snapshot() -> dict:
    graph = defs.resolve_asset_graph()
    # the definition that runs each check: from what the code location was given (no private AssetGraph map)
    owners = {key: d for d in [*defs.assets, *defs.asset_checks] for key in getattr(d, "check_keys", ())}
    checks_by_asset: dict[str, list[dict]] = {}
    for check_key in sorted(graph.asset_check_keys, key=lambda k: (k.asset_key.to_user_string(), k.name)):
        spec = graph.get_check_spec(check_key)
        owner = owners[check_key]
        checks_by_asset.setdefault(check_key.asset_key.to_user_string(), []).append(
            {"name": check_key.name, "blocking": spec.blocking, "pool": _pool_of(owner)}
        )
    assets = {}
    for node in sorted(graph.asset_nodes, key=lambda n: n.key.to_user_string()):
        key = node.key.to_user_string()
        assets[key] = {
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "pools": sorted(p for p in node.pools if p),
            "partitions": _partitioning(node.partitions_def),
            "checks": checks_by_asset.get(key, []),
        }
    return {"assets": assets}


def test_the_asset_graph_matches_its_reviewed_snapshot():
    current = json.dumps(graph_snapshot(), indent=1, sort_keys=True) + "\n"
    if os.environ.get("RMJ_UPDATE_GRAPH_SNAPSHOT") == "1":
        SNAPSHOT.write_text(current, encoding="utf-8")
    assert SNAPSHOT.exists(), "no snapshot yet: run with RMJ_UPDATE_GRAPH_SNAPSHOT=1 and review the file"
    assert current == SNAPSHOT.read_text(encoding="utf-8"), (
        "the asset graph changed: review the difference, then rewrite the snapshot with RMJ_UPDATE_GRAPH_SNAPSHOT=1"
    )
