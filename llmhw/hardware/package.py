"""Package (model.md §6): memory attachment, aggregation, placement checks, heat source and cost."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from .chip import Chip
from .constants import Constants
from .io import IOLink
from ..values import Checked, get_or_default, is_set
from .memory import HBMStack, Vault3D, build_hbm, build_vault
from .wafer import dies_per_wafer, negative_binomial_yield

HEAT_SOURCE_MARGIN = 1.2            # §6.5: heat-source side = footprint × 1.2
INTERPOSER_WAFER_DIAMETER_MM = 300  # §6.6 / §16.1 #22: hard-coded for the interposer DPW
INTERPOSER_DICING_GAP_MM = 0.1


@dataclass(frozen=True)
class Package(Checked):
    chip: Chip
    num_chips: int
    hbm: HBMStack | None
    vault: Vault3D | None
    num_hbm_stacks: int
    num_vaults_per_chip: int
    si: bool
    link: IOLink
    perf_flops: float
    tdp_w: float
    sram_bytes: float
    dram_bytes: float
    dram_bw_per_chip_bytes_per_s: float
    total_mem_bytes: float
    total_die_area_mm2: float
    area_mm2: float
    heatsource_mm: float
    power_density_w_per_mm2: float
    substrate_cost_usd: float
    wasted_chips_cost_usd: float
    cost_usd: float
    thermal_eval: bool

    @property
    def tops(self) -> float:
        return self.num_chips * self.chip.tops

    @property
    def sram_mb(self) -> float:
        return self.num_chips * self.chip.sram_mb

    @property
    def dram_gb(self) -> float:
        return self.dram_bytes / 1e9

    @property
    def dram_bw_tb_per_s(self) -> float:
        return self.dram_bw_per_chip_bytes_per_s * self.num_chips / 1e12


def _substrate_cost(area: float, n: int, chip_cost: float, si: bool, kp: Mapping[str, Any],
                    layer_factors: tuple[tuple[float, float], ...]) -> tuple[float, float]:
    """§6.6: (substrate cost, wasted-chips cost) for a silicon interposer (chip-last) or organic package."""
    if si:
        c_os = kp["os_cost_per_mm2"] * area
        dpw = dies_per_wafer(area, INTERPOSER_WAFER_DIAMETER_MM, INTERPOSER_DICING_GAP_MM)
        c_si = kp["si_wafer_cost"] / dpw if dpw > 0 else math.inf  # an interposer larger than its wafer
        c_c4 = kp["c4_bump_cost_per_mm2"] * area
        y_si = negative_binomial_yield(area, kp["si_D0"], kp["si_alpha"])
        y_b = kp["si_bonding_yield"] ** n
        if y_si > 0 and y_b > 0:
            substrate = (c_si + c_c4) / y_si / y_b / kp["os_bonding_yield"] + c_os / kp["os_bonding_yield"]
        else:  # yields underflowing to 0 (absurd sizes or counts): no finite cost
            substrate = math.inf
        wasted = n * chip_cost * (1 / y_b / kp["os_bonding_yield"] - 1) if y_b > 0 else math.inf
    else:
        f = 1
        if n != 1:
            f = next((factor for threshold, factor in layer_factors if area > threshold), 1)
        y_b = kp["os_bonding_yield"] ** n
        substrate = area * kp["os_cost_per_mm2"] * f / y_b if y_b > 0 else math.inf
        wasted = n * chip_cost * (1 / y_b - 1) if y_b > 0 else math.inf
    return substrate, wasted


def build_package(cfg: Mapping[str, Any], chip: Chip, k: Constants) -> Package:
    """§6: one package of ``num_chips`` copies of ``chip`` with its HBM stacks or 3D vaults."""
    kp = k.package
    n = cfg["num_chips"]
    violations: dict[str, float] = {}
    reasons: list[str] = []
    hbm = build_hbm(cfg["hbm"]) if is_set(cfg.get("hbm")) else None
    vault = build_vault(cfg["mem_3d"]) if is_set(cfg.get("mem_3d")) else None

    S = 0
    if chip.hbm_channels > 0:
        if hbm is None:
            raise ValueError("chip has hbm_channels > 0 but the package defines no hbm stack")
        si = True
        S = n * (chip.hbm_channels // hbm.num_channels)
    elif n == 1:
        si = False
    else:
        si = bool(cfg.get("si") or False)
    V = chip.mem_3d_vaults
    if V > 0 and vault is None:
        raise ValueError("chip has mem_3d_vaults > 0 but the package defines no mem_3d vault")

    link = chip.pkg2pkg_io.scaled(n)
    perf = n * chip.perf_flops
    tdp = n * chip.tdp_w
    sram = n * chip.sram_bytes
    if V > 0 and vault.is_sram:
        tdp += n * V * vault.tdp_w
        sram += n * V * vault.cap_bytes
        dram, dram_bw_per_chip = 0, 0
    elif V > 0:
        tdp += n * V * vault.tdp_w
        dram = n * V * vault.cap_bytes
        dram_bw_per_chip = V * vault.bw_bytes_per_s
    elif S > 0:
        tdp += S * hbm.tdp_w
        dram = S * hbm.cap_bytes
        dram_bw_per_chip = S * hbm.bw_bytes_per_s / n
    else:
        dram, dram_bw_per_chip = 0, 0
    total_mem = sram + dram

    total_die_area = n * chip.area_mm2 + (S * hbm.area_mm2 if hbm is not None else 0)
    area = total_die_area * (kp["si_area_scale_factor"] if si else kp["os_area_scale_factor"])

    # §6.5 placement checks and heat source
    if V > 0:
        violations["pkg_vault_area_mm2"] = V * vault.area_mm2 - chip.area_mm2
        if V * vault.area_mm2 > chip.area_mm2:
            reasons.append(f"{V} vaults of {vault.area_mm2} mm² exceed the die ({chip.area_mm2:.6g} mm²)")
        if chip.mem_3d_vault_tsvs is not None:
            mismatch = abs(chip.mem_3d_vault_tsvs - (vault.tsvs or 0))
            violations["pkg_vault_tsv_mismatch"] = mismatch
            if chip.mem_3d_vault_tsvs != vault.tsvs:
                reasons.append(f"chip has {chip.mem_3d_vault_tsvs} TSVs per vault, the vault {vault.tsvs}")
    if S > 0:
        L_c, s_c = max(chip.x_mm, chip.y_mm), min(chip.x_mm, chip.y_mm)
        L_h, s_h = max(hbm.x_mm, hbm.y_mm), min(hbm.x_mm, hbm.y_mm)
        S_max = 2 * math.ceil(L_c / L_h) * n
        violations["pkg_hbm_stacks"] = S - S_max
        if S > S_max:
            reasons.append(f"{S} HBM stacks do not fit beside the die (at most {S_max})")
        if S > S_max / 2:
            k_row = math.ceil(S / n / 2)
            A1 = max(L_c, k_row * L_h)
            A2 = s_c + 2 * s_h
        else:
            k_row = math.ceil(S / n)
            A1 = max(L_c, k_row * L_h)
            A2 = s_c + s_h
        side = max(A1, A2) * math.floor(math.sqrt(n)) * HEAT_SOURCE_MARGIN
    else:
        violations["pkg_die_area_mm2"] = total_die_area - kp["max_die_area"]
        if total_die_area > kp["max_die_area"]:
            reasons.append(f"total die area {total_die_area:.6g} mm² > {kp['max_die_area']}")
        side = max(chip.x_mm, chip.y_mm) * math.ceil(math.sqrt(n)) * HEAT_SOURCE_MARGIN
    pd = tdp / (side * side)
    limit = cfg.get("custom_max_power_density")
    limit = limit if is_set(limit) else kp["max_power_density"]
    thermal_eval = bool(get_or_default(cfg, "thermal_eval", True))
    if thermal_eval:
        violations["pkg_power_density_w_per_mm2"] = pd - limit
        if pd > limit:
            reasons.append(f"package power density {pd:.4g} W/mm² > {limit}")

    substrate, wasted = _substrate_cost(area, n, chip.cost_usd, si, kp, k.os_layer_scale_factor)
    cost = n * chip.cost_usd
    if hbm is not None:
        cost = cost + S * hbm.cost_usd
    if vault is not None:
        cost = cost + n * V * vault.cost_usd
    cost = cost + substrate + wasted
    return Package(
        chip=chip, num_chips=n, hbm=hbm, vault=vault, num_hbm_stacks=S, num_vaults_per_chip=V, si=si,
        link=link, perf_flops=perf, tdp_w=tdp, sram_bytes=sram, dram_bytes=dram,
        dram_bw_per_chip_bytes_per_s=dram_bw_per_chip, total_mem_bytes=total_mem,
        total_die_area_mm2=total_die_area, area_mm2=area, heatsource_mm=side, power_density_w_per_mm2=pd,
        substrate_cost_usd=substrate, wasted_chips_cost_usd=wasted, cost_usd=cost, thermal_eval=thermal_eval,
        violations=violations, reasons=tuple(reasons),
    )
