"""Ctrl-C and SIGTERM during a search: stop cleanly, keep every finished trial (issue 6).

While a study is open, :class:`StopRequest` replaces the SIGINT and SIGTERM handlers:

- the **first** signal only records a stop request (and says so on stderr). The single-process
  runner polls :func:`current` before each batch, so the batch in flight is finished and stored,
  then the loop ends; the command prints the front so far and exits 128 + the signal number
  (130 for Ctrl-C, 143 for SIGTERM). With ``immediate`` set (parallel runs, whose supervisor
  stops its workers on ``KeyboardInterrupt``) the first signal raises right away instead;
- a **second** signal abandons the batch in flight by raising ``KeyboardInterrupt`` — except
  inside :meth:`StopRequest.critical` (a batch being written, a study being created), where it is
  deferred to the end of the critical section, so a write is never cut in the middle by Python
  code (SQLite would roll it back anyway; the deferral keeps the rollback itself from being cut).

SIGKILL cannot be caught: the batched writes (one transaction per batch) make it safe — a batch is
stored whole or not at all — and the next run resumes to the exact budget.

Only the main thread can install handlers; elsewhere :class:`StopRequest` is inert.
"""
from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager
from typing import Any, Iterator

HANDLED = (signal.SIGINT, signal.SIGTERM)

_current: "StopRequest | None" = None


def current() -> "StopRequest | None":
    """The active stop request of this process (None outside a guarded search)."""
    return _current


def signal_name(signum: int | None) -> str:
    if signum is None:
        return "-"
    try:
        return signal.Signals(signum).name
    except ValueError:  # pragma: no cover
        return f"signal {signum}"


class StopRequest:
    """Records SIGINT/SIGTERM as a request to stop after the batch in flight (see module doc)."""

    def __init__(self, immediate: bool = False, stream_fd: int = 2):
        self.signum: int | None = None
        self.count = 0
        self.immediate = immediate
        self._fd = stream_fd
        self._critical = 0
        self._pending = False
        self._previous: dict[int, Any] = {}
        self.installed = False

    # ------------------------------------------------------------------ state
    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def exit_code(self) -> int:
        return 128 + int(self.signum) if self.signum is not None else 0

    @property
    def name(self) -> str:
        return signal_name(self.signum)

    # ------------------------------------------------------------------ handlers
    def install(self) -> "StopRequest":
        global _current
        if self.installed or threading.current_thread() is not threading.main_thread():
            return self
        for sig in HANDLED:
            self._previous[sig] = signal.signal(sig, self._handle)
        self.installed = True
        _current = self
        return self

    def uninstall(self) -> None:
        global _current
        if self.installed:
            for sig, prev in self._previous.items():
                signal.signal(sig, prev if prev is not None else signal.SIG_DFL)
            self._previous.clear()
            self.installed = False
        if _current is self:
            _current = None

    def _say(self, text: str) -> None:
        try:
            os.write(self._fd, ("\n" + text + "\n").encode())
        except OSError:  # pragma: no cover - stderr closed
            pass

    def _handle(self, signum: int, frame: Any) -> None:  # noqa: ARG002 - signal API
        self.count += 1
        first = self.signum is None
        if first:
            self.signum = signum
        if first and not self.immediate:
            again = "press Ctrl-C again" if signum == signal.SIGINT else "send it again"
            self._say(f"search.py: {signal_name(signum)} received: finishing the batch in flight, then "
                      f"stopping ({again} to abandon the batch)")
            return
        if self._critical:
            self._pending = True
            return
        if first:
            self._say(f"search.py: {signal_name(signum)} received: stopping")
        else:
            self._say(f"search.py: {signal_name(signum)} received again: abandoning the batch in flight")
        raise KeyboardInterrupt

    @contextmanager
    def critical(self) -> Iterator[None]:
        """Defer an abandoning KeyboardInterrupt to the end of this block (writes, study creation)."""
        self._critical += 1
        ok = False
        try:
            yield
            ok = True
        finally:
            self._critical -= 1
            if self._critical == 0 and self._pending:
                self._pending = False
                if ok:
                    raise KeyboardInterrupt

    def __enter__(self) -> "StopRequest":
        return self.install()

    def __exit__(self, *exc: Any) -> None:
        self.uninstall()


@contextmanager
def critical() -> Iterator[None]:
    """:meth:`StopRequest.critical` of the active request, or nothing outside a guarded search."""
    req = _current
    if req is None:
        yield
    else:
        with req.critical():
            yield
