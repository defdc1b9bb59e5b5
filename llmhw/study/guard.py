"""What stands between a running search and the loss of its study (issue 6).

:func:`guarded` wraps a whole search command:

- :meth:`SearchGuard.open` — before a study is opened for writing: the single-writer lock of a
  SQLite study (:mod:`llmhw.study.lock`) and the Ctrl-C/SIGTERM handling (:mod:`llmhw.study.signals`);
- :meth:`SearchGuard.run` — runs the search; an interruption returns the trials stored so far;
- storage failures anywhere inside (disk full, read-only file or directory, database locked,
  unreachable server, I/O error) become one :class:`~llmhw.errors.StorageError` line saying what
  happened, that the study is intact and how many COMPLETE trials it holds, and what to do; the
  failed batch was rolled back (one transaction per batch), every earlier batch is kept.

On exit the locks are released and the signal handlers restored.
"""
from __future__ import annotations

import errno
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from llmhw.errors import LlmhwError, StorageError

from .lock import StudyLock, sqlite_file
from .signals import StopRequest
from .urls import redact

_current: "SearchGuard | None" = None

_OS_ERRNOS = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
              errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied",
              errno.EPERM: "permission denied", errno.EIO: "an I/O error"}
_SQL_MESSAGES = (
    ("database or disk is full", "the disk is full"),
    ("readonly database", "the database is read-only"),
    ("read-only", "the database is read-only"),
    ("unable to open database file", "the database file or its directory cannot be written"),
    ("database is locked", "the database stayed locked by another process"),
    ("disk i/o error", "a disk I/O error"),
    ("malformed", "the database file is damaged"),
    ("file is not a database", "the file is not an SQLite database"),
    ("connection", "the database server cannot be reached"),
    ("server closed", "the database server closed the connection"),
)
_ADVICE = {
    "the disk is full": "free some space",
    "the disk quota is exceeded": "free some space",
    "the file system is read-only": "make the study's directory writable (or copy the study elsewhere)",
    "the database is read-only": "make the database file and its directory writable",
    "the database file or its directory cannot be written": "make the database file and its directory writable",
    "permission denied": "fix the permissions",
    "the database stayed locked by another process": "stop the other process using the database",
    "the database server cannot be reached": "check the server",
    "the database server closed the connection": "check the server",
}


def current_guard() -> "SearchGuard":
    """The guard of the running command (a fresh one if the caller did not use :func:`guarded`)."""
    global _current
    if _current is None:
        _current = SearchGuard()
    return _current


def classify(exc: BaseException) -> str | None:
    """What a storage failure means for the user, or None if ``exc`` is not a storage failure."""
    found = _find(exc)
    return found[0] if found else None


def _find(exc: BaseException) -> tuple[str, BaseException] | None:
    """(meaning, the exception in the cause chain that shows it) of a storage failure, or None."""
    try:
        import sqlalchemy.exc as sa_exc
        operational: tuple = (sa_exc.OperationalError, sa_exc.InterfaceError)
        database: tuple = (sa_exc.DatabaseError,)
    except ImportError:  # pragma: no cover
        operational, database = (), ()
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno in _OS_ERRNOS:
            return _OS_ERRNOS[e.errno], e
        if isinstance(e, (sqlite3.Error, *operational, *database)):
            text = str(e).lower()
            for needle, meaning in _SQL_MESSAGES:
                if needle in text:
                    return meaning, e
            if isinstance(e, (sqlite3.OperationalError, *operational)):
                return "a database error", e
        e = getattr(e, "orig", None) or e.__cause__
    return None


def _detail(exc: BaseException) -> str:
    e = getattr(exc, "orig", None) or exc
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    if isinstance(e, OSError) and e.filename:
        text = f"{e.strerror or text}: {e.filename}"
    return text[:200]


def count_stored(url: str, study: str) -> int | None:
    """COMPLETE trials of ``study`` read straight from an SQLite file (read-only), or None."""
    db = sqlite_file(url)
    if db is None or not db.exists():
        return None
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            row = con.execute("SELECT count(*) FROM trials t JOIN studies s ON s.study_id = t.study_id "
                              "WHERE s.study_name = ? AND t.state = 'COMPLETE'", (study,)).fetchone()
        finally:
            con.close()
        return int(row[0])
    except sqlite3.Error:
        return None


