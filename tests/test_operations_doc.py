"""docs/operations.md lists every message the sensors and ``rmj`` can give an operator, in the code's wording.

Each test makes the messages of one of the doc's tables the way the code makes them (a tick of the sensor
over a landing zone with a symlink in it, a key refused for each reason, ``rmj`` over a damaged warehouse …)
and matches every one against that table's templates: a template is the first column's code, ``<name>``
standing for any text without ``;``, ``N``/``S``/``M``/``n`` for a number and ``…`` for any text, and it must
cover the whole message (several are joined with ``; ``). A message reworded or added in code, or a row
deleted from the doc, fails; so does a row no message matches any more (the doc left behind).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import re
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from rmj_dagster import cli, codebook, local_instance, runner, warehouse
from rmj_dagster.intake.file_names import entry_label
from rmj_dagster.intake.landing_zone import (
    NOT_A_DELIVERY_MESSAGES,
    LandingZone,
    not_deliveries_message,
    unreadable_message,
)
from rmj_dagster.resources import LandingZoneResource
from rmj_dagster.sensors.delivery_sensor import DELIVERY_JOB_NAME
from rmj_dagster.sensors.half_year_sensor import half_year_sensor
from rmj_dagster.ttp.pseudonym import DEMO_KEY, KeyRefused, PseudonymKey
from tests.conftest import PROJECT_ROOT, TEST_KEY
from tests.test_delivery_sensor import Ticker

# the module itself: the package rmj_dagster.sensors exports the sensor under the module's name
sensor_module = importlib.import_module("rmj_dagster.sensors.delivery_sensor")
DOC = PROJECT_ROOT / "docs" / "operations.md"
CEM = ("aanbieder_agb;bsn;geboortedatum;gemeentecode;toewijzingnummer;vragenlijst;invuldatum\n"
       "12345678;999999999;2010-01-01;0363;1001;OUDERS_EINDE;2025-03-01\n")

_VARIABLE = re.compile(r"<[^<>]+>|…|\b[NSMn]\b")


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def templates(header: str) -> list[str]:
    """The code spans in the first column of the table in docs/operations.md whose first header cell is ``header``."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    for at, line in enumerate(lines):
        if line.startswith("|") and _cells(line)[0] == header:
            found = []
            for row in lines[at + 2:]:
                if not row.startswith("|"):
                    break
                found += re.findall(r"`([^`]+)`", _cells(row)[0])
            return found
    raise AssertionError(f"docs/operations.md has no table headed {header!r}")


def regex(template: str, named: dict[str, str]) -> str:
    """A template as a regular expression; ``named`` placeholders stand for another table's messages."""
    parts, at = [], 0
    for found in _VARIABLE.finditer(template):
        token = found.group()
        parts += [re.escape(template[at:found.start()]),
                  f"(?:{named[token]})" if token in named else ".*?" if token == "…"
                  else r"\d+" if len(token) == 1 else r"[^;]+?"]
        at = found.end()
    return "".join([*parts, re.escape(template[at:])])


class Table:
    """One table of the doc: which messages it covers, and which of its rows none of them matched."""

    def __init__(self, header: str, **named: Table):
        self.header = header
        self.rows = {t: regex(t, {f"<{k}>": v.joined for k, v in named.items()}) for t in templates(header)}
        assert self.rows, f"the table {header!r} lists no message"
        pattern = "|".join(f"(?:{r})" for r in self.rows.values())
        self.joined = f"(?:{pattern})(?:; (?:{pattern}))*"  # one or more of its messages, joined as the code joins them

    def check(self, produced: dict[str, str]) -> None:
        joined = re.compile(self.joined, re.S)
        undocumented = [f"{what}:\n    {message}" for what, message in produced.items() if not joined.fullmatch(message)]
        unmatched = [t for t, r in self.rows.items()
                     if not any(re.search(f"(?:^|; )(?:{r})(?=; |$)", m, re.S) for m in produced.values())]
        assert not undocumented, (f"not in docs/operations.md's table {self.header!r} (add a row, or reword it "
                                  "there too):\n  " + "\n  ".join(undocumented))
        assert not unmatched, (f"rows of docs/operations.md's table {self.header!r} that no message matches (the "
                               "code no longer says it: update the row):\n  " + "\n  ".join(unmatched))


