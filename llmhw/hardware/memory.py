"""Memory: HBM stack (model.md §5.1) and 3D memory vault (§5.2)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..values import get_or_default, is_set


@dataclass(frozen=True)
class HBMStack:
    """One HBM stack (§5.1)."""

    config: str
    cap_bytes: float
    bw_bytes_per_s: float
    tdp_w: float
    area_mm2: float
    x_mm: float
    y_mm: float
    cost_usd: float
    pj_per_byte: float
    vdd_v: float
    num_channels: int


def build_hbm(cfg: Mapping[str, Any]) -> HBMStack:
    """§5.1: cap = channel_bytes × num_channels; bw = bit_rate × width × channels / 8; tdp = bw × pJ/B × 1e-12."""
    pj = get_or_default(cfg, "pj_per_byte", 31.2)
    x = cfg.get("x", 7.75) or 7.75
    y = cfg.get("y", 11.87) or 11.87
    cap = cfg["channel_bytes"] * cfg["num_channels"]
    bw = cfg["bit_rate"] * cfg["channel_width"] * cfg["num_channels"] / 8
    tdp = bw * pj * 1e-12
    if is_set(cfg.get("stack_cost")):
        cost = cfg["stack_cost"]
    else:
        cost = cap / 1024 ** 3 * get_or_default(cfg, "cost_per_gb", 7.5)
    return HBMStack(config=str(cfg.get("config", "")), cap_bytes=cap, bw_bytes_per_s=bw, tdp_w=tdp,
                    area_mm2=x * y, x_mm=x, y_mm=y, cost_usd=cost, pj_per_byte=pj,
                    vdd_v=get_or_default(cfg, "vdd", 1.2), num_channels=cfg["num_channels"])


@dataclass(frozen=True)
class Vault3D:
    """One 3D memory vault stacked on the die (§5.2)."""

    mem_type: str
    is_sram: bool
    tsvs: int | None
    cap_bytes: float
    bw_bytes_per_s: float
    pj_per_byte: float
    tdp_w: float
    area_mm2: float
    cost_usd: float
    vdd_v: float


def build_vault(cfg: Mapping[str, Any]) -> Vault3D:
    """§5.2. SRAM is tested before DRAM in ``mem_type``."""
    mem_type = str(cfg["mem_type"])
    if "sram" in mem_type or "SRAM" in mem_type:
        is_sram = True
    elif "dram" in mem_type or "DRAM" in mem_type:
        is_sram = False
    else:
        raise ValueError(f"mem_type {mem_type!r} names neither SRAM nor DRAM")
    tsvs = cfg.get("tsvs")
    bit_rate = get_or_default(cfg, "bit_rate", 9.2e9)
    pj_per_bit = get_or_default(cfg, "pj_per_bit", 3.0)
    bw = tsvs * bit_rate / 8 if is_set(tsvs) and is_set(bit_rate) else 0.0
    pj_per_byte = 8 * pj_per_bit if is_set(pj_per_bit) else 0.0
    density, tsv_area = cfg.get("density"), cfg.get("tsv_area")
    if is_set(density) and is_set(tsvs) and is_set(tsv_area):
        layer_bytes = (cfg["layer_area"] - tsvs * tsv_area) * density
    else:
        layer_bytes = cfg.get("layer_bytes") or 0
    return Vault3D(mem_type=mem_type, is_sram=is_sram, tsvs=tsvs, cap_bytes=layer_bytes * cfg["num_layers"],
                   bw_bytes_per_s=bw, pj_per_byte=pj_per_byte, tdp_w=bw * pj_per_byte * 1e-12,
                   area_mm2=cfg["layer_area"], cost_usd=cfg["layer_cost"] * cfg["num_layers"],
                   vdd_v=get_or_default(cfg, "vdd", 1.2))
