"""The delivery sensor, tick by tick, with the cursor carried between ticks as Dagster would."""

from __future__ import annotations

import importlib
import json
import os
import uuid
from pathlib import Path

import dagster as dg
import pytest

from rmj_dagster.intake.landing_zone import delivery_id_of, sha256_of
from rmj_dagster.intake.partition_keys import delivery_id_of_key
from rmj_dagster.partitions import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG, deliveries
from rmj_dagster.resources import LandingZoneResource
from rmj_dagster.sensors import delivery_sensor

CEM_HEADER = "aanbieder_agb;bsn;geboortedatum;gemeentecode;toewijzingnummer;vragenlijst;invuldatum\n"


def landing_resources() -> dict:
    """The landing zone resource as the code location builds it (from RMJ_LANDING_DIR)."""
    return {"landing": LandingZoneResource(root=os.environ["RMJ_LANDING_DIR"])}


class Ticker:
    """Evaluates the sensor like the daemon: same instance, cursor from the previous tick."""

    def __init__(self, instance: dg.DagsterInstance):
        self.instance = instance
        self.cursor: str | None = None

    def tick(self, resources: dict | None = None, log_handler=None) -> dg.SensorResult | dg.SkipReason:
        """One evaluation as the daemon makes it: its partition requests added, its cursor kept."""
        context = dg.build_sensor_context(instance=self.instance, cursor=self.cursor,
                                          resources=resources or landing_resources())
        if log_handler is not None:
            context.log.addHandler(log_handler)
        result = delivery_sensor(context)
        if isinstance(result, dg.SensorResult):
            for request in result.dynamic_partitions_requests or []:
                self.instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
            self.cursor = result.cursor
        else:
            self.cursor = context.cursor
        return result


@pytest.fixture
def incoming(rmj_env, monkeypatch) -> Path:
    # files here are dropped a moment before the tick: with a long settle time none counts as untouched,
    # so the rule shown is the one of two looks (the one-look rule has its own test below)
    monkeypatch.setenv("RMJ_SETTLE_SECONDS", "600")
    return rmj_env["landing"] / "incoming"


@pytest.fixture
def ticker() -> Ticker:
    return Ticker(dg.DagsterInstance.ephemeral())


def drop(folder: Path, name: str, body: str, mtime: int = 1_700_000_000) -> Path:
    path = folder / name
    path.write_text(body, encoding="utf-8")
    os.utime(path, (mtime, mtime))
    return path


def test_a_file_untouched_for_the_settle_time_is_requested_on_the_first_tick(incoming, ticker, monkeypatch):
    path = drop(incoming, "cem_12345678_20250131.csv", CEM_HEADER + "12345678;111222333;2010-01-01;0363;1;OUDERS_EINDE;2025-01-31\n")
    first = ticker.tick()
    assert isinstance(first, dg.SkipReason) and "waiting for 1" in first.skip_message  # written just now
    monkeypatch.setenv("RMJ_SETTLE_SECONDS", "0.2")
    path.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")  # touched again: the look changes
    import time

    time.sleep(0.3)
    second = ticker.tick()  # a changed look, but nothing touched it for the settle time
    assert isinstance(second, dg.SensorResult)
    assert [delivery_id_of_key(r.partition_key) for r in second.run_requests] == [delivery_id_of(sha256_of(path))]


def test_a_new_file_is_requested_once_it_is_stable(incoming, ticker):
    path = drop(incoming, "cem_12345678_20250131.csv", CEM_HEADER + "12345678;111222333;2010-01-01;0363;1;OUDERS_EINDE;2025-01-31\n")

    first = ticker.tick()
    assert isinstance(first, dg.SkipReason) and "waiting for 1" in first.skip_message

    second = ticker.tick()
    assert isinstance(second, dg.SensorResult)
    key = delivery_id_of(sha256_of(path))
    assert [delivery_id_of_key(r.partition_key) for r in second.run_requests] == [key]
    assert second.run_requests[0].run_key == sha256_of(path)
    assert ticker.instance.get_dynamic_partitions(deliveries.name) == [second.run_requests[0].partition_key]


