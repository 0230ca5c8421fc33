"""The data team's cockpit on real runs: the delivery monitor on generated monthly deliveries (one provider
sends a month's goals late), what the UI shows for a loaded and a quarantined delivery (read back through
the Dagster instance), and ``rmj explain`` / changed figures on hand-built deliveries with exact output."""

from __future__ import annotations

import json
import os
import re
import stat
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from rmj_dagster import cli, codebook, warehouse
from rmj_dagster.assets.asset_keys import asset_key
from rmj_dagster.assets.intake.delivery_observations import LOADED_CHECK
from rmj_dagster.cockpit import lineage, monitor
from rmj_dagster.generate import generate_deliveries
from rmj_dagster.generate.truth import replay_arrivals
from rmj_dagster.intake.landing_zone import LandingZone, delivery_id_of, sha256_of
from rmj_dagster.intake.partition_keys import delivery_id_of_key
from rmj_dagster.partitions import deliveries
from rmj_dagster.progress import Reporter
from rmj_dagster.publish.figures import indicators_path, read_published
from rmj_dagster.runner import process, publish
from tests.test_chain_exact_figures import valid_bsns

pytestmark = pytest.mark.slow  # a year of monthly deliveries through the whole chain, and the demo

# Under pytest-xdist the module's tests stay on one worker, so monthly_run is processed once (conftest.py, KEPT_TOGETHER).

TODAY = date(2026, 2, 20)


@pytest.fixture(scope="module")
def monthly_run(tmp_path_factory):
    """Generated monthly deliveries of 2025 with planted defects and bad files, processed once."""
    root = tmp_path_factory.mktemp("monthly")
    env = {"RMJ_LANDING_DIR": root / "landing", "RMJ_WAREHOUSE": root / "wh.duckdb", "RMJ_EXPORT_DIR": root / "exports",
           "RMJ_SNAPSHOT": root / "snapshot.duckdb", "DAGSTER_HOME": root / "dagster_home"}
    saved = {k: os.environ.get(k) for k in [*env, "RMJ_PSEUDONYM_KEY", "RMJ_DEMO_MODE"]}
    os.environ.update({k: str(v) for k, v in env.items()})
    os.environ["RMJ_PSEUDONYM_KEY"] = "test-key-0123456789-0123456789-0123456789"
    os.environ.pop("RMJ_DEMO_MODE", None)
    generate_deliveries(env["RMJ_LANDING_DIR"], seed=31, scale=0.1, years=[2025], defect_rate=0.02, today=TODAY, monthly=True)
    replay_arrivals(env["RMJ_LANDING_DIR"])  # as if the pipeline had watched the landing zone all year
    truth = json.loads((env["RMJ_LANDING_DIR"] / "generator_truth.json").read_text(encoding="utf-8"))
    instance = dg.DagsterInstance.ephemeral()
    lines = []
    summary = process(instance=instance, reporter=Reporter(stream=_Lines(lines), live=False))
    # a CEO year waits for an analyst: published on purpose, as `rmj publish ceo 2025` does
    published = publish("ceo", "2025", instance=instance, reporter=Reporter(stream=_Lines([]), live=False))
    yield {"env": env, "truth": truth, "instance": instance, "summary": summary, "published": published, "progress": lines}
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


class _Lines:
    """A pipe-like stream that keeps what was written."""

    def __init__(self, lines: list[str]):
        self.lines = lines

    def write(self, text: str) -> None:
        self.lines += [line for line in text.splitlines() if line]

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def _monitor(db: Path, sql: str, params=()) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def test_monitor_counts_agree_with_what_was_delivered(monthly_run):
    truth, db = monthly_run["truth"], monthly_run["env"]["RMJ_WAREHOUSE"]
    files = truth["files"].values()
    expected = Counter((f["received"][:7], f["kind"]) for f in files if f["outcome"] == "processed" and f["format"] == "csv")
    expected.update((f["received"][:7], "stop_zorg") for f in files if f["format"] == "jw307")
    found = Counter()
    for month, responses, stop_zorg, goals in _monitor(db, "select month, files_responses, files_stop_zorg, files_goals from marts.delivery_monitor"):
        found.update({(month, "responses"): responses, (month, "stop_zorg"): stop_zorg, (month, "goals"): goals})
    assert +found == +expected
    quarantined, accepted, rejected, ended = _monitor(
        db, "select sum(files_quarantined), sum(rows_accepted), sum(rows_rejected), sum(trajectories_ended) from marts.delivery_monitor")[0]
    assert quarantined == sum(truth["totals"]["quarantined_files"].values()) >= 10  # counted once, wherever quarantined
    assert rejected == sum(truth["totals"]["defects"].values())
    assert accepted + rejected == sum(truth["totals"]["rows"].values())
    assert ended == _monitor(db, "select count(*) from intermediate.cleaned_stop_zorg where einddatum is not null")[0][0]


