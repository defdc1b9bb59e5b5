"""Parallel and distributed search (issue 5): ``--jobs N`` and shared ``--storage`` studies.

Design: every worker process runs its own :class:`~llmhw.search.runner.Runner` — batched
ask → evaluate → tell on an in-memory mirror study — against one *shared* study, with a batch of
``ceil(batch / N)`` trials. Before each batch a worker folds the trials the other workers stored
since its last look into its mirror, its evaluation cache and its front (so the sampler sees the
whole study, and NSGA-II's generations fill from all workers), and the store admits each batch
against the budget under its write lock. Asking, evaluating and telling all run in parallel, so
the speed-up is close to N when evaluation dominates; the serial part is one bulk append per batch.
(The alternative — the parent asks and the workers only evaluate — keeps the sampler serial and
idles the workers while the parent tells, writes and asks.)

Which shared study:

- **SQLite** (the default ``studies/<study>.db``): Optuna advises against SQLite for parallel
  writers (no ``SELECT … FOR UPDATE``: enqueued trials run twice, writers time out), so the workers
  share a journal file ``studies/<study>.db.journal`` (named after the database file; Optuna's
  ``JournalFileBackend``, bulk appends and a budget under an ``fcntl`` lock: :mod:`llmhw.study.journal`). The parent creates it afresh
  from the SQLite study (same trials, same numbers), starts the workers and **merges** the
  finished trials into SQLite batch by batch — one transaction each, in journal order, so SQLite
  numbers equal journal numbers — while it shows the progress. The parent is the only SQLite
  writer; a SIGKILL of everything loses only trials not merged yet (the journal is rebuilt on the
  next start) and the study resumes to exactly N like a single-process run. Reference designs
  (``--enqueue``) and trials re-queued from a killed run go to worker 0 alone: evaluated once.
- **A server database** (``--storage postgresql://…``) or **a journal file** (``journal:PATH``):
  the workers write the study directly; the same command may run on several machines at once.
  PostgreSQL: batches are serialised by ``SELECT … FOR UPDATE`` on the study row, numbers are
  assigned under that lock, the COMPLETE count is re-checked in the same transaction (exactly N in
  total), and reference designs are claimed with session advisory locks (evaluated by one live
  process, stored once). Creating/opening the study is serialised with an advisory lock
  (:func:`study_lock`), so several processes can start on an empty database.

Workers ignore SIGINT (the parent stops them on Ctrl-C, merges what finished and re-raises), and
die with the parent (``PR_SET_PDEATHSIG`` on Linux; otherwise they notice the new parent pid).
``--seed`` seeds worker *i* with ``seed + i``; a parallel run is not reproducible.
"""
from __future__ import annotations

import ctypes
import math
import multiprocessing as mp
import multiprocessing.connection
import os
import queue as queue_mod
import signal
import sys
import time
import traceback
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import optuna
from optuna.trial import FrozenTrial, TrialState
from rich.console import Console

from llmhw.errors import LlmhwError, UsageError
from llmhw.search.pareto import losses
from llmhw.search.progress import FrontTracker, SearchProgress
from llmhw.search.runner import Runner, RunResult, RunStats
from llmhw.search.samplers import SamplerChoice
from llmhw.search.setup import Setup, StudyInputs

from .lock import beside_db
from .journal import LOCK_SUFFIX, FlockLock, JournalTrialStore, journal_path, journal_storage, remove_journal
from .storage import JOURNAL_PREFIX, count_complete, is_server_db, normalize_url, trial_store
from .urls import redact

try:  # Ctrl-C/SIGTERM handling of issue 6: a merge is never cut in the middle
    from .signals import critical as _critical
except ImportError:  # pragma: no cover
    _critical = nullcontext  # type: ignore[assignment]

POLL_S = 0.2
OPEN_LOCK_KEY = 0x6C6C6D6877  # "llmhw": advisory lock key serialising study creation/opening


# ---------------------------------------------------------------------------------- study lock
@contextmanager
def study_lock(url: str) -> Iterator[None]:
    """Serialise opening/creating a study among processes that share its storage: PostgreSQL —
    a session advisory lock (also covers Optuna creating its tables on an empty database); journal
    file — an ``fcntl`` lock beside it; SQLite and others — nothing (one writer)."""
    url = normalize_url(url)
    if url.startswith(JOURNAL_PREFIX):
        path = journal_path(url)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with FlockLock(path + LOCK_SUFFIX):
            yield
        return
    if not url.startswith("postgresql"):
        yield
        return
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool
    try:
        engine = sa.create_engine(url, poolclass=NullPool)
        conn = engine.connect()
    except Exception as exc:  # noqa: BLE001 - driver missing, server down, bad URL
        raise UsageError(redact(f"--storage {url!r}: cannot connect ({type(exc).__name__}: "
                                f"{str(exc).splitlines()[0] if str(exc) else exc})")) from None
    try:
        conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": OPEN_LOCK_KEY})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": OPEN_LOCK_KEY})
            conn.commit()
    finally:
        conn.close()
        engine.dispose()


