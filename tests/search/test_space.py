"""The search space: config lists, ranges and associated_explore bundles → fixed Optuna dimensions."""
from __future__ import annotations

import copy

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from llmhw.config import load_hardware, load_model, load_system
from llmhw.errors import ConfigError, UsageError
from llmhw.search.overlay import merge
from llmhw.search.space import SearchSpace, pipeline_candidates

from .conftest import HW, REPO, SYS

HBM = {"config": "x", "channel_bytes": 2147483648, "channel_width": 128, "num_channels": 8,
       "bit_rate": 3.6e9, "stack_cost": 120}


def hardware():
    return {
        "Chip": {"tech": "7nm", "dataflow": ["roofline", "WS"], "perf": [200e12, 300e12, 459e12],
                 "sram": {"low": 100e6, "high": 400e6, "step": 50e6}, "sram_bw": 2e12,
                 "freq": {"low": 0.8e9, "high": 1.6e9, "log": True}, "hbm_channels": [16, 32, 48],
                 "pkg2pkg_io": {"num": [2, 4, 8], "bandwidth_per_io": 150e9, "area_per_io": 5.0}},
        "Package": {"num_chips": 1, "hbm": {"associated_explore": "config", "config": ["A", "B"],
                                            "channel_bytes": 2147483648, "channel_width": 128,
                                            "num_channels": {"A": 8, "B": 12},
                                            "bit_rate": {"A": 3.6e9, "B": 9.6e9}}},
        "Server": {"num_lanes": [2, 4], "packages_per_lane": 2,
                   "io": {"num": 2, "bandwidth_per_io": 150e9}},
    }


def system():
    return {"num_servers": [2, 4, 8], "allreduce_algo": ["ring", "2d_ring"],
            "workload": {"max_batch": 64, "eval_len": [[256, 64], [64, 256]]}}


@pytest.fixture(scope="module")
def model():
    return load_model(REPO / "inputs/software/model/llama2.yaml")


def test_dimensions_of_lists_ranges_and_bundles(model):
    sp = SearchSpace(hardware(), system(), model, (256, 64))
    d = {x.name: x for x in sp.dims}
    assert list(d) == ["Chip.dataflow", "Chip.perf#i", "Chip.sram", "Chip.freq", "Chip.hbm_channels",
                       "Chip.pkg2pkg_io.num#i", "Package.hbm", "Server.num_lanes",
                       "system.num_servers#i", "system.allreduce_algo", "batch_log2", "p#i",
                       "micro_batches_rel_log2", "prefill_splits_log2"]
    assert d["Chip.dataflow"].distribution == CategoricalDistribution(("roofline", "WS"))
    # non-arithmetic numeric list: ordinal index over the sorted values
    assert d["Chip.perf#i"].distribution == IntDistribution(0, 2)
    assert d["Chip.perf#i"].values == (200e12, 300e12, 459e12)
    # arithmetic list: the value itself with its step
    assert d["Chip.hbm_channels"].distribution == IntDistribution(16, 48, step=16)
    assert d["Chip.sram"].distribution == FloatDistribution(100e6, 400e6, step=50e6)
    assert d["Chip.freq"].distribution == FloatDistribution(0.8e9, 1.6e9, log=True)
    # the associated_explore bundle is one categorical dimension over its labels
    assert d["Package.hbm"].distribution == CategoricalDistribution(("A", "B"))
    assert d["batch_log2"].distribution == IntDistribution(0, 6)        # max_batch 64
    assert d["p#i"].values == tuple(pipeline_candidates(80))
    assert d["micro_batches_rel_log2"].distribution == IntDistribution(-7, 6)   # p up to 80 → 2**7
    assert sp.size() is None  # a continuous range


