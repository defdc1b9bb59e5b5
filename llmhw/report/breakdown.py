"""The full breakdown of one design: area, yield, cost, power, TCO components, latency split, bottleneck.

A trial stores every metric and the flat design (``llmhw.search.outcome``), which covers most of a
breakdown. The finer parts (die area split, package and server cost components, the §9 TCO
components) live in the evaluator's objects, so the design is re-evaluated with
:class:`llmhw.evaluate.Problem` from the study's stored input texts. If that is impossible (a study
made by another tool, or inputs the current code rejects), the stored attributes are shown alone and
the breakdown says so; if the re-evaluation disagrees with the stored objective values (the
evaluator changed since the study ran), the stored values are kept and the difference is reported.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

from optuna.trial import FrozenTrial

from llmhw.metrics import BY_NAME, METRICS, REGISTRY

from .data import StudyData, attr_float

#: (section, label, key, unit). Keys: metric names, ``design.<key>``, ``dim.<name>`` or the
#: re-evaluation's extra keys (``x.<...>``). Rows whose key has no value are left out.
ROWS: list[tuple[str, str, str, str]] = [
    ("design", "chip id", "design.chip_id", ""),
    ("design", "servers × chips", "x.servers_chips", ""),
    ("design", "mapping t × p (chips per stage × stages)", "x.mapping", ""),
    ("design", "micro-batch decode / prefill", "x.micro_batches", ""),
    ("chip", "die area", "chip_area_mm2", "mm²"),
    ("chip", "  SRAM", "x.chip.sram_area_mm2", "mm²"),
    ("chip", "  MAC arrays", "x.chip.mac_area_mm2", "mm²"),
    ("chip", "  other (IO, control)", "x.chip.other_area_mm2", "mm²"),
    ("chip", "die yield", "die_yield", "-"),
    ("chip", "dies per wafer", "x.chip.dies_per_wafer", "int"),
    ("chip", "die cost (incl. test)", "chip_cost_usd", "$"),
    ("chip", "chip TDP", "chip_tdp_w", "W"),
    ("chip", "power density", "x.chip.power_density", "W/mm²"),
    ("package", "package cost", "package_cost_usd", "$"),
    ("package", "  chips", "x.pkg.chips_usd", "$"),
    ("package", "  memory (HBM / 3D DRAM)", "x.pkg.memory_usd", "$"),
    ("package", "  substrate / interposer", "x.pkg.substrate_usd", "$"),
    ("package", "  chips lost in assembly", "x.pkg.wasted_usd", "$"),
    ("package", "HBM stacks", "x.pkg.hbm_stacks", "int"),
    ("package", "package TDP", "package_tdp_w", "W"),
    ("server", "server cost", "server_cost_usd", "$"),
    ("server", "  packages", "x.srv.packages_usd", "$"),
    ("server", "  heatsinks", "x.srv.heatsinks_usd", "$"),
    ("server", "  DC-DC", "x.srv.dcdc_usd", "$"),
    ("server", "  PSU", "x.srv.psu_usd", "$"),
    ("server", "  fans", "x.srv.fans_usd", "$"),
    ("server", "  ethernet", "x.srv.ethernet_usd", "$"),
    ("server", "  chassis and board", "x.srv.system_usd", "$"),
    ("server", "server TDP", "server_tdp_w", "W"),
    ("server", "heatsink capacity per package", "heatsink_max_power_w", "W"),
    ("system", "system cost", "system_cost_usd", "$"),
    ("system", "system TDP", "system_tdp_w", "W"),
    ("system", "peak compute", "system_perf_flops", "FLOP/s"),
    ("system", "memory", "system_memory_bytes", "bytes"),
    ("power", "average power (prefill + decode)", "power_w", "W"),
    ("power", "  during prefill", "prefill_power_w", "W"),
    ("power", "  during decode", "decode_power_w", "W"),
    ("power", "energy per generated token", "energy_per_token_j", "J/token"),
    ("TCO", "TCO per Mtoken (generated)", "tco_per_mtoken_usd", "$/Mtoken"),
    ("TCO", "TCO per prompt token", "prefill_tco_per_token_usd", "$/token"),
    ("TCO", "capex, all servers over their life", "capex_usd", "$"),
    ("TCO", "  server purchase", "x.tco.srv_amortization", "$"),
    ("TCO", "  server loan interest", "x.tco.srv_interest", "$"),
    ("TCO", "  server opex (maintenance)", "x.tco.srv_opex", "$"),
    ("TCO", "opex (power-driven), all servers", "opex_usd", "$"),
    ("TCO", "  electricity", "x.tco.srv_power", "$"),
    ("TCO", "  PUE overhead", "x.tco.pue_overhead", "$"),
    ("TCO", "  datacenter capex (amortised)", "x.tco.dc_amortization", "$"),
    ("TCO", "  datacenter loan interest", "x.tco.dc_interest", "$"),
    ("TCO", "  datacenter opex", "x.tco.dc_opex", "$"),
    ("latency", "TTFT (prefill of the batch)", "ttft_s", "s"),
    ("latency", "  compute", "prefill_compute_s", "s"),
    ("latency", "  memory", "prefill_mem_s", "s"),
    ("latency", "  interconnect", "prefill_io_s", "s"),
    ("latency", "  prefill bottleneck", "design.prefill_bottleneck", ""),
    ("latency", "decode latency (all output tokens)", "decode_latency_s", "s"),
    ("latency", "  compute", "decode_compute_s", "s"),
    ("latency", "  memory", "decode_mem_s", "s"),
    ("latency", "  interconnect", "decode_io_s", "s"),
    ("latency", "  decode bottleneck", "design.decode_bottleneck", ""),
    ("latency", "TPOT", "tpot_s", "s"),
    ("throughput", "throughput (generated)", "throughput_tok_per_s", "tokens/s"),
    ("throughput", "  per chip", "throughput_per_chip_tok_per_s", "tokens/s/chip"),
    ("throughput", "prefill throughput", "prefill_throughput_tok_per_s", "tokens/s"),
    ("throughput", "utilisation prefill / decode", "x.utilisation", ""),
]

# every registry metric is shown: those not placed above go to "other metrics"; metric units come from
# the registry
_PLACED = {r[2] for r in ROWS}
ROWS += [("other metrics", m.description, m.name, m.unit) for m in REGISTRY if m.name not in _PLACED]
ROWS = [(sec, label, key, BY_NAME[key].unit if key in BY_NAME else unit) for sec, label, key, unit in ROWS]

#: latency rows shown with their share of the stage latency (key → total key).
SHARE_OF = {"prefill_compute_s": "ttft_s", "prefill_mem_s": "ttft_s", "prefill_io_s": "ttft_s",
            "decode_compute_s": "decode_latency_s", "decode_mem_s": "decode_latency_s",
            "decode_io_s": "decode_latency_s"}


@dataclass
class Breakdown:
    number: int
    values: dict[str, Any]
    source: str                       # 're-evaluated from the stored inputs' | 'stored attributes'
    notes: list[str] = field(default_factory=list)

    def get(self, key: str) -> Any:
        return self.values.get(key)

    def rows(self) -> list[tuple[str, str, str, str]]:
        return [r for r in ROWS if _present(self.values.get(r[2]))]


def _present(v: Any) -> bool:
    if v is None or v == "":
        return False
    if isinstance(v, float) and math.isnan(v):
        return False
    return True


def t_params(trial: FrozenTrial) -> dict[str, Any]:
    """The trial's parameters (the dimensions of a study not made by llmhw)."""
    return dict(trial.params)


