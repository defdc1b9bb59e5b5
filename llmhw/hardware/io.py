"""IO links (model.md §4)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

from ..values import get_or_default


@dataclass(frozen=True)
class IOLink:
    io_type: str
    num: float
    bandwidth_per_io_bytes_per_s: float
    area_per_io_mm2: float = 0.0
    tdp_per_io_w: float = 0.0
    pj_per_byte: float = 0.0
    init_time_s: float = 1e-10

    @property
    def bandwidth_bytes_per_s(self) -> float:
        """§4: num × bandwidth_per_io (per direction)."""
        return self.num * self.bandwidth_per_io_bytes_per_s

    @property
    def area_mm2(self) -> float:
        return self.num * self.area_per_io_mm2

    @property
    def tdp_w(self) -> float:
        return self.num * self.tdp_per_io_w

    @property
    def joules_per_byte(self) -> float:
        return self.pj_per_byte / 1e12

    def scaled(self, factor: int) -> "IOLink":
        """The package link: this link with ``num`` multiplied by the chips per package (§4)."""
        return replace(self, num=self.num * factor)


def build_io(cfg: Mapping[str, Any]) -> IOLink:
    """§4 inputs with their defaults."""
    return IOLink(
        io_type=cfg.get("io_type", ""),
        num=cfg["num"],
        bandwidth_per_io_bytes_per_s=cfg["bandwidth_per_io"],
        area_per_io_mm2=cfg.get("area_per_io", 0) or 0,
        tdp_per_io_w=cfg.get("tdp_per_io", 0) or 0,
        pj_per_byte=cfg.get("pj_per_byte", 0) or 0,
        init_time_s=get_or_default(cfg, "init_time", 1e-10),
    )
