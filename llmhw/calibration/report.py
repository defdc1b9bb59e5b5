"""Validation outputs (docs/validation.md §V.10): the error table, validation.csv, fit.yaml and the plot."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from rich.table import Table

from .fit import FITTED, FitResult
from .measurements import MeasuredPoint, Measurements

CSV_COLUMNS = ("phase", "batch", "context", "prompt", "use", "measured_s", "predicted_s", "error")
USES = ("calibrate", "check")


@dataclass(frozen=True)
class Prediction:
    point: MeasuredPoint
    predicted_s: float

    @property
    def error(self) -> float:
        """Signed relative error: predicted / measured − 1."""
        return self.predicted_s / self.point.measured_s - 1


@dataclass(frozen=True)
class ErrorSummary:
    use: str
    count: int
    mape: float
    max_abs_error: float


def summarize(predictions: Sequence[Prediction]) -> list[ErrorSummary]:
    """MAPE and maximum |error| of the calibration points and of the check points, separately."""
    out = []
    for use in USES:
        errs = [abs(p.error) for p in predictions if p.point.use == use]
        if errs:
            out.append(ErrorSummary(use, len(errs), sum(errs) / len(errs), max(errs)))
    return out


def error_table(meas: Measurements, predictions: Sequence[Prediction]) -> Table:
    table = Table(title=f"validation: {meas.device or meas.hardware} · {meas.model}", header_style="bold")
    for col in ("point", "use", "measured", "predicted", "error"):
        table.add_column(col, justify="left" if col in ("point", "use") else "right")
    for p in predictions:
        err = p.error
        style = "green" if abs(err) <= 0.05 else "yellow" if abs(err) <= 0.10 else "red"
        table.add_row(p.point.label, p.point.use, _ms(p.point.measured_s), _ms(p.predicted_s),
                      f"[{style}]{err:+.1%}[/{style}]")
    table.caption = "   ".join(f"{s.use}: MAPE {s.mape:.1%}, max |error| {s.max_abs_error:.1%} ({s.count} points)"
                               for s in summarize(predictions))
    return table


def microbenchmark_table(meas: Measurements, predicted_s: Sequence[float]) -> Table:
    table = Table(title="microbenchmarks (GEMM (m×k)@(k×n))", header_style="bold")
    for col in ("m", "n", "k", "measured", "predicted", "error"):
        table.add_column(col, justify="right")
    for g, pred in zip(meas.gemm, predicted_s):
        table.add_row(str(g.m), str(g.n), str(g.k), _ms(g.measured_s), _ms(pred), f"{pred / g.measured_s - 1:+.1%}")
    return table


def parameter_table(fit: FitResult) -> Table:
    table = Table(title="fitted parameters", header_style="bold")
    for col in ("parameter", "value", "meaning"):
        table.add_column(col, justify="right" if col == "value" else "left")
    for p in FITTED:
        table.add_row(p.key, f"{fit.values[p.key]:.4g}", p.meaning)
    table.caption = f"copy stream: {fit.copy_efficiency:.4g} of peak (upper bound of every bandwidth efficiency)"
    return table


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.4g} ms"


def write_csv(path: Path, predictions: Sequence[Prediction]) -> Path:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for p in predictions:
            pt = p.point
            w.writerow([pt.phase, pt.batch, "" if pt.context is None else pt.context,
                        "" if pt.prompt is None else pt.prompt, pt.use, repr(float(pt.measured_s)),
                        repr(float(p.predicted_s)), repr(float(p.error))])
    return path


def yaml_number(x: float) -> str:
    """Four significant digits in a form YAML 1.1 reads as a number (``7e-06`` would be a string)."""
    text = f"{x:.4g}"
    mantissa, _, exponent = text.partition("e")
    if exponent and "." not in mantissa:
        text = f"{mantissa}.0e{exponent}"
    return text


def fit_yaml_text(meas: Measurements, fit: FitResult, fixed_stack: dict) -> str:
    """The fitted parameters as system-file keys, with the system's unfitted stack keys, ready to paste."""
    meaning = {p.key: p.meaning for p in FITTED}
    lines = [f"# Fitted by `python search.py --validate {meas.path}`: paste into inputs/software/system/"
             f"{meas.system}.yaml", "# (replaces compute_perf_efficiency, weight_bandwidth_efficiency and the stack: section).",
             "# docs/validation.md explains every parameter."]
    top = [p for p in FITTED if "." not in p.key]
    for p in top:
        lines.append(f"{p.key}: {yaml_number(fit.values[p.key])}    # {meaning[p.key]}")
    lines.append("stack:")
    for p in FITTED:
        if p.key.startswith("stack."):
            lines.append(f"  {p.key[len('stack.'):]}: {yaml_number(fit.values[p.key])}    # {meaning[p.key]}")
    for key, value in fixed_stack.items():
        lines.append(f"  {key}: {value if isinstance(value, str) else yaml_number(value)}")
    harness = [p for p in FITTED if p.key.startswith("microbenchmark.")]
    for p in harness:
        lines.append(f"# {p.key}: {fit.values[p.key]:.4g} ({p.meaning})")
    return "\n".join(lines) + "\n"


def write_plot(path: Path, meas: Measurements, predictions: Sequence[Prediction]) -> Path:
    """Predicted against measured seconds (log-log) with the ±10 % band."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 6))
    xs = [p.point.measured_s for p in predictions] + [p.predicted_s for p in predictions]
    lo, hi = min(xs) / 1.5, max(xs) * 1.5
    ax.plot([lo, hi], [lo, hi], color="black", lw=1, label="predicted = measured")
    ax.fill_between([lo, hi], [lo * 0.9, hi * 0.9], [lo * 1.1, hi * 1.1], color="grey", alpha=0.2, label="±10 %")
    for use, marker in (("calibrate", "o"), ("check", "s")):
        for phase, color in (("decode", "tab:blue"), ("prefill", "tab:orange")):
            sel = [p for p in predictions if p.point.use == use and p.point.phase == phase]
            if sel:
                ax.scatter([p.point.measured_s for p in sel], [p.predicted_s for p in sel], marker=marker,
                           color=color, label=f"{phase} ({use})", zorder=3)
    ax.set_xscale("log")
    ax.set_yscale("log")
    from matplotlib.ticker import NullFormatter
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_minor_formatter(NullFormatter())
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("measured (s)")
    ax.set_ylabel("predicted (s)")
    ax.set_title(f"{meas.device or meas.hardware}: {meas.model}")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