def test_a_new_delivery_gets_a_readable_key_and_known_bytes_keep_theirs(incoming, ticker):
    """The key reads as the content's provider and kind and the month first seen; a re-drop of known bytes (in a
    later month, under another name) is requested under the key the instance has, an old hash-only key too."""
    from datetime import UTC, datetime

    months = {datetime.now(UTC).strftime("%Y%m")}
    path = drop(incoming, "Jansen 01-06-2011.csv", CEM_HEADER + "74968677;111222333;2010-01-01;0363;1;OUDERS_EINDE;2025-01-31\n")
    ticker.tick()
    (request,) = ticker.tick().run_requests
    months.add(datetime.now(UTC).strftime("%Y%m"))  # the first look fell between the two
    agb, kind, month, delivery_id = request.partition_key.split("-")
    assert (agb, kind, delivery_id) == ("74968677", "responses", delivery_id_of(sha256_of(path))) and month in months
    path.unlink()  # processed

    later = Ticker(dg.DagsterInstance.ephemeral())  # an instance that saw these bytes in January 2024, and others before
    first_key = f"74968677-responses-202401-{delivery_id}"  # readable keys, and an old hash-only one
    old = drop(incoming, "b.csv", CEM_HEADER)
    old_key = delivery_id_of(sha256_of(old))
    later.instance.add_dynamic_partitions(deliveries.name, [first_key, old_key])
    drop(incoming, "later.csv", CEM_HEADER + "74968677;111222333;2010-01-01;0363;1;OUDERS_EINDE;2025-01-31\n")
    later.tick()
    result = later.tick()
    assert not result.dynamic_partitions_requests  # no new partition
    assert later.instance.get_dynamic_partitions(deliveries.name) == [first_key, old_key]
    tags = result.run_requests[0].tags
    assert (tags[PARTITION_RANGE_START_TAG], tags[PARTITION_RANGE_END_TAG]) == (first_key, old_key)


def test_the_same_file_is_not_requested_twice(incoming, ticker):
    drop(incoming, "a.csv", CEM_HEADER)
    ticker.tick()
    assert isinstance(ticker.tick(), dg.SensorResult)
    again = ticker.tick()  # the run has not moved it yet
    assert isinstance(again, dg.SkipReason)


def test_a_file_still_being_written_is_left_alone(incoming, ticker):
    path = drop(incoming, "growing.csv", CEM_HEADER, mtime=1_700_000_000)
    ticker.tick()
    drop(incoming, "growing.csv", CEM_HEADER + "12345678;", mtime=1_700_000_005)  # grew since the last look
    assert isinstance(ticker.tick(), dg.SkipReason)
    assert isinstance(ticker.tick(), dg.SensorResult)  # unchanged for one interval: complete
    assert path.exists()


def test_a_done_marker_makes_a_file_complete_at_once(incoming, ticker):
    drop(incoming, "b.csv", CEM_HEADER)
    (incoming / "b.csv.done").write_text("")
    result = ticker.tick()
    assert isinstance(result, dg.SensorResult) and len(result.run_requests) == 1


def test_partial_upload_names_are_ignored(incoming, ticker):
    drop(incoming, "upload.csv.part", CEM_HEADER)
    ticker.tick()
    assert isinstance(ticker.tick(), dg.SkipReason)


def test_many_new_files_make_one_run_over_their_partitions(incoming, ticker):
    for i in range(5):
        drop(incoming, f"f{i}.csv", CEM_HEADER + f"12345678;111222333;2010-01-01;0363;{i};OUDERS_EINDE;2025-01-31\n")
    ticker.tick()
    result = ticker.tick()
    assert len(result.run_requests) == 1
    keys = ticker.instance.get_dynamic_partitions(deliveries.name)
    assert len(keys) == 5
    tags = result.run_requests[0].tags
    assert (tags[PARTITION_RANGE_START_TAG], tags[PARTITION_RANGE_END_TAG]) == (keys[0], keys[-1])


