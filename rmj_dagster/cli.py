"""The ``rmj`` command: generate sample deliveries, process the landing zone, or both as a demo."""

from __future__ import annotations

import argparse
import atexit
import functools
import os
import sys
from pathlib import Path

from rmj_dagster import settings as rmj_settings

DEMO_DEFECT_RATE = 0.02  # the demo shows what rejection and quarantine look like
PROCESS_FAILED = "the pipeline failed"  # what `rmj: <this>: <the run's failure>` says a failed run was
PUBLICATION_FAILED = "the publication failed"
DEMO_BANNER = (
    "DEMO MODE: deliveries are generated sample data and pseudonymised with the public demo key.\n"
    "Never use demo mode or the demo key for real deliveries."
)


def _generate(args: argparse.Namespace) -> int:
    from rmj_dagster.generate import generate_deliveries
    from rmj_dagster.generate.truth import replay_arrivals
    from rmj_dagster.progress import Reporter

    out = Path(args.out or rmj_settings.Settings.from_env().landing_dir)
    with Reporter() as reporter:
        task = reporter.task("generate · providers", None)
        summary = generate_deliveries(
            out,
            seed=args.seed,
            years=args.years,
            scale=args.scale,
            defect_rate=args.defect_rate,
            jw307_max_files=args.jw307_max_files,
            jw305_max_files=args.jw305_max_files,
            varied_numbering=not args.single_numbering,
            monthly=args.monthly,
            on_progress=lambda done, total, rows: task.update(done=done, rows=rows, total=total),
        )
        task.finish()
    replay_arrivals(out)  # each file arrives on the day it was made for, as if the landing zone had been watched
    print(summary)
    return 0


def _key_refused() -> bool:
    """A missing or unfit key is refused at once: before the landing zone is touched, before Dagster and the
    rest are imported (seconds). Whether the key links with the stored pseudonyms needs the warehouse:
    process() and publish() ask that, still before any delivery is read."""
    from rmj_dagster.ttp.pseudonym import KeyRefused, PseudonymKey

    try:
        PseudonymKey.from_env()
    except KeyRefused as refusal:
        print(f"rmj: refused: {refusal}", file=sys.stderr)
        return True
    return False


def _process(_: argparse.Namespace) -> int:
    if _key_refused():
        return 2

    from rmj_dagster.intake.landing_zone import LandingZone
    from rmj_dagster.quality import expectations

    # The complete-file rule's first look, before Dagster is loaded: loading it counts toward the settle
    # time, and so does importing GX, begun now when there is something to take in (the delivery run's
    # check needs it; with nothing new a GX check seldom runs, and starts the worker itself: runner).
    zone = LandingZone(rmj_settings.Settings.from_env().landing_dir).ensure()
    first_look = zone.first_look(rmj_settings.settle_seconds())
    if zone.holds_deliveries(first_look):
        expectations.import_in_background()

    from rmj_dagster.runner import process

    return _reported(lambda reporter: process(reporter=reporter, first_look=first_look), PROCESS_FAILED)


def _reported(work, failed: str) -> int:
    """Run ``work`` with a progress reporter and print its summary; what an operator may be told instead
    (a refused key: exit 2; a damaged or held warehouse, a period that cannot be published, a failed run:
    exit 1) is one line on stderr, the same for every command (docs/operations.md lists them)."""
    from rmj_dagster.progress import Reporter
    from rmj_dagster.runner import NotPublishable, PipelineFailed
    from rmj_dagster.ttp.pseudonym import KeyRefused
    from rmj_dagster.warehouse import WarehouseDamaged, WarehouseLocked

    try:
        with Reporter() as reporter:
            summary = work(reporter)
    except KeyRefused as refusal:
        print(f"rmj: refused: {refusal}", file=sys.stderr)
        return 2
    except (WarehouseDamaged, WarehouseLocked, NotPublishable) as problem:
        print(f"rmj: {problem}", file=sys.stderr)
        return 1
    except PipelineFailed as failure:
        print(f"rmj: {failed}: {failure}", file=sys.stderr)
        return 1
    print(summary)
    return 0


