"""Rich renderings of ``--report``, ``--list`` and ``--compare`` (no browser needed)."""
from __future__ import annotations

import math
from typing import Any, Sequence

import pandas as pd
from rich.console import Group
from rich.table import Table
from rich.text import Text

from llmhw.metrics import METRICS
from llmhw.search.objectives import Objective
from llmhw.search.output import front_table

from . import fmt
from .breakdown import ROWS, SHARE_OF, Breakdown
from .data import StudyData, StudySummary
from .summary import Counts, HVPoint, hv_max


def _kv_table(title: str | None = None) -> Table:
    t = Table(title=title, show_header=False, box=None, padding=(0, 2, 0, 0), title_justify="left",
              title_style="bold")
    t.add_column(style="bold cyan", no_wrap=True)
    t.add_column(overflow="fold")
    return t


def _row(t: Table, key: str, value: str) -> None:
    """A key/value row; the value is plain text (units such as "[s]" are not rich markup)."""
    t.add_row(key, Text(value))


def objectives_text(objectives: Sequence[Objective]) -> str:
    return ", ".join(f"{o.name} {fmt.arrow(o.direction)}" + (f" [{o.unit}]" if o.unit else "") for o in objectives)


def _space_text(space: Any) -> str:
    if not isinstance(space, list) or not space:
        return "-"
    parts = []
    for d in space:
        if not isinstance(d, dict):
            continue
        name = str(d.get("name", "?"))
        if "values" in d:
            vals = d["values"]
            shown = ", ".join(_compact(v) for v in vals[:6]) + (", …" if len(vals) > 6 else "")
            parts.append(f"{name} [{shown}]")
        elif "low" in d:
            parts.append(f"{name} {_compact(d['low'])}..{_compact(d['high'])}" + (" log" if d.get("log") else ""))
        else:
            parts.append(name)
    return f"{len(parts)} dimensions: " + "; ".join(parts)


