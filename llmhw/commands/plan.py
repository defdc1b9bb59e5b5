"""The plan of a search command: flags parsed and validated once, at the edge (issue 10).

``build_plan(args)`` is the only code that reads the search flags. It validates every flag
(:mod:`llmhw.commands.check` — one line naming the flag, exit code 2), reads the input files (or the
stored study), builds every study of the command (all ``--workload all`` pairs) and checks them
before anything is opened for writing. The result is a frozen :class:`SearchPlan` that both
``--check`` (prints it) and the search run (executes it) consume; the search layer below receives
typed values (a :class:`~llmhw.search.setup.Setup`, a study name and URL, a sampler choice, a seed,
a budget, a worker count) and never sees a flag.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from llmhw.errors import UsageError
from llmhw.paths import DEFAULT_CONSTANTS, OUTPUTS, STUDIES, default_system_for
from llmhw.search.names import DEFAULT_TRIALS

from .check import (STUDY_NAME_MAX, FlagError, MemoryCheck, check_workload_fits, eval_len_key,
                    parse_workload_flag, validate_flags)

ALL = "all"
#: the flags that describe a study's inputs (ignored, with a note, when a stored study is resumed alone)
INPUT_FLAGS = ("model", "sys", "workload", "objectives", "enqueue", "mapping", "compat", "serving")


@dataclass(frozen=True)
class Flags:
    """The search flags, validated. ``workload``: None (the system file's first pair), ``'all'`` or a
    (prefill, decode) pair; ``limits``: the user limits given, as (name, value) pairs."""
    hw: str | None
    model: str | None
    sys: str | None
    constants: str | None
    compat: str | None
    space: str | None
    enqueue: str | None
    workload: tuple[int, int] | str | None
    objectives: tuple[str, ...] | None
    limits: tuple[tuple[str, float], ...]
    serving: dict | None                # --serving K=V,... (docs/serving.md §1)
    mapping: str | None
    sampler: str | None
    seed: int | None
    trials: int | None
    batch_size: int | None
    patience: int | None
    sweep: bool | None                  # --sweep on|off (None: the stored run's, else the default)
    jobs: int
    study: str | None
    storage: str | None
    outputs: Path
    force: bool
    progress: bool
    check: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "Flags":
        """Validate every flag (raises FlagError) and keep its typed value."""
        validate_flags(args)
        from llmhw.search.constraints import USER_LIMITS
        g = lambda name, default=None: getattr(args, name, default)  # noqa: E731 - tests pass partial namespaces
        workload = g("workload")
        if workload is not None:
            workload = parse_workload_flag(workload) or ALL
        objectives = g("objectives")
        if objectives is not None:
            objectives = tuple(s.strip() for s in objectives.split(","))
        return cls(hw=g("hw"), model=g("model"), sys=g("sys"), constants=g("constants"), compat=g("compat"),
                   space=g("space"), enqueue=g("enqueue"), workload=workload, objectives=objectives,
                   limits=tuple((k, float(g(k))) for k in USER_LIMITS if g(k) is not None),
                   serving=_serving_flag(g("serving")),
                   mapping=g("mapping"), sampler=g("sampler"), seed=g("seed"), trials=g("trials"),
                   batch_size=g("batch_size"), patience=g("patience"),
                   sweep=None if g("sweep") is None else g("sweep") == "on", jobs=1 if g("jobs") is None else int(g("jobs")),
                   study=g("study"), storage=g("storage"), outputs=Path(g("outputs") or OUTPUTS),
                   force=bool(g("force", False)), progress=not g("no_progress", False),
                   check=bool(g("check", False)))

    @property
    def resumes_stored(self) -> bool:
        """``--study NAME`` alone: the study's stored inputs are used."""
        return self.study is not None and not self.hw and not self.space

    def given_input_flags(self) -> list[str]:
        limits = [k for k, _ in self.limits]
        return ["--" + f.replace("_", "-") for f in (*[f for f in INPUT_FLAGS if getattr(self, f)], *limits)]


@dataclass(frozen=True)
class StudyPlan:
    """One study the command will run: everything built and checked, nothing opened."""
    inputs: Any                 # llmhw.search.setup.StudyInputs
    setup: Any                  # llmhw.search.setup.Setup
    name: str
    url: str
    choice: Any                 # llmhw.search.samplers.SamplerChoice
    seed: int | None
    trials: int
    jobs: int
    memory: MemoryCheck | None = None


@dataclass(frozen=True)
class SearchPlan:
    flags: Flags
    studies: tuple[StudyPlan, ...]
    notes: tuple[str, ...] = ()       # said once on the screen before the run (or by --check)


def build_plan(args: argparse.Namespace) -> SearchPlan:
    """Every flag validated, every study built and checked; raises on the first problem, writes nothing."""
    flags = Flags.from_args(args)
    notes: list[str] = []
    stored_run: dict = {}
    if flags.resumes_stored:
        inputs, stored_run = _stored(flags)
        ignored = flags.given_input_flags()
        if ignored:
            notes.append(f"[yellow]resuming from the stored inputs; ignoring {', '.join(ignored)} "
                         "(give --hw too to use new inputs)[/]")
        all_inputs, named = [inputs], [flags.study]
    else:
        all_inputs = _inputs_from_files(flags, notes)
        named = None
    studies = tuple(plan_studies(flags, all_inputs, named, stored_run))
    return SearchPlan(flags, studies, tuple(notes))


# ------------------------------------------------------------------------------------ inputs
def workloads_of(flags: Flags, pairs: Sequence[tuple[int, int]]) -> tuple[list[tuple[int, int]], str | None]:
    """The workloads to run and a note for the screen."""
    if flags.workload is None:
        return [pairs[0]], (f"workload {pairs[0][0]}:{pairs[0][1]} (the system file's first eval_len pair; "
                            "--workload P:G or all to choose)")
    if flags.workload == ALL:
        return list(dict.fromkeys(pairs)), None
    return [flags.workload], None


def _serving_flag(text: str | None) -> dict | None:
    """``--serving K=V,...``: a serving block over the files' ones (docs/serving.md §1)."""
    if text is None:
        return None
    from llmhw.serving.workload import parse_serving_flag
    try:
        return parse_serving_flag(text)
    except ValueError as exc:
        raise FlagError("--serving", text, str(exc), "K=V pairs: prompt, output, rate or concurrency, ttft, "
                        "tpot, percentile (docs/serving.md §1)") from None


def _inputs_from_files(flags: Flags, notes: list[str]) -> list:
    from llmhw.config import load_yaml_text, resolve_model_path, validate_system
    from llmhw.search.objectives import DEFAULT_OBJECTIVES
    from llmhw.search.overlay import load_space
    from llmhw.search.space import eval_len_pairs
    from llmhw.search.setup import InputText, StudyInputs, parse_model_text

    space = load_space(flags.space) if flags.space else None
    hw_path = flags.hw or (space.base_hw if space else None)
    if not hw_path:
        raise UsageError("give --hw FILE (or --space FILE with a base, or --study NAME to resume a study)")
    if not flags.model:
        raise UsageError("give --model NAME_OR_FILE (e.g. --model gpt3)")
    sys_path = flags.sys or (space.base_sys if space else None)
    if not sys_path:
        sys_path, fell_back = default_system_for(hw_path)
        notes.append(f"system config: {sys_path}" + (" (no system file named after the hardware file)"
                                                     if fell_back else ""))
    model = InputText.read(resolve_model_path(flags.model))
    hw, system = InputText.read(hw_path), InputText.read(sys_path)
    constants = InputText.read(flags.constants or DEFAULT_CONSTANTS)
    enqueue = InputText.read(flags.enqueue) if flags.enqueue else None
    space_text = InputText(space.path, space.text) if space else None
    sys_raw = load_yaml_text(system.text, system.path)
    validate_system(sys_raw, system.path)
    pairs = eval_len_pairs(sys_raw, parse_model_text(model))
    workloads, note = workloads_of(flags, pairs)
    if note:
        notes.append(note)
    objectives = flags.objectives or DEFAULT_OBJECTIVES
    return [StudyInputs(hw=hw, system=system, model=model, constants=constants, space=space_text,
                        enqueue=enqueue, compat=flags.compat, workload=w, mapping=flags.mapping or "explicit",
                        objectives=tuple(objectives), limits=dict(flags.limits), serving=flags.serving)
            for w in workloads]


def _stored(flags: Flags) -> tuple[Any, dict]:
    """The StudyInputs and run record stored in ``--study NAME``."""
    import optuna
    from llmhw.study.storage import default_storage_url, open_storage
    from llmhw.search.setup import ATTR, StudyInputs
    from llmhw.study.urls import redact
    name = flags.study
    url = flags.storage or default_storage_url(name, STUDIES)
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        raise UsageError(f"no study {name!r}: {url[len('sqlite:///'):]} does not exist "
                         "(give --hw and --model to start one)")
    try:
        study = optuna.load_study(study_name=name, storage=open_storage(url))
    except KeyError:
        raise UsageError(f"no study {name!r} in {redact(url)} (give --hw and --model to start one)") from None
    meta = study.user_attrs.get(ATTR)
    if not isinstance(meta, dict) or "identity" not in meta:
        raise UsageError(f"study {name!r} in {redact(url)} was not made by llmhw (no stored inputs)")
    try:
        return StudyInputs.from_identity(meta["identity"]), dict(meta.get("run") or {})
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        version = (meta.get("run") or {}).get("tool_version") or study.user_attrs.get("tool_version")
        raise UsageError(f"study {name!r} in {redact(url)} was made by llmhw {version or '(unknown version)'} and its "
                         f"stored inputs cannot be read by this version ({type(exc).__name__}: {exc}); "
                         "give --hw and --model to continue it with --force, or use another --study name") from None


# ------------------------------------------------------------------------------------ studies
def study_name_for(flags: Flags, inputs: Any, setup: Any, named: str | None, multi: bool) -> str:
    """The study's name: the stored one, ``--study`` (+ ``-PxG`` with several workloads), or the default."""
    from llmhw.search.setup import study_name
    if named:
        return named
    if flags.study:
        return flags.study + (f"-{inputs.workload[0]}x{inputs.workload[1]}" if multi else "")
    return study_name(inputs, setup.model_name, setup.objectives)


def run_options(flags: Flags, stored_run: dict) -> tuple[int, Any, Any]:
    """(trials, sampler choice, seed) from the flags, falling back to the stored study's run record."""
    from llmhw.search.samplers import choose
    trials = flags.trials if flags.trials is not None else int(stored_run.get("trials") or DEFAULT_TRIALS)
    sampler = flags.sampler or stored_run.get("sampler") or "auto"
    seed = flags.seed if flags.seed is not None else stored_run.get("seed")
    batch = flags.batch_size if flags.batch_size is not None else stored_run.get("batch_size")
    sweep = flags.sweep if flags.sweep is not None else stored_run.get("sweep")   # None: the sampler's default
    return trials, choose(sampler, trials, batch, flags.patience, sweep), seed


def plan_studies(flags: Flags, all_inputs: Sequence[Any], named: Sequence[str] | None,
                 stored_run: dict) -> list[StudyPlan]:
    from llmhw.evaluate import Problem
    from llmhw.study.storage import default_storage_url
    from llmhw.search.setup import build_setup
    plans: list[StudyPlan] = []
    names: set[str] = set()
    multi = len(all_inputs) > 1
    for i, inputs in enumerate(all_inputs):
        setup = build_setup(inputs)
        name = study_name_for(flags, inputs, setup, named[i] if named else None, multi)
        if len(name) > STUDY_NAME_MAX + 24:
            raise FlagError("--study", name, "gives a study name too long for a file name",
                            f"at most {STUDY_NAME_MAX} characters (give a shorter --study)")
        if name in names:
            raise UsageError(f"two studies of this command would be named {name!r} (--workload lists a "
                             "pair twice?)")
        names.add(name)
        url = flags.storage or default_storage_url(name, STUDIES)
        trials, choice, seed = run_options(flags, stored_run)
        if choice.name == "grid":
            setup.space.grid()   # refuses ranges with a clear message
        memory = None
        if not named:   # a stored study's inputs were checked when it was made
            where = (("--workload", "") if isinstance(flags.workload, tuple)
                     else (inputs.system.path, eval_len_key(inputs)))
            problem = Problem(setup.hw, setup.system, setup.model, setup.constants, setup.fidelity)
            memory = check_workload_fits(setup, problem, where, full=flags.check)
        plans.append(StudyPlan(inputs, setup, name, url, choice, seed, trials, flags.jobs, memory))
    return plans
