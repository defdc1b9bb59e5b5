"""The hardware table (model.md §15.1): one row per valid server."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:   # the CLI reads TABLE_FORMATS for its parser without building anything
    from ..hardware.server import Server

PKG_COLUMNS = ("pkg_num_chips", "pkg_tops", "pkg_sram_mb", "pkg_tdp", "pkg_dram_gb", "pkg_dram_bw_TB_per_sec")
FULL_COLUMNS = (
    "chip_area", "chip_sram_mb", "chip_tops", "chip_sram_bw_TB_per_sec", "chip_sram_area", "chip_mac_area",
    "chip_tdp", "chip_cost", *PKG_COLUMNS, "srv_num_packages", "srv_sram_mb", "srv_tdp", "srv_tops",
    "srv_cost", "tco_total", "tco_dc_amortization", "tco_dc_interest", "tco_dc_opex", "tco_srv_amortization",
    "tco_srv_interest", "tco_srv_opex", "tco_srv_power", "tco_pue_overhead", "cost_per_tops",
    "watts_per_tops", "tco_per_tops", "sram_density", "die_yield", "sparse_weight", "chip_id",
)
LEGACY_COLUMNS = tuple(c for c in FULL_COLUMNS if c not in PKG_COLUMNS)
TABLE_FORMATS = {"full": FULL_COLUMNS, "legacy": LEGACY_COLUMNS}


def hardware_row(s: Server) -> dict[str, Any]:
    """§15.1 values of one valid server, by column name."""
    c, p, t = s.package.chip, s.package, s.tco
    return {
        "chip_area": c.area_mm2, "chip_sram_mb": c.sram_mb, "chip_tops": c.tops,
        "chip_sram_bw_TB_per_sec": c.sram_bw_tb_per_s, "chip_sram_area": c.sram_area_mm2,
        "chip_mac_area": c.mac_area_mm2, "chip_tdp": c.tdp_w, "chip_cost": c.cost_usd,
        "pkg_num_chips": p.num_chips, "pkg_tops": p.tops, "pkg_sram_mb": p.sram_mb, "pkg_tdp": p.tdp_w,
        "pkg_dram_gb": p.dram_gb, "pkg_dram_bw_TB_per_sec": p.dram_bw_tb_per_s,
        "srv_num_packages": s.num_packages, "srv_sram_mb": s.sram_mb, "srv_tdp": s.tdp_w, "srv_tops": s.tops,
        "srv_cost": s.cost_usd, "tco_total": t.total, "tco_dc_amortization": t.dc_amortization,
        "tco_dc_interest": t.dc_interest, "tco_dc_opex": t.dc_opex, "tco_srv_amortization": t.srv_amortization,
        "tco_srv_interest": t.srv_interest, "tco_srv_opex": t.srv_opex, "tco_srv_power": t.srv_power,
        "tco_pue_overhead": t.pue_overhead, "cost_per_tops": s.cost_usd / s.tops,
        "watts_per_tops": s.tdp_w / s.tops, "tco_per_tops": t.total / s.tops,
        "sram_density": c.sram_density_mb_per_mm2, "die_yield": c.die_yield, "sparse_weight": False,
        "chip_id": c.chip_id,
    }