def test_same_bytes_under_two_names_are_one_delivery(incoming, ticker):
    drop(incoming, "x.csv", CEM_HEADER)
    drop(incoming, "Export (3).CSV", CEM_HEADER)
    ticker.tick()
    result = ticker.tick()
    assert len(ticker.instance.get_dynamic_partitions(deliveries.name)) == 1
    assert len(result.run_requests) == 1


def test_known_bytes_dropped_again_get_a_run_that_records_the_duplicate(incoming, ticker):
    first = drop(incoming, "x.csv", CEM_HEADER)
    ticker.tick()
    ticker.tick()
    first.unlink()  # the run processed and destroyed it
    drop(incoming, "x-again.csv", CEM_HEADER, mtime=1_700_000_100)
    ticker.tick()
    result = ticker.tick()
    key = delivery_id_of(sha256_of(incoming / "x-again.csv"))
    assert [delivery_id_of_key(r.partition_key) for r in result.run_requests] == [key]
    assert result.run_requests[0].run_key != sha256_of(incoming / "x-again.csv")  # not deduplicated away
    assert not result.dynamic_partitions_requests  # no new partition


def test_new_bytes_under_an_old_name_are_a_new_delivery(incoming, ticker):
    drop(incoming, "monthly.csv", CEM_HEADER)
    ticker.tick()
    ticker.tick()
    (incoming / "monthly.csv").unlink()
    drop(incoming, "monthly.csv", CEM_HEADER + "12345678;111222333;2010-01-01;0363;9;OUDERS_EINDE;2025-01-31\n", mtime=1_700_000_200)
    ticker.tick()
    ticker.tick()
    assert len(ticker.instance.get_dynamic_partitions(deliveries.name)) == 2


def test_a_restart_with_the_saved_cursor_does_not_request_again(incoming, ticker):
    drop(incoming, "a.csv", CEM_HEADER)
    ticker.tick()
    ticker.tick()
    restarted = Ticker(ticker.instance)
    restarted.cursor = ticker.cursor  # what the daemon stored
    assert isinstance(restarted.tick(), dg.SkipReason)
    assert json.loads(restarted.cursor)["requested"]


def test_a_garbled_cursor_does_not_crash_the_sensor(incoming, ticker):
    drop(incoming, "a.csv", CEM_HEADER)
    ticker.cursor = "{not json"
    assert isinstance(ticker.tick(), dg.SkipReason)


def test_a_file_that_vanishes_while_hashed_does_not_stop_the_others(incoming, ticker, monkeypatch):
    drop(incoming, "good.csv", CEM_HEADER)
    drop(incoming, "flaky.csv", CEM_HEADER + "x\n")
    ticker.tick()
    module = importlib.import_module("rmj_dagster.sensors.delivery_sensor")

    real = module.sha256_of

    def flaky(path: Path) -> str:
        if path.name == "flaky.csv":
            raise FileNotFoundError(path)
        return real(path)

    monkeypatch.setattr(module, "sha256_of", flaky)
    result = ticker.tick()
    assert isinstance(result, dg.SensorResult) and len(result.run_requests) == 1


def test_no_landing_zone_yet_is_a_skip_not_a_crash(tmp_path, monkeypatch, ticker):
    monkeypatch.setenv("RMJ_LANDING_DIR", str(tmp_path / "does-not-exist"))
    assert isinstance(ticker.tick(), dg.SkipReason)


# --- what a failed run leaves behind, corrections and bad files --------------------------------------

def record_run(instance: dg.DagsterInstance, run_key: str | None, status: dg.DagsterRunStatus, partition: str | None = None) -> None:
    """A deliveries_job run in the instance, as the daemon would have launched it."""
    tags = {"dagster/run_key": run_key} if run_key else {}
    if partition:
        tags["dagster/partition"] = partition
    instance.add_run(dg.DagsterRun(job_name=delivery_sensor_module().DELIVERY_JOB_NAME, run_id=str(uuid.uuid4()), tags=tags, status=status))


def delivery_sensor_module():
    return importlib.import_module("rmj_dagster.sensors.delivery_sensor")


