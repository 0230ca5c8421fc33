"""The delivery sensor, tick by tick, with the cursor carried between ticks as Dagster would."""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path

import dagster as dg
import pytest

from rmj_dagster.landing import delivery_id_of, sha256_of
from rmj_dagster.partitions import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG, deliveries
from rmj_dagster.sensors import delivery_sensor

CEM_HEADER = "aanbieder_agb;bsn;geboortedatum;gemeentecode;toewijzingnummer;vragenlijst;invuldatum\n"


class Ticker:
    """Evaluates the sensor like the daemon: same instance, cursor from the previous tick."""

    def __init__(self, instance: dg.DagsterInstance):
        self.instance = instance
        self.cursor: str | None = None

    def tick(self) -> dg.SensorResult | dg.SkipReason:
        context = dg.build_sensor_context(instance=self.instance, cursor=self.cursor)
        result = delivery_sensor(context)
        if isinstance(result, dg.SensorResult):
            for request in result.dynamic_partitions_requests or []:
                self.instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
            self.cursor = result.cursor
        else:
            self.cursor = context.cursor
        return result


@pytest.fixture
def incoming(rmj_env) -> Path:
    return rmj_env["landing"] / "incoming"


@pytest.fixture
def ticker() -> Ticker:
    return Ticker(dg.DagsterInstance.ephemeral())


def drop(folder: Path, name: str, body: str, mtime: int = 1_700_000_000) -> Path:
    path = folder / name
    path.write_text(body, encoding="utf-8")
    os.utime(path, (mtime, mtime))
    return path


def test_a_new_file_is_requested_once_it_is_stable(incoming, ticker):
    path = drop(incoming, "cem_12345678_20250131.csv", CEM_HEADER + "12345678;111222333;2010-01-01;0363;1;OUDERS_EINDE;2025-01-31\n")

    first = ticker.tick()
    assert isinstance(first, dg.SkipReason) and "waiting for 1" in first.skip_message

    second = ticker.tick()
    assert isinstance(second, dg.SensorResult)
    key = delivery_id_of(sha256_of(path))
    assert [r.partition_key for r in second.run_requests] == [key]
    assert second.run_requests[0].run_key == sha256_of(path)
    assert ticker.instance.get_dynamic_partitions(deliveries.name) == [key]


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
    assert [r.partition_key for r in result.run_requests] == [key]
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
