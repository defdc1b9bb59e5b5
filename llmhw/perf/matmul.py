"""Matmul time of one operator on one chip (model.md §13.3): roofline and weight-stationary array.

The roofline loads 2 bytes per element regardless of bytes_per_number (§13.3, §16.1 #5); the WS array 1.
"""
from __future__ import annotations

from typing import NamedTuple

from llmhw.hardware.chip import Chip

from . import xp
from .errors import UnsupportedFeature
from .shapes import Operator

#: §13.3 / §16.1 #5: the roofline's bytes per loaded element when no precision is set (docs/models.md M4.1).
ROOFLINE_BYTES_PER_ELEMENT = 2


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
    ops = ops * op.work_fraction                # causal share of the score work (§V.4); 1 (an int) otherwise
    rate = chip_perf_flops * compute_perf_efficiency
    if op.perf_scale != 1:                      # docs/models.md M4.2
        rate = rate * op.perf_scale
    t_comp = ops / rate
    bpe = ROOFLINE_BYTES_PER_ELEMENT if op.load_bytes is None else op.load_bytes     # M4.1
    t_load = op.stacks * op.J * op.K * bpe / bandwidth_bytes_per_s
    if op.load_divisor != 1:
        t_load = t_load / op.load_divisor
    return _shared(op, MatmulTime(xp.maximum(t_comp, t_load), t_comp, t_load))


def _shared(op: Operator, mt: MatmulTime) -> MatmulTime:
    """The operator's times × its layer share (docs/models.md M7.1): the mean layer's contribution."""
    if op.share == 1:
        return mt
    return MatmulTime(mt.time_s * op.share, mt.t_comp_s * op.share, mt.t_load_s * op.share)


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
    if op.load_bytes is not None:               # docs/models.md M4.1 (else §16.1 #5: 1 byte per element)
        t_load = t_load * op.load_bytes
    if op.load_divisor != 1:
        t_load = t_load / op.load_divisor
    t_comp = xp.ceil(xp.maximum(2 * w + I_bar, 2 * I_bar) / 2) / chip.freq_hz
    if op.perf_scale != 1:                      # M4.2: more MACs per cycle at lower precision
        t_comp = t_comp / op.perf_scale
    time = s_core * (t_load + t_comp + (I_hat * J_hat * K_hat - 1) * xp.maximum(t_load, t_comp))
    return _shared(op, MatmulTime(time, t_comp, t_load))


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