def refusals() -> Table:
    return Table("refusal (`<why>`)")


def entries() -> Table:
    return Table("entry of incoming/")


# --- the pseudonym key --------------------------------------------------------------------------------

def refused(environ: dict[str, str]) -> str:
    with pytest.raises(KeyRefused) as raised:
        PseudonymKey.from_env(environ)
    return str(raised.value)


BAD_LABELS = {  # a label for each rule of label_problem
    "not letters, digits, _ or -": "rmj 2026",
    "six digits": "rmj123456",
    "numbers joined": "rmj-2026-1",
    "a month by a number": "rmj1juni",
    "digits reading as a date": "rmj1611",
}


def key_refusals(tmp_path: Path) -> dict[str, str]:
    """Every refusal of the pseudonym key, made by the code that refuses it."""
    open_to_others = tmp_path / "open.key"
    open_to_others.write_text(TEST_KEY)
    open_to_others.chmod(0o644)
    key = PseudonymKey.from_env({"RMJ_PSEUDONYM_KEY": TEST_KEY})
    made = {
        "no key": refused({}),
        "short key": refused({"RMJ_PSEUDONYM_KEY": "too-short"}),
        "missing key file": refused({"RMJ_PSEUDONYM_KEY_FILE": str(tmp_path / "missing.key")}),
        "key file open to others": refused({"RMJ_PSEUDONYM_KEY_FILE": str(open_to_others)}),
        "demo key": refused({"RMJ_PSEUDONYM_KEY": DEMO_KEY.decode()}),
    } | {f"label: {rule}": refused({"RMJ_PSEUDONYM_KEY": TEST_KEY, "RMJ_PSEUDONYM_KEY_LABEL": label})
         for rule, label in BAD_LABELS.items()}
    for what, labels, bindings in (("another label in the warehouse", {"rmj-other"}, {}),
                                   ("this label bound to another key", set(), {key.label: "0" * 32})):
        with pytest.raises(KeyRefused) as raised:
            key.refuse_to_mix(labels, bindings)
        made[what] = str(raised.value)
    return made


def test_every_refusal_of_the_pseudonym_key_is_in_the_doc(tmp_path):
    made = key_refusals(tmp_path)
    assert TEST_KEY not in "".join(made.values())
    refusals().check(made)


# --- the delivery sensor ------------------------------------------------------------------------------

class SensorLog(logging.Handler):
    """What a sensor logs: ``context.log`` is a logger of its own, outside the logging tree pytest's caplog reads."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def listened(context: dg.SensorEvaluationContext, log: SensorLog) -> dg.SensorEvaluationContext:
    context.log.addHandler(log)
    return context


class Zone:
    """A landing zone of its own and an instance of its own for one situation; ``tick`` evaluates the sensor."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch, instance: dg.DagsterInstance | None = None):
        self.root, self.monkeypatch, self.log = root, monkeypatch, SensorLog()
        self.incoming = root / "incoming"
        self.incoming.mkdir(parents=True)
        self.instance = instance or dg.DagsterInstance.ephemeral()
        self.ticker = Ticker(self.instance)

    def drop(self, name: str = "cem_12345678_20250301.csv", body: str = CEM, done: bool = True) -> Path:
        path = self.incoming / name
        path.write_text(body, encoding="utf-8")
        if done:
            (self.incoming / f"{name}.done").touch()
        return path

    @property
    def cursor(self) -> str | None:
        return self.ticker.cursor

    @cursor.setter
    def cursor(self, value: str | None) -> None:
        self.ticker.cursor = value

    def tick(self) -> dg.SensorResult | dg.SkipReason:
        self.monkeypatch.setenv("RMJ_LANDING_DIR", str(self.root))
        return self.ticker.tick({"landing": LandingZoneResource(root=str(self.root))}, self.log)

    def skip(self) -> str:
        result = self.tick()
        assert isinstance(result, dg.SkipReason), result
        return result.skip_message


def record_run(instance: dg.DagsterInstance, status: dg.DagsterRunStatus, run_key: str | None = None) -> None:
    """A deliveries run in the instance as the daemon would have launched it."""
    instance.add_run(dg.DagsterRun(job_name=DELIVERY_JOB_NAME, run_id=str(uuid.uuid4()), status=status,
                                   tags={"dagster/run_key": run_key} if run_key else {}))


