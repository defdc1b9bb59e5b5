"""``search.py`` (default command): a constrained multi-objective design search with Optuna.

    python search.py --hw inputs/hardware/config/tpuv4.yaml --model gpt3 --trials 500
    python search.py --space spaces/chiplet_sram.yaml --model gpt2 --sampler nsga2 --trials 2000
    python search.py --study tpuv4-gpt3-20x8            # resume / report a stored study

The lead's ``llmhw/cli.py`` owns the parser and calls :func:`add_arguments` then :func:`run`.
"""
from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

from llmhw.commands import add_flag
from llmhw.errors import UsageError
from llmhw.paths import DEFAULT_CONSTANTS, OUTPUTS

if TYPE_CHECKING:   # the parser is built for every command: rich and the plan load when a search runs
    from rich.console import Console

    from llmhw.commands.plan import Flags, StudyPlan


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from llmhw.fidelity import COMPAT_MODES
    from llmhw.search.names import DEFAULT_TRIALS, MAPPING_MODES, SAMPLERS
    add_flag(parser, "--hw", metavar="FILE", help="hardware config YAML (lists and ranges are search dimensions)")
    add_flag(parser, "--model", metavar="NAME_OR_FILE", help="model name or file")
    add_flag(parser, "--sys", metavar="FILE", help="system config YAML (default: inputs/software/system/<hw stem>.yaml, "
                                               "else sys_default.yaml)")
    add_flag(parser, "--constants", metavar="FILE", help=f"technology constants (default: {DEFAULT_CONSTANTS})")
    add_flag(parser, "--compat", choices=COMPAT_MODES, default=None, help="fidelity mode (default: corrected)")
    add_flag(parser, "--outputs", metavar="DIR", default=str(OUTPUTS), help="output directory (default: outputs/)")
    g = parser.add_argument_group("search (default command)")
    add_flag(g, "--space", metavar="FILE", help="spaces/*.yaml: lists/ranges overlaid on the hardware/system config")
    add_flag(g, "--workload", metavar="P:G|all", help="prefill:decode lengths of the study (default: the system "
                                                  "file's first eval_len pair); 'all' = one study per pair")
    add_flag(g, "--serving", metavar="K=V,...", help="serving study (docs/serving.md): prompt=N|MEAN~CV, "
             "output=N|MEAN~CV, rate=REQ_S|concurrency=N, ttft=S, tpot=S, percentile=Q; over the files' serving blocks")
    add_flag(g, "--objectives", metavar="A,B,...", help="metrics to optimise (default: tco_per_mtoken,tpot,throughput)")
    add_flag(g, "--max-ttft", "--slo-ttft", type=float, metavar="S", help="constraint: time to first token ≤ S "
             "seconds (serving mode: the TTFT SLO, p90 by default; docs/serving.md §6)")
    add_flag(g, "--max-tpot", "--slo-tpot", type=float, metavar="S", help="constraint: time per output token ≤ S "
             "seconds (serving mode: the TPOT SLO)")
    add_flag(g, "--max-power", type=float, metavar="W", help="constraint: average system power ≤ W watts")
    add_flag(g, "--max-capex", type=float, metavar="USD", help="constraint: capex ≤ USD")
    add_flag(g, "--min-throughput", type=float, metavar="TOK_S", help="constraint: throughput ≥ TOK_S tokens/s")
    add_flag(g, "--sampler", choices=SAMPLERS, default=None, help="sampler (default: auto)")
    add_flag(g, "--seed", type=int, default=None, help="sampler seed (a single-process run is reproducible)")
    add_flag(g, "--trials", type=int, default=None, metavar="N",
         help=f"the study holds N COMPLETE trials when done (default: {DEFAULT_TRIALS}, or the stored budget)")
    add_flag(g, "--study", metavar="NAME", help="study name (default: <hw>[+<space>]-<model>-<P>x<G>); "
                                            "alone, resumes/reports the stored study")
    add_flag(g, "--storage", metavar="URL", help="Optuna storage URL (default: sqlite:///studies/<study>.db); "
                                             "journal:PATH for a journal file; postgresql://USER@HOST/DB "
                                             "for a study shared by several machines")
    add_flag(g, "--jobs", type=int, default=1, metavar="N",
         help="worker processes on this machine (default: 1); with SQLite they share a journal "
              "file merged into the study, with a server database they write it directly")
    add_flag(g, "--force", action="store_true", help="resume even if the inputs differ from the stored ones; with --export: replace existing files")
    add_flag(g, "--enqueue", metavar="FILE", help="YAML of known designs evaluated first and shown for comparison")
    add_flag(g, "--mapping", choices=MAPPING_MODES, default=None,
         help="explicit: p, micro-batches are dimensions (default); best: the evaluator picks the best "
              "mapping for the first objective")
    add_flag(g, "--batch-size", type=int, default=None, metavar="K", help="trials asked/evaluated/stored per batch")
    add_flag(g, "--patience", type=int, default=None, metavar="K",
         help="stop when the feasible front has gained no point in K batches in a row (--trials is then a cap)")
    add_flag(g, "--sweep", choices=("on", "off"), default=None,
         help="on: every hardware the search reaches is given its best mappings at once, from the evaluator's "
              "mapping grid (default: on, except with --sampler grid; docs/search.md)")
    add_flag(g, "--no-progress", action="store_true", help="no progress bar")
    if "--check" not in parser._option_string_actions:  # noqa: SLF001
        from llmhw.commands.check import add_arguments as add_check
        add_check(g)


