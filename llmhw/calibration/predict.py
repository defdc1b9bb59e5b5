"""The evaluator's prediction of every measured quantity (docs/validation.md §V.10).

Points go through the evaluator itself (§13.6 micro-batch latency in corrected mode, with the system's
``stack:`` terms); microbenchmarks through the same roofline and GEMM-efficiency equations (§V.2), plus the
per-call kernel and launch costs of an isolated eager call (§V.6).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping

from llmhw import paths
from llmhw.config import expand_system, load_constants, load_hardware, load_model, load_system
from llmhw.errors import ConfigError
from llmhw.fidelity import CORRECTED
from llmhw.hardware.constants import load_constants_dict
from llmhw.exhaustive.hardware_phase import hardware_phase
from llmhw.perf.geometry import stage_geometry
from llmhw.perf.latency import micro_batch_latency, operator_efficiency
from llmhw.perf.matmul import roofline_time
from llmhw.perf.shapes import Operator
from llmhw.workload.model import Model
from llmhw.workload.system import System, build_system

from .measurements import GemmBench, MeasuredPoint, Measurements


@dataclass(frozen=True)
class Machine:
    """The measured machine as the evaluator sees it: a sized system and its (t, p) mapping."""
    system: System
    t: int
    p: int


def load_machine(meas: Measurements) -> Machine:
    """Build the system the measurement file names (inputs/hardware/config/<hardware>.yaml, the model and
    inputs/software/system/<system>.yaml, with the 7 nm constants)."""
    hw_path = paths.HW_CONFIG_DIR / f"{meas.hardware}.yaml"
    sys_path = paths.SYSTEM_DIR / f"{meas.system}.yaml"
    k = load_constants_dict(load_constants(paths.DEFAULT_CONSTANTS))
    hw = load_hardware(hw_path)
    servers = hardware_phase(hw.chips, hw.packages, hw.servers, k, CORRECTED).servers
    if not servers:
        raise ConfigError(hw_path, "", problem="the hardware gives no valid server", allowed="a valid server")
    model = load_model(meas.model, paths.MODEL_DIR)
    cfg = expand_system(load_system(sys_path).raw, model, sys_path)[0]
    system = build_system(servers[0], cfg, Model.from_dict(model), k)
    mapping = system.default_mapping or {}
    return Machine(system, int(mapping.get("t", 1)), int(mapping.get("p", 1)))


CALL_OVERHEAD = "microbenchmark.call_overhead_s"


def with_parameters(system: System, values: Mapping[str, float]) -> System:
    """``system`` with fitted values: top-level keys (compute/weight efficiencies) and ``stack.*`` keys
    (``microbenchmark.*`` keys describe the benchmark harness, not the system, and are skipped)."""
    top = {k: v for k, v in values.items() if "." not in k}
    stack = {k[len("stack."):]: v for k, v in values.items() if k.startswith("stack.")}
    if "weight_bandwidth_efficiency" in top:
        top["w_bw_bytes_per_s"] = system.mem_bw_bytes_per_s * top["weight_bandwidth_efficiency"]
        top["kv_bw_bytes_per_s"] = top["w_bw_bytes_per_s"]
    return replace(system, **top, stack=replace(system.stack, **stack))


def predict_point(machine: Machine, system: System, point: MeasuredPoint) -> float:
    """Seconds of one measured point: a prefill of ``batch`` × ``prompt`` tokens as one micro-batch, or one
    decode step for ``batch`` sequences of ``context`` cached tokens (§V.8)."""
    if point.phase == "prefill":
        system = replace(system, prefill_len=point.prompt, decode_len=1)
    geom = stage_geometry(system, machine.t, machine.p, CORRECTED)
    if point.phase == "prefill":
        return micro_batch_latency(system, geom, True, point.batch, CORRECTED).total_s
    return micro_batch_latency(system, geom, False, point.batch, CORRECTED, decode_context=point.context).total_s


def predict_gemm(system: System, bench: GemmBench, call_overhead_s: float) -> float:
    """Seconds of one isolated, individually timed GEMM call: the §13.3 roofline with the §V.2 shape
    efficiency (the (k×n) right operand streamed at the weight bandwidth), one kernel's device cost (§V.6) and
    the harness's per-call overhead (host dispatch and launch latency between the two timing events)."""
    op = Operator("gemm", 1, bench.m, bench.k, bench.n, False)
    eff = operator_efficiency(op, system, CORRECTED, 0)
    chip = system.server.package.chip
    work = roofline_time(op, chip.perf_flops, eff, system.w_bw_bytes_per_s).time_s
    return work + system.stack.kernel_overhead_s + call_overhead_s
