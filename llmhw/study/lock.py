"""One writing command per SQLite study (issue 6).

SQLite itself never lets two writers corrupt the file, but two ``search.py`` commands on one SQLite
study would each count the trials it held at start and together overshoot ``--trials N``, evaluate
the same reference designs twice, and (``--jobs``) rebuild each other's journal file. So a command
that opens a SQLite study for writing takes an exclusive, non-blocking advisory lock on
``<db>.lock`` (``studies/<study>.db.lock``; ``<db>.<study>.lock`` when one database file holds
several studies) and keeps it until it ends. A second command refuses at once, before writing
anything, naming the holder (pid, host, start time, command line).

The lock belongs to the database *file*: its path is the resolved path of the database (symlinks
and ``..`` followed), so two spellings of one file (``studies/s.db``, a symlink to it, ``x/../studies/s.db``)
share one lock. The lock file itself is opened with ``O_NOFOLLOW``: a symbolic link (or a directory,
a FIFO, anything but a regular file) at the lock path is refused with one line, never written
through (issue 15 items 3 and 5).

The lock is ``fcntl.flock``: the kernel releases it when the holder exits in any way (SIGKILL
included), so a stale lock file never blocks anyone; the file itself is left in place (removing
it would race with a command that just opened it). Server databases (PostgreSQL) and journal files
are meant to be shared by several commands, so they are not locked here.
"""
from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import stat
import sys
import time
from pathlib import Path
from typing import Any

from llmhw.errors import LlmhwError, UsageError

from .urls import redact


class StudyBusy(UsageError):
    """Another command holds the study's lock."""


def sqlite_file(url: str) -> Path | None:
    """The database file of a ``sqlite:///PATH`` URL (None for other storages and ``:memory:``)."""
    if not url.startswith("sqlite:///"):
        return None
    path = url[len("sqlite:///"):].split("?", 1)[0]
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return Path(path)


def beside_db(url: str, study: str, suffix: str) -> Path | None:
    """``<db><suffix>`` (or ``<db>.<study><suffix>`` when the file is not named after the study)
    next to the *resolved* SQLite file of ``url``: one name per database file and study, whatever
    spelling of the path was given. None for other storages."""
    db = sqlite_file(url)
    if db is None:
        return None
    db = db.resolve()
    if db.name == f"{study}.db":
        return db.with_name(db.name + suffix)
    return db.with_name(f"{db.name}.{study}{suffix}")


def lock_path(url: str, study: str) -> Path | None:
    return beside_db(url, study, ".lock")


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return "another process"
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.get("time", 0)))
    cmd = " ".join(info.get("argv") or [])
    if len(cmd) > 120:
        cmd = cmd[:117] + "..."
    return f"pid {info.get('pid')} on {info.get('host')}, since {when}" + (f": {cmd}" if cmd else "")


class StudyLock:
    """An exclusive advisory lock on one SQLite study for the life of a command."""

    def __init__(self, url: str, study: str):
        self.url = url
        self.study = study
        self.path = lock_path(url, study)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> "StudyLock":
        if self.path is None or self._fd is not None:
            return self
        writable = True
        flags = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | flags, 0o644)
        except OSError as exc:
            self._refuse_odd_path(exc)
            if not self.path.is_file():
                raise  # read-only or full file system: reported as a storage error, nothing written
            try:
                fd = os.open(self.path, os.O_RDONLY | flags)  # flock works on a read-only descriptor too
            except OSError as exc2:
                self._refuse_odd_path(exc2)
                raise
            writable = False
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise LlmhwError(f"study {self.study!r}: the lock file {self.path} is not a regular file; "
                             "remove it, then run the command again")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise StudyBusy(f"study {self.study!r} is in use by another llmhw command "
                                f"({_holder(self.path)}; lock {self.path}); wait for it to finish, "
                                "or choose another --study name") from None
            raise LlmhwError(f"study {self.study!r}: cannot lock {self.path} ({exc.strerror or exc})") from None
        self._fd = fd
        if not writable:
            return self
        info = {"pid": os.getpid(), "host": socket.gethostname(), "time": time.time(),
                "argv": [redact(a) for a in [os.path.basename(sys.argv[0])] + sys.argv[1:]]}
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode(), 0)
        except OSError:  # the lock holds even if the note cannot be written (disk full)
            pass
        return self

    def _refuse_odd_path(self, exc: OSError) -> None:
        """One line for a lock path that is a symbolic link or not a regular file."""
        if self.path.is_symlink() or exc.errno == errno.ELOOP:
            raise LlmhwError(f"study {self.study!r}: the lock file {self.path} is a symbolic link (never "
                             "followed, so its target is not overwritten); remove the link, then run the "
                             "command again") from None
        if exc.errno in (errno.EISDIR, errno.ENXIO) or (self.path.exists() and not self.path.is_file()):
            raise LlmhwError(f"study {self.study!r}: the lock file {self.path} is not a regular file "
                             f"({'a directory' if self.path.is_dir() else 'a special file'}); remove it, "
                             "then run the command again") from None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    def __enter__(self) -> "StudyLock":
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()
