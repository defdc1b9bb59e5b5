"""Plots of a study: the Pareto front (pairwise scatter of the objectives) and hypervolume vs trials.

Each plot is written twice: a standalone HTML file (plotly, library inlined, opens offline) and a PNG
(matplotlib; plotly's own PNG export needs kaleido with a Chrome download, unavailable here).

- Pareto front: one panel per pair of objectives; infeasible trials grey, feasible trials light,
  the feasible Pareto front (non-dominated in *all* objectives) highlighted, reference designs
  (``--enqueue``) as labelled stars. The HTML adds Optuna's own ``plot_pareto_front`` (2 or 3
  objectives) below the pairwise view.
- Hypervolume: Optuna's ``plot_hypervolume_history`` run on the study's normalised objectives
  (the search's normalisation, final bounds; see :mod:`llmhw.report.summary`), plus the value the
  progress bar showed (bounds observed so far).
"""
from __future__ import annotations

import html
import itertools
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from llmhw.search.objectives import Objective

from . import fmt
from .data import StudyData, dim_columns, finite, objective_columns
from .summary import HVPoint, final_bounds, hv_history, hv_max

#: colours (colour-blind friendly: Okabe–Ito)
GREY, LIGHT, FRONT, REF = "#9a9a9a", "#8fb8de", "#d55e00", "#000000"
STUDY_COLOURS = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#f0e442", "#000000"]


@dataclass
class Group:
    """Points drawn alike: values (n × k objective values), hover texts, style."""
    name: str
    values: np.ndarray
    texts: list[str]
    color: str
    size: float = 5.0
    symbol: str = "circle"         # plotly symbol; matplotlib marker derived
    opacity: float = 0.8
    edge: str | None = None
    labels: list[str] = field(default_factory=list)   # text drawn next to each point (references)
    hollow: bool = False                                # a ring around the point (overlays)


def axis_title(o: Objective) -> str:
    return f"{o.name} {fmt.arrow(o.direction)}" + (f" [{o.unit}]" if o.unit else "")


def objectives_line(objectives: Sequence[Objective]) -> str:
    return ", ".join(f"{o.name} {fmt.arrow(o.direction)}" for o in objectives)


def pairs(k: int) -> list[tuple[int, int]]:
    return list(itertools.combinations(range(k), 2)) if k > 1 else [(0, 0)]


def grid_shape(n: int) -> tuple[int, int]:
    cols = min(3, n)
    return math.ceil(n / cols), cols


def log_axes(groups: Sequence[Group], k: int) -> list[bool]:
    """Log scale for an objective whose plotted values are positive and span ≥ 50×."""
    out = []
    for i in range(k):
        vals = np.concatenate([g.values[:, i] for g in groups if len(g.values)]) if groups else np.zeros(0)
        vals = vals[np.isfinite(vals)]
        out.append(bool(len(vals)) and bool(np.all(vals > 0)) and vals.max() / vals.min() >= 50)
    return out


def _hover(row: Any, objectives: Sequence[Objective], dims: Sequence[str], prefix: str = "") -> str:
    parts = [f"{prefix}trial #{row['number']}"]
    ref = row.get("reference")
    if isinstance(ref, str) and ref:
        parts[0] += f" (reference {ref})"
    parts += [f"{o.name}: {fmt.metric(o.name, row.get(f'objective.{o.name}'))}" for o in objectives]
    parts += [f"{d[4:].removesuffix('#i')}: {row.get(d)}" for d in dims]
    if not row.get("feasible", True):
        parts.append("infeasible")
    return "<br>".join(html.escape(p) for p in parts)


def points_group(df: Any, objectives: Sequence[Objective], name: str, color: str, prefix: str = "",
           label: Any = None, **kw: Any) -> Group:
    """Rows of ``df`` with finite objective values; ``label(row)`` gives a text drawn at the point."""
    cols = objective_columns(objectives)
    vals = df[cols].to_numpy(dtype=float) if len(df) else np.zeros((0, len(objectives)))
    keep = finite(vals) if len(vals) else np.zeros(0, dtype=bool)
    sub = df[keep] if len(df) else df
    dims = dim_columns(df)
    rows = [r for _, r in sub.iterrows()] if len(sub) else []
    texts = [_hover(r, objectives, dims, prefix) for r in rows]
    labels = [label(r) for r in rows] if label is not None else []
    return Group(name, vals[keep] if len(vals) else vals, texts, color, labels=labels, **kw)


