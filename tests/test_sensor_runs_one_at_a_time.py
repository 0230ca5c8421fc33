"""The delivery sensor asks for one deliveries run at a time, covering everything due, with backoff."""

from __future__ import annotations

import json
import time
import uuid

import dagster as dg
import pytest

from rmj_dagster.intake.landing_zone import LandingZone, delivery_id_of, sha256_of
from rmj_dagster.intake.partition_keys import delivery_id_of_key
from rmj_dagster.partitions import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG, deliveries
from rmj_dagster.sensors.delivery_sensor import MAX_ATTEMPTS, RETRY_TAG, DeliveryCursor, Requested
from tests.test_delivery_sensor import CEM_HEADER, Ticker, drop


@pytest.fixture
def incoming(rmj_env, monkeypatch):
    monkeypatch.setenv("RMJ_SETTLE_SECONDS", "600")  # as in test_delivery_sensor: the rule of two looks
    return rmj_env["landing"] / "incoming"


@pytest.fixture
def ticker() -> Ticker:
    return Ticker(dg.DagsterInstance.ephemeral())


def row(i: int) -> str:
    return CEM_HEADER + f"12345678;111222333;2010-01-01;0363;{i};OUDERS_EINDE;2025-01-31\n"


def finish(instance: dg.DagsterInstance, status=dg.DagsterRunStatus.SUCCESS) -> None:
    """End every unfinished run the way its worker would (the end time is recorded)."""
    for record in instance.get_run_records():
        run = record.dagster_run
        if run.status == dg.DagsterRunStatus.STARTED:
            if status == dg.DagsterRunStatus.FAILURE:
                instance.report_run_failed(run)
            else:
                instance.report_dagster_event(
                    dg.DagsterEvent(event_type_value=dg.DagsterEventType.RUN_SUCCESS.value, job_name=run.job_name), run.run_id
                )


def launch(ticker: Ticker, result) -> str:
    """Record the run a tick requested as the daemon would have started it, returning its run key."""
    request = result.run_requests[0]
    tags = dict(request.tags) | {"dagster/run_key": request.run_key}
    if request.partition_key:
        tags["dagster/partition"] = request.partition_key
    ticker.instance.add_run(dg.DagsterRun(job_name="deliveries_job", run_id=str(uuid.uuid4()), tags=tags,
                                       status=dg.DagsterRunStatus.STARTED))
    return request.run_key


def test_an_old_positional_cursor_still_loads(incoming, ticker):
    path = drop(incoming, "a.csv", row(1))
    stat = path.stat()
    old = json.dumps({  # what the sensor stored before the cursor had named fields
        "pending": {"b.csv": [10, 1_700_000_000_000_000_000]},
        "requested": {"a.csv": [stat.st_size, stat.st_mtime_ns, "somekey", 2]},
        "claims": {"0123456789abcdef": 1},
    })
    cursor = DeliveryCursor.load(old)
    assert cursor.requested["a.csv"] == Requested(stat.st_size, stat.st_mtime_ns, "somekey", 2)
    assert cursor.pending == {"b.csv": [10, 1_700_000_000_000_000_000]} and cursor.claims == {"0123456789abcdef": 1}
    ticker.cursor = old
    assert isinstance(ticker.tick(), dg.SkipReason)  # its run is still to come: not requested again
    assert json.loads(ticker.cursor)["version"] == 4
    token = f"{stat.st_ino}:{LandingZone(incoming.parent).name_tag('a.csv')}"  # kept from now on by token, never by the name
    assert DeliveryCursor.load(ticker.cursor).requested[token].run_key == "somekey"
    assert "a.csv" not in ticker.cursor


def test_no_new_deliveries_run_while_one_is_queued_or_running(incoming, ticker):
    drop(incoming, "a.csv", row(1))
    ticker.tick()
    launch(ticker, ticker.tick())
    messages = []
    for i in range(2, 6):  # files keep arriving while the run is under way
        drop(incoming, f"f{i}.csv", row(i))
        for _ in range(2):
            skip = ticker.tick()
            assert isinstance(skip, dg.SkipReason)
            messages.append(skip.skip_message)
    assert sum("is queued or running" in m for m in messages) >= 4
    finish(ticker.instance)
    (incoming / "a.csv").unlink()  # the run took it
    result = ticker.tick()
    assert len(result.run_requests) == 1  # the four files that waited: complete by now, one run
    keys = ticker.instance.get_dynamic_partitions(deliveries.name)
    tags = result.run_requests[0].tags
    assert len(keys) == 5 and (tags[PARTITION_RANGE_START_TAG], tags[PARTITION_RANGE_END_TAG]) == (keys[1], keys[4])


