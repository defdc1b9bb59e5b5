"""The search space: configuration lists and ranges ⇄ Optuna distributions (issue 4).

Every list-valued field of the hardware sections (``Chip``, ``Package``, ``Server``) and of the
system configuration, every range mapping ``{low, high, step, log}`` and every ``associated_explore``
bundle becomes one dimension; the batch and the mapping are dimensions too. The space is
**fixed-dimensional**: every trial suggests every dimension, a value that does not apply is clipped
(micro-batch ≤ batch, prefill micro-batch ≤ micro-batch) and a mapping that cannot run is reported by
the evaluator as a violation (``map_invalid``, ``map_memory_bytes``), never skipped.

Encodings (what the sampler sees; the concrete value is always decoded exactly from the config):

=================================  ===================================================================
config value                       Optuna distribution, param value
=================================  ===================================================================
numeric list, arithmetic           ``IntDistribution(low, high, step)`` / ``FloatDistribution(low,
(evenly spaced, incl. 2 values)    high, step)``; the param is the value itself (snapped to the list)
other numeric list                 ``IntDistribution(0, n-1)`` over the values sorted ascending; the
                                   param (named ``<path>#i``) is the index, so samplers see the order
list of strings / booleans         ``CategoricalDistribution`` of the values
list of mappings, lists, mixed     ``CategoricalDistribution`` of the indices (``<path>#i``)
range ``{low, high, step?, log?}`` ``IntDistribution`` (integer bounds) or ``FloatDistribution``
``associated_explore: K`` bundle   one ``CategoricalDistribution`` of the labels of K (``<path>``)
batch                              ``IntDistribution(0, log2 max_batch)`` of the exponent
                                   (``batch_log2``): powers of two ≤ max_batch
micro_batch                        relative to the batch and the pipeline size:
                                   ``micro_batches_rel_log2`` r → 2**k micro-batches with
                                   k = clip(ceil(log2 p) + r, 0, log2 B), mb = B >> k. So r = 0 is
                                   p micro-batches (rounded up to a power of two: the fewest that
                                   fill the pipeline) for every p and B, and a move of p keeps that
                                   relation; r spans [-ceil(log2 p_max), log2 max_batch] so every
                                   power-of-two split of every batch stays reachable for every p
prefill_micro_batch                ``prefill_splits_log2`` j → pmb = max(1, mb >> j) (pmb ≤ mb ≤ B)
pipeline size p                    ``IntDistribution(0, n-1)`` over the candidate sizes of model.md
                                   §12.1 step 1 (smallest p per distinct ceil(L/p)), ``p#i``
=================================  ===================================================================

Param names are the dotted key path (``Chip.sram``, ``Package.hbm``, ``Chip.pkg2pkg_io.num``,
``system.num_servers``). With ``mapping='best'`` there are no mapping dimensions (the evaluator
enumerates mappings). A system with ``default_mapping`` fixes the mapping (§12.2): no mapping
dimensions either.
"""
from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from optuna.distributions import (BaseDistribution, CategoricalDistribution, FloatDistribution,
                                  IntDistribution)

from llmhw.config import expand, is_range_mapping, preprocess_system
from llmhw.errors import ConfigError, UsageError

from llmhw.evaluate import DesignPoint

from .names import MAPPING_MODES

HW_SECTIONS = ("Chip", "Package", "Server")
SYSTEM = "system"
MAPPING = "mapping"
ASSOCIATED_KEY = "associated_explore"
#: system keys that are not dimensions: the workload is chosen per study, max_batch bounds the batch
#: dimension, the model is fixed.
_SYSTEM_NOT_DIMS = ("eval_len", "max_batch", "model", "workload")
DEFAULT_MAX_BATCH = 1024  # model.md §11.1