def study_groups(data: StudyData) -> list[Group]:
    """Infeasible, feasible, front, references of one study."""
    comp = data.complete()
    objs = data.objectives
    if comp.empty:
        return []
    front_numbers = set(data.front["number"]) if not data.front.empty else set()
    infeas = comp[~comp["feasible"]]
    feas = comp[comp["feasible"] & ~comp["number"].isin(front_numbers)]
    groups = [
        points_group(infeas, objs, f"infeasible ({len(infeas):,})", GREY, size=5, symbol="x", opacity=0.5),
        points_group(feas, objs, f"feasible, dominated ({len(feas):,})", LIGHT, size=5, opacity=0.6),
        points_group(data.front_designs(), objs,
               f"feasible Pareto front ({len(data.front_designs()):,} designs)", FRONT, size=8, opacity=1.0,
               edge="#ffffff"),
    ]
    refs = data.references()
    if len(refs):
        groups.append(points_group(refs, objs, f"reference designs ({len(refs)})", REF, size=14, symbol="star",
                             opacity=1.0, edge="#ffffff",
                             label=lambda r: str(r["reference"]) + (" (infeasible)" if not r["feasible"] else
                                                                    " (on the front)" if r["number"] in front_numbers
                                                                    else "")))
    return [g for g in groups if len(g.values)]


# ------------------------------------------------------------------------------------------ plotly
def pairwise_figure(groups: Sequence[Group], objectives: Sequence[Objective], title: str):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    k = len(objectives)
    pp = pairs(k)
    rows, cols = grid_shape(len(pp))
    logs = log_axes(groups, k)
    fig = make_subplots(rows=rows, cols=cols, horizontal_spacing=0.08, vertical_spacing=0.12)
    for n, (i, j) in enumerate(pp):
        r, c = n // cols + 1, n % cols + 1
        for g in groups:
            marker = dict(color=g.color, size=g.size, symbol=g.symbol + ("-open" if g.hollow else ""),
                          opacity=g.opacity)
            if g.edge:
                marker["line"] = dict(color=g.edge, width=0.8)
            if g.hollow:
                marker["line"] = dict(color=g.color, width=1.6)
            x = g.values[:, i]
            y = g.values[:, j] if k > 1 else np.zeros(len(g.values))
            fig.add_trace(go.Scatter(
                x=x, y=y, mode="markers+text" if g.labels else "markers", name=g.name, legendgroup=g.name,
                showlegend=n == 0, marker=marker, text=g.labels or None, textposition="top center",
                hovertext=g.texts, hoverinfo="text"), row=r, col=c)
        fig.update_xaxes(title_text=axis_title(objectives[i]), type="log" if logs[i] else "linear", row=r, col=c)
        if k > 1:
            fig.update_yaxes(title_text=axis_title(objectives[j]), type="log" if logs[j] else "linear",
                             row=r, col=c)
    fig.update_layout(title=title, height=460 * rows, width=max(520, 480 * cols), template="plotly_white",
                      legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))
    return fig


def _memory_study(data: StudyData, values: np.ndarray | None = None, directions: Sequence[str] | None = None):
    """An in-memory copy of the COMPLETE trials (values, constraints) for Optuna's plots."""
    import optuna
    from optuna.trial import TrialState, create_trial
    comp = [t for t in data.trials if t.state == TrialState.COMPLETE and t.values]
    m = optuna.create_study(directions=list(directions or data.directions))
    m.set_metric_names([o.name for o in data.objectives])
    copies = []
    for i, t in enumerate(comp):
        cons = {k: v for k, v in t.system_attrs.items() if k.startswith("constraints:")}
        if not cons:  # feasibility from the stored flag
            cons = {"constraints:feasible": 0.0 if t.user_attrs.get("feasible", True) else 1.0}
        v = list(values[i]) if values is not None else list(t.values)
        copies.append(create_trial(state=TrialState.COMPLETE, values=v, system_attrs=cons))
    m.add_trials(copies)
    return m


