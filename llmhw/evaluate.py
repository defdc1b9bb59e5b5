"""The one door to the evaluator: a concrete design point in, a :class:`Result` out.

A :class:`DesignPoint` names concrete chip, package, server and system configurations (the single result
of EXPAND on a tree whose lists and ranges were replaced by chosen values), a mapping and a batch.
:meth:`Problem.evaluate` builds the hardware (memoized per hardware configuration), sizes the system,
resolves the mapping and runs the performance model. It never raises for an invalid design: the result
carries every constraint amount of §18 (``llmhw.violations``) and readable reasons. The search layer
knows nothing else about the evaluator; this module knows nothing about Optuna.
"""
from __future__ import annotations

import json
import numbers
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

import numpy as np

from .errors import ConfigError
from .fidelity import Fidelity
from .hardware.chip import build_chip
from .hardware.constants import Constants, load_constants_dict
from .hardware.package import build_package
from .hardware.server import Server, build_server
from .metrics import BY_NAME, GRID_FIELDS, METRICS, breakdown, read
from .perf.grid import evaluate_grid
from .perf.point import PerfResult, evaluate_point
from .serving.point import ServingPoint
from .violations import full_violations
from .workload.mapping import (MappingPoint, default_mapping_point, enumerate_mappings, mapping_violations,
                               stage_candidates)
from .workload.model import Model
from .workload.system import System, build_system

MAPPING_MODES = ("explicit", "best", "default")

@dataclass(frozen=True)
class DesignPoint:
    """One concrete point of a design space."""

    chip: Mapping[str, Any]
    package: Mapping[str, Any]
    server: Mapping[str, Any]
    system: Mapping[str, Any]
    p: int | None
    micro_batch: int | None
    prefill_micro_batch: int | None
    batch: int
    prefill_len: int
    decode_len: int
    mapping: str = "explicit"          # 'explicit' | 'best' (inner enumeration, §12.1) | 'default' (§12.2)
    best_for: str = "tco_per_mtoken_usd"
    ep: int | None = None              # expert-parallel degree (MoE models, docs/models.md §M5.3)


@dataclass(frozen=True)
class Result:
    metrics: Mapping[str, float]
    violations: Mapping[str, float]
    reasons: tuple[str, ...]
    design: Mapping[str, Any]
    perf: PerfResult | None = field(default=None, compare=False, repr=False)
    system: System | None = field(default=None, compare=False, repr=False)

    @property
    def breakdown(self) -> Mapping[str, Any]:
        """Finer parts of the point: area, cost and TCO parts, mapping (unit-suffixed names,
        :func:`llmhw.metrics.breakdown`); empty for a result without its evaluated system."""
        return {} if self.system is None else breakdown(self.system, self.perf)

    @property
    def feasible(self) -> bool:
        return all(v <= 0 for v in self.violations.values())


@dataclass(frozen=True)
class MappingGrid:
    """Every mapping of one design's system (§12.1: every batch of the grid, every fitting stage layout and
    micro-batch split), with the values of the metrics asked for: row i is the mapping ``(batch[i], p[i],
    micro_batch[i], prefill_micro_batch[i], e[i])`` and ``values[i, j]`` its ``metrics[j]``, as
    :meth:`Problem.evaluate` would report them for that mapping (``Metric.grid_value``)."""

    metrics: tuple[str, ...]
    batch: np.ndarray
    p: np.ndarray
    micro_batch: np.ndarray
    prefill_micro_batch: np.ndarray
    e: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.batch)

    def mapping(self, i: int) -> dict[str, int]:
        """Row ``i`` as the mapping keys of a design point."""
        return {"batch": int(self.batch[i]), "p": int(self.p[i]), "micro_batch": int(self.micro_batch[i]),
                "prefill_micro_batch": int(self.prefill_micro_batch[i]), "e": int(self.e[i])}


def grid_metrics_missing(metrics: Sequence[str]) -> list[str]:
    """The metrics among ``metrics`` that :meth:`Problem.mapping_grid` cannot give (no ``grid_value``)."""
    return [m for m in metrics if m not in BY_NAME or BY_NAME[m].grid_value is None]