def run(args: argparse.Namespace) -> int:
    import optuna
    from rich.console import Console

    from llmhw.commands.plan import build_plan
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    import sys
    import warnings
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    from llmhw.commands import check
    plan = build_plan(args)   # every flag and input validated, every study built; writes nothing
    if plan.flags.check:
        return check.report(plan, console)
    for note in plan.notes:
        console.print(note)
    for study in plan.studies:
        if study.memory is not None and study.memory.fits == 0:
            console.print(f"[yellow]warning:[/] {study.name}: {study.memory.line()} — the search may find no "
                          "feasible design")
    from llmhw.study.guard import guarded
    rc = 0
    with guarded(console) as guard:   # study locks, Ctrl-C/SIGTERM, storage failures as one line
        for study in plan.studies:
            rc = max(rc, _run_one(plan.flags, study, console))
            if guard.interrupted:
                break
    return rc


def _run_one(flags: Flags, plan: StudyPlan, console: Console) -> int:
    from llmhw.evaluate import Problem
    from llmhw.outfiles import output_dir
    from llmhw.report.tables import print_front
    from llmhw.search.output import write_csvs
    from llmhw.search.runner import run_record_for
    from llmhw.search.setup import objectives_given
    from llmhw.search.sweep import status as sweep_status
    from llmhw.study.guard import current_guard
    from llmhw.study.opening import StudyConflict, open_study
    from llmhw.study.storage import trial_store
    from llmhw.study.workers import jobs_line, run_search, study_lock

    setup, name, url, choice, seed, trials, jobs = (plan.setup, plan.name, plan.url, plan.choice, plan.seed,
                                                    plan.trials, plan.jobs)
    outdir = output_dir(flags.outputs / name)   # a file in the way: one line before any trial
    guard = current_guard()
    guard.open(url, name, immediate=jobs > 1)  # one writing command per SQLite study; Ctrl-C/SIGTERM handling
    with study_lock(url), guard.critical():  # several processes may open/create a shared study at once
        try:
            study, created = open_study(setup, name, url, run_record_for(choice, seed, trials), flags.force,
                                        console)
        except StudyConflict as exc:
            raise UsageError(f"{exc}; {_remedy(exc, name, setup)}") from None
    space = setup.space
    size = space.size()
    from llmhw.study.urls import redact
    console.print(f"[bold]study[/] {name} ({'new' if created else 'resumed'}) in {redact(url)}")
    console.print(f"  model {setup.model_name}, workload {plan.inputs.workload[0]}:{plan.inputs.workload[1]}, "
                  f"fidelity {setup.fidelity.compat}, mapping {plan.inputs.mapping}"
                  + (" (fixed by the system's default_mapping)" if space.fixed_mapping else ""))
    wl = getattr(space, "serving_workload", None)
    if wl is not None:   # serving mode: the space's requests and SLO replace the P:G pair (docs/serving.md)
        console.print(f"  serving: prompts {wl.prompt.describe()}, outputs {wl.output.describe()}, SLO TTFT "
                      f"p{wl.percentile * 100:g} ≤ {wl.slo_ttft_s:g} s, TPOT ≤ {wl.slo_tpot_s:g} s")
    console.print(f"  {len(space.dims)} dimensions ({', '.join(d.name for d in space.dims)}), "
                  f"{'continuous' if size is None else f'{size:,} points'}")
    console.print(f"  objectives {', '.join(objectives_given(setup))}; "
                  f"{len(setup.constraints.names)} constraints; sampler {choice.name}"
                  + (f" (auto for {trials} trials)" if choice.requested == "auto" else "")
                  + f", batch {choice.batch_size}, seed {seed}"
                  + f"; {sweep_status(setup, choice.sweep)}")
    for note in setup.notes:
        console.print(f"  {note}", markup=False)
    problem = Problem(setup.hw, setup.system, setup.model, setup.constants, setup.fidelity)
    if jobs > 1:
        console.print("  " + jobs_line(jobs, trials), markup=False)
    if jobs > 1 and seed is not None:
        console.print(f"  --seed with --jobs {jobs}: worker i uses seed+i; a parallel run is not reproducible")
    t0 = time.perf_counter()
    res = guard.run(lambda: run_search(setup, study, url, name, choice, seed, trials, jobs=jobs, console=console,
                                       progress=flags.progress, problem=problem), study)
    from llmhw.search.output import paged_frame
    stored, _ = paged_frame(trial_store(study).pages(), setup.objectives)   # flat memory (issue 15 item 17)
    df, front, tp, pp = write_csvs(stored, setup.objectives, outdir,
                                   study_note=f"the study is intact with {res.complete} COMPLETE trials; rerun "
                                              "the command (nothing is searched again) or --export to write them")
    s = res.stats
    if res.added:
        console.print(f"added {res.added} trials in {time.perf_counter() - t0:.1f} s "
                      f"({s.evaluated} evaluated, {s.cache_hits} from the cache, {s.failed} failed; "
                      f"ask {s.t_ask:.1f} s, evaluate {s.t_eval:.1f} s, tell {s.t_tell:.1f} s, "
                      f"store {s.t_write:.1f} s)" + (f"; re-queued {res.requeued} unfinished" if res.requeued else ""))
    elif not guard.interrupted:
        console.print(f"the study already holds {res.complete} COMPLETE trials (--trials {trials}): report only")
    if res.sweep_note:
        console.print(res.sweep_note, markup=False)
    if getattr(res, "converged", False):
        console.print(f"converged: the front gained no point in the last {choice.patience} batches "
                      f"({choice.patience * choice.batch_size} trials); stopped at {res.complete} of --trials {trials}")
    elif not guard.interrupted:
        from llmhw.report.summary import stopping_note
        note = stopping_note(df, setup.objectives, choice.batch_size, choice.patience)
        if note:
            console.print(note, markup=False)
    n_feas = int(df["feasible"].sum()) if not df.empty else 0
    dims = [c for c in front.columns if c.startswith("dim.")]
    distinct = len(front.drop_duplicates(subset=dims)) if len(front) and dims else len(front)
    console.print(f"{res.complete} COMPLETE trials, {n_feas} feasible, Pareto front {len(front)} trials "
                  f"({distinct} distinct designs)")
    print_front(console, df, front, setup.objectives, f"Pareto front of {name} (feasible)")
    console.print(f"wrote {pp} and {tp}")
    if guard.interrupted:
        console.print(f"[bold yellow]{guard.interrupted_line(res.complete, trials)}[/]")
        return guard.stop.exit_code
    return 0


def _remedy(conflict: Any, name: str, setup: Any) -> str:
    """The flags that resolve a refused resume (the search layer names none), with a name that is free
    of the conflict."""
    from llmhw.search.setup import objectives_tag
    tag = objectives_tag(setup.objectives)
    other = f"{name}-{tag}" if tag and not name.endswith(tag) else f"{name}-2"
    if conflict.forceable:
        return f"use the same inputs, another study name (e.g. --study {other}), or --force"
    return f"choose another study name, e.g. --study {other}"
