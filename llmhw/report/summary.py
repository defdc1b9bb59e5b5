"""The numbers of a study report: counts, hypervolume history, the best design per objective.

Hypervolume uses the search's normalisation (``llmhw.search.progress``): loss vectors (maximised
objectives negated) scaled to the range of the feasible trials, reference point 1.1 in every
objective, so the best possible value is 1.1^k. Two columns:

- ``hv``: every checkpoint measured with the *final* bounds (all feasible trials of the study), so
  the history is monotone and its points are comparable with each other;
- ``hv_progress``: the bounds observed up to the checkpoint — what the progress bar showed when the
  search reached that many trials (the last rows of both columns agree).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from llmhw.search.objectives import Objective
from llmhw.search.pareto import hypervolume, losses, merge_front

from .data import StudyData, finite, objective_columns


@dataclass(frozen=True)
class HVPoint:
    trials: int          # COMPLETE trials so far (in trial-number order)
    feasible: int
    front: int           # non-dominated feasible loss vectors (duplicates collapsed)
    hv: float            # final bounds
    hv_progress: float   # bounds observed so far (as the progress bar showed)


def checkpoints(n: int, count: int = 10) -> list[int]:
    """``count`` evenly spaced trial counts ending at ``n`` (fewer when n is small)."""
    if n <= 0:
        return []
    return sorted({max(1, math.ceil(n * k / count)) for k in range(1, count + 1)})


def _loss_matrix(df: pd.DataFrame, objectives: Sequence[Objective]) -> tuple[np.ndarray, np.ndarray]:
    """(loss vectors of the COMPLETE trials in number order, their feasible mask)."""
    if df.empty:
        return np.zeros((0, len(objectives))), np.zeros(0, dtype=bool)
    comp = df[df["state"] == "COMPLETE"].sort_values("number", kind="stable")
    vals = comp[objective_columns(objectives)].to_numpy(dtype=float)
    feas = comp["feasible"].to_numpy(dtype=bool) & finite(vals)
    return losses(vals, [o.direction for o in objectives]), feas


def stopping_note(df: pd.DataFrame, objectives: Sequence[Objective], batch_size: int,
                  patience: int | None = None) -> str | None:
    """The study's answer to "was it done?": whether its feasible front was still growing at the last
    trial (:func:`llmhw.search.progress.stopping_line`); None without COMPLETE trials."""
    from llmhw.search.progress import stopping_line
    loss, feas = _loss_matrix(df, objectives)
    if not len(loss):
        return None
    return stopping_line(loss, feas, batch_size, patience)


def final_bounds(df: pd.DataFrame, objectives: Sequence[Objective]) -> tuple[np.ndarray, np.ndarray] | None:
    loss, feas = _loss_matrix(df, objectives)
    if not feas.any():
        return None
    return loss[feas].min(axis=0), loss[feas].max(axis=0)


def hv_history(df: pd.DataFrame, objectives: Sequence[Objective], at: Sequence[int] | None = None,
               bounds: tuple[np.ndarray, np.ndarray] | None = None) -> list[HVPoint]:
    """Hypervolume after each count of COMPLETE trials in ``at`` (default: 10 checkpoints).

    ``bounds`` overrides the final bounds (e.g. common bounds of several studies)."""
    loss, feas = _loss_matrix(df, objectives)
    n = len(loss)
    at = checkpoints(n) if at is None else sorted({min(max(1, int(c)), n) for c in at if n})
    fb = bounds if bounds is not None else (final_bounds(df, objectives) if feas.any() else None)
    k = len(objectives)
    front = np.zeros((0, k))
    lo, hi = np.full(k, np.inf), np.full(k, -np.inf)
    n_feas, start = 0, 0
    out: list[HVPoint] = []
    n_front, hv, hv_p = 0, 0.0, 0.0
    for c in at:
        chunk = loss[start:c][feas[start:c]]
        start = c
        if len(chunk):  # the values change only when the front or the observed bounds change
            n_feas += len(chunk)
            lo2, hi2 = np.minimum(lo, chunk.min(axis=0)), np.maximum(hi, chunk.max(axis=0))
            front2 = merge_front(front, chunk)
            new_front = front2.shape != front.shape or not np.array_equal(front2, front)
            if new_front:
                n_front = len(np.unique(front2, axis=0))
                hv = hypervolume(front2, *fb) if fb is not None else 0.0
            if new_front or not (np.array_equal(lo2, lo) and np.array_equal(hi2, hi)):
                hv_p = hypervolume(front2, lo2, hi2)
            front, lo, hi = front2, lo2, hi2
        out.append(HVPoint(c, n_feas, n_front, hv, hv_p))
    return out


def hv_max(k: int, ref: float = 1.1) -> float:
    """The largest hypervolume possible in the normalised space (one point at the ideal corner)."""
    return ref ** k


def best_per_objective(data: StudyData) -> list[tuple[Objective, int]]:
    """(objective, trial number) of the best feasible design for each objective.

    Chosen on the feasible Pareto front, ties broken by the other objectives in order, then by the
    lowest trial number (so the choice is a non-dominated design)."""
    front = data.front
    if front.empty:
        return []
    cols = objective_columns(data.objectives)
    loss = losses(front[cols].to_numpy(dtype=float), data.directions)
    numbers = front["number"].to_numpy()
    out = []
    for i, o in enumerate(data.objectives):
        order = [i] + [j for j in range(len(cols)) if j != i]
        keys = tuple(loss[:, j] for j in reversed(order))
        idx = np.lexsort((numbers,) + keys)
        out.append((o, int(numbers[idx[0]])))
    return out


@dataclass(frozen=True)
class Counts:
    total: int
    complete: int
    failed: int
    running: int
    feasible: int
    distinct: int           # distinct designs among COMPLETE trials
    front: int              # feasible non-dominated trials
    front_designs: int      # ... distinct designs
    references: int


def counts(data: StudyData) -> Counts:
    df = data.df
    if df.empty:
        return Counts(0, 0, 0, 0, 0, 0, 0, 0, 0)
    comp = data.complete()
    dims = [c for c in df.columns if c.startswith("dim.")]
    distinct = len(comp.drop_duplicates(subset=dims)) if dims else len(comp)
    return Counts(total=len(df), complete=len(comp), failed=int((df["state"] == "FAIL").sum()),
                  running=int(df["state"].isin(["RUNNING", "WAITING"]).sum()),
                  feasible=int(comp["feasible"].sum()), distinct=distinct, front=len(data.front),
                  front_designs=len(data.front_designs()), references=len(data.references()))


def time_span(data: StudyData) -> tuple[object, object] | None:
    starts = [t.datetime_start for t in data.trials if t.datetime_start]
    ends = [t.datetime_complete for t in data.trials if t.datetime_complete]
    if not starts or not ends:
        return None
    return min(starts), max(ends)