def failed_deliveries_run(instance: dg.DagsterInstance, warehouse_file: Path | None = None) -> None:
    """A deliveries run that really failed (it has an end time): opening ``warehouse_file``, or in its step."""

    @dg.op
    def receive():
        if warehouse_file is None:
            raise RuntimeError("the step failed")
        with warehouse.connect(warehouse_file):
            pass

    @dg.job(name=DELIVERY_JOB_NAME)
    def deliveries_job():
        receive()

    assert not deliveries_job.execute_in_process(instance=instance, raise_on_error=False).success


def damaged_warehouse(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"DUCK" * 100)  # cut short, as by a full disk
    return path


def after_the_damage(zone: Zone) -> Zone:
    """``zone`` whose last deliveries run failed on a damaged warehouse (RMJ_WAREHOUSE), with a new file waiting."""
    zone.monkeypatch.setenv("RMJ_WAREHOUSE", str(damaged_warehouse(zone.root / "rmj.duckdb")))
    failed_deliveries_run(zone.instance, zone.root / "rmj.duckdb")
    zone.drop()
    return zone


def storage_unreachable(zone: Zone) -> Zone:
    """``zone`` whose instance storage does not answer (PostgreSQL stopped), with a new file waiting."""

    def unreachable(*args, **kwargs):
        raise ConnectionError("could not connect to server")
    zone.monkeypatch.setattr(zone.instance, "get_run_records", unreachable)
    zone.drop()
    return zone


@contextlib.contextmanager
def with_a_dead_run(home: Path) -> Iterator[dg.DagsterInstance]:
    """An instance holding the run of an ``rmj process`` that was killed (its process is gone)."""
    local_instance.ensure_home({"DAGSTER_HOME": str(home)})
    with dg.DagsterInstance.from_config(str(home)) as instance:
        boot = local_instance.process_identity().split(":")[0]
        dead = instance.create_run_for_job(dg.GraphDefinition(name="g").to_job(),
                                           tags={local_instance.PROCESS_TAG: f"{boot}:999999999:1"})
        instance.handle_run_event(dead.run_id, dg.DagsterEvent(
            event_type_value=dg.DagsterEventType.RUN_START.value, job_name=dead.job_name, message="started"))
        yield instance


def sensor_messages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The delivery sensor's skip reason in each situation it has one for, every note included."""
    monkeypatch.setenv("RMJ_SETTLE_SECONDS", "600")  # a file without a marker is complete only at the second look
    made: dict[str, str] = {}

    def zone(name: str) -> Zone:
        return Zone(tmp_path / name, monkeypatch)

    made["nothing new"] = zone("empty").skip()

    busy = zone("busy")
    busy.drop()
    record_run(busy.instance, dg.DagsterRunStatus.STARTED)
    made["a run under way"] = busy.skip()

    monkeypatch.setenv("RMJ_RETRY_BACKOFF_SECONDS", "3600")  # the backoff lasts, however slow this machine
    backing_off = zone("backing-off")
    failed_deliveries_run(backing_off.instance)
    backing_off.drop()
    made["after a failed run"] = backing_off.skip()

    made["run storage unavailable"] = storage_unreachable(zone("storage-down")).skip()

    writing = zone("writing")
    writing.drop(done=False)
    made["a file being written"] = writing.skip()

    given_up = zone("given-up")
    given_up.drop(done=False)
    given_up.tick()
    for _ in range(sensor_module.MAX_ATTEMPTS):
        request = given_up.tick().run_requests[0]
        record_run(given_up.instance, dg.DagsterRunStatus.FAILURE, request.run_key)  # ended, file left in incoming/
    made["a file given up"] = given_up.skip()

    claims = zone("claims")
    (claims.root / "received" / "0123456789abcdef").mkdir(parents=True)
    (claims.root / "received" / "0123456789abcdef" / "cem.csv").write_text(CEM)
    claims.cursor = sensor_module.DeliveryCursor(claims={"0123456789abcdef": sensor_module.MAX_ATTEMPTS}).dump()
    made["a claim given up"] = claims.skip()

    others = zone("not-deliveries")
    stale = datetime.now(UTC) - sensor_module.PARTIAL_GRACE - timedelta(hours=1)
    for name in ("upload.csv.part", ".DS_Store"):
        others.drop(name, done=False)
    os.utime(others.incoming / "upload.csv.part", (stale.timestamp(), stale.timestamp()))
    (others.incoming / "a folder").mkdir()
    (others.incoming / "link.csv").symlink_to(tmp_path)
    os.mkfifo(others.incoming / "pipe")
    made["entries that are not deliveries"] = others.skip()

    # as root every file is readable (tests/test_unreadable_delivery.py drops that power): the note as the sensor adds it
    made["a file this service cannot read"] = unreadable_message([entry_label(7), entry_label(8)])

    no_key = zone("no-key")
    no_key.drop()
    monkeypatch.delenv("RMJ_PSEUDONYM_KEY")
    made["no usable key"] = no_key.skip()
    monkeypatch.setenv("RMJ_PSEUDONYM_KEY", TEST_KEY)

    made["a damaged warehouse"] = after_the_damage(zone("damaged")).skip()  # the damage, not the backoff, is said
    return made


