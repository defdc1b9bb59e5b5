"""Journal-file studies shared by several processes (issue 5): bulk appends, a budget, claims.

Optuna's :class:`~optuna.storages.JournalStorage` on a :class:`JournalFileBackend` is its
recommended storage for several processes on one machine (SQLite lacks ``SELECT … FOR UPDATE``).
llmhw uses it as written by Optuna — every record is an ordinary ``CREATE_TRIAL`` log line, so any
Optuna (or optuna-dashboard) reads the file — with three additions for its batched runner:

- **bulk appends**: a batch is formatted by Optuna itself (``JournalStorage.create_new_trial`` on
  a scratch in-memory journal, :class:`_Recorder`) and appended to the file with *one*
  ``append_logs`` (one lock, one write, one ``fsync``) instead of one per trial;
- **a budget**: :class:`JournalTrialStore.write` holds :class:`FlockLock` (an ``fcntl`` lock on
  ``<journal>.llmhw-lock``, released by the kernel if its holder dies) around *read the journal →
  count COMPLETE trials → append*, so concurrent writers never store more than ``--trials N``
  COMPLETE trials and a reference design (``--enqueue``) is stored at most once. Trial numbers are
  the journal's own (assigned by log order, unique by construction);
- **claims**: :meth:`JournalTrialStore.claim` takes a non-blocking ``fcntl`` lock per reference
  design, held until the process exits, so among live processes only one evaluates it; a claim of a
  killed process vanishes with it and another process takes the design over.

The inner file lock of the backend stays Optuna's default (a symlink lock), so plain Optuna
processes appending to the same file remain safe; llmhw's writers add the ``fcntl`` lock on top.
"""
from __future__ import annotations

import fcntl
import hashlib
import logging
import os
from pathlib import Path
from typing import Any, Sequence

import optuna
from optuna.storages.journal import BaseJournalBackend, JournalFileBackend, JournalStorage
from optuna.trial import FrozenTrial, TrialState

LOCK_SUFFIX = ".llmhw-lock"


class FlockLock:
    """A re-entrant (within the process) exclusive ``fcntl.flock`` on ``path``."""

    def __init__(self, path: str | os.PathLike):
        self.path = str(path)
        self._fd: int | None = None
        self._depth = 0

    def acquire(self) -> None:
        if self._depth == 0:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException:
                os.close(fd)
                raise
            self._fd = fd
        self._depth += 1

    def release(self) -> None:
        if self._depth == 0:
            return
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    def __enter__(self) -> "FlockLock":
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


class _Recorder(BaseJournalBackend):
    """An in-memory journal backend: a scratch JournalStorage on it formats log records."""

    def __init__(self) -> None:
        self.logs: list[dict[str, Any]] = []

    def read_logs(self, log_number_from: int):
        return (self.logs[i] for i in range(log_number_from, len(self.logs)))

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        self.logs.extend(logs)


def trial_logs(trials: Sequence[FrozenTrial], study_id: int) -> list[dict[str, Any]]:
    """The journal records that ``JournalStorage.create_new_trial(study_id, template_trial=t)``
    would append for each trial (formatted by Optuna, not by hand)."""
    recorder = _Recorder()
    scratch = JournalStorage(recorder)
    log = logging.getLogger("optuna.storages.journal._storage")   # "A new study created" (INFO)
    level = log.level
    log.setLevel(logging.WARNING)
    try:
        sid = scratch.create_new_study([optuna.study.StudyDirection.MINIMIZE], "scratch")
    finally:
        log.setLevel(level)
    n0 = len(recorder.logs)
    for t in trials:
        scratch.create_new_trial(sid, template_trial=t)
    return [{**log, "study_id": study_id} for log in recorder.logs[n0:]]


def is_journal_file(storage: Any) -> bool:
    return isinstance(storage, JournalStorage) and isinstance(
        getattr(storage, "_backend", None), JournalFileBackend)


def journal_path(url_or_path: str) -> str:
    """The file of ``journal:PATH`` (also accepts a bare path)."""
    return url_or_path.removeprefix("journal:").removeprefix("//")


def journal_storage(path: str | os.PathLike) -> JournalStorage:
    """A JournalStorage on the journal file ``path`` (created with its directory if missing)."""
    path = str(path)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(path))


def remove_journal(path: str | os.PathLike) -> None:
    """Delete a journal file and the lock files beside it (never while a writer may be running)."""
    p = Path(path)
    for f in [p, Path(str(p) + LOCK_SUFFIX), Path(str(p) + ".lock")] + list(p.parent.glob(p.name + ".ref-*")):
        try:
            f.unlink()
        except FileNotFoundError:
            pass


