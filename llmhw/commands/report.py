"""``search.py`` inspection flags: reports, exports, plots, study lists, comparisons, the dashboard.

    python search.py --study NAME --report                 # the study summary, no browser needed
    python search.py --study NAME --export DIR             # CSV (+ Parquet), Pareto and hypervolume plots
    python search.py --list [--storage URL]                # the studies of a storage (default studies/*.db)
    python search.py --compare A B ... [--export DIR]      # fronts of several studies in one table and plot
    python search.py --study NAME --dashboard [--port N]   # optuna-dashboard on 127.0.0.1

The lead's ``llmhw/cli.py`` registers :func:`add_arguments` and calls :func:`run` when one of these
flags is given. These flags only read; with ``--hw``/``--space``/``--trials`` as well, the search
runs (or resumes) first, then the study named by ``--study NAME`` is reported.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmhw.commands import add_flag
from llmhw.errors import UsageError
from llmhw.paths import OUTPUTS, STUDIES

if TYPE_CHECKING:   # the parser is built for every command: rich loads when a report prints
    from rich.console import Console

DEFAULT_PORT = 8080




def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("inspect stored studies")
    add_flag(g, "--report", action="store_true",
         help="print the study summary: inputs, trials, hypervolume history, Pareto front, the best design "
              "per objective with its full breakdown (with --study NAME)")
    add_flag(g, "--export", metavar="DIR",
         help="write pareto.csv, trials.csv (+ .parquet with pyarrow), pareto.html/.png and "
              "hypervolume.html/.png to DIR (with --study NAME; with --compare: the comparison)")
    add_flag(g, "--list", action="store_true",
         help="list the studies of --storage URL (default: every studies/*.db) with sizes and fronts")
    add_flag(g, "--compare", nargs="+", metavar="STUDY",
         help="overlay the feasible fronts of several studies (same objectives) in one table and one plot "
              "(HTML + PNG in --export DIR, default outputs/compare-<names>/)")
    add_flag(g, "--dashboard", action="store_true",
         help="serve optuna-dashboard for --study NAME on 127.0.0.1, read-only (Ctrl-C stops it)")
    add_flag(g, "--dashboard-writable", action="store_true",
         help="let the dashboard change the storage (delete or rename studies, notes, tell trials); "
              "off by default: a study deleted under a running search is lost")
    add_flag(g, "--port", type=int, default=DEFAULT_PORT, metavar="N",
         help=f"dashboard port (default: {DEFAULT_PORT}; 0: any free port)")
    # shared with the search; present when this module is registered alone (tests)
    add_flag(parser, "--study", metavar="NAME", help="study name")
    add_flag(parser, "--storage", metavar="URL", help="Optuna storage URL (default: sqlite:///studies/<study>.db)")
    add_flag(parser, "--outputs", metavar="DIR", default=str(OUTPUTS), help="output directory (default: outputs/)")


def _console() -> Console:
    from rich.console import Console
    return Console(highlight=False, width=None if sys.stdout.isatty() else 200)


def _quiet_optuna() -> None:
    import warnings

    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def run(args: argparse.Namespace, console: Console | None = None) -> int:
    _quiet_optuna()
    console = console or _console()
    storage = getattr(args, "storage", None)
    if args.dashboard and not 0 <= int(args.port) < 65536:
        raise UsageError(f"--port {args.port}: expected 1..65535 (0: any free port)")
    rc = 0
    if args.list:
        rc = list_cmd(storage, console)
    if args.compare:
        compare_cmd(args.compare, storage, args.export, Path(getattr(args, "outputs", None) or OUTPUTS), console)
    if not (args.report or (args.export and not args.compare) or args.dashboard):
        return rc
    if not args.study:
        raise UsageError("--report, --export and --dashboard need --study NAME (--list shows the stored studies)")
    if getattr(args, "hw", None) or getattr(args, "space", None) or getattr(args, "trials", None) is not None:
        if str(getattr(args, "workload", "") or "").strip().lower() == "all":
            raise UsageError("--workload all makes one study per pair: run the search, then --report each study")
        from llmhw.commands import search as search_cmd
        rc = search_cmd.run(args)
        if rc:
            return rc
        console.print()
    from llmhw.report.data import load_study_data
    data = load_study_data(args.study, storage)
    if args.report:
        report_cmd(data, console)
    if args.export and not args.compare:
        export_cmd(data, Path(args.export), console, brief=not args.report,
                   force=bool(getattr(args, "force", False)))
    if args.dashboard:
        from llmhw.report.dashboard import serve
        return serve(data.url, data.name, port=int(args.port), console=console,
                     writable=bool(getattr(args, "dashboard_writable", False)))
    return 0


# ---------------------------------------------------------------------------------------- pieces
def report_cmd(data: Any, console: Console) -> None:
    from llmhw.report.breakdown import breakdowns
    from llmhw.report.summary import best_per_objective, counts, hv_history, stopping_note, time_span
    from llmhw.report.tables import report_renderables
    bests = best_per_objective(data)
    bds = breakdowns(data, [n for _, n in bests])
    stopping = stopping_note(data.df, data.objectives, _batch_size(data.run))
    for r in report_renderables(data, counts(data), time_span(data), hv_history(data.df, data.objectives),
                                bests, bds, width=console.width, stopping=stopping):
        console.print(r)


def _batch_size(run: dict) -> int:
    """The study's ask/tell batch from its run record; for a study without one (not written by
    llmhw), the default batch of its sampler, or of ``pls``, the default sampler beyond 150 trials."""
    from llmhw.search.samplers import default_batch_size
    if run.get("batch_size"):
        return int(run["batch_size"])
    try:
        return default_batch_size(str(run.get("sampler", "pls")))
    except KeyError:
        return default_batch_size("pls")


def export_cmd(data: Any, outdir: Path, console: Console, brief: bool = True, force: bool = False) -> None:
    from llmhw.report.export import export, have_pyarrow
    from llmhw.report.summary import counts
    if brief:
        c = counts(data)
        console.print(f"study {data.name}: {c.complete:,} COMPLETE trials, {c.feasible:,} feasible, "
                      f"Pareto front {c.front:,} trials ({c.front_designs:,} distinct designs)")
    files = export(data, outdir, force=force)
    console.print(f"wrote {', '.join(p.name for p in files)} to {outdir}/"
                  + ("" if have_pyarrow() else " (no Parquet: pyarrow is not installed)"))


def list_cmd(storage: str | None, console: Console) -> int:
    """The studies table; 1 if a storage or study in it cannot be read (damaged, unreachable)."""
    from llmhw.report.data import list_studies
    from llmhw.report.tables import list_table
    from llmhw.study.urls import redact
    rows = list_studies(storage, STUDIES)
    where = redact(storage) if storage else f"{STUDIES}/*.db"
    if not rows:
        console.print(f"no study in {where}", markup=False)
        return 0
    console.print(list_table(rows, where))
    return 1 if any(r.error for r in rows) else 0


def compare_cmd(names: list[str], storage: str | None, export_dir: str | None, outputs: Path,
                console: Console) -> None:
    from llmhw.report.compare import compare, write_compare
    if len(names) < 2:
        raise UsageError("--compare needs at least two study names")
    if len(set(names)) != len(names):
        raise UsageError(f"--compare: a study is named twice ({' '.join(names)})")
    result = compare(names, storage)
    outdir = Path(export_dir) if export_dir else outputs / ("compare-" + _safe("-".join(names)))
    for r in result.renderables(console.width):
        console.print(r)
    files = write_compare(result, outdir)
    console.print(f"wrote {', '.join(p.name for p in files)} to {outdir}/")


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+=-]+", "_", text)[:150]
