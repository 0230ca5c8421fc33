"""`rmj process` as a user runs it: refusal without a key, re-runs that never duplicate, crashes that lose nothing."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from rmj_dagster import cli
from rmj_dagster.assets.asset_keys import asset_key
from rmj_dagster.generate import generate_deliveries
from rmj_dagster.intake.kinds import KINDS
from rmj_dagster.intake.partition_keys import delivery_id_of_key
from rmj_dagster.runner import PipelineFailed, process
from rmj_dagster.ttp import pseudonymise
from rmj_dagster.ttp.pseudonym import DEMO_KEY

TODAY = date(2026, 11, 22)


def counts(db: Path) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            table: con.execute(f"select count(*) from {table}").fetchone()[0]
            for table in (*(k.table for k in KINDS.values()), "intermediate.cleaned_stop_zorg", "intermediate.cleaned_start_zorg", "marts.delivery_monitor")
        }


@pytest.mark.parametrize(
    ("key", "demo", "message"),
    [(None, False, "no pseudonym key"), ("short", False, "at least 32"), (DEMO_KEY.decode(), False, "demo mode")],
)
def test_process_refuses_without_a_fit_key_before_reading_anything(rmj_env, monkeypatch, capsys, key, demo, message):
    incoming = rmj_env["landing"] / "incoming"
    (incoming / "cem.csv").write_text("aanbieder_agb;bsn\n", encoding="utf-8")
    if key is None:
        monkeypatch.delenv("RMJ_PSEUDONYM_KEY")
    else:
        monkeypatch.setenv("RMJ_PSEUDONYM_KEY", key)
    assert cli.main(["process"]) == 2
    err = capsys.readouterr().err
    assert message in err and (key is None or key not in err)
    assert (incoming / "cem.csv").exists()  # untouched
    assert not rmj_env["warehouse"].exists()


# In a fresh interpreter: rmj process as the command runs it, then which heavy packages it had imported.
_REFUSAL_PROBE = """
import sys
from rmj_dagster import cli
code = cli.main(["process"])
print(code, *(name in sys.modules for name in ("dagster", "duckdb", "great_expectations", "pandas")))
"""


@pytest.mark.parametrize(
    ("key", "label", "message"),
    [(None, None, "no pseudonym key"), ("short", None, "at least 32"), (DEMO_KEY.decode(), None, "demo mode"),
     ("k" * 40, "rmj-2026-01-01", "RMJ_PSEUDONYM_KEY_LABEL is refused")],
)
def test_an_unfit_key_is_refused_at_once_before_the_heavy_imports(rmj_env, key, label, message):
    """No key, a short key, the demo key outside demo mode or an unfit label: refused before Dagster, DuckDB
    and GX are imported (those take seconds), so the answer comes at once; nothing is touched."""
    import os
    import subprocess
    import sys
    import time

    env = {k: v for k, v in os.environ.items()
           if k not in ("RMJ_PSEUDONYM_KEY", "RMJ_PSEUDONYM_KEY_FILE", "RMJ_PSEUDONYM_KEY_LABEL", "RMJ_DEMO_MODE")}
    env |= {"RMJ_PSEUDONYM_KEY": key} if key else {}
    env |= {"RMJ_PSEUDONYM_KEY_LABEL": label} if label else {}
    incoming = rmj_env["landing"] / "incoming"
    (incoming / "cem.csv").write_text("aanbieder_agb;bsn\n", encoding="utf-8")
    probe = subprocess.run([sys.executable, "-c", _REFUSAL_PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert probe.stdout.split() == ["2", "False", "False", "False", "False"], probe.stdout + probe.stderr
    assert message in probe.stderr and (key is None or key not in probe.stderr)
    # the command as a user types it: one interpreter start and a few small modules, well under the 8-10 s
    # the heavy imports took (a generous bound: the machine may be busy)
    rmj = Path(sys.executable).with_name("rmj")
    started = time.monotonic()
    refused = subprocess.run([str(rmj), "process"], env=env, capture_output=True, text=True, timeout=120)
    seconds = time.monotonic() - started
    assert refused.returncode == 2 and message in refused.stderr
    assert seconds < 2.5, f"the refusal took {seconds:.1f} s"
    assert (incoming / "cem.csv").exists() and not rmj_env["warehouse"].exists()
    assert sorted(p.name for p in rmj_env["landing"].iterdir()) == ["incoming"]  # the landing zone untouched


@pytest.mark.parametrize("incoming", [[], ["cem_10000000_2025-12.csv"]])
def test_the_gx_worker_is_started_only_when_there_is_something_to_take_in(rmj_env, monkeypatch, incoming):
    """``rmj process`` imports GX in a worker process while Dagster loads when ``incoming/`` holds files: the
    delivery run validates them. With nothing new the GX check seldom runs (the last validation stands), so
    the worker, seconds of CPU on a shared machine, is not started (a check that does run starts it itself)."""
    from rmj_dagster import runner
    from rmj_dagster.quality import expectations

    for name in incoming:
        (rmj_env["landing"] / "incoming" / name).write_text("header\n", encoding="utf-8")
    started = []
    monkeypatch.setattr(expectations, "import_in_background", lambda: started.append(True))
    monkeypatch.setattr(runner, "process", lambda **_: "summary")
    assert cli.main(["process"]) == 0
    assert bool(started) == bool(incoming)


@pytest.mark.slow  # whole `rmj process` runs: a minute or more on the shared machine
def test_the_same_deliveries_twice_change_nothing(rmj_env, tmp_path):
    source = tmp_path / "source"
    generate_deliveries(source, seed=21, scale=0.15, years=[2025], today=TODAY)
    incoming = rmj_env["landing"] / "incoming"
    for path in (source / "incoming").iterdir():
        shutil.copy2(path, incoming / path.name)
    process()
    first = counts(rmj_env["warehouse"])
    for path in (source / "incoming").iterdir():  # every file delivered again, some under another name
        shutil.copy2(path, incoming / f"opnieuw_{path.name}")
    summary = process()
    assert counts(rmj_env["warehouse"]) == first
    delivered = len(list((source / "incoming").iterdir()))
    # what this run did: only duplicates, no rows, nothing published; the first run's deliveries are totals
    assert summary.deliveries == {"duplicate files": delivered}
    assert summary.rows == {"read": 0, "accepted": 0, "rejected": 0} and not summary.quarantined
    assert summary.totals["deliveries"]["loaded"] + summary.totals["deliveries"].get("quarantined", 0) == delivered
    text = str(summary)
    assert text.index("this run:") < text.index(f"  deliveries: {delivered} duplicate files") < text.index(
        "totals, every delivery so far:")
    assert "CEO publications" not in text  # a CEO year waits for an analyst
    assert not any(incoming.iterdir())


@pytest.mark.slow  # whole `rmj process` runs: a minute or more on the shared machine
def test_a_run_without_new_rows_publishes_no_ceo_year_and_leaves_the_cbs_figures_as_they_were(rmj_env, tmp_path):
    """A CEO year is published by an analyst only, and stays current when nothing changed (the record of
    earlier publications, audit.published_figures, must not make it look out of date). A CBS half-year made
    before is not made again: the delivery run touched no half-year."""
    import dagster as dg

    from rmj_dagster.assets.cbs.jobs import CBS_JOB_NAME
    from rmj_dagster.assets.ceo.jobs import CEO_JOB_NAME
    from rmj_dagster.runner import publish
    from tests.test_batch_properties import _published

    generate_deliveries(tmp_path / "source", seed=22, scale=0.1, years=[2025], today=TODAY)
    for path in (tmp_path / "source" / "incoming").iterdir():
        shutil.copy2(path, rmj_env["landing"] / "incoming" / path.name)
    instance = dg.DagsterInstance.ephemeral()

    def runs_of(name: str) -> int:
        return len(instance.get_run_records(filters=dg.RunsFilter(job_name=name)))

    process(instance=instance)
    publish("ceo", "2025", instance=instance)
    publish("cbs", "2025-H1", instance=instance)
    files = _published(rmj_env["exports"])
    ceo_runs = runs_of(CEO_JOB_NAME)
    with duckdb.connect(str(rmj_env["warehouse"]), read_only=True) as con:
        versions = con.execute("select count(distinct publication_id) from audit.published_figures").fetchone()[0]
    cbs_runs = runs_of(CBS_JOB_NAME)
    summary = process(instance=instance)  # nothing new arrived
    assert runs_of(CEO_JOB_NAME) == ceo_runs and summary.out_of_date == []
    assert runs_of(CBS_JOB_NAME) == cbs_runs and summary.cbs_periods == [] and summary.cbs_unchanged == []
    assert _published(rmj_env["exports"]) == files
    with duckdb.connect(str(rmj_env["warehouse"]), read_only=True) as con:
        assert con.execute("select count(distinct publication_id) from audit.published_figures").fetchone()[0] == versions


@pytest.mark.slow  # whole `rmj process` runs: a minute or more on the shared machine
def test_a_crash_in_the_ttp_step_keeps_the_original_and_the_rerun_completes(rmj_env, tmp_path, monkeypatch):
    generate_deliveries(rmj_env["landing"], seed=22, scale=0.1, years=[2025], today=TODAY)
    files = len(list((rmj_env["landing"] / "incoming").iterdir()))
    real = pseudonymise.load_deliveries
    calls = {"n": 0}

    def crash_on_third(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full (simulated)")
        return real(*args, **kwargs)

    monkeypatch.setattr(pseudonymise, "load_deliveries", crash_on_third)
    with pytest.raises(PipelineFailed):
        process()
    kept = list((rmj_env["landing"] / "received").rglob("*.*"))
    assert kept, "the original of the failed delivery must survive the crash"
    monkeypatch.setattr(pseudonymise, "load_deliveries", real)
    summary = process()
    assert summary.totals["deliveries"] == {"loaded": files} and summary.deliveries.get("loaded")
    assert not list((rmj_env["landing"] / "received").rglob("*.*"))
    with duckdb.connect(str(rmj_env["warehouse"]), read_only=True) as con:
        assert con.execute("select count(*) from audit.deliveries where destroyed_at is null").fetchone()[0] == 0
        assert con.execute("select count(*) from intermediate.delivery_reconciliation where not reconciled").fetchone()[0] == 0


@pytest.mark.slow  # whole `rmj process` runs: a minute or more on the shared machine
def test_a_second_key_is_refused_before_anything_is_read(rmj_env, tmp_path, monkeypatch, capsys):
    source = tmp_path / "source"
    generate_deliveries(source, seed=5, scale=0.05, years=[2025], today=TODAY)
    files = sorted((source / "incoming").iterdir())
    incoming = rmj_env["landing"] / "incoming"
    shutil.copy2(files[0], incoming / files[0].name)
    assert cli.main(["process"]) == 0
    before = counts(rmj_env["warehouse"])
    shutil.copy2(files[1], incoming / files[1].name)
    monkeypatch.setenv("RMJ_PSEUDONYM_KEY", "another-key-after-a-rotation-0123456789-abcdef")
    assert cli.main(["process"]) == 2
    err = capsys.readouterr().err
    assert "never link" in err and "another-key" not in err
    assert (incoming / files[1].name).exists() and counts(rmj_env["warehouse"]) == before


@pytest.mark.slow  # whole `rmj process` runs: a minute or more on the shared machine
def test_another_key_under_a_known_label_is_refused_before_anything_is_read(rmj_env, tmp_path, monkeypatch, capsys):
    from rmj_dagster import warehouse
    from rmj_dagster.assets.intake.delivery_assets import refuse_unfit_key
    from rmj_dagster.ttp.pseudonym import KeyRefused, PseudonymKey

    source = tmp_path / "source"
    generate_deliveries(source, seed=5, scale=0.05, years=[2025], today=TODAY)
    files = sorted((source / "incoming").iterdir())
    incoming = rmj_env["landing"] / "incoming"
    monkeypatch.setenv("RMJ_PSEUDONYM_KEY_LABEL", "sleutel-2025a")
    shutil.copy2(files[0], incoming / files[0].name)
    assert cli.main(["process"]) == 0
    first = PseudonymKey.from_env()
    with duckdb.connect(str(rmj_env["warehouse"]), read_only=True) as con:
        bound = con.execute("select key_label, key_fingerprint from audit.key_labels").fetchall()
    assert bound == [("sleutel-2025a", first.binding)] and first.secret.decode() not in str(bound)
    before = counts(rmj_env["warehouse"])

    shutil.copy2(files[1], incoming / files[1].name)
    monkeypatch.setenv("RMJ_PSEUDONYM_KEY", "another-key-after-a-rotation-0123456789-abcdef")  # same label
    assert cli.main(["process"]) == 2
    err = capsys.readouterr().err
    assert "belongs to another key" in err and "another-key" not in err
    assert (incoming / files[1].name).exists() and counts(rmj_env["warehouse"]) == before
    # the delivery assets refuse it too (a run started from the UI or the sensor, without rmj process)
    with warehouse.connect(rmj_env["warehouse"]) as con:
        with pytest.raises(KeyRefused, match="belongs to another key"):
            refuse_unfit_key(con, PseudonymKey.from_env())
        refuse_unfit_key(con, first)  # the first key is still welcome


@pytest.mark.parametrize("label", [
    "2026-01-01", "123456782", "20260101", "sleutel 2026-01-01", "-x", "x" * 41,
    "v2026-01-01", "k123456782", "1-6-2011", "2026-1", "v2026_01", "k1611", "sleutel-1juni", "rmj.2026",
])
def test_a_key_label_that_is_not_a_plain_name_is_refused(label):
    from rmj_dagster.ttp.pseudonym import KeyRefused, PseudonymKey

    env = {"RMJ_PSEUDONYM_KEY": "k" * 40, "RMJ_PSEUDONYM_KEY_LABEL": label}
    with pytest.raises(KeyRefused, match="RMJ_PSEUDONYM_KEY_LABEL is refused") as refused:
        PseudonymKey.from_env(env)
    assert "rmj-2026a" in str(refused.value)  # says what a fit label looks like
    for fit in ("sleutel-2026a", "rmj-2026a", "rmj_v2", "K2026b"):
        assert PseudonymKey.from_env(env | {"RMJ_PSEUDONYM_KEY_LABEL": fit}).label == fit


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_a_key_file_readable_by_others_is_refused_as_ssh_refuses_a_private_key(tmp_path, mode):
    from rmj_dagster.ttp.pseudonym import KeyRefused, PseudonymKey

    key_file = tmp_path / "rmj-key"
    secret = "file-key-0123456789-0123456789-abcdef"
    key_file.write_text(secret)
    key_file.chmod(mode)
    env = {"RMJ_PSEUDONYM_KEY_FILE": str(key_file)}
    with pytest.raises(KeyRefused, match="readable by others") as refused:
        PseudonymKey.from_env(env)
    assert f"chmod 600 {key_file}" in str(refused.value) and secret not in str(refused.value)
    key_file.chmod(0o600)
    assert PseudonymKey.from_env(env).secret == secret.encode()
    key_file.chmod(0o400)  # a systemd credential file
    assert PseudonymKey.from_env(env).secret == secret.encode()


@pytest.mark.slow  # whole `rmj process` runs: a minute or more on the shared machine
def test_each_delivery_partition_shows_its_figures_in_dagster(rmj_env, tmp_path):
    import dagster as dg

    source = tmp_path / "source"
    generate_deliveries(source, seed=8, scale=0.05, years=[2025], today=TODAY, defect_rate=0.05)
    incoming = rmj_env["landing"] / "incoming"
    for path in (source / "incoming").iterdir():
        shutil.copy2(path, incoming / path.name)
    instance = dg.DagsterInstance.ephemeral()
    process(instance=instance)
    with duckdb.connect(str(rmj_env["warehouse"]), read_only=True) as con:
        expected = {d: (s, r, a, j) for d, s, r, a, j in con.execute(
            "select delivery_id, status, rows_read, rows_accepted, rows_rejected from intermediate.delivery_reconciliation").fetchall()}
    outcome = asset_key("delivery_outcome")  # loaded: a materialization; quarantined: an observation
    events = [r.asset_materialization for r in instance.fetch_materializations(outcome, limit=10_000).records]
    events += [r.asset_observation for r in instance.fetch_observations(outcome, limit=10_000).records]
    shown = {delivery_id_of_key(event.partition): {k: v.value for k, v in event.metadata.items()} for event in events}
    assert len(shown) == len(events) and set(shown) == set(expected)  # one event per delivery
    assert {delivery_id_of_key(k) for k in instance.get_materialized_partitions(outcome)} == {
        d for d, (status, *_) in expected.items() if status == "loaded"}
    for delivery, (status, read, accepted, rejected) in expected.items():
        meta = shown[delivery]
        assert (meta["status"], meta["rows_read"], meta["rows_accepted"], meta["rows_rejected"]) == (status, read, accepted, rejected)
        assert sum(meta["rejected_by_reason"].values()) == rejected
        if status == "quarantined":
            assert meta["quarantine_reason"]
    assert any(m["rows_rejected"] for m in shown.values()) and any(m["status"] == "quarantined" for m in shown.values())
    # the client's choice not to let the provider see the answers is carried through and counted
    with duckdb.connect(str(rmj_env["warehouse"]), read_only=True) as con:
        chosen = con.execute("select count(*) from intermediate.cleaned_responses where geen_inzage_hulpverlener").fetchone()[0]
    event = instance.get_latest_materialization_event(asset_key("cleaned_responses"))
    assert event.asset_materialization.metadata["responses_geen_inzage_hulpverlener"].value == chosen > 0


@pytest.mark.slow  # whole `rmj process` runs: a minute or more on the shared machine
def test_a_quarantined_file_can_be_corrected_and_dropped_again(rmj_env):
    incoming = rmj_env["landing"] / "incoming"
    header = "aanbieder_agb;bsn;geboortedatum;gemeentecode;toewijzingnummer;vragenlijst;invuldatum;q09\n"
    row = "12345678;111222333;2010-03-15;0363;42;OUDERS_EINDE;2025-03-01;8\n"
    (incoming / "cem_maart.csv").write_text(header.replace("invuldatum;", "") + row.replace("2025-03-01;", ""), encoding="utf-8")
    first = process()
    assert first.deliveries.get("quarantined") == 1
    quarantine = rmj_env["landing"] / "quarantine"
    reasons = [json.loads(p.read_text()) for p in quarantine.rglob("*.reason.json")]
    assert [r["reason_code"] for r in reasons] == ["missing_required_column"] and "invuldatum" in reasons[0]["message"]
    (incoming / "cem_maart.csv").write_text(header + row, encoding="utf-8")  # the provider's corrected file
    second = process()
    assert second.deliveries.get("loaded") == 1
    with duckdb.connect(str(rmj_env["warehouse"]), read_only=True) as con:
        assert con.execute("select count(*) from intermediate.cleaned_responses").fetchone()[0] == 1
        assert sorted(con.execute("select status from audit.deliveries").fetchall()) == [("loaded",), ("quarantined",)]
    assert not any(incoming.iterdir())


@pytest.mark.slow  # whole `rmj process` runs: a minute or more on the shared machine
def test_rows_a_dead_run_committed_but_never_reported_are_scanned_by_the_next_run(rmj_env, tmp_path):
    """A run killed after committing a delivery's rows and before its step scanned and reported them leaves
    rows no check has seen: the next run scans them with its own deliveries, and a BSN among them fails it."""
    source = tmp_path / "source"
    generate_deliveries(source, seed=24, scale=0.05, years=[2025], today=TODAY)
    files = sorted((source / "incoming").iterdir())
    incoming = rmj_env["landing"] / "incoming"
    shutil.copy2(files[0], incoming / files[0].name)
    process()
    bsn_in_a_field = "123456782"  # passes the 11-proef: what the TTP step's own checks would have emptied
    with duckdb.connect(str(rmj_env["warehouse"])) as con:  # as the dead run left it
        kind = next(k for k in KINDS.values() if con.execute(f"select count(*) from {k.table}").fetchone()[0])
        con.execute("insert into audit.deliveries (delivery_id, sha256, file_name, size_bytes, received_at, kind, status, "
                    "rows_read, processed_at) values (?, ?, 'x.csv', 1, now()::timestamp, ?, 'loaded', 1, now()::timestamp)",
                    ["e" * 16, "e" * 64, kind.name])
        con.execute(f"insert into {kind.table} select * replace (?::varchar as delivery_id, ?::varchar as gemeentecode) "
                    f"from {kind.table} limit 1", ["e" * 16, bsn_in_a_field])
    shutil.copy2(files[1], incoming / files[1].name)
    with pytest.raises(PipelineFailed):
        process()
    instance = dg.DagsterInstance.get()
    check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(asset_key(kind.asset), "no_identifiers")])
    evaluation = next(iter(check.values())).event.dagster_event.event_specific_data
    assert not evaluation.passed
    assert "gemeentecode" in json.dumps(evaluation.metadata["findings"].value)
    assert bsn_in_a_field not in str(evaluation.metadata)


def test_the_summary_names_publications_that_wait_for_their_period_to_end():
    """Rows of the running year (or later) reach no publication yet: the summary says so instead of nothing."""
    from datetime import UTC, datetime

    from rmj_dagster.partitions import ended_half_years, years
    from rmj_dagster.runner import ProcessSummary, _not_complete_yet

    last_year, last_half = years.get_partition_keys()[-1], ended_half_years(datetime.now(UTC))[-1]
    running = str(int(last_year) + 1)
    waiting = _not_complete_yet({"year": {last_year, running}, "half_year": {last_half, f"{running}-H2"}})
    assert waiting == [f"CEO {running}", f"CBS {running}-H2"]  # the ended ones are published, not waiting
    stale = f"CEO {last_year} out of date: 2 figure(s) differ from the publication (...); run `rmj publish ceo {last_year}`"
    text = str(ProcessSummary(deliveries={"loaded": 1}, not_yet_published=waiting, out_of_date=[stale]))
    assert f"  not due yet (period not ended): CEO {running}, CBS {running}-H2" in text
    assert f"  {stale}" in text