def admit(trials: Sequence[FrozenTrial], complete: int, stored_refs: set, budget: int | None,
          ref_key: str = "reference") -> tuple[list[FrozenTrial], int]:
    """The trials of a batch that may be stored, given ``complete`` COMPLETE trials already stored
    and the reference names already stored: COMPLETE trials beyond ``budget`` are dropped (and FAIL
    trials once the budget is reached), as is a second copy of a reference design. Returns the kept
    trials and the COMPLETE count after storing them."""
    out = []
    refs = set(stored_refs)
    for t in trials:
        if t.state == TrialState.COMPLETE:
            ref = t.user_attrs.get(ref_key)
            if ref is not None and ref in refs:
                continue
            if budget is not None and complete >= budget:
                continue
            if ref is not None:
                refs.add(ref)
            complete += 1
        elif budget is not None and complete >= budget:
            continue
        out.append(t)
    return out, complete


def stored_reference_names(trials: Sequence[FrozenTrial], ref_key: str = "reference") -> set:
    return {t.user_attrs[ref_key] for t in trials
            if t.state == TrialState.COMPLETE and ref_key in t.user_attrs}


class JournalTrialStore:
    """Trial store (the :class:`llmhw.study.storage.GenericTrialStore` interface) of a study in a
    journal file, safe for several concurrent writers. ``shared`` tells the runner to pick up other
    writers' trials before each batch (:meth:`read_new`)."""

    shared = True

    def __init__(self, study: optuna.Study):
        storage = study._storage  # noqa: SLF001
        if not is_journal_file(storage):
            raise TypeError("JournalTrialStore needs a study on a JournalStorage with a JournalFileBackend")
        self.study = study
        self.storage = storage
        self.study_id = study._study_id  # noqa: SLF001
        self.backend = storage._backend  # noqa: SLF001
        self.path = str(self.backend._file_path)  # noqa: SLF001
        self.lock = FlockLock(self.path + LOCK_SUFFIX)
        self.complete = 0
        self._seen = 0                 # trials numbered below are known to the caller
        self._own: set[int] = set()    # numbers written by this store
        self._claims: dict[str, int] = {}

    def _all(self) -> list[FrozenTrial]:
        return self.storage.get_all_trials(self.study_id, deepcopy=False)

    def read(self) -> list[FrozenTrial]:
        trials = self._all()
        self._seen = len(trials)
        self.complete = sum(1 for t in trials if t.state == TrialState.COMPLETE)
        return list(trials)

    def pages(self, size: int = 0) -> Any:
        """Every trial as one page (a journal is replayed whole anyway)."""
        yield self.read()

    def read_new(self) -> list[FrozenTrial]:
        """Trials stored by other writers since the last read/read_new (oldest first)."""
        trials = self._all()
        new = [t for t in trials[self._seen:] if t.number not in self._own]
        self._seen = len(trials)
        self.complete = sum(1 for t in trials if t.state == TrialState.COMPLETE)
        return new

    def write(self, trials: Sequence[FrozenTrial], budget: int | None = None) -> list[FrozenTrial]:
        """Append ``trials`` in one write; with ``budget``, at most ``budget`` COMPLETE in total."""
        if not trials:
            return []
        with self.lock:
            current = self._all()
            complete = sum(1 for t in current if t.state == TrialState.COMPLETE)
            refs = stored_reference_names(current)
            kept, complete = admit(trials, complete, refs, budget)
            start = len(current)
            if kept:
                self.backend.append_logs(trial_logs(kept, self.study_id))
                after = self._all()
                mine = after[start:start + len(kept)]
                if len(mine) != len(kept) or any(a.params != b.params for a, b in zip(mine, kept)):
                    raise RuntimeError(f"journal {self.path}: another process appended trials without "
                                       f"llmhw's lock ({self.lock.path}) while this batch was written")
                self._own.update(t.number for t in mine)
            self.complete = complete
        return kept

    def fail_unfinished(self) -> list[FrozenTrial]:
        """RUNNING/WAITING trials are never written by llmhw; mark any left by other tools FAIL."""
        out = []
        with self.lock:
            for t in self.storage.get_all_trials(self.study_id, deepcopy=False,
                                                 states=(TrialState.RUNNING, TrialState.WAITING)):
                try:
                    self.storage.set_trial_system_attr(t._trial_id, "llmhw:requeued", True)  # noqa: SLF001
                    self.storage.set_trial_state_values(t._trial_id, TrialState.FAIL)  # noqa: SLF001
                except optuna.exceptions.UpdateFinishedTrialError:
                    continue
                out.append(t)
        return out

    def claim(self, names: Sequence[str]) -> set[str]:
        """Names of reference designs this process may evaluate: not stored yet and not claimed by
        another live process (claims last until this process exits)."""
        got = set()
        for name in names:
            if name in self._claims:
                got.add(name)
                continue
            digest = hashlib.sha1(f"{self.study_id}:{name}".encode()).hexdigest()[:16]
            fd = os.open(f"{self.path}.ref-{digest}", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            self._claims[name] = fd
            got.add(name)
        if got:
            stored = stored_reference_names(self._all())
            got -= stored
        return got
