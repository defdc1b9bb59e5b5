"""The ask/tell loop: sample in memory, evaluate a batch at once, persist the batch in one write.

Per batch of ``batch_size`` trials:

1. ask the sampler ``batch_size`` times on an **in-memory** study that mirrors the persistent one
   (NSGA-II: the batch is one generation; TPE: ``constant_liar`` spreads the batch);
2. evaluate every *new* point of the batch with one ``Problem.evaluate_many`` call — points are
   cached by their concrete values (clipped mapping included), so repeated suggestions and
   resumed studies cost nothing;
3. tell the in-memory study (constraints set with ``Trial.set_constraint``);
4. write the finished batch to the persistent study in one transaction
   (:mod:`llmhw.search.storage`). A SIGKILL loses at most the batch in flight; every stored trial is
   COMPLETE (or FAIL for an evaluation error) and ``--trials N`` resumes to exactly N COMPLETE.

On start the persistent study is read once (fast bulk read), RUNNING/WAITING trials left by another
writer are marked FAIL and their params re-queued, the in-memory study is seeded with the stored
trials (sampler state such as NSGA-II generations travels in their system attrs), the evaluation
cache is filled from them, and reference designs (``--enqueue``) not yet stored are queued first.
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Sequence

import optuna
from optuna.trial import FrozenTrial, TrialState
from rich.console import Console

from llmhw.errors import LlmhwError, UsageError

from .outcome import Outcome, attr_value, failed, from_result
from .pareto import losses
from .progress import FrontTracker, SearchProgress
from .samplers import SamplerChoice, make_sampler
from .storage import count_complete, open_storage, trial_store
from .study import ATTR, Setup, identity_diff, run_record, stored_identity, study_attrs

REFERENCE_ATTR = "reference"
DIMS_ATTR = "dims"


class InputsChanged(UsageError):
    """Resuming a study with inputs that differ from the stored ones (without --force)."""

    def __init__(self, name: str, diff: list[str]):
        self.diff = diff
        super().__init__(f"study {name!r} was made with different inputs ({len(diff)} difference(s) "
                         "shown above); use the same inputs, another --study name, or --force")


def open_study(setup: Setup, name: str, storage_url: str, run: dict, force: bool = False,
               console: Console | None = None) -> tuple[optuna.Study, bool]:
    """Load or create the persistent study; refuse (InputsChanged) on different inputs."""
    storage = open_storage(storage_url)
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        study = optuna.create_study(study_name=name, storage=storage, directions=setup.directions)
        study.set_metric_names([o.name for o in setup.objectives])
        for key, value in study_attrs(setup, run).items():
            study.set_user_attr(key, value)
        return study, True
    stored = stored_identity(study)
    current = setup.inputs.identity()
    if stored is None:
        raise UsageError(f"study {name!r} in {storage_url} was not made by llmhw (no '{ATTR}' attrs); "
                         "choose another --study name")
    diff = identity_diff(stored, current)
    if [d.name.lower() for d in study.directions] != setup.directions:
        raise UsageError(f"study {name!r} optimises {len(study.directions)} objective(s) with other "
                         "directions; objectives cannot change within a study: choose another --study name")
    meta = dict(study.user_attrs.get(ATTR) or {})
    history = list(meta.get("history") or [])
    if diff:
        if console is not None:
            console.print(f"[bold red]study {name!r}: the inputs differ from the stored ones:[/]")
            for line in diff:
                console.print("  " + line, markup=False, highlight=False)
        if not force:
            raise InputsChanged(name, diff)
        history.append({"event": "resumed with changed inputs (--force)", "previous": stored,
                        "run": run})
        for key, value in study_attrs(setup, run).items():
            if key != ATTR:
                study.set_user_attr(key, value)
        meta["identity"] = current
    else:
        history.append({"event": "resumed", "run": run})
    meta["run"] = run
    meta["history"] = history[-50:]
    study.set_user_attr(ATTR, meta)
    return study, False


@dataclass
class RunStats:
    evaluated: int = 0
    cache_hits: int = 0
    failed: int = 0
    t_ask: float = 0.0
    t_eval: float = 0.0
    t_tell: float = 0.0
    t_write: float = 0.0
    t_total: float = 0.0
    batches: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class RunResult:
    study: optuna.Study
    complete: int
    added: int
    stats: RunStats
    requeued: int = 0
    trials: list[FrozenTrial] = field(default_factory=list)


def _key_from_params(space, params: dict) -> tuple | None:
    try:
        return space.canonical(params)
    except (KeyError, IndexError, ValueError, TypeError):
        return None


class Runner:
    def __init__(self, setup: Setup, problem: Any, study: optuna.Study, choice: SamplerChoice,
                 seed: int | None, trials: int, console: Console | None = None,
                 progress: bool = True, label: str = "search"):
        if trials < 1:
            raise UsageError(f"--trials must be >= 1, got {trials}")
        self.setup = setup
        self.problem = problem
        self.study = study
        self.store = trial_store(study)
        self.choice = choice
        self.seed = seed
        self.target = int(trials)
        self.console = console
        self.show_progress = progress
        self.label = label
        self.cache: dict[tuple, Outcome] = {}
        self.stats = RunStats()
        self.directions = setup.directions

    # ------------------------------------------------------------------ evaluation
    def _evaluate(self, params_list: Sequence[dict]) -> list[Outcome]:
        space, setup = self.setup.space, self.setup
        compat = setup.fidelity.compat
        points = []
        out: list[Outcome | None] = [None] * len(params_list)
        idx = []
        for i, p in enumerate(params_list):
            try:
                points.append(space.point(p))
                idx.append(i)
            except LlmhwError as exc:
                out[i] = failed(exc, traceback.format_exc(), compat)
        try:
            results = list(self.problem.evaluate_many(points)) if points else []
            if len(results) != len(points):
                raise RuntimeError(f"evaluate_many returned {len(results)} results for {len(points)} points")
        except Exception:  # noqa: BLE001 - isolate the failing point(s)
            results = []
            for pt in points:
                try:
                    results.append(self.problem.evaluate(pt))
                except Exception as exc:  # noqa: BLE001
                    results.append(exc)
        for i, r in zip(idx, results):
            if isinstance(r, BaseException):
                out[i] = failed(r, "".join(traceback.format_exception(r)), compat)
                self.stats.failed += 1
            else:
                out[i] = from_result(r, setup.objectives, setup.constraints, compat)
        self.stats.evaluated += len(points)
        return out  # type: ignore[return-value]

    def outcomes(self, params_list: Sequence[dict]) -> list[Outcome]:
        """Outcomes for a batch of params, evaluating only points not in the cache."""
        keys = [self.setup.space.canonical(p) for p in params_list]
        todo: dict[tuple, dict] = {}
        for k, p in zip(keys, params_list):
            if k not in self.cache and k not in todo:
                todo[k] = p
        self.stats.cache_hits += len(keys) - len(todo)
        if todo:
            for k, o in zip(todo, self._evaluate(list(todo.values()))):
                self.cache[k] = o
        return [self.cache[k] for k in keys]

    # ------------------------------------------------------------------ the loop
    def _seed_memory(self, stored: list[FrozenTrial]) -> optuna.Study:
        sampler = make_sampler(self.choice, self.setup.space, self.seed, len(self.directions))
        mem = optuna.create_study(directions=self.directions, sampler=sampler)
        mem.set_metric_names([o.name for o in self.setup.objectives])
        copies = []
        for t in stored:
            if t.state not in (TrialState.COMPLETE, TrialState.FAIL):
                continue
            copies.append(FrozenTrial(
                number=t.number, state=t.state, value=None,
                values=t.values if t.state == TrialState.COMPLETE else None,
                datetime_start=t.datetime_start, datetime_complete=t.datetime_complete,
                params=t.params, distributions=t.distributions,
                user_attrs={k: v for k, v in t.user_attrs.items() if k == REFERENCE_ATTR},
                system_attrs=t.system_attrs, intermediate_values={}, trial_id=0))
        mem.add_trials(copies)
        return mem

    def _fill_cache(self, stored: list[FrozenTrial]) -> None:
        prefix = "constraints:"
        for t in stored:
            if t.state != TrialState.COMPLETE or "feasible" not in t.user_attrs or "error" in t.user_attrs:
                continue
            key = _key_from_params(self.setup.space, t.params)
            if key is None or key in self.cache:
                continue
            cons = {k[len(prefix):]: v for k, v in t.system_attrs.items() if k.startswith(prefix)}
            if tuple(cons) != self.setup.constraints.names:
                continue
            attrs = {k: v for k, v in t.user_attrs.items() if k not in (REFERENCE_ATTR, DIMS_ATTR)}
            self.cache[key] = Outcome(tuple(t.values), cons, attrs, bool(t.user_attrs["feasible"]))

    def _track(self, tracker: FrontTracker, trials: Sequence[tuple[FrozenTrial | None, Outcome]]) -> None:
        feas = [o.values for _, o in trials if o.values is not None and o.feasible]
        if feas:
            tracker.add(losses(feas, self.directions))

    def run(self) -> RunResult:
        t_start = time.perf_counter()
        space = self.setup.space
        stored = self.store.read()
        requeue: list[dict] = []
        if any(t.state in (TrialState.RUNNING, TrialState.WAITING) for t in stored):
            for t in self.store.fail_unfinished():
                if t.params:
                    requeue.append(dict(t.params))
            stored = self.store.read()
        done = count_complete(stored)
        tracker = FrontTracker(len(self.directions))
        for t in stored:
            if t.state == TrialState.COMPLETE and t.user_attrs.get("feasible"):
                tracker.add(losses([t.values], self.directions))
        if done >= self.target:
            self.stats.t_total = time.perf_counter() - t_start
            return RunResult(self.study, done, 0, self.stats, 0, stored)
        self._fill_cache(stored)
        mem = self._seed_memory(stored)
        have_refs = {t.user_attrs.get(REFERENCE_ATTR) for t in stored if t.state == TrialState.COMPLETE}
        for name, params in self.setup.references:
            if name not in have_refs:
                mem.enqueue_trial(params, user_attrs={REFERENCE_ATTR: name}, skip_if_exists=False)
        for params in requeue:
            mem.enqueue_trial(params, skip_if_exists=False)
        del stored
        progress = SearchProgress(self.console, self.target, done, self.label, self.show_progress)
        added = 0
        dists = space.distributions
        try:
            while done < self.target:
                k = min(self.choice.batch_size, self.target - done)
                t0 = time.perf_counter()
                asked = [mem.ask(dists) for _ in range(k)]
                params_list = [t.params for t in asked]
                t1 = time.perf_counter()
                outs = self.outcomes(params_list)
                t2 = time.perf_counter()
                records = []
                for trial, out in zip(asked, outs):
                    if out.values is None:
                        frozen = mem.tell(trial, state=TrialState.FAIL)
                    else:
                        for name, v in out.constraints.items():
                            trial.set_constraint(name, v)
                        frozen = mem.tell(trial, list(out.values))
                    attrs = dict(frozen.user_attrs)
                    attrs.update(out.user_attrs)
                    attrs[DIMS_ATTR] = attr_value(space.values(frozen.params))
                    records.append(FrozenTrial(
                        number=frozen.number, state=frozen.state, value=None, values=frozen.values,
                        datetime_start=frozen.datetime_start,
                        datetime_complete=frozen.datetime_complete, params=frozen.params,
                        distributions=frozen.distributions, user_attrs=attrs,
                        system_attrs=frozen.system_attrs, intermediate_values={}, trial_id=0))
                t3 = time.perf_counter()
                self.store.write(records)
                t4 = time.perf_counter()
                n_ok = sum(1 for r in records if r.state == TrialState.COMPLETE)
                if n_ok == 0:
                    errors = {r.user_attrs.get("error") for r in records}
                    raise LlmhwError(f"every evaluation of a batch failed ({'; '.join(sorted(map(str, errors)))[:300]}); "
                                     "the failed trials are stored with their tracebacks")
                done += n_ok
                added += n_ok
                self._track(tracker, list(zip(asked, outs)))
                self.stats.t_ask += t1 - t0
                self.stats.t_eval += t2 - t1
                self.stats.t_tell += t3 - t2
                self.stats.t_write += t4 - t3
                self.stats.batches += 1
                progress.update(done, tracker)
        finally:
            progress.close()
            self.stats.t_total = time.perf_counter() - t_start
        return RunResult(self.study, done, added, self.stats, len(requeue))


def run_record_for(choice: SamplerChoice, seed: int | None, trials: int) -> dict:
    return run_record(choice.name, seed, choice.batch_size, trials)
