"""Rich renderings of ``--report``, ``--list`` and ``--compare`` (no browser needed)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import pandas as pd
from rich.console import Group
from rich.table import Table
from rich.text import Text

from llmhw.metrics import ALL_METRICS
from llmhw.search.objectives import Objective
from llmhw.study.urls import redact

from . import fmt
from .breakdown import ROWS, SHARE_OF, Breakdown
from .data import StudyData, StudySummary
from .summary import Counts, HVPoint, hv_max


# ---------------------------------------------------------------------------------------- the front
@dataclass(frozen=True)
class Column:
    """A table column: ``rank`` orders what is dropped first when the terminal is too narrow (highest
    first, right to left); rank 0 is never dropped."""
    header: str
    cells: tuple
    rank: int = 0
    justify: str = "right"
    style: str = ""


def _header(name: str, width: int) -> str:
    """``name`` broken after underscores into lines of at most ``width`` characters (when it can be)."""
    lines, line = [], ""
    for part in name.replace("_", "_\x00").split("\x00"):
        if line and len(line) + len(part) > width:
            lines.append(line)
            line = ""
        line += part
    return "\n".join(lines + [line])


def _cells_width(c: Column) -> int:
    return max((len(str(x)) for x in c.cells), default=1)


def _width(c: Column) -> int:
    """The column's width in characters: its widest cell or header line (headers break at ``_``)."""
    cells = _cells_width(c)
    return max(cells, *(len(line) for line in _header(c.header, max(cells, 6)).splitlines()))


def _fit(columns: Sequence[Column], width: int | None) -> tuple[list[Column], list[str]]:
    """The columns that fit ``width`` characters (borders and padding included) and the headers dropped."""
    kept, dropped = list(columns), []
    while width is not None and sum(_width(c) + 3 for c in kept) + 1 > width:
        candidates = [i for i, c in enumerate(kept) if c.rank > 0]
        if not candidates:
            break
        worst = max(candidates, key=lambda i: (kept[i].rank, i))
        dropped.insert(0, kept.pop(worst).header)
    return kept, dropped


def fitted_table(title: str, columns: Sequence[Column], width: int | None, styles: Sequence[str] = ()
                 ) -> tuple[Table, list[str]]:
    """A table of ``columns`` that fits ``width``: low-rank columns are dropped (returned) rather than cut."""
    kept, dropped = _fit(columns, width)
    t = Table(title=title, title_justify="left", title_style="bold")
    n_rows = len(kept[0].cells) if kept else 0
    for c in kept:
        t.add_column(_header(c.header, max(_cells_width(c), 6)), justify=c.justify, style=c.style or None,
                     no_wrap=True, min_width=_width(c))
    for i in range(n_rows):
        t.add_row(*[c.cells[i] for c in kept], style=styles[i] if i < len(styles) else None)
    return t, dropped


def dropped_note(dropped: Sequence[str], where: str) -> Text | None:
    if not dropped:
        return None
    names = ", ".join(dropped)
    return Text(f"not shown (terminal too narrow): {names}; every column is in {where}", style="dim")


def short_dim(name: str) -> str:
    """A column label: the dimension path without its section and index suffix."""
    name = name.removesuffix("#i")
    head, _, rest = name.partition(".")
    return rest if head in ("Chip", "Package", "Server", "system") and rest else name


def varying_dims(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c.startswith("dim.") and df[c].astype(str).nunique() > 1]


#: the mapping the evaluator applied (chosen by ``--mapping best``, clipped in explicit mode), stored in
#: each trial's ``design`` attribute
MAPPING_KEYS = ("t", "p", "micro_batch", "prefill_micro_batch")


def design_columns(df: pd.DataFrame) -> list[str]:
    """The columns that describe a design: the dimensions that vary, then the mapping that was applied
    (``design.t``, ``design.p``, the micro-batches) in place of the sampled mapping dimensions."""
    dims = varying_dims(df) or [c for c in df.columns if c.startswith("dim.")][:6]
    mapping = [f"design.{k}" for k in MAPPING_KEYS if f"design.{k}" in df.columns]
    if mapping:
        dims = [c for c in dims if c[4:] not in MAPPING_KEYS]
    return dims + mapping


def _design_column(df_col: str, cells) -> Column:
    name = df_col.split(".", 1)[1]
    return Column(short_dim(name), cells(lambda r: fmt.dim(name, r.get(df_col))), rank=1)


def _objective_header(o: Objective) -> str:
    return f"{o.name} {fmt.arrow(o.direction)}"


def front_table(df: pd.DataFrame, front: pd.DataFrame, objectives: Sequence[Objective], title: str,
                max_rows: int = 25, width: int | None = None) -> tuple[Table, list[str]]:
    """The feasible Pareto front (deduplicated by design) plus the reference designs, fitted to ``width``.

    Rank: trial number and objectives are always shown; then the design dimensions; the other metrics
    (TTFT, power, capex, chips) are dropped first."""
    dims = design_columns(df)
    shown = front.drop_duplicates(subset=dims + [f"objective.{o.name}" for o in objectives]).head(max_rows)
    refs = df[df["reference"].astype(str) != ""] if "reference" in df else df.iloc[0:0]
    extra = [m for m in ("ttft_s", "power_w", "capex_usd", "num_chips")
             if m in df.columns and m not in {o.name for o in objectives}]
    more = len(front.drop_duplicates(subset=dims + [f"objective.{o.name}" for o in objectives])) > max_rows
    rows = [r for _, r in shown.iterrows()] + [r for _, r in refs.iterrows()]
    numbers = [str(r["number"]) for _, r in shown.iterrows()] + (["…"] if more else []) + [
        f"{r['number']} ref:{r['reference']}" + ("" if r["feasible"] else " (infeasible)") for _, r in refs.iterrows()]

    def cells(get) -> tuple:
        out = [get(r) for r in rows[:len(shown)]] + ([""] if more else []) + [get(r) for r in rows[len(shown):]]
        return tuple(out)

    def objective(o: Objective):
        return lambda r: fmt.metric(o.name, r.get(o.name, r.get(f"objective.{o.name}")))

    columns = [Column("#", tuple(numbers))]
    columns += [Column(_objective_header(o), cells(objective(o)), style="bold") for o in objectives]
    columns += [_design_column(c, cells) for c in dims]
    columns += [Column(m, cells(lambda r, m=m: fmt.metric(m, r.get(m))), rank=2) for m in extra]
    styles = [""] * (len(shown) + more) + ["cyan"] * len(refs)
    return fitted_table(title, columns, width, styles)


