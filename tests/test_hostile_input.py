"""Hostile and odd input never wedges the chain (issue 8, must-hold 7).

Every file here is written by hand, not by our generator. One landing zone holds all the cases and one
valid delivery; ``rmj process`` runs once over it (module fixture), then each test checks its own case:
what a provider would expect, and never a failed run or a silent loss.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from rmj_dagster.assets.asset_keys import asset_key
from rmj_dagster.assets.intake import delivery_assets
from rmj_dagster.assets.intake.delivery_observations import LOADED_CHECK
from rmj_dagster.intake.landing_zone import delivery_id_of
from rmj_dagster.intake.partition_keys import delivery_id_of_key
from rmj_dagster.partitions import deliveries
from rmj_dagster.resources import LandingZoneResource
from rmj_dagster.runner import process
from rmj_dagster.sensors.delivery_sensor import delivery_sensor
from rmj_dagster.ttp.pseudonym import PseudonymKey
from tests.conftest import TEST_KEY
from tests.jw307_samples import jw307

BSN = "111222333"
BSN_8 = "11222311"  # 011222311 passes the 11-proef: a spreadsheet dropped its one leading zero
HEADER = "aanbieder_agb;bsn;geboortedatum;gemeentecode;toewijzingnummer;vragenlijst;invuldatum;q01;q09;q10"


def cem(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def row(bsn: str = BSN, birth: str = "2010-03-15", invuld: str = "2025-03-01", toewijzing: str = "42", q09: str = "8") -> str:
    return f"12345678;{bsn};{birth};0363;{toewijzing};OUDERS_EINDE;{invuld};4;{q09};03"


ENTITY_XML = jw307().replace(
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE jw:Bericht [<!ENTITY c "45A01">]>',
).replace(">45A01<", ">&c;<")
XXE_XML = jw307(bsn="123456782").replace(
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE jw:Bericht [<!ENTITY x SYSTEM "file:///etc/hostname">]>',
).replace(">45A01<", ">&x;<")
LONG_BAD = "q" * 240 + "_onleesbaar.csv"  # 255 bytes: the longest name a file system allows
LONG_GOOD = "cem_" + "x" * 247 + ".csv"  # 255 bytes


def _files(outside: Path) -> dict[str, bytes]:
    """name in incoming/ -> bytes, one per case (plus an ordinary good delivery)."""
    return {
        "ok.csv": cem(row(), row(bsn="123456782", toewijzing="43")).encode(),
        "entity.xml": ENTITY_XML.encode(),
        "xxe.xml": XXE_XML.encode(),
        LONG_BAD: b"factuurnummer;bedrag\n1;2\n",
        LONG_GOOD: cem(row(toewijzing="44")).encode(),
        "two_digit_years.csv": cem(row(invuld="20-06-24", toewijzing="45"), row(birth="15-03-10", toewijzing="46"),
                                   row(toewijzing="47")).encode(),
        "short_bsn.csv": cem(row(bsn="140", toewijzing="48"), row(bsn=BSN_8, toewijzing="49")).encode(),
        "garbage_bsn.csv": cem(row(bsn="10", toewijzing="50"), row(toewijzing="51", q09="10")).encode(),
        "blank_lines.csv": (HEADER + "\n   \n" + row(toewijzing="52") + "\n\t\n \t \r\n" + row(toewijzing="53") + "\n  \n").encode(),
        "giant_cell.csv": cem(row(toewijzing="54") + ";" + "x" * 2_500_000, header=HEADER + ";opmerking").encode(),
        "giant_header.csv": cem(row(toewijzing="55") + ";1", header=HEADER + ";" + "h" * 10_000_000).encode(),
        "mixed_encoding.csv": (cem(row(toewijzing="56") + ";Jöhn", header=HEADER + ";opmerking").encode("utf-8")
                               + (row(toewijzing="57") + ";Dœ\n").encode("cp1252")),
        "boom.csv": b"#boom " + cem(row(bsn="123456782", toewijzing="58")).encode(),
    }


def did(content: bytes) -> str:
    return delivery_id_of(hashlib.sha256(content).hexdigest())


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    landing, outside = root / "landing", root / "outside"
    incoming = landing / "incoming"
    incoming.mkdir(parents=True)
    outside.mkdir()
    files = _files(outside)
    for name, content in files.items():
        (incoming / name).write_bytes(content)
    # Not deliveries: a dot-file, a temp name left for two days, a partial upload still being written,
    # a symlink to a valid delivery elsewhere, and a folder holding one.
    (incoming / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    old = (datetime.now(UTC) - timedelta(days=2)).timestamp()
    (incoming / "EXPORT.TMP").write_text(cem(row(toewijzing="60")))
    os.utime(incoming / "EXPORT.TMP", (old, old))
    (incoming / "upload.csv.part").write_text(cem(row(toewijzing="61")))
    target = outside / "elsewhere.csv"
    target.write_text(cem(row(toewijzing="62")))
    (incoming / "link.csv").symlink_to(target)
    (incoming / "Jansen 2011-06-01").mkdir()
    (incoming / "Jansen 2011-06-01" / "inside.csv").write_text(cem(row(toewijzing="63")))
    for name in files:  # complete: seen twice by the sensor or, here, marked done
        (incoming / f"{name}.done").touch() if len(name) < 250 else None

    real_inspect = delivery_assets.inspect_claimed

    def inspect_or_fail(path: Path):
        if path.read_bytes().startswith(b"#boom"):  # an unforeseen failure, quoting a path and a value
            raise RuntimeError(f"parser crashed on {path} at value {BSN}")
        return real_inspect(path)

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RMJ_LANDING_DIR", str(landing))
        mp.setenv("RMJ_WAREHOUSE", str(root / "w.duckdb"))
        mp.setenv("RMJ_EXPORT_DIR", str(root / "exports"))
        mp.setenv("RMJ_SNAPSHOT", str(root / "snapshot" / "rmj_marts.duckdb"))
        mp.setenv("DAGSTER_HOME", str(root / "dagster_home"))  # process() records its runs here, not in .dagster_home/
        mp.setenv("RMJ_PSEUDONYM_KEY", TEST_KEY)
        for name in ("RMJ_PSEUDONYM_KEY_FILE", "RMJ_PSEUDONYM_KEY_LABEL", "RMJ_DEMO_MODE", "RMJ_RETAIN_ORIGINALS"):
            mp.delenv(name, raising=False)
        mp.setattr(delivery_assets, "inspect_claimed", inspect_or_fail)
        instance = dg.DagsterInstance.ephemeral()  # in memory: half the cost of SQLite storage, the same records
        summary = process(instance=instance)  # raises PipelineFailed if any run failed
        sensor_result = delivery_sensor(dg.build_sensor_context(
            instance=dg.DagsterInstance.ephemeral(), resources={"landing": LandingZoneResource(root=str(landing))}))
    con = duckdb.connect(str(root / "w.duckdb"), read_only=True)
    yield {"root": root, "landing": landing, "files": files, "summary": summary, "con": con,
           "target": target, "sensor": sensor_result,
           "instance": instance}
    con.close()


def delivery(h, name: str) -> dict:
    con = h["con"]
    cursor = con.execute("select * from audit.deliveries where delivery_id = ?", [did(h["files"][name])])
    values = cursor.fetchone()
    assert values is not None, f"{name} has no audit row"
    return dict(zip([d[0] for d in cursor.description], values))


def rejects(h, name: str) -> list[str]:
    return [r for (r,) in h["con"].execute(
        "select reject_reason from staging.stg_responses where delivery_id = ? order by source_row",
        [did(h["files"][name])]).fetchall()]


def test_the_ordinary_delivery_beside_them_is_processed(hostile):
    assert delivery(hostile, "ok.csv")["status"] == "loaded"
    assert rejects(hostile, "ok.csv") == [None, None]
    assert not (hostile["landing"] / "incoming" / "ok.csv").exists()
    assert hostile["con"].execute("select count(*) from audit.deliveries where status not in ('loaded', 'quarantined')").fetchone()[0] == 0


def test_each_delivery_partition_shows_its_own_figures_only(hostile):
    """One run over every delivery, loaded and quarantined ones: a loaded delivery is a materialized partition of
    ``delivery_outcome`` holding its own figures; a quarantined one is no materialized partition (not green in the
    UI), its observation and check give its reason (issue 26). Receipt is unpartitioned, so no step copies a
    run's metadata onto the partitions."""
    instance, outcome = hostile["instance"], asset_key("delivery_outcome")
    own = {d: (status, name, read, accepted, rejected, reason) for d, status, name, read, accepted, rejected, reason in hostile["con"].execute(
        "select delivery_id, status, file_name, rows_read, rows_accepted, rows_rejected, quarantine_reason "
        "from intermediate.delivery_reconciliation").fetchall()}
    assert {v[0] for v in own.values()} == {"loaded", "quarantined"} and len(own) > 5
    key_of = {delivery_id_of_key(k): k for k in instance.get_dynamic_partitions(deliveries.name)}
    assert set(key_of) == set(own)
    loaded = {key_of[d] for d, v in own.items() if v[0] == "loaded"}
    assert instance.get_materialized_partitions(outcome) == loaded
    status = instance.get_status_by_partition(outcome, sorted(key_of.values()), deliveries)  # as the UI's partition bar shows it
    assert status == {k: dg.AssetPartitionStatus.MATERIALIZED if k in loaded else None for k in key_of.values()}
    assert all(r.partition_key is None for r in instance.fetch_materializations(asset_key("raw_provider_drops"), limit=10).records)
    checks = instance.event_log_storage.get_asset_check_execution_history(dg.AssetCheckKey(outcome, LOADED_CHECK), limit=1000)
    for delivery, (status, name, read, accepted, rejected, reason) in own.items():
        made = instance.fetch_materializations(dg.AssetRecordsFilter(outcome, asset_partitions=[key_of[delivery]]), limit=5).records
        seen = instance.fetch_observations(dg.AssetRecordsFilter(outcome, asset_partitions=[key_of[delivery]]), limit=5).records
        (event,) = [r.asset_materialization for r in made] if status == "loaded" else [r.asset_observation for r in seen]
        assert not (seen if status == "loaded" else made)
        shown = {k: v.value for k, v in event.metadata.items()}
        assert (shown["status"], shown["file_name"], shown["rows_read"], shown["rows_accepted"], shown["rows_rejected"],
                shown["quarantine_reason"], shown["dagster/row_count"]) == (status, name, read, accepted, rejected, reason or "", read)
        assert shown["delivery_id"] == delivery
        (check,) = [r.event.dagster_event.event_specific_data for r in checks if r.partition == key_of[delivery]]
        assert check.passed == (status == "loaded") and check.metadata["verified"].value == f"delivery {delivery}"


