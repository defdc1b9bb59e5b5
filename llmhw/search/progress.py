"""The rich progress bar of a search: trials, feasible, front size, hypervolume, the batches since the
front last gained a point (of ``patience``, when given), trials/s and ETA.

The hypervolume shown is measured on the feasible front with every objective normalised to the
range observed so far among feasible trials (reference point 1.1 in each objective); it is a
progress indicator, not comparable across studies (the bench uses fixed bounds for that).
"""
from __future__ import annotations

import time

import numpy as np
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeRemainingColumn)

from .pareto import hypervolume, merge_front


class FrontTracker:
    """Incremental feasible front and observed bounds of loss vectors."""

    def __init__(self, n_obj: int):
        self.front = np.zeros((0, n_obj))
        self.lo = np.full(n_obj, np.inf)
        self.hi = np.full(n_obj, -np.inf)
        self.feasible = 0

    def add(self, losses: np.ndarray) -> int:
        """Merge feasible loss vectors; returns how many of them joined the front with a vector no
        front point had (a hypervolume gain: the measure of progress for ``patience``)."""
        losses = np.asarray(losses, dtype=float)
        if len(losses) == 0:
            return 0
        self.feasible += len(losses)
        self.lo = np.minimum(self.lo, losses.min(axis=0))
        self.hi = np.maximum(self.hi, losses.max(axis=0))
        old = self.front
        self.front = merge_front(old, losses)
        if len(self.front) == 0:
            return 0
        if len(old) == 0:
            return len(np.unique(self.front, axis=0))
        new = ~np.any(np.all(self.front[:, None, :] == old[None, :, :], axis=2), axis=1)
        return len(np.unique(self.front[new], axis=0))

    def hypervolume(self) -> float:
        if len(self.front) == 0:
            return 0.0
        return hypervolume(self.front, self.lo, self.hi)


SUGGESTED_PATIENCE = 50
"""The ``--patience`` the end-of-run line suggests. With the mapping sweep the front grows in bursts: on
the speed grid 50 batches stopped each of 8 measured runs (mtnlg 1k-token generations, gpt3) between 990
and 1,520 trials with 98–100% of the true front's designs, where 20 stopped two of them at 610 and 860
trials with 59–61% (docs/search-quality.md §22.5)."""


def front_gains(loss: np.ndarray, feasible: np.ndarray, batch: int) -> list[tuple[int, int]]:
    """A study replayed in trial order, ``batch`` trials at a time, through :class:`FrontTracker`:
    per batch (trials so far, new front vectors), the measure :class:`Patience` counts. ``loss`` is
    n × k (minimised), ``feasible`` a length-n mask."""
    loss = np.asarray(loss, dtype=float)
    feasible = np.asarray(feasible, dtype=bool)
    step, n = max(1, int(batch)), len(loss)
    tracker = FrontTracker(loss.shape[1])
    out = []
    for start in range(0, n, step):
        stop = min(n, start + step)
        ok = feasible[start:stop]
        out.append((stop, tracker.add(loss[start:stop][ok]) if ok.any() else 0))
    return out


def trials_at_last_front_gain(loss: np.ndarray, feasible: np.ndarray, batch: int) -> int:
    """How many trials the study held when its feasible front last gained a point (the end of that
    batch, :func:`front_gains`); 0 if it never did."""
    return _last_gain(front_gains(loss, feasible, batch))


def _last_gain(gains: list[tuple[int, int]]) -> int:
    """The trial count at the end of the last batch of ``gains`` that gained a point; 0 if none did."""
    return max((stop for stop, gained in gains if gained), default=0)


def patience_stop(gains: list[tuple[int, int]], patience: int) -> int | None:
    """The trial count at which ``--patience`` would have stopped a run with these :func:`front_gains`
    (the first ``patience`` batches in a row without a gain); None if it would not have."""
    p = Patience(patience)
    for stop, gained in gains:
        p.update(gained)
        if p.done:
            return stop
    return None


def stopping_line(loss: np.ndarray, feasible: np.ndarray, batch: int, patience: int | None) -> str:
    """What a run that ended at its trial cap says about stopping: whether the front was still growing
    (the last gain within ``patience`` batches, default :data:`SUGGESTED_PATIENCE`) and what to do."""
    k = patience or SUGGESTED_PATIENCE
    n = len(loss)
    gains = front_gains(loss, feasible, batch)
    at = _last_gain(gains)
    if at == 0:
        return (f"no feasible design in {n:,} trials: more trials, a wider space or looser limits may find one")
    quiet = n - at
    if quiet < k * batch:
        return (f"the front was still growing: it last gained a point in the batch that ended after {at:,} of "
                f"{n:,} trials; a larger --trials continues this study"
                + ("" if patience else f", and --patience {k} stops it once the front stops growing"))
    n_batches = quiet // batch
    return (f"the front gained no point in the last {quiet:,} trials ({n_batches} batch"
            f"{'' if n_batches == 1 else 'es'}, after the first {at:,}): --patience {k} would have stopped "
            f"the run after {patience_stop(gains, k):,} trials")


class Patience:
    """Batches since the feasible front last gained a point; ``done`` after ``limit`` of them."""

    def __init__(self, limit: int | None):
        self.limit = limit
        self.stalled = 0

    def update(self, gained: int) -> None:
        self.stalled = 0 if gained else self.stalled + 1

    @property
    def done(self) -> bool:
        return self.limit is not None and self.stalled >= self.limit

    def describe(self) -> str:
        return str(self.stalled) if self.limit is None else f"{self.stalled}/{self.limit}"


class SearchProgress:
    def __init__(self, console: Console | None, total: int, done: int, label: str, enabled: bool = True):
        self.enabled = enabled and console is not None
        self.t0 = time.perf_counter()
        self.start_done = done
        if not self.enabled:
            return
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("feasible {task.fields[feasible]}"), TextColumn("front {task.fields[front]}"),
            TextColumn("HV {task.fields[hv]}"), TextColumn("{task.fields[stall]}"),
            TextColumn("{task.fields[rate]} trials/s"),
            TimeRemainingColumn(), console=console, transient=False)
        self.task = self.progress.add_task(label, total=total, completed=done, feasible=0, front=0,
                                           hv="-", rate="-", stall="")
        self.progress.start()

    def update(self, done: int, tracker: FrontTracker, patience: Patience | None = None) -> None:
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.t0
        rate = (done - self.start_done) / elapsed if elapsed > 0 else 0.0
        stall = "" if patience is None else f"no front gain {patience.describe()} batches"
        self.progress.update(self.task, completed=done, feasible=tracker.feasible,
                             front=len(tracker.front), hv=f"{tracker.hypervolume():.3f}",
                             rate=f"{rate:.0f}" if rate >= 10 else f"{rate:.1f}", stall=stall)

    def close(self) -> None:
        if self.enabled:
            self.progress.stop()
