"""model.md §13.1 link selection and §13.5 all-reduce latencies."""
from __future__ import annotations

import math

import pytest

from llmhw.perf.collectives import (allreduce_latency_s, allreduce_s, bottleneck_link, collective_links,
                                    cube_root_ceil, stage_link, stage_transfer_s)

from tests.perf.support import project_system

A, B = 10e-9, 1 / 300e9      # α = 10 ns, β of a 300 GB/s link


def test_checkpoint_17_3_2d_ring():
    s = project_system()
    # t_srv = 16 > 1: [server link, package link], both 300 GB/s, the server link wins the tie
    links = collective_links(s, 1)
    assert links == (s.server.io, s.server.package.link)
    assert bottleneck_link(links) is s.server.io
    assert allreduce_latency_s(s, 1, 64, 256 * 12288 * 2) == pytest.approx(3.698016e-05, rel=1e-12)


def test_cube_root_uses_float_power():
    assert 64 ** (1 / 3) == 3.9999999999999996
    assert cube_root_ceil(64) == 4 and cube_root_ceil(27) == 3 and cube_root_ceil(28) == 4


@pytest.mark.parametrize("algo, expected", [
    ("ring", 2 * 63 * (A + B * 1e6 / 64)),
    ("2d_ring", 2 * 7 * (2 * A + B * 1e6 / 8)),
    ("3d_ring", 2 * 3 * (3 * A + B * 1e6 / 4)),
    ("local_4d_16", 8 * A + B * 1e6 + 2 * 1 * (3 * A + B * 1e6 / 2) + 16 * A + B * 1e6 + 2 * math.sqrt(A * B * 1e6)),
    ("local_2d_16", 6 * (2 * A + B * 1e6 / 4) + 2 * (3 * A + B * 1e6 / 2) + 16 * A + B * 1e6
     + 2 * math.sqrt(A * B * 1e6)),
    ("local_ring_16", 30 * A + 1.875 * B * 1e6 + 2 * (3 * A + B * 1e6 / 2) + 16 * A + B * 1e6
     + 2 * math.sqrt(A * B * 1e6)),
    ("local_ring_8", 14 * A + 1.75 * B * 1e6 + 2 * (3 * A + B * 1e6 / 2) + 16 * A + B * 1e6
     + 2 * math.sqrt(A * B * 1e6)),
])
def test_allreduce_algorithms_64_nodes(algo, expected):
    # local_*: p_g = ceil(64/16) = 4 (or 8 for groups of 8) → c = ceil(p_g^(1/3)) = 2
    assert allreduce_s(64, 1e6, A, B, algo) == pytest.approx(expected, rel=1e-12)


def test_local_group_of_exact_size_and_single_node():
    assert allreduce_s(16, 1e6, A, B, "local_4d_16") == 8 * A + B * 1e6
    assert allreduce_s(8, 1e6, A, B, "local_ring_8") == 14 * A + 1.75 * B * 1e6
    # p < group still adds the global and broadcast terms (§16.1 #19)
    assert allreduce_s(4, 1e6, A, B, "local_4d_16") > 8 * A + B * 1e6
    for algo in ("ring", "2d_ring", "3d_ring", "local_4d_16"):
        assert allreduce_s(1, 1e6, A, B, algo) == 0
        assert allreduce_s(1.0, 1e6, A, B, algo) == 0
    assert allreduce_s(2.0, 1e6, A, B, "ring") == allreduce_s(2, 1e6, A, B, "ring")
    with pytest.raises(ValueError):
        allreduce_s(4, 1.0, A, B, "tree")


def test_stage_links_and_transfer():
    s = project_system(num_servers=4)
    assert stage_link(s, 2) is s.server.io                   # t_srv = 2
    assert stage_link(s, 4) is s.server.io                   # t_srv = 1
    assert collective_links(s, 4) == (s.server.package.link,)
    assert stage_link(s, 8) is s.server.package.link         # t_srv = 0.5
    # a × b / (bw × eff) + the server link's init time
    assert stage_transfer_s(s, stage_link(s, 8).bandwidth_bytes_per_s, 12288) == 12288 * 2 / 300e9 + 10e-9