# ---------------------------------------------------------------------------------- workers
@dataclass
class WorkerSpec:
    """What a worker process needs (picklable: the inputs are texts)."""
    index: int
    inputs: StudyInputs
    url: str
    name: str
    choice: SamplerChoice
    seed: int | None
    trials: int
    ask_size: int
    enqueue: bool
    requeue: list = field(default_factory=list)
    parent_pid: int = 0
    peers: int = 1


def _die_with_parent(parent_pid: int) -> None:
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before prctl
        os._exit(1)


class _ParentWatch:
    """Wraps a store: before each write, exit if the parent process has gone."""

    def __init__(self, store: Any, parent_pid: int):
        self._store = store
        self._parent = parent_pid

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def write(self, trials: Sequence[FrozenTrial], budget: int | None = None) -> list[FrozenTrial]:
        if os.getppid() != self._parent:
            os._exit(1)
        return self._store.write(trials, budget=budget)


def worker_main(spec: WorkerSpec, results: Any) -> None:
    """Entry point of a worker process: one shared-study Runner, stats or the error to ``results``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent(spec.parent_pid)
    try:
        import warnings
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        from llmhw import evaluate
        from .storage import open_storage
        from llmhw.search.setup import build_setup
        setup = build_setup(spec.inputs)
        study = optuna.load_study(study_name=spec.name, storage=open_storage(spec.url))
        problem = evaluate.Problem(setup.hw, setup.system, setup.model, setup.constants, setup.fidelity)
        seed = None if spec.seed is None else spec.seed + spec.index
        runner = Runner(setup, problem, study, spec.choice, seed, spec.trials, console=None,
                        progress=False, label=f"worker {spec.index}", ask_size=spec.ask_size,
                        enqueue=spec.enqueue, requeue=spec.requeue, peers=spec.peers)
        runner.store = _ParentWatch(runner.store, spec.parent_pid)
        res = runner.run()
        results.put(("done", spec.index, res.stats.as_dict(), res.added, res.requeued))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        kind = "usage" if isinstance(exc, LlmhwError) else "crash"
        results.put(("error", spec.index, kind, str(exc) or type(exc).__name__, traceback.format_exc()))
        results.close()
        results.join_thread()
        os._exit(1)
    results.close()
    results.join_thread()


def _context() -> Any:
    methods = mp.get_all_start_methods()
    return mp.get_context("fork" if "fork" in methods else "spawn")


# ---------------------------------------------------------------------------------- the parent
def sqlite_path(url: str) -> str | None:
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        return path if path and path != ":memory:" else None
    return None


def journal_for(url: str, name: str) -> Path:
    """The scratch journal of ``--jobs`` beside the SQLite file of ``url``, named after the database
    and the study (``studies/<study>.db.journal``; ``<dir>/<db>.<study>.journal`` when one file holds
    several studies), so two databases in one directory never share one."""
    return beside_db(url, name, ".journal") or Path(f"{name}.journal")


#: what ``--jobs N`` adds whatever the job, in CPU seconds (docs/scaling-out.md, measured on the
#: README's main job): each worker starts an interpreter, imports numpy/pandas/optuna and rebuilds
#: the setup; every trial is appended to the journal by a worker and merged into SQLite by the parent
WORKER_START_S = 2.5
MERGE_S_PER_TRIAL = 0.003


def probe_trial_s(setup: Setup, choice: SamplerChoice, seed: int | None, n: int = 64) -> float:
    """CPU seconds per trial of ask + evaluate + tell, measured on an in-memory study of ``n``
    trials (CPU, not wall: other programs on the machine do not inflate it; a lower bound, as
    model-based samplers slow down while the history grows)."""
    from llmhw.evaluate import Problem
    problem = Problem(setup.hw, setup.system, setup.model, setup.constants, setup.fidelity)
    study = optuna.create_study(directions=setup.directions)
    t = time.process_time()
    Runner(setup, problem, study, choice, seed, n, console=None, progress=False).run()
    return (time.process_time() - t) / n


def jobs_advice(jobs: int, trials: int, trial_s: float, cores: int | None = None) -> tuple[bool, str]:
    """(pays, one line) for ``--jobs`` given the CPU cost of one trial with one process.

    Wall time with N workers is bounded below by the slowest worker (start + its share of the
    trials) and by all the CPU work (N starts, every trial, every merge) spread over the cores the
    N workers and the merging parent can use; workers pay when that is under 80 % of one process."""
    cores = cores or os.cpu_count() or 1
    serial = trials * trial_s
    parallel = max(WORKER_START_S + trials * trial_s / jobs,
                   (jobs * WORKER_START_S + trials * (trial_s + MERGE_S_PER_TRIAL)) / min(jobs + 1, cores))
    pays = parallel < 0.8 * serial
    line = (f"--jobs {jobs}: a trial costs ~{trial_s * 1e3:.2f} ms here (ask + evaluate, one process); "
            f"expect ~{parallel:.0f} s with {jobs} workers against ~{serial:.0f} s with --jobs 1: ")
    line += ("worth it" if pays else "use --jobs 1 (workers pay for long runs of slow trials: "
             "docs/scaling-out.md)")
    return pays, line


def jobs_line(jobs: int, trials: int) -> str:
    """The run header's reminder of when ``--jobs`` pays (``--check --jobs N`` measures it)."""
    return (f"--jobs {jobs}: {jobs} worker processes (~{WORKER_START_S:.0f} s to start each) and a merge of "
            f"~{MERGE_S_PER_TRIAL * 1e3:.1f} ms per trial: they pay when a trial costs well over "
            f"{jobs * MERGE_S_PER_TRIAL * 1e3:.0f} ms; --check --jobs {jobs} measures this job")


