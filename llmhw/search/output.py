"""Search outputs: trials.csv, pareto.csv (pandas) and the rich table of the feasible Pareto front.

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

import numpy as np
import pandas as pd
from optuna.trial import FrozenTrial, TrialState
from rich.console import Console
from rich.table import Table

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


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return "-"
        a = abs(v)
        if a != 0 and (a >= 1e6 or a < 1e-3):
            return f"{v:.3g}"
        return f"{v:.4g}"
    return str(v)


def _short(name: str) -> str:
    """A column label: the dimension path without its section and index suffix."""
    name = name.removesuffix("#i")
    return name.split(".", 1)[1] if name.split(".", 1)[0] in ("Chip", "Package", "Server", "system") else name


def varying_dims(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c.startswith("dim.") and df[c].astype(str).nunique() > 1]


def front_table(df: pd.DataFrame, front: pd.DataFrame, objectives: Sequence[Objective],
                title: str, max_rows: int = 25) -> Table:
    """The feasible Pareto front (deduplicated by design) plus the reference designs."""
    dims = varying_dims(df) or [c for c in df.columns if c.startswith("dim.")][:6]
    shown = front.drop_duplicates(subset=dims + [f"objective.{o.name}" for o in objectives])
    refs = df[df["reference"].astype(str) != ""] if "reference" in df else df.iloc[0:0]
    extra = [m for m in ("ttft_s", "power_w", "capex_usd", "num_chips")
             if m in df.columns and m not in {o.name for o in objectives}]
    table = Table(title=title, show_lines=False)
    table.add_column("#", justify="right", no_wrap=True)
    for c in dims:
        table.add_column(_short(c[4:]), justify="right")
    for o in objectives:
        table.add_column(f"{o.name} ({'↓' if o.direction == 'minimize' else '↑'})", justify="right",
                         style="bold")
    for m in extra:
        table.add_column(m, justify="right")
    for _, row in shown.head(max_rows).iterrows():
        table.add_row(str(row["number"]), *[_fmt(row.get(c)) for c in dims],
                      *[_fmt(row.get(o.name, row.get(f"objective.{o.name}"))) for o in objectives],
                      *[_fmt(row.get(m)) for m in extra])
    if len(shown) > max_rows:
        table.add_row("…", *[""] * (len(dims) + len(objectives) + len(extra)))
    for _, row in refs.iterrows():
        label = f"{row['number']} ref:{row['reference']}" + ("" if row["feasible"] else " (infeasible)")
        table.add_row(label, *[_fmt(row.get(c)) for c in dims],
                      *[_fmt(row.get(o.name, row.get(f"objective.{o.name}"))) for o in objectives],
                      *[_fmt(row.get(m)) for m in extra], style="cyan")
    return table


def print_front(console: Console, df: pd.DataFrame, front: pd.DataFrame,
                objectives: Sequence[Objective], title: str) -> None:
    if front.empty:
        console.print("[yellow]no feasible trial yet: the Pareto front is empty[/]")
        reasons = df["reasons"].dropna().astype(str) if "reasons" in df else pd.Series([], dtype=str)
        if len(reasons):
            top = reasons.str.split("; ").explode().value_counts().head(3)
            console.print("most frequent reasons: " + "; ".join(f"{r} ({n}×)" for r, n in top.items()),
                          markup=False)
    console.print(front_table(df, front, objectives, title))


def complete_trials(trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    return [t for t in trials if t.state == TrialState.COMPLETE]