@dataclass(frozen=True)
class Dim:
    """One dimension of the space.

    ``section`` is ``Chip``/``Package``/``Server``/``system``/``mapping``; ``path`` the key path
    inside that section's tree; ``kind`` one of ``list``, ``range``, ``bundle``, ``pow2`` (batch),
    ``split`` (micro-batches relative to the batch and p), ``pipeline``; ``values`` the alternatives in distribution order (None for a range);
    ``encoding``: ``value`` (param = value), ``index`` (param = index into ``values``),
    ``log2`` (param = exponent).
    """
    name: str
    section: str
    path: tuple
    kind: str
    distribution: BaseDistribution
    values: tuple | None = None
    encoding: str = "value"
    step: float | None = None

    def decode(self, param: Any) -> Any:
        """The concrete value for the Optuna param value ``param``."""
        if self.encoding == "index":
            return self.values[int(param)]
        if self.encoding == "log2":
            return 2 ** int(param)
        if self.kind == "list" and not isinstance(self.distribution, CategoricalDistribution):
            # arithmetic numeric list: snap to the nearest entry
            return min(self.values, key=lambda v: abs(v - param))
        if self.kind == "range" and isinstance(self.distribution, FloatDistribution) \
                and self.step is not None:
            d = self.distribution
            k = round((param - d.low) / self.step)
            return min(d.high, d.low + k * self.step)
        return param

    def encode(self, value: Any) -> Any:
        """The Optuna param value for the concrete ``value`` (ConfigError-free: raises ValueError)."""
        if self.encoding == "log2":
            k = int(round(math.log2(value))) if isinstance(value, (int, float)) and value > 0 else -1
            if 2 ** k != value or not self.distribution._contains(k):  # noqa: SLF001
                raise ValueError(f"{value!r} is not a power of two in range")
            return k
        if self.encoding == "index":
            for i, v in enumerate(self.values):
                if _same(v, value):
                    return i
            raise ValueError(f"{value!r} is not one of {list(self.values)!r}")
        if self.values is not None:
            for v in self.values:
                if _same(v, value):
                    return v
            raise ValueError(f"{value!r} is not one of {list(self.values)!r}")
        d = self.distribution
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not d.low <= value <= d.high:
            raise ValueError(f"{value!r} is outside [{d.low}, {d.high}]")
        return int(value) if isinstance(d, IntDistribution) else float(value)

    def grid(self) -> list:
        """Every param value (for GridSampler); ranges have none."""
        d = self.distribution
        if isinstance(d, CategoricalDistribution):
            return list(d.choices)
        if self.kind == "range":
            raise UsageError(f"the grid sampler cannot enumerate the range dimension {self.name}; "
                             "use another sampler or replace the range by a list")
        if isinstance(d, IntDistribution):
            return list(range(d.low, d.high + 1, d.step))
        return [v for v in self.values]

    def size(self) -> int | None:
        try:
            return len(self.grid())
        except UsageError:
            return None

    def describe(self) -> dict:
        out = {"name": self.name, "section": self.section, "path": list(self.path),
               "kind": self.kind, "encoding": self.encoding,
               "distribution": type(self.distribution).__name__}
        d = self.distribution
        if self.values is not None:
            out["values"] = [_jsonable(v) for v in self.values]
        elif isinstance(d, (IntDistribution, FloatDistribution)):
            out.update(low=d.low, high=d.high, log=d.log,
                       step=self.step if self.step is not None else getattr(d, "step", None))
        return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b or math.isclose(a, b, rel_tol=1e-12)
    return a == b


def _jsonable(v: Any) -> Any:
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return repr(v)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _arithmetic(values: list) -> float | None:
    """The common difference if ``values`` (sorted, distinct, ≥ 2) is evenly spaced, else None."""
    if len(values) < 2:
        return None
    step = values[1] - values[0]
    if step <= 0:
        return None
    for a, b in zip(values, values[1:]):
        if not math.isclose(b - a, step, rel_tol=1e-9, abs_tol=0.0):
            return None
    return step


def _list_dim(name: str, section: str, path: tuple, values: list, file: Any) -> Dim:
    if all(_is_number(v) for v in values):
        ordered = sorted(values)
        if len(set(ordered)) != len(ordered):
            raise ConfigError(file, name, values, problem="duplicate entries in a list of alternatives",
                              allowed="distinct values")
        step = _arithmetic(ordered)
        if step is not None and all(isinstance(v, int) for v in ordered) and isinstance(step, int):
            return Dim(name, section, path, "list", IntDistribution(ordered[0], ordered[-1], step=step),
                       tuple(ordered), "value", step)
        if step is not None and all(isinstance(v, float) for v in ordered):
            return Dim(name, section, path, "list",
                       FloatDistribution(ordered[0], ordered[-1], step=step), tuple(ordered), "value",
                       step)
        return Dim(name + "#i", section, path, "list", IntDistribution(0, len(ordered) - 1),
                   tuple(ordered), "index")
    if all(isinstance(v, str) for v in values) or all(isinstance(v, bool) for v in values):
        return Dim(name, section, path, "list", CategoricalDistribution(tuple(values)), tuple(values),
                   "value")
    return Dim(name + "#i", section, path, "list", CategoricalDistribution(tuple(range(len(values)))),
               tuple(values), "index")