def test_the_provider_that_skips_a_month_is_late_in_that_month_only_through_its_goals(monthly_run):
    late = monthly_run["truth"]["late_deliveries"]
    assert len(late) == 1
    agb, month = late[0]["agb"], late[0]["month"]
    rows = _monitor(monthly_run["env"]["RMJ_WAREHOUSE"],
                    "select month, trajectories_ended, ended_with_goal, ended_with_goal_in_time, late, status "
                    "from marts.delivery_monitor where aanbieder_agb = ? and month like '2025-%' order by month", [agb])
    by_month = {r[0]: r[1:] for r in rows}
    ended, with_goal, in_time, is_late, status = by_month[month]
    assert ended > 0 and with_goal > 0 and in_time == 0 and is_late and status == "late"  # they came, a month late
    # every other month is late exactly when under goals_on_time_min_share of its goal measurements came in time
    share = codebook.parameter("goals_on_time_min_share")
    assert share == 0.9
    due = [(m, v) for m, v in by_month.items() if m != month and m < "2025-12"]  # December's goals fall due after the cut-off
    assert due and all(lt == (e > 0 and (g == 0 or t < share * g)) for _, (e, g, t, lt, _) in due)
    assert any(not v[3] and v[2] > 0 for _, v in due)
    # the warning check names it, with its counts
    check = monthly_run["instance"].event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(asset_key("delivery_monitor"), "no_provider_late"), limit=1)[0]
    evaluation = check.event.dagster_event.event_specific_data
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
    named = evaluation.metadata["late_providers"].value
    assert month in named[agb]["months"] and named[agb]["trajectories_without_goal"] >= ended
    assert evaluation.metadata["period"].value == "2025"


def test_monitor_page_is_owner_only_and_opens_with_the_grid(monthly_run):
    page = monthly_run["env"]["RMJ_EXPORT_DIR"] / "monitor" / "2025.html"
    assert stat.S_IMODE(page.stat().st_mode) == 0o600
    assert stat.S_IMODE(page.parent.stat().st_mode) == 0o700
    text = page.read_text(encoding="utf-8")
    assert text.index('"type":"heatmap"') < text.index("<h2>Te laat</h2>")  # the grid comes first
    assert "plotly.js" in text and "<script src=" not in text  # self-contained
    late = monthly_run["truth"]["late_deliveries"][0]
    (with_goal,), = _monitor(monthly_run["env"]["RMJ_WAREHOUSE"], "select ended_with_goal from marts.delivery_monitor "
                             "where aanbieder_agb = ? and month = ?", [late["agb"], late["month"]])
    why = f"{monitor.dutch_month(late['month'])}: 0 van {with_goal} doelmetingen op tijd"
    assert re.search(rf"<li>{late['agb']} \(naam onbekend\): \d maand\(en\) te laat; [^<]*{why}", text)
    assert "minder dan 90% van de" in text  # the rule, with the codebook's threshold


def test_monitor_speaks_dutch_and_has_no_page_for_a_year_without_deliveries(monthly_run, capsys):
    folder = monthly_run["env"]["RMJ_EXPORT_DIR"] / "monitor"
    db = monthly_run["env"]["RMJ_WAREHOUSE"]
    ended_before = _monitor(db, "select count(*) from marts.delivery_monitor where month < '2025'")[0][0]
    assert ended_before > 0  # back-dated stop and start records reach earlier years ...
    assert sorted(p.name for p in folder.iterdir()) == ["2025.html", "2026.html"]  # ... but get no page
    text = (folder / "2025.html").read_text(encoding="utf-8")
    table = text[text.index("<h2>Per aanbieder en maand</h2>"):]
    planted = monthly_run["truth"]["totals"]["defects"]
    labels = {r["reason_code"]: r["label"] for r in codebook.rows("reject_reasons")}
    assert any(f"{labels[code]}: " in table for code in planted)
    assert not any(f"{code}=" in text or f"{code}:" in table for code in planted)  # no raw reason codes
    assert "maart 2025" in table and "2025-03" not in table

    os.environ.update({k: str(v) for k, v in monthly_run["env"].items()})
    assert cli.main(["monitor", "--year", "2031"]) == 1
    err = capsys.readouterr().err
    assert "there is no data for that year" in err and "Years with deliveries: 2025, 2026" in err
    assert cli.main(["monitor", "--year", "2025"]) == 0
    out = capsys.readouterr().out
    assert f"{monthly_run['truth']['late_deliveries'][0]['month']} 0 of " in out


