"""model.md §12.1 (enumeration with the float t_pkg quirk and the memory fit) and §12.2 (default mapping)."""
from __future__ import annotations

from llmhw.workload.mapping import (MappingPoint, default_mapping_point, enumerate_mappings, mapping_violations,
                                    mappings_for_batch, micro_batch_pairs, pipeline_sizes, stage_candidates)

from tests.perf.support import project_system


def test_pipeline_sizes_gpt3():
    # the smallest p for each distinct ceil(96 / p)
    assert pipeline_sizes(96) == (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16, 20, 24, 32, 48, 96)


def test_stage_candidates_and_float_t_pkg():
    s = project_system(num_servers=4, default_mapping=None)          # 4 servers × 4 single-chip packages
    cands = {c.p: c for c in stage_candidates(s)}
    assert set(cands) == {1, 2, 3, 4, 8, 12, 16, 20, 24, 32, 48, 96}  # p > 4 only if a multiple of 4
    assert cands[3].t == 4 and type(cands[3].t) is int               # (4 // 3) · 4 packages
    assert cands[8].t == 2.0 and type(cands[8].t) is float           # 4 // (8 / 4) = 2.0
    assert cands[12].t == 1.0 and cands[16].t == 1.0                 # 4 // 3.0, 4 // 4.0
    assert cands[32].t == 0.0                                        # 4 // 8.0: filtered by the memory fit
    assert all(m.p != 32 for m in enumerate_mappings(s, 1))


def test_enumeration_order_and_count():
    s = project_system(default_mapping=None)                         # 16 servers
    ms = enumerate_mappings(s, 4)
    # p ≤ 16: 14 sizes; p = 32 (t 2.0), 48 (t 1.0); p = 96 has t_pkg 0 → no memory; 6 (mb, pmb) pairs each
    assert len(ms) == 16 * 6
    assert ms[:4] == [MappingPoint(64, 1, 1, 1), MappingPoint(64, 1, 2, 1), MappingPoint(64, 1, 2, 2),
                      MappingPoint(64, 1, 4, 1)]
    assert ms[6].p == 2 and ms[6].t == 32 and ms[-1].p == 48 and ms[-1].t == 1.0
    assert micro_batch_pairs(4) == ((1, 1), (2, 1), (2, 2), (4, 1), (4, 2), (4, 4))


def test_memory_fit_filter():
    # one server: 413 516 860 416 B; gpt3 needs M + B·320·K = 347 892 350 976 + B · 1 509 949 440
    s = project_system(num_servers=1, default_mapping=None)
    assert enumerate_mappings(s, 32)                                 # 3.96e11 fits
    assert enumerate_mappings(s, 64) == []                           # 4.44e11 does not, for any p
    v = mapping_violations(s, MappingPoint(4, 1, 1, 1), 64)
    assert v["map_memory_bytes"] == 347892350976 + 64 * 320 * 4718592 - 413516860416
    assert v["map_invalid"] < 0


def test_default_mapping_rules():
    s = project_system()                                             # t 64, p 1, mb 0, pmb 0 on 64 chips
    assert default_mapping_point(s, 8) == MappingPoint(64, 1, 8, 8)
    assert mappings_for_batch(s, 8) == [MappingPoint(64, 1, 8, 8)]
    # p = 1 forces t = num_chips; missing keys default to 1; mb > B is kept; a 'c' key is ignored
    assert default_mapping_point(s, 2, {"t": 4, "c": 2}) == MappingPoint(64, 1, 1, 1)
    assert default_mapping_point(s, 2, {"t": 4, "p": 2, "micro_batch": 8}) == MappingPoint(4, 2, 8, 1)
