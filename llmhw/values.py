"""Reading values of a concrete configuration (model.md notation), shared by every level.

"x is set" means present and not 0 / null / empty; an absent or null key takes the level's default.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


def is_set(value: Any) -> bool:
    """model.md notation: present and not 0 / null / empty."""
    return value is not None and value is not False and value != 0 and value != "" and value != [] and value != {}


def get_or_default(cfg: Mapping[str, Any], key: str, default: Any) -> Any:
    """``cfg[key]`` unless it is absent or null, then ``default``."""
    value = cfg.get(key)
    return default if value is None else value


@dataclass(frozen=True, kw_only=True)
class Checked:
    """Base of every evaluated object that can fail a check (chip, package, server, system).

    ``violations``: {constraint name: quantity − limit} (> 0 when violated, llmhw.violations);
    ``reasons``: one readable line per failed check; valid iff there is none.
    """

    violations: Mapping[str, float] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.reasons
