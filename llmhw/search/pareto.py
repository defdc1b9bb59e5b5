"""Pareto fronts and hypervolume on loss vectors (every objective turned into a minimisation).

``losses(values, directions)`` flips maximised objectives; ``front_mask`` marks the non-dominated
rows (a row is dominated if another is ≤ in every objective and < in one; equal rows are all kept);
``hypervolume`` normalises with given bounds and measures against a reference point (default 1.1
in the normalised space), so numbers from different runs are comparable when the bounds are.
Objectives spanning decades can be measured in log10 space (``log=True``).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def losses(values: np.ndarray | Sequence[Sequence[float]], directions: Sequence[str]) -> np.ndarray:
    arr = np.asarray(values, dtype=float).reshape(-1, len(directions))
    sign = np.array([1.0 if d == "minimize" else -1.0 for d in directions])
    return arr * sign


_PIVOT_FROM = 64   # rows above which front_mask first drops the rows its pivots dominate


def _pivots(loss: np.ndarray) -> np.ndarray:
    """A few rows of ``loss`` (finite, n × k) that dominate many others: the best row of each objective
    and of weighted sums of the objectives scaled to [0, 1] (fixed weights, so the result is the same
    from run to run). Any rows would do for correctness; good ones make the prefilter remove more."""
    lo, span = loss.min(axis=0), np.ptp(loss, axis=0)
    z = (loss - lo) / np.where(span > 0, span, 1.0)
    k = loss.shape[1]
    w = np.vstack([np.eye(k), np.full((1, k), 1.0 / k), np.random.default_rng(0).dirichlet(np.ones(k), 12)])
    return loss[np.unique(np.argmin(z @ w.T, axis=0))]


def front_mask(loss: np.ndarray) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``loss`` (n × k).

    Large finite inputs (the mapping grid of one hardware: thousands of rows) first drop, vectorised, every
    row that one of a few pivot rows (:func:`_pivots`) dominates: a dominated row stays dominated, so
    the mask is the same, in a fraction of the time."""
    loss = np.asarray(loss, dtype=float)
    n = len(loss)
    if n == 0:
        return np.zeros(0, dtype=bool)
    if n > _PIVOT_FROM and np.isfinite(loss).all():
        P = _pivots(loss)
        gone = (np.all(P[None, :, :] <= loss[:, None, :], axis=2) & np.any(P[None, :, :] < loss[:, None, :], axis=2)).any(axis=1)
        if gone.any():
            rest = np.flatnonzero(~gone)
            mask = np.zeros(n, dtype=bool)
            mask[rest[_front_mask_loop(loss[rest])]] = True
            return mask
    return _front_mask_loop(loss)


def _front_mask_loop(loss: np.ndarray) -> np.ndarray:
    """:func:`front_mask` by one pass in lexicographic order against the front so far."""
    n = len(loss)
    order = np.lexsort(loss.T[::-1])  # sort by first objective, then the next ...
    sorted_loss = loss[order]
    keep = np.ones(n, dtype=bool)
    front: list[int] = []  # indices into sorted_loss of the current front
    for i in range(n):
        row = sorted_loss[i]
        if front:
            f = sorted_loss[front]
            dominated = np.any(np.all(f <= row, axis=1) & np.any(f < row, axis=1))
            if dominated:
                keep[i] = False
                continue
        front.append(i)
    mask = np.zeros(n, dtype=bool)
    mask[order[keep]] = True
    return mask


def covered(front: np.ndarray, loss: np.ndarray) -> np.ndarray:
    """For each row of ``loss``: is it weakly dominated by (≤ in every objective to) some row of ``front``?"""
    front, loss = np.asarray(front, dtype=float), np.asarray(loss, dtype=float)
    if not len(front) or not len(loss):
        return np.zeros(len(loss), dtype=bool)
    return np.all(front[None, :, :] <= loss[:, None, :], axis=2).any(axis=1)


def merge_front(front: np.ndarray, new: np.ndarray) -> np.ndarray:
    """The non-dominated rows of ``front ∪ new`` (both n × k)."""
    both = np.vstack([front, new]) if len(front) else np.asarray(new, dtype=float)
    if len(both) == 0:
        return both
    return both[front_mask(both)]


def normalise(loss: np.ndarray, lo: np.ndarray, hi: np.ndarray, log: bool = False) -> np.ndarray:
    loss, lo, hi = (np.asarray(x, dtype=float) for x in (loss, lo, hi))
    if log:
        # loss of a maximised objective is negative: work on |loss| keeping the order
        def f(x):
            return np.sign(x) * np.log10(np.maximum(np.abs(x), 1e-300))
        loss, lo, hi = f(loss), f(lo), f(hi)
        lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)
    span = np.where(hi > lo, hi - lo, 1.0)
    return (loss - lo) / span


def hypervolume(loss: np.ndarray, lo: np.ndarray, hi: np.ndarray, ref: float = 1.1,
                log: bool = False) -> float:
    """Hypervolume of ``loss`` rows normalised by ``lo``/``hi`` with reference point ``ref``·1."""
    loss = np.asarray(loss, dtype=float)
    if len(loss) == 0:
        return 0.0
    z = normalise(loss, lo, hi, log)
    k = z.shape[1]
    ref_pt = np.full(k, float(ref))
    z = z[np.all(z < ref_pt, axis=1)]
    if len(z) == 0:
        return 0.0
    z = z[front_mask(z)]
    from optuna._hypervolume import compute_hypervolume
    return float(compute_hypervolume(z, ref_pt, assume_pareto=True))
