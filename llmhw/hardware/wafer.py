"""Die yield and dies per wafer (model.md §3.5)."""
from __future__ import annotations

import math
from functools import lru_cache

DPW_MAX_ITERATIONS = 200  # safety net for the offset search (§3.5 step 3 terminates in practice)


def negative_binomial_yield(area_mm2: float, d0_per_mm2: float, alpha: float) -> float:
    """§3.5: Y(A; D0, α) = (1 + D0·A/α)^(-α), Y(0) = 1."""
    if area_mm2 == 0:
        return 1.0
    return (1 + d0_per_mm2 * area_mm2 / alpha) ** (-alpha)


def _rows(d: float, a: float, r: float) -> int:
    """§3.5 F(d): squares of side a in the chords at distances a/2+d, 3a/2+d, … and 3a/2-d, 5a/2-d, …"""
    n = 0
    y = a / 2 + d
    while y < r:
        n += math.floor(2 * math.sqrt(r ** 2 - y ** 2) / a)
        y = y + a
    y = 3 * a / 2 - d
    while y < r:
        n += math.floor(2 * math.sqrt(r ** 2 - y ** 2) / a)
        y = y + a
    return n


@lru_cache(maxsize=4096)
def dies_per_wafer(area_mm2: float, wafer_diameter_mm: float, dicing_gap_mm: float) -> int:
    """§3.5 DPW(A, D, g): rows of squares of side sqrt(A)+g in a circle, searching the row offset."""
    a = math.sqrt(area_mm2) + dicing_gap_mm
    r = wafer_diameter_mm / 2
    n0 = _rows(0, a, r)
    nh = _rows(a / 2, a, r)
    if nh >= n0:
        return nh
    best = n0
    step = a / 8
    e = a / 4
    ne = _rows(e, a, r)
    for _ in range(DPW_MAX_ITERATIONS):
        if best == ne:
            break
        if best > ne:
            e = e - step
        else:
            best = ne
            e = e + step
        ne = _rows(e, a, r)
        step = step / 2
    return ne
