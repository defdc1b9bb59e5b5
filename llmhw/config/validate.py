"""Schema validation of the raw (unexpanded) input trees (model.md §0, §2–§6, §8, §10, §11.1).

Validation follows the shape EXPAND gives a value (§0), so that every configuration the expansion
can produce is checked once, before any expansion:

- in a mapping that EXPAND expands, a value is a single value, a list of alternatives (not empty,
  no duplicates; a list of mappings is a list of alternatives whose insides are used as given), a
  range mapping ``{low, high, step, log}`` for a numeric key, or — for a key holding a sub-section
  such as ``pkg2pkg_io`` — a mapping that is itself expanded;
- in an ``associated_explore: K`` mapping, ``K`` holds the list of labels and every other value is
  either used as given or is a ``{label: value}`` mapping with one value per label;
- technology constants are never expanded: every value is a single value.

Every problem raises :class:`~llmhw.errors.ConfigError` with a dotted key path such as
``Chip.pkg2pkg_io.bandwidth_per_io`` or ``Package.hbm[0].bit_rate``.
"""
from __future__ import annotations

import difflib
import math
from typing import Any

from llmhw.errors import ConfigError
from llmhw.values import is_set

from .expand import ASSOCIATED_KEY, expand
from .ranges import RANGE_KEYS, is_range_mapping
from .schema import (ANY, BOOL, CONSTANTS_TOP, ENUM, EVAL_LEN, HARDWARE_SECTIONS, HARDWARE_TOP,
                     INT, LABEL, MODEL_TOP, NUM, SECTION, SIZING_KEYS, STR, SYSTEM, THRESHOLDS,
                     WORKLOAD, Field, Section)

_MISSING = object()
_AS_GIVEN = ("inside an associated_explore block every value other than the explored key is used as "
             "given (no lists of alternatives, no ranges)")