def stored_values(trial: FrozenTrial) -> dict[str, Any]:
    """Metrics (as numbers), ``design.<key>`` and ``dim.<name>`` of a stored trial."""
    ua = trial.user_attrs
    out: dict[str, Any] = {}
    for k in METRICS:
        if k in ua:
            out[k] = attr_float(ua[k])
    for k, v in (ua.get("design") or {}).items():
        out[f"design.{k}"] = v
    for k, v in (ua.get("dims") or t_params(trial)).items():
        out[f"dim.{k}"] = v
    d = ua.get("design") or {}
    if "num_servers" in d and "num_chips" in ua:
        ns, chips = int(d["num_servers"]), int(attr_float(ua["num_chips"]))
        out["x.servers_chips"] = f"{ns} × {chips // max(1, ns)} = {chips}"
    if "t" in d and "p" in d:
        out["x.mapping"] = f"{d['t']} × {d['p']}"
    if "micro_batch" in d and "prefill_micro_batch" in d:
        out["x.micro_batches"] = f"{d['micro_batch']} / {d['prefill_micro_batch']}"
    if "prefill_utilization" in out and "decode_utilization" in out:
        out["x.utilisation"] = f"{out['prefill_utilization'] * 100:.3g} % / {out['decode_utilization'] * 100:.3g} %"
    return out