def test_ui_shows_a_loaded_and_a_quarantined_delivery_for_what_they_are(monthly_run):
    """A loaded delivery is a materialized partition of delivery_outcome with its own figures; a quarantined one
    is not materialized (no green partition), its observation and failed check say why."""
    instance, db = monthly_run["instance"], monthly_run["env"]["RMJ_WAREHOUSE"]
    outcome = asset_key("delivery_outcome")
    loaded, quarantined = (
        _monitor(db, "select delivery_id, file_name, rows_read, rows_accepted, rows_rejected, quarantine_reason "
                     f"from intermediate.delivery_reconciliation where status = '{s}' order by rows_rejected desc, delivery_id limit 1")[0]
        for s in ("loaded", "quarantined")
    )
    # receipt is unpartitioned: its metadata is the audit table's and the run's, never a partition's
    assert instance.get_latest_materialization_event(asset_key("raw_provider_drops")).asset_materialization.partition is None
    key_of = {delivery_id_of_key(k): k for k in instance.get_dynamic_partitions(deliveries.name)}  # readable keys
    status = instance.get_status_by_partition(outcome, [key_of[loaded[0]], key_of[quarantined[0]]], deliveries)
    assert status == {key_of[loaded[0]]: dg.AssetPartitionStatus.MATERIALIZED, key_of[quarantined[0]]: None}
    for delivery, file_name, read, accepted, rejected, reason in (loaded, quarantined):
        made = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=outcome, asset_partitions=[key_of[delivery]]), limit=5).records
        observations = instance.fetch_observations(
            dg.AssetRecordsFilter(asset_key=outcome, asset_partitions=[key_of[delivery]]), limit=5).records
        if reason is None:
            assert made and not observations
            metadata = made[0].asset_materialization.metadata
        else:
            assert observations and not made
            metadata = observations[0].asset_observation.metadata
        assert metadata["file_name"].value == file_name and metadata["rows_read"].value == read
        assert (metadata["rows_accepted"].value, metadata["rows_rejected"].value) == (accepted, rejected)
        assert metadata["dagster/row_count"].value == read
        history = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(outcome, LOADED_CHECK), limit=1, partition_filter=None)
        records = [r for r in instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(outcome, LOADED_CHECK), limit=1000) if r.partition == key_of[delivery]]
        evaluation = records[0].event.dagster_event.event_specific_data
        assert evaluation.metadata["verified"].value == f"delivery {delivery}"
        assert history
        if reason is None:
            assert evaluation.passed and read > 0 and read == accepted + rejected
        else:
            assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
            assert reason in evaluation.description and metadata["quarantine_reason"].value == reason


def test_every_check_result_names_what_it_verified(monthly_run):
    storage = monthly_run["instance"].event_log_storage
    from rmj_dagster.definitions import defs

    for key in defs.resolve_asset_graph().asset_check_keys:
        for record in storage.get_asset_check_execution_history(key, limit=3):
            evaluation = record.event.dagster_event.event_specific_data
            if isinstance(evaluation, dg.AssetCheckEvaluation):  # not a planned (skipped) execution
                assert "verified" in evaluation.metadata, key.to_user_string()


def test_every_published_figure_adds_up_to_the_rows_of_its_deliveries(monthly_run):
    (figures, exact, published), = _monitor(monthly_run["env"]["RMJ_WAREHOUSE"], """
        with sources as (
            select year, area_type, area_code, indicator, respondent_group, care_type, sum(rows_contributed) as rows
            from marts.figure_sources where published group by all)
        select count(*), count(*) filter (where s.rows = c.n),
               (select count(*) from marts.ceo_indicators where not suppressed)
        from sources as s inner join marts.ceo_indicators as c
            using (year, area_type, area_code, indicator, respondent_group, care_type)""")
    assert figures == exact == published > 0


