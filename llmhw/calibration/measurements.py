"""A measurement file (validation/*.yaml): microbenchmarks and measured points of one machine."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmhw.config.loader import load_yaml
from llmhw.config.validate import validate_measurements


@dataclass(frozen=True)
class GemmBench:
    """One bf16 GEMM (m×k)@(k×n) and its measured seconds per call."""
    m: int
    n: int
    k: int
    measured_s: float


@dataclass(frozen=True)
class MeasuredPoint:
    """A decode step (``context`` tokens cached per sequence) or a prefill of ``prompt`` tokens, for ``batch``
    sequences; ``use`` is 'calibrate' (may be fitted) or 'check' (prediction only)."""
    phase: str
    batch: int
    context: int | None
    prompt: int | None
    measured_s: float
    use: str

    @property
    def label(self) -> str:
        shape = f"context {self.context}" if self.phase == "decode" else f"prompt {self.prompt}"
        return f"{self.phase} b{self.batch} {shape}"


@dataclass(frozen=True)
class Measurements:
    path: str
    device: str
    hardware: str
    model: str
    system: str
    gemm: tuple[GemmBench, ...]
    copy_bytes_per_s: float
    points: tuple[MeasuredPoint, ...]

    @property
    def stem(self) -> str:
        return Path(self.path).stem


def load_measurements(path: Any) -> Measurements:
    """Read and validate a measurement file; a malformed file raises ConfigError (one line, exit 2)."""
    raw = load_yaml(path)
    validate_measurements(raw, path)
    mb = raw["microbenchmarks"]
    gemm = tuple(GemmBench(g["m"], g["n"], g["k"], float(g["s"])) for g in mb["gemm"])
    points = tuple(MeasuredPoint(p["phase"], p["batch"], p.get("context"), p.get("prompt"), float(p["s"]), p["use"])
                   for p in raw["points"])
    return Measurements(path=str(path), device=str(raw.get("device", "")), hardware=raw["hardware"],
                        model=raw["model"], system=raw["system"], gemm=gemm,
                        copy_bytes_per_s=float(mb["copy_bytes_per_s"]), points=points)