#: report key → key of ``Result.breakdown`` (:func:`llmhw.metrics.breakdown`).
_FROM_DOOR = {
    "x.chip.sram_area_mm2": "chip_sram_area_mm2", "x.chip.mac_area_mm2": "chip_mac_area_mm2",
    "x.chip.other_area_mm2": "chip_other_area_mm2", "x.chip.dies_per_wafer": "chip_dies_per_wafer",
    "x.chip.power_density": "chip_power_density_w_per_mm2", "x.pkg.chips_usd": "pkg_chips_usd",
    "x.pkg.substrate_usd": "pkg_substrate_usd", "x.pkg.wasted_usd": "pkg_wasted_chips_usd",
    "x.pkg.memory_usd": "pkg_memory_usd", "x.pkg.hbm_stacks": "pkg_hbm_stacks",
    "x.srv.packages_usd": "srv_packages_usd", "x.srv.heatsinks_usd": "srv_heatsinks_usd",
    "x.srv.dcdc_usd": "srv_dcdc_usd", "x.srv.psu_usd": "srv_psu_usd", "x.srv.fans_usd": "srv_fans_usd",
    "x.srv.ethernet_usd": "srv_ethernet_usd", "x.srv.system_usd": "srv_system_usd",
    **{f"x.tco.{k}": f"tco_{k}_usd" for k in ("srv_amortization", "srv_interest", "srv_opex", "srv_power",
                                              "pue_overhead", "dc_amortization", "dc_interest", "dc_opex")},
}


def _evaluated_values(result: Any) -> dict[str, Any]:
    """The report's extra rows from the evaluator's door (``Result.breakdown``)."""
    parts = result.breakdown
    return {key: parts[name] for key, name in _FROM_DOOR.items() if name in parts}


class Evaluator:
    """Re-evaluates stored trials of an llmhw study from its stored inputs (built once, lazily)."""

    def __init__(self, data: StudyData):
        self.data = data
        self._built: tuple[Any, Any] | None = None
        self.error: str = ""

    def _build(self) -> tuple[Any, Any] | None:
        if self._built is None and not self.error:
            if not self.data.is_llmhw:
                self.error = "not an llmhw study (no stored inputs)"
                return None
            try:
                from llmhw.evaluate import Problem
                from llmhw.search.study import StudyInputs, build_setup
                setup = build_setup(StudyInputs.from_identity(self.data.identity))
                problem = Problem(setup.hw, setup.system, setup.model, setup.constants, setup.fidelity)
                self._built = (setup, problem)
            except Exception as exc:  # noqa: BLE001 - report, fall back to the stored attributes
                self.error = f"cannot rebuild the study's inputs ({type(exc).__name__}: {exc})"
        return self._built

    def breakdown(self, trial: FrozenTrial) -> Breakdown:
        values = stored_values(trial)
        for o, v in zip(self.data.objectives, trial.values or ()):
            values.setdefault(o.name, v)
        built = self._build()
        if built is None:
            return Breakdown(trial.number, values, "stored attributes", [self.error] if self.error else [])
        setup, problem = built
        try:
            point = setup.space.point(trial.params)
            result = problem.evaluate(point)
        except Exception as exc:  # noqa: BLE001
            return Breakdown(trial.number, values, "stored attributes",
                             [f"re-evaluation failed ({type(exc).__name__}: {exc})"])
        notes = []
        for o in self.data.objectives:
            stored, now = values.get(o.name), float(result.metrics.get(o.name, math.nan))
            if stored is not None and not _close(stored, now):
                notes.append(f"{o.name}: stored {stored:.6g}, re-evaluated {now:.6g} (the evaluator changed "
                             "since the study ran; stored values shown)")
        extra = _evaluated_values(result)
        for k, v in result.metrics.items():
            values.setdefault(k, float(v))
        values.update(extra)
        return Breakdown(trial.number, values, "re-evaluated from the stored inputs", notes)


def _close(a: float, b: float) -> bool:
    if math.isnan(a) and math.isnan(b):
        return True
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-300)


def breakdowns(data: StudyData, numbers: Sequence[int]) -> list[Breakdown]:
    ev = Evaluator(data)
    return [ev.breakdown(data.trial(n)) for n in numbers]
