"""``rmj process``'s progress display follows a run through the events a real (ephemeral) instance stores,
and a fault in the display never fails the run it shows."""

from __future__ import annotations

import uuid

import dagster as dg

from rmj_dagster.progress import Reporter, follow_run


@dg.asset(group_name="clean")
def cleaned() -> int:
    return 1


@dg.asset(group_name="outcomes")
def outcomes(cleaned: int) -> int:
    return cleaned + 1


DEFS = dg.Definitions(assets=[cleaned, outcomes], jobs=[dg.define_asset_job("tiny_job")])


class _Lines:
    def __init__(self):
        self.lines: list[str] = []

    def write(self, text: str) -> None:
        self.lines += [line for line in text.splitlines() if line]

    def flush(self) -> None:
        pass


def _follow(reporter: Reporter):
    job = DEFS.resolve_job_def("tiny_job")
    run_id = str(uuid.uuid4())
    with dg.DagsterInstance.ephemeral() as instance:
        result = follow_run(reporter, DEFS, job.name, instance, run_id,
                            lambda: job.execute_in_process(instance=instance, run_id=run_id, raise_on_error=False))
    return result


def test_each_stage_is_reported_from_the_runs_own_events_in_order():
    stream = _Lines()
    result = _follow(Reporter(stream=stream, live=False))
    assert result.success
    stages = [line.split("] ", 1)[1].split(":")[0] for line in stream.lines]
    assert stages == ["tiny_job · clean", "tiny_job · outcomes"]


class _BrokenDisplay(Reporter):
    def task(self, description, total):
        raise RuntimeError("the terminal went away")


def test_a_failing_display_leaves_the_run_alone_and_says_so():
    stream = _Lines()
    result = _follow(_BrokenDisplay(stream=stream, live=False))
    assert result.success
    assert {e.step_key for e in result.all_events if e.is_step_success} == {"cleaned", "outcomes"}
    assert [line for line in stream.lines if "progress display failed (the run itself went on)" in line and "the terminal went away" in line]