def test_a_delivery_partition_key_reads_as_provider_kind_and_month_from_the_content_only(hostile):
    """``<agb>-<kind>-<yyyymm>-<id>``: the AGB and month as the derived name has them (the content's AGB, the day
    first seen), the kind recognised from the content or ``onbekend``; never anything of the name as received,
    never a BSN- or date-shaped "AGB". Hostile files (garbage, a 10 MB header, XML with entities) get a key too."""
    import re

    keys = hostile["instance"].get_dynamic_partitions(deliveries.name)
    names = dict(hostile["con"].execute("select delivery_id, file_name from audit.deliveries").fetchall())
    kinds = dict(hostile["con"].execute("select delivery_id, kind from audit.deliveries where status = 'loaded'").fetchall())
    assert len(keys) == len(names) > 10
    for key in keys:
        agb, kind, month, delivery_id = re.fullmatch(
            r"(\d{8}|onbekend)-(responses|stop_zorg|goals|start_zorg|onbekend)-(\d{6})-([0-9a-f]{16})", key).groups()
        named_kind, named_agb, day, _ = names[delivery_id].split(".")[0].rsplit("_", 3)
        assert (agb, month) == (named_agb, day[:6]), (key, names[delivery_id])
        assert kind == kinds.get(delivery_id, kind)  # a loaded delivery's kind; a quarantined one's as its head reads
    readable = {k.rsplit("-", 1)[1]: k for k in keys}
    assert readable[did(hostile["files"]["ok.csv"])].startswith("12345678-responses-")
    assert readable[did(hostile["files"][LONG_BAD])].startswith("onbekend-onbekend-")  # no known kind, no AGB
    # a 10 MB header: its kind is in the head the key reads, its first record (the AGB) is not
    assert readable[did(hostile["files"]["giant_header.csv"])].startswith("onbekend-responses-")
    assert not any(part in "-".join(keys) for part in ("Jansen", "onleesbaar", BSN, "x" * 20))


