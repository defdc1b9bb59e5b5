"""The search space of a serving study (docs/serving.md §8): deployments instead of batches and mappings.

A space file's ``serving:`` section (or a system file's ``serving:`` block, for the workload alone)::

    serving:
      prompt: {mean: 2048, spread: 0.5}     # the workload (docs/serving.md §1); overrides the system file's
      output: {mean: 256, spread: 0.5}
      slo: {ttft: 2.0, tpot: 0.05}          # --max-ttft / --max-tpot (alias --slo-ttft / --slo-tpot) override
      kv_link: server                       # server | package | {bandwidth: B/s, latency: s}
      mode: [aggregated, disaggregated]     # categorical dimension
      chunk_tokens: [256, 512, 1024, 2048]  # aggregated: chunked-prefill budget per iteration
      pd_ratio: ['1:2', '1:1', '2:1']       # disaggregated: prefill : decode instances
      hardware:                             # named alternatives: overlays on the base hardware file
        h100: {}
        compute_heavy: {Chip: {perf: 1.6e+15}}
      prefill: {hardware: [h100, compute_heavy], num_servers: [1, 2], p: [1, 2]}
      decode:  {hardware: [h100, compute_heavy], num_servers: [1, 2, 4], p: [1, 2, 4]}

Every list with more than one entry is a dimension (``serving.mode``, ``serving.chunk_tokens``,
``serving.pd_ratio``, ``prefill.hardware``, ``decode.num_servers#i``, …). An aggregated deployment uses the
``decode`` pool's settings and ``chunk_tokens``; a disaggregated one both pools and ``pd_ratio`` (prefill runs
whole prompts). Each hardware alternative and the system (apart from ``num_servers``) must be concrete.
"""
from __future__ import annotations

import copy
import math
from typing import Any, Mapping

from llmhw.config import expand, preprocess_system, validate_hardware
from llmhw.errors import ConfigError
from llmhw.serving.deployment import SERVING_MODES
from llmhw.serving.point import PoolPoint, ServingPoint
from llmhw.serving.workload import ServingWorkload

from .overlay import merge
from .space import HW_SECTIONS, SearchSpace, _freeze, _list_dim

SECTION = "serving"
WORKLOAD_KEYS = ("prompt", "output", "rate", "concurrency", "slo")
_KEYS = WORKLOAD_KEYS + ("kv_link", "mode", "chunk_tokens", "pd_ratio", "hardware", "prefill", "decode")
_POOL_KEYS = ("hardware", "num_servers", "p")
BASE_LABEL = "base"


def _as_list(v: Any) -> list:
    return list(v) if isinstance(v, (list, tuple)) else [v]


def _ratio(text: Any, file: Any) -> tuple[int, int]:
    try:
        a, b = (int(x) for x in str(text).split(":"))
        if a >= 1 and b >= 1:
            return a, b
    except ValueError:
        pass
    raise ConfigError(file, "serving.pd_ratio", text, allowed="'P:D' with two integers >= 1, e.g. '1:2'",
                      problem="not a prefill:decode ratio")