def test_every_figure_rmj_explain_and_the_changes_show_is_the_published_one(monthly_run):
    """marts.figure_sources holds each figure as indicators.csv publishes it: n_responses rounded like its n
    (never the count of the warehouse beside a rounded n), percentages and means with their one decimal."""
    published = {(r["area_code"], r["indicator"], r["respondent_group"], r["care_type"]): (r["value"], r["n"])
                 for r in read_published(indicators_path(monthly_run["env"]["RMJ_EXPORT_DIR"], 2025))
                 if r["suppressed"] != "true"}
    with warehouse.connect(monthly_run["env"]["RMJ_WAREHOUSE"], read_only=True) as con:
        shown = {(a, i, g, c): (str(v), str(n)) for a, i, g, c, v, n in con.execute(
            "select distinct area_code, indicator, respondent_group, care_type, value, n "
            "from marts.figure_sources where published and year = 2025").fetchall()}
    assert shown == published
    assert any(indicator == "n_responses" for _, indicator, _, _ in shown)


def test_process_reports_progress_per_stage_in_plain_lines(monthly_run):
    lines, summary = monthly_run["progress"], monthly_run["summary"]
    stages = [line for line in lines if "deliveries_job · " in line]
    done = next(line for line in stages if "intake: done" in line and "rows/s" in line)
    counted = re.search(r", (\d+)/(\d+), ([\d,]+) rows", done)  # every delivery counted, from the per-batch lines
    assert counted and counted.group(1) == counted.group(2) and int(counted.group(3).replace(",", "")) > 0
    assert len(lines) < 40  # one line per stage, never a flood
    text = str(summary)
    bad_files = sum(monthly_run["truth"]["totals"]["quarantined_files"].values())
    assert f"quarantined files ({bad_files}), by reason:" in text and "late this month:" in text
    assert "warning: marts/delivery_monitor:no_provider_late" in text


def test_publishing_warns_of_each_provider_without_a_name(monthly_run):
    """Seed 31's providers are not in codebook/aanbieders.csv: the warning check of the CEO year names every
    one of them when the year is published."""
    text = str(monthly_run["published"])
    warning = next(line for line in text.splitlines() if "every_provider_has_a_name" in line)
    assert warning.startswith("  warning: marts/ceo_indicators:every_provider_has_a_name (")
    with duckdb.connect(str(monthly_run["env"]["RMJ_WAREHOUSE"]), read_only=True) as con:
        published = [c for (c,) in con.execute("select distinct area_code from marts.ceo_indicators "
                                               "where area_type = 'aanbieder' and period = '2025'").fetchall()]
    assert published and all(agb in warning for agb in published)
    assert f"{len(published)} provider(s) of 2025 without a name" in warning


def test_every_demo_provider_has_a_name():
    """``rmj demo`` (seed 42, at any scale up to the region's) publishes no provider as a bare AGB code."""
    from rmj_dagster.generate import plan_providers
    from rmj_dagster.publish import dutch

    agbs = [plan.agb for plan in plan_providers(42, 1.0, with_ttp=True)]
    assert len(agbs) == 6 and dutch.unnamed_providers(agbs) == []
    assert dutch.unnamed_providers([*agbs, "70000000"]) == ["70000000"]
    assert all(not dutch.provider_name(agb).startswith("Aanbieder met AGB-code") for agb in agbs)


# ---------------------------------------------------------------------------------------------------------
# rmj explain and changed figures on hand-built deliveries

AGB_A, AGB_B = "12345678", "23456789"
HEADER = "aanbieder_agb;bsn;geboortedatum;gemeentecode;toewijzingnummer;begindatum;einddatum;reden_beeindiging;status_aanlevering"
BSNS = valid_bsns(20)


def _stop_file(incoming: Path, name: str, rows: list[tuple[str, int, str, str]], received: datetime) -> str:
    """rows: (agb, trajectory number, reden, status); returns the delivery id."""
    lines = [HEADER] + [f"{agb};{BSNS[n]};2012-05-01;0363;{4000 + n};2024-09-01;2025-03-01;{reden};{status}"
                        for agb, n, reden, status in rows]
    path = incoming / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.utime(path, (received.timestamp(), received.timestamp()))
    LandingZone(incoming.parent).replay_arrivals({name: received.astimezone(UTC).replace(tzinfo=None)})  # it arrived then
    return delivery_id_of(sha256_of(path))


