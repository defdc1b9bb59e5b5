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


def front_mask(loss: np.ndarray) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``loss`` (n × k)."""
    loss = np.asarray(loss, dtype=float)
    n = len(loss)
    if n == 0:
        return np.zeros(0, dtype=bool)
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
