"""The range form of a search dimension: ``{low: 100, high: 800, step: 50}`` or ``{low: 1e12, high: 1e15, log: true}``.

Usable in any numeric field of a hardware or system config. The exhaustive mode enumerates a range that
has a ``step`` (low, low+step, ... ≤ high); the search hands it to the sampler as an int/float distribution.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RANGE_KEYS = frozenset({"low", "high", "step", "log"})


@dataclass(frozen=True)
class Range:
    low: float
    high: float
    step: float | None = None
    log: bool = False

    @property
    def is_int(self) -> bool:
        return (isinstance(self.low, int) and isinstance(self.high, int)
                and (self.step is None or isinstance(self.step, int)))

    def grid(self) -> list:
        """The enumerated values (requires ``step``), accumulated exactly as low + k*step."""
        if self.step is None:
            raise ValueError("a range without step cannot be enumerated")
        out, k = [], 0
        while True:
            v = self.low + k * self.step
            if v > self.high + (0 if self.is_int else 1e-12 * abs(self.high)):
                break
            out.append(v)
            k += 1
        return out


def is_range_mapping(value: Any) -> bool:
    """A mapping is the range form iff its keys are a subset of {low, high, step, log} holding low and high."""
    return (isinstance(value, dict) and "low" in value and "high" in value
            and set(value) <= RANGE_KEYS)