@pytest.mark.parametrize("name", ["entity.xml", "xxe.xml"])
def test_a_doctype_is_refused_before_any_entity_is_expanded(hostile, name):
    row_ = delivery(hostile, name)
    assert (row_["status"], row_["reason_code"]) == ("quarantined", "xml_doctype_refused")
    assert hostile["con"].execute("select count(*) from pseudo.stop_zorg").fetchone()[0] == 0
    hostname = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").exists() else "\x00"
    assert hostname not in json.dumps(row_, default=str)
    assert (hostile["landing"] / "quarantine" / row_["delivery_id"] / row_["file_name"]).exists()  # the derived name


def test_an_unforeseen_failure_quarantines_with_a_safe_message(hostile):
    row_ = delivery(hostile, "boom.csv")
    assert (row_["status"], row_["reason_code"]) == ("quarantined", "unreadable_file")
    assert "RuntimeError" in row_["reason_message"]
    assert BSN not in row_["reason_message"] and "boom" not in row_["reason_message"]
    reason = json.loads(hostile["landing"].joinpath("quarantine", f"{row_['delivery_id']}.reason.json").read_text())
    assert reason["reason_code"] == "unreadable_file" and BSN not in json.dumps(reason)


def test_a_255_byte_name_is_quarantined_with_its_reason_and_audit_row(hostile):
    row_ = delivery(hostile, LONG_BAD)
    assert (row_["status"], row_["reason_code"]) == ("quarantined", "unknown_kind")
    folder = hostile["landing"] / "quarantine" / row_["delivery_id"]
    assert (folder / row_["file_name"]).exists() and folder.with_name(f"{row_['delivery_id']}.reason.json").exists()
    assert len(row_["file_name"]) <= 120 and not (folder / LONG_BAD).exists()  # the provider's name stays behind


