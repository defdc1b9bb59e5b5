"""The allowed keys of every input section, their types, bounds and defaults-of-record.

Sources: model.md §2 (technology constants), §3.1 (Chip), §4 (IO links), §5.1 (HBM stack), §5.2 (3D
vault), §6.1 (Package), §8.1 (Server), §10 (Model, plus ``attn_comm_pattern`` of §13.4/§16.1 #3),
§11.1 (System, plus ``workload``, ``default_mapping`` of §12.2, ``compat`` of the note at the top).

A field is *required* when the specification gives no default; it is *nullable* (``null`` allowed,
meaning "unset") when its default is "none" — e.g. ``kv_cache_ratio: [0.3, null]``. Fields whose
default is a value (``freq`` 1e9, ``num_lanes`` 8, ...) must be omitted rather than set to null.
The validation engine is :mod:`llmhw.config.validate`; this module only describes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

# ---------------------------------------------------------------------------------------------
# Building blocks


@dataclass(frozen=True)
class Bound:
    """An interval check on a number: ``lo <(=) x <(=) hi``; None means unbounded on that side."""
    lo: float | None = None
    lo_open: bool = False
    hi: float | None = None
    hi_open: bool = False

    def holds(self, x: float) -> bool:
        if isinstance(x, float) and math.isnan(x):
            return False
        if self.lo is not None and (x <= self.lo if self.lo_open else x < self.lo):
            return False
        if self.hi is not None and (x >= self.hi if self.hi_open else x > self.hi):
            return False
        return True

    def text(self) -> str:
        if self.lo is not None and self.hi is not None:
            return (f"in {'(' if self.lo_open else '['}{_num(self.lo)}, "
                    f"{_num(self.hi)}{')' if self.hi_open else ']'}")
        if self.lo is not None:
            return f"{'>' if self.lo_open else '>='} {_num(self.lo)}"
        if self.hi is not None:
            return f"{'<' if self.hi_open else '<='} {_num(self.hi)}"
        return "any value"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


POSITIVE = Bound(0, True)            # > 0
NONNEG = Bound(0)                    # >= 0
AT_LEAST_1 = Bound(1)                # >= 1
FRACTION = Bound(0, True, 1)         # (0, 1]
OPEN_UNIT = Bound(0, True, 1, True)  # (0, 1)
KV_RATIO = Bound(0, False, 1, True)  # [0, 1)

# Field kinds understood by the validation engine.
NUM, INT, BOOL, STR, LABEL, ENUM, SECTION, ANY, EVAL_LEN, WORKLOAD, THRESHOLDS = (
    "number", "integer", "boolean", "string", "label", "choice", "section", "any", "eval_len",
    "workload", "thresholds")


@dataclass(frozen=True)
class Field:
    """One key of a section. ``check`` is an extra test returning a problem text or None."""
    kind: str
    bound: Bound | None = None
    required: bool = False
    nullable: bool = False
    choices: tuple = ()
    section: "Section | None" = None
    check: Callable[[Any], str | None] | None = None
    allowed: str = ""

    def describe(self) -> str:
        """The 'allowed' text of error messages."""
        if self.allowed:
            return self.allowed
        if self.kind in (NUM, INT):
            noun = "a number" if self.kind == NUM else "an integer"
            text = noun if self.bound is None else f"{noun} {self.bound.text()}"
        elif self.kind == ENUM:
            text = "one of " + ", ".join(map(str, self.choices))
        elif self.kind == BOOL:
            text = "true or false"
        elif self.kind == STR:
            text = "a string"
        elif self.kind == LABEL:
            text = "a string or a number"
        elif self.kind == SECTION and self.section is not None:
            text = f"a mapping ({self.section.title})"
        elif self.kind == EVAL_LEN:
            text = "[prefill_len, generate_len], two positive integers"
        else:
            text = self.kind
        return text + (" or null" if self.nullable else "")


@dataclass(frozen=True)
class Section:
    """A mapping with a fixed set of keys (``fields`` in documentation order)."""
    title: str
    fields: dict[str, Field] = field(default_factory=dict)

    @property
    def required(self) -> list[str]:
        return [k for k, f in self.fields.items() if f.required]


def num(bound: Bound | None = POSITIVE, *, required: bool = False, nullable: bool = False,
        allowed: str = "") -> Field:
    return Field(NUM, bound, required=required, nullable=nullable, allowed=allowed)


def integer(bound: Bound | None = AT_LEAST_1, *, required: bool = False,
            nullable: bool = False) -> Field:
    return Field(INT, bound, required=required, nullable=nullable)


def flag(*, nullable: bool = False, check: Callable[[Any], str | None] | None = None,
         allowed: str = "") -> Field:
    return Field(BOOL, nullable=nullable, check=check, allowed=allowed)


def choice(*choices: str, required: bool = False) -> Field:
    return Field(ENUM, choices=tuple(choices), required=required)


def text(*, required: bool = False, nullable: bool = False,
         check: Callable[[Any], str | None] | None = None, allowed: str = "") -> Field:
    return Field(STR, required=required, nullable=nullable, check=check, allowed=allowed)


def label(*, required: bool = False, nullable: bool = False) -> Field:
    return Field(LABEL, required=required, nullable=nullable)


def sub(section: Section, *, required: bool = False, nullable: bool = False) -> Field:
    return Field(SECTION, section=section, required=required, nullable=nullable)


ANYTHING = Field(ANY, nullable=True, allowed="anything (ignored)")

# ---------------------------------------------------------------------------------------------
# Hardware configuration (§3.1, §4, §5, §6.1, §8.1)

DATAFLOWS = ("roofline", "WS", "llmcompass")
AREA_MODELS = ("linear", "micro_arch")
ALLREDUCE_ALGOS = ("ring", "2d_ring", "3d_ring", "local_4d_16", "local_2d_16", "local_ring_16",
                   "local_ring_8")
ATTN_COMM_PATTERNS = ("auto", "allreduce", "parallel_block", "allreduce_plus_2a2a")
COMPAT_MODES = ("reference", "corrected")
TCO_MODES = ("owned", "rented")      # docs/tco-modes.md: owned (model.md §9) or rented by the chip-hour


def _mem_type_check(value: str) -> str | None:
    if "sram" in value or "SRAM" in value or "dram" in value or "DRAM" in value:
        return None
    return "must name the memory kind"


IO_LINK = Section("an IO link, §4", {
    "io_type": text(allowed="a link label such as 'p2p', 'c2c' or 's2s'"),
    "num": integer(AT_LEAST_1, required=True),
    "bandwidth_per_io": num(POSITIVE, required=True),
    "area_per_io": num(NONNEG),
    "tdp_per_io": num(NONNEG),
    "pj_per_byte": num(NONNEG),
    "init_time": num(NONNEG),
})

HBM_STACK = Section("one HBM stack, §5.1", {
    "config": label(nullable=True),
    "simulator": flag(nullable=True),
    "channel_bytes": num(POSITIVE, required=True),
    "channel_width": integer(AT_LEAST_1, required=True),
    "num_channels": integer(AT_LEAST_1, required=True),
    "bit_rate": num(POSITIVE, required=True),
    "pj_per_byte": num(NONNEG),
    "vdd": num(POSITIVE),
    "x": num(POSITIVE),
    "y": num(POSITIVE),
    "stack_cost": num(NONNEG, nullable=True),
    "cost_per_gb": num(NONNEG),
})

MEM_3D_VAULT = Section("one 3D memory vault, §5.2", {
    "mem_type": text(required=True, check=_mem_type_check,
                     allowed="a string containing 'sram'/'SRAM' or 'dram'/'DRAM'"),
    "config": label(nullable=True),
    "simulator": flag(nullable=True),
    "tsvs": integer(AT_LEAST_1, nullable=True),
    "bit_rate": num(POSITIVE),
    "pj_per_bit": num(NONNEG),
    "layer_area": num(POSITIVE, required=True),
    "num_layers": integer(AT_LEAST_1, required=True),
    "layer_cost": num(NONNEG, required=True),
    "density": num(POSITIVE, nullable=True),
    "tsv_area": num(NONNEG, nullable=True),
    "layer_bytes": num(POSITIVE, nullable=True),
    "vdd": num(POSITIVE),
})

CHIP = Section("a chip, §3.1", {
    "chip_id": label(),
    "tech": label(required=True),
    "sram_tech": label(),
    "dataflow": choice(*DATAFLOWS, required=True),
    "area_model": choice(*AREA_MODELS),
    "pkg2pkg_io": sub(IO_LINK, required=True),
    "chip2chip_io": sub(IO_LINK, nullable=True),
    "freq": num(POSITIVE),
    "bytes_per_word": num(POSITIVE),
    "thermal_eval": flag(),
    "perf": num(POSITIVE, nullable=True),
    "sram": num(POSITIVE, nullable=True),
    "sram_bw": num(POSITIVE, nullable=True),
    "area": num(POSITIVE, nullable=True),
    "mac_ratio": num(OPEN_UNIT, nullable=True),
    "operational_intensity": num(POSITIVE, nullable=True),
    "other_area": num(NONNEG),
    "core_area_ratio": num(FRACTION),
    "num_sa": integer(AT_LEAST_1),
    "acc_depth": num(POSITIVE),
    "hbm_channels": integer(NONNEG),
    "mem_3d_vaults": integer(NONNEG),
    "mem_3d_vault_tsvs": integer(AT_LEAST_1, nullable=True),
    "macs_density": num(POSITIVE),
    "w_per_tops": num(NONNEG),
    "vdd": num(POSITIVE),
    "perf_scale_8bit": num(POSITIVE),   # docs/models.md §M4: peak rate at 8 / 16 bits (default 2)
    "perf_scale_4bit": num(POSITIVE),   # peak rate at 4 / 16 bits (default 4)
    "core": ANYTHING,
})

PACKAGE = Section("a package, §6.1", {
    "package_id": label(),
    "num_chips": integer(AT_LEAST_1, required=True),
    "hbm": sub(HBM_STACK, nullable=True),
    "mem_3d": sub(MEM_3D_VAULT, nullable=True),
    "si": flag(nullable=True),
    "thermal_eval": flag(),
    "custom_max_power_density": num(POSITIVE, nullable=True),
    "io": ANYTHING,
})

SERVER = Section("a server, §8.1", {
    "server_id": label(),
    "packages_per_lane": integer(AT_LEAST_1, required=True),
    "num_lanes": integer(AT_LEAST_1),
    "io": sub(IO_LINK, required=True),
    "thermal_eval": flag(),
    "custom_max_power": num(POSITIVE, nullable=True),
    "package_max_power_factor": num(POSITIVE),
})

#: Sections of a hardware file that are expanded by EXPAND; ``Name`` is ignored (§0).
HARDWARE_SECTIONS = {"Chip": CHIP, "Package": PACKAGE, "Server": SERVER}
HARDWARE_TOP = Section("a hardware configuration, §0", {
    "Name": label(nullable=True),
    "Chip": sub(CHIP, required=True),
    "Package": sub(PACKAGE, required=True),
    "Server": sub(SERVER, required=True),
})

# ---------------------------------------------------------------------------------------------
# Technology constants (§2); not expanded: every value is a single value.

CONST_CHIP = Section("chip constants, §2.1", {
    "macs_density": num(POSITIVE, required=True),
    "sram_density": num(POSITIVE, required=True),
    "w_per_tops": num(NONNEG, required=True),
    "max_power_density": num(POSITIVE, required=True),
    "padring_width": num(NONNEG, required=True),
    "max_die_area": num(POSITIVE, required=True),
    "D0": num(NONNEG, required=True),
    "alpha": num(POSITIVE, required=True),
    "wafer_diameter": num(POSITIVE, required=True),
    "wafer_dicing_gap": num(NONNEG, required=True),
    "wafer_cost": num(NONNEG, required=True),
    "testing_cost_overhead": num(NONNEG, required=True),
    "hbm_phy_ctrl_area_per_channel": num(NONNEG, required=True),
    "mem_3d_tsv_ctrl_area_per_vault": num(NONNEG),
    "mem_3d_ctrl_area_per_vault": num(NONNEG),
    "mem_3d_area_per_tsv": num(NONNEG),
    "mem_3d_test_area_per_vault": num(NONNEG),
})

CONST_PACKAGE = Section("package constants, §2.2", {
    "max_die_area": num(POSITIVE, required=True),
    "max_power_density": num(POSITIVE, required=True),
    "os_area_scale_factor": num(POSITIVE, required=True),
    "os_cost_per_mm2": num(NONNEG, required=True),
    "os_layer_scale_factor": Field(
        THRESHOLDS, required=True,
        allowed="an ordered mapping {area threshold >= 0: cost factor > 0}, thresholds descending"),
    "os_bonding_yield": num(FRACTION, required=True),
    "c4_bump_cost_per_mm2": num(NONNEG, required=True),
    "si_area_scale_factor": num(POSITIVE, required=True),
    "si_wafer_cost": num(NONNEG, required=True),
    "si_bonding_yield": num(FRACTION, required=True),
    "si_D0": num(NONNEG, required=True),
    "si_alpha": num(POSITIVE, required=True),
})

CONST_SERVER = Section("server constants, §2.3", {
    "PCBCost": num(NONNEG, required=True),
    "PCBPartsCost": num(NONNEG, required=True),
    "DCDCCostPerAmp": num(NONNEG, required=True),
    "DCDCMaxCurrent": num(POSITIVE, required=True),
    "DCDCEfficiency": num(FRACTION, required=True),
    "MaxDCDCCost": num(NONNEG, required=True),
    "FanPower": num(NONNEG, required=True),
    "FanCost": num(NONNEG, required=True),
    "APPPower": num(NONNEG, required=True),
    "APPCost": num(NONNEG, required=True),
    "PSUCostPerW": num(NONNEG, required=True),
    "PSUEfficiency": num(FRACTION, required=True),
    "PSUOutputVoltage": num(POSITIVE, required=True),
    "MaxPSUCost": num(NONNEG, required=True),
    "ChassisCost": num(NONNEG, required=True),
    "EthernetCost": num(NONNEG, required=True),
    "SrvLife": num(POSITIVE, required=True),
    "SrvMaxPower": num(POSITIVE, required=True),
    "LaneAreaMin": num(NONNEG, required=True),
    "LaneAreaMax": num(POSITIVE, required=True),
})

CONST_TCO = Section("TCO constants, §2.4", {
    "ElectricityCost": num(NONNEG, required=True),
    "InterestRate": num(POSITIVE, required=True),
    "DCCapex": num(NONNEG, required=True),
    "DCAmortPeriod": num(POSITIVE, required=True),
    "DCOpex": num(NONNEG, required=True),
    "PUE": num(Bound(1), required=True),
    "SrvOpexRate": num(NONNEG, required=True),
    "SrvAvgPwr": num(FRACTION, required=True),
})

CONST_ENERGY = Section("energy constants in pJ, §2.5", {
    "sram_wgt": num(NONNEG, required=True),
    "sram_act": num(NONNEG, required=True),
    "dram": num(NONNEG, required=True),
    "hbm2": num(NONNEG, required=True),
    "stacked_dram": num(NONNEG, required=True),
    "fma_fp16": num(NONNEG, required=True),
})

CONSTANTS_TOP = Section("a technology-constants file, §2", {
    "Chip": sub(CONST_CHIP, required=True),
    "Package": sub(CONST_PACKAGE, required=True),
    "Server": sub(CONST_SERVER, required=True),
    "TCO": sub(CONST_TCO, required=True),
    "Energy": sub(CONST_ENERGY, required=True),
})

# ---------------------------------------------------------------------------------------------
# Model (§10)

MODEL = Section("a model, §10", {
    "name": label(),
    "num_layers": integer(AT_LEAST_1, required=True),
    "d": integer(AT_LEAST_1, required=True),
    "num_heads": integer(AT_LEAST_1, required=True),
    "d_head": integer(AT_LEAST_1),
    "d_ff": integer(AT_LEAST_1),
    "act": text(allowed="an activation name such as 'gelu' or 'swiglu'"),
    "heads_per_kv_cache": integer(AT_LEAST_1),
    "bytes_per_number": num(POSITIVE),
    "attn_comm_pattern": choice(*ATTN_COMM_PATTERNS),
    # modern models (docs/models.md §M1); absent = the §10 model
    "vocab_size": integer(NONNEG),
    "tie_word_embeddings": flag(),
    "num_experts": integer(NONNEG),
    "experts_per_token": integer(NONNEG),
    "num_shared_experts": integer(NONNEG),
    "d_ff_expert": integer(NONNEG),
    "first_dense_layers": integer(NONNEG),
    "q_lora_rank": integer(NONNEG),
    "kv_lora_rank": integer(NONNEG),
    "qk_rope_head_dim": integer(NONNEG),
    "qk_nope_head_dim": integer(NONNEG),
    "v_head_dim": integer(NONNEG),
    "sliding_window": integer(NONNEG),
    "full_attention_every": integer(NONNEG),
})

MODEL_TOP = Section("a model file, §10", {"Model": sub(MODEL, required=True)})

# ---------------------------------------------------------------------------------------------
# System (§11.1, §12.2)


def _asplos_check(value: bool) -> str | None:
    return "the legacy asplos_version mode is not supported (it crashes in the reference, §16.2)" \
        if value else None


#: docs/models.md §M4: bit widths of weights, activations and the KV cache (FP8, FP4, INT4 count by bits).
PRECISION_BITS = (4, 8, 16, 32)
_BITS_ALLOWED = "one of 4, 8, 16, 32 (bits per number)"


def _bits_check(value: int) -> str | None:
    return None if value in PRECISION_BITS else "not a supported bit width"


DEFAULT_MAPPING = Section("a fixed mapping, §12.2", {
    "t": integer(AT_LEAST_1),
    "p": integer(AT_LEAST_1),
    "e": integer(AT_LEAST_1),
    "c": integer(AT_LEAST_1),
    "micro_batch": integer(NONNEG),
    "prefill_micro_batch": integer(NONNEG),
})

EVAL_LEN_FIELD = Field(EVAL_LEN)

WORKLOAD_SECTION = Section("the workload, §0/§11.1", {
    "max_batch": integer(AT_LEAST_1),
    "eval_len": EVAL_LEN_FIELD,
})

STACK_PRESETS = ("none", "gpu_pytorch", "asic")
EXECUTION_MODES = ("graph", "eager")

STACK = Section("the software stack's efficiencies and overheads, docs/validation.md §V", {
    "preset": choice(*STACK_PRESETS),
    "kv_bandwidth_efficiency": num(FRACTION, nullable=True),
    "kv_context_half": num(NONNEG),
    "gemm_output_half": num(NONNEG),
    "gemm_k_half": num(NONNEG),
    "attention_efficiency": num(FRACTION, nullable=True),
    "attention_context_half": num(NONNEG),
    "elementwise_bandwidth_efficiency": num(FRACTION),
    "norm_bytes_per_element": num(NONNEG),
    "activation_bytes_per_element": num(NONNEG),
    "residual_bytes_per_element": num(NONNEG),
    "kv_write_bytes_per_element": num(NONNEG),
    "attention_output_bytes_per_element": num(NONNEG),
    "kernels_per_layer": num(NONNEG),
    "kernel_overhead_s": num(NONNEG),
    "launch_overhead_s": num(NONNEG),
    "prefill_execution": choice(*EXECUTION_MODES),
    "decode_execution": choice(*EXECUTION_MODES),
})

_LENGTH = Field(ANY, allowed="a length >= 1, {mean, spread} or {values, weights} (docs/serving.md §1)")

SERVING_SLO = Section("a serving SLO, docs/serving.md §6", {
    "ttft": num(POSITIVE),
    "tpot": num(POSITIVE),
    "percentile": num(OPEN_UNIT),
})

#: The serving workload of a system file (docs/serving.md §1); lengths are checked by llmhw.serving.workload.
SERVING = Section("a serving workload, docs/serving.md §1", {
    "prompt": _LENGTH,
    "output": _LENGTH,
    "rate": num(POSITIVE),
    "concurrency": num(POSITIVE),
    "slo": sub(SERVING_SLO),
    "kv_link": Field(ANY, allowed="server, package or {bandwidth, latency}"),
    "chunk_tokens": integer(AT_LEAST_1),
})

SYSTEM = Section("a system configuration, §11.1", {
    "num_servers": integer(AT_LEAST_1, nullable=True),
    "kv_cache_ratio": num(KV_RATIO, nullable=True),
    "max_ctx_len_batch_1": num(POSITIVE, nullable=True),
    "max_tco": num(POSITIVE, nullable=True),
    "max_batch": integer(AT_LEAST_1),
    "eval_len": EVAL_LEN_FIELD,
    "allreduce_algo": choice(*ALLREDUCE_ALGOS),
    "default_mapping": sub(DEFAULT_MAPPING, nullable=True),
    "energy_model": flag(),
    "compute_perf_efficiency": num(FRACTION),
    "io_bandwidth_efficiency": num(FRACTION),
    "weight_bandwidth_efficiency": num(FRACTION),
    "sub_sys_num_servers": integer(AT_LEAST_1, nullable=True),
    "asplos_version": flag(check=_asplos_check, allowed="false"),
    "compat": choice(*COMPAT_MODES),
    "stack": sub(STACK),
    # deployment precision and MoE routing (docs/models.md §M4, §M5); absent = the §10/§13 behaviour
    "weight_bits": Field(INT, choices=PRECISION_BITS, check=_bits_check, allowed=_BITS_ALLOWED),
    "act_bits": Field(INT, choices=PRECISION_BITS, check=_bits_check, allowed=_BITS_ALLOWED),
    "kv_bits": Field(INT, choices=PRECISION_BITS, check=_bits_check, allowed=_BITS_ALLOWED),
    "moe_imbalance": num(Bound(1)),
    "tco_mode": choice(*TCO_MODES),
    "rent_usd_per_chip_hour": num(POSITIVE),
    "workload": Field(WORKLOAD, section=WORKLOAD_SECTION,
                      allowed="a mapping {max_batch, eval_len}"),
    "serving": sub(SERVING),
})

#: Keys whose being set decides how a system is sized (§11.2); at least one must be set.
SIZING_KEYS = ("num_servers", "max_tco", "kv_cache_ratio", "max_ctx_len_batch_1")

# ---------------------------------------------------------------------------------------------
# Measurement files for --validate (docs/validation.md §V.10)

PHASES = ("decode", "prefill")
POINT_USES = ("calibrate", "check")

GEMM_MICROBENCHMARK = Section("one GEMM microbenchmark (m×k)@(k×n) in seconds", {
    "m": integer(AT_LEAST_1, required=True),
    "n": integer(AT_LEAST_1, required=True),
    "k": integer(AT_LEAST_1, required=True),
    "s": num(POSITIVE, required=True),
})

MICROBENCHMARKS = Section("the microbenchmarks", {
    "gemm": Field(ANY, required=True, allowed="a list of {m, n, k, s} mappings"),
    "copy_bytes_per_s": num(POSITIVE, required=True),
})

MEASURED_POINT = Section("one measured point", {
    "phase": choice(*PHASES, required=True),
    "batch": integer(AT_LEAST_1, required=True),
    "context": integer(Bound(0), nullable=True),
    "prompt": integer(AT_LEAST_1, nullable=True),
    "s": num(POSITIVE, required=True),
    "use": choice(*POINT_USES, required=True),
})

MEASUREMENTS_TOP = Section("a measurement file", {
    "device": text(),
    "hardware": text(required=True, allowed="a hardware config name under inputs/hardware/config/"),
    "model": text(required=True, allowed="a model name under inputs/software/model/"),
    "system": text(required=True, allowed="a system config name under inputs/software/system/"),
    "precision": text(),
    "microbenchmarks": sub(MICROBENCHMARKS, required=True),
    "points": Field(ANY, required=True, allowed="a list of {phase, batch, context|prompt, s, use} mappings"),
})