def optuna_pareto_figure(data: StudyData):
    """Optuna's own Pareto-front plot (2 or 3 objectives), infeasible trials greyed; None otherwise."""
    k = len(data.objectives)
    if k not in (2, 3) or data.complete().empty:
        return None
    import optuna
    vals = np.array([t.values for t in data.trials if t.state.name == "COMPLETE" and t.values], dtype=float)
    if not finite(vals).all():  # keep the axes readable: drop the non-finite stand-ins
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = optuna.visualization.plot_pareto_front(_memory_study(data),
                                                     target_names=[axis_title(o) for o in data.objectives])
    fig.update_layout(title=f"Optuna's Pareto-front plot of {data.name}", template="plotly_white",
                      height=620, width=900)
    # log axes where the values span ≥ 50× (as in the pairwise view): on linear axes $/Mtoken from
    # 0.25 to 700 crams the front into one corner (issue 15 item 16)
    types = ["log" if log else "linear" for log in log_axes(study_groups(data), k)]
    if k == 3:
        fig.update_scenes(xaxis_type=types[0], yaxis_type=types[1], zaxis_type=types[2])
    else:
        fig.update_xaxes(type=types[0])
        fig.update_yaxes(type=types[1])
    return fig


def hv_dense(data: StudyData, points: int = 250) -> list[HVPoint]:
    n = len(data.complete())
    step = max(1, math.ceil(n / points))
    at = list(range(step, n + 1, step))
    if n and (not at or at[-1] != n):
        at.append(n)
    return hv_history(data.df, data.objectives, at)


def hv_figure(data: StudyData, series: Sequence[HVPoint], checkpoints: Sequence[HVPoint] = ()):
    """Hypervolume vs COMPLETE trials: Optuna's history on the normalised objectives (final bounds) and
    the progress bar's value."""
    import plotly.graph_objects as go

    k = len(data.objectives)
    fig = None
    note = ""
    bounds = final_bounds(data.df, data.objectives)
    if bounds is not None:
        try:
            fig = _optuna_hv_figure(data, bounds)
        except Exception as exc:  # noqa: BLE001 - experimental API: fall back to our own trace
            note = f" (Optuna's plot unavailable: {type(exc).__name__})"
            fig = None
    if fig is None:
        fig = go.Figure()
        fig.add_trace(go.Scatter(x=[p.trials for p in series], y=[p.hv for p in series], mode="lines",
                                 name="hypervolume (final bounds)"))
    fig.add_trace(go.Scatter(x=[p.trials for p in series], y=[p.hv_progress for p in series], mode="lines",
                             line=dict(dash="dash"), name="as the progress bar showed (bounds so far)"))
    if checkpoints:
        fig.add_trace(go.Scatter(x=[p.trials for p in checkpoints], y=[p.hv for p in checkpoints],
                                 mode="markers", marker=dict(size=8), name="report checkpoints"))
    fig.update_layout(
        title=f"Hypervolume of {data.name} vs COMPLETE trials{note}<br><sup>objectives "
              f"{html.escape(objectives_line(data.objectives))}, normalised to the feasible range, "
              f"reference point 1.1, max {hv_max(k):.4g}</sup>",
        xaxis_title="COMPLETE trials", yaxis_title="hypervolume", template="plotly_white", height=520,
        width=960, legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))
    return fig


def _optuna_hv_figure(data: StudyData, bounds: tuple[np.ndarray, np.ndarray]):
    import optuna
    from llmhw.search.pareto import losses, normalise
    comp = [t for t in data.trials if t.state.name == "COMPLETE" and t.values]
    z = normalise(losses([t.values for t in comp], data.directions), *bounds)
    z = np.where(np.isfinite(z), z, 1e6)
    study = _memory_study(data, values=z, directions=["minimize"] * len(data.objectives))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = optuna.visualization.plot_hypervolume_history(study, reference_point=[1.1] * len(data.objectives))
    for tr in fig.data:  # trial numbers of the copy are 0..n-1: show counts of COMPLETE trials
        tr.x = [x + 1 for x in tr.x]
        tr.name = "hypervolume (final bounds; Optuna's plot_hypervolume_history)"
        tr.showlegend = True
    return fig


def write_html(path: Path, figures: Sequence[Any], title: str) -> Path:
    """One standalone HTML page (plotly.js inlined once) holding ``figures`` one below the other."""
    parts = []
    for i, fig in enumerate(figures):
        parts.append(fig.to_html(full_html=False, include_plotlyjs=i == 0, config={"displaylogo": False}))
    page = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title></head>\n<body style=\"font-family: sans-serif\">\n"
            + "\n".join(parts) + "\n</body></html>\n")
    path.write_text(page, encoding="utf-8")
    return path


# -------------------------------------------------------------------------------------- matplotlib
_MPL_MARKER = {"circle": "o", "star": "*", "x": "x", "diamond": "D", "square": "s", "triangle-up": "^"}


def _plt():
    import matplotlib
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    return plt


