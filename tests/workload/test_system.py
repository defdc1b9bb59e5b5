"""model.md §11: sizing branches, derived totals, memory sufficiency and per-chip bandwidths.

Golden numbers are from §17 (hw_example server: 4 packages of 300 MB SRAM + 6 HBM stacks of 16 GiB,
413 516 860 416 B per server; server TCO at TDP 10 771.388774601244 $) or worked out by hand in comments.
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from llmhw.workload.system import SizingError, build_system, weight_bandwidth

from tests.perf.support import project_system

M_GPT3 = 347892350976
K_GPT3 = 4718592
M_SRV = 413516860416


def test_checkpoint_17_3_system():
    s = project_system()
    assert s.valid and s.num_servers == 16 and s.num_chips == 64
    assert s.total_mem_bytes == 6.616269766656e12
    assert s.kv_cache_ratio == 0.9474186568496236
    assert s.max_ctx_len_batch_1 == 1328442
    assert s.w_bw_bytes_per_s == 2.968681394688e12 == s.kv_bw_bytes_per_s
    assert s.perf_flops == 2.9376e16
    assert s.tdp_w == 19470.385605443764
    assert s.other_tdp_w == 1148.8088642659277
    assert s.max_tco_usd == 16 * 10771.388774601244
    assert s.eval_len == (256, 64) and s.max_batch == 1024 and s.batches[-1] == 1024
    assert s.violations["sys_memory_bytes"] == M_GPT3 - 6.616269766656e12 < 0


@pytest.mark.parametrize("overrides, servers", [
    # required = M/(1-0.3) = 4.97e11 → ceil(/M_SRV) = 2; L = 96 > 2 and 96 mod 2 = 0 → 2
    ({"num_servers": None, "kv_cache_ratio": 0.3}, 2),
    # required = M/0.1 = 3.48e12 → 9 → 96 mod 9, 10, 11 ≠ 0 → 12
    ({"num_servers": None, "kv_cache_ratio": 0.9}, 12),
    # required = M/0.005 = 6.96e13 → 169 ≥ L → up to the next multiple of 96 → 192
    ({"num_servers": None, "kv_cache_ratio": 0.995}, 192),
    # required = M + 200000·K = 1.29e12 → 4 (96 mod 4 = 0)
    ({"num_servers": None, "max_ctx_len_batch_1": 200000}, 4),
    # 16 servers already hold M/(1-0.3): kept
    ({"num_servers": 16, "kv_cache_ratio": 0.3}, 16),
    # both set: the ratio wins (§11.2 step 1)
    ({"num_servers": None, "kv_cache_ratio": 0.3, "max_ctx_len_batch_1": 200000}, 2),
    # TCO budget: ceil(50000 / 10771.388774601244) = 5
    ({"num_servers": None, "max_tco": 50000.0}, 5),
])
def test_sizing_branches(overrides, servers):
    s = project_system(**overrides)
    assert s.valid
    assert s.num_servers == servers
    assert s.total_mem_bytes == servers * M_SRV
    assert s.kv_cache_ratio == 1 - M_GPT3 / (servers * M_SRV)
    assert s.max_tco_usd == 10771.388774601244 * servers


def test_given_context_is_kept_and_missing_context_derived():
    s = project_system(num_servers=None, max_ctx_len_batch_1=200000)
    assert s.max_ctx_len_batch_1 == 200000
    s = project_system(num_servers=None, kv_cache_ratio=0.3)
    assert s.max_ctx_len_batch_1 == int((1 - M_GPT3 / (2 * M_SRV)) * 2 * M_SRV // K_GPT3)


def test_insufficient_memory_is_invalid_with_violation():
    # 4-byte numbers: M = 695 784 701 952 B > one server's 413 516 860 416 B
    s = project_system(num_servers=1)
    big = build_system(s.server, {"num_servers": 1, "eval_len": [256, 64]},
                       {"name": "x", "num_layers": 96, "d": 12288, "num_heads": 96, "bytes_per_number": 4},
                       s.constants)
    assert not big.valid and big.reasons
    assert big.violations["sys_memory_bytes"] == 695784701952 - 413516860416
    assert s.valid  # gpt3 at 2 bytes fits one server


def test_no_sizing_key_is_an_error():
    s = project_system()
    with pytest.raises(SizingError):
        build_system(s.server, {"eval_len": [1, 1]}, s.model, s.constants)


def test_defaults_and_efficiency():
    s = project_system(max_batch=None, eval_len=None, allreduce_algo=None, default_mapping=None,
                       weight_bandwidth_efficiency=0.5)
    assert (s.max_batch, s.eval_len, s.allreduce_algo, s.default_mapping, s.energy_model) == \
        (1024, (128, 129), "ring", None, True)
    assert s.w_bw_bytes_per_s == 2.968681394688e12 * 0.5 == s.kv_bw_bytes_per_s


def _server(vault=None, V=0, S=0, sram=100e6, sram_bw=5e12, dram_bw=1e12):
    chip = SimpleNamespace(sram_bytes=sram, sram_bw_bytes_per_s=sram_bw)
    pkg = SimpleNamespace(chip=chip, vault=vault, num_vaults_per_chip=V, num_hbm_stacks=S,
                          dram_bw_per_chip_bytes_per_s=dram_bw)
    return SimpleNamespace(package=pkg)


def test_weight_bandwidth_rules_11_3():
    sram3d = SimpleNamespace(is_sram=True, bw_bytes_per_s=1e11, cap_bytes=50e6)
    dram3d = SimpleNamespace(is_sram=False, bw_bytes_per_s=1e11, cap_bytes=1e9)
    # 3D SRAM: capacity-weighted mean of 4 vaults (4e11 B/s over 200 MB) and the die SRAM (5e12 over 100 MB)
    assert weight_bandwidth(_server(sram3d, V=4)) == 4e11 * 200e6 / 300e6 + 5e12 * 100e6 / 300e6
    assert weight_bandwidth(_server(dram3d, V=4)) == 1e12          # package.dram_bw_per_chip
    assert weight_bandwidth(_server(S=6)) == 1e12                  # HBM
    assert weight_bandwidth(_server()) == 5e12                     # SRAM only