def test_a_file_its_failed_run_left_in_incoming_is_requested_again_after_the_run_ended(incoming, ticker):
    path = drop(incoming, "a.csv", CEM_HEADER)
    ticker.tick()
    first = ticker.tick().run_requests[0]
    record_run(ticker.instance, first.run_key, dg.DagsterRunStatus.STARTED)
    assert isinstance(ticker.tick(), dg.SkipReason)  # its run is under way: hands off
    ticker.instance.delete_run(ticker.instance.get_run_records(limit=1)[0].dagster_run.run_id)
    record_run(ticker.instance, first.run_key, dg.DagsterRunStatus.FAILURE)  # ended without claiming it
    retry = ticker.tick()
    assert isinstance(retry, dg.SensorResult)
    assert [delivery_id_of_key(r.partition_key) for r in retry.run_requests] == [delivery_id_of(sha256_of(path))]
    assert retry.run_requests[0].run_key != first.run_key
    assert isinstance(ticker.tick(), dg.SkipReason)  # not again before the retry has run


def test_retries_stop_after_the_last_attempt(incoming, ticker):
    drop(incoming, "a.csv", CEM_HEADER)
    ticker.tick()
    run_key = ticker.tick().run_requests[0].run_key
    keys = [run_key]
    for _ in range(delivery_sensor_module().MAX_ATTEMPTS + 2):
        record_run(ticker.instance, keys[-1], dg.DagsterRunStatus.FAILURE)
        result = ticker.tick()
        if isinstance(result, dg.SensorResult):
            keys.append(result.run_requests[0].run_key)
    assert len(keys) == delivery_sensor_module().MAX_ATTEMPTS and len(set(keys)) == len(keys)


def test_a_delivery_left_in_received_is_requested_again_when_no_run_is_under_way(incoming, ticker, rmj_env):
    body = CEM_HEADER + "12345678;111222333;2010-01-01;0363;1;OUDERS_EINDE;2025-01-31\n"
    drop(incoming, "a.csv", body)
    ticker.tick()
    key = ticker.tick().run_requests[0].partition_key
    claim = rmj_env["landing"] / "received" / delivery_id_of_key(key)  # claims are folders by delivery id
    claim.mkdir(parents=True)
    (incoming / "a.csv").rename(claim / "a.csv")  # the run claimed it, then failed in the TTP step
    record_run(ticker.instance, None, dg.DagsterRunStatus.STARTED)
    assert isinstance(ticker.tick(), dg.SkipReason)  # a deliveries run is under way: it may be the one
    run_id = ticker.instance.get_run_records(limit=1)[0].dagster_run.run_id
    ticker.instance.delete_run(run_id)
    record_run(ticker.instance, None, dg.DagsterRunStatus.FAILURE)
    retry = ticker.tick()
    assert isinstance(retry, dg.SensorResult)
    assert [(r.partition_key, r.tags.get("rmj/retry")) for r in retry.run_requests] == [(key, "true")]
    for _ in range(5):
        ticker.tick()
    assert json.loads(ticker.cursor)["claims"][delivery_id_of_key(key)] == delivery_sensor_module().MAX_ATTEMPTS
    skip = ticker.tick()
    assert isinstance(skip, dg.SkipReason) and "see received/" in skip.skip_message


def test_a_correction_is_a_new_delivery(incoming, ticker):
    header = "aanbieder_agb;bsn;geboortedatum;gemeentecode;toewijzingnummer;begindatum;einddatum;reden_beeindiging;status_aanlevering\n"
    drop(incoming, "stop_jan.csv", header + "12345678;111222333;2010-01-01;0363;7;2024-01-01;2025-01-31;31;1\n")
    ticker.tick()
    ticker.tick()
    drop(incoming, "stop_jan_correctie.csv", header + "12345678;111222333;2010-01-01;0363;7;2024-01-01;2025-01-20;33;2\n", mtime=1_700_000_300)
    ticker.tick()
    result = ticker.tick()
    assert len(ticker.instance.get_dynamic_partitions(deliveries.name)) == 2
    assert result.dynamic_partitions_requests  # a partition of its own, processed after the first