def test_every_skip_reason_of_the_delivery_sensor_is_in_the_doc(rmj_env, tmp_path, monkeypatch):
    Table("skip reason", why=refusals(), entries=entries()).check(sensor_messages(tmp_path, monkeypatch))


def test_every_entry_of_incoming_that_is_no_delivery_is_in_the_doc(tmp_path):
    zone = LandingZone(tmp_path).ensure()
    stale = (datetime.now(UTC) - sensor_module.PARTIAL_GRACE - timedelta(hours=1)).timestamp()
    (zone.incoming / "upload.csv.part").write_text(CEM)
    os.utime(zone.incoming / "upload.csv.part", (stale, stale))
    (zone.incoming / ".~lock.cem.csv#").write_text("")
    (zone.incoming / "2025").mkdir()
    (zone.incoming / "cem.csv").symlink_to(tmp_path)
    os.mkfifo(zone.incoming / "pipe")
    found = zone.not_deliveries(datetime.now(UTC).replace(tzinfo=None), sensor_module.PARTIAL_GRACE)
    assert {reason for _, reason in found} == set(NOT_A_DELIVERY_MESSAGES)  # a kind added in code needs its entry here
    entries().check({reason: not_deliveries_message([(label, reason)]).split(": ", 1)[1].rsplit(" (files named", 1)[0]
                     for label, reason in found})


def sensor_log_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """What the delivery sensor writes to its log, in each situation it writes something in."""
    monkeypatch.setenv("RMJ_SETTLE_SECONDS", "600")
    made: dict[str, str] = {}

    def logged(what: str, zone: Zone) -> None:
        zone.tick()
        assert zone.log.lines, what
        made.update({f"{what} ({n + 1})": line for n, line in enumerate(zone.log.lines)})

    requested = Zone(tmp_path / "requested", monkeypatch)
    requested.drop()
    logged("a run requested", requested)

    left = Zone(tmp_path / "claims", monkeypatch)
    (left.root / "received" / "0123456789abcdef").mkdir(parents=True)
    (left.root / "received" / "0123456789abcdef" / "cem.csv").write_text(CEM)
    logged("a claim requested again", left)

    finish = Zone(tmp_path / "finish", monkeypatch)
    record_run(finish.instance, dg.DagsterRunStatus.FAILURE)
    logged("the chain finished after a failed run", finish)

    with with_a_dead_run(tmp_path / "home") as instance:
        logged("a dead run cleaned up", Zone(tmp_path / "dead", monkeypatch, instance=instance))
    logged("run storage unavailable", storage_unreachable(Zone(tmp_path / "storage-down", monkeypatch)))

    others = Zone(tmp_path / "not-deliveries", monkeypatch)
    (others.incoming / "link.csv").symlink_to(tmp_path)
    logged("an entry that is not a delivery", others)

    no_key = Zone(tmp_path / "no-key", monkeypatch)
    no_key.drop()
    monkeypatch.delenv("RMJ_PSEUDONYM_KEY")
    logged("no usable key", no_key)
    monkeypatch.setenv("RMJ_PSEUDONYM_KEY", TEST_KEY)

    logged("a damaged warehouse", after_the_damage(Zone(tmp_path / "damaged", monkeypatch)))
    made["a file this service cannot read"] = unreadable_message([entry_label(7)])  # logged as it is
    return made


