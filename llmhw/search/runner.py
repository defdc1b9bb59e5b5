"""The ask/tell loop: sample in memory, evaluate a batch at once, persist the batch in one write.

Per batch of ``batch_size`` trials:

1. ask the sampler ``batch_size`` times on an **in-memory** study that mirrors the persistent one
   (NSGA-II: the batch is one generation; TPE: ``constant_liar`` spreads the batch);
2. evaluate every *new* point of the batch with one ``Problem.evaluate_many`` call — points are
   cached by their concrete values (clipped mapping included), so repeated suggestions and
   resumed studies cost nothing;
3. tell the in-memory study (constraints set with ``Trial.set_constraint``);
4. write the finished batch to the persistent study in one transaction
   (:mod:`llmhw.study.storage`). A SIGKILL loses at most the batch in flight; every stored trial is
   COMPLETE (or FAIL for an evaluation error) and ``--trials N`` resumes to exactly N COMPLETE.

With the mapping sweep (``--sweep``, on by default; :mod:`llmhw.search.sweep`), each batch's trials whose
hardware is valid and new to the run are given their best mappings: the designs of each such hardware's
mapping grid that would join the feasible front are kept in a queue and asked first in the next batches
(at most one batch at a time; a queued design the front has meanwhile caught up with is dropped), as
ordinary trials tagged with the user attr ``sweep``. A resumed study sweeps its stored hardware once more,
after its first batch (so that re-queued and reference trials go first, and the grids do not delay the
start), and queues only what its front still lacks; ``pls`` is told the mapping dimensions are settled.

On start the persistent study is read once (fast bulk read), RUNNING/WAITING trials left by another
writer are marked FAIL and their params re-queued, the in-memory study is seeded with the stored
trials (sampler state such as NSGA-II generations travels in their system attrs), the evaluation
cache is filled from them, and reference designs (``--enqueue``) not yet stored are queued first.

Several processes on one study (issue 5; a store with ``shared`` set: a server database or a
journal file): before each batch the runner adds the trials the other processes stored since its
last look to its in-memory study, cache and front (``store.read_new``), and takes the study's
COMPLETE count as progress; the store admits a batch against the budget inside its write lock, so
the processes together store exactly N; a reference design is queued only by the process that
claims it (``store.claim``). See :mod:`llmhw.study.workers` for ``--jobs``.
"""
from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Sequence

import optuna
from optuna.trial import FrozenTrial, TrialState
from rich.console import Console

from llmhw.errors import LlmhwError, UsageError

from llmhw.study import signals
from llmhw.study.storage import count_complete, trial_store

from .outcome import Outcome, attr_value, design_of, failed, from_result
from .pareto import covered, losses
from .progress import FrontTracker, Patience, SearchProgress
from .samplers import SamplerChoice, make_sampler
from .setup import Setup, run_record
from .sweep import SWEEP_TAG, MappingSweep

REFERENCE_ATTR = "reference"
FAIL_STREAK = 20   # consecutive failed evaluations (at least two batches) that stop a run
WARN_MAX = 10      # one-line warnings for failed trials per run
DIMS_ATTR = "dims"


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
    swept: int = 0          # hardware × system combinations given their best mappings (--sweep)
    grid_mappings: int = 0  # mappings the sweep's grids scored (not trials)
    sweep_queued: int = 0   # trials the sweep queued
    t_sweep: float = 0.0

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
    converged: bool = False   # stopped by ``patience``: no front gain in that many batches
    sweep_note: str = ""      # what the mapping sweep did (or why it could not run), for the end of the run


def packed(o: Outcome) -> Outcome:
    """``o`` with its user attrs as one JSON text: a cached outcome costs ~2 KB instead of the
    ~15 KB of nested dicts (design, metrics, violations), so the cache of a 20,000-trial run stays
    small (issue 15 item 17). The attrs are JSON-safe already (:func:`attr_value`)."""
    return Outcome(o.values, o.constraints, json.dumps(o.user_attrs, separators=(",", ":")), o.feasible)  # type: ignore[arg-type]


