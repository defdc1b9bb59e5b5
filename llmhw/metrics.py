"""The metrics registry: every metric of a design point, in one place (model.md §13, §15.2).

Each :class:`Metric` is one entry: its name (SI unit in the name), the direction an objective optimises
it in, its unit, a description, how it is read from an evaluated point (:func:`read` over the sized
:class:`~llmhw.workload.system.System` and the :class:`~llmhw.perf.point.PerfResult`), and — if the grid
driver (:mod:`llmhw.perf.grid`) computes a field that ranks mappings exactly as the metric does — that
field, so ``mapping: best`` can pick the best mapping on the grid.

Consumers read this registry and nothing else: :class:`llmhw.evaluate.Result` (``metrics``),
``mapping: best`` (``grid_field``), the objectives (:mod:`llmhw.search.objectives`), the report (units and
columns), the trial attributes the dashboard shows and docs/metrics.md (generated:
``python -m llmhw.metrics > docs/metrics.md``; a test checks it is in sync). Adding a metric = adding one
entry to :data:`REGISTRY`.

:func:`breakdown` is the finer, non-objective split of one point (chip area parts, package and server
cost parts, TCO parts, mapping), read by the report (``Result.breakdown``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from llmhw.serving.metrics import SERVING_METRICS   # a plain table (no import cycle)

if TYPE_CHECKING:          # the registry reads evaluated objects; it does not build them
    from llmhw.perf.grid import Grid
    from llmhw.perf.point import PerfResult
    from llmhw.workload.system import System

MINIMIZE, MAXIMIZE = "minimize", "maximize"


@dataclass(frozen=True)
class Metric:
    name: str
    direction: str                                   # 'minimize' | 'maximize'
    unit: str
    description: str
    read: Callable[["System", "PerfResult"], float]  # the value of one evaluated point
    grid_field: str | None = None                    # Grid field ranking mappings as this metric does
    #: the metric's value on every row of the system's mapping grid, exactly as :attr:`read` gives it
    #: (None: the grid does not carry what it needs); ``Problem.mapping_grid`` reads it
    grid_value: Callable[["System", "Grid"], np.ndarray] | None = None


def _m(name, direction, unit, description, read, grid_field=None, grid_value=None) -> Metric:
    """A metric of the point; with a ``grid_field`` and no ``grid_value``, the field is its value."""
    if grid_field is not None and grid_value is None:
        grid_value = lambda s, g, f=grid_field: getattr(g, f)  # noqa: E731
    return Metric(name, direction, unit, description, read, grid_field, grid_value)


def _s(name, direction, unit, description, of_system) -> Metric:
    """A metric of the system alone (hardware and sizing): the same on every mapping of its grid."""
    return Metric(name, direction, unit, description, lambda s, r: of_system(s), None,
                  lambda s, g: np.full(len(g), float(of_system(s))))


def _energy_per_token(s, r) -> float:
    return (r.prefill_energy_j + r.decode_energy_j) / (r.batch * r.decode_len)


#: Every metric, in report order. Per-token TCO and throughput per chip rank mappings exactly as the
#: grid fields they scale (same system, same batch).
REGISTRY: tuple[Metric, ...] = (
    _m("tco_per_mtoken_usd", MINIMIZE, "$/Mtoken", "TCO per million generated tokens (§13.9)",
       lambda s, r: r.tco_per_mtoken_usd, "decode_tco_per_token_usd",
       lambda s, g: g.decode_tco_per_token_usd * 1e6),
    _m("tco_per_token_usd", MINIMIZE, "$/token", "TCO per generated token (§13.9)",
       lambda s, r: r.decode_tco_per_token_usd, "decode_tco_per_token_usd"),
    _m("prefill_tco_per_token_usd", MINIMIZE, "$/token", "TCO per prompt token (§13.9)",
       lambda s, r: r.prefill_tco_per_token_usd, "prefill_tco_per_token_usd"),
    _m("ttft_s", MINIMIZE, "s", "time to first token = prefill latency of the batch (§13.6)",
       lambda s, r: r.prefill_latency_s, "prefill_latency_s"),
    _m("tpot_s", MINIMIZE, "s", "average time per output token τ (§13.6)", lambda s, r: r.tpot_s, "tpot_s"),
    _m("e2e_latency_s", MINIMIZE, "s", "prefill + decode latency of the batch", lambda s, r: r.e2e_latency_s,
       grid_value=lambda s, g: g.prefill_latency_s + g.decode_latency_s),
    _m("decode_latency_s", MINIMIZE, "s", "decode latency T_g (§13.6)",
       lambda s, r: r.decode_latency_s, "decode_latency_s"),
    _m("throughput_tok_per_s", MAXIMIZE, "tokens/s", "generated tokens per second, system (B/τ)",
       lambda s, r: r.decode_throughput_tok_per_s, "decode_throughput_tok_per_s"),
    _m("prefill_throughput_tok_per_s", MAXIMIZE, "tokens/s", "prompt tokens per second (B·P/T_p)",
       lambda s, r: r.prefill_throughput_tok_per_s, "prefill_throughput_tok_per_s"),
    _m("throughput_per_chip_tok_per_s", MAXIMIZE, "tokens/s/chip", "generated tokens per second per chip",
       lambda s, r: r.decode_throughput_per_chip_tok_per_s, "decode_throughput_tok_per_s",
       lambda s, g: g.decode_throughput_tok_per_s / s.num_chips),
    _m("prefill_utilization", MAXIMIZE, "-", "prefill FLOP utilisation (§13.6)",
       lambda s, r: r.prefill_utilization, "prefill_utilization"),
    _m("decode_utilization", MAXIMIZE, "-", "decode FLOP utilisation (§13.6)",
       lambda s, r: r.decode_utilization, "decode_utilization"),
    _m("utilization", MAXIMIZE, "-", "time-weighted utilisation (§13.9)", lambda s, r: r.utilization),
    _m("power_w", MINIMIZE, "W", "average system power over prefill + decode (§13.7, §13.9)",
       lambda s, r: r.avg_server_power_w * s.num_servers),
    _m("prefill_power_w", MINIMIZE, "W", "system power during prefill (§13.7)", lambda s, r: r.prefill_power_w,
       grid_value=lambda s, g: g.prefill_power_w),
    _m("decode_power_w", MINIMIZE, "W", "system power during decode (§13.7)", lambda s, r: r.decode_power_w,
       grid_value=lambda s, g: g.decode_power_w),
    _m("energy_per_token_j", MINIMIZE, "J/token", "prefill + decode energy per generated token", _energy_per_token,
       grid_value=lambda s, g: (g.prefill_energy_j + g.decode_energy_j) / (g.batch * s.decode_len)),
    _m("capex_usd", MINIMIZE, "$", "server cost + interest + server opex, all servers (§15.2)",
       lambda s, r: r.capex_usd),
    _m("opex_usd", MINIMIZE, "$", "power part of the TCO, all servers (§15.2)", lambda s, r: r.opex_usd),
    _s("system_cost_usd", MINIMIZE, "$", "server cost × number of servers",
       lambda s: s.server.cost_usd * s.num_servers),
    _s("system_tdp_w", MINIMIZE, "W", "server TDP × number of servers (§11.2)", lambda s: s.tdp_w),
    _s("server_cost_usd", MINIMIZE, "$", "cost of one server (§8.4)", lambda s: s.server.cost_usd),
    _s("server_tdp_w", MINIMIZE, "W", "TDP of one server (§8.3)", lambda s: s.server.tdp_w),
    _s("server_tco_usd", MINIMIZE, "$", "TCO of one server at TDP over its life (§9)",
       lambda s: s.server.tco.total),
    _s("chip_area_mm2", MINIMIZE, "mm²", "die area (§3)", lambda s: float(s.server.package.chip.area_mm2)),
    _s("chip_tdp_w", MINIMIZE, "W", "chip TDP incl. package IO (§3.4)", lambda s: s.server.package.chip.tdp_w),
    _s("chip_cost_usd", MINIMIZE, "$", "die cost incl. test (§3.5)", lambda s: s.server.package.chip.cost_usd),
    _s("die_yield", MAXIMIZE, "-", "negative-binomial die yield (§3.5)",
       lambda s: s.server.package.chip.die_yield),
    _s("package_cost_usd", MINIMIZE, "$", "package cost (§6.6)", lambda s: s.server.package.cost_usd),
    _s("package_tdp_w", MINIMIZE, "W", "package TDP (§6.3)", lambda s: s.server.package.tdp_w),
    _s("heatsink_max_power_w", MAXIMIZE, "W", "package power the heatsink can remove (§7)",
       lambda s: s.server.heatsink.max_power_w),
    _s("system_perf_flops", MAXIMIZE, "FLOP/s", "peak FLOP/s of the system", lambda s: s.perf_flops),
    _s("system_memory_bytes", MAXIMIZE, "bytes", "total memory of the system",
       lambda s: float(s.total_mem_bytes)),
    _s("num_chips", MINIMIZE, "chips", "chips in the system", lambda s: float(s.num_chips)),
    _s("num_servers", MINIMIZE, "servers", "servers in the system", lambda s: float(s.num_servers)),
    _m("prefill_compute_s", MINIMIZE, "s", "prefill latency share: compute (§15.2)",
       lambda s, r: r.prefill_compute_s),
    _m("prefill_mem_s", MINIMIZE, "s", "prefill latency share: memory (§15.2)", lambda s, r: r.prefill_mem_s),
    _m("prefill_io_s", MINIMIZE, "s", "prefill latency share: interconnect (§15.2)", lambda s, r: r.prefill_io_s),
    _m("decode_compute_s", MINIMIZE, "s", "decode latency share: compute (§15.2)", lambda s, r: r.decode_compute_s),
    _m("decode_mem_s", MINIMIZE, "s", "decode latency share: memory (§15.2)", lambda s, r: r.decode_mem_s),
    _m("decode_io_s", MINIMIZE, "s", "decode latency share: interconnect (§15.2)", lambda s, r: r.decode_io_s),
)

BY_NAME: dict[str, Metric] = {m.name: m for m in REGISTRY}
#: name → (direction, unit, description), the registry's plain view.
METRICS: dict[str, tuple[str, str, str]] = {m.name: (m.direction, m.unit, m.description) for m in REGISTRY}
#: Serving-mode metrics (docs/serving.md §6): a serving evaluation (:mod:`llmhw.serving.door`) reports them
#: instead of :func:`read`; objectives, limits and the report name them from :data:`ALL_METRICS`.
ALL_METRICS: dict[str, tuple[str, str, str]] = {**METRICS, **SERVING_METRICS}
#: name → Grid field for the metrics the grid driver ranks (``mapping: best``).
GRID_FIELDS: dict[str, str] = {m.name: m.grid_field for m in REGISTRY if m.grid_field is not None}


def read(system: "System", perf: "PerfResult") -> dict[str, float]:
    """Every metric of one evaluated point, in registry order."""
    return {m.name: m.read(system, perf) for m in REGISTRY}


# ---- breakdown (not objectives: the finer split a report shows) --------------------------------------

def breakdown(system: "System", perf: "PerfResult | None") -> dict[str, float | str]:
    """Named, unit-suffixed parts of one evaluated point: die area split, package / server cost parts,
    memory, mapping and the §9 TCO components (all servers). Read by :mod:`llmhw.report.breakdown`."""
    srv = system.server
    pkg, chip = srv.package, srv.package.chip
    ns = system.num_servers
    out: dict[str, float | str] = {
        "chip_sram_area_mm2": chip.sram_area_mm2, "chip_mac_area_mm2": chip.mac_area_mm2,
        "chip_other_area_mm2": chip.area_mm2 - chip.sram_area_mm2 - chip.mac_area_mm2,
        "chip_dies_per_wafer": chip.dies_per_wafer, "chip_power_density_w_per_mm2": chip.power_density_w_per_mm2,
        "chip_sram_bytes": chip.sram_bytes,
        "chip_perf_flops": chip.perf_flops,
        "pkg_chips_usd": pkg.num_chips * chip.cost_usd, "pkg_substrate_usd": pkg.substrate_cost_usd,
        "pkg_wasted_chips_usd": pkg.wasted_chips_cost_usd,
        "pkg_memory_usd": pkg.cost_usd - pkg.num_chips * chip.cost_usd - pkg.substrate_cost_usd
        - pkg.wasted_chips_cost_usd,
        "pkg_hbm_stacks": pkg.num_hbm_stacks, "pkg_memory_bytes": pkg.total_mem_bytes,
        "srv_packages_usd": srv.cost_packages_usd, "srv_heatsinks_usd": srv.cost_heatsinks_usd,
        "srv_dcdc_usd": srv.cost_dcdc_usd, "srv_psu_usd": srv.cost_psu_usd, "srv_fans_usd": srv.cost_fans_usd,
        "srv_ethernet_usd": srv.cost_ethernet_usd, "srv_system_usd": srv.cost_system_usd,
        "srv_packages": srv.num_packages, "sys_servers": ns, "sys_chips": system.num_chips,
        # docs/models.md §M4: bits per weight / activation / KV number in force
        "sys_weight_bits": system.weight_bytes_per_number * 8, "sys_act_bits": system.act_bytes_per_number * 8,
        "sys_kv_bits": system.kv_bytes_per_number * 8,
    }
    if perf is not None:
        m = perf.mapping
        out.update({"map_chips_per_stage": m.t, "map_stages": m.p, "map_micro_batch": m.micro_batch,
                    "map_prefill_micro_batch": m.prefill_micro_batch, "map_expert_parallel": m.e})
        for k in ("srv_amortization", "srv_interest", "srv_opex", "srv_power", "pue_overhead",
                  "dc_amortization", "dc_interest", "dc_opex"):
            out[f"tco_{k}_usd"] = getattr(perf.tco, k) * ns
    return out


def markdown_table() -> str:
    """docs/metrics.md, generated from :data:`REGISTRY`."""
    lines = ["# Metrics", "",
             "Generated from `llmhw/metrics.py` (`python -m llmhw.metrics > docs/metrics.md`); do not edit by hand.",
             "Every metric can be an objective (`--objectives`), is stored on every trial and shown by the report.",
             "`grid` names the field of the grid driver that ranks mappings for `mapping: best` (else the",
             "single-point loop is used). `sweep` marks the metrics the grid gives exactly for every mapping",
             "(`grid_value`): the mapping sweep (docs/search.md) runs when every objective and limit has one.", "",
             "| metric | direction | unit | description | grid | sweep |", "| --- | --- | --- | --- | --- | --- |"]
    for m in REGISTRY:
        lines.append(f"| `{m.name}` | {m.direction} | {m.unit} | {m.description} | {m.grid_field or ''} | "
                     f"{'yes' if m.grid_value is not None else ''} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