def _range_dim(name: str, section: str, path: tuple, rng: dict) -> Dim:
    low, high, step, log = rng["low"], rng["high"], rng.get("step"), bool(rng.get("log", False))
    ints = isinstance(low, int) and isinstance(high, int) and (step is None or isinstance(step, int))
    if ints:
        dist = IntDistribution(low, high, log=log, step=1 if step is None else step)
    elif step is not None:
        # Optuna requires (high - low) to be a multiple of step: use the last grid value as high.
        n = math.floor((high - low) / step + 1e-9)
        dist = FloatDistribution(float(low), float(low + n * step), step=float(step))
    else:
        dist = FloatDistribution(float(low), float(high), log=log)
    return Dim(name, section, path, "range", dist, None, "value", step)


def _walk(tree: Any, section: str, prefix: tuple, file: Any, out: list[Dim],
          skip: tuple = ()) -> None:
    """Collect the dimensions of one expandable mapping (model.md §0 EXPAND shapes)."""
    if not isinstance(tree, dict):
        return
    if ASSOCIATED_KEY in tree:
        key = tree[ASSOCIATED_KEY]
        labels = tree.get(key)
        if is_range_mapping(labels):
            raise ConfigError(file, ".".join(map(str, (section,) + prefix + (key,))), labels,
                              problem="the labels of an associated_explore bundle must be a list",
                              allowed="a list of labels")
        labels = labels if isinstance(labels, list) else [labels]
        if len(labels) > 1:
            name = ".".join(map(str, (section,) + prefix))
            if all(isinstance(v, (str, int, float, bool)) for v in labels):
                dist = CategoricalDistribution(tuple(labels))
                out.append(Dim(name, section, prefix, "bundle", dist, tuple(labels), "value"))
            else:
                out.append(Dim(name + "#i", section, prefix, "bundle",
                               CategoricalDistribution(tuple(range(len(labels)))), tuple(labels),
                               "index"))
        return
    for key, value in tree.items():
        if not prefix and key in skip:
            continue
        path = prefix + (key,)
        name = ".".join(map(str, (section,) + path))
        if is_range_mapping(value):
            out.append(_range_dim(name, section, path, value))
        elif isinstance(value, dict):
            _walk(value, section, path, file, out)
        elif isinstance(value, list) and len(value) > 1:
            out.append(_list_dim(name, section, path, value, file))


def _ceil_log2(n: int) -> int:
    """The smallest k with 2**k >= n (n >= 1)."""
    return max(0, (int(n) - 1).bit_length())


#: Largest expert-parallel degree offered to the search (docs/models.md §M5.3).
MAX_EXPERT_PARALLEL = 64


def expert_parallel_degrees(model: Mapping[str, Any]) -> tuple[int, ...]:
    """The expert-parallel degrees of a model: 1, 2, 4, … ≤ min(experts, 64); (1,) for a dense model.
    A degree that does not divide the stage's chips is scored with ``map_ep_invalid``."""
    experts = int(model.get("num_experts") or 0)
    out, e = [1], 2
    while e <= min(experts, MAX_EXPERT_PARALLEL):
        out.append(e)
        e *= 2
    return tuple(out)


