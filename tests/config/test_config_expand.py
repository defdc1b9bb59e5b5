"""§0 EXPAND on every form, ranges, and the system pre-processing."""
from __future__ import annotations

import pytest

from llmhw.config import (DEFAULT_EVAL_LEN, expand, expand_system, load_yaml_text,
                          preprocess_system)
from llmhw.errors import ConfigError


def ex(text: str) -> list[dict]:
    return expand(load_yaml_text(text))


def test_scalars_give_one_configuration():
    assert ex("a: 1\nb: x\n") == [{"a": 1, "b": "x"}]


def test_product_in_file_order_last_key_fastest():
    out = ex("a: [1, 2]\nb: x\nc: [p, q, r]\n")
    assert [(c["a"], c["c"]) for c in out] == [
        (1, "p"), (1, "q"), (1, "r"), (2, "p"), (2, "q"), (2, "r")]
    assert all(list(c) == ["a", "b", "c"] for c in out)


def test_key_order_not_alphabetical():
    out = ex("z: [1, 2]\na: [3, 4]\n")
    assert [(c["z"], c["a"]) for c in out] == [(1, 3), (1, 4), (2, 3), (2, 4)]


def test_mapping_values_are_expanded_recursively():
    out = ex("num_lanes: [2, 4]\nio:\n  num: [1, 2]\n  bandwidth_per_io: 1e9\n")
    assert out == [
        {"num_lanes": 2, "io": {"num": 1, "bandwidth_per_io": 1e9}},
        {"num_lanes": 2, "io": {"num": 2, "bandwidth_per_io": 1e9}},
        {"num_lanes": 4, "io": {"num": 1, "bandwidth_per_io": 1e9}},
        {"num_lanes": 4, "io": {"num": 2, "bandwidth_per_io": 1e9}},
    ]


def test_list_of_mappings_are_alternatives_not_expanded_inside():
    out = ex("num_chips: 1\nhbm:\n  - {config: A, num_channels: [8, 12]}\n  - {config: B}\n")
    assert out == [
        {"num_chips": 1, "hbm": {"config": "A", "num_channels": [8, 12]}},
        {"num_chips": 1, "hbm": {"config": "B"}},
    ]


def test_list_of_lists_gives_one_alternative_per_inner_list():
    out = ex("eval_len: [[256, 64], [64, 256]]\n")
    assert out == [{"eval_len": [256, 64]}, {"eval_len": [64, 256]}]


def test_flat_list_is_a_list_of_alternatives():
    assert ex("eval_len: [256, 64]\n") == [{"eval_len": 256}, {"eval_len": 64}]


HBM_EXPLORE = """\
num_chips: 1
hbm:
  associated_explore: 'config'
  config: ['HBM2E', 'HBM3', 'HBM3E']
  simulator: False
  channel_bytes: 2147483648
  num_channels: {'HBM2E': 8, 'HBM3': 8, 'HBM3E': 12}
  bit_rate: {'HBM2E': 3435973836, 'HBM3': 6871947673, 'HBM3E': 9878424780}
  pj_per_byte: {'HBM2E': 31, 'HBM3': 24, 'HBM3E': 24}
"""


def test_associated_explore():
    out = ex(HBM_EXPLORE)
    assert [p["hbm"]["config"] for p in out] == ["HBM2E", "HBM3", "HBM3E"]
    assert [p["hbm"]["num_channels"] for p in out] == [8, 8, 12]
    assert [p["hbm"]["bit_rate"] for p in out] == [3435973836, 6871947673, 9878424780]
    assert [p["hbm"]["pj_per_byte"] for p in out] == [31, 24, 24]
    assert all("associated_explore" not in p["hbm"] for p in out)
    assert list(out[0]["hbm"]) == ["config", "simulator", "channel_bytes", "num_channels",
                                   "bit_rate", "pj_per_byte"]
    assert out[0]["hbm"]["channel_bytes"] == 2147483648 and out[0]["hbm"]["simulator"] is False


def test_associated_explore_keeps_lists_and_other_mappings_as_given():
    out = ex("associated_explore: k\nk: [a, b]\nlst: [1, 2]\nm: {x: 1}\nlab: {a: 10, b: 20}\n")
    assert out == [
        {"k": "a", "lst": [1, 2], "m": {"x": 1}, "lab": 10},
        {"k": "b", "lst": [1, 2], "m": {"x": 1}, "lab": 20},
    ]


def test_associated_explore_key_must_exist():
    with pytest.raises(ConfigError, match="associated_explore: names a key"):
        expand({"associated_explore": "nope", "a": [1]}, "f.yaml")


