"""A system of identical servers running one model (model.md §11): sizing, derived totals, bandwidths."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from llmhw.errors import LlmhwError
from llmhw.hardware.constants import Constants
from llmhw.hardware.server import Server
from llmhw.values import Checked, get_or_default, is_set

from .model import Model
from .stack import NO_STACK, Stack

DEFAULT_MAX_BATCH = 1024          # §11.1
DEFAULT_EVAL_LEN = (128, 129)     # §0 / §11.1: [prefill length P, generate length G]
ALLREDUCE_ALGOS = ("ring", "2d_ring", "3d_ring", "local_4d_16", "local_2d_16", "local_ring_16", "local_ring_8")


class SizingError(LlmhwError, ValueError):
    """§11.2 path 3: none of kv_cache_ratio, max_ctx_len_batch_1, num_servers, max_tco is set."""


class SubSystemError(LlmhwError, ValueError):
    """§14 step 1: num_servers is not a multiple of sub_sys_num_servers."""


@dataclass(frozen=True)
class System(Checked):
    """A sized system (§11). ``valid`` is False when the memory is insufficient (§11.2 path 2).

    ``violations['sys_memory_bytes']`` = model bytes − total memory (> 0 when violated) is always given.
    """

    server: Server
    model: Model
    constants: Constants
    num_servers: int
    total_mem_bytes: float
    kv_cache_ratio: float
    max_ctx_len_batch_1: float
    max_tco_usd: float
    num_packages: int
    num_chips: int
    perf_flops: float
    tdp_w: float
    core_tdp_w: float
    other_tdp_w: float
    w_bw_bytes_per_s: float
    kv_bw_bytes_per_s: float
    max_batch: int
    prefill_len: int
    decode_len: int
    allreduce_algo: str
    default_mapping: Mapping[str, Any] | None
    energy_model: bool
    compute_perf_efficiency: float
    io_bandwidth_efficiency: float
    weight_bandwidth_efficiency: float
    sub_sys_num_servers: int | None
    mem_bw_bytes_per_s: float = 0.0     # §11.3 per-chip weight/KV bandwidth before any efficiency
    stack: Stack = NO_STACK             # software-stack terms (corrected mode only, docs/validation.md §V)
    # docs/models.md §M4/§M5: deployment precision (None: the model's bytes_per_number, §10) and routing
    weight_bits: int | None = None
    act_bits: int | None = None
    kv_bits: int | None = None
    moe_imbalance: float = 1.0
    model_bytes: float = 0.0              # M of §11.2 at the weight precision
    kv_bytes_per_token: float = 0.0       # K of §11.2 at the KV precision

    @property
    def precision_set(self) -> bool:
        """Any bit width given: operand bytes then follow the bits (eq. M4.1) instead of §16.1 #5."""
        return self.weight_bits is not None or self.act_bits is not None or self.kv_bits is not None

    @property
    def weight_bytes_per_number(self) -> float:
        return self.weight_bits / 8 if self.weight_bits is not None else self.model.bytes_per_number

    @property
    def act_bytes_per_number(self) -> float:
        return self.act_bits / 8 if self.act_bits is not None else self.model.bytes_per_number

    @property
    def kv_bytes_per_number(self) -> float:
        return self.kv_bits / 8 if self.kv_bits is not None else self.model.bytes_per_number
    tco_mode: str = "owned"                   # docs/tco-modes.md: 'owned' (§9/§13.9) or 'rented'
    rent_usd_per_chip_hour: float = 0.0       # docs/tco-modes.md §R.1 (tco_mode 'rented' only)

    @property
    def eval_len(self) -> tuple[int, int]:
        return (self.prefill_len, self.decode_len)

    @property
    def batches(self) -> tuple[int, ...]:
        """§12.3: B = 1, 2, 4, … while B ≤ max_batch."""
        return powers_of_two_upto(self.max_batch)


def powers_of_two_upto(limit: float) -> tuple[int, ...]:
    """1, 2, 4, … while ≤ limit."""
    out, b = [], 1
    while b <= limit:
        out.append(b)
        b *= 2
    return tuple(out)



def weight_bandwidth(server: Server) -> float:
    """§11.3 per-chip weight bandwidth before ``weight_bandwidth_efficiency``."""
    pkg = server.package
    chip = pkg.chip
    V = pkg.num_vaults_per_chip
    if V > 0 and pkg.vault is not None and pkg.vault.is_sram:
        bw3 = pkg.vault.bw_bytes_per_s * V
        cap3 = pkg.vault.cap_bytes * V
        tot = chip.sram_bytes + cap3
        return bw3 * cap3 / tot + chip.sram_bw_bytes_per_s * chip.sram_bytes / tot
    if V > 0 or pkg.num_hbm_stacks > 0:
        return pkg.dram_bw_per_chip_bytes_per_s
    return chip.sram_bw_bytes_per_s


