"""A concrete serving design point: the deployment, its pools and the workload (docs/serving.md §6)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from .workload import ServingWorkload


@dataclass(frozen=True)
class PoolPoint:
    """One pool: a named hardware alternative made concrete, its system config and pipeline size p
    (t = the system's chips / p, §12.1 via :func:`llmhw.evaluate.explicit_mapping`)."""

    hardware: str
    chip: Mapping[str, Any]
    package: Mapping[str, Any]
    server: Mapping[str, Any]
    system: Mapping[str, Any]
    p: int


@dataclass(frozen=True)
class ServingPoint:
    """``mode`` aggregated: ``decode`` is the (only) pool, ``decode_instances`` copies, chunked prefill with
    ``chunk_tokens``; disaggregated: ``prefill_instances`` × prefill pool + ``decode_instances`` × decode pool,
    KV over ``kv_link`` ('server', 'package' or {bandwidth, latency})."""

    mode: str
    prefill: PoolPoint
    decode: PoolPoint
    prefill_instances: int
    decode_instances: int
    chunk_tokens: int
    workload: ServingWorkload
    kv_link: Any = "server"

    # the primary pool's configs, for consumers of a DesignPoint (memory pre-check, breakdown)
    @property
    def chip(self) -> Mapping[str, Any]:
        return self.decode.chip

    @property
    def package(self) -> Mapping[str, Any]:
        return self.decode.package

    @property
    def server(self) -> Mapping[str, Any]:
        return self.decode.server

    @property
    def system(self) -> Mapping[str, Any]:
        return self.decode.system

    @property
    def prefill_len(self) -> int:
        return max(1, round(self.workload.prompt.mean()))

    @property
    def decode_len(self) -> int:
        return max(2, round(self.workload.output.mean()))