def test_a_file_that_will_be_quarantined_is_requested_like_any_other(incoming, ticker):
    drop(incoming, "Doelrealisatie totaal.xlsx", "PK\x03\x04 not a delivery")
    drop(incoming, "good.csv", CEM_HEADER)
    ticker.tick()
    result = ticker.tick()  # the run quarantines it with a reason; the sensor does not judge content
    assert len(ticker.instance.get_dynamic_partitions(deliveries.name)) == 2 and len(result.run_requests) == 1


def test_a_file_completing_across_a_restart_is_requested_once(incoming, ticker):
    drop(incoming, "slow.csv", CEM_HEADER)
    ticker.tick()  # seen once, size noted
    restarted = Ticker(ticker.instance)
    restarted.cursor = ticker.cursor
    assert isinstance(restarted.tick(), dg.SensorResult)  # unchanged since the saved look: complete
    assert isinstance(restarted.tick(), dg.SkipReason)


def test_a_run_that_failed_after_loading_its_deliveries_is_finished_without_a_new_delivery(incoming, ticker):
    """Killed after the TTP step: nothing is left in incoming/ or received/, yet staging, reconciliation and the
    snapshot are stale. The next tick asks for the rest of the chain, once per failed run, and stops after the
    last attempt as for files."""
    sensor = delivery_sensor_module()
    record_run(ticker.instance, None, dg.DagsterRunStatus.FAILURE)
    finish = ticker.tick()
    assert isinstance(finish, dg.SensorResult), finish
    (request,) = finish.run_requests
    selected = {key.to_user_string() for key in request.asset_selection}
    assert {"intermediate/delivery_reconciliation", "snapshot/analyst_snapshot", "staging/stg_responses"} <= selected
    assert "audit/raw_provider_drops" not in selected  # no delivery is received again: the run stages what was left
    assert request.partition_key is None and request.tags[sensor.FINISH_TAG]
    assert "audit/delivery_outcome" not in selected  # the failed run had no deliveries to report
    record_run(ticker.instance, request.run_key, dg.DagsterRunStatus.SUCCESS)
    assert isinstance(ticker.tick(), dg.SkipReason)  # finished: nothing more
    for _ in range(sensor.MAX_ATTEMPTS):
        record_run(ticker.instance, None, dg.DagsterRunStatus.FAILURE)
    os.environ["RMJ_RETRY_BACKOFF_SECONDS"] = "0"
    try:
        assert isinstance(ticker.tick(), dg.SkipReason)  # three failures in a row: given up, a person looks
    finally:
        del os.environ["RMJ_RETRY_BACKOFF_SECONDS"]


@pytest.mark.parametrize("over", ["partition", "range"])
def test_the_run_finishing_a_failed_run_reports_its_deliveries(incoming, ticker, over):
    """The finish runs over the failed run's delivery partitions (its one partition, or its range) and includes
    ``delivery_outcome``, so those deliveries are materialized or observed, not left grey; a failed finish
    hands them on to the next one."""
    sensor = delivery_sensor_module()
    ticker.instance.add_dynamic_partitions(deliveries.name, ["a" * 16, "b" * 16, "c" * 16])
    tags = ({"dagster/partition": "b" * 16} if over == "partition"
            else {PARTITION_RANGE_START_TAG: "a" * 16, PARTITION_RANGE_END_TAG: "c" * 16})
    failed = dg.DagsterRun(job_name=sensor.DELIVERY_JOB_NAME, run_id=str(uuid.uuid4()), tags=tags, status=dg.DagsterRunStatus.FAILURE)
    ticker.instance.add_run(failed)
    (request,) = ticker.tick().run_requests
    assert "audit/delivery_outcome" in {key.to_user_string() for key in request.asset_selection}
    carried = {k: v for k, v in request.tags.items() if k.startswith("dagster/asset_partition_range")}
    assert (request.partition_key, carried) == (("b" * 16, {}) if over == "partition" else (None, tags))
    assert request.tags[sensor.FINISH_TAG] == failed.run_id
    # the finish fails in turn: the next one carries the same deliveries
    ticker.instance.add_run(dg.DagsterRun(job_name=sensor.DELIVERY_JOB_NAME, run_id=str(uuid.uuid4()), status=dg.DagsterRunStatus.FAILURE,
                                          tags={**request.tags, **({"dagster/partition": request.partition_key} if request.partition_key else {})}))
    os.environ["RMJ_RETRY_BACKOFF_SECONDS"] = "0"
    try:
        (again,) = ticker.tick().run_requests
    finally:
        del os.environ["RMJ_RETRY_BACKOFF_SECONDS"]
    assert (again.partition_key, again.tags.get(PARTITION_RANGE_START_TAG)) == (request.partition_key, request.tags.get(PARTITION_RANGE_START_TAG))