def test_point_is_concrete_and_mapping_clipped(model):
    sp = SearchSpace(hardware(), system(), model, (256, 64))
    params = sp.default_params() | {"Chip.perf#i": 2, "Chip.sram": 250e6, "Chip.freq": 1.1e9,
                                    "Package.hbm": "B", "batch_log2": 3, "micro_batches_rel_log2": -1,
                                    "prefill_splits_log2": 5, "p#i": 3, "system.num_servers#i": 1}
    pt = sp.point(params)
    assert pt.chip["perf"] == 459e12 and pt.chip["sram"] == 250e6 and pt.chip["freq"] == 1.1e9
    assert pt.chip["pkg2pkg_io"]["num"] == 2 and pt.chip["dataflow"] == "roofline"
    assert pt.package["hbm"]["num_channels"] == 12 and pt.package["hbm"]["config"] == "B"
    assert pt.system["num_servers"] == 4 and pt.system["eval_len"] == [256, 64]
    assert pt.p == pipeline_candidates(80)[3] == 4
    # 2**(ceil(log2 4) - 1) = 2 micro-batches of 4; prefill split 4 >> 5 clipped at 1
    assert (pt.batch, pt.micro_batch, pt.prefill_micro_batch) == (8, 4, 1)
    assert (pt.prefill_len, pt.decode_len, pt.mapping) == (256, 64, "explicit")
    # the same concrete point after clipping has the same cache key
    other = dict(params, prefill_splits_log2=2)
    assert sp.canonical(params) == sp.canonical(other)


def test_micro_batches_relative_to_p_and_normalise(model):
    sp = SearchSpace(hardware(), system(), model, (256, 64))
    cands = pipeline_candidates(80)
    base = sp.default_params() | {"batch_log2": 6}
    for i, p in enumerate(cands):   # r = 0: p micro-batches, rounded up to a power of two
        vals = sp.mapping_values(base | {"p#i": i, "micro_batches_rel_log2": 0})
        m = 64 // vals["micro_batch"]
        assert m == min(64, 1 << (p - 1).bit_length()) and m >= min(p, 64)
    # clipped at both ends: one micro-batch (mb = B) and B micro-batches (mb = 1)
    assert sp.mapping_values(base | {"p#i": 0, "micro_batches_rel_log2": -7})["micro_batch"] == 64
    assert sp.mapping_values(base | {"p#i": 0, "micro_batches_rel_log2": 6})["micro_batch"] == 1
    # every power-of-two split of every batch is reachable for every p
    for i in range(len(cands)):
        splits = {sp.mapping_values(base | {"p#i": i, "micro_batches_rel_log2": r})["micro_batch"]
                  for r in range(-7, 7)}
        assert splits == {1, 2, 4, 8, 16, 32, 64}
    # normalise: the same point, the unclipped representative (what encode gives)
    clipped = base | {"p#i": 0, "micro_batches_rel_log2": -5, "prefill_splits_log2": 6,
                      "batch_log2": 2}
    norm = sp.normalise(clipped)
    assert sp.canonical(norm) == sp.canonical(clipped)
    assert (norm["micro_batches_rel_log2"], norm["prefill_splits_log2"]) == (0, 2)
    assert sp.normalise(norm) == norm


def test_fixed_mapping_best_mode_and_grid(model):
    sys_ = dict(system(), default_mapping={"t": 8, "p": 1, "micro_batch": 0, "prefill_micro_batch": 0})
    sp = SearchSpace(hardware(), sys_, model, (256, 64))
    assert "p#i" not in sp.by_name and sp.fixed_mapping
    assert sp.point(sp.default_params()).mapping == "default"
    best = SearchSpace(hardware(), system(), model, (256, 64), mapping="best")
    assert [d.name for d in best.dims if d.section == "mapping"] == ["batch_log2"]
    assert best.point(best.default_params()).p is None
    with pytest.raises(UsageError, match="range dimension"):
        sp.grid()
    hw = hardware()
    hw["Chip"]["sram"] = [100e6, 200e6]
    hw["Chip"]["freq"] = 1e9
    grid = SearchSpace(hw, system(), model, (256, 64)).grid()
    assert grid["Chip.sram"] == [100e6, 200e6]


