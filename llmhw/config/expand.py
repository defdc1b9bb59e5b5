"""Design-space expansion EXPAND and the system pre-processing (model.md §0).

EXPAND turns one mapping (a ``Chip``, ``Package`` or ``Server`` section, or a pre-processed system
configuration) into the ordered list of concrete configurations it stands for:

1. ``associated_explore: K`` — one configuration per label v in ``mapping[K]``: K gets v, every other
   key whose value is a mapping holding v as a key gets ``value[v]``, every other value is kept as it
   is (no further expansion; lists stay lists).
2. Otherwise each value that is a mapping is expanded recursively (giving a list of mappings) and a
   value that is not a list is wrapped in a one-element list. A list is a list of alternatives; a
   list of mappings is a list of alternatives whose insides are *not* expanded; a list of lists
   gives one alternative per inner list.
3. The result is the Cartesian product in file key order, the last key varying fastest.

Extension: a range mapping (``{low, high, step}``, :mod:`llmhw.config.ranges`) stands for the list
``Range(...).grid()``; a range without ``step`` cannot be enumerated and raises ConfigError.
Values keep their types (an integer ``area: 100`` stays ``100``). Every returned configuration is
an independent deep copy, so callers may modify it freely.
"""
from __future__ import annotations

import copy
import itertools
from typing import Any

from llmhw.errors import ConfigError

from .ranges import Range, is_range_mapping

ASSOCIATED_KEY = "associated_explore"

#: §0/§11.1: the [prefill, generate] lengths used when a system file gives no ``eval_len``. Stored
#: as a one-alternative list of one pair, so that EXPAND yields the pair itself.
DEFAULT_EVAL_LEN: list[list[int]] = [[128, 129]]

_CONTINUOUS = "a continuous range cannot be enumerated; give a step or use the search"


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def range_values(value: dict, file: Any = None, path: str = "") -> list:
    """The enumerated values of a range mapping (§0 extension); ConfigError if it has no step."""
    rng = Range(low=value["low"], high=value["high"], step=value.get("step"),
                log=bool(value.get("log", False)))
    if rng.step is None:
        raise ConfigError(file, path, value, problem=_CONTINUOUS,
                          allowed="{low, high, step} in an enumerated study")
    if not rng.step > 0:
        raise ConfigError(file, path, value, problem="a range step must be > 0",
                          allowed="a positive step")
    return rng.grid()


def _contains(mapping: dict, label: Any) -> bool:
    try:
        return label in mapping
    except TypeError:  # unhashable label (e.g. a list): never a key
        return False


def _expand_associated(mapping: dict, file: Any, path: str) -> list[dict]:
    key = mapping[ASSOCIATED_KEY]
    try:
        present = key in mapping
    except TypeError:
        present = False
    if not present or key == ASSOCIATED_KEY:
        raise ConfigError(file, _join(path, ASSOCIATED_KEY), key,
                          problem="names a key that is not in this mapping",
                          allowed=", ".join(str(k) for k in mapping if k != ASSOCIATED_KEY))
    labels = mapping[key]
    if is_range_mapping(labels):
        labels = range_values(labels, file, _join(path, key))
    elif not isinstance(labels, list):
        labels = [labels]
    out = []
    for label in labels:
        conf = {}
        for k, v in mapping.items():
            if k == ASSOCIATED_KEY:
                continue
            if k == key:
                conf[k] = label
            elif isinstance(v, dict) and _contains(v, label):
                conf[k] = v[label]
            else:
                conf[k] = v
        out.append(conf)
    return out


def _alternatives(value: Any, file: Any, path: str) -> list:
    if isinstance(value, dict):
        if is_range_mapping(value):
            return range_values(value, file, path)
        return _expand(value, file, path)
    if isinstance(value, list):
        return value
    return [value]


def _expand(mapping: dict, file: Any, path: str) -> list[dict]:
    if ASSOCIATED_KEY in mapping:
        return _expand_associated(mapping, file, path)
    keys = list(mapping)
    choices = [_alternatives(mapping[k], file, _join(path, k)) for k in keys]
    return [dict(zip(keys, combo)) for combo in itertools.product(*choices)]


def expand(mapping: dict, file: Any = None, path: str = "") -> list[dict]:
    """§0 EXPAND of ``mapping``: the ordered list of concrete configurations (deep copies).

    ``file`` and ``path`` (the dotted key path of ``mapping``) only serve error messages.
    """
    if not isinstance(mapping, dict):
        raise ConfigError(file, path, mapping, problem="expected a mapping to expand",
                          allowed="a mapping of keys to values")
    return [copy.deepcopy(conf) for conf in _expand(mapping, file, path)]


def preprocess_system(raw: dict, model: dict) -> dict:
    """§0 system pre-processing; returns a new mapping, ``raw`` is left untouched.

    ``workload.max_batch`` and then ``workload.eval_len`` (each if present) are copied to top-level
    keys — overwriting a top-level key of that name in place, else appended after all existing keys —
    and ``workload`` is removed. If there is no ``eval_len`` at all, ``eval_len: [[128, 129]]`` is
    appended (the default of §0/§11.1, as one alternative so the product is unchanged and downstream
    code always finds the key; a bare ``[128, 129]`` in an ``associated_explore`` system, where
    values are used as given). Finally ``model`` (the inner ``Model`` mapping) is appended as the
    last key, so it is expanded too.
    """
    out = {k: v for k, v in raw.items() if k not in ("workload", "model", "serving")}  # serving: not expanded
    workload = raw.get("workload")
    if isinstance(workload, dict):
        for key in ("max_batch", "eval_len"):
            if key in workload:
                out[key] = workload[key]
    if "eval_len" not in out:
        # in an associated_explore system values are used as given: the bare pair
        out["eval_len"] = copy.deepcopy(DEFAULT_EVAL_LEN[0] if ASSOCIATED_KEY in out
                                        else DEFAULT_EVAL_LEN)
    out["model"] = model
    return out