def test_a_255_byte_good_file_is_loaded_and_recorded_as_destroyed(hostile):
    row_ = delivery(hostile, LONG_GOOD)
    assert row_["status"] == "loaded" and row_["destroyed_at"] is not None
    assert not (hostile["landing"] / "incoming" / LONG_GOOD).exists()
    receipts = hostile["con"].execute("select outcome, destroyed_at from audit.file_receipts where delivery_id = ?",
                                      [row_["delivery_id"]]).fetchall()
    assert [r[0] for r in receipts] == ["processed"] and receipts[0][1] is not None


def test_two_digit_years_reject_the_row_not_a_year_0020(hostile):
    assert rejects(hostile, "two_digit_years.csv") == ["date_invalid", "birthdate_invalid", None]
    years = hostile["con"].execute("select min(year(invuldatum)) from intermediate.cleaned_responses").fetchone()[0]
    assert years >= 2000


def test_short_bsns_are_rejected_and_an_eight_digit_one_gets_its_zero_back(hostile):
    assert rejects(hostile, "short_bsn.csv") == ["bsn_invalid_format", None]
    key = PseudonymKey(secret=TEST_KEY.encode(), label="x")
    stored = hostile["con"].execute("select pseudoniem from pseudo.responses where delivery_id = ? and source_row = 2",
                                    [did(hostile["files"]["short_bsn.csv"])]).fetchone()[0]
    assert stored == key.pseudonym("0" + BSN_8)


def test_a_garbage_bsn_equal_to_another_rows_answer_rejects_only_its_row(hostile):
    assert delivery(hostile, "garbage_bsn.csv")["status"] == "loaded"
    assert rejects(hostile, "garbage_bsn.csv") == ["bsn_invalid_format", None]


def test_whitespace_only_lines_are_blank_lines(hostile):
    row_ = delivery(hostile, "blank_lines.csv")
    assert (row_["status"], row_["rows_read"]) == ("loaded", 2)
    assert rejects(hostile, "blank_lines.csv") == [None, None]


def test_a_cell_over_two_megabytes_quarantines_with_a_readable_reason(hostile):
    row_ = delivery(hostile, "giant_cell.csv")
    assert (row_["status"], row_["reason_code"]) == ("quarantined", "line_too_long")
    assert "2,000,000 bytes" in row_["reason_message"] and len(row_["reason_message"]) < 200