def _key(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=str)


def _flatten(prefix: str, cfg: Mapping[str, Any], out: dict[str, Any]) -> None:
    for k, v in cfg.items():
        name = f"{prefix}.{k}"
        if isinstance(v, Mapping):
            _flatten(name, v, out)
        elif isinstance(v, (list, tuple)):
            out[name] = json.dumps(v, default=str)
        else:
            out[name] = v


def explicit_mapping(system: System, p: int, micro_batch: int, prefill_micro_batch: int,
                     batch: int, ep: int = 1) -> tuple[MappingPoint, dict[str, float], list[str]]:
    """A searched mapping (p, mb, pmb) made concrete with §12.1's stage width t.

    mb is clipped to ≤ B and pmb to ≤ mb (powers of two, fixed-dimensional space). A p that §12.1 would
    skip (p > num_servers and not a multiple of it, or more stages than packages) is evaluated at the
    nearest valid p below it, and ``map_invalid`` = the number of stages over it.
    """
    ns = system.num_servers
    np_srv = system.server.num_packages
    reasons: list[str] = []
    mb = max(1, min(micro_batch, batch))
    pmb = max(1, min(prefill_micro_batch, mb))
    p_eff = p
    if p > ns and (p % ns != 0 or np_srv // (p / ns) == 0):
        p_eff = max(ns, min(p, ns * np_srv) // ns * ns)
        reasons.append(f"pipeline of {p} stages does not map onto {ns} servers × {np_srv} packages")
    if ns >= p_eff:
        t_pkg = (ns // p_eff) * np_srv
    else:
        t_pkg = np_srv // (p_eff / ns)
    mapping = MappingPoint(t_pkg * system.server.package.num_chips, p_eff, mb, pmb, ep)
    violations = mapping_violations(system, mapping, batch)
    violations["map_invalid"] = float(p - p_eff) if p_eff != p else -1.0
    return mapping, violations, reasons


class Problem:
    """Inputs shared by every point of one study: model, constants, fidelity (and the raw configs)."""

    def __init__(self, hw: Any, system: Any, model: Mapping[str, Any] | Model, constants: Mapping[str, Any] | Constants,
                 fidelity: Fidelity):
        self.hw = hw
        self.system_config = system
        self.model = model if isinstance(model, Model) else Model.from_dict(model)
        self.constants = constants if isinstance(constants, Constants) else load_constants_dict(constants)
        self.fidelity = fidelity
        self._servers: dict[str, Server] = {}
        self._systems: dict[str, System] = {}
        self._grids: dict[int, tuple[System, Any]] = {}

    # ---- hardware and system, memoized ---------------------------------------------------------
    def server(self, chip: Mapping, package: Mapping, server: Mapping) -> Server:
        key = _key((chip, package, server))
        built = self._servers.get(key)
        if built is None:
            try:
                c = build_chip(chip, self.constants)
                pk = build_package(package, c, self.constants)
            except (ValueError, KeyError) as exc:
                raise ConfigError(getattr(self.hw, "path", None), "Chip/Package", None,
                                  problem=f"cannot build the design: {exc}") from None
            built = build_server(server, pk, self.constants,
                                 heatsink_guard=self.fidelity.heatsink_warm_start_guard)
            self._servers[key] = built
        return built

    def system(self, server: Server, cfg: Mapping, server_key: str, prefill_len: int, decode_len: int) -> System:
        key = _key((server_key, cfg, prefill_len, decode_len))
        built = self._systems.get(key)
        if built is None:
            cfg = {k: v for k, v in cfg.items() if k not in ("model", "eval_len")}
            cfg["eval_len"] = [prefill_len, decode_len]
            built = build_system(server, cfg, self.model, self.constants)
            self._systems[key] = built
        return built

    # ---- one point -----------------------------------------------------------------------------
    def evaluate(self, point: DesignPoint | ServingPoint) -> Result:
        if isinstance(point, ServingPoint):   # a serving deployment (docs/serving.md)
            from .serving.door import evaluate_serving
            return evaluate_serving(self, point)
        for name in ("batch", "prefill_len", "decode_len"):  # outside every schema: not a design point
            value = getattr(point, name)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"DesignPoint.{name} must be an integer >= 1, got {value!r}")
        srv = self.server(point.chip, point.package, point.server)
        sys_ = self.system(srv, point.system, _key((point.chip, point.package, point.server)),
                           point.prefill_len, point.decode_len)
        B = point.batch
        reasons = [*srv.package.chip.reasons, *srv.package.reasons, *srv.reasons, *sys_.reasons]
        if point.mapping == "default" and sys_.default_mapping is not None:
            mapping = default_mapping_point(sys_, B)
            map_v = {"map_memory_bytes": 0.0, "map_invalid": -1.0}   # §12.2: no fit filter
            perf = evaluate_point(sys_, mapping, B, fidelity=self.fidelity)
        elif point.mapping == "best":
            perf, map_v = self._best(sys_, B, point.best_for)
            mapping = perf.mapping
        elif point.mapping == "explicit":
            mapping, map_v, map_reasons = explicit_mapping(sys_, point.p or 1, point.micro_batch or 1,
                                                           point.prefill_micro_batch or 1, B, point.ep or 1)
            reasons += map_reasons
            perf = evaluate_point(sys_, mapping, B, fidelity=self.fidelity)
        elif point.mapping == "default":
            raise ValueError("mapping 'default' needs a system with a default_mapping (§12.2); use 'explicit' or 'best'")
        else:
            raise ValueError(f"unknown mapping mode {point.mapping!r} (allowed: {', '.join(MAPPING_MODES)})")
        if map_v.get("map_memory_bytes", 0) > 0:
            reasons.append("model + KV cache do not fit the memory of the stages used")
        if map_v.get("map_ep_invalid", 0) > 0:
            reasons.append(f"expert-parallel degree {mapping.e} does not divide the {mapping.t} chips of a stage "
                           f"or exceeds the {self.model.num_experts} experts")
        violations = full_violations(srv.package.chip.violations, srv.package.violations, srv.violations,
                                     sys_.violations, map_v)
        return Result(metrics=read(sys_, perf), violations=violations, reasons=tuple(reasons),
                      design=self._design(point, sys_, perf), perf=perf, system=sys_)

    def evaluate_many(self, points: Sequence[DesignPoint]) -> list[Result]:
        return [self.evaluate(p) for p in points]

    # ---- every mapping of one design ---------------------------------------------------------------
    def mapping_grid(self, point: DesignPoint, metrics: Sequence[str]) -> MappingGrid | None:
        """Every mapping of ``point``'s system at once (the grid driver, :func:`llmhw.perf.grid.evaluate_grid`),
        with the values of ``metrics``; the point's own batch and mapping are ignored.

        None when the grid cannot answer: a mapping mode other than ``explicit``, a metric without a
        ``grid_value`` (:func:`grid_metrics_missing`), a system on the §14 dynamic-prefill path, or a
        hardware that cannot be built. The grid holds only mappings whose stages fit (§12.1); the other
        constraints (hardware, user limits) are the caller's to check."""
        if not isinstance(point, DesignPoint) or point.mapping != "explicit" or grid_metrics_missing(metrics):
            return None
        try:
            srv = self.server(point.chip, point.package, point.server)
            sys_ = self.system(srv, point.system, _key((point.chip, point.package, point.server)),
                               point.prefill_len, point.decode_len)
        except (ConfigError, ValueError, KeyError):
            return None
        g = evaluate_grid(sys_, self.fidelity)
        if g is None:
            return None
        cand = g.cand.astype(np.int64)
        column = lambda attr: np.array([getattr(c, attr) for c in g.candidates], dtype=np.int64)[cand]  # noqa: E731
        values = np.column_stack([np.asarray(BY_NAME[m].grid_value(sys_, g), dtype=float) for m in metrics]) \
            if metrics else np.zeros((len(g), 0))
        return MappingGrid(tuple(metrics), g.batch.astype(np.int64), column("p"),
                           g.micro_batch.astype(np.int64), g.prefill_micro_batch.astype(np.int64), column("e"),
                           values.reshape(len(g), len(metrics)))

    def _best(self, sys_: System, batch: int, best_for: str) -> tuple[PerfResult, dict[str, float]]:
        """§12.3-style inner enumeration: the first mapping with the strictly best ``best_for`` metric.

        Uses the grid driver over all §12.1 mappings of the system (cached per system) when the metric has a
        registry grid field; otherwise, or when the grid is unavailable, the single-point loop.
        """
        direction = METRICS[best_for][0]
        enum_sys = replace(sys_, default_mapping=None) if sys_.default_mapping is not None else sys_
        candidates = None
        index = self._grid_best(enum_sys, batch, best_for, direction)
        if index is None:
            candidates = enumerate_mappings(enum_sys, batch)
        if index is None and not candidates:   # nothing fits: score the widest layout, report the shortfall
            cands = stage_candidates(enum_sys)
            c = cands[0] if cands else None
            mapping = MappingPoint(c.t if c else sys_.num_chips, c.p if c else 1, 1, 1)
            perf = evaluate_point(sys_, mapping, batch, fidelity=self.fidelity)
            return perf, mapping_violations(sys_, mapping, batch)
        if index is not None:
            best = evaluate_point(sys_, index, batch, fidelity=self.fidelity)
            return best, mapping_violations(sys_, best.mapping, batch)
        best, best_value = None, None
        for m in candidates:
            perf = evaluate_point(sys_, m, batch, fidelity=self.fidelity)
            value = BY_NAME[best_for].read(sys_, perf)
            if direction == "maximize":
                value = -value
            if best is None or value < best_value:
                best, best_value = perf, value
        return best, mapping_violations(sys_, best.mapping, batch)

    def _grid_best(self, sys_: System, batch: int, best_for: str, direction: str) -> MappingPoint | None:
        """The first best mapping of ``batch`` from the grid driver, or None to use the single-point loop."""
        field_name = GRID_FIELDS.get(best_for)
        if field_name is None:
            return None
        key = id(sys_)
        entry = self._grids.get(key)
        if entry is None:
            entry = (sys_, evaluate_grid(sys_, self.fidelity))
            self._grids[key] = entry
        grid = entry[1]
        if grid is None:
            return None
        seg = next((s for s in grid.segments if s[0] == batch), None)
        if seg is None or seg[2] <= seg[1]:
            return None
        values = getattr(grid, field_name)[seg[1]:seg[2]]
        if np.isnan(values).any():
            return None
        offset = int(np.argmax(values) if direction == "maximize" else np.argmin(values))
        return grid.mapping(seg[1] + offset)

    def _design(self, point: DesignPoint, sys_: System, r: PerfResult) -> dict[str, Any]:
        out: dict[str, Any] = {}
        _flatten("chip", point.chip, out)
        _flatten("package", point.package, out)
        _flatten("server", point.server, out)
        _flatten("system", {k: v for k, v in point.system.items() if k != "model"}, out)
        m = r.mapping
        out.update({
            "chip_id": sys_.server.package.chip.chip_id, "model": self.model.name,
            "num_servers": sys_.num_servers, "batch": point.batch, "prefill_len": point.prefill_len,
            "decode_len": point.decode_len, "mapping_mode": point.mapping, "t": m.t, "p": m.p,
            "micro_batch": m.micro_batch, "prefill_micro_batch": m.prefill_micro_batch, "e": m.e,
            "weight_bits": sys_.weight_bits, "act_bits": sys_.act_bits, "kv_bits": sys_.kv_bits,
            "prefill_bottleneck": r.prefill_bottleneck, "decode_bottleneck": r.decode_bottleneck,
            "compat": self.fidelity.compat,
        })
        return out


__all__ = ["DesignPoint", "METRICS", "MAPPING_MODES", "MappingGrid", "Problem", "Result", "explicit_mapping",
           "grid_metrics_missing"]
