"""Links and all-reduce latency (model.md §13.1, §13.5).

The collective links of a stage depend on t_srv = ns / p (servers per stage): several servers per stage
use [server link, package link], otherwise [package link]; the bottleneck is the smallest bandwidth
(first on ties). Stage-to-stage transfers use the server link unless several stages share a server.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Sequence

from llmhw.hardware.io import IOLink
from llmhw.workload.system import System

from . import xp

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


class RingFactors(NamedTuple):
    """The node-count factors of §13.5 AR for ``nodes`` participants (depend on nodes and the algorithm only).

    ``k``: ring size — nodes (ring), ceil(√nodes) (2d_ring), ceil(∛nodes) (3d_ring); for the ``local_*``
    algorithms ``local_only`` (nodes == group: T_loc alone) and ``k_global`` = ceil(∛ceil(nodes / group));
    ``none``: a single node (no all-reduce).
    """

    k: float
    k_global: float
    local_only: bool
    none: bool


def ring_factors(algo: str, nodes: float) -> RingFactors:
    """§13.5 factors of AR(nodes, ·) (scalar: computed once per stage width t)."""
    if algo == "ring":
        return RingFactors(nodes, 0, False, nodes == 1)
    if algo == "2d_ring":
        return RingFactors(math.ceil(math.sqrt(nodes)), 0, False, nodes == 1)
    if algo == "3d_ring":
        return RingFactors(cube_root_ceil(nodes), 0, False, nodes == 1)
    if algo not in LOCAL_GROUP:
        raise ValueError(f"unknown allreduce_algo {algo!r}")
    group = LOCAL_GROUP[algo]
    return RingFactors(0, cube_root_ceil(math.ceil(nodes / group)), nodes == group, nodes == 1)


def allreduce_time_s(algo: str, f: RingFactors, nbytes, alpha_s, beta_s_per_byte):
    """§13.5 AR(p, n) with α = init time and β = 1 / (bandwidth × io efficiency); one node costs nothing.

    Numbers or arrays (the grid passes ``f`` with one array entry per row)."""
    n, a, b = nbytes, alpha_s, beta_s_per_byte
    none = f.none
    if not xp.is_array(none) and none:
        return 0
    if algo == "ring":
        k = f.k
        val = 2 * (k - 1) * (a + b * n / k)
    elif algo == "2d_ring":
        k = f.k
        val = 2 * (k - 1) * (2 * a + b * n / k)
    elif algo == "3d_ring":
        k = f.k
        val = 2 * (k - 1) * (3 * a + b * n / k)
    else:
        t_loc = local_s(algo, n, a, b)
        if not xp.is_array(f.local_only) and f.local_only:
            return t_loc
        c = f.k_global
        t_glob = 2 * (c - 1) * (3 * a + b * n / c)
        t_bc = 16 * a + b * n + 2 * xp.sqrt(a * b * n)
        val = xp.select(f.local_only, t_loc, t_loc + t_glob + t_bc)
    return xp.select(none, 0.0, val)


def allreduce_s(nodes: float, nbytes: float, alpha_s: float, beta_s_per_byte: float, algo: str) -> float:
    """§13.5 AR(nodes, n) of one all-reduce (numbers)."""
    return allreduce_time_s(algo, ring_factors(algo, nodes), nbytes, alpha_s, beta_s_per_byte)


def local_s(algo: str, n, a, b):
    """T_loc of the ``local_*`` algorithms (§13.5)."""
    if algo == "local_4d_16":
        return 8 * a + b * n
    if algo == "local_2d_16":
        return 6 * (2 * a + b * n / 4)
    if algo == "local_ring_16":
        return 30 * a + 1.875 * b * n
    return 14 * a + 1.75 * b * n      # local_ring_8


def allreduce_alpha_beta(system: System, p: int) -> tuple[float, float]:
    """(α, β) of the bottleneck collective link of a mapping with p stages (§13.1, §13.5)."""
    link = bottleneck_link(collective_links(system, p))
    return link.init_time_s, 1 / (link.bandwidth_bytes_per_s * system.io_bandwidth_efficiency)


def allreduce_latency_s(system: System, p: int, nodes: float, nbytes: float) -> float:
    """AR(nodes, nbytes) over the collective links of a mapping with p stages (§13.1, §13.5)."""
    alpha, beta = allreduce_alpha_beta(system, p)
    return allreduce_s(nodes, nbytes, alpha, beta, system.allreduce_algo)


def stage_transfer_s(system: System, stage_bw_bytes_per_s, activation_elements):
    """§13.1: a × b / (stage_bw × io_eff) + the server link's init time (always the server link's);
    ``stage_bw_bytes_per_s`` is :func:`stage_link`'s bandwidth (numbers or arrays)."""
    b = system.model.bytes_per_number
    return (activation_elements * b / (stage_bw_bytes_per_s * system.io_bandwidth_efficiency)
            + system.server.io.init_time_s)