def _a_run_died_after_claiming_one_of_three(incoming, ticker, rmj_env) -> str:
    """Three files in one run, which claimed f0 and failed (f1, f2 stay in incoming); then a new file
    with its marker arrives. Returns the claimed delivery's id."""
    for i in range(3):
        drop(incoming, f"f{i}.csv", row(i))
    ticker.tick()
    launch(ticker, ticker.tick())
    key = delivery_id_of(sha256_of(incoming / "f0.csv"))
    claim = rmj_env["landing"] / "received" / key
    claim.mkdir(parents=True)
    (incoming / "f0.csv").rename(claim / "f0.csv")  # claimed, then the run died: f1, f2 stay in incoming
    finish(ticker.instance, dg.DagsterRunStatus.FAILURE)
    drop(incoming, "new.csv", row(9), mtime=1_700_000_500)
    (incoming / "new.csv.done").write_text("")
    return key


def test_no_run_within_the_backoff_after_a_failed_run(incoming, ticker, rmj_env):
    _a_run_died_after_claiming_one_of_three(incoming, ticker, rmj_env)
    result = ticker.tick()  # the backoff (60 s after one failure) counts from the end of the failed run
    assert isinstance(result, dg.SkipReason) and "1 deliveries run(s) failed in a row; backing off" in result.skip_message


def test_after_the_backoff_one_run_takes_new_files_files_left_behind_and_claims(incoming, ticker, rmj_env, monkeypatch):
    monkeypatch.setenv("RMJ_RETRY_BACKOFF_SECONDS", "0.5")
    key = _a_run_died_after_claiming_one_of_three(incoming, ticker, rmj_env)
    time.sleep(0.6)
    result = ticker.tick()
    assert isinstance(result, dg.SensorResult) and len(result.run_requests) == 1
    request = result.run_requests[0]
    assert request.tags[RETRY_TAG] == "true"
    keys = ticker.instance.get_dynamic_partitions(deliveries.name)
    wanted = {key, delivery_id_of(sha256_of(incoming / "f1.csv")), delivery_id_of(sha256_of(incoming / "f2.csv")),
              delivery_id_of(sha256_of(incoming / "new.csv"))}
    covered = keys[keys.index(request.tags[PARTITION_RANGE_START_TAG]): keys.index(request.tags[PARTITION_RANGE_END_TAG]) + 1]
    assert wanted <= {delivery_id_of_key(k) for k in covered} and len(covered) == 4  # the claim by its known key
    assert json.loads(ticker.cursor)["claims"] == {key: 1}


def test_failures_in_a_row_back_off_longer_and_every_item_is_given_up_after_the_last_attempt(incoming, ticker, monkeypatch):
    from rmj_dagster.sensors.delivery_sensor import backoff_seconds

    assert [backoff_seconds(n) for n in (1, 2, 3)] == [60, 120, 240] and backoff_seconds(20) == 1800
    # backoffs of 1, 2, 4 … ms: each tick below comes 50 ms after the last, past the backoff of up to six
    # failures in a row, so only the bound on attempts can stop a further run
    monkeypatch.setenv("RMJ_RETRY_BACKOFF_SECONDS", "0.001")
    for i in range(4):
        drop(incoming, f"f{i}.csv", row(i))
    ticker.tick()
    runs = 0
    for _ in range(20):  # the warehouse stays locked: every run fails
        result = ticker.tick()
        if isinstance(result, dg.SensorResult):
            runs += 1
            launch(ticker, result)
            finish(ticker.instance, dg.DagsterRunStatus.FAILURE)
        time.sleep(0.05)
    assert runs == MAX_ATTEMPTS  # not one per file, not unbounded
    skip = ticker.tick()
    assert isinstance(skip, dg.SkipReason) and f"4 file(s) left in incoming/ after {MAX_ATTEMPTS} runs" in skip.skip_message