def _publish(args: argparse.Namespace) -> int:
    """``rmj publish ceo <YYYY>`` / ``rmj publish cbs <YYYY-Hn>``: publish one period on purpose."""
    if _key_refused():
        return 2
    from rmj_dagster.runner import publish

    return _reported(lambda reporter: publish(args.kind, args.period, reporter=reporter), PUBLICATION_FAILED)


def _demo(args: argparse.Namespace) -> int:
    from rmj_dagster.ttp.pseudonym import DEMO_KEY

    os.environ[rmj_settings.ENV_DEMO_MODE] = "1"
    if not os.environ.get(rmj_settings.ENV_PSEUDONYM_KEY) and not os.environ.get(rmj_settings.ENV_PSEUDONYM_KEY_FILE):
        os.environ[rmj_settings.ENV_PSEUDONYM_KEY] = DEMO_KEY.decode()
    print(DEMO_BANNER, end="\n\n")
    args.out = None
    _generate(args)
    print()
    code = _process(args)
    if code:
        return code
    # A new user sees every publication: the CEO years and CBS half-years of the sample data, published on
    # purpose as an analyst would (rmj process makes only what is due).
    from rmj_dagster.runner import periods_with_data

    for kind, periods in periods_with_data().items():
        for period in periods:
            print(f"\nrmj publish {kind} {period}")
            code = _publish(argparse.Namespace(kind=kind, period=period))
            if code:
                return code
    return 0


def _warehouse_problems_told(command):
    """A read-only command over the warehouse: a damaged or held warehouse is one line on stderr (exit 1), as
    ``_reported`` says it for the others, never a traceback."""

    @functools.wraps(command)
    def told(args: argparse.Namespace) -> int:
        from rmj_dagster.warehouse import WarehouseDamaged, WarehouseLocked

        try:
            return command(args)
        except (WarehouseDamaged, WarehouseLocked) as problem:
            print(f"rmj: {problem}", file=sys.stderr)
            return 1
    return told


@_warehouse_problems_told
def _explain(args: argparse.Namespace) -> int:
    from rmj_dagster import warehouse
    from rmj_dagster.cockpit.lineage import FigureNotFound, explain

    path = rmj_settings.Settings.from_env().warehouse
    if not path.exists():
        print(f"rmj: no warehouse at {path}; run rmj process first", file=sys.stderr)
        return 1
    with warehouse.connect(path, read_only=True) as con:
        if not warehouse.table_exists(con, "marts.figure_sources"):
            print("rmj: no figure has been published yet (marts.figure_sources is missing)", file=sys.stderr)
            return 1
        try:
            print(explain(con, args.year, args.area, args.indicator, args.group, args.care))
        except FigureNotFound as missing:
            print(f"rmj: {missing}", file=sys.stderr)
            return 1
    return 0


@_warehouse_problems_told
def _monitor(args: argparse.Namespace) -> int:
    from rmj_dagster import warehouse
    from rmj_dagster.cockpit import monitor

    settings = rmj_settings.Settings.from_env()
    if not settings.warehouse.exists():
        print(f"rmj: no warehouse at {settings.warehouse}; run rmj process first", file=sys.stderr)
        return 1
    with warehouse.connect(settings.warehouse, read_only=True) as con:
        if not warehouse.table_exists(con, monitor.MONITOR_TABLE):
            print("rmj: no delivery monitor yet; run rmj process first", file=sys.stderr)
            return 1
        if args.year is not None and (missing := monitor.no_data(con, args.year)):
            print(f"rmj: {missing}", file=sys.stderr)
            return 1
        print(monitor.summary(con, args.year))
    return 0


def _ui(args: argparse.Namespace) -> int:
    """``dagster dev`` on the shared DAGSTER_HOME, so the UI shows what ``rmj demo``/``process`` ran."""
    from rmj_dagster import local_instance

    folder = local_instance.ensure_home()
    dagster = Path(sys.executable).with_name("dagster")
    extra = args.dagster_args[1:] if args.dagster_args[:1] == ["--"] else args.dagster_args
    command = [str(dagster) if dagster.exists() else "dagster", "dev", "-w", str(args.workspace), *extra]
    print(f"DAGSTER_HOME={folder}", file=sys.stderr)
    os.execvpe(command[0], command, os.environ)
    return 0  # not reached


