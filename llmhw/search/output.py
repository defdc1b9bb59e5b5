"""Search outputs: trials.csv and pareto.csv (pandas); the tables people read are in :mod:`llmhw.report.tables`.

``trials.csv``: one row per stored trial — number, state, feasible, reference, the objective values,
the decoded dimension values (``dim.<name>``), every metric, every violation amount
(``violation.<name>``) and the evaluator's flat design description (``design.<key>``).
``pareto.csv``: the rows of the COMPLETE, feasible trials that no other COMPLETE feasible trial
dominates (≤ in every objective, < in one; equal points are all kept), ordered by the first objective.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from .objectives import Objective
from .pareto import front_mask, losses
from .runner import DIMS_ATTR, REFERENCE_ATTR

_SKIP = {"violations", "design", "dims", "feasible", "reference", "fidelity", "reasons", "error",
         "traceback"}


def _num(v: Any) -> Any:
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return v
    return v


def trials_frame(trials: Sequence[FrozenTrial], objectives: Sequence[Objective]) -> pd.DataFrame:
    rows = []
    for t in trials:
        ua = t.user_attrs
        row: dict[str, Any] = {"number": t.number, "state": t.state.name,
                               "feasible": bool(ua.get("feasible", False)),
                               "reference": ua.get(REFERENCE_ATTR, "")}
        for k, o in enumerate(objectives):
            row[f"objective.{o.name}"] = t.values[k] if t.values else math.nan
        for k, v in (ua.get(DIMS_ATTR) or {}).items():
            row[f"dim.{k}"] = v
        for k, v in ua.items():
            if k not in _SKIP:
                row[k] = _num(v)
        for k, v in (ua.get("violations") or {}).items():
            row[f"violation.{k}"] = _num(v)
        for k, v in (ua.get("design") or {}).items():
            row[f"design.{k}"] = v
        if ua.get("reasons"):
            row["reasons"] = "; ".join(ua["reasons"])
        if ua.get("error"):
            row["error"] = ua["error"]
        rows.append(row)
    return pd.DataFrame(rows)


def paged_frame(pages: Iterable[Sequence[FrozenTrial]], objectives: Sequence[Objective],
                keep: Callable[[FrozenTrial], Any] | None = None) -> tuple[pd.DataFrame, list[Any]]:
    """The trials frame built a page at a time (each page's full trials are dropped once its rows
    are framed), and ``keep(t)`` of every trial (e.g. a slim copy); columns as :func:`trials_frame`."""
    parts, kept = [], []
    for page in pages:
        parts.append(trials_frame(page, objectives))
        if keep is not None:
            kept.extend(keep(t) for t in page)
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(), kept
    return (parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True, sort=False)), kept


def pareto_frame(df: pd.DataFrame, objectives: Sequence[Objective]) -> pd.DataFrame:
    cols = [f"objective.{o.name}" for o in objectives]
    if df.empty:
        return df
    ok = df[(df["state"] == "COMPLETE") & (df["feasible"])]
    if ok.empty:
        return ok
    loss = losses(ok[cols].to_numpy(dtype=float), [o.direction for o in objectives])
    front = ok[front_mask(loss)]
    first = objectives[0]
    return front.sort_values(cols[0], ascending=first.direction == "minimize", kind="stable")


def write_csvs(trials: Sequence[FrozenTrial] | pd.DataFrame, objectives: Sequence[Objective], outdir: Path,
               study_note: str = "") -> tuple[pd.DataFrame, pd.DataFrame, Path, Path]:
    """trials.csv and pareto.csv in ``outdir`` from trials (or their frame), each file complete or
    not at all (:func:`llmhw.outfiles.staged`)."""
    from llmhw.outfiles import staged
    df = trials if isinstance(trials, pd.DataFrame) else trials_frame(trials, objectives)
    front = pareto_frame(df, objectives)
    with staged(outdir, study_note=study_note) as tmp:
        df.to_csv(tmp / "trials.csv", index=False)
        front.to_csv(tmp / "pareto.csv", index=False)
    return df, front, outdir / "trials.csv", outdir / "pareto.csv"


def complete_trials(trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    return [t for t in trials if t.state == TrialState.COMPLETE]
