"""The hardware phase (model.md §0): every chip → package → server, in order, invalid ones recorded."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from ..fidelity import Fidelity
from ..gc_pause import gc_paused
from ..hardware.chip import build_chip
from ..hardware.constants import Constants
from ..hardware.heatsink_batch import prefetch_heatsinks
from ..hardware.package import build_package
from ..hardware.server import Server, build_server


@dataclass(frozen=True)
class InvalidDesign:
    """A chip, package or server that failed a check: where it came from, why, and by how much."""

    level: str                 # 'chip' | 'package' | 'server'
    chip: int                  # index in the expanded chip list
    package: int | None        # index in the expanded package list
    server: int | None         # index in the expanded server list
    chip_id: Any
    reason: str
    violations: Mapping[str, float]


@dataclass(frozen=True)
class HardwarePhase:
    servers: tuple[Server, ...]
    origins: tuple[tuple[int, int, int], ...]   # (chip, package, server) config indices per valid server
    invalid: tuple[InvalidDesign, ...]
    counts: Mapping[str, int] = field(default_factory=dict)


def _positive(violations: Mapping[str, float]) -> dict[str, float]:
    return {k: v for k, v in violations.items() if v > 0}


@gc_paused()   # the heatsink search's memo tables: tens of thousands of small tuples, no cycles (llmhw.gc_pause)
def hardware_phase(chips: Sequence[Mapping], packages: Sequence[Mapping], servers: Sequence[Mapping],
                   k: Constants, fidelity: Fidelity,
                   progress: Callable[[int], None] | None = None) -> HardwarePhase:
    """§0 hardware phase. ``progress(n)`` is called with the number of server slots just settled."""
    valid_servers: list[Server] = []
    origins: list[tuple[int, int, int]] = []
    invalid: list[InvalidDesign] = []
    counts = {"chips": 0, "chips_valid": 0, "packages": 0, "packages_valid": 0, "servers": 0, "servers_valid": 0}
    per_chip = len(packages) * len(servers)
    built = []                                     # (chip, [package per package config]) per chip config
    valid_chips = 0
    for ccfg in chips:
        chip = build_chip(ccfg, k, default_id=valid_chips)
        valid_chips += chip.valid
        built.append((chip, [build_package(pcfg, chip, k) for pcfg in packages] if chip.valid else []))
    # every heatsink of the phase in one batched search (§7; the servers below find them memoized)
    prefetch_heatsinks({(pkg.heatsource_mm, scfg["packages_per_lane"]) for _, pkgs in built for pkg in pkgs
                        if pkg.valid for scfg in servers if isinstance(scfg.get("packages_per_lane"), int)},
                       fidelity.heatsink_warm_start_guard)
    for ci, (chip, pkgs) in enumerate(built):
        counts["chips"] += 1
        if not chip.valid:
            invalid.append(InvalidDesign("chip", ci, None, None, chip.chip_id, "; ".join(chip.reasons),
                                         _positive(chip.violations)))
            if progress:
                progress(per_chip)
            continue
        counts["chips_valid"] += 1
        for pi, pkg in enumerate(pkgs):
            counts["packages"] += 1
            if not pkg.valid:
                invalid.append(InvalidDesign("package", ci, pi, None, chip.chip_id, "; ".join(pkg.reasons),
                                             _positive(pkg.violations)))
                if progress:
                    progress(len(servers))
                continue
            counts["packages_valid"] += 1
            for si, scfg in enumerate(servers):
                srv = build_server(scfg, pkg, k, heatsink_guard=fidelity.heatsink_warm_start_guard)
                counts["servers"] += 1
                if srv.valid:
                    counts["servers_valid"] += 1
                    valid_servers.append(srv)
                    origins.append((ci, pi, si))
                else:
                    invalid.append(InvalidDesign("server", ci, pi, si, chip.chip_id, "; ".join(srv.reasons),
                                                 _positive(srv.violations)))
                if progress:
                    progress(1)
    return HardwarePhase(tuple(valid_servers), tuple(origins), tuple(invalid), counts)