def run_search(setup: Setup, study: optuna.Study, url: str, name: str, choice: SamplerChoice,
               seed: int | None, trials: int, jobs: int = 1, console: Console | None = None,
               progress: bool = True, problem: Any = None) -> RunResult:
    """Run the search on ``study`` (stored at ``url``) with ``jobs`` processes (see the module doc)."""
    if jobs < 1:
        raise UsageError(f"--jobs must be >= 1, got {jobs}")
    url = normalize_url(url)
    if jobs == 1:
        if problem is None:
            from llmhw.evaluate import Problem
            problem = Problem(setup.hw, setup.system, setup.model, setup.constants, setup.fidelity)
        return Runner(setup, problem, study, choice, seed, trials, console=console, progress=progress,
                      label=name).run()
    if trials < 1:
        raise UsageError(f"--trials must be >= 1, got {trials}")
    if sqlite_path(url):
        return _ParallelRun(setup, study, url, name, choice, seed, trials, jobs, console, progress).merge()
    if is_server_db(url) or url.startswith(JOURNAL_PREFIX):
        return _ParallelRun(setup, study, url, name, choice, seed, trials, jobs, console, progress).direct()
    raise UsageError(f"--jobs {jobs} needs a file or server storage (sqlite:///FILE, journal:PATH, "
                     f"postgresql://…), not {url!r}")