@pytest.mark.parametrize("over", ["partition", "range"])
def test_a_new_delivery_after_a_failed_run_is_requested_with_the_failed_runs_deliveries(incoming, ticker, over):
    """New files arrived before the tick that would have finished a run that failed after its TTP step: the new
    run goes over the failed run's deliveries too, so it reports their outcome with its own (none stays grey)."""
    sensor = delivery_sensor_module()
    ticker.instance.add_dynamic_partitions(deliveries.name, ["a" * 16, "b" * 16, "c" * 16])
    tags = ({"dagster/partition": "b" * 16} if over == "partition"
            else {PARTITION_RANGE_START_TAG: "a" * 16, PARTITION_RANGE_END_TAG: "b" * 16})
    ticker.instance.add_run(dg.DagsterRun(job_name=sensor.DELIVERY_JOB_NAME, run_id=str(uuid.uuid4()), tags=tags,
                                          status=dg.DagsterRunStatus.FAILURE))
    path = drop(incoming, "cem_12345678_20250131.csv", CEM_HEADER + "12345678;111222333;2010-01-01;0363;1;OUDERS_EINDE;2025-01-31\n")
    os.environ["RMJ_RETRY_BACKOFF_SECONDS"] = "0"
    try:
        ticker.tick()
        (request,) = ticker.tick().run_requests
    finally:
        del os.environ["RMJ_RETRY_BACKOFF_SECONDS"]
    new = next(k for k in ticker.instance.get_dynamic_partitions(deliveries.name) if delivery_id_of_key(k) == delivery_id_of(sha256_of(path)))
    assert request.partition_key is None and sensor.FINISH_TAG not in request.tags
    assert (request.tags[PARTITION_RANGE_START_TAG], request.tags[PARTITION_RANGE_END_TAG]) == ("b" * 16 if over == "partition" else "a" * 16, new)
    ticker.instance.add_run(dg.DagsterRun(job_name=sensor.DELIVERY_JOB_NAME, run_id=str(uuid.uuid4()), tags=request.tags,
                                          status=dg.DagsterRunStatus.SUCCESS))
    assert isinstance(ticker.tick(), dg.SkipReason)  # reported: no finish of the failed run follows


SECRET = "file-key-0123456789-0123456789-abcdef-secret"


def _no_key(monkeypatch, tmp_path):
    monkeypatch.delenv("RMJ_PSEUDONYM_KEY")


def _refused_label(monkeypatch, tmp_path):
    monkeypatch.setenv("RMJ_PSEUDONYM_KEY_LABEL", "2026-1")  # the label deploy/rmj.env once shipped


def _missing_key_file(monkeypatch, tmp_path):
    monkeypatch.delenv("RMJ_PSEUDONYM_KEY")
    monkeypatch.setenv("RMJ_PSEUDONYM_KEY_FILE", str(tmp_path / "credentials" / "pseudonym.key"))


def _key_file_open_to_others(monkeypatch, tmp_path):
    key_file = tmp_path / "pseudonym.key"
    key_file.write_text(SECRET)
    key_file.chmod(0o644)
    monkeypatch.delenv("RMJ_PSEUDONYM_KEY")
    monkeypatch.setenv("RMJ_PSEUDONYM_KEY_FILE", str(key_file))


def _short_key(monkeypatch, tmp_path):
    monkeypatch.setenv("RMJ_PSEUDONYM_KEY", "too-short-secret")