def pairwise_png(path: Path, groups: Sequence[Group], objectives: Sequence[Objective], title: str) -> Path:
    plt = _plt()
    k = len(objectives)
    pp = pairs(k)
    rows, cols = grid_shape(len(pp))
    logs = log_axes(groups, k)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.6 * rows + 0.8), squeeze=False)
    for n, (i, j) in enumerate(pp):
        ax = axes[n // cols][n % cols]
        for g in groups:
            y = g.values[:, j] if k > 1 else np.zeros(len(g.values))
            if g.hollow:
                style = dict(facecolors="none", edgecolors=g.color, linewidths=1.3)
            elif g.symbol == "x":  # a line marker: coloured by its edge
                style = dict(c=g.color, linewidths=0.8)
            else:
                style = dict(c=g.color, edgecolors=g.edge or "none", linewidths=0.5)
            ax.scatter(g.values[:, i], y, s=(g.size * 1.6) ** 2 / 2, alpha=g.opacity,
                       marker=_MPL_MARKER.get(g.symbol, "o"), label=g.name if n == 0 else None,
                       zorder=3 if g.symbol == "star" or g.hollow else 2, **style)
            for x0, y0, lab in zip(g.values[:, i], y, g.labels):
                ax.annotate(lab, (x0, y0), textcoords="offset points", xytext=(5, 5), fontsize=8)
        ax.set_xlabel(axis_title(objectives[i]))
        if logs[i]:
            ax.set_xscale("log")
        if k > 1:
            ax.set_ylabel(axis_title(objectives[j]))
            if logs[j]:
                ax.set_yscale("log")
        ax.grid(True, which="major", alpha=0.3)
    for n in range(len(pp), rows * cols):
        axes[n // cols][n % cols].set_visible(False)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=min(4, len(labels)), frameon=False,
               bbox_to_anchor=(0.5, 0.995 - 0.04 / rows))
    fig.suptitle(title, y=0.999, fontsize=11)
    height = 4.6 * rows + 0.8
    fig.subplots_adjust(left=0.75 / (5.2 * cols), right=0.98, bottom=0.6 / height, top=1 - 0.95 / height,
                        wspace=0.3, hspace=0.3)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def hv_png(path: Path, data: StudyData, series: Sequence[HVPoint], checkpoints: Sequence[HVPoint] = ()) -> Path:
    plt = _plt()
    k = len(data.objectives)
    fig, ax = plt.subplots(figsize=(8, 4.6))
    x = [p.trials for p in series]
    ax.plot(x, [p.hv for p in series], lw=2, color=STUDY_COLOURS[0], label="hypervolume (final bounds)")
    ax.plot(x, [p.hv_progress for p in series], lw=1.2, ls="--", color=STUDY_COLOURS[1],
            label="as the progress bar showed (bounds so far)")
    if checkpoints:
        ax.scatter([p.trials for p in checkpoints], [p.hv for p in checkpoints], s=25, color=STUDY_COLOURS[0],
                   zorder=3, label="report checkpoints")
    ax.axhline(hv_max(k), color="#777777", lw=0.8, ls=":", label=f"maximum {hv_max(k):.4g}")
    ax.set_xlabel("COMPLETE trials")
    ax.set_ylabel("hypervolume")
    ax.set_title(f"Hypervolume of {data.name} (reference point 1.1)\n{objectives_line(data.objectives)}, "
                 "normalised to the feasible range", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.12, top=0.92)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# ------------------------------------------------------------------------------------------ writers
def write_study_plots(data: StudyData, outdir: Path) -> list[Path]:
    """pareto.html, pareto.png, hypervolume.html, hypervolume.png in ``outdir``."""
    outdir.mkdir(parents=True, exist_ok=True)
    groups = study_groups(data)
    title = f"Pareto front of {data.name}: {len(data.complete()):,} COMPLETE trials, " \
            f"{int(data.complete()['feasible'].sum()) if not data.df.empty else 0:,} feasible"
    figs = [pairwise_figure(groups, data.objectives, title)]
    extra = optuna_pareto_figure(data)
    if extra is not None:
        figs.append(extra)
    written = [write_html(outdir / "pareto.html", figs, title),
               pairwise_png(outdir / "pareto.png", groups, data.objectives, title)]
    series = hv_dense(data)
    marks = hv_history(data.df, data.objectives)
    written.append(write_html(outdir / "hypervolume.html", [hv_figure(data, series, marks)],
                              f"Hypervolume of {data.name}"))
    written.append(hv_png(outdir / "hypervolume.png", data, series, marks))
    return written