class _ParallelRun:
    def __init__(self, setup: Setup, study: optuna.Study, url: str, name: str, choice: SamplerChoice,
                 seed: int | None, trials: int, jobs: int, console: Console | None, progress: bool):
        self.setup, self.study, self.url, self.name = setup, study, url, name
        self.choice, self.seed, self.target, self.jobs = choice, seed, int(trials), int(jobs)
        self.console, self.show_progress = console, progress
        self.ask_size = max(1, math.ceil(choice.batch_size / jobs))
        self.stats = RunStats()
        self.requeued = 0
        self.directions = setup.directions
        self.t0 = time.perf_counter()

    def _note(self, text: str) -> None:
        if self.console is not None:
            self.console.print(text)

    def _specs(self, url: str, enqueue_all: bool, requeue: list) -> list[WorkerSpec]:
        return [WorkerSpec(index=i, inputs=self.setup.inputs, url=url, name=self.name, choice=self.choice,
                           seed=self.seed, trials=self.target, ask_size=self.ask_size,
                           enqueue=enqueue_all or i == 0, requeue=requeue if i == 0 else [],
                           parent_pid=os.getpid(), peers=self.jobs)
                for i in range(self.jobs)]

    # -- SQLite study: workers on a journal, merged here --------------------------------------
    def merge(self) -> RunResult:
        db = trial_store(self.study)
        stored = db.read()
        requeue: list[dict] = []
        if any(t.state in (TrialState.RUNNING, TrialState.WAITING) for t in stored):
            requeue = [dict(t.params) for t in db.fail_unfinished() if t.params]
            stored = db.read()
        done = count_complete(stored)
        if done >= self.target:
            return self._result(done, 0, len(requeue), stored)
        jpath = journal_for(self.url, self.name)
        remove_journal(jpath)   # a journal left by a killed run: its merged trials are in SQLite
        jstudy = optuna.create_study(study_name=self.name, storage=journal_storage(jpath),
                                     directions=self.directions)
        journal = JournalTrialStore(jstudy)
        t = time.perf_counter()
        journal.write(stored)   # the history, same numbers as in SQLite
        journal.read()
        self._note(f"{self.jobs} workers on {jpath} (history of {len(stored)} trials copied in "
                   f"{time.perf_counter() - t:.1f} s), merged into {redact(self.url)} batch by batch")
        specs = self._specs(f"{JOURNAL_PREFIX}{jpath}", enqueue_all=False, requeue=requeue)
        try:
            complete, added = self._supervise(specs, journal, db, stored, done)
        finally:
            remove_journal(jpath)
        return self._result(complete, added, len(requeue))

    # -- server database / journal file: workers write it directly ----------------------------
    def direct(self) -> RunResult:
        store = trial_store(self.study)
        stored = store.read()
        done = count_complete(stored)
        if done >= self.target:
            return self._result(done, 0, 0, stored)
        self._note(f"{self.jobs} workers on {redact(self.url)}")
        specs = self._specs(self.url, enqueue_all=True, requeue=[])
        complete, added = self._supervise(specs, store, None, stored, done)
        return self._result(complete, added, self.requeued)

    def _result(self, complete: int, added: int, requeued: int,
                stored: list[FrozenTrial] | None = None) -> RunResult:
        self.stats.t_total = time.perf_counter() - self.t0
        return RunResult(self.study, complete, added, self.stats, requeued, list(stored or []))

    def _supervise(self, specs: list[WorkerSpec], source: Any, sink: Any,
                   stored: list[FrozenTrial], done: int) -> tuple[int, int]:
        """Start the workers; until they finish, pick up new trials from ``source`` (merging them
        into ``sink`` if given) and show the progress. Returns (COMPLETE count, trials added)."""
        tracker = FrontTracker(len(self.directions))
        feas = [t.values for t in stored if t.state == TrialState.COMPLETE and t.user_attrs.get("feasible")]
        if feas:
            tracker.add(losses(feas, self.directions))
        ctx = _context()
        results = ctx.Queue()
        procs = [ctx.Process(target=worker_main, args=(spec, results), name=f"llmhw-worker-{spec.index}")
                 for spec in specs]
        for p in procs:
            p.start()
        start_done = done
        errors: list[tuple] = []
        finished: set[int] = set()
        progress = SearchProgress(self.console, self.target, done, self.name, self.show_progress)

        def collect() -> None:
            while True:
                try:
                    msg = results.get_nowait()
                except queue_mod.Empty:
                    return
                if msg[0] == "done":
                    finished.add(msg[1])
                    for k, v in msg[2].items():
                        if k != "t_total" and isinstance(v, (int, float)):
                            setattr(self.stats, k, getattr(self.stats, k) + v)
                    self.requeued += msg[4]
                else:
                    finished.add(msg[1])
                    errors.append(msg)

        def pull() -> int:
            nonlocal done
            new = source.read_new()
            if new:
                if sink is not None:
                    t = time.perf_counter()
                    with _critical():
                        sink.write(new, budget=self.target)
                    self.stats.t_write += time.perf_counter() - t
                    done = sink.complete
                else:
                    done = source.complete
                feas = [t.values for t in new if t.state == TrialState.COMPLETE and t.user_attrs.get("feasible")]
                if feas:
                    tracker.add(losses(feas, self.directions))
            elif sink is None:
                done = source.complete
            return done

        try:
            while True:
                multiprocessing.connection.wait([p.sentinel for p in procs if p.exitcode is None] or [], timeout=POLL_S)
                collect()
                pull()
                progress.update(done, tracker)
                crashed = [p for p in procs if p.exitcode not in (None, 0)]
                if errors or crashed:
                    break
                if all(p.exitcode is not None for p in procs):
                    break
        except BaseException:
            self._stop(procs)
            pull()
            raise
        finally:
            progress.close()
        if errors or any(p.exitcode not in (None, 0) for p in procs):
            self._stop(procs)
            collect()
            pull()
            raise self._failure(procs, errors)
        for p in procs:
            p.join()
        collect()
        pull()
        if done < self.target:
            raise LlmhwError(f"the workers stopped with {done} of {self.target} COMPLETE trials stored")
        return done, done - start_done

    @staticmethod
    def _stop(procs: list) -> None:
        for p in procs:
            if p.exitcode is None:
                p.terminate()
        for p in procs:
            p.join(10)
            if p.exitcode is None:
                p.kill()
                p.join()

    @staticmethod
    def _failure(procs: list, errors: list[tuple]) -> LlmhwError:
        if errors:
            _, index, kind, message, tb = errors[0]
            if kind != "usage":
                print(f"worker {index} failed:\n{tb}", file=sys.stderr)
            return LlmhwError(f"worker {index} failed: {message} (the finished trials are stored)")
        codes = {p.name: p.exitcode for p in procs if p.exitcode not in (None, 0)}
        return LlmhwError(f"worker process(es) died: {codes} (the finished trials are stored)")