_EVAL_LEN_ALLOWED = "a list of [prefill_len, generate_len] pairs of positive integers, e.g. [[256, 64]]"
_MAX_CROSS_COMBOS = 100_000


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _identity(value: Any) -> Any:
    """A hashable key equal for two alternatives exactly when they are ``==`` and both or neither
    are booleans (``True == 1`` in Python, but not as alternatives)."""
    if isinstance(value, dict):
        return ("dict", frozenset((_identity(k), _identity(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("list", tuple(_identity(v) for v in value))
    if _hashable(value):
        return (isinstance(value, bool), value)
    return ("repr", repr(value))


def suggest(word: Any, candidates: list[str]) -> str | None:
    """The closest candidate to ``word`` (case-insensitive match first), or None."""
    word = str(word)
    for cand in candidates:
        if cand.lower() == word.lower():
            return cand
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in candidates}
        close = [lowered[m] for m in difflib.get_close_matches(word.lower(), list(lowered), n=1,
                                                                 cutoff=0.6)]
    if not close and len(word) >= 3:  # an abbreviation or a truncated key: fma -> fma_fp16
        close = [c for c in candidates if c.lower().startswith(word.lower())][:1]
    return close[0] if close else None


class _Checker:
    """Walks one file's tree; every check raises ConfigError naming ``file``."""

    def __init__(self, file: Any):
        self.file = str(file) if file is not None else "<input>"

    def fail(self, path: str, problem: str, value: Any = _MISSING, allowed: str = "") -> None:
        raise ConfigError(self.file, path, None if value is _MISSING else value, allowed, problem)

    # -- keys -----------------------------------------------------------------------------------

    def keys(self, mapping: dict, section: Section, path: str, *, associated: bool = False) -> None:
        """Unknown keys (with a did-you-mean) and missing required keys."""
        names = list(section.fields)
        for key in mapping:
            if key in section.fields or (associated and key == ASSOCIATED_KEY):
                continue
            if key == ASSOCIATED_KEY:
                self.fail(_join(path, key), "associated_explore is only honoured in a mapping that is "
                          "expanded, not inside a list of alternatives or a single-valued section",
                          allowed="move it to a mapping value")
            hint = suggest(key, names)
            problem = f"unknown key (did you mean {hint!r}?)" if hint else "unknown key"
            self.fail(_join(path, key), problem,
                      allowed=f"the keys of {section.title}: {', '.join(names)}")
        for key in section.required:
            if key not in mapping:
                self.fail(_join(path, key), "missing required key",
                          allowed=section.fields[key].describe())

    # -- expanded mappings ----------------------------------------------------------------------

    def expandable(self, value: Any, section: Section, path: str) -> None:
        """A mapping EXPAND expands (a hardware section, a system, a sub-section value)."""
        if not isinstance(value, dict) or is_range_mapping(value):
            self.fail(path, f"expected a mapping ({section.title})", value,
                      allowed="a mapping of keys to values")
        if ASSOCIATED_KEY in value:
            self.associated(value, section, path)
            return
        self.keys(value, section, path)
        for key, val in value.items():
            self.alternatives(val, section.fields[key], _join(path, key))

    def alternatives(self, value: Any, fld: Field, path: str) -> None:
        """A value of an expanded mapping: one value, a list of alternatives, a range, a sub-mapping."""
        if fld.kind == ANY:
            return
        if fld.kind == WORKLOAD:
            self.workload(value, fld, path, as_given=False)
            return
        if isinstance(value, dict):
            if fld.kind == SECTION:
                self.expandable(value, fld.section, path)
            elif is_range_mapping(value):
                self.range(value, fld, path)
            else:
                self.concrete(value, fld, path)
            return
        if isinstance(value, list):
            if fld.kind == EVAL_LEN and any(not isinstance(item, list) for item in value):
                self.fail(path, "eval_len must be a list of pairs (a flat list would be a list of "
                          "alternatives)", value, _EVAL_LEN_ALLOWED)
            self.alternative_list(value, fld, path)
            return
        self.concrete(value, fld, path)

    def alternative_list(self, items: list, fld: Field, path: str, hint: str = "") -> None:
        if not items:
            self.fail(path, "empty list of alternatives", items, f"at least one value: {fld.describe()}")
        seen: dict[Any, int] = {}
        for i, item in enumerate(items):
            j = seen.setdefault(_identity(item), i)   # one pass: a long list is checked in linear time
            if j != i:
                self.fail(f"{path}[{i}]", f"duplicate alternative (same as [{j}])", item,
                          "each alternative once")
            self.concrete(item, fld, f"{path}[{i}]", hint)

    def associated(self, mapping: dict, section: Section, path: str) -> None:
        """§0 EXPAND step 1: ``associated_explore: K``."""
        key_path = _join(path, ASSOCIATED_KEY)
        explored = mapping[ASSOCIATED_KEY]
        names = list(section.fields)
        if not isinstance(explored, str) or explored not in section.fields:
            hint = suggest(explored, names) if isinstance(explored, str) else None
            self.fail(key_path, "must name a key of this section"
                      + (f" (did you mean {hint!r}?)" if hint else ""), explored,
                      f"one of {', '.join(names)}")
        if explored not in mapping:
            self.fail(key_path, f"names {explored!r}, which this mapping does not give", explored,
                      "a key present in the mapping, holding the list of labels")
        self.keys(mapping, section, path, associated=True)
        fld = section.fields[explored]
        labels_path = _join(path, explored)
        labels = mapping[explored]
        if isinstance(labels, dict) and is_range_mapping(labels):
            self.range(labels, fld, labels_path)
            if labels.get("step") is None:
                self.fail(labels_path, "a continuous range cannot be enumerated; give a step or use "
                          "the search", labels, "a list of labels or a range with a step")
            labels = expand({"v": labels}, self.file, labels_path)
            labels = [conf["v"] for conf in labels]
        elif isinstance(labels, list):
            self.alternative_list(labels, fld, labels_path)
        else:
            self.fail(labels_path, "the explored key must hold the list of labels", labels,
                      "a list of values")
        keyed = all(_hashable(lbl) for lbl in labels)
        for key, val in mapping.items():
            if key in (ASSOCIATED_KEY, explored):
                continue
            fkey, kpath = section.fields[key], _join(path, key)
            if (keyed and isinstance(val, dict) and not is_range_mapping(val)
                    and any(_hashable(k) and k in labels for k in val)):
                for lbl in labels:
                    if lbl not in val:
                        self.fail(kpath, f"no value for label {lbl!r}", val,
                                  "one value per explored label: "
                                  + ", ".join(repr(x) for x in labels))
                for lbl in val:
                    if not (_hashable(lbl) and lbl in labels):
                        self.fail(_join(kpath, lbl), f"{lbl!r} is not an explored label",
                                  allowed=", ".join(repr(x) for x in labels))
                for lbl in labels:
                    self.concrete(val[lbl], fkey, _join(kpath, lbl), _AS_GIVEN)
            else:
                self.concrete(val, fkey, kpath, _AS_GIVEN)

    def range(self, value: dict, fld: Field, path: str) -> None:
        """A range mapping ``{low, high, step, log}`` (llmhw.config.ranges) for a numeric key."""
        if fld.kind not in (NUM, INT):
            self.fail(path, "a range is only allowed for a numeric key", value, fld.describe())
        noun = "an integer" if fld.kind == INT else "a number"
        for part in ("low", "high"):
            v = value[part]
            if not _is_number(v) or (fld.kind == INT and not isinstance(v, int)) \
                    or (isinstance(v, float) and not math.isfinite(v)):
                self.fail(_join(path, part), f"range bound must be {noun} (finite)", v, fld.describe())
        low, high = value["low"], value["high"]
        step, log = value.get("step"), value.get("log", False)
        if step is not None:
            if not _is_number(step) or (fld.kind == INT and not isinstance(step, int)):
                self.fail(_join(path, "step"), f"range step must be {noun}", step, f"{noun} > 0")
            if not step > 0 or not math.isfinite(step):
                self.fail(_join(path, "step"), "range step must be > 0 and finite", step, f"{noun} > 0")
        if not isinstance(log, bool):
            self.fail(_join(path, "log"), "expected true or false", log, "true or false")
        if low > high:
            self.fail(path, "range low is greater than high", value, "low <= high")
        if log and low <= 0:
            self.fail(_join(path, "low"), "a log range needs low > 0", low, "low > 0 with log: true")
        if log and step is not None:
            self.fail(path, "a log range cannot have a step", value, "either step or log: true")
        if fld.bound is not None:
            for part in ("low", "high"):
                if not fld.bound.holds(value[part]):
                    self.fail(_join(path, part), f"must be {fld.bound.text()}", value[part],
                              fld.describe())

    def workload(self, value: Any, fld: Field, path: str, *, as_given: bool) -> None:
        """The system's ``workload`` mapping, copied to top-level keys by §0 pre-processing."""
        if not isinstance(value, dict) or is_range_mapping(value):
            self.fail(path, "expected a mapping", value, fld.describe())
        if ASSOCIATED_KEY in value:
            self.fail(_join(path, ASSOCIATED_KEY), "not supported inside workload (its keys are "
                      "copied to the top level)", allowed="associated_explore at the top level")
        self.keys(value, fld.section, path)
        for key, val in value.items():
            sub = fld.section.fields[key]
            if as_given:
                self.concrete(val, sub, _join(path, key), _AS_GIVEN)
            else:
                self.alternatives(val, sub, _join(path, key))

    # -- single values --------------------------------------------------------------------------

    def concrete(self, value: Any, fld: Field, path: str, hint: str = "") -> None:
        """One concrete value of ``fld`` (an alternative, or a value used as given)."""
        kind = fld.kind
        if kind == ANY:
            return
        if value is None:
            if fld.nullable:
                return
            self.fail(path, "must not be null" + ("" if fld.required else
                                                   "; omit the key to use the default"),
                      allowed=fld.describe())
        hint_text = f"; {hint}" if hint and isinstance(value, (list, dict)) else ""
        if kind in (NUM, INT):
            if not _is_number(value) or (kind == INT and not isinstance(value, int)):
                if is_range_mapping(value):
                    self.fail(path, "a range is not allowed here"
                              + (f"; {hint}" if hint else " (not inside a list of alternatives)"),
                              value, fld.describe())
                if isinstance(value, dict) and set(value) & RANGE_KEYS:
                    self.fail(path, "malformed range (a range has low, high and optionally step, "
                              "log)", value, fld.describe())
                noun = "an integer" if kind == INT else "a number"
                self.fail(path, f"expected {noun}{hint_text}", value, fld.describe())
            if isinstance(value, float) and math.isnan(value):
                self.fail(path, "not a number", value, fld.describe())
            if isinstance(value, float) and math.isinf(value):
                self.fail(path, "must be finite", value, fld.describe())
            if fld.bound is not None and not fld.bound.holds(value):
                self.fail(path, f"must be {fld.bound.text()}", value, fld.describe())
        elif kind == BOOL:
            if not isinstance(value, bool):
                self.fail(path, f"expected true or false{hint_text}", value, fld.describe())
        elif kind == STR:
            if not isinstance(value, str):
                self.fail(path, f"expected a string{hint_text}", value, fld.describe())
        elif kind == LABEL:
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                self.fail(path, f"expected a string or a number{hint_text}", value, fld.describe())
        elif kind == ENUM:
            if not isinstance(value, str) or value not in fld.choices:
                near = suggest(value, list(fld.choices)) if isinstance(value, str) else None
                self.fail(path, "unknown value" + (f" (did you mean {near!r}?)" if near else "")
                          + hint_text, value, fld.describe())
        elif kind == SECTION:
            if not isinstance(value, dict) or is_range_mapping(value):
                self.fail(path, f"expected a mapping{hint_text}", value, fld.describe())
            self.section_as_given(value, fld.section, path)
        elif kind == EVAL_LEN:
            if not (isinstance(value, list) and len(value) == 2
                    and all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in value)):
                self.fail(path, "expected a [prefill_len, generate_len] pair of positive integers",
                          value, _EVAL_LEN_ALLOWED)
        elif kind == WORKLOAD:
            self.workload(value, fld, path, as_given=True)
        elif kind == THRESHOLDS:
            self.thresholds(value, fld, path)
        if fld.check is not None:
            problem = fld.check(value)
            if problem:
                self.fail(path, problem, value, fld.describe())

    def section_as_given(self, mapping: dict, section: Section, path: str) -> None:
        """A mapping used as given (a list-of-mappings alternative, a constants section)."""
        self.keys(mapping, section, path)
        for key, val in mapping.items():
            self.concrete(val, section.fields[key], _join(path, key),
                          "this mapping is used as given (no lists of alternatives, no ranges)")

    def thresholds(self, value: Any, fld: Field, path: str) -> None:
        """§2.2 ``os_layer_scale_factor``: ordered {area threshold: factor}, thresholds descending."""
        if not isinstance(value, dict) or not value:
            self.fail(path, "expected a non-empty mapping", value, fld.describe())
        previous = None
        for threshold, factor in value.items():
            kpath = _join(path, threshold)
            if not _is_number(threshold) or not threshold >= 0 or not math.isfinite(threshold):
                self.fail(kpath, "threshold must be a number >= 0", threshold, fld.describe())
            if not _is_number(factor) or not factor > 0 or not math.isfinite(factor):
                self.fail(kpath, "factor must be a number > 0", factor, fld.describe())
            if previous is not None and not threshold < previous:
                self.fail(kpath, "thresholds must be listed in descending order (the first one "
                          "below the package area applies, §16.1 #18)", threshold, fld.describe())
            previous = threshold

    # -- cross-field checks ---------------------------------------------------------------------

    def model_heads(self, model: dict, path: str, strict_heads: bool) -> None:
        """§10: d_head defaults to d // num_heads; G_kv must divide num_heads."""
        keys = ("d", "num_heads", "d_head", "heads_per_kv_cache")
        explored = model.get(ASSOCIATED_KEY)
        sub = {k: v for k, v in model.items() if k in keys or k == explored}
        if explored is not None:
            sub[ASSOCIATED_KEY] = explored
        sizes = [len(v) if isinstance(v, list) else 1 for v in sub.values()]
        if math.prod(sizes) > _MAX_CROSS_COMBOS:
            return
        try:
            combos = expand(sub, self.file, path)
        except ConfigError:  # a continuous range: checked when the search samples it
            return
        for conf in combos:
            d, heads = conf.get("d"), conf.get("num_heads")
            d_head, group = conf.get("d_head"), conf.get("heads_per_kv_cache", 1)
            if not (isinstance(d, int) and isinstance(heads, int) and heads > 0):
                continue
            if d_head is None:
                if d // heads == 0:
                    self.fail(_join(path, "d"), f"d is smaller than num_heads={heads} (d_head "
                              "would be 0)", d, "d >= num_heads, or an explicit d_head")
                if strict_heads and d % heads:
                    self.fail(_join(path, "d"), f"not divisible by num_heads={heads} and no d_head "
                              f"is given (the reference uses d // num_heads = {d // heads}; "
                              "set d_head to accept that)", d,
                              "a multiple of num_heads, or an explicit d_head")
            if isinstance(group, int) and group > 0 and heads % group:
                self.fail(_join(path, "num_heads"), f"not divisible by heads_per_kv_cache={group}",
                          heads, "a multiple of heads_per_kv_cache")

    def model_modern(self, model: dict, path: str) -> None:
        """docs/models.md §M1: an MoE model routes 1 ≤ top-k ≤ E experts; MLA needs its RoPE key width."""
        def val(key: str) -> Any:
            v = model.get(key, 0)
            return v if _is_number(v) else None        # a list or a range: checked per sampled value

        experts, top_k = val("num_experts"), val("experts_per_token")
        if experts and top_k is not None and not 1 <= top_k <= experts:
            self.fail(_join(path, "experts_per_token"), f"must be between 1 and num_experts={experts}",
                      top_k, "an integer in [1, num_experts] for an MoE model")
        if not experts:
            for key in ("experts_per_token", "num_shared_experts", "first_dense_layers"):
                if val(key):
                    self.fail(_join(path, key), "set without num_experts", model[key],
                              "num_experts > 0 (an MoE model), or omit the key")
        if val("kv_lora_rank") and not val("qk_rope_head_dim"):
            self.fail(_join(path, "qk_rope_head_dim"), "missing for an MLA model (kv_lora_rank is set)",
                      allowed="the RoPE key width, e.g. 64")
        if val("full_attention_every") and not val("sliding_window"):
            self.fail(_join(path, "full_attention_every"), "set without sliding_window",
                      model["full_attention_every"], "a sliding_window > 0, or omit the key")

    def system_sizing(self, system: dict) -> None:
        """§11.2: some combination must set num_servers, max_tco, kv_cache_ratio or max_ctx_len."""

        def unset(v: Any) -> bool:
            return v is None or v == 0 or v is False

        explored = system.get(ASSOCIATED_KEY)
        if explored is not None:
            labels = system.get(explored)
            labels = labels if isinstance(labels, list) else []
            for lbl in labels:
                values = []
                for key in SIZING_KEYS:
                    if key == explored:
                        values.append(lbl)
                    elif key not in system:
                        values.append(None)
                    else:
                        v = system[key]
                        values.append(v.get(lbl) if isinstance(v, dict) and _hashable(lbl)
                                      and lbl in v else v)
                if all(not isinstance(v, (list, dict)) and unset(v) for v in values):
                    self._sizing_fail()
            return

        def may_be_unset(key: str) -> bool:
            if key not in system:
                return True
            v = system[key]
            if isinstance(v, list):
                return any(not isinstance(x, (list, dict)) and unset(x) for x in v)
            if isinstance(v, dict):
                return False
            return unset(v)

        if all(may_be_unset(k) for k in SIZING_KEYS):
            self._sizing_fail()

    def memory_stacks(self, raw: dict) -> None:
        """§6: a chip with HBM channels needs the package's ``hbm`` stack, a chip with 3D vaults its
        ``mem_3d`` vault. Checked over every value the chip key can take: a missing stack would make
        every such design fail to build (never a scored, merely infeasible design)."""
        chip, package = raw.get("Chip"), raw.get("Package")
        if not isinstance(chip, dict) or not isinstance(package, dict):
            return
        for count_key, stack_key, what in (("hbm_channels", "hbm", "an HBM stack"),
                                           ("mem_3d_vaults", "mem_3d", "a 3D memory vault")):
            largest = _largest(chip.get(count_key))
            if largest is not None and largest > 0 and not _may_be_set(package.get(stack_key)):
                self.fail(_join("Package", stack_key), f"missing, but Chip.{count_key} can be {largest:g}: a "
                          f"chip with {count_key} > 0 needs {what} in its package (§6), every such design "
                          "would fail to build", package.get(stack_key, _MISSING),
                          f"a Package.{stack_key} entry, or Chip.{count_key}: 0")

    def chip_mode(self, raw: dict) -> None:
        """§3.1: a chip is given by (perf, sram) — mode A — or by (area, mac_ratio) — mode B."""
        chip = raw.get("Chip")
        if not isinstance(chip, dict):
            return
        mode_a = _may_be_set(chip.get("perf")) and "sram" in chip
        mode_b = _may_be_set(chip.get("area")) and _may_be_set(chip.get("mac_ratio"))
        if not (mode_a or mode_b):
            self.fail("Chip", "defines neither perf and sram (mode A) nor area and mac_ratio (mode B) (§3.1): "
                      "no design could be built", allowed="Chip.perf and Chip.sram, or Chip.area and Chip.mac_ratio")

    def sub_system(self, system: dict) -> None:
        """§14: with dynamic prefill (sub_sys_num_servers s < num_servers, no default_mapping), s must
        divide num_servers. Checked when num_servers is given (not sized by kv_cache_ratio /
        max_ctx_len_batch_1)."""
        if (ASSOCIATED_KEY in system or _may_be_set(system.get("default_mapping"))
                or _may_be_set(system.get("kv_cache_ratio")) or _may_be_set(system.get("max_ctx_len_batch_1"))):
            return
        subs, servers = system.get("sub_sys_num_servers"), system.get("num_servers")
        subs = subs if isinstance(subs, list) else [subs]
        servers = servers if isinstance(servers, list) else [servers]
        for s in subs:
            for ns in servers:
                if isinstance(s, int) and isinstance(ns, int) and 0 < s < ns and ns % s:
                    self.fail("sub_sys_num_servers", f"does not divide num_servers {ns} (dynamic prefill splits "
                              "the system into equal sub-systems, §14): every such design would fail", s,
                              "a divisor of every num_servers value it is smaller than, or a default_mapping")
    def rental(self, system: dict) -> None:
        """docs/tco-modes.md: ``tco_mode: rented`` needs a price and the corrected mode."""
        modes = system.get("tco_mode", "owned")
        if "rented" not in (modes if isinstance(modes, list) else [modes]):
            return
        if "rent_usd_per_chip_hour" not in system:
            self.fail("rent_usd_per_chip_hour", "required with tco_mode: rented",
                      allowed="a price in $ per chip-hour > 0, e.g. 3.22")
        if system.get("compat") == "reference":
            self.fail("tco_mode", "the rented TCO exists only with compat: corrected", "rented",
                      "owned with compat: reference")

    def _sizing_fail(self) -> None:
        self.fail("num_servers", "the system size is undetermined (in at least one combination none "
                  "of num_servers, max_tco, kv_cache_ratio, max_ctx_len_batch_1 is set, §11.2)",
                  allowed="set num_servers or max_tco, or size by kv_cache_ratio / max_ctx_len_batch_1")


def _largest(value: Any) -> float | None:
    """The largest number a key can take: a value, a list of alternatives, a range, {label: value}."""
    if _is_number(value):
        return value
    if isinstance(value, dict):
        values = [value["high"]] if is_range_mapping(value) and "high" in value else list(value.values())
    elif isinstance(value, list):
        values = value
    else:
        return None
    numbers = [v for v in values if _is_number(v)]
    return max(numbers) if numbers else None


def _may_be_set(value: Any) -> bool:
    """A section that is set (not missing, null or empty) in at least one alternative."""
    if isinstance(value, list):
        return any(is_set(v) for v in value)
    return is_set(value)


# -------------------------------------------------------------------------------------------------
# Public entry points (one per file kind)


def _top(checker: _Checker, raw: Any, top: Section) -> None:
    if not isinstance(raw, dict):
        checker.fail("", f"the top level must be a mapping ({top.title})", type(raw).__name__,
                     "a YAML mapping")
    checker.keys(raw, top, "")


def validate_hardware(raw: dict, file: Any = None) -> None:
    """Validate a hardware configuration (§0, §3.1, §4, §5, §6.1, §8.1); raises ConfigError."""
    checker = _Checker(file)
    _top(checker, raw, HARDWARE_TOP)
    if "Name" in raw:
        checker.concrete(raw["Name"], HARDWARE_TOP.fields["Name"], "Name")
    for name, section in HARDWARE_SECTIONS.items():
        checker.expandable(raw[name], section, name)
    checker.chip_mode(raw)
    checker.memory_stacks(raw)


def validate_constants(raw: dict, file: Any = None) -> None:
    """Validate a technology-constants file (§2): every key of §2 not marked optional is required."""
    checker = _Checker(file)
    _top(checker, raw, CONSTANTS_TOP)
    for name, fld in CONSTANTS_TOP.fields.items():
        section = raw[name]
        if not isinstance(section, dict):
            checker.fail(name, f"expected a mapping ({fld.section.title})", section,
                         "a mapping of keys to values")
        checker.section_as_given(section, fld.section, name)
    server = raw["Server"]
    if server["LaneAreaMin"] > server["LaneAreaMax"]:
        checker.fail("Server.LaneAreaMin", f"greater than LaneAreaMax={server['LaneAreaMax']}",
                     server["LaneAreaMin"], "LaneAreaMin <= LaneAreaMax")


def validate_model(raw: dict, file: Any = None, *, strict_heads: bool = True) -> None:
    """Validate a model file (§10, top-level key ``Model``); raises ConfigError.

    With ``strict_heads`` (the default) a ``d`` not divisible by ``num_heads`` without an explicit
    ``d_head`` is an error; ``strict_heads=False`` accepts it (d_head = d // num_heads, as the
    reference does — needed for the shipped gopher.yaml, d = 16328, 128 heads).
    """
    checker = _Checker(file)
    _top(checker, raw, MODEL_TOP)
    checker.expandable(raw["Model"], MODEL_TOP.fields["Model"].section, "Model")
    checker.model_heads(raw["Model"], "Model", strict_heads)
    checker.model_modern(raw["Model"], "Model")


def concrete_model(model: dict, file: Any = None) -> dict:
    """The one model configuration of a validated ``Model`` mapping (a search studies one model).

    Single-element lists are unwrapped; a list of alternatives (or a range, or an associated_explore
    bundle) with more than one value raises ConfigError naming its key.
    """
    try:
        confs = expand(model, file, "Model")
    except ConfigError:
        confs = []
    if len(confs) == 1:
        return confs[0]
    for key, value in model.items():
        if key == ASSOCIATED_KEY or isinstance(value, (list, dict)):
            shown = model.get(value) if key == ASSOCIATED_KEY and _hashable(value) else value
            raise ConfigError(file, _join("Model", value if key == ASSOCIATED_KEY else key), shown,
                              problem="a search studies one model: lists of alternatives and "
                                      "ranges of model keys are not search dimensions",
                              allowed="a single value (run one study per model)")
    raise ConfigError(file, "Model", problem="expected one model configuration",
                      allowed="a single value per key")  # pragma: no cover


def validate_system(raw: dict, file: Any = None) -> None:
    """Validate a system configuration (§11.1, §12.2, ``workload`` of §0); raises ConfigError."""
    checker = _Checker(file)
    if not isinstance(raw, dict):
        checker.fail("", "the top level must be a mapping (a system configuration)",
                     type(raw).__name__, "a YAML mapping")
    checker.expandable(raw, SYSTEM, "")
    checker.system_sizing(raw)
    checker.sub_system(raw)
    checker.rental(raw)


def validate_measurements(raw: Any, file: Any = None) -> None:
    """Validate a measurement file for ``--validate`` (docs/validation.md §V.10); raises ConfigError."""
    from .schema import GEMM_MICROBENCHMARK, MEASURED_POINT, MEASUREMENTS_TOP
    checker = _Checker(file)
    _top(checker, raw, MEASUREMENTS_TOP)
    for key, fld in MEASUREMENTS_TOP.fields.items():
        if key in raw and fld.kind != ANY:
            checker.concrete(raw[key], fld, key)
    lists = (("microbenchmarks.gemm", raw["microbenchmarks"]["gemm"], GEMM_MICROBENCHMARK),
             ("points", raw["points"], MEASURED_POINT))
    for path, items, section in lists:
        if not isinstance(items, list) or not items:
            checker.fail(path, "expected a non-empty list", items, section.title + " per item")
        for i, item in enumerate(items):
            where = f"{path}[{i}]"
            if not isinstance(item, dict):
                checker.fail(where, "expected a mapping", item, section.title)
            checker.section_as_given(item, section, where)
    for i, pt in enumerate(raw["points"]):
        need = "context" if pt["phase"] == "decode" else "prompt"
        if pt.get(need) is None:
            checker.fail(f"points[{i}].{need}", f"missing required key for a {pt['phase']} point",
                         allowed=MEASURED_POINT.fields[need].describe())
    if not any(pt["use"] == "calibrate" for pt in raw["points"]):
        checker.fail("points", "no point has use: calibrate", allowed="at least one calibration point")
