"""The delivery sensor under random sequences of what happens in a landing zone (hypothesis).

Files dropped under odd names, grown while being written, marked done, renamed, deleted, touched; the
cursor garbled; ticks in between, each from the stored cursor as after a restart. The sensor never
raises, no content becomes a new delivery twice, a run key never stands for two partitions, and after
two quiet ticks every file left in incoming/ has been requested.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import dagster as dg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rmj_dagster.intake.landing_zone import delivery_id_of, sha256_of
from rmj_dagster.intake.partition_keys import delivery_id_of_key
from rmj_dagster.resources import LandingZoneResource
from rmj_dagster.sensors import delivery_sensor
from tests.conftest import TEST_KEY
from tests.hypothesis_profiles import examples

NAMES = st.sampled_from(["a.csv", "Export (3).CSV", "stop zorg jan.csv", "doelen_ü.csv", "x.xml", "y.csv.part", ".hidden", "z"])
BODIES = st.sampled_from([b"", b"aanbieder_agb;bsn\n", b"aanbieder_agb;bsn\n1;2\n", b"<Bericht/>", b"\xff\xfe\x00junk"])
ACTIONS = st.one_of(
    st.tuples(st.just("drop"), NAMES, BODIES),
    st.tuples(st.just("append"), NAMES, BODIES),
    st.tuples(st.just("done"), NAMES, st.none()),
    st.tuples(st.just("rename"), NAMES, NAMES),
    st.tuples(st.just("delete"), NAMES, st.none()),
    st.tuples(st.just("touch"), NAMES, st.none()),
    st.tuples(st.just("garble"), st.none(), st.none()),
    st.tuples(st.just("tick"), st.none(), st.none()),
)


def _apply(incoming: Path, action: tuple, clock: list[int]) -> None:
    kind, name, arg = action
    clock[0] += 7
    path = incoming / name if name else None
    if kind == "drop":
        path.write_bytes(arg)
        os.utime(path, ns=(clock[0] * 10**9, clock[0] * 10**9))
    elif kind == "append" and path.exists():
        with path.open("ab") as handle:
            handle.write(arg or b"x")
        os.utime(path, ns=(clock[0] * 10**9, clock[0] * 10**9))
    elif kind == "done" and path.exists():
        (incoming / f"{name}.done").write_text("")
    elif kind == "rename" and path.exists() and name != arg:
        path.rename(incoming / arg)
    elif kind == "delete":
        path.unlink(missing_ok=True)
    elif kind == "touch" and path.exists():
        os.utime(path, ns=(clock[0] * 10**9, clock[0] * 10**9))


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ACTIONS, min_size=1, max_size=25))
def test_any_sequence_of_events_never_crashes_and_never_requests_a_content_twice_as_new(actions):
    folder = Path(tempfile.mkdtemp())
    old = os.environ.get("RMJ_LANDING_DIR")
    os.environ["RMJ_LANDING_DIR"] = str(folder)
    saved_key = {name: os.environ.pop(name, None) for name in ("RMJ_PSEUDONYM_KEY", "RMJ_PSEUDONYM_KEY_FILE", "RMJ_PSEUDONYM_KEY_LABEL")}
    os.environ["RMJ_PSEUDONYM_KEY"] = TEST_KEY  # without a usable key the sensor requests nothing
    try:
        incoming = folder / "incoming"
        incoming.mkdir()
        instance = dg.DagsterInstance.ephemeral()
        cursor, clock = None, [1_700_000_000]
        new_deliveries: list[str] = []
        run_keys: dict[str, str] = {}  # run key -> partition it was requested for
        for action in [*actions, ("tick", None, None), ("tick", None, None)]:
            if action[0] == "garble":
                cursor = "{broken"
                continue
            if action[0] != "tick":
                _apply(incoming, action, clock)
                continue
            # a fresh context from the stored cursor each tick, as after a daemon restart
            context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"landing": LandingZoneResource(root=str(folder))})
            result = delivery_sensor(context)  # must never raise
            if isinstance(result, dg.SensorResult):
                for request in result.dynamic_partitions_requests or []:
                    new_deliveries += [delivery_id_of_key(k) for k in request.partition_keys]
                    instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
                for run in result.run_requests:
                    assert run.run_key not in run_keys or run_keys[run.run_key] == run.partition_key
                    run_keys[run.run_key] = run.partition_key
                cursor = result.cursor
            else:
                cursor = context.cursor
        assert len(new_deliveries) == len(set(new_deliveries))  # each content becomes a partition once
        # after two quiet ticks every file in incoming/ is complete and its content has been requested
        for path in incoming.iterdir():
            if path.is_file() and not path.name.startswith(".") and not path.name.endswith((".part", ".done")):
                assert delivery_id_of(sha256_of(path)) in new_deliveries, path.name
    finally:
        for name, value in saved_key.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if old is None:
            os.environ.pop("RMJ_LANDING_DIR", None)
        else:
            os.environ["RMJ_LANDING_DIR"] = old
        shutil.rmtree(folder, ignore_errors=True)
