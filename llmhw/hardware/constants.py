"""Technology constants (model.md §2), one frozen object per constants file."""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping

SECTIONS = ("Chip", "Package", "Server", "TCO", "Energy")


@dataclass(frozen=True)
class Constants:
    """The five sections of a constants file, read-only. Units as in model.md §2 (mm², $, W, pJ)."""

    chip: Mapping[str, Any]
    package: Mapping[str, Any]
    server: Mapping[str, Any]
    tco: Mapping[str, Any]
    energy: Mapping[str, Any]

    @property
    def os_layer_scale_factor(self) -> tuple[tuple[float, float], ...]:
        """Ordered (area threshold mm², cost factor) pairs, in file order (§2.2, §16.1 #18)."""
        return tuple((float(k), float(v)) for k, v in self.package["os_layer_scale_factor"].items())


def load_constants_dict(raw: Mapping[str, Any]) -> Constants:
    """Build :class:`Constants` from a validated constants mapping (sections of §2)."""
    return Constants(*(MappingProxyType(dict(raw[s])) for s in SECTIONS))