def build_system(server: Server, cfg: Mapping[str, Any], model: Model | Mapping[str, Any] | None,
                 constants: Constants) -> System:
    """§11: size a system of ``server`` for ``model`` from one expanded system configuration.

    ``model`` may be a :class:`Model`, a ``Model`` mapping, or None (then ``cfg['model']``, which the §0
    pre-processing appends, is used).
    """
    if model is None:
        model = cfg["model"]
    if not isinstance(model, Model):
        model = Model.from_dict(model)
    wbits, abits, kvbits = cfg.get("weight_bits"), cfg.get("act_bits"), cfg.get("kv_bits")
    M = model.model_bytes if wbits is None else model.params * wbits / 8                    # eq. M4.1
    K = model.kv_bytes_per_token if kvbits is None else model.kv_numbers_per_token * kvbits / 8
    m_srv = server.total_mem_bytes
    L = model.num_layers
    ns = cfg.get("num_servers")
    kv_ratio = cfg.get("kv_cache_ratio")
    max_ctx = cfg.get("max_ctx_len_batch_1")
    max_tco = cfg.get("max_tco")
    reasons: list[str] = []

    if is_set(kv_ratio) or is_set(max_ctx):                          # §11.2 path 1
        required = M / (1 - kv_ratio) if is_set(kv_ratio) else M + max_ctx * K
        if not is_set(ns) or ns * m_srv < required:
            ns = math.ceil(required / m_srv)
            if L > ns:
                while L % ns != 0:
                    ns += 1
            else:
                while ns % L != 0:
                    ns += 1
        total_mem = ns * m_srv
    elif is_set(ns) or is_set(max_tco):                               # §11.2 path 2
        if not is_set(ns):
            ns = math.ceil(max_tco / server.tco.total)
        total_mem = ns * m_srv
        if total_mem < M:
            reasons.append(f"memory {total_mem:.6g} B < model {M:.6g} B")
    else:
        raise SizingError("system needs one of kv_cache_ratio, max_ctx_len_batch_1, num_servers, max_tco")

    kv_cache_ratio = 1 - M / total_mem if total_mem else -math.inf
    if not is_set(max_ctx):
        max_ctx = math.floor(kv_cache_ratio * total_mem / K) if total_mem else 0
    tdp = ns * server.tdp_w
    core_tdp = ns * server.core_tdp_w
    mem_bw = weight_bandwidth(server)
    w_bw = mem_bw * get_or_default(cfg, "weight_bandwidth_efficiency", 1.0)
    eval_len = get_or_default(cfg, "eval_len", DEFAULT_EVAL_LEN)
    if len(eval_len) == 1 and isinstance(eval_len[0], (list, tuple)):
        eval_len = eval_len[0]
    algo = get_or_default(cfg, "allreduce_algo", "ring")
    if algo not in ALLREDUCE_ALGOS:
        raise ValueError(f"allreduce_algo {algo!r} not in {ALLREDUCE_ALGOS}")
    default_mapping = cfg.get("default_mapping")
    if isinstance(default_mapping, list):   # a one-alternative list left unexpanded
        default_mapping = default_mapping[0] if len(default_mapping) == 1 else default_mapping
    return System(
        server=server, model=model, constants=constants, num_servers=ns, total_mem_bytes=total_mem,
        kv_cache_ratio=kv_cache_ratio, max_ctx_len_batch_1=max_ctx, max_tco_usd=server.tco.total * ns,
        num_packages=ns * server.num_packages, num_chips=ns * server.num_chips,
        perf_flops=ns * server.perf_flops, tdp_w=tdp, core_tdp_w=core_tdp, other_tdp_w=tdp - core_tdp,
        w_bw_bytes_per_s=w_bw, kv_bw_bytes_per_s=w_bw,
        max_batch=get_or_default(cfg, "max_batch", DEFAULT_MAX_BATCH), prefill_len=eval_len[0], decode_len=eval_len[1],
        allreduce_algo=algo, default_mapping=default_mapping if is_set(default_mapping) else None,
        energy_model=bool(get_or_default(cfg, "energy_model", True)),
        compute_perf_efficiency=get_or_default(cfg, "compute_perf_efficiency", 1.0),
        io_bandwidth_efficiency=get_or_default(cfg, "io_bandwidth_efficiency", 1.0),
        weight_bandwidth_efficiency=get_or_default(cfg, "weight_bandwidth_efficiency", 1.0),
        sub_sys_num_servers=cfg.get("sub_sys_num_servers") or None,
        mem_bw_bytes_per_s=mem_bw, stack=Stack.from_dict(cfg.get("stack")),
        weight_bits=wbits, act_bits=abits, kv_bits=kvbits,
        moe_imbalance=get_or_default(cfg, "moe_imbalance", 1.0), model_bytes=M, kv_bytes_per_token=K,
        tco_mode=get_or_default(cfg, "tco_mode", "owned"),
        rent_usd_per_chip_hour=get_or_default(cfg, "rent_usd_per_chip_hour", 0.0),
        violations={"sys_memory_bytes": M - total_mem}, reasons=tuple(reasons),
    )
