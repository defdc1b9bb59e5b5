"""Loading validated input files: hardware, constants, model, system (model.md §0, §2, §10, §11.1).

Each loader reads the file (:mod:`llmhw.config.loader`), validates the raw tree
(:mod:`llmhw.config.validate`) and returns it; hardware and system configurations are expanded with
§0 EXPAND (:mod:`llmhw.config.expand`) on demand, so that a file holding continuous ranges (for the
search) loads fine and only fails if someone tries to enumerate it.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from llmhw.errors import ConfigError

from .expand import expand, preprocess_system
from .loader import load_yaml_text, read_text
from .validate import validate_constants, validate_hardware, validate_model, validate_system

DEFAULT_MODEL_DIR = "inputs/software/model"


@dataclass(frozen=True, eq=False)
class HardwareConfig:
    """A validated hardware configuration file (§0) and its expanded sections.

    ``chips``, ``packages`` and ``servers`` are the EXPAND lists of the ``Chip``, ``Package`` and
    ``Server`` sections, in order; computed on first access (ConfigError for a range without step).
    Compared and hashed by identity (``raw`` is a dict).
    """
    path: str
    text: str
    raw: dict

    @property
    def name(self) -> Any:
        """The ``Name`` key (informational; §0 ignores it), or the file stem."""
        return self.raw.get("Name", Path(self.path).stem)

    @cached_property
    def chips(self) -> list[dict]:
        return expand(self.raw["Chip"], self.path, "Chip")

    @cached_property
    def packages(self) -> list[dict]:
        return expand(self.raw["Package"], self.path, "Package")

    @cached_property
    def servers(self) -> list[dict]:
        return expand(self.raw["Server"], self.path, "Server")


@dataclass(frozen=True, eq=False)
class SystemConfig:
    """A validated system configuration file (§11.1); expand it with :func:`expand_system`."""
    path: str
    text: str
    raw: dict

    def expand(self, model: dict) -> list[dict]:
        """The expanded system configurations for ``model`` (see :func:`expand_system`)."""
        return expand_system(self.raw, model, self.path)


def load_hardware(path: Any) -> HardwareConfig:
    """Read and validate a hardware configuration file."""
    text = read_text(path)
    raw = load_yaml_text(text, path)
    validate_hardware(raw, path)
    return HardwareConfig(path=str(path), text=text, raw=raw)


def load_constants(path: Any) -> dict:
    """Read and validate a technology-constants file (§2); returns its five sections."""
    raw = load_yaml_text(read_text(path), path)
    validate_constants(raw, path)
    return raw


def resolve_model_path(name_or_path: Any, model_dir: Any = DEFAULT_MODEL_DIR) -> Path:
    """A model file path: ``name_or_path`` itself if it names a file or looks like a path, else
    ``<model_dir>/<name>.yaml``; an unknown name raises ConfigError listing the available names."""
    given = Path(name_or_path)
    if given.is_file() or given.suffix in (".yaml", ".yml") or len(given.parts) > 1:
        return given
    candidate = Path(model_dir) / f"{name_or_path}.yaml"
    if candidate.is_file():
        return candidate
    folder = Path(model_dir)
    names = sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []
    from .validate import suggest
    hint = suggest(str(name_or_path), names) if names else None
    raise ConfigError(folder, "", str(name_or_path), problem="unknown model",
                      allowed=(", ".join(names) + (f"; did you mean {hint!r}?" if hint else ""))
                      if names else f"no *.yaml model files in {folder}")


def load_model(name_or_path: Any, model_dir: Any = DEFAULT_MODEL_DIR, *,
               strict_heads: bool = True) -> dict:
    """The validated inner ``Model`` mapping (§10) of a model given by name or path.

    See :func:`~llmhw.config.validate.validate_model` for ``strict_heads``.
    """
    path = resolve_model_path(name_or_path, model_dir)
    raw = load_yaml_text(read_text(path), path)
    validate_model(raw, path, strict_heads=strict_heads)
    return raw["Model"]


def load_system(path: Any) -> SystemConfig:
    """Read and validate a system configuration file."""
    text = read_text(path)
    raw = load_yaml_text(text, path)
    validate_system(raw, path)
    return SystemConfig(path=str(path), text=text, raw=raw)


def expand_system(system_raw: dict, model: dict, file: Any = None) -> list[dict]:
    """§0: pre-process the system (workload keys, default eval_len, model last) then EXPAND.

    Each result holds every system key plus ``max_batch`` (if given), ``eval_len`` (a
    [prefill, generate] pair) and ``model`` (one concrete model mapping), in product order.
    """
    return expand(preprocess_system(system_raw, model), file)
