"""Chip (model.md §3): area, TDP, geometry, yield and cost, in both definition modes."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from .constants import Constants
from .io import IOLink, build_io
from ..values import Checked, get_or_default, is_set
from .wafer import dies_per_wafer, negative_binomial_yield

MIN_AVAIL_AREA_MM2 = 0.1  # §3.3 mode B: below this the die is too small


@dataclass(frozen=True)
class Chip(Checked):
    """An evaluated chip. ``valid`` is False when any §3 check fails; ``violations`` give the amounts."""

    chip_id: Any
    dataflow: str
    freq_hz: float
    area_mm2: float
    sram_mb: float
    sram_bytes: float
    sram_bw_bytes_per_s: float
    sram_area_mm2: float
    mac_area_mm2: float
    perf_flops: float
    core_tdp_w: float
    tdp_w: float
    power_density_w_per_mm2: float
    x_mm: float
    y_mm: float
    sa_width: int
    num_sa: int
    acc_depth: float
    die_yield: float
    dies_per_wafer: int
    cost_usd: float
    vdd_v: float
    hbm_channels: int
    mem_3d_vaults: int
    mem_3d_vault_tsvs: int | None
    pkg2pkg_io: IOLink
    chip2chip_io: IOLink | None
    perf_scale_8bit: float = 2.0     # docs/models.md §M4: 8-bit dense rate / 16-bit rate (H100 FP8: 2×)
    perf_scale_4bit: float = 4.0     # 4-bit dense rate / 16-bit rate (B200 FP4: 4×; H100 has none: 2×)

    def perf_scale(self, bits):
        """Peak-rate multiplier of a compute precision (eq. M4.2): 1 at ≥ 16 bits, ``perf_scale_8bit``
        at 8, ``perf_scale_4bit`` at 4 (numbers or numpy arrays of bits)."""
        import numpy as np
        if isinstance(bits, np.ndarray):
            return np.where(bits <= 4, self.perf_scale_4bit, np.where(bits <= 8, self.perf_scale_8bit, 1.0))
        return self.perf_scale_4bit if bits <= 4 else self.perf_scale_8bit if bits <= 8 else 1.0

    @property
    def tops(self) -> float:
        return self.perf_flops / 1e12

    @property
    def sram_bw_tb_per_s(self) -> float:
        return self.sram_bw_bytes_per_s / 1e12

    @property
    def sram_density_mb_per_mm2(self) -> float:
        return self.sram_mb / self.sram_area_mm2 if self.sram_area_mm2 else float("nan")



def other_area_mm2(cfg: Mapping[str, Any], k: Constants) -> float:
    """§3.2 other_eff: other area + HBM PHY/controllers + 3D-vault TSV/controller/test area."""
    kc = k.chip
    vaults = get_or_default(cfg, "mem_3d_vaults", 0)
    tsvs = cfg.get("mem_3d_vault_tsvs")
    other = get_or_default(cfg, "other_area", 0) + get_or_default(cfg, "hbm_channels", 0) * kc["hbm_phy_ctrl_area_per_channel"]
    if tsvs is not None:
        other = other + vaults * (tsvs * kc["mem_3d_area_per_tsv"] + kc["mem_3d_ctrl_area_per_vault"])
    else:
        other = other + vaults * kc["mem_3d_tsv_ctrl_area_per_vault"]
    if vaults > 0:
        other = other + vaults * kc["mem_3d_test_area_per_vault"]
    return other


def build_chip(cfg: Mapping[str, Any], k: Constants, default_id: Any = 0) -> Chip:
    """§3: build one chip from a concrete (expanded) Chip configuration.

    Mode A (perf and sram set) derives the area; mode B (area and mac_ratio set) derives perf and SRAM.
    Checks (§3.4, §18): die area ≤ Chip.max_die_area; power density ≤ Chip.max_power_density when the
    chip's thermal_eval is on; mode B needs ≥ 0.1 mm² for MACs and SRAM.
    """
    kc = k.chip
    violations: dict[str, float] = {}
    reasons: list[str] = []
    pkg2pkg = build_io(cfg["pkg2pkg_io"])
    c2c = build_io(cfg["chip2chip_io"]) if is_set(cfg.get("chip2chip_io")) else None
    io_area = pkg2pkg.area_mm2 + (c2c.area_mm2 if c2c is not None else 0)
    other_eff = other_area_mm2(cfg, k)
    macs_density = get_or_default(cfg, "macs_density", kc["macs_density"])
    w_per_tops = get_or_default(cfg, "w_per_tops", kc["w_per_tops"])
    core_area_ratio = get_or_default(cfg, "core_area_ratio", 0.7)
    padring = kc["padring_width"]

    sram_cfg = cfg.get("sram")
    no_sram = (is_set(cfg.get("perf")) and isinstance(sram_cfg, (int, float))
               and not isinstance(sram_cfg, bool) and sram_cfg == 0)
    if is_set(cfg.get("perf")) and (is_set(sram_cfg) or no_sram):   # mode A
        perf, sram = cfg["perf"], cfg["sram"]
        if no_sram:  # degenerate: scored with a violation (the reference, taking 0 as unset, crashes)
            violations["chip_sram_mb"] = 1.0
            reasons.append("no SRAM (sram = 0)")
        sram_mb = sram / 1e6
        sram_area = sram_mb * kc["sram_density"]
        mac_area = perf / 1e12 * macs_density
        core_area = (sram_area + mac_area + io_area + other_eff) / core_area_ratio
        area = (math.sqrt(core_area) + padring) ** 2
        sram_bw = cfg["sram_bw"]
    elif is_set(cfg.get("area")) and is_set(cfg.get("mac_ratio")):   # mode B
        area = cfg["area"]
        core_area = (math.sqrt(area) - padring) ** 2
        avail = core_area * core_area_ratio - io_area - other_eff
        if avail < MIN_AVAIL_AREA_MM2:
            violations["chip_avail_area_mm2"] = MIN_AVAIL_AREA_MM2 - avail
            reasons.append(f"die too small: {avail:.4g} mm² left for MACs and SRAM (< 0.1)")
            avail = MIN_AVAIL_AREA_MM2  # continue with the smallest buildable die so every metric is finite
        sram_area = avail * (1 - cfg["mac_ratio"])
        mac_area = avail - sram_area
        perf = mac_area / macs_density * 1e12
        sram_bw = perf / 2 / cfg["operational_intensity"] * get_or_default(cfg, "bytes_per_word", 2)
        sram_mb = sram_area / kc["sram_density"]
        if not is_set(sram_mb):
            violations["chip_sram_mb"] = 1.0
            reasons.append("no SRAM left (sram_mb = 0)")
        sram = sram_mb * 1e6
    else:
        raise ValueError("chip defines neither (perf, sram) nor (area, mac_ratio)")

    if area > kc["max_die_area"]:
        reasons.append(f"die area {area:.6g} mm² > max_die_area {kc['max_die_area']}")
    violations["chip_die_area_mm2"] = area - kc["max_die_area"]
    core_tdp = perf / 1e12 * w_per_tops
    tdp = core_tdp + pkg2pkg.tdp_w
    power_density = tdp / area
    if get_or_default(cfg, "thermal_eval", True):
        violations["chip_power_density_w_per_mm2"] = power_density - kc["max_power_density"]
        if power_density > kc["max_power_density"]:
            reasons.append(f"chip power density {power_density:.4g} W/mm² > {kc['max_power_density']}")

    freq = get_or_default(cfg, "freq", 1e9)
    num_sa = get_or_default(cfg, "num_sa", 1)
    side = math.sqrt(area)
    sa_width = math.floor(math.sqrt(math.floor(perf / freq / 2) / num_sa))
    die_yield = negative_binomial_yield(area, kc["D0"], kc["alpha"])
    dpw = dies_per_wafer(area, kc["wafer_diameter"], kc["wafer_dicing_gap"])
    die_cost = kc["wafer_cost"] / dpw / die_yield if dpw > 0 else float("inf")
    if dpw <= 0:
        reasons.append("die does not fit on the wafer")
    cost = die_cost + die_cost * kc["testing_cost_overhead"]
    chip_id = cfg.get("chip_id")
    return Chip(
        chip_id=default_id if chip_id is None else chip_id, dataflow=cfg["dataflow"], freq_hz=freq,
        area_mm2=area, sram_mb=sram_mb, sram_bytes=sram, sram_bw_bytes_per_s=sram_bw,
        sram_area_mm2=sram_area, mac_area_mm2=mac_area, perf_flops=perf, core_tdp_w=core_tdp, tdp_w=tdp,
        power_density_w_per_mm2=power_density, x_mm=side, y_mm=side, sa_width=sa_width, num_sa=num_sa,
        acc_depth=get_or_default(cfg, "acc_depth", 10 ** 100), die_yield=die_yield, dies_per_wafer=dpw,
        cost_usd=cost, vdd_v=get_or_default(cfg, "vdd", 0.8), hbm_channels=get_or_default(cfg, "hbm_channels", 0),
        mem_3d_vaults=get_or_default(cfg, "mem_3d_vaults", 0), mem_3d_vault_tsvs=cfg.get("mem_3d_vault_tsvs"),
        pkg2pkg_io=pkg2pkg, chip2chip_io=c2c, violations=violations, reasons=tuple(reasons),
        perf_scale_8bit=get_or_default(cfg, "perf_scale_8bit", 2.0),
        perf_scale_4bit=get_or_default(cfg, "perf_scale_4bit", 4.0),
    )