class ServingSpace(SearchSpace):
    """Fixed-dimensional: every trial suggests every dimension; the ones a mode does not use are inert."""

    def __init__(self, hw_raw: Mapping, system_raw: Mapping, model: Mapping, workload_pair: tuple[int, int],
                 serving: Mapping[str, Any], workload: ServingWorkload, file: Any = None):
        for key in serving:
            if key not in _KEYS:
                raise ConfigError(file, f"serving.{key}", problem="unknown key", allowed=", ".join(_KEYS))
        self.mapping = "explicit"
        self.best_for = "goodput_per_musd"
        self.fixed_mapping = False
        self.workload = (int(workload_pair[0]), int(workload_pair[1]))
        self.model = dict(model)
        self.serving_workload = workload
        self.kv_link = serving.get("kv_link", "server")
        alts = serving.get("hardware") or {BASE_LABEL: {}}
        if not isinstance(alts, Mapping) or not alts:
            raise ConfigError(file, "serving.hardware", alts, allowed="a mapping label → hardware overlay")
        self._hw: dict[str, dict] = {}
        for label, overlay in alts.items():
            tree = merge(dict(hw_raw), overlay or {})
            validate_hardware(tree, file)
            concrete = {}
            for s in HW_SECTIONS:
                confs = expand(copy.deepcopy(tree[s]), None, s)
                if len(confs) != 1:
                    raise ConfigError(file, f"serving.hardware.{label}.{s}", problem="a hardware alternative "
                                      "must be concrete (lists and ranges are not searched in serving mode)",
                                      allowed="one value per key")
                concrete[s] = confs[0]
            self._hw[str(label)] = concrete
        pre = preprocess_system(copy.deepcopy(dict(system_raw)), self.model)
        servers = _as_list(pre.get("num_servers") or 1)
        pre["num_servers"] = 1
        pre["eval_len"] = [list(self.workload)]
        confs = expand(pre, None, "system")
        if len(confs) != 1:
            raise ConfigError(file, "system", problem="a serving study needs a concrete system apart from "
                              "num_servers", allowed="one value per key")
        self._system = confs[0]
        dims = []

        def add(name: str, path: tuple, values: list) -> None:
            if len(values) > 1:
                dims.append(_list_dim(name, SECTION, path, values, file))
        self._fixed: dict[str, Any] = {}
        spec = {"serving.mode": ("mode", _as_list(serving.get("mode", "aggregated"))),
                "serving.chunk_tokens": ("chunk_tokens", _as_list(serving.get("chunk_tokens", 512))),
                "serving.pd_ratio": ("pd_ratio", [str(x) for x in _as_list(serving.get("pd_ratio", "1:1"))])}
        for role in ("prefill", "decode"):
            pool = serving.get(role) or {}
            for key in pool:
                if key not in _POOL_KEYS:
                    raise ConfigError(file, f"serving.{role}.{key}", problem="unknown key",
                                      allowed=", ".join(_POOL_KEYS))
            spec[f"{role}.hardware"] = ("hardware", [str(x) for x in _as_list(pool.get("hardware", list(alts)))])
            spec[f"{role}.num_servers"] = ("num_servers", _as_list(pool.get("num_servers", servers)))
            spec[f"{role}.p"] = ("p", _as_list(pool.get("p", 1)))
        for mode in spec["serving.mode"][1]:
            if mode not in SERVING_MODES:
                raise ConfigError(file, "serving.mode", mode, allowed=", ".join(SERVING_MODES))
        for r in spec["serving.pd_ratio"][1]:
            _ratio(r, file)
        for role in ("prefill", "decode"):
            for label in spec[f"{role}.hardware"][1]:
                if label not in self._hw:
                    raise ConfigError(file, f"serving.{role}.hardware", label, allowed=", ".join(self._hw),
                                      problem="not a hardware alternative of serving.hardware")
        modes = spec["serving.mode"][1]
        unused = (() if "disaggregated" in modes else ("prefill.", "serving.pd_ratio")) + \
            (() if "aggregated" in modes else ("serving.chunk_tokens",))
        for name, (key, values) in spec.items():
            if not values:
                raise ConfigError(file, name, values, allowed="at least one value")
            self._fixed[name] = values[0]
            if not name.startswith(unused):   # no dimension that no mode of the space uses
                add(name, (name,), values)
        self.dims = dims
        self.by_name = {d.name: d for d in dims}
        self.distributions = {d.name: d.distribution for d in dims}
        self.max_batch = 1
        self.point(self.default_params())

    # ------------------------------------------------------------------ points
    def values(self, params: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(self._fixed)
        for d in self.dims:
            out[d.path[0]] = d.decode(params[d.name])
        return out

    def used_values(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The values the deployment uses (the others are inert in its mode)."""
        v = self.values(params)
        if v["serving.mode"] == "aggregated":
            return {k: x for k, x in v.items() if not k.startswith("prefill.") and k != "serving.pd_ratio"}
        return {k: x for k, x in v.items() if k != "serving.chunk_tokens"}

    def canonical(self, params: Mapping[str, Any]) -> tuple:
        vals = self.used_values(params)
        return tuple((k, _freeze(vals[k])) for k in sorted(vals))

    def slo_limits(self) -> dict[str, float]:
        """The SLO as the ``--max-ttft``/``--max-tpot`` limits (docs/serving.md §1: one meaning): a design
        must meet it at the reported load, so one that meets it at no load is infeasible."""
        wl = self.serving_workload
        return {k: v for k, v in (("max_ttft", wl.slo_ttft_s), ("max_tpot", wl.slo_tpot_s)) if math.isfinite(v)}

    def normalise(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return dict(params)

    def _pool(self, role: str, v: Mapping[str, Any]) -> PoolPoint:
        hw = self._hw[v[f"{role}.hardware"]]
        system = dict(self._system, num_servers=int(v[f"{role}.num_servers"]))
        return PoolPoint(v[f"{role}.hardware"], hw["Chip"], hw["Package"], hw["Server"], system,
                         int(v[f"{role}.p"]))

    def point(self, params: Mapping[str, Any]) -> ServingPoint:
        v = self.values(params)
        n_p, n_d = _ratio(v["serving.pd_ratio"], None)
        aggregated = v["serving.mode"] == "aggregated"
        return ServingPoint(mode=v["serving.mode"], prefill=self._pool("prefill", v), decode=self._pool("decode", v),
                            prefill_instances=n_p, decode_instances=1 if aggregated else n_d,
                            chunk_tokens=int(v["serving.chunk_tokens"]), workload=self.serving_workload,
                            kv_link=self.kv_link)

    def encode(self, design: Mapping[str, Any], file: Any = None) -> dict[str, Any]:
        out = {}
        for key, value in design.items():
            d = self.by_name.get(key) or self.by_name.get(f"{key}#i")
            if d is None:
                raise ConfigError(file, str(key), problem="not a dimension of this serving space",
                                  allowed=", ".join(x.name.removesuffix("#i") for x in self.dims))
            try:
                out[d.name] = d.encode(value)
            except ValueError as exc:
                raise ConfigError(file, str(key), value, problem=str(exc)) from None
        return out


def serving_space(hw_raw: Mapping, system_raw: Mapping, model: Mapping, workload_pair: tuple[int, int],
                  space_file: Any, limits: Mapping[str, Any], flag: Mapping[str, Any] | None = None,
                  file: Any = None) -> ServingSpace | None:
    """The serving space when the system file has a ``serving:`` block, the space file a ``serving:`` section
    or ``--serving`` gives one (``flag``; it overrides the space file, which overrides the system file), else
    None (a batch study)."""
    from llmhw.serving.workload import workload_from_config
    block = system_raw.get("serving")
    section = space_file.serving if space_file is not None else None
    if block is None and section is None and flag is None:
        return None
    for where, part in (("serving", block), ("serving", section)):
        if part is not None and not isinstance(part, Mapping):
            raise ConfigError(file, where, part, allowed="a mapping (docs/serving.md §1)")
    serving = merge(merge(dict(block or {}), dict(section or {})), dict(flag or {}))
    try:
        wl = workload_from_config({k: serving[k] for k in WORKLOAD_KEYS if k in serving}, workload_pair,
                                  limits.get("max_ttft"), limits.get("max_tpot"))
    except (ValueError, TypeError, KeyError) as exc:
        raise ConfigError(file, "serving", problem=str(exc), allowed="docs/serving.md §1") from None
    return ServingSpace(hw_raw, system_raw, model, workload_pair, serving, wl, file=file)