def test_range_with_step_is_enumerated():
    out = ex("area: {low: 100, high: 300, step: 100}\nratio: {low: 0.25, high: 0.75, step: 0.25}\n")
    assert [c["area"] for c in out] == [100, 100, 100, 200, 200, 200, 300, 300, 300]
    assert all(type(c["area"]) is int for c in out)
    assert [c["ratio"] for c in out[:3]] == [0.25, 0.5, 0.75]


def test_range_without_step_cannot_be_enumerated():
    with pytest.raises(ConfigError) as info:
        expand(load_yaml_text("Chip:\n  freq: {low: 1e9, high: 2e9}\n")["Chip"], "hw.yaml", "Chip")
    assert str(info.value).startswith(
        "hw.yaml: Chip.freq: a continuous range cannot be enumerated; give a step or use the search")


def test_nested_range_key_path():
    with pytest.raises(ConfigError, match=r"Server\.io\.num: a continuous range"):
        expand({"io": {"num": {"low": 1, "high": 4}}}, "hw.yaml", "Server")


def test_value_types_preserved():
    out = ex("area: 100\nfreq: 1e9\nname: x\nflag: true\nnone: null\n")
    assert out == [{"area": 100, "freq": 1e9, "name": "x", "flag": True, "none": None}]
    assert type(out[0]["area"]) is int and type(out[0]["freq"]) is float


def test_results_are_independent_copies():
    raw = load_yaml_text("a: [1, 2]\nlst: [[1, 2]]\nhbm: [{x: 1}]\n")
    out = expand(raw)
    out[0]["hbm"]["x"] = 99
    out[0]["lst"].append(3)
    assert out[1]["hbm"]["x"] == 1 and raw["hbm"][0]["x"] == 1
    assert out[1]["lst"] == [1, 2] and raw["lst"] == [[1, 2]]


def test_empty_mapping_gives_one_empty_configuration():
    assert expand({}) == [{}]


# -- system pre-processing -------------------------------------------------------------------

MODEL = {"name": "m", "num_layers": 2, "d": 8, "num_heads": 2}


def test_preprocess_appends_workload_keys_then_model():
    raw = load_yaml_text("num_servers: [1, 2]\nworkload:\n  eval_len: [[256, 64]]\n  max_batch: 64\n"
                         "allreduce_algo: ring\n")
    out = preprocess_system(raw, MODEL)
    assert list(out) == ["num_servers", "allreduce_algo", "max_batch", "eval_len", "model"]
    assert out["max_batch"] == 64 and out["eval_len"] == [[256, 64]] and out["model"] is MODEL
    assert "workload" in raw  # the input is not modified


def test_preprocess_overwrites_existing_top_level_keys_in_place():
    raw = {"max_batch": 8, "num_servers": 1, "workload": {"max_batch": 16}}
    out = preprocess_system(raw, MODEL)
    assert list(out) == ["max_batch", "num_servers", "eval_len", "model"]
    assert out["max_batch"] == 16


def test_preprocess_default_eval_len():
    out = preprocess_system({"num_servers": 4}, MODEL)
    assert out["eval_len"] == [[128, 129]] == DEFAULT_EVAL_LEN
    assert list(out) == ["num_servers", "eval_len", "model"]
    assert expand(out)[0]["eval_len"] == [128, 129]


def test_expand_system_product_order():
    raw = load_yaml_text("num_servers: [1, 2]\nallreduce_algo: ['ring', '3d_ring']\n"
                         "workload:\n  max_batch: 64\n  eval_len: [[200, 57], [64, 8]]\n")
    out = expand_system(raw, MODEL)
    assert len(out) == 8
    assert [(c["num_servers"], c["allreduce_algo"], tuple(c["eval_len"])) for c in out[:3]] == [
        (1, "ring", (200, 57)), (1, "ring", (64, 8)), (1, "3d_ring", (200, 57))]
    assert all(c["model"] == MODEL and c["max_batch"] == 64 for c in out)
    assert list(out[0]) == ["num_servers", "allreduce_algo", "max_batch", "eval_len", "model"]


def test_expand_system_default_mapping_forms():
    single = expand_system({"num_servers": 1, "default_mapping": {"t": 8, "p": 1}}, MODEL)
    assert [c["default_mapping"] for c in single] == [{"t": 8, "p": 1}]
    listed = expand_system({"num_servers": 1, "default_mapping": [{"t": 8}, {"t": 4}]}, MODEL)
    assert [c["default_mapping"] for c in listed] == [{"t": 8}, {"t": 4}]
    swept = expand_system({"num_servers": 1, "default_mapping": {"t": [4, 8], "p": 1}}, MODEL)
    assert [c["default_mapping"]["t"] for c in swept] == [4, 8]


def test_expand_system_model_alternatives_vary_fastest():
    out = expand_system({"num_servers": [1, 2]}, {"name": "m", "d": [8, 16]})
    assert [(c["num_servers"], c["model"]["d"]) for c in out] == [(1, 8), (1, 16), (2, 8), (2, 16)]