def print_front(console: Any, df: pd.DataFrame, front: pd.DataFrame, objectives: Sequence[Objective],
                title: str) -> None:
    """The search's closing table, fitted to the console."""
    if front.empty:
        console.print("[yellow]no feasible trial yet: the Pareto front is empty[/]")
        reasons = df["reasons"].dropna().astype(str) if "reasons" in df else pd.Series([], dtype=str)
        if len(reasons):
            top = reasons.str.split("; ").explode().value_counts().head(3)
            console.print("most frequent reasons: " + "; ".join(f"{r} ({n}×)" for r, n in top.items()),
                          markup=False)
    table, dropped = front_table(df, front, objectives, title, width=console.width)
    console.print(table)
    note = dropped_note(dropped, "pareto.csv")
    if note is not None:
        console.print(note)


# ---------------------------------------------------------------------------------------- --report
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
    _row(t, "storage", redact(data.url))
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
                  + (f", budget {budget} trials" if budget else "")
                  + ({True: ", mapping sweep on", False: ", mapping sweep off"}.get(run.get("sweep"), "") + ")"))
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


def pareto_table(data: StudyData, max_rows: int = 30, width: int | None = None) -> list:
    """The feasible front, one row per design, and the reference designs (as the search prints it),
    fitted to ``width``, with a note naming the columns left out."""
    t, dropped = front_table(data.df, data.front, data.objectives,
                             f"Pareto front of {data.name} (feasible, one row per design)", max_rows=max_rows,
                             width=width)
    note = dropped_note(dropped, "pareto.csv (--export DIR)")
    return [t] + ([note] if note is not None else [])


def breakdown_table(bests: Sequence[tuple[Objective, int]], bds: Sequence[Breakdown]) -> Table:
    """One column per objective: the best feasible design for it, broken down."""
    t = Table(title="Best design per objective (feasible)", title_justify="left", title_style="bold",
              show_lines=False)
    t.add_column("")                        # labels wrap when the terminal is narrow; values never do
    for (o, n), b in zip(bests, bds):
        t.add_column(_header(f"best {o.name} {fmt.arrow(o.direction)}", 16) + f"\ntrial #{n}", justify="right",
                     no_wrap=True)
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
    extra = [("objectives", o.name, o.name, o.unit or ALL_METRICS.get(o.name, ("", ""))[1])
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
                       max_rows: int = 30, width: int | None = None, stopping: str | None = None) -> list:
    out: list = [Text(f"Study {data.name}", style="bold underline"), inputs_table(data), Text(""),
                 trials_table(counts, span, data.is_llmhw), Text("")]
    if hv:
        out += [hv_table(hv, len(data.objectives))] + ([Text(stopping)] if stopping else []) + [Text("")]
    if data.front.empty:
        out.append(Text("no feasible trial: the Pareto front is empty", style="yellow"))
    else:
        out += pareto_table(data, max_rows, width)
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
    for col in ("study", "model", "workload", "trials", "feasible", "front designs", "HV (common bounds)",
                "designs on the joint front"):
        t.add_column(col, justify="left" if col in ("study", "model") else "right")
    for r in rows:
        t.add_row(r["study"], r.get("model") or "-", r.get("workload") or "-", f"{r['complete']:,}", f"{r['feasible']:,}",
                  f"{r['front_designs']:,}", f"{r['hv']:.4f}", f"{r['on_joint']:,} of {r['joint']:,}")
    return t


def compare_front_table(joint: pd.DataFrame, objectives: Sequence[Objective], max_rows: int = 40,
                        width: int | None = None) -> list:
    """The fronts of several studies in one table (one row per design), the joint front marked; fitted to
    ``width`` (the design dimensions go first, right to left), with a note naming the columns left out."""
    dims = design_columns(joint)
    shown = joint.head(max_rows)
    more = len(joint) > max_rows

    def cells(get, more_cell: str = "") -> tuple:
        return tuple(get(r) for _, r in shown.iterrows()) + ((more_cell,) if more else ())

    columns = [Column("study", cells(lambda r: str(r["study"]), "…"), justify="left"),
               Column("#", cells(lambda r: str(r["number"]))),
               Column("★", cells(lambda r: "★" if r["joint_front"] else ""))]
    columns += [Column(_objective_header(o), cells(lambda r, o=o: fmt.metric(o.name, r.get(f"objective.{o.name}"))),
                       style="bold") for o in objectives]
    columns += [_design_column(c, cells) for c in dims]
    styles = ["" if r["joint_front"] else "dim" for _, r in shown.iterrows()] + [""] * more
    t, dropped = fitted_table("Fronts overlaid (feasible, one row per design; ★ = on the joint front)", columns,
                              width, styles)
    note = dropped_note(dropped, "compare.csv")
    return [t] + ([note] if note is not None else [])


def group(renderables: list) -> Group:
    return Group(*renderables)
