"""Links and all-reduce latency (model.md §13.1, §13.5).

The collective links of a stage depend on t_srv = ns / p (servers per stage): several servers per stage
use [server link, package link], otherwise [package link]; the bottleneck is the smallest bandwidth
(first on ties). Stage-to-stage transfers use the server link unless several stages share a server.
"""
from __future__ import annotations

import math
from typing import Sequence

from llmhw.hardware.io import IOLink
from llmhw.workload.system import System

LOCAL_GROUP = {"local_4d_16": 16, "local_2d_16": 16, "local_ring_16": 16, "local_ring_8": 8}


def collective_links(system: System, p: int) -> tuple[IOLink, ...]:
    """§13.1: [server link, package link] if t_srv > 1 else [package link]."""
    t_srv = system.num_servers / p
    if t_srv > 1:
        return (system.server.io, system.server.package.link)
    return (system.server.package.link,)


def stage_link(system: System, p: int) -> IOLink:
    """§13.1: the server link unless t_srv < 1 (several stages per server: package link)."""
    t_srv = system.num_servers / p
    return system.server.package.link if t_srv < 1 else system.server.io


def bottleneck_link(links: Sequence[IOLink]) -> IOLink:
    """The link with the smallest bandwidth, the first one on ties."""
    best = links[0]
    for link in links[1:]:
        if link.bandwidth_bytes_per_s < best.bandwidth_bytes_per_s:
            best = link
    return best


def cube_root_ceil(x: float) -> int:
    """ceil(x^(1/3)) via the floating-point power (64^(1/3) = 3.9999999999999996 → 4), §13.5."""
    return math.ceil(x ** (1 / 3))


def allreduce_s(nodes: float, nbytes: float, alpha_s: float, beta_s_per_byte: float, algo: str) -> float:
    """§13.5 AR(p, n) with α = init time and β = 1 / (bandwidth × io efficiency); p = 1 costs nothing."""
    p, n, a, b = nodes, nbytes, alpha_s, beta_s_per_byte
    if p == 1:
        return 0
    if algo == "ring":
        return 2 * (p - 1) * (a + b * n / p)
    if algo == "2d_ring":
        s = math.ceil(math.sqrt(p))
        return 2 * (s - 1) * (2 * a + b * n / s)
    if algo == "3d_ring":
        c = cube_root_ceil(p)
        return 2 * (c - 1) * (3 * a + b * n / c)
    if algo not in LOCAL_GROUP:
        raise ValueError(f"unknown allreduce_algo {algo!r}")
    t_loc = local_s(algo, n, a, b)
    group = LOCAL_GROUP[algo]
    if p == group:
        return t_loc
    c = cube_root_ceil(math.ceil(p / group))
    t_glob = 2 * (c - 1) * (3 * a + b * n / c)
    t_bc = 16 * a + b * n + 2 * math.sqrt(a * b * n)
    return t_loc + t_glob + t_bc


def local_s(algo: str, n: float, a: float, b: float) -> float:
    """T_loc of the ``local_*`` algorithms (§13.5)."""
    if algo == "local_4d_16":
        return 8 * a + b * n
    if algo == "local_2d_16":
        return 6 * (2 * a + b * n / 4)
    if algo == "local_ring_16":
        return 30 * a + 1.875 * b * n
    return 14 * a + 1.75 * b * n      # local_ring_8


def allreduce_latency_s(system: System, p: int, nodes: float, nbytes: float) -> float:
    """AR(nodes, nbytes) over the collective links of a mapping with p stages (§13.1, §13.5)."""
    link = bottleneck_link(collective_links(system, p))
    beta = 1 / (link.bandwidth_bytes_per_s * system.io_bandwidth_efficiency)
    return allreduce_s(nodes, nbytes, link.init_time_s, beta, system.allreduce_algo)


def stage_transfer_s(system: System, p: int, activation_elements: float) -> float:
    """§13.1: a × b / (stage_bw × io_eff) + the server link's init time (always the server link's)."""
    bw = stage_link(system, p).bandwidth_bytes_per_s
    b = system.model.bytes_per_number
    return activation_elements * b / (bw * system.io_bandwidth_efficiency) + system.server.io.init_time_s