def unpacked(o: Outcome) -> Outcome:
    attrs = o.user_attrs
    return Outcome(o.values, o.constraints, json.loads(attrs) if isinstance(attrs, str) else attrs, o.feasible)


def _key_from_params(space, params: dict) -> tuple | None:
    try:
        return space.canonical(params)
    except (KeyError, IndexError, ValueError, TypeError):
        return None


class Runner:
    def __init__(self, setup: Setup, problem: Any, study: optuna.Study, choice: SamplerChoice,
                 seed: int | None, trials: int, console: Console | None = None,
                 progress: bool = True, label: str = "search", ask_size: int | None = None,
                 enqueue: bool = True, requeue: Sequence[dict] = (), peers: int = 1):
        if trials < 1:
            raise ValueError(f"a study budget must be >= 1 trial, got {trials}")
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
        self.cache: dict[tuple, Outcome] = {}   # packed (see :func:`packed`)
        self.stats = RunStats()
        self.directions = setup.directions
        self.ask_size = ask_size or choice.batch_size   # trials per batch (default: the sampler's)
        self.enqueue = enqueue                          # queue the reference designs (--enqueue)
        self.requeue = list(requeue)                    # extra params to evaluate first
        self.peers = max(1, int(peers))                 # processes sharing the remaining budget
        self.sweep = MappingSweep(setup.space, problem, setup.objectives, setup.constraints.limits) \
            if choice.sweep else None
        self._sweep_pending: list[tuple[dict, Any]] = []   # (params, loss) the sweep found, not yet asked

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
            except Exception as exc:  # noqa: BLE001 - a point that cannot be built fails its trial
                out[i] = failed(exc, traceback.format_exc(), compat, design=dict(p))
                self.stats.failed += 1
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
        for i, r, pt in zip(idx, results, points):
            if not isinstance(r, BaseException):
                try:
                    out[i] = from_result(r, setup.objectives, setup.constraints, compat)
                    continue
                except Exception as exc:  # noqa: BLE001 - a malformed result fails its trial
                    r = exc
            out[i] = failed(r, "".join(traceback.format_exception(r)), compat, design=design_of(pt))
            self.stats.failed += 1
        self.stats.evaluated += len(points)
        return out  # type: ignore[return-value]

    def outcomes(self, params_list: Sequence[dict]) -> list[Outcome]:
        """Outcomes for a batch of params, evaluating only points not in the cache."""
        keys = []
        for p in params_list:
            try:
                keys.append(self.setup.space.canonical(p))
            except Exception:  # noqa: BLE001 - not a point of the space: evaluated (and failed) alone
                self._odd = getattr(self, "_odd", 0) + 1
                keys.append(("<not a point of the space>", self._odd))
        todo: dict[tuple, dict] = {}
        for k, p in zip(keys, params_list):
            if k not in self.cache and k not in todo:
                todo[k] = p
        self.stats.cache_hits += len(keys) - len(todo)
        fresh: dict[tuple, Outcome] = {}
        if todo:
            for k, o in zip(todo, self._evaluate(list(todo.values()))):
                fresh[k] = o
                self.cache[k] = packed(o)
        return [fresh[k] if k in fresh else unpacked(self.cache[k]) for k in keys]

    def _warn_failed(self, stored: Sequence[FrozenTrial]) -> None:
        """One line per trial whose evaluation raised (at most WARN_MAX per run, then a count)."""
        for t in stored or ():
            if t.state != TrialState.FAIL or "error" not in t.user_attrs:
                continue
            self._warned = getattr(self, "_warned", 0) + 1
            if self._warned > WARN_MAX:
                continue
            text = (f"warning: trial {t.number} failed: {str(t.user_attrs['error']).splitlines()[0][:160]} "
                    "(design and traceback stored in its user attrs; the search goes on)")
            if self._warned == WARN_MAX:
                text += "; further failures are only counted"
            if self.console is not None:
                self.console.print(text, markup=False, highlight=False)
            else:
                import sys
                print(text, file=sys.stderr)

    # ------------------------------------------------------------------ the loop
    def _seed_memory(self, stored: list[FrozenTrial]) -> optuna.Study:
        sampler = make_sampler(self.choice, self.setup.space, self.seed, len(self.directions),
                               settled=self.sweep.settled if self.sweep is not None else ())
        mem = optuna.create_study(directions=self.directions, sampler=sampler)
        mem.set_metric_names([o.name for o in self.setup.objectives])
        self._mirror(mem, stored)
        return mem

    @staticmethod
    def _mirror(mem: optuna.Study, stored: Sequence[FrozenTrial]) -> None:
        """Add finished stored trials to the in-memory study (sampler history)."""
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

    def _absorb(self, mem: optuna.Study, tracker: FrontTracker, new: Sequence[FrozenTrial]) -> None:
        """Trials stored by other processes: into the sampler history, the cache and the front."""
        self._mirror(mem, new)
        self._fill_cache(list(new))
        self._track_stored(tracker, new)
        self._sweep(self._stored_violations(new), tracker.front)

    def _track_stored(self, tracker: FrontTracker, stored: Sequence[FrozenTrial]) -> None:
        """Feasible COMPLETE trials into the front (one merge: per-trial merges cost O(n·front))."""
        feas = [t.values for t in stored if t.state == TrialState.COMPLETE and t.user_attrs.get("feasible")]
        if feas:
            tracker.add(losses(feas, self.directions))

    def _queue_references(self, mem: optuna.Study, pending: list[tuple[str, dict]],
                          stored: Sequence[FrozenTrial]) -> list[tuple[str, dict]]:
        """Queue the reference designs not stored yet (shared stores: those this process claims);
        returns the ones still pending (claimed by another live process)."""
        have = {t.user_attrs.get(REFERENCE_ATTR) for t in stored if t.state == TrialState.COMPLETE}
        pending = [(n, p) for n, p in pending if n not in have]
        if not pending:
            return []
        mine = self.store.claim([n for n, _ in pending]) if self.store.shared else {n for n, _ in pending}
        for name, params in pending:
            if name in mine:
                mem.enqueue_trial(params, user_attrs={REFERENCE_ATTR: name}, skip_if_exists=False)
        return [(n, p) for n, p in pending if n not in mine]

    def _sweep(self, done: Sequence[tuple[dict, dict]], front) -> None:
        """Find the best mappings of each newly reached combination that would join ``front``
        (:mod:`llmhw.search.sweep`); ``done``: (params, honest violation amounts) of evaluated trials."""
        if self.sweep is None or self.sweep.unavailable is not None:
            return
        t0 = time.perf_counter()
        sw = self.sweep
        for params, violations in done:
            self._sweep_pending += sw.propose(params, violations, front)
        self.stats.swept, self.stats.grid_mappings = len(sw.swept), sw.grid_rows
        self.stats.t_sweep += time.perf_counter() - t0

    def _release_sweep(self, mem: optuna.Study, front, k: int) -> None:
        """Queue the next ``k`` (one batch) of the sweep's designs, first dropping those the front has
        caught up with since they were found (weakly dominated now)."""
        if not self._sweep_pending:
            return
        gone = covered(front, [l for _, l in self._sweep_pending])
        pending = [x for x, g in zip(self._sweep_pending, gone) if not g]
        n = min(len(pending), k)
        for params, _ in pending[:n]:
            mem.enqueue_trial(params, user_attrs={SWEEP_TAG: True}, skip_if_exists=False)
        self.stats.sweep_queued += n
        self._sweep_pending = pending[n:]

    def _sweep_note(self) -> str:
        sw, s = self.sweep, self.stats
        if sw is None:
            return ""
        if sw.unavailable is not None:
            return f"mapping sweep: not run: {sw.unavailable}"
        return (f"mapping sweep: {s.swept} hardware × system combinations given their best mappings "
                f"({s.grid_mappings:,} mappings scored on the grid, not trials; {s.sweep_queued} trials queued; "
                f"{s.t_sweep:.1f} s)")

    @staticmethod
    def _stored_violations(stored: Sequence[FrozenTrial]) -> list[tuple[dict, dict]]:
        """(params, honest violation amounts) of stored COMPLETE trials, for the sweep of a resumed or
        shared study."""
        return [(t.params, t.user_attrs.get("violations", {}))
                for t in stored if t.state == TrialState.COMPLETE and t.values is not None]

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
            self.cache[key] = packed(Outcome(tuple(t.values), cons, attrs, bool(t.user_attrs["feasible"])))

    def _track(self, tracker: FrontTracker, trials: Sequence[tuple[FrozenTrial | None, Outcome]]) -> int:
        feas = [o.values for _, o in trials if o.values is not None and o.feasible]
        return tracker.add(losses(feas, self.directions)) if feas else 0

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
        self._track_stored(tracker, stored)
        if done >= self.target:
            self.stats.t_total = time.perf_counter() - t_start
            return RunResult(self.study, done, 0, self.stats, 0, stored)
        self._fill_cache(stored)
        mem = self._seed_memory(stored)
        shared = self.store.shared
        pending = self._queue_references(mem, list(self.setup.references) if self.enqueue else [], stored)
        for params in requeue + self.requeue:
            mem.enqueue_trial(params, skip_if_exists=False)
        backlog = self._stored_violations(stored)   # a resumed study's hardware: swept after the first batch
        del stored
        progress = SearchProgress(self.console, self.target, done, self.label, self.show_progress)
        added = 0
        fail_streak = 0
        patience = Patience(self.choice.patience)
        stop = signals.current()
        dists = space.distributions
        try:
            while done < self.target:
                if stop is not None and stop.requested:  # Ctrl-C/SIGTERM: the last batch is stored
                    break
                if shared:  # other processes' trials since the last batch
                    new = self.store.read_new()
                    if new:
                        self._absorb(mem, tracker, new)
                    if pending:
                        pending = self._queue_references(mem, pending, new)
                    done = self.store.complete
                    if done >= self.target:
                        break
                k = min(self.ask_size, -(-(self.target - done) // self.peers))
                t0 = time.perf_counter()
                self._release_sweep(mem, tracker.front, k)
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
                with signals.critical():  # a second Ctrl-C waits for the batch to be stored
                    kept = self.store.write(records, budget=self.target)
                t4 = time.perf_counter()
                self._warn_failed(kept)
                n_ok = sum(1 for r in records if r.state == TrialState.COMPLETE)
                fail_streak = 0 if n_ok else fail_streak + len(records)
                if fail_streak >= max(FAIL_STREAK, 2 * len(records)):
                    errors = {r.user_attrs.get("error") for r in records}
                    raise LlmhwError(f"the last {fail_streak} evaluations all failed ({'; '.join(sorted(map(str, errors)))[:300]}); "
                                     "the failed trials are stored with their designs and tracebacks")
                n_kept = sum(1 for r in kept if r.state == TrialState.COMPLETE)
                done = self.store.complete  # the storage's count, whoever wrote the trials
                added += n_kept
                patience.update(self._track(tracker, list(zip(asked, outs))))
                self._sweep(backlog + [(t.params, o.user_attrs.get("violations", {})) for t, o in zip(asked, outs)
                                       if o.values is not None], tracker.front)
                backlog = []
                self.stats.t_ask += t1 - t0
                self.stats.t_eval += t2 - t1
                self.stats.t_tell += t3 - t2
                self.stats.t_write += t4 - t3
                self.stats.batches += 1
                progress.update(done, tracker, patience)
                if patience.done:
                    break
        finally:
            progress.close()
            self.stats.t_total = time.perf_counter() - t_start
        return RunResult(self.study, done, added, self.stats, len(requeue), converged=patience.done,
                         sweep_note=self._sweep_note())


def run_record_for(choice: SamplerChoice, seed: int | None, trials: int) -> dict:
    return run_record(choice.name, seed, choice.batch_size, trials, choice.sweep)