def test_every_line_the_delivery_sensor_logs_is_in_the_doc(rmj_env, tmp_path, monkeypatch):
    made = sensor_log_lines(tmp_path, monkeypatch)
    Table("log line", why=refusals(), entries=entries()).check(made)


def test_every_message_of_the_half_year_sensor_is_in_the_doc():
    instance, log = dg.DagsterInstance.ephemeral(), SensorLog()
    added = half_year_sensor(listened(dg.build_sensor_context(instance=instance), log))
    assert isinstance(added, dg.SensorResult)
    for request in added.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    skipped = half_year_sensor(dg.build_sensor_context(instance=instance))
    assert isinstance(skipped, dg.SkipReason)
    Table("half_years says").check({"log": log.lines[-1], "skip reason": skipped.skip_message})


# --- quarantine -----------------------------------------------------------------------------------------

def test_every_quarantine_reason_of_the_codebook_is_in_the_doc():
    codes = [row["reason_code"] for row in codebook.rows("quarantine_reasons")]
    Table("reason").check({code: code for code in codes})


# --- rmj ---------------------------------------------------------------------------------------------

def stderr_of(capsys, run, *args) -> str:
    capsys.readouterr()
    run(*args)
    return capsys.readouterr().err.strip()


def figures_warehouse(path: Path) -> None:
    """A warehouse with one published year's figures and no sources: what ``rmj explain`` and ``monitor`` read."""
    with warehouse.connect(path) as con:
        con.execute("create table marts.ceo_indicators (year int, period varchar, indicator varchar, area_code varchar, "
                    "respondent_group varchar, care_type varchar)")
        con.execute("insert into marts.ceo_indicators values (2025, '2025', 'pct_uitval', 'RMJ', 'ALL', 'ALL')")
        con.execute("create table marts.figure_sources (year int, area_type varchar, area_code varchar, indicator varchar, "
                    "respondent_group varchar, care_type varchar, n int, value double, published boolean, "
                    "delivery_id varchar, aanbieder_agb varchar, file_name varchar, received_at timestamp, "
                    "rows_contributed int)")
        con.execute("create table marts.delivery_monitor (month varchar, files_responses int, files_stop_zorg int, "
                    "files_goals int, files_quarantined int, trajectories_ended int)")
        con.execute("insert into marts.delivery_monitor values ('2025-03', 1, 0, 0, 0, 0)")


LOCK_HOLDER = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    print("held", flush=True)
    time.sleep(60)