@pytest.mark.parametrize(("unusable", "said"), [
    (_no_key, "no pseudonym key: set RMJ_PSEUDONYM_KEY"),
    (_refused_label, "RMJ_PSEUDONYM_KEY_LABEL is refused"),
    (_missing_key_file, "cannot read the pseudonym key file"),
    (_key_file_open_to_others, "chmod 600"),
    (_short_key, "at least 32 are required"),
])
def test_without_a_usable_key_the_sensor_requests_nothing_and_says_why(incoming, ticker, rmj_env, monkeypatch, tmp_path,
                                                                        unusable, said, caplog):
    path = drop(incoming, "cem_12345678_20250131.csv", CEM_HEADER + "12345678;111222333;2010-01-01;0363;1;OUDERS_EINDE;2025-01-31\n")
    unusable(monkeypatch, tmp_path)
    ticker.tick()  # first look
    for _ in range(2):  # the file is complete now: still nothing, every tick, with the reason
        result = ticker.tick()
        assert isinstance(result, dg.SkipReason), "a run without a usable key fails at its first step and holds the warehouse"
        message = result.skip_message
        assert "no deliveries run requested (1 delivery(ies) wait)" in message and said in message
        assert "restart the daemon" in message and "files wait in incoming/" in message
        assert SECRET not in message and "too-short-secret" not in message and SECRET not in caplog.text
    assert not ticker.instance.get_runs() and not ticker.instance.get_dynamic_partitions(deliveries.name)
    assert not rmj_env["warehouse"].exists() and not rmj_env["warehouse"].parent.exists()  # never opened

    monkeypatch.setenv("RMJ_PSEUDONYM_KEY", SECRET)  # fixed (and the daemon restarted): the waiting file is taken
    monkeypatch.delenv("RMJ_PSEUDONYM_KEY_FILE", raising=False)
    monkeypatch.delenv("RMJ_PSEUDONYM_KEY_LABEL", raising=False)
    fixed = ticker.tick()
    assert isinstance(fixed, dg.SensorResult)
    assert [delivery_id_of_key(r.partition_key) for r in fixed.run_requests] == [delivery_id_of(sha256_of(path))]


def _fail_on_a_damaged_warehouse(instance: dg.DagsterInstance) -> None:
    """A deliveries_job run that fails as a real one does when DuckDB cannot read the warehouse."""
    from rmj_dagster.warehouse import WarehouseDamaged

    @dg.op
    def open_warehouse():
        raise WarehouseDamaged("the warehouse w.duckdb is damaged and cannot be opened (…). Restore it: stop the daemon …")

    @dg.job(name=delivery_sensor_module().DELIVERY_JOB_NAME)
    def damaged():
        open_warehouse()

    assert not damaged.execute_in_process(instance=instance, raise_on_error=False).success


def test_after_a_run_found_the_warehouse_damaged_nothing_is_requested_until_it_is_replaced(incoming, ticker, rmj_env, monkeypatch):
    monkeypatch.setenv("RMJ_RETRY_BACKOFF_SECONDS", "0")  # no backoff hides what the sensor would do
    warehouse = rmj_env["warehouse"]
    warehouse.parent.mkdir(parents=True)
    warehouse.write_bytes(b"DUCK" * 100)  # cut short
    _fail_on_a_damaged_warehouse(ticker.instance)
    path = drop(incoming, "cem_12345678_20250131.csv", CEM_HEADER + "12345678;111222333;2010-01-01;0363;1;OUDERS_EINDE;2025-01-31\n")
    (incoming / f"{path.name}.done").touch()
    for _ in range(2):  # a complete new file: still no run, every tick, with the damage and the restore steps
        result = ticker.tick()
        assert isinstance(result, dg.SkipReason), result
        assert "no deliveries run requested: deliveries run" in result.skip_message
        assert "is damaged and cannot be opened" in result.skip_message and "Restore it" in result.skip_message
        assert "once the warehouse file is replaced" in result.skip_message
    assert len(ticker.instance.get_runs()) == 1

    import time

    time.sleep(0.05)
    warehouse.write_bytes(warehouse.read_bytes())  # put back (the ctime moves on): runs may try again
    restored = ticker.tick()
    assert isinstance(restored, dg.SensorResult)
    assert [delivery_id_of_key(r.partition_key) for r in restored.run_requests] == [delivery_id_of(sha256_of(path))]
