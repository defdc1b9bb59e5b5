"""Matmul time of one operator on one chip (model.md §13.3): roofline and weight-stationary array.

The roofline loads 2 bytes per element regardless of bytes_per_number (§13.3, §16.1 #5); the WS array 1.
"""
from __future__ import annotations

from typing import NamedTuple

from llmhw.hardware.chip import Chip

from . import xp
from .errors import UnsupportedFeature
from .shapes import Operator


class MatmulTime(NamedTuple):
    """§13.3 time of one operator and its compute and load parts (s; numbers or arrays). A named tuple:
    immutable and cheap to build (six per micro-batch on the hot path)."""

    time_s: float
    t_comp_s: float
    t_load_s: float


def roofline_time(op: Operator, chip_perf_flops: float, compute_perf_efficiency: float,
                  bandwidth_bytes_per_s: float) -> MatmulTime:
    """§13.3 roofline: max(ops / (perf·eff), stacks·J·K·2 / bandwidth) (numbers or arrays)."""
    ops = op.stacks * op.I * op.J * op.K * 2
    if op.work_fraction != 1:
        ops = ops * op.work_fraction
    t_comp = ops / (chip_perf_flops * compute_perf_efficiency)
    t_load = op.stacks * op.J * op.K * 2 / bandwidth_bytes_per_s
    if op.load_divisor != 1:
        t_load = t_load / op.load_divisor
    return MatmulTime(xp.maximum(t_comp, t_load), t_comp, t_load)


def ws_array_width(chip: Chip) -> int:
    """§13.3 systolic-array width w, at least 1: a chip too slow for one MAC per array
    (sa_width = 0) would divide by zero (crash guard)."""
    return max(chip.sa_width, 1)


def ws_time(op: Operator, chip: Chip, bandwidth_bytes_per_s: float) -> MatmulTime:
    """§13.3 weight-stationary systolic arrays (compute efficiency not applied; 1 byte per element).

    Numbers: Python ints through the ceil chain; arrays: float64 throughout (exact below 2^53)."""
    w, n_sa = ws_array_width(chip), chip.num_sa
    stacks, I, J, K = xp.as_float(op.stacks, op.I, op.J, op.K)
    big = stacks > n_sa
    s_core = xp.select(big, xp.ceil(stacks / n_sa), 1)
    split = xp.select(big, 1, xp.floor(n_sa / stacks))
    K_c = xp.select(big, K, xp.ceil(K / split))
    I_hat = xp.ceil(I / chip.acc_depth / 2)
    J_hat = xp.ceil(J / w)
    K_hat = xp.ceil(K_c / w)
    I_bar = xp.ceil(I / I_hat)
    J_bar = xp.ceil(J / J_hat)
    K_bar = xp.ceil(K_c / K_hat)
    t_load = J_bar * K_bar / (bandwidth_bytes_per_s / n_sa)
    if op.load_divisor != 1:
        t_load = t_load / op.load_divisor
    t_comp = xp.ceil(xp.maximum(2 * w + I_bar, 2 * I_bar) / 2) / chip.freq_hz
    time = s_core * (t_load + t_comp + (I_hat * J_hat * K_hat - 1) * xp.maximum(t_load, t_comp))
    return MatmulTime(time, t_comp, t_load)


def matmul_time(op: Operator, chip: Chip, compute_perf_efficiency: float, bandwidth_bytes_per_s: float) -> MatmulTime:
    """§13.3 by the chip's dataflow (``llmcompass`` needs an external simulator: out of scope, §13.11)."""
    if chip.dataflow == "roofline":
        return roofline_time(op, chip.perf_flops, compute_perf_efficiency, bandwidth_bytes_per_s)
    if chip.dataflow == "WS":
        return ws_time(op, chip, bandwidth_bytes_per_s)
    raise UnsupportedFeature(unsupported_dataflow_message(chip.dataflow))


def unsupported_dataflow_message(dataflow: str) -> str:
    return (f"chip dataflow {dataflow!r} cannot be evaluated analytically (allowed: 'roofline', 'WS'; "
            "'llmcompass' needs the external simulator, model.md §13.11)")
