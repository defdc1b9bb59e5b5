"""Constraint names and units (model.md §18): every violation amount is quantity − limit, > 0 when violated.

The same names are reported for every evaluated point (0.0 where a check does not apply), so the
search can hand them to Optuna unchanged.
"""
from __future__ import annotations

from typing import Mapping

# name: (level, unit, what is limited)
CONSTRAINTS: dict[str, tuple[str, str, str]] = {
    "chip_avail_area_mm2": ("chip", "mm²", "area left for MACs and SRAM ≥ 0.1 mm² (area-defined chips)"),
    "chip_sram_mb": ("chip", "MB", "an area-defined chip keeps some SRAM"),
    "chip_die_area_mm2": ("chip", "mm²", "die area ≤ Chip.max_die_area"),
    "chip_power_density_w_per_mm2": ("chip", "W/mm²", "chip TDP / area ≤ Chip.max_power_density"),
    "pkg_vault_area_mm2": ("package", "mm²", "3D vaults fit on the die"),
    "pkg_vault_tsv_mismatch": ("package", "TSVs", "chip TSVs per vault = vault TSVs"),
    "pkg_hbm_stacks": ("package", "stacks", "HBM stacks ≤ 2·ceil(L_chip/L_hbm)·n"),
    "pkg_die_area_mm2": ("package", "mm²", "total die area ≤ Package.max_die_area (no HBM)"),
    "pkg_power_density_w_per_mm2": ("package", "W/mm²", "package TDP / heat-source area ≤ limit"),
    "srv_lane_area_mm2": ("server", "mm²", "lane heat-source area within [LaneAreaMin, LaneAreaMax]"),
    "srv_heatsink_mm": ("server", "mm", "a heatsink fits the heat source and lane"),
    "srv_package_power_w": ("server", "W", "package TDP ≤ heatsink max power × factor"),
    "srv_power_w": ("server", "W", "server package power ≤ custom_max_power or SrvMaxPower"),
    "sys_memory_bytes": ("system", "bytes", "model bytes ≤ num_servers × server memory"),
    "map_memory_bytes": ("mapping", "bytes", "model + batch·(P+G)·KV bytes ≤ memory of the stages used"),
    "map_invalid": ("mapping", "-", "p ≤ num_servers or p a multiple of num_servers, t ≥ 1"),
    "map_ep_invalid": ("mapping", "-", "expert-parallel degree e divides t and e ≤ experts (MoE, docs/models.md M5.6)"),
    "map_chip_memory_bytes": ("mapping", "bytes", "busiest chip's weights + KV ≤ chip memory (MoE, docs/models.md M5.7)"),
}
CONSTRAINT_NAMES: tuple[str, ...] = tuple(CONSTRAINTS)
#: The constraints a point's hardware and system size decide (every level but ``mapping``): a point that
#: violates none of them has a valid hardware, whatever its mapping.
HARDWARE_CONSTRAINTS: tuple[str, ...] = tuple(n for n, (level, _, _) in CONSTRAINTS.items() if level != "mapping")

#: Limits a user sets on a metric (search constraints, same sign convention):
#: name → (metric of llmhw.metrics, 'max' | 'min', key of the run's limits, what is limited).
USER_LIMITS: dict[str, tuple[str, str, str, str]] = {
    "max_ttft_s": ("ttft_s", "max", "max_ttft", "ttft_s − limit"),
    "max_tpot_s": ("tpot_s", "max", "max_tpot", "tpot_s − limit"),
    "max_power_w": ("power_w", "max", "max_power", "power_w − limit"),
    "max_capex_usd": ("capex_usd", "max", "max_capex", "capex_usd − limit"),
    "min_throughput_tok_per_s": ("throughput_tok_per_s", "min", "min_throughput", "limit − throughput_tok_per_s"),
}
#: 1 when an objective value is NaN/±inf (the search hands Optuna a penalty instead).
NONFINITE_OBJECTIVE = "nonfinite_objective"


def full_violations(*parts: Mapping[str, float]) -> dict[str, float]:
    """Merge the sparse violation dicts of each level into the fixed, ordered set of names."""
    merged = {name: 0.0 for name in CONSTRAINT_NAMES}
    for part in parts:
        for name, amount in part.items():
            if name not in merged:
                raise KeyError(f"unregistered constraint {name!r}")
            merged[name] = float(amount)
    return merged