def check_intact(url: str, doing: str = "written") -> None:
    """Refuse a damaged SQLite study with one line before it is read or written (issue 15 item 7).

    SQLite's ``PRAGMA quick_check`` (the structural part of ``integrity_check``, linear in the file
    size: ~0.1 s for 10 MB) on a read-only connection; a file that is not a database at all is
    damaged too. A database locked by a writer is not judged (the writer's own checks ran)."""
    db = sqlite_file(url)
    if db is None or not db.is_file():
        return
    problem = None
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        try:
            row = con.execute("PRAGMA quick_check(1)").fetchone()
        finally:
            con.close()
        if not row or row[0] != "ok":
            problem = str(row[0] if row else "no answer").splitlines()[0]
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return
        problem = str(exc)
    except sqlite3.DatabaseError as exc:
        problem = str(exc)
    if problem:
        raise damaged(db, problem, doing)


def damaged(db: Path, problem: str, doing: str = "written") -> StorageError:
    """The one line for a damaged SQLite file: what SQLite says, and how to recover."""
    fixed = db.with_name(db.stem + ".recovered.db")
    return StorageError(f"{db}: the SQLite database is damaged ({problem[:100]}); nothing was {doing}. "
                        f"Recover what is readable with: sqlite3 {db} .recover | sqlite3 {fixed} "
                        f"(then --storage sqlite:///{fixed}), or restore a backup")


class SearchGuard:
    def __init__(self, console: Any = None):
        self.console = console
        self.stop = StopRequest()
        self.locks: list[StudyLock] = []
        self.url: str | None = None
        self.study: str | None = None

    # ------------------------------------------------------------------ per study
    def open(self, url: str, study: str, immediate: bool = False) -> None:
        """Lock the study (SQLite) and take over Ctrl-C/SIGTERM; call before opening it for writing."""
        self.url, self.study = url, study
        if not any(lk.url == url and lk.study == study for lk in self.locks):
            self.locks.append(StudyLock(url, study).acquire())
            check_intact(url)   # under the lock: no writer of ours is running
        self.stop.immediate = immediate
        self.stop.install()

    def critical(self) -> Any:
        return self.stop.critical()

    @property
    def interrupted(self) -> bool:
        return self.stop.requested

    def run(self, fn: Callable[[], Any], study: Any) -> Any:
        """``fn()`` (the search); if a signal abandoned it, the trials stored so far as a RunResult."""
        try:
            return fn()
        except KeyboardInterrupt:
            if not self.stop.requested:
                raise
        from llmhw.search.runner import RunResult, RunStats
        from .storage import count_complete, trial_store
        with self.stop.critical():
            stored = trial_store(study).read()
        return RunResult(study, count_complete(stored), 0, RunStats(), 0, stored)

    def interrupted_line(self, complete: int, trials: int) -> str:
        return (f"interrupted by {self.stop.name}: the study holds {complete} COMPLETE trials of {trials}; "
                "run the same command again to continue")

    # ------------------------------------------------------------------ errors
    def storage_error(self, exc: BaseException) -> StorageError | None:
        found = _find(exc)
        if found is None:
            return None
        meaning, shown = found
        db = sqlite_file(self.url) if self.url else None
        if db is not None and meaning in ("the database file is damaged", "the file is not an SQLite database"):
            return damaged(db, _detail(shown), "written after the damage was found")
        where = redact(self.url) if self.url else "the study's storage"
        n = count_stored(self.url, self.study) if self.url and self.study else None
        if n is not None:
            kept = f"the study is intact with {n} COMPLETE trials (a batch being written is rolled back whole)"
        elif db is not None and not db.exists():
            kept = "nothing was written"
        else:
            kept = "the trials stored before the failure are kept (a batch being written is rolled back whole)"
        advice = _ADVICE.get(meaning, "fix the storage")
        who = f"study {self.study!r} in {where}" if self.study else where
        return StorageError(f"storage error on {who}: {meaning} ({_detail(shown)}); {kept}. "
                            f"{advice[0].upper() + advice[1:]}, then run the same command again to resume")

    def close(self) -> None:
        for lk in self.locks:
            lk.release()
        self.locks.clear()
        self.stop.uninstall()


@contextmanager
def guarded(console: Any = None) -> Iterator[SearchGuard]:
    """The guard of one search command (see the module doc)."""
    global _current
    previous, guard = _current, SearchGuard(console)
    _current = guard
    try:
        yield guard
    except LlmhwError:
        raise
    except Exception as exc:  # noqa: BLE001 - only storage failures are translated
        err = guard.storage_error(exc)
        if err is None:
            raise
        raise err from None
    finally:
        guard.close()
        _current = previous