def pipeline_candidates(num_layers: int) -> list[int]:
    """model.md §12.1 step 1: the smallest p for each distinct ceil(L/p), increasing."""
    out, last = [], None
    for p in range(1, num_layers + 1):
        v = -(-num_layers // p)
        if v != last:
            out.append(p)
            last = v
    return out


def _node(tree: dict, path: tuple) -> tuple[dict, Any]:
    parent = tree
    for key in path[:-1]:
        parent = parent[key]
    return parent, path[-1]


def eval_len_pairs(system_raw: dict, model: dict) -> list[tuple[int, int]]:
    """The (prefill, decode) pairs the system file lists (model.md §0; default [128, 129])."""
    pre = preprocess_system(system_raw, model)
    pairs = pre["eval_len"]
    if isinstance(pairs, list) and len(pairs) == 2 and all(_is_number(x) for x in pairs):
        pairs = [pairs]
    return [(int(a), int(b)) for a, b in pairs]


def system_max_batch(system_raw: dict, model: dict) -> int:
    """``max_batch`` of the system (largest entry if it is a list; default 1024)."""
    mb = preprocess_system(system_raw, model).get("max_batch", DEFAULT_MAX_BATCH)
    if is_range_mapping(mb):
        mb = mb["high"]
    if isinstance(mb, list):
        mb = max(mb)
    return int(mb)


class SearchSpace:
    """The fixed-dimensional space of one study: hardware × system × batch × mapping.

    ``hw_raw`` is the (overlaid) hardware tree with sections ``Chip``/``Package``/``Server``;
    ``system_raw`` the (overlaid) system tree as in the file; ``workload`` the (prefill, decode) pair.
    """

    def __init__(self, hw_raw: Mapping, system_raw: Mapping, model: Mapping,
                 workload: tuple[int, int], mapping: str = "explicit",
                 best_for: str = "tco_per_mtoken_usd", file: Any = None):
        if mapping not in MAPPING_MODES:
            raise UsageError(f"mapping mode must be one of {', '.join(MAPPING_MODES)}, got {mapping!r}")
        self.mapping = mapping
        self.best_for = best_for
        self.workload = (int(workload[0]), int(workload[1]))
        self.model = dict(model)
        self._trees: dict[str, dict] = {s: copy.deepcopy(hw_raw[s]) for s in HW_SECTIONS}
        pre = preprocess_system(copy.deepcopy(dict(system_raw)), self.model)
        self.max_batch = system_max_batch(dict(system_raw), self.model)
        pre["eval_len"] = [list(self.workload)]
        pre["max_batch"] = self.max_batch
        self._trees[SYSTEM] = pre
        dims: list[Dim] = []
        for s in HW_SECTIONS:
            _walk(self._trees[s], s, (), file, dims)
        _walk(pre, SYSTEM, (), file, dims, skip=_SYSTEM_NOT_DIMS)
        self.fixed_mapping = "default_mapping" in pre
        kmax = int(math.floor(math.log2(self.max_batch))) if self.max_batch >= 1 else 0
        dims.append(Dim("batch_log2", MAPPING, ("batch",), "pow2", IntDistribution(0, kmax),
                        None, "log2"))
        if mapping == "explicit" and not self.fixed_mapping:
            cands = pipeline_candidates(int(self.model["num_layers"]))
            dims.append(Dim("p#i", MAPPING, ("p",), "pipeline",
                            IntDistribution(0, len(cands) - 1), tuple(cands), "index"))
            # every split of every batch stays reachable for every p: r from -ceil(log2 p_max)
            dims.append(Dim("micro_batches_rel_log2", MAPPING, ("micro_batch",), "split",
                            IntDistribution(-_ceil_log2(cands[-1]), kmax), None, "log2"))
            dims.append(Dim("prefill_splits_log2", MAPPING, ("prefill_micro_batch",), "split",
                            IntDistribution(0, kmax), None, "log2"))
            ep = expert_parallel_degrees(self.model)      # docs/models.md §M5.3 (MoE models only)
            if len(ep) > 1:
                dims.append(Dim("e#i", MAPPING, ("e",), "pipeline", IntDistribution(0, len(ep) - 1), ep, "index"))
        names = [d.name for d in dims]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ConfigError(file, sorted(dup)[0], problem="two dimensions have the same name")
        self.dims: list[Dim] = dims
        self.by_name = {d.name: d for d in dims}
        self.distributions: dict[str, BaseDistribution] = {d.name: d.distribution for d in dims}
        self._section_dims = {s: [d for d in dims if d.section == s] for s in HW_SECTIONS + (SYSTEM,)}
        self._cache: dict[tuple, dict] = {}
        # check that the space is concrete everywhere (a stray list somewhere would expand to > 1)
        self.point(self.default_params())

    # ------------------------------------------------------------------ building points
    def default_params(self) -> dict[str, Any]:
        """A valid param dict (the first value / low bound of every dimension)."""
        out = {}
        for d in self.dims:
            dist = d.distribution
            out[d.name] = dist.choices[0] if isinstance(dist, CategoricalDistribution) else dist.low
        return out

    def _concrete(self, section: str, params: Mapping[str, Any]) -> dict:
        dims = self._section_dims[section]
        key = tuple(params[d.name] for d in dims)
        hit = self._cache.get((section,) + key)
        if hit is not None:
            return hit
        tree = copy.deepcopy(self._trees[section])
        for d in dims:
            value = d.decode(params[d.name])
            if d.kind == "bundle":
                node = tree
                for k in d.path:
                    node = node[k]
                node[node[ASSOCIATED_KEY]] = [value]
            else:
                parent, k = _node(tree, d.path)
                parent[k] = value if d.kind == "range" else [value]
        confs = expand(tree, None, section)
        if len(confs) != 1:  # pragma: no cover - _walk finds every list
            raise ConfigError(None, section, problem=f"expected one concrete configuration, got {len(confs)}")
        self._cache[(section,) + key] = confs[0]
        return confs[0]

    def values(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The decoded value of every dimension (mapping values after clipping)."""
        out = {d.name: d.decode(params[d.name]) for d in self.dims if d.section != MAPPING}
        out.update(self.mapping_values(params))
        return out

    def mapping_values(self, params: Mapping[str, Any]) -> dict[str, int | None]:
        batch = 2 ** int(params["batch_log2"])
        if self.mapping == "best":
            return {"batch": batch, "p": None, "micro_batch": None, "prefill_micro_batch": None, "e": None}
        if self.fixed_mapping:
            dm = self._concrete(SYSTEM, params)["default_mapping"] or {}
            mb = int(dm.get("micro_batch", 1)) or batch
            pmb = int(dm.get("prefill_micro_batch", 1)) or batch
            return {"batch": batch, "p": int(dm.get("p", 1)), "micro_batch": mb,
                    "prefill_micro_batch": pmb, "e": int(dm.get("e", 1))}
        p = self.by_name["p#i"].decode(params["p#i"])
        k = _ceil_log2(p) + int(params["micro_batches_rel_log2"])   # log2 of the micro-batch count
        mb = batch >> min(max(k, 0), int(params["batch_log2"]))
        pmb = max(1, mb >> int(params["prefill_splits_log2"]))
        e = self.by_name["e#i"].decode(params["e#i"]) if "e#i" in self.by_name else 1
        return {"batch": batch, "p": p, "micro_batch": mb, "prefill_micro_batch": pmb, "e": e}

    def point(self, params: Mapping[str, Any]) -> DesignPoint:
        """The concrete design point of a complete param dict."""
        m = self.mapping_values(params)
        if self.fixed_mapping and self.mapping == "explicit":  # §12.2: the evaluator applies it
            m = dict(m, p=None, micro_batch=None, prefill_micro_batch=None, e=None)
        return DesignPoint(
            chip=self._concrete("Chip", params), package=self._concrete("Package", params),
            server=self._concrete("Server", params), system=self._concrete(SYSTEM, params),
            p=m["p"], micro_batch=m["micro_batch"], prefill_micro_batch=m["prefill_micro_batch"],
            batch=m["batch"], prefill_len=self.workload[0], decode_len=self.workload[1],
            mapping="default" if self.fixed_mapping and self.mapping == "explicit" else self.mapping,
            best_for=self.best_for, ep=m["e"])

    def canonical(self, params: Mapping[str, Any]) -> tuple:
        """A hashable key of the concrete point (clipped mapping values), for the evaluation cache."""
        vals = self.values(params)
        return tuple((k, _freeze(vals[k])) for k in sorted(vals))

    # ------------------------------------------------------------------ enqueue, grid, size
    def encode(self, design: Mapping[str, Any], file: Any = None) -> dict[str, Any]:
        """Params from a design given by dimension name / path / mapping key → concrete value.

        Keys may be the param name (``Chip.sram``, ``p#i``), the dotted path without the ``#i``
        suffix, or for the mapping ``batch``, ``p``, ``micro_batch``, ``prefill_micro_batch``.
        Dimensions not given are left to the sampler.
        """
        aliases = {}
        for d in self.dims:
            aliases[d.name] = d
            aliases[d.name.removesuffix("#i")] = d
            if d.section == MAPPING:
                aliases[d.path[0]] = d
        out = {}
        split = {}
        for key, value in design.items():
            d = aliases.get(key)
            if d is None:
                from llmhw.config.validate import suggest
                hint = suggest(key, sorted(aliases))
                raise ConfigError(file, str(key), problem="not a dimension of this search space"
                                  + (f" (did you mean {hint!r}?)" if hint else ""),
                                  allowed=", ".join(sorted(k for k in aliases if "#" not in k)))
            if d.kind == "split":
                split[d.path[0]] = value
                continue
            try:
                out[d.name] = d.encode(value)
            except ValueError as exc:
                raise ConfigError(file, str(key), value, problem=str(exc)) from None
        if split:
            out.update(self._encode_split(design, split, file))
        return out

    def _encode_split(self, design: Mapping[str, Any], split: dict, file: Any) -> dict[str, int]:
        """micro_batch / prefill_micro_batch values → the split exponents (needs the batch)."""
        if "batch" not in design:
            raise ConfigError(file, "batch", problem="micro-batches are given relative to the batch",
                              allowed="give batch too")
        out = {}
        whole = {"micro_batch": design["batch"],
                 "prefill_micro_batch": split.get("micro_batch", design["batch"])}
        names = {"micro_batch": "micro_batches_rel_log2", "prefill_micro_batch": "prefill_splits_log2"}
        if "micro_batch" in split and "p" not in design:
            raise ConfigError(file, "micro_batch", split["micro_batch"],
                              problem="the micro-batch count is encoded relative to the pipeline size",
                              allowed="give p too")
        for key, value in split.items():
            ratio = whole[key] / value if isinstance(value, int) and value > 0 else 0.5
            k = int(round(math.log2(ratio))) if ratio >= 1 else -1
            if k < 0 or 2 ** k != ratio:
                raise ConfigError(file, key, value, problem="must be a power of two dividing "
                                  + ("the batch" if key == "micro_batch" else "the micro-batch"))
            if key == "micro_batch":   # 2**k micro-batches = 2**(ceil(log2 p) + r)
                k -= _ceil_log2(design["p"])
            if not self.by_name[names[key]].distribution._contains(k):  # noqa: SLF001
                raise ConfigError(file, key, value, problem="outside the split dimension's range")
            out[names[key]] = k
        return out

    def normalise(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The canonical params of the point ``params`` decodes to.

        Clipping makes several param dicts decode to one point (e.g. every micro-batch split of a
        batch of 1); this returns the representative a design would be encoded as (:meth:`encode`:
        the unclipped exponents), so that a local move from it changes the point the way the
        encoding intends. Params that cannot be re-encoded are returned unchanged.
        """
        try:
            vals = self.values(params)
            design = {d.name: vals[d.name] for d in self.dims if d.section != MAPPING}
            design.update({d.path[0]: vals[d.path[0]] for d in self.dims if d.section == MAPPING})
            out = dict(params)
            out.update(self.encode(design))
            return out
        except (ConfigError, KeyError, ValueError, TypeError, IndexError):
            return dict(params)

    def grid(self) -> dict[str, list]:
        """The full grid of param values (GridSampler); UsageError if a dimension is a range."""
        return {d.name: d.grid() for d in self.dims}

    def size(self) -> int | None:
        """Number of distinct param combinations, or None if a range makes it continuous."""
        total = 1
        for d in self.dims:
            n = d.size()
            if n is None:
                return None
            total *= n
        return total

    def iter_grid(self) -> Iterable[dict[str, Any]]:
        g = self.grid()
        names = list(g)
        for combo in itertools.product(*(g[n] for n in names)):
            yield dict(zip(names, combo))

    def describe(self) -> list[dict]:
        return [d.describe() for d in self.dims]


def _freeze(v: Any) -> Any:
    if isinstance(v, dict):
        return tuple((k, _freeze(x)) for k, x in v.items())
    if isinstance(v, list):
        return tuple(_freeze(x) for x in v)
    return v
