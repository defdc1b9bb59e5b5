"""Server (model.md §8): lanes of packages, heatsink, checks, TDP, cost and TCO at TDP."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from .constants import Constants
from .heatsink import Heatsink, design_heatsink
from .io import IOLink, build_io
from ..values import Checked, get_or_default, is_set
from .package import Package
from .tco import TCO, tco


@dataclass(frozen=True)
class Server(Checked):
    package: Package
    heatsink: Heatsink
    io: IOLink
    num_lanes: int
    packages_per_lane: int
    num_packages: int
    num_chips: int
    lane_area_mm2: float
    raw_power_w: float
    perf_flops: float
    sram_bytes: float
    dram_bytes: float
    total_mem_bytes: float
    core_tdp_w: float
    other_tdp_w: float
    tdp_w: float
    dcdc_current_a: float
    cost_dcdc_usd: float
    cost_psu_usd: float
    cost_packages_usd: float
    cost_heatsinks_usd: float
    cost_fans_usd: float
    cost_ethernet_usd: float
    cost_system_usd: float
    cost_usd: float
    tco: TCO
    thermal_eval: bool

    @property
    def chip(self):
        return self.package.chip

    @property
    def tops(self) -> float:
        return self.perf_flops / 1e12

    @property
    def sram_mb(self) -> float:
        return self.sram_bytes / 1e6


def build_server(cfg: Mapping[str, Any], package: Package, k: Constants, heatsink_guard: bool = True) -> Server:
    """§8: ``num_lanes`` lanes of ``packages_per_lane`` packages, one heatsink per package (§7)."""
    ks = k.server
    violations: dict[str, float] = {}
    reasons: list[str] = []
    N = cfg["packages_per_lane"]
    num_lanes = get_or_default(cfg, "num_lanes", 8)
    thermal_eval = bool(get_or_default(cfg, "thermal_eval", True))
    side = package.heatsource_mm

    lane_area = side * side * N
    violations["srv_lane_area_mm2"] = max(lane_area - ks["LaneAreaMax"], ks["LaneAreaMin"] - lane_area)
    if lane_area > ks["LaneAreaMax"] or lane_area < ks["LaneAreaMin"]:
        reasons.append(f"lane area {lane_area:.6g} mm² outside [{ks['LaneAreaMin']}, {ks['LaneAreaMax']}]")
    num_packages = num_lanes * N
    num_chips = num_packages * package.num_chips
    p_raw = num_packages * package.tdp_w
    hs = design_heatsink(side, N, heatsink_guard)
    if thermal_eval:
        factor = get_or_default(cfg, "package_max_power_factor", 1.0)
        limit = cfg.get("custom_max_power")
        limit = limit if is_set(limit) else ks["SrvMaxPower"]
        violations["srv_heatsink_mm"] = hs.violation_mm if not hs.valid else 0.0
        violations["srv_package_power_w"] = package.tdp_w - hs.max_power_w * factor
        violations["srv_power_w"] = p_raw - limit
        if not hs.valid:
            reasons.append(f"no heatsink: {hs.reason}")
        elif hs.max_power_w * factor < package.tdp_w:
            reasons.append(f"heatsink cools {hs.max_power_w * factor:.5g} W < package TDP {package.tdp_w:.5g} W")
        if p_raw > limit:
            reasons.append(f"server package power {p_raw:.6g} W > {limit} W")

    perf = num_packages * package.perf_flops
    sram = num_packages * package.sram_bytes
    dram = num_packages * package.dram_bytes
    core_tdp = p_raw / ks["DCDCEfficiency"] / ks["PSUEfficiency"]
    other_tdp = (ks["FanPower"] * num_lanes + ks["APPPower"]) / ks["DCDCEfficiency"] / ks["PSUEfficiency"]
    tdp = core_tdp + other_tdp

    chip = package.chip
    current = ks["APPPower"] / 1.0 + (chip.core_tdp_w / chip.vdd_v) * num_chips
    if package.vault is not None:
        current += (package.num_vaults_per_chip * package.vault.tdp_w / package.vault.vdd_v) * num_chips
    elif package.hbm is not None:
        current += (package.num_hbm_stacks * package.hbm.tdp_w / package.hbm.vdd_v) * num_packages
    cost_dcdc = min(ks["DCDCCostPerAmp"] * current, ks["MaxDCDCCost"])
    cost_psu = min(tdp * ks["PSUCostPerW"], ks["MaxPSUCost"])
    cost_pkgs = package.cost_usd * num_packages
    cost_hs = hs.cost_usd * num_packages
    cost_fans = ks["FanCost"] * num_lanes
    cost_eth = ks["EthernetCost"]
    cost_system = 2 * ks["PCBCost"] + ks["PCBPartsCost"] + ks["ChassisCost"]
    # Summation order as in the reference (fixed parts first): it decides the last bit of the total.
    cost = cost_system + cost_fans + cost_eth + cost_dcdc + cost_psu + cost_hs + cost_pkgs
    return Server(
        package=package, heatsink=hs, io=build_io(cfg["io"]), num_lanes=num_lanes, packages_per_lane=N,
        num_packages=num_packages, num_chips=num_chips, lane_area_mm2=lane_area, raw_power_w=p_raw,
        perf_flops=perf, sram_bytes=sram, dram_bytes=dram, total_mem_bytes=sram + dram, core_tdp_w=core_tdp,
        other_tdp_w=other_tdp, tdp_w=tdp, dcdc_current_a=current, cost_dcdc_usd=cost_dcdc,
        cost_psu_usd=cost_psu, cost_packages_usd=cost_pkgs, cost_heatsinks_usd=cost_hs,
        cost_fans_usd=cost_fans, cost_ethernet_usd=cost_eth, cost_system_usd=cost_system, cost_usd=cost,
        tco=tco(tdp, cost, ks["SrvLife"], k.tco), thermal_eval=thermal_eval,
        violations=violations, reasons=tuple(reasons),
    )
