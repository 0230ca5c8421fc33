"""Same outputs whatever the batches: deliveries processed in batches (arrival order kept) publish exactly
what one run over all of them publishes (apart from production timestamps).

The batches exercise the incremental paths: staging per delivery, cleaning over every delivery, and
periods whose marts did not change left as published.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rmj_dagster.generate import generate_deliveries
from rmj_dagster.runner import periods_with_data, process, publish

TODAY = date(2026, 11, 22)


# what a publication's history holds: batches may publish more versions on the way to the same current one,
# and a version whose content a later batch leaves unchanged keeps the cut-off of the batch that made it
_HISTORY = ("produced_at", "data_cutoff", "version", "correction", "corrects_version", "replaces", "replaces_version",
            "changes")


def _published(exports: Path) -> dict[str, bytes]:
    """Every current version's file bytes; the manifest without its production timestamp and history."""
    found = {}
    for path in sorted(p for p in exports.rglob("*") if p.is_file() and "versions" not in p.relative_to(exports).parts):
        data = path.read_bytes()
        if path.name == "manifest.json":
            manifest = {k: v for k, v in json.loads(data).items() if k not in _HISTORY}
            # pages and workbook carry their production date and version: compared as the files are, not at all
            manifest["files"] = [e for e in manifest["files"] if e["file"].endswith(".csv")]
            data = json.dumps(manifest, sort_keys=True).encode()
        if path.suffix in (".csv", ".json"):
            found[str(path.relative_to(exports))] = data
    return found


def _run(root: Path, batches: list[list[Path]], monkeypatch) -> dict[str, bytes]:
    for name, sub in (("RMJ_LANDING_DIR", "landing"), ("RMJ_WAREHOUSE", "w.duckdb"), ("RMJ_EXPORT_DIR", "exports"),
                      ("RMJ_SNAPSHOT", "snapshot.duckdb"), ("DAGSTER_HOME", "dagster_home")):
        monkeypatch.setenv(name, str(root / sub))
    incoming = root / "landing" / "incoming"
    incoming.mkdir(parents=True)
    instance = dg.DagsterInstance.ephemeral()  # one instance across the batches, as a deployment keeps
    for batch in batches:
        for path in batch:
            shutil.copy2(path, incoming / path.name)  # keeps the mtime: the day it was received
        summary = process(instance=instance)
        assert summary.checks["failed"] == 0
    for kind, periods in periods_with_data().items():  # then every publication, as an analyst asks for it
        for period in periods:
            assert publish(kind, period, instance=instance).checks["failed"] == 0
    return _published(root / "exports")


def _arrival_order(folder: Path) -> list[Path]:
    return sorted(folder.iterdir(), key=lambda p: (p.stat().st_mtime_ns, p.name))


_state: dict[str, object] = {}


def _source_and_reference(tmp_path_factory, monkeypatch) -> tuple[list[Path], dict[str, bytes]]:
    if not _state:
        source = tmp_path_factory.mktemp("source")
        # two years, so a year's CEO figures also read the year before; small, since every batch is a
        # whole `rmj process` (a delivery run and the period runs): the cost is in the runs, not the rows
        generate_deliveries(source, seed=31, scale=0.04, years=[2024, 2025], today=TODAY)
        files = _arrival_order(source / "incoming")
        _state["files"] = files
        _state["reference"] = _run(tmp_path_factory.mktemp("all"), [files], monkeypatch)
    return _state["files"], _state["reference"]


# Each example costs a whole `rmj process` per batch; two examples of two or three batches each, so every
# example really splits the deliveries (a cut is a position between two files, never at an end).
@pytest.mark.slow  # a whole `rmj process` per batch: about ten per example
@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.sets(st.integers(0, 10**6), min_size=1, max_size=2))
# a first batch whose 2025 data makes no CEO figure yet (the batching the old planner once failed on)
@example(cuts={298})
def test_any_batching_in_arrival_order_publishes_the_same_files(rmj_env, tmp_path_factory, monkeypatch, cuts):
    files, reference = _source_and_reference(tmp_path_factory, monkeypatch)
    bounds = sorted({1 + c % (len(files) - 1) for c in cuts})
    batches = [files[a:b] for a, b in zip([0, *bounds], [*bounds, len(files)])]
    assert len(batches) >= 2 and all(batches)
    outcome = _run(tmp_path_factory.mktemp("batches"), batches, monkeypatch)
    assert reference and any(name.startswith("cbs") for name in reference) and any(name.startswith("ceo") for name in reference)
    assert outcome.keys() == reference.keys()
    assert [n for n in reference if outcome[n] != reference[n]] == []
