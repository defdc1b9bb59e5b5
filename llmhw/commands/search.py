"""``search.py`` (default command): a constrained multi-objective design search with Optuna.

    python search.py --hw inputs/hardware/config/tpuv4.yaml --model gpt3 --trials 500
    python search.py --space spaces/chiplet_sram.yaml --model gpt2 --sampler nsga2 --trials 2000
    python search.py --study tpuv4-gpt3-20x8            # resume / report a stored study

The lead's ``llmhw/cli.py`` owns the parser and calls :func:`add_arguments` then :func:`run`.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from llmhw.commands import add_flag
from llmhw.errors import UsageError
from llmhw.paths import DEFAULT_CONSTANTS, OUTPUTS, STUDIES, default_system_for

DEFAULT_TRIALS = 200




def add_arguments(parser: argparse.ArgumentParser) -> None:
    from llmhw.fidelity import COMPAT_MODES
    from llmhw.search.samplers import SAMPLERS
    from llmhw.search.space import MAPPING_MODES
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
    add_flag(g, "--force", action="store_true", help="resume even if the inputs differ from the stored ones")
    add_flag(g, "--enqueue", metavar="FILE", help="YAML of known designs evaluated first and shown for comparison")
    add_flag(g, "--mapping", choices=MAPPING_MODES, default=None,
         help="explicit: p, micro-batches are dimensions (default); best: the evaluator picks the best "
              "mapping for the first objective")
    add_flag(g, "--batch-size", type=int, default=None, metavar="K", help="trials asked/evaluated/stored per batch")
    add_flag(g, "--no-progress", action="store_true", help="no progress bar")
    if "--check" not in parser._option_string_actions:  # noqa: SLF001
        from llmhw.commands.check import add_arguments as add_check
        add_check(g)


def parse_workload(text: str | None, pairs: list[tuple[int, int]]) -> tuple[list[tuple[int, int]], str | None]:
    """The workloads to run and a note for the screen."""
    if text is None:
        return [pairs[0]], f"workload {pairs[0][0]}:{pairs[0][1]} (the system file's first eval_len pair; " \
                           "--workload P:G or all to choose)"
    if text.strip().lower() == "all":
        return list(dict.fromkeys(pairs)), None
    try:
        a, b = text.split(":")
        pair = (int(a), int(b))
    except ValueError:
        raise UsageError(f"--workload {text!r}: expected PREFILL:DECODE (e.g. 256:64) or all") from None
    if pair[0] < 1 or pair[1] < 1:
        raise UsageError(f"--workload {text!r}: lengths must be >= 1")
    return [pair], None


def _limits(args: argparse.Namespace) -> dict:
    return {k: getattr(args, k, None) for k in ("max_ttft", "max_tpot", "max_power", "max_capex",
                                                "min_throughput") if getattr(args, k, None) is not None}


def _inputs_from_files(args: argparse.Namespace, console: Console) -> list:
    from llmhw.config import resolve_model_path
    from llmhw.search.overlay import load_space
    from llmhw.search.space import eval_len_pairs
    from llmhw.search.study import InputText, StudyInputs, parse_model_text

    space = load_space(args.space) if args.space else None
    hw_path = args.hw or (space.base_hw if space else None)
    if not hw_path:
        raise UsageError("give --hw FILE (or --space FILE with a base, or --study NAME to resume a study)")
    if not getattr(args, "model", None):
        raise UsageError("give --model NAME_OR_FILE (e.g. --model gpt3)")
    sys_path = args.sys or (space.base_sys if space else None)
    if not sys_path:
        sys_path, fell_back = default_system_for(hw_path)
        console.print(f"system config: {sys_path}" + (" (no system file named after the hardware file)"
                                                      if fell_back else ""))
    model = InputText.read(resolve_model_path(args.model))
    hw, system = InputText.read(hw_path), InputText.read(sys_path)
    constants = InputText.read(args.constants or DEFAULT_CONSTANTS)
    enqueue = InputText.read(args.enqueue) if args.enqueue else None
    space_text = InputText(space.path, space.text) if space else None
    from llmhw.config import load_yaml_text, validate_system
    sys_raw = load_yaml_text(system.text, system.path)
    validate_system(sys_raw, system.path)
    pairs = eval_len_pairs(sys_raw, parse_model_text(model))
    workloads, note = parse_workload(args.workload, pairs)
    if note:
        console.print(note)
    from llmhw.search.objectives import DEFAULT_OBJECTIVES
    objectives = tuple(s.strip() for s in (args.objectives or ",".join(DEFAULT_OBJECTIVES)).split(",") if s.strip())
    return [StudyInputs(hw=hw, system=system, model=model, constants=constants, space=space_text,
                        enqueue=enqueue, compat=args.compat, workload=w, mapping=args.mapping or "explicit",
                        objectives=objectives, limits=_limits(args), serving=_serving(args)) for w in workloads]


def _serving(args: argparse.Namespace) -> dict | None:
    text = getattr(args, "serving", None)
    if text is None:
        return None
    from llmhw.serving.workload import parse_serving_flag
    try:
        return parse_serving_flag(text)
    except ValueError as exc:
        raise UsageError(f"--serving {text!r}: {exc}") from None


def _stored(args: argparse.Namespace) -> tuple[Any, dict]:
    """The StudyInputs and run record stored in ``--study NAME``."""
    import optuna
    from llmhw.search.storage import default_storage_url, open_storage
    from llmhw.search.study import ATTR, StudyInputs, check_study_name
    name = check_study_name(args.study)
    url = args.storage or default_storage_url(name, STUDIES)
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        raise UsageError(f"no study {name!r}: {url[len('sqlite:///'):]} does not exist "
                         "(give --hw and --model to start one)")
    try:
        study = optuna.load_study(study_name=name, storage=open_storage(url))
    except KeyError:
        raise UsageError(f"no study {name!r} in {url} (give --hw and --model to start one)") from None
    meta = study.user_attrs.get(ATTR)
    if not isinstance(meta, dict) or "identity" not in meta:
        raise UsageError(f"study {name!r} in {url} was not made by llmhw (no stored inputs)")
    try:
        return StudyInputs.from_identity(meta["identity"]), dict(meta.get("run") or {})
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        version = (meta.get("run") or {}).get("tool_version") or study.user_attrs.get("tool_version")
        raise UsageError(f"study {name!r} in {url} was made by llmhw {version or '(unknown version)'} and its "
                         f"stored inputs cannot be read by this version ({type(exc).__name__}: {exc}); "
                         "give --hw and --model to continue it with --force, or use another --study name") from None


def run(args: argparse.Namespace) -> int:
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    import sys
    import warnings
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    from llmhw.commands import check
    check.validate_flags(args)   # every flag, before any file or storage is touched
    stored_run: dict = {}
    if args.study is not None and not args.hw and not args.space:
        inputs, stored_run = _stored(args)
        ignored = [f for f in ("model", "sys", "workload", "objectives", "enqueue", "mapping", "compat", "serving")
                   if getattr(args, f, None)] + [f for f in _limits(args)]
        if ignored:
            console.print(f"[yellow]resuming from the stored inputs; ignoring --{', --'.join(ignored)} "
                          "(give --hw too to use new inputs)[/]")
        all_inputs = [inputs]
        named = [args.study]
    else:
        all_inputs = _inputs_from_files(args, console)
        named = None
    plans = check.preflight(args, all_inputs, named, stored_run, console, DEFAULT_TRIALS)  # writes nothing
    if getattr(args, "check", False):
        return check.report(plans, console)
    for plan in plans:
        if plan.memory is not None and plan.memory.fits == 0:
            console.print(f"[yellow]warning:[/] {plan.name}: {plan.memory.line()} — the search may find no "
                          "feasible design")
    from llmhw.search.guard import guarded
    rc = 0
    with guarded(console) as guard:   # study locks, Ctrl-C/SIGTERM, storage failures as one line
        for i, inputs in enumerate(all_inputs):
            name = named[i] if named else None
            rc = max(rc, _run_one(args, inputs, name, stored_run, console, multi=len(all_inputs) > 1))
            if guard.interrupted:
                break
    return rc


def _run_one(args: argparse.Namespace, inputs: Any, name: str | None, stored_run: dict, console: Console,
             multi: bool) -> int:
    from llmhw.evaluate import Problem
    from llmhw.search.output import print_front, write_csvs
    from llmhw.search.runner import open_study, run_record_for
    from llmhw.commands.check import plan_name, run_options
    from llmhw.search.storage import default_storage_url, trial_store
    from llmhw.search.study import build_setup, check_study_name

    setup = build_setup(inputs)
    name = check_study_name(plan_name(args, inputs, setup, name, multi))
    url = args.storage or default_storage_url(name, STUDIES)
    trials, choice, seed = run_options(args, stored_run, DEFAULT_TRIALS)
    if choice.name == "grid":
        setup.space.grid()  # refuses ranges with a clear message before anything is written
    from llmhw.search.workers import run_search, study_lock
    jobs = 1 if getattr(args, "jobs", None) is None else args.jobs
    if jobs < 1:
        raise UsageError(f"--jobs must be >= 1, got {jobs}")
    from llmhw.search.guard import current_guard
    guard = current_guard()
    guard.open(url, name, immediate=jobs > 1)  # one writing command per SQLite study; Ctrl-C/SIGTERM handling
    with study_lock(url), guard.critical():  # several processes may open/create a shared study at once
        study, created = open_study(setup, name, url, run_record_for(choice, seed, trials), args.force, console)
    space = setup.space
    size = space.size()
    console.print(f"[bold]study[/] {name} ({'new' if created else 'resumed'}) in {url}")
    console.print(f"  model {setup.model_name}, workload {inputs.workload[0]}:{inputs.workload[1]}, "
                  f"fidelity {setup.fidelity.compat}, mapping {inputs.mapping}"
                  + (" (fixed by the system's default_mapping)" if space.fixed_mapping else ""))
    wl = getattr(space, "serving_workload", None)
    if wl is not None:   # serving mode: the space's requests and SLO replace the P:G pair (docs/serving.md)
        console.print(f"  serving: prompts {wl.prompt.describe()}, outputs {wl.output.describe()}, SLO TTFT "
                      f"p{wl.percentile * 100:g} ≤ {wl.slo_ttft_s:g} s, TPOT ≤ {wl.slo_tpot_s:g} s")
    console.print(f"  {len(space.dims)} dimensions ({', '.join(d.name for d in space.dims)}), "
                  f"{'continuous' if size is None else f'{size:,} points'}")
    console.print(f"  objectives {', '.join(o.name + ('↓' if o.direction == 'minimize' else '↑') for o in setup.objectives)}; "
                  f"{len(setup.constraints.names)} constraints; sampler {choice.name}"
                  + (f" (auto for {trials} trials)" if choice.requested == "auto" else "")
                  + f", batch {choice.batch_size}, seed {seed}")
    problem = Problem(setup.hw, setup.system, setup.model, setup.constants, setup.fidelity)
    if jobs > 1 and seed is not None:
        console.print(f"  --seed with --jobs {jobs}: worker i uses seed+i; a parallel run is not reproducible")
    t0 = time.perf_counter()
    res = guard.run(lambda: run_search(setup, study, url, name, choice, seed, trials, jobs=jobs, console=console,
                                       progress=not args.no_progress, problem=problem), study)
    stored = res.trials or trial_store(study).read()
    outdir = Path(args.outputs or OUTPUTS) / name
    df, front, tp, pp = write_csvs(stored, setup.objectives, outdir)
    s = res.stats
    if res.added:
        console.print(f"added {res.added} trials in {time.perf_counter() - t0:.1f} s "
                      f"({s.evaluated} evaluated, {s.cache_hits} from the cache, {s.failed} failed; "
                      f"ask {s.t_ask:.1f} s, evaluate {s.t_eval:.1f} s, tell {s.t_tell:.1f} s, "
                      f"store {s.t_write:.1f} s)" + (f"; re-queued {res.requeued} unfinished" if res.requeued else ""))
    elif not guard.interrupted:
        console.print(f"the study already holds {res.complete} COMPLETE trials (--trials {trials}): report only")
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