def _add_generate_options(parser: argparse.ArgumentParser, default_defect_rate: float = 0.0, monthly: bool = False) -> None:
    parser.add_argument("--seed", type=int, default=42, help="random seed (same seed, same files)")
    parser.add_argument("--years", type=int, nargs="+", default=[2024, 2025], help="calendar years to generate")
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 ≈ the region (~2,000 ended trajectories a year); ~225 ≈ national")
    parser.add_argument("--defect-rate", type=float, default=default_defect_rate,
                        help=f"share of rows with one planted defect, and a few bad files (default {default_defect_rate})")
    parser.add_argument("--monthly", action=argparse.BooleanOptionalAction, default=monthly,
                        help="one file per kind per month, as agreed with the providers, or one per year "
                             f"(default: {'monthly' if monthly else 'yearly'})")
    parser.add_argument("--jw307-max-files", type=int, default=40, help="at most this many JW307 XML messages")
    parser.add_argument("--jw305-max-files", type=int, default=40, help="at most this many JW305 XML messages (starts of long-term care)")
    parser.add_argument("--single-numbering", action="store_true",
                        help="number every provider's toewijzingen in one sequence instead of per-municipality schemes")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rmj", description="Regionale Monitor Jeugd data platform")
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate", help="write realistic sample deliveries into a landing zone")
    generate.add_argument("--out", help=f"landing zone (default: ${rmj_settings.ENV_LANDING_DIR} or {rmj_settings.DEFAULT_LANDING_DIR})")
    _add_generate_options(generate)
    generate.set_defaults(run=_generate)
    process = commands.add_parser("process", help="process everything in the landing zone end to end")
    process.set_defaults(run=_process)
    demo = commands.add_parser("demo", help="generate sample deliveries and process them with the demo key")
    _add_generate_options(demo, default_defect_rate=DEMO_DEFECT_RATE, monthly=True)
    demo.set_defaults(run=_demo)
    publish = commands.add_parser(
        "publish", help="publish one CEO year or CBS half-year on purpose (an analyst's request)",
        description="Publish one period on purpose, in-process, with the same job as the UI: a CEO year is "
                    "published only so; a CBS half-year is made by itself on its publication day, on request "
                    "for any other.")
    publish.add_argument("kind", choices=("ceo", "cbs"))
    publish.add_argument("period", help="a year (2025) for ceo, a half-year (2025-H1) for cbs")
    publish.set_defaults(run=_publish)
    explain = commands.add_parser("explain", help="list the deliveries behind one published CEO figure")
    explain.add_argument("year", type=int)
    explain.add_argument("area", help="area code: RMJ, AA, ZW, a 4-digit municipality code or a provider's AGB code")
    explain.add_argument("indicator", help="indicator name, e.g. pct_uitval or n_responses")
    explain.add_argument("--group", default="ALL", help="respondent group: OUDERS, JONGEREN or ALL (default)")
    explain.add_argument("--care", default="ALL", help="care type: EINDE, DUURZAAM or ALL (default)")
    explain.set_defaults(run=_explain)
    monitor = commands.add_parser("monitor", help="the delivery monitor: late providers and where the page is")
    monitor.add_argument("--year", type=int, help="the year to list late months of (default: the running year)")
    monitor.set_defaults(run=_monitor)
    ui = commands.add_parser("ui", help="the Dagster UI (dagster dev) on the same DAGSTER_HOME as rmj demo/process")
    ui.add_argument("--workspace", default="workspace.yaml", help="workspace file (default: workspace.yaml)")
    ui.add_argument("dagster_args", nargs=argparse.REMAINDER, help="passed on to dagster dev (e.g. -p 3001)")
    ui.set_defaults(run=_ui)
    return parser


def main(argv: list[str] | None = None) -> int:
    rmj_settings.owner_only_files()
    args = build_parser().parse_args(argv)
    return args.run(args)


def console() -> None:
    """The ``rmj`` command: ``main``, then leave without tearing down every imported module.

    Unloading Dagster, GX, pandas and plotly at interpreter exit takes over a second after the work is
    done; everything the command wrote is closed by then. Exit handlers still run, output is flushed.
    """
    code = main()
    atexit._run_exitfuncs()  # noqa: SLF001 -- what a normal exit runs first (logging flushed, temp files removed)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    console()
