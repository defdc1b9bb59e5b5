"""``--space FILE``: a spaces/*.yaml file overlays lists and ranges onto a base hardware/system config.

Format (every key optional)::

    description: free text
    base:                      # defaults for --hw / --sys when they are not given
      hw: inputs/hardware/config/chiplet_sram_only.yaml
      sys: inputs/software/system/chiplet_sram_only.yaml
    hardware:                  # merged into the hardware file
      Chip:
        sram: {low: 64.0e+6, high: 512.0e+6, log: true}
        pkg2pkg_io: {num: [2, 4, 8]}
    system:                    # merged into the system file
      num_servers: [8, 16, 32, 64]

Merge rule: a mapping merged into a mapping is merged key by key (recursively); anything else — a
scalar, a list, a range mapping ``{low, high, step?, log?}``, or a mapping replacing a non-mapping
(e.g. a list of HBM alternatives) — replaces the base value. ``null`` sets the key to null; the
string ``__delete__`` removes the key (e.g. ``default_mapping: __delete__`` lets the search choose
the mapping).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from llmhw.config import is_range_mapping, load_yaml_text
from llmhw.config.loader import read_text
from llmhw.errors import ConfigError

DELETE = "__delete__"
_TOP_KEYS = ("description", "base", "hardware", "system", "serving")   # serving: docs/serving.md §8


@dataclass(frozen=True)
class SpaceFile:
    path: str
    text: str
    raw: dict

    @property
    def base_hw(self) -> str | None:
        return (self.raw.get("base") or {}).get("hw")

    @property
    def base_sys(self) -> str | None:
        return (self.raw.get("base") or {}).get("sys")

    @property
    def serving(self) -> dict | None:
        """The ``serving:`` section (a serving study, llmhw.search.serving_space), or None."""
        return self.raw.get("serving")

    @property
    def description(self) -> str:
        return str(self.raw.get("description") or "").strip()


def parse_space_text(text: str, path: str) -> SpaceFile:
    raw = load_yaml_text(text, path)
    for key in raw:
        if key not in _TOP_KEYS:
            from llmhw.config.validate import suggest
            hint = suggest(key, list(_TOP_KEYS))
            raise ConfigError(path, str(key), problem="unknown key in a space file"
                              + (f" (did you mean {hint!r}?)" if hint else ""),
                              allowed=", ".join(_TOP_KEYS))
    for key in ("base", "hardware", "system", "serving"):
        if key in raw and raw[key] is not None and not isinstance(raw[key], dict):
            raise ConfigError(path, key, raw[key], problem="must be a mapping", allowed="a mapping")
    base = raw.get("base") or {}
    for key in base:
        if key not in ("hw", "sys"):
            raise ConfigError(path, f"base.{key}", problem="unknown key", allowed="hw, sys")
    hw = raw.get("hardware") or {}
    for key in hw:
        if key not in ("Chip", "Package", "Server", "Name"):
            raise ConfigError(path, f"hardware.{key}", problem="unknown hardware section",
                              allowed="Chip, Package, Server")
    return SpaceFile(path, text, raw)


def load_space(path: str) -> SpaceFile:
    return parse_space_text(read_text(path), str(path))


def merge(base: Any, overlay: Any) -> Any:
    """``overlay`` merged into a deep copy of ``base`` (see the module docstring)."""
    if (isinstance(base, dict) and isinstance(overlay, dict) and not is_range_mapping(overlay)
            and not is_range_mapping(base)):
        out = copy.deepcopy(base)
        for key, value in overlay.items():
            if value == DELETE:
                out.pop(key, None)
            elif key in out:
                out[key] = merge(out[key], value)
            else:
                out[key] = copy.deepcopy(value)
        return out
    return copy.deepcopy(overlay)


def apply(space: SpaceFile | None, hw_raw: dict, system_raw: dict) -> tuple[dict, dict]:
    """The overlaid (hardware, system) trees; the inputs are not modified."""
    if space is None:
        return copy.deepcopy(hw_raw), copy.deepcopy(system_raw)
    return (merge(hw_raw, space.raw.get("hardware") or {}),
            merge(system_raw, space.raw.get("system") or {}))