def test_encode_design_for_enqueue(model):
    sp = SearchSpace(hardware(), system(), model, (256, 64))
    params = sp.encode({"Chip.perf": 459e12, "Chip.sram": 300e6, "Package.hbm": "A",
                        "system.num_servers": 8, "batch": 16, "p": 2, "micro_batch": 4,
                        "prefill_micro_batch": 1})
    assert params == {"Chip.perf#i": 2, "Chip.sram": 300e6, "Package.hbm": "A",
                      "system.num_servers#i": 2, "batch_log2": 4, "p#i": 1, "micro_batches_rel_log2": 1,
                      "prefill_splits_log2": 2}
    with pytest.raises(ConfigError, match="power of two dividing the batch"):
        sp.encode({"batch": 4, "p": 1, "micro_batch": 8})
    with pytest.raises(ConfigError, match="give p too"):
        sp.encode({"batch": 4, "micro_batch": 2})
    with pytest.raises(ConfigError, match="not one of"):
        sp.encode({"Chip.perf": 1e12})
    with pytest.raises(ConfigError, match="did you mean"):
        sp.encode({"Chip.prf": 459e12})


def test_real_files_and_overlay():
    hw, sy = load_hardware(HW), load_system(SYS)
    model = load_model(REPO / "inputs/software/model/gpt3.yaml")
    sp = SearchSpace(hw.raw, sy.raw, model, (256, 64))
    assert [d.name for d in sp.dims][:5] == ["Chip.sram", "Chip.hbm_channels", "Server.num_lanes",
                                             "Server.packages_per_lane", "system.num_servers#i"]
    over = merge(hw.raw, {"Chip": {"perf": {"low": 100e12, "high": 500e12}}})
    assert over["Chip"]["pkg2pkg_io"] == hw.raw["Chip"]["pkg2pkg_io"]
    sp2 = SearchSpace(over, sy.raw, model, (256, 64))
    assert isinstance(sp2.by_name["Chip.perf"].distribution, FloatDistribution)
    assert hw.raw["Chip"]["perf"] == 459e12   # the base tree is untouched
    copy.deepcopy(sp2.describe())


def test_a_stepped_range_is_the_same_dimension_as_its_list(model):
    """docs/search-quality.md §13: the range spaces are harder because of what they contain, not
    how they are encoded. perf {200..600 step 100} and num_servers {4..16 step 4} as ranges and as the
    same values written as lists give the same distributions, so the sampler sees the same grid
    (Pareto local search: positions 0, 1/4, ..., 1 and 0, 1/3, 2/3, 1) and proposes the same points."""
    from llmhw.search.pls import _Coord
    ranged, listed = hardware(), hardware()
    ranged["Chip"]["perf"] = {"low": 200e12, "high": 600e12, "step": 100e12}
    listed["Chip"]["perf"] = [200e12, 300e12, 400e12, 500e12, 600e12]
    sys_r, sys_l = system(), system()
    sys_r["num_servers"] = {"low": 4, "high": 16, "step": 4}
    sys_l["num_servers"] = [4, 8, 12, 16]
    a = SearchSpace(ranged, sys_r, model, (256, 64))
    b = SearchSpace(listed, sys_l, model, (256, 64))
    for name in ("Chip.perf", "system.num_servers"):
        da, db = a.by_name[name], b.by_name[name]
        assert (da.kind, db.kind) == ("range", "list")
        assert da.distribution == db.distribution and da.encoding == db.encoding == "value"
        ca, cb = _Coord(da.distribution), _Coord(db.distribution)
        assert ca.kind == cb.kind == "ord" and ca.grid == cb.grid and list(ca.pos) == list(cb.pos)
    assert list(_Coord(a.by_name["Chip.perf"].distribution).pos) == [0.0, 0.25, 0.5, 0.75, 1.0]
    p = a.default_params() | {"Chip.perf": 500e12, "system.num_servers": 12}
    assert a.values(p)["Chip.perf"] == b.values(p)["Chip.perf"] == 500e12
    assert a.values(p)["system.num_servers"] == b.values(p)["system.num_servers"] == 12