def test_a_ten_megabyte_header_cell_is_not_stored(hostile):
    row_ = delivery(hostile, "giant_header.csv")
    assert row_["status"] == "loaded" and rejects(hostile, "giant_header.csv") == [None]  # an extra column, ignored
    stored = sum(len(str(v)) for v in row_.values() if v is not None)
    assert stored < 2_000, stored
    assert len(row_["extra_columns"]) <= 64


def test_mixed_encodings_in_one_file_are_quarantined(hostile):
    row_ = delivery(hostile, "mixed_encoding.csv")
    assert (row_["status"], row_["reason_code"]) == ("quarantined", "unreadable_encoding")
    assert "mixes UTF-8 and Windows-1252" in row_["reason_message"]


def test_entries_that_are_not_deliveries_are_reported_never_followed(hostile):
    incoming = hostile["landing"] / "incoming"
    inode = {name: os.lstat(incoming / name).st_ino for name in (".DS_Store", "EXPORT.TMP", "link.csv", "Jansen 2011-06-01")}
    reported = dict(hostile["summary"].not_deliveries)
    assert reported == {  # named by inode (ls -i incoming/), never by the name as received
        f"file #{inode['.DS_Store']}": "hidden_name",
        f"file #{inode['EXPORT.TMP']}": "still_being_written",  # unchanged for two days
        f"file #{inode['link.csv']}": "symlink",
        f"file #{inode['Jansen 2011-06-01']}": "directory",
    }, reported  # upload.csv.part is younger than the grace period: still being written, not reported
    assert (incoming / "link.csv").is_symlink() and hostile["target"].exists()
    assert (incoming / "Jansen 2011-06-01" / "inside.csv").exists()
    assert hostile["con"].execute(
        "select count(*) from pseudo.responses where toewijzingnummer in ('60', '61', '62', '63')").fetchone()[0] == 0
    text = str(hostile["summary"])
    assert f"file #{inode['link.csv']} is a symbolic link, never followed" in text and "Jansen" not in text
    skip = hostile["sensor"]
    assert isinstance(skip, dg.SkipReason) and "symbolic link" in skip.skip_message and "Jansen" not in skip.skip_message


def test_an_upgraded_instance_gets_its_delivery_partitions_back_from_one_run_of_delivery_outcome(hostile, monkeypatch):
    """A deployment from before issue 26 holds the delivery partitions but no delivery_outcome events: the one run
    docs/deployment.md gives (delivery_outcome over the whole range) materializes the loaded deliveries from the
    reconciliation and observes the quarantined ones, building nothing else."""
    from rmj_dagster.definitions import build_defs
    from rmj_dagster.partitions import range_tags

    monkeypatch.setenv("RMJ_WAREHOUSE", str(hostile["root"] / "w.duckdb"))
    # a mixed instance: deliveries from before readable keys hold their hash-only key (the delivery id itself)
    keys = [k if i % 2 else delivery_id_of_key(k) for i, k in enumerate(hostile["instance"].get_dynamic_partitions(deliveries.name))]
    assert any(k == delivery_id_of_key(k) for k in keys) and any(k != delivery_id_of_key(k) for k in keys)
    key_of = {delivery_id_of_key(k): k for k in keys}
    upgraded = dg.DagsterInstance.ephemeral()
    upgraded.add_dynamic_partitions(deliveries.name, keys)
    outcome = asset_key("delivery_outcome")
    job = build_defs().resolve_job_def("deliveries_job").get_subset(
        asset_selection={outcome}, asset_check_selection={dg.AssetCheckKey(outcome, LOADED_CHECK)})
    result = job.execute_in_process(instance=upgraded, tags=range_tags(keys))
    assert result.success
    own = dict(hostile["con"].execute("select delivery_id, status from intermediate.delivery_reconciliation").fetchall())
    assert upgraded.get_materialized_partitions(outcome) == {key_of[d] for d, s in own.items() if s == "loaded"}
    observed = {r.partition_key for r in upgraded.fetch_observations(outcome, limit=1000).records}
    assert observed == {key_of[d] for d, s in own.items() if s != "loaded"} and observed
    assert {e.asset_key for e in result.get_asset_materialization_events()} == {outcome}  # nothing else is built
