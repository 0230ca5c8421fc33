"""The landing zone's two rules, as ``rmj process`` applies them: complete files only, and arrival order
is when the pipeline saw the bytes, not the provider's mtime."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import duckdb
import pytest

from rmj_dagster.intake.landing_zone import FileState, LandingZone, is_complete
from rmj_dagster.runner import process

CEM_HEADER = "aanbieder_agb;bsn;geboortedatum;gemeentecode;toewijzingnummer;vragenlijst;invuldatum;q09\n"
STOP_HEADER = "aanbieder_agb;bsn;geboortedatum;gemeentecode;toewijzingnummer;begindatum;einddatum;reden_beeindiging;status_aanlevering\n"
BSNS = ["111222333", "123456782", "999999990", "100000009", "100000010"]  # pass the 11-proef

WRITER = """
import sys, time
path, rows = sys.argv[1], int(sys.argv[2])
with open(path, "a", encoding="utf-8") as out:
    out.write(sys.argv[3])
    out.flush()
    print("started", flush=True)
    for i in range(rows):
        out.write(f"12345678;111222333;2010-03-15;0363;{i + 1};OUDERS_EINDE;2025-03-01;8\\n")
        out.flush()
        time.sleep(0.02)
"""


def test_the_rule_is_a_marker_or_the_same_size_and_mtime_as_an_earlier_look():
    state = FileState("a.csv", 10, 5)
    assert is_complete(state, [10, 5], False) and is_complete(state, None, True)
    assert not is_complete(state, None, False) and not is_complete(state, [9, 5], False) and not is_complete(state, [10, 4], False)


def test_a_file_untouched_for_the_settle_time_is_complete_on_one_look_whatever_its_mtime(tmp_path):
    zone = LandingZone(tmp_path).ensure()
    path = zone.incoming / "cem.csv"
    path.write_text(CEM_HEADER, encoding="utf-8")
    os.utime(path, ns=(0, 0))  # a copy that kept an old mtime: only the ctime says when it was written
    (state,) = zone.scan()
    assert state.changed_ns > 0
    assert zone.complete([state], {}, quiet_since_ns=state.changed_ns - 1) == ([], [state])  # touched since
    assert zone.complete([state], {}, quiet_since_ns=state.changed_ns) == ([state], [])  # untouched since

    slept = []
    assert zone.look_twice(30, sleep=slept.append) == ([state], []) and slept == [pytest.approx(30, abs=1)]  # just written: two looks
    time.sleep(0.2)
    slept.clear()
    assert zone.look_twice(0.1, sleep=slept.append) == ([state], []) and slept == []  # left alone: one look

    path.write_text(CEM_HEADER, encoding="utf-8")  # written again: two looks, and work done between them
    first = zone.first_look(1.0)                   # (rmj process sets up meanwhile) counts toward the wait
    time.sleep(0.4)
    slept.clear()
    assert zone.second_look(first, 1.0, sleep=slept.append)[0] == zone.scan() and 0 < slept[0] <= 0.6  # at most what is left of the second; more work between, less left


@pytest.mark.slow  # whole `rmj process` runs: a minute or more on the shared machine
def test_rmj_process_leaves_a_file_still_being_written_and_takes_it_whole_next_time(rmj_env, monkeypatch):
    monkeypatch.setenv("RMJ_SETTLE_SECONDS", "1")
    path = rmj_env["landing"] / "incoming" / "cem_groeiend.csv"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), "300", CEM_HEADER], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "started"
    try:
        summary = process()  # runs while the provider's upload is still growing
    finally:
        writer.wait(timeout=60)
    assert summary.still_being_written == [f"file #{path.stat().st_ino}"] and not summary.deliveries.get("loaded")
    assert path.exists()
    assert not rmj_env["warehouse"].exists() or _rows(rmj_env["warehouse"]) == 0

    summary = process()  # the upload is finished: all 300 rows, from one delivery
    assert summary.deliveries == {"loaded": 1} and _rows(rmj_env["warehouse"]) == 300


def _rows(db) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("select count(*) from pseudo.responses").fetchone()[0]


@pytest.mark.slow  # whole `rmj process` runs: a minute or more on the shared machine
def test_a_correction_with_an_older_mtime_than_its_original_still_wins(rmj_env):
    incoming = rmj_env["landing"] / "incoming"
    original = incoming / "stopzorg_jan.csv"
    original.write_text(STOP_HEADER + "12345678;111222333;2010-01-01;0363;7;2024-01-01;2025-01-31;31;1\n", encoding="utf-8")
    os.utime(original, (1_740_000_000, 1_740_000_000))
    process()
    correction = incoming / "stopzorg_jan_correctie.csv"  # copied with its timestamps kept: an OLDER mtime
    correction.write_text(STOP_HEADER + "12345678;111222333;2010-01-01;0363;7;2024-01-01;2025-01-20;33;2\n", encoding="utf-8")
    os.utime(correction, (1_730_000_000, 1_730_000_000))
    process()
    with duckdb.connect(str(rmj_env["warehouse"]), read_only=True) as con:
        ends = con.execute("select einddatum::varchar from intermediate.cleaned_stop_zorg").fetchall()
        order = con.execute("select file_name from audit.deliveries order by received_at").fetchall()
    assert ends == [("2025-01-20",)]  # the correction, seen last, wins
    assert [n.split("_")[:3] + n.split("_")[4:] for (n,) in order] == [["stop", "zorg", "12345678", "001.csv"],
                                                                         ["stop", "zorg", "12345678", "002.csv"]]


def test_files_first_seen_in_one_look_are_ordered_by_mtime_and_later_looks_come_after(tmp_path):
    zone = LandingZone(tmp_path).ensure()
    for name, mtime in (("b.csv", 200), ("a.csv", 100)):
        (zone.incoming / name).write_text(name)
        os.utime(zone.incoming / name, (mtime, mtime))
    first = {s.name: s.first_seen_us for s in zone.scan()}
    assert first["a.csv"] < first["b.csv"]
    time.sleep(0.01)
    (zone.incoming / "old.csv").write_text("old")
    os.utime(zone.incoming / "old.csv", (1, 1))  # the oldest mtime of all
    again = {s.name: s.first_seen_us for s in zone.scan()}
    assert again["a.csv"] == first["a.csv"] and again["old.csv"] > first["b.csv"]
    assert [s.name for s in zone.scan()] == ["a.csv", "b.csv", "old.csv"]
    assert oct(os.stat(zone.state / "arrivals.json").st_mode & 0o777) == "0o600"


def test_a_claim_keeps_its_first_seen_time(tmp_path):
    zone = LandingZone(tmp_path).ensure()
    (zone.incoming / "x.csv").write_text("x")
    seen = zone.scan()[0].first_seen_us
    zone.claim("x.csv", "0123456789abcdef")
    zone.scan()  # a look after the claim forgets the name in incoming/, not the claim
    assert zone.first_seen_of_claim("0123456789abcdef") == seen


def test_the_arrival_record_keeps_no_name_and_goes_with_the_file(tmp_path):
    """Issue 23: ``state/arrivals.json`` kept every raw file name after the originals were destroyed."""
    zone = LandingZone(tmp_path).ensure()
    names = ["Jansen 123.456.782 1 juni 2011.csv", "kopie 12345\u200b6782.csv"]
    for name in names:
        (zone.incoming / name).write_text(name)
    first = {s.name: s for s in zone.scan()}
    state = "".join(p.read_bytes().decode("utf-8", "replace") for p in zone.state.iterdir() if p.is_file())
    assert not [t for t in ("Jansen", "123.456.782", "juni", "kopie", "\u200b", "\\u200b", ".csv") if t in state]
    again = {s.name: s for s in LandingZone(tmp_path).scan()}  # another process: the same tags and arrival times
    assert {n: (s.token, s.first_seen_us) for n, s in again.items()} == {n: (s.token, s.first_seen_us) for n, s in first.items()}
    assert (zone.state / "name.key").stat().st_mode & 0o077 == 0

    zone.claim(names[0], "0123456789abcdef")  # claimed: its arrival moves to the delivery id
    zone.dispose(zone.incoming / names[1], retain=False)  # a copy destroyed: its arrival goes with it
    record = json.loads((zone.state / "arrivals.json").read_text())
    assert record["incoming"] == {} and record["claims"] == {"0123456789abcdef": first[names[0]].first_seen_us}


def test_dispose_all_destroys_each_original_and_forgets_their_arrivals_at_once(tmp_path, monkeypatch):
    """The TTP step destroys a batch's originals together: each file goes (its claim folder too), and the
    arrivals of the claims and of a copy in incoming/ are forgotten in one rewrite of the record."""
    zone = LandingZone(tmp_path).ensure()
    for name in ("a.csv", "b.csv", "copy.csv"):
        (zone.incoming / name).write_text(name)
    zone.scan()
    paths = [zone.claim("a.csv", "a" * 16), zone.claim("b.csv", "b" * 16), zone.incoming / "copy.csv"]
    looks = []
    real = LandingZone._arrivals
    monkeypatch.setattr(LandingZone, "_arrivals", lambda self: looks.append(1) or real(self))

    assert zone.dispose_all(paths, retain=False) == [None, None, None]
    assert len(looks) == 1
    assert not [p for p in paths if p.exists()] and not list(zone.received.iterdir())
    record = json.loads((zone.state / "arrivals.json").read_text())
    assert record["incoming"] == {} and record["claims"] == {}

    (zone.incoming / "c.csv").write_text("c")
    zone.scan()
    kept = zone.dispose_all([zone.claim("c.csv", "c" * 16)], retain=True)  # development: kept, not destroyed
    assert kept == [zone.retained / ("c" * 16) / "c.csv"] and kept[0].read_text() == "c"


def test_claim_all_moves_each_file_and_its_arrival_with_two_rewrites_of_the_record(tmp_path, monkeypatch):
    """The receipt claims a run's files together: each keeps its first-seen time under its delivery id, the
    record is rewritten before the first move and after the last, not once per file."""
    zone = LandingZone(tmp_path).ensure()
    for name in ("a.csv", "b.csv", "c.csv"):
        (zone.incoming / name).write_text(name)
    seen = {s.name: s.first_seen_us for s in zone.scan()}
    looks = []
    real = LandingZone._arrivals
    monkeypatch.setattr(LandingZone, "_arrivals", lambda self: looks.append(1) or real(self))

    claimed = zone.claim_all([("a.csv", "a" * 16), ("b.csv", "b" * 16), ("c.csv", "c" * 16)])
    assert len(looks) == 2
    assert claimed == [zone.received / (n * 16) / f"{n}.csv" for n in "abc"] and not list(zone.incoming.iterdir())
    record = json.loads((zone.state / "arrivals.json").read_text())
    assert record["incoming"] == {} and record["claims"] == {n * 16: seen[f"{n}.csv"] for n in "abc"}


def test_a_quarantined_file_keeps_its_audit_row_when_the_receipt_fails_after_moving_it(tmp_path, monkeypatch):
    """The receipt moves an unreadable file to quarantine before the run's other receipts are recorded: a
    failure after the move (here: destroying the copies of known bytes) must not leave a quarantined file that
    no audit row names, as a rerun no longer finds it in incoming."""
    import logging

    from rmj_dagster import warehouse
    from rmj_dagster.assets.intake import delivery_assets
    from rmj_dagster.intake.landing_zone import delivery_id_of, sha256_of
    from rmj_dagster.warehouse import ddl

    zone = LandingZone(tmp_path / "landing").ensure()
    bad = zone.incoming / "bad.csv"
    bad.write_text("naam;leeftijd\nJan;12\n")
    (zone.incoming / "bad.csv.done").touch()
    delivery_id = delivery_id_of(sha256_of(bad))

    def fails(self, paths, retain):
        raise OSError("disk full")

    with warehouse.connect(tmp_path / "w.duckdb") as con:
        ddl.ensure_tables(con)
        files = delivery_assets._files_by_delivery(zone, {delivery_id})
        monkeypatch.setattr(LandingZone, "dispose_all", fails)
        with pytest.raises(OSError, match="disk full"):
            delivery_assets.receive_all(con, zone, [delivery_id], files, False, logging.getLogger("test"))
        assert not bad.exists() and any(zone.quarantine_dir.rglob("*.reason.json"))
        assert con.execute("select status, reason_code from audit.deliveries where delivery_id = ?",
                           [delivery_id]).fetchall() == [("quarantined", "unknown_kind")]
        assert con.execute("select outcome from audit.file_receipts where delivery_id = ?", [delivery_id]).fetchall() \
            == [("quarantined",)]
