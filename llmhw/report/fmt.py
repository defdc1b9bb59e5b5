"""Numbers with units for people (reports and plot labels); the CSV files keep plain SI numbers."""
from __future__ import annotations

import math
from typing import Any

from llmhw.metrics import METRICS

_PREFIX = [(1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]


def _num(v: Any) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f


def g(v: float, digits: int = 4) -> str:
    """``digits`` significant digits, no exponent for ordinary magnitudes."""
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e6 or a < 1e-3:
        return f"{v:.{max(1, digits - 1)}e}"
    return f"{v:.{digits}g}"


def _prefixed(v: float, unit: str, digits: int = 4) -> str:
    for scale, p in _PREFIX:
        if abs(v) >= scale:
            return f"{v / scale:.{digits}g} {p}{unit}"
    return f"{v:.{digits}g} {unit}"


def seconds(v: float) -> str:
    a = abs(v)
    if a == 0:
        return "0 s"
    if a >= 1:
        return f"{v:.4g} s"
    if a >= 1e-3:
        return f"{v * 1e3:.4g} ms"
    if a >= 1e-6:
        return f"{v * 1e6:.4g} µs"
    return f"{v * 1e9:.4g} ns"


def dollars(v: float) -> str:
    a = abs(v)
    if a >= 1000:
        return f"${v:,.0f}"
    if a >= 0.01 or a == 0:
        return f"${v:,.2f}" if a >= 1 or a == 0 else f"${v:.4g}"
    return f"${v:.3e}"


def value(v: Any, unit: str = "") -> str:
    """``v`` in ``unit`` (a unit of the registry ``llmhw.metrics``), readable."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    f = _num(v)
    if f is None:
        return "-" if v is None or v == "" else str(v)
    if math.isnan(f):
        return "-"
    if math.isinf(f):
        return "∞" if f > 0 else "-∞"
    if unit == "s":
        return seconds(f)
    if unit == "$":
        return dollars(f)
    if unit == "$/Mtoken":
        return f"{dollars(f)}/Mtoken"
    if unit == "$/token":
        return f"${f:.4g}/token"
    if unit in ("W",):
        return _prefixed(f, "W")
    if unit == "FLOP/s":
        return _prefixed(f, "FLOP/s")
    if unit == "bytes":
        return _prefixed(f, "B")
    if unit in ("tokens/s", "tokens/s/chip"):
        suffix = " tok/s" + ("/chip" if unit.endswith("chip") else "")
        return (f"{f:,.0f}" if abs(f) >= 100 else f"{f:.4g}") + suffix
    if unit == "-":
        return f"{f * 100:.3g} %"
    if unit in ("chips", "servers", "int"):
        return f"{f:,.0f}"
    if unit == "%":
        return f"{f:.1f} %"
    if unit == "mm²":
        return f"{f:,.1f} mm²"
    if unit:
        return f"{g(f)} {unit}"
    if isinstance(v, int) or (f.is_integer() and abs(f) < 1e6):
        return f"{int(f):,}" if abs(f) >= 10000 else str(int(f))
    return g(f)


def metric(name: str, v: Any) -> str:
    """A metric's value with the metric's unit."""
    unit = METRICS.get(name, ("", "", ""))[1]
    return value(v, unit)


def arrow(direction: str) -> str:
    return "↓" if direction == "minimize" else "↑"
