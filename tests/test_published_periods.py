"""Which periods ``rmj process`` republishes: half-years run together, each period remembers what it published."""

import time

import dagster as dg

from rmj_dagster import runner
from rmj_dagster.partitions import half_years


def test_changed_half_years_run_in_stretches_of_neighbours():
    order = half_years.get_partition_keys()
    assert runner._consecutive(["2024-07-01", "2025-01-01", "2025-07-01"], order) == [["2024-07-01", "2025-01-01", "2025-07-01"]]
    assert runner._consecutive(["2023-01-01", "2024-01-01", "2024-07-01"], order) == [["2023-01-01"], ["2024-01-01", "2024-07-01"]]
    assert runner._consecutive([], order) == []


def _published(instance: dg.DagsterInstance, job: str, fingerprints: dict[str, str]) -> None:
    run = instance.add_run(dg.DagsterRun(job_name=job, status=dg.DagsterRunStatus.SUCCESS))
    instance.add_run_tags(run.run_id, {runner._published_tag(key): fp for key, fp in fingerprints.items()})
    time.sleep(0.01)  # runs are told apart by their creation time


def test_a_period_stands_only_on_what_its_latest_publication_published():
    instance = dg.DagsterInstance.ephemeral()
    _published(instance, "cbs_extract_job", {"2025-01-01": "a1", "2025-07-01": "b1"})  # one run over both
    assert runner._published_as(instance, "cbs_extract_job", "2025-01-01", "a1")
    assert runner._published_as(instance, "cbs_extract_job", "2025-07-01", "b1")
    assert not runner._published_as(instance, "cbs_extract_job", "2025-07-01", "a1")
    assert not runner._published_as(instance, "ceo_indicators_job", "2025-01-01", "a1")  # another job
    _published(instance, "cbs_extract_job", {"2025-07-01": "b2"})  # the second half-year again, changed
    assert runner._published_as(instance, "cbs_extract_job", "2025-01-01", "a1")  # untouched by the later run
    assert not runner._published_as(instance, "cbs_extract_job", "2025-07-01", "b1")  # no longer what is published
    assert runner._published_as(instance, "cbs_extract_job", "2025-07-01", "b2")
    _published(instance, "cbs_extract_job", {"2025-07-01": "b1"})  # and back: the data returned to b1
    assert runner._published_as(instance, "cbs_extract_job", "2025-07-01", "b1")
    assert not runner._published_as(instance, "cbs_extract_job", "2025-07-01", "b2")


def test_one_run_over_the_half_years_writes_and_verifies_each_as_a_run_of_its_own(rmj_env, monkeypatch):
    """The CBS files of a range run are those of a run per half-year, and its check holds every half-year
    of the range, not the first alone: a BSN planted in the second one fails it, naming that period."""
    import json
    from datetime import date

    from rmj_dagster.assets import publication_assets
    from rmj_dagster.definitions import build_defs
    from rmj_dagster.generate import generate_deliveries
    from rmj_dagster.jobs import CBS_JOB_NAME
    from rmj_dagster.partitions import range_tags

    generate_deliveries(rmj_env["landing"], seed=22, scale=0.1, years=[2025], today=date(2026, 11, 22))
    instance = dg.DagsterInstance.ephemeral()
    runner.process(instance=instance)  # publishes 2025-H1 and 2025-H2 in one run
    cbs = rmj_env["exports"] / "cbs"

    def provider_files() -> dict[str, bytes]:
        return {str(p.relative_to(cbs)): p.read_bytes() for p in sorted(cbs.rglob("*.csv"))}

    together = provider_files()
    assert {name.split("/")[0] for name in together} == {"2025-H1", "2025-H2"}
    job = build_defs().resolve_job_def(CBS_JOB_NAME)
    for key in ("2025-01-01", "2025-07-01"):
        assert job.execute_in_process(instance=instance, partition_key=key).success
    assert provider_files() == together

    real = publication_assets.write_cbs_extract
    bsn = "111222333"  # passes the 11-proef

    def planting(con, period, export_dir, version):
        export = real(con, period, export_dir, version)
        if period == "2025-H2":
            with open(export.paths[0], "a", encoding="utf-8") as handle:
                handle.write(f"{bsn};X;;;;;;;\n")
        return export

    monkeypatch.setattr(publication_assets, "write_cbs_extract", planting)
    result = job.execute_in_process(instance=instance, tags=range_tags(["2025-01-01", "2025-07-01"]), raise_on_error=False)
    evaluation = next(e for e in result.get_asset_check_evaluations() if e.check_name == "extract_conforms_and_holds_no_identifiers")
    problems = evaluation.metadata["problems"].value
    assert not evaluation.passed
    assert any(p.startswith("2025-H2/") and "identifier" in p for p in problems)
    assert not any(p.startswith("2025-H1/") for p in problems)
    assert bsn not in json.dumps(problems)