def _compact(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def inputs_table(data: StudyData) -> Table:
    """What the study was made from: files, model, workload, fidelity, sampler, tool version."""
    a, ident, run = data.attrs, data.identity, data.run
    t = _kv_table("Inputs")
    _row(t, "storage", data.url)
    if not data.is_llmhw:
        _row(t, "made by", "not llmhw (no stored inputs): objectives from the study's metric names")
    for key, label in (("hw", "hardware"), ("system", "system"), ("model", "model file"),
                       ("constants", "constants"), ("space", "space overlay"), ("enqueue", "reference designs")):
        v = ident.get(key)
        if isinstance(v, dict) and v.get("path"):
            lines = len(str(v.get("text", "")).splitlines())
            _row(t, label, f"{v['path']} ({lines} lines, text stored in the study)")
    if a.get("model"):
        _row(t, "model", str(a["model"]))
    w = a.get("workload")
    if isinstance(w, dict):
        _row(t, "workload", f"prefill {w.get('prefill_len')} tokens, decode {w.get('decode_len')} tokens")
    if a.get("fidelity"):
        _row(t, "fidelity mode", str(a["fidelity"]) + ("" if ident.get("compat") else
                                                          " (default or the system file's compat)"))
    if a.get("mapping"):
        _row(t, "mapping", str(a["mapping"]))
    _row(t, "objectives", objectives_text(data.objectives))
    cons = a.get("constraints")
    if isinstance(cons, dict):
        limits = [f"{l.get('flag')} {l.get('value')}" for l in cons.get("limits") or [] if isinstance(l, dict)]
        n = len(cons.get("names") or [])
        _row(t, "constraints", f"{n} ({n - len(limits)} from the evaluator"
                  + (f"; user limits {', '.join(limits)}" if limits else "; no user limits") + ")")
    if "space" in a:
        _row(t, "space", _space_text(a.get("space")))
    if run:
        budget = run.get("trials")
        _row(t, "sampler", f"{run.get('sampler')} (seed {run.get('seed')}, batch {run.get('batch_size')}"
                  + (f", budget {budget} trials" if budget else "") + ")")
    versions = []
    if a.get("tool_version"):
        versions.append(f"llmhw {a['tool_version']}")
    if a.get("optuna_version"):
        versions.append(f"optuna {a['optuna_version']}")
    if run.get("tool_version") and run.get("tool_version") != a.get("tool_version"):
        versions.append(f"last run by llmhw {run['tool_version']}")
    if versions:
        _row(t, "tool version", ", ".join(versions))
    hist = data.meta.get("history") or []
    if hist:
        forced = sum(1 for h in hist if isinstance(h, dict) and "changed" in str(h.get("event", "")))
        _row(t, "history", f"resumed {len(hist)} time(s)" + (f", {forced} with changed inputs (--force)"
                                                              if forced else ""))
    return t


def trials_table(c: Counts, span: tuple | None, llmhw: bool = True) -> Table:
    t = _kv_table("Trials")
    share = f" ({c.feasible / c.complete * 100:.1f} % of COMPLETE)" if c.complete else ""
    _row(t, "stored", f"{c.total:,} ({c.complete:,} COMPLETE, {c.failed:,} FAIL"
              + (f", {c.running:,} RUNNING/WAITING" if c.running else "") + ")")
    _row(t, "feasible", f"{c.feasible:,}{share}")
    _row(t, "distinct designs", f"{c.distinct:,}" + (" evaluated (repeats are served from the evaluation cache)"
                                                       if llmhw else ""))
    _row(t, "Pareto front", f"{c.front:,} feasible non-dominated trials, {c.front_designs:,} distinct designs")
    if c.references:
        _row(t, "reference designs", str(c.references))
    if span:
        t0, t1 = span
        _row(t, "stored between", f"{t0:%Y-%m-%d %H:%M:%S} and {t1:%Y-%m-%d %H:%M:%S}")
    return t


def hv_table(points: Sequence[HVPoint], k: int) -> Table:
    t = Table(title=f"Hypervolume history (normalised objectives, reference point 1.1; max {hv_max(k):.4g})",
              title_justify="left", title_style="bold")
    t.add_column("trials", justify="right")
    t.add_column("feasible", justify="right")
    t.add_column("front points", justify="right")
    t.add_column("HV (final bounds)", justify="right", style="bold")
    t.add_column("% of final", justify="right")
    t.add_column("HV (progress bar)", justify="right")
    final = points[-1].hv if points else 0.0
    for p in points:
        t.add_row(f"{p.trials:,}", f"{p.feasible:,}", str(p.front), f"{p.hv:.4f}",
                  f"{p.hv / final * 100:.1f} %" if final > 0 else "-", f"{p.hv_progress:.4f}")
    return t


def pareto_table(data: StudyData, max_rows: int = 30) -> Table:
    """The feasible front, one row per design, and the reference designs (as the search prints it)."""
    t = front_table(data.df, data.front, data.objectives,
                    f"Pareto front of {data.name} (feasible, one row per design)", max_rows=max_rows)
    t.title_justify = "left"
    t.title_style = "bold"
    return t


def breakdown_table(bests: Sequence[tuple[Objective, int]], bds: Sequence[Breakdown]) -> Table:
    """One column per objective: the best feasible design for it, broken down."""
    t = Table(title="Best design per objective (feasible)", title_justify="left", title_style="bold",
              show_lines=False)
    t.add_column("", no_wrap=True)
    for (o, n), b in zip(bests, bds):
        t.add_column(f"best {o.name} {fmt.arrow(o.direction)}\ntrial #{n}", justify="right")
    rows: list[tuple[str, str, str, str]] = []
    seen: set[str] = set()
    for b in bds:
        for r in b.rows():
            if r[2] not in seen:
                seen.add(r[2])
                rows.append(r)
    order = {r[2]: i for i, r in enumerate(ROWS)}
    rows.sort(key=lambda r: order.get(r[2], 0))
    # the design dimensions first (those that differ between the columns are bold)
    dims = sorted({k for b in bds for k in b.values if k.startswith("dim.")},
                  key=lambda k: min(list(b.values).index(k) if k in b.values else 1e9 for b in bds))
    t.add_row(Text("design dimensions", style="bold magenta"), *[""] * len(bds))
    for k in dims:
        vals = [b.get(k) for b in bds]
        differ = len({str(v) for v in vals}) > 1
        t.add_row("  " + _short_dim(k[4:]), *[Text(fmt.value(v), style="bold" if differ else "") for v in vals])
    covered = {r[2] for r in ROWS}
    extra = [("objectives", o.name, o.name, o.unit or METRICS.get(o.name, ("", ""))[1])
             for o, _ in bests if o.name not in covered]
    section = None
    for sec, label, key, unit in extra + rows:
        if sec != section:
            section = sec
            t.add_row(Text(sec, style="bold magenta"), *[""] * len(bds))
        cells = []
        for (o, _), b in zip(bests, bds):
            v = b.get(key)
            s = fmt.value(v, unit) if v is not None else "-"
            total = SHARE_OF.get(key)
            if total and v is not None and b.get(total):
                tot = float(b.get(total))
                if tot > 0 and math.isfinite(float(v)):
                    s += f" ({float(v) / tot * 100:.0f} %)"
            style = "bold green" if key == o.name else ""
            cells.append(Text(s, style=style))
        t.add_row(label, *cells)
    return t


def _short_dim(name: str) -> str:
    name = name.removesuffix("#i")
    head, _, rest = name.partition(".")
    return rest if head in ("Chip", "Package", "Server", "system") and rest else name


def breakdown_notes(bds: Sequence[Breakdown]) -> Text:
    sources = sorted({b.source for b in bds})
    lines = [f"values: {', '.join(sources)}; the objective a column is best in is green"]
    notes: dict[str, list[int]] = {}
    for b in bds:
        for n in b.notes:
            notes.setdefault(n, []).append(b.number)
    for n, numbers in notes.items():
        lines.append(n if len(numbers) == len(bds) else f"trial #{', #'.join(map(str, numbers))}: {n}")
    return Text("\n".join(lines), style="dim")


def report_renderables(data: StudyData, counts: Counts, span: tuple | None, hv: Sequence[HVPoint],
                       bests: Sequence[tuple[Objective, int]], bds: Sequence[Breakdown],
                       max_rows: int = 30) -> list:
    out: list = [Text(f"Study {data.name}", style="bold underline"), inputs_table(data), Text(""),
                 trials_table(counts, span, data.is_llmhw), Text("")]
    if hv:
        out += [hv_table(hv, len(data.objectives)), Text("")]
    if data.front.empty:
        out.append(Text("no feasible trial: the Pareto front is empty", style="yellow"))
    else:
        out.append(pareto_table(data, max_rows))
        n_designs = counts.front_designs
        if n_designs > max_rows:
            out.append(Text(f"… {n_designs - max_rows} more designs in pareto.csv (--export DIR)", style="dim"))
    if bds:
        out += [Text(""), breakdown_table(bests, bds), breakdown_notes(bds)]
    return out


# ---------------------------------------------------------------------------------------- --list
def list_table(rows: Sequence[StudySummary], where: str) -> Table:
    t = Table(title=f"Studies in {where}", title_justify="left", title_style="bold")
    for col, just in (("study", "left"), ("model", "left"), ("workload", "right"), ("trials", "right"),
                      ("feasible", "right"), ("front", "right"), ("objectives", "left"), ("sampler", "left"),
                      ("last trial", "left")):
        t.add_column(col, justify=just, overflow="fold")
    for s in rows:
        if s.error:
            t.add_row(s.name, Text(s.error, style="red"), *[""] * 7)
            continue
        trials = f"{s.complete:,}" + (f"/{s.budget:,}" if s.budget and s.budget != s.complete else "") \
            + (f" (+{s.failed} failed)" if s.failed else "")
        feas = f"{s.feasible:,}" + (f" ({s.feasible / s.complete * 100:.0f} %)" if s.complete else "")
        front = f"{s.front:,}" + (f" ({s.front_designs} designs)" if s.front_designs != s.front else "")
        t.add_row(s.name, s.model or "-", s.workload or "-", trials, feas, front,
                  ", ".join(f"{o.name}{fmt.arrow(o.direction)}" for o in s.objectives), s.sampler or "-",
                  f"{s.updated:%Y-%m-%d %H:%M}" if s.updated else "-")
    return t


# ---------------------------------------------------------------------------------------- --compare
def compare_summary_table(rows: Sequence[dict], k: int) -> Table:
    t = Table(title=f"Studies compared (hypervolume on common bounds, reference point 1.1; max {hv_max(k):.4g})",
              title_justify="left", title_style="bold")
    for col in ("study", "model", "trials", "feasible", "front designs", "HV (common bounds)",
                "designs on the joint front"):
        t.add_column(col, justify="left" if col in ("study", "model") else "right")
    for r in rows:
        t.add_row(r["study"], r.get("model") or "-", f"{r['complete']:,}", f"{r['feasible']:,}",
                  f"{r['front_designs']:,}", f"{r['hv']:.4f}", f"{r['on_joint']:,} of {r['joint']:,}")
    return t


def compare_front_table(joint: pd.DataFrame, objectives: Sequence[Objective], max_rows: int = 40) -> Table:
    """The fronts of several studies in one table (one row per design), the joint front marked."""
    t = Table(title="Fronts overlaid (feasible, one row per design; ★ = on the joint front)",
              title_justify="left", title_style="bold")
    t.add_column("study")
    t.add_column("#", justify="right")
    t.add_column("★", justify="center")
    dims = [c for c in joint.columns if c.startswith("dim.") and joint[c].astype(str).nunique() > 1]
    for c in dims:
        t.add_column(_short_dim(c[4:]), justify="right")
    for o in objectives:
        t.add_column(f"{o.name} {fmt.arrow(o.direction)}", justify="right", style="bold")
    shown = joint.head(max_rows)
    for _, r in shown.iterrows():
        t.add_row(str(r["study"]), str(r["number"]), "★" if r["joint_front"] else "",
                  *[fmt.value(r.get(c)) for c in dims],
                  *[fmt.metric(o.name, r.get(f"objective.{o.name}")) for o in objectives],
                  style="" if r["joint_front"] else "dim")
    if len(joint) > max_rows:
        t.add_row("…", *[""] * (2 + len(dims) + len(objectives)))
    return t


def group(renderables: list) -> Group:
    return Group(*renderables)