""")


def rmj_messages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> dict[str, str]:
    """What ``rmj`` prints on stderr in each situation it has a message for, by its own code."""
    made: dict[str, str] = {}
    path = Path(os.environ["RMJ_WAREHOUSE"])
    town = codebook.rows("region")[0]["gemeentenaam"]

    monkeypatch.delenv("RMJ_PSEUDONYM_KEY")
    made["process without a key"] = stderr_of(capsys, lambda: cli.main(["process"]))
    monkeypatch.setenv("RMJ_PSEUDONYM_KEY", TEST_KEY)
    mixed = PseudonymKey.from_env({"RMJ_PSEUDONYM_KEY": TEST_KEY})
    made["a key that does not link"] = stderr_of(capsys, lambda: cli._reported(
        lambda reporter: mixed.refuse_to_mix({"rmj-other"}), cli.PROCESS_FAILED))

    for command in (["explain", "2025", "RMJ", "pct_uitval"], ["monitor"]):
        made[f"{command[0]} without a warehouse"] = stderr_of(capsys, cli.main, command)
    for kind, period in (("ceo", "20x5"), ("cbs", "2025-H3"), ("ceo", "2999"), ("ceo", "2000"), ("ceo", "2024")):
        made[f"publish {kind} {period}"] = stderr_of(capsys, cli.main, ["publish", kind, period])

    with warehouse.connect(path):
        pass  # a warehouse without figures
    made["explain before any figure"] = stderr_of(capsys, lambda: cli.main(["explain", "2025", "RMJ", "pct_uitval"]))
    made["monitor before the monitor"] = stderr_of(capsys, lambda: cli.main(["monitor"]))
    made["publish a year without data"] = stderr_of(capsys, lambda: cli.main(["publish", "ceo", "2024"]))
    figures_warehouse(path)
    for what, question in {
        "a year without figures": ["2024", "RMJ", "pct_uitval"],
        "an unknown indicator": ["2025", "RMJ", "pct_unknown"],
        "an area by name": ["2025", town, "pct_uitval"],
        "an unknown area code": ["2025", "9999", "pct_uitval"],
        "an unknown group": ["2025", "RMJ", "pct_uitval", "--group", "KINDEREN"],
        "an unknown care type": ["2025", "RMJ", "pct_uitval", "--care", "ANDERS"],
        "a suppressed figure": ["2025", "RMJ", "pct_uitval"],
    }.items():
        made[f"explain: {what}"] = stderr_of(capsys, cli.main, ["explain", *question])
    made["monitor: a year without deliveries"] = stderr_of(capsys, lambda: cli.main(["monitor", "--year", "2019"]))

    damaged = damaged_warehouse(tmp_path / "damaged.duckdb")
    monkeypatch.setenv("RMJ_WAREHOUSE", str(damaged))
    for what, command in (("process", ["process"]), ("explain", ["explain", "2025", "RMJ", "pct_uitval"]),
                          ("monitor", ["monitor"])):
        made[f"{what} on a damaged warehouse"] = stderr_of(capsys, cli.main, command)

    held = tmp_path / "held.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(held)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        lines = stderr_of(capsys, lambda: cli._reported(lambda reporter: warehouse.open_with_backoff(
            held, read_only=False, wait_seconds=1.0, report=reporter.line), cli.PROCESS_FAILED)).splitlines()
    finally:
        holder.kill()
        holder.wait(timeout=30)
    made["waiting for the warehouse"], made["a warehouse held too long"] = lines[0], lines[-1]

    def failing_run(reporter):
        @dg.op
        def step():
            raise RuntimeError("the step failed")

        @dg.job(name="deliveries_job")
        def job():
            step()
        runner._execute(job, dg.DagsterInstance.ephemeral())
    for what, failed in (("process", cli.PROCESS_FAILED), ("publish", cli.PUBLICATION_FAILED)):  # after Dagster's lines
        made[f"a failed run of rmj {what}"] = stderr_of(capsys, cli._reported, failing_run, failed).splitlines()[-1]

    with with_a_dead_run(tmp_path / "home") as instance:
        made["a dead run cleaned up"] = stderr_of(capsys, lambda: local_instance.reclaim_dead_runs(instance, log=runner.say))
    return made


def test_every_message_rmj_gives_on_stderr_is_in_the_doc(rmj_env, tmp_path, monkeypatch, capsys):
    made = rmj_messages(tmp_path, monkeypatch, capsys)
    told_badly = {what: m for what, m in made.items() if not m.startswith(("rmj: ", "[")) or "Traceback" in m}
    assert not told_badly, told_badly
    Table("message", why=refusals()).check(made)


def test_every_line_of_the_summary_that_asks_for_attention_is_in_the_doc(tmp_path):
    """``rmj process`` goes on past files it cannot take; its summary names them (stdout, exit 0)."""
    zone = LandingZone(tmp_path).ensure()
    (zone.incoming / "link.csv").symlink_to(tmp_path)
    shown = {
        "unreadable": runner.ProcessSummary(unreadable=["file #1"]),
        "not deliveries": runner.ProcessSummary(not_deliveries=zone.not_deliveries(datetime.now(), timedelta(0))),
        "still being written": runner.ProcessSummary(still_being_written=["file #1", "file #2"]),
        "quarantined": runner.ProcessSummary(quarantined=[("empty_file", 2, "cem_12345678_20250301_001, …")]),
    }
    plain = set(str(runner.ProcessSummary()).splitlines())
    made = {f"{what} ({n + 1})": line.strip() for what, summary in shown.items()
            for n, line in enumerate(line for line in str(summary).splitlines() if line not in plain)}
    Table("summary line", entries=entries()).check(made)