def test_explain_lists_the_deliveries_behind_a_figure_and_a_correction_says_what_it_changed(rmj_env, capsys):
    incoming = rmj_env["landing"] / "incoming"
    first = _stop_file(incoming, "stopzorg_A_jan.csv", [(AGB_A, n, "32" if n < 2 else "31", "1") for n in range(8)],
                       datetime(2025, 4, 8, 9, 0, tzinfo=UTC))
    second = _stop_file(incoming, "stopzorg_A_feb.csv", [(AGB_A, n, "31", "1") for n in range(8, 12)],
                        datetime(2025, 5, 8, 9, 0, tzinfo=UTC))
    third = _stop_file(incoming, "stopzorg_B.csv", [(AGB_B, n, "32", "1") for n in range(12, 16)], datetime(2025, 5, 9, 9, 0, tzinfo=UTC))
    process()
    assert not (rmj_env["exports"] / "ceo" / "2025").exists()  # a CEO year waits for an analyst
    publish("ceo", "2025")
    assert cli.main(["explain", "2025", "RMJ", "pct_uitval"]) == 0
    stored = {  # as stored: derived from kind, the content's AGB, the day received and a number, never the name
        "stopzorg_A_jan.csv": f"stop_zorg_{AGB_A}_20250408_001.csv",
        "stopzorg_A_feb.csv": f"stop_zorg_{AGB_A}_20250508_001.csv",
        "stopzorg_B.csv": f"stop_zorg_{AGB_B}_20250509_001.csv",
    }
    width = max(len(s) for s in stored.values())
    assert capsys.readouterr().out == "\n".join([
        "2025 regio RMJ pct_uitval (group ALL, care ALL): value 37.5, n 15 (as published)",
        "3 deliveries, 16 rows:",
        f"  provider  delivery{' ' * 10}file{' ' * (width - 4)}  received at       rows",
        f"  {AGB_A}  {first}  {stored['stopzorg_A_jan.csv']:<{width}}  2025-04-08 09:00     8",
        f"  {AGB_A}  {second}  {stored['stopzorg_A_feb.csv']:<{width}}  2025-05-08 09:00     4",
        f"  {AGB_B}  {third}  {stored['stopzorg_B.csv']:<{width}}  2025-05-09 09:00     4",
    ]) + "\n"
    assert cli.main(["explain", "2025", "RMJ", "pct_doelrealisatie"]) == 1  # nothing published: says so
    # each dead end says which part of the question is unknown and what there is instead
    for question, answer in (
        (["2031", "RMJ", "pct_uitval"], "no figures published for 2031: published years are 2025"),
        (["2025", "RMJ", "pct_doelrealisatie"], "no published figure for indicator 'pct_doelrealisatie' in 2025; "
                                                "indicators of 2025: "),
        (["2025", "Amsterdam", "pct_uitval"], "'Amsterdam' is a name, not an area code: ask for 0363 "
                                              "(rmj explain 2025 0363 pct_uitval)"),
        (["2025", "9999", "pct_uitval"], "no published figure for area code '9999' in 2025; area codes of 2025: "),
        (["2025", AGB_B, "pct_uitval"], f"2025 {AGB_B} pct_uitval (group ALL, care ALL) is suppressed (niet getoond)"),
    ):
        capsys.readouterr()
        assert cli.main(["explain", *question]) == 1
        assert capsys.readouterr().err.startswith("rmj: " + answer), question
    capsys.readouterr()

    # a correction: provider A changes two endings to uitval (status 2); the region's uitval goes 6 -> 8 of 16
    correction = _stop_file(incoming, "stopzorg_A_correctie.csv", [(AGB_A, n, "32", "2") for n in (2, 3)],
                            datetime(2025, 6, 2, 9, 0, tzinfo=UTC))
    folder = rmj_env["exports"] / "ceo" / "2025"
    before = {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    processed = process()
    # published figures do not change under their readers: the files stand, the year shows as out of date
    assert {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()} == before
    assert len(processed.out_of_date) == 1, processed.out_of_date
    stale = processed.out_of_date[0]
    assert stale.startswith("CEO 2025 out of date: ") and stale.endswith("run `rmj publish ceo 2025`")
    assert "regio RMJ pct_uitval (group ALL, care ALL): 37.5 (n 15) -> 50.0 (n 15)" in stale
    assert stale in str(processed)
    with duckdb.connect(str(rmj_env["warehouse"]), read_only=True) as con:  # the check left the marts as published
        assert con.execute("select count(distinct publication_id) from audit.published_figures").fetchone()[0] == 1
    summary = publish("ceo", "2025")  # the analyst publishes anew
    assert summary.out_of_date == []  # and the check says so at once
    assert {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()} != before
    assert process().out_of_date == []  # current again
    changed = "\n".join(summary.changed_figures)
    # as indicators.csv shows them: one decimal, always written ("50.0", not "50"), n rounded
    assert (f"2025 regio RMJ pct_uitval (group ALL, care ALL): 37.5 (n 15) -> 50.0 (n 15); new deliveries: "
            f"{AGB_A} stop_zorg_{AGB_A}_20250602_001.csv ({correction})") in changed
    assert "published figures changed by this run (" in str(summary)
    published = {(r["area_code"], r["indicator"], r["respondent_group"], r["care_type"]): (r["value"], r["n"])
                 for r in read_published(indicators_path(rmj_env["exports"], 2025)) if r["suppressed"] != "true"}
    with warehouse.connect(rmj_env["warehouse"], read_only=True) as con:
        changes = lineage.changed_figures(con, [2025])
    assert changes
    for change in changes:  # every changed figure shows the values of indicators.csv (none where it is gone)
        f = change.figure
        shown = published.get((f.area_code, f.indicator, f.respondent_group, f.care_type), (None, None))
        assert (change.value, None if change.n is None else str(change.n)) == shown, str(change)
    # this run: the one correction (2 rows), not the three deliveries before it; those are in the totals
    assert processed.deliveries == {"loaded": 1} and processed.rows == {"read": 2, "accepted": 2, "rejected": 0}
    assert processed.totals["deliveries"] == {"loaded": 4} and processed.totals["rows"]["read"] == 18
    with duckdb.connect(str(rmj_env["warehouse"]), read_only=True) as con:
        unchanged = con.execute("select count(*) from marts.figure_sources where not changed and indicator = 'pct_uitval' and published").fetchone()[0]
        rows = con.execute("select delivery_id, rows_contributed from marts.figure_sources where area_code = 'RMJ' "
                           "and indicator = 'pct_uitval' order by received_at").fetchall()
    assert rows == [(first, 6), (second, 4), (third, 4), (correction, 2)]  # the corrected records now come from it
    assert unchanged >= 0


def test_demo_plants_defects_and_bad_files_by_default_and_says_what_became_of_them(rmj_env, capsys):
    assert cli.main(["demo", "--scale", "0.05", "--years", "2025"]) == 0
    out = capsys.readouterr().out
    truth = json.loads((rmj_env["landing"] / "generator_truth.json").read_text(encoding="utf-8"))
    assert truth["generator"]["defect_rate"] == 0.02 and truth["generator"]["monthly"]
    planted, quarantined = truth["totals"]["defects"], truth["totals"]["quarantined_files"]
    assert planted and quarantined  # the first run shows what rejection and quarantine look like
    with duckdb.connect(str(rmj_env["warehouse"]), read_only=True) as con:
        rejected = dict(con.execute("select reason_code, count(*) from intermediate.rejected_rows group by 1").fetchall())
        held = dict(con.execute("select quarantine_reason, count(*) from intermediate.delivery_reconciliation "
                                "where status = 'quarantined' group by 1").fetchall())
    assert rejected == planted and held == quarantined  # the truth file still matches exactly
    assert f"quarantined files ({sum(quarantined.values())}), by reason:" in out
    for reason, n in quarantined.items():
        assert f"  {reason} {n}: " in out
    assert truth["late_deliveries"]  # one provider sends a month's goals late: the monitor has something to show
    assert "Leveringsmonitor 2025" in (rmj_env["exports"] / "monitor" / "2025.html").read_text(encoding="utf-8")
    assert "rejected rows by reason: " + ", ".join(f"{r} {n}" for r, n in sorted(planted.items(), key=lambda i: (-i[1], i[0]))) in out
