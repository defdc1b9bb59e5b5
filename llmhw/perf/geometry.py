"""Everything one micro-batch needs that depends only on the stage layout (t, p) (model.md §13.1–§13.5) and,
for mixture-of-experts models, the expert-parallel degree e (docs/models.md §M5).

:func:`stage_geometry` computes it for one (t, p) with Python numbers (the single-point driver uses it
directly); :func:`stacked_geometry` turns several into arrays and :meth:`StageGeometry.take` gathers them
per grid row (the grid driver). The link choice, the all-reduce factors, the attention-score all-reduce
(comm1) and the all-to-all of §13.4 are formed here once per layout, so the per-row equations in
:mod:`llmhw.perf.latency` and :mod:`llmhw.perf.energy` see the same values on both drivers.
A new per-layout quantity (e.g. an expert-parallel group) is one more field here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Iterable, Sequence

import numpy as np

from llmhw.fidelity import Fidelity
from llmhw.workload.system import System

from .collectives import RingFactors, allreduce_alpha_beta, allreduce_time_s, ring_factors, stage_link
from .shapes import context_len, qkv_columns


@dataclass(frozen=True)
class StageGeometry:
    """Per-layout constants (numbers for one (t, p); arrays after :func:`stacked_geometry`)."""

    t: float                       # chips per stage (keeps its Python type: int, or float when p > ns)
    p: int                         # pipeline stages
    attn_cols: int                 # ceil(d_at / t)
    ff_cols: int                   # ceil(d_ff / t)
    qkv_cols: int                  # QKV output columns (§13.2, GQA-aware when corrected)
    layers_per_stage: int          # ceil(L / p)
    stage_bw_bytes_per_s: float    # §13.1 stage-to-stage link bandwidth
    ar_alpha_s: float              # §13.5 α of the bottleneck collective link
    ar_beta_s_per_byte: float      # §13.5 β = 1 / (bandwidth × io efficiency)
    ring: RingFactors              # §13.5 factors of AR(t, ·)
    a2a_s: float                   # §13.4 all-to-all: AR(t, d·b) / 2
    comm1_prefill_s: float         # §13.4 attention-score all-reduce in prefill (0 unless t > heads)
    comm1_decode_s: float          # … in decode
    e: int = 1                     # expert-parallel degree (docs/models.md §M5): e groups of t/e chips
    ring_ep: RingFactors | None = None   # §13.5 factors of AR(t/e, ·), the all-reduce inside an expert group

    def comm1_s(self, prefill: bool):
        return self.comm1_prefill_s if prefill else self.comm1_decode_s

    def take(self, index: np.ndarray) -> "StageGeometry":
        """Row-wise gather of a stacked geometry (``index`` = the layout of each row)."""
        return StageGeometry(*(RingFactors(v.k[index], v.k_global[index], v.local_only[index], v.none[index])
                               if ring else v[index] for ring, v in zip(_IS_RING, _values(self))))


def layout_values(system: System, layouts: Iterable[tuple], fidelity: Fidelity) -> list[tuple]:
    """The :class:`StageGeometry` fields, in order, of each (t, p) or (t, p, e) (per-system constants hoisted):
    Python numbers, the rows :func:`stack_geometry` stacks (the grid driver joins those of several systems)."""
    model = system.model
    b, H, d, L = system.act_bytes_per_number, model.num_heads, model.d, model.num_layers
    d_at, d_ff = model.d_attn, model.d_ff
    algo = system.allreduce_algo
    P, G = system.prefill_len, system.decode_len
    c_bytes_p, c_bytes_g = context_len(True, P, G) * b, context_len(False, P, G) * b
    ceil = math.ceil
    out = []
    for layout in layouts:
        t, p = layout[0], layout[1]
        e = layout[2] if len(layout) > 2 else 1
        alpha, beta = allreduce_alpha_beta(system, p)
        ring = ring_factors(algo, t)
        if t > H:
            heads = ring_factors(algo, int(t / H))
            comm1_p = allreduce_time_s(algo, heads, c_bytes_p, alpha, beta)
            comm1_g = allreduce_time_s(algo, heads, c_bytes_g, alpha, beta)
        else:
            comm1_p = comm1_g = 0
        out.append((t, p, ceil(d_at / t), ceil(d_ff / t), qkv_columns(model, t, fidelity), ceil(L / p),
                    stage_link(system, p).bandwidth_bytes_per_s, alpha, beta, ring,
                    allreduce_time_s(algo, ring, d * b, alpha, beta) / 2, comm1_p, comm1_g,
                    e, ring if e == 1 else ring_factors(algo, t / e)))
    return out


def stage_geometry(system: System, t: float, p: int, fidelity: Fidelity, e: int = 1) -> StageGeometry:
    """§13.1–§13.5 constants of the layout (t, p) with expert-parallel degree e (Python numbers)."""
    return StageGeometry(*layout_values(system, ((t, p, e),), fidelity)[0])


_NAMES = tuple(f.name for f in fields(StageGeometry))
_values = attrgetter(*_NAMES)
_IS_RING = tuple(n in ("ring", "ring_ep") for n in _NAMES)
_DTYPES = tuple(np.int64 if n in ("p", "attn_cols", "ff_cols", "qkv_cols", "layers_per_stage", "e") else np.float64
                for n in _NAMES)


def stacked_geometry(system: System, layouts: Sequence[tuple], fidelity: Fidelity) -> StageGeometry:
    """The geometry of several layouts, one array per field (int64 for the integer columns; ``t`` int64 when
    every t is an int, else float64 — the grid driver then forms the int rows' t products separately)."""
    return stack_geometry(layout_values(system, layouts, fidelity))


def stack_geometry(values: Sequence[tuple]) -> StageGeometry:
    """:func:`layout_values` rows (of one system or several) as one :class:`StageGeometry` of arrays."""
    cols = list(zip(*values))
    out = []
    for name, dtype, vals in zip(_NAMES, _DTYPES, cols):
        if name == "ring_ep" and all(e == 1 for e in cols[_NAMES.index("e")]):
            out.append(out[_NAMES.index("ring")])      # no expert parallelism: the group is the stage
        elif name in ("ring", "ring_ep"):
            out.append(RingFactors(np.asarray([r.k for r in vals], dtype=np.float64),
                                   np.asarray([r.k_global for r in vals], dtype=np.float64),
                                   np.asarray([r.local_only for r in vals], dtype=bool),
                                   np.asarray([r.none for r in vals], dtype=bool)))
        elif name == "t":
            all_int = all(isinstance(v, (int, np.integer)) for v in vals)
            out.append(np.asarray(vals, dtype=np.int64 if all_int else np.float64))
        else:
            out.append(np.asarray(vals, dtype=dtype))
    return StageGeometry(*out)
