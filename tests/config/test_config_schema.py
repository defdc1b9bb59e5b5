"""Schema validation: what is accepted, and a corpus of malformed inputs with one-line errors."""
from __future__ import annotations

import copy

import pytest
import yaml

from llmhw.config import (expand_system, load_constants, load_hardware, load_model, load_system,
                          load_yaml_text, validate_hardware, validate_system)
from llmhw.errors import ConfigError

HARDWARE = """\
Name: tiny
Chip:
  chip_id: 'c0'
  tech: '7nm'
  dataflow: 'roofline'
  freq: 1.0e+9
  perf: 459.0e+12
  sram: 300.0e+6
  sram_bw: 2.0e+12
  other_area: 70
  core_area_ratio: 0.95
  hbm_channels: 48
  pkg2pkg_io:
    io_type: 'p2p'
    num: 2
    bandwidth_per_io: 150.0e+9
    area_per_io: 5.0
    tdp_per_io: 0.25
    pj_per_byte: 9.36
    init_time: 10.0e-9
  macs_density: 0.7
  w_per_tops: 0.36
Package:
  num_chips: 1
  hbm:
    - config: 'HBM2e'
      simulator: False
      channel_bytes: 2147483648
      channel_width: 128
      num_channels: 8
      bit_rate: 3865470566
      stack_cost: 120
Server:
  num_lanes: 2
  packages_per_lane: 2
  thermal_eval: False
  io:
    io_type: 's2s'
    num: 2
    bandwidth_per_io: 150.0e+9
"""

CONSTANTS = """\
Chip: {macs_density: 0.72, sram_density: 0.45, w_per_tops: 1.3, max_power_density: 1.1,
  padring_width: 0.35, max_die_area: 900.0, D0: 0.001, alpha: 10.0, wafer_diameter: 300,
  wafer_dicing_gap: 0.1, wafer_cost: 10000, testing_cost_overhead: 0.01,
  hbm_phy_ctrl_area_per_channel: 1.04, mem_3d_tsv_ctrl_area_per_vault: 0.5,
  mem_3d_ctrl_area_per_vault: 0.15, mem_3d_area_per_tsv: 0.0097, mem_3d_test_area_per_vault: 0.72}
Package: {max_die_area: 1600.0, max_power_density: 1.0, os_area_scale_factor: 4.0,
  os_cost_per_mm2: 0.005, os_layer_scale_factor: {900: 2, 289: 1.75, 0: 1.0},
  os_bonding_yield: 0.99, c4_bump_cost_per_mm2: 0.005, si_area_scale_factor: 1.1,
  si_wafer_cost: 1937.0, si_bonding_yield: 0.95, si_D0: 0.0007, si_alpha: 6.0}
Server: {PCBCost: 50.0, PCBPartsCost: 50.0, DCDCCostPerAmp: 0.33, DCDCMaxCurrent: 30.0,
  DCDCEfficiency: 0.95, MaxDCDCCost: 300.0, FanPower: 7.4, FanCost: 15.0, APPPower: 50.0,
  APPCost: 200.0, PSUCostPerW: 0.13, PSUEfficiency: 0.95, PSUOutputVoltage: 12.0,
  MaxPSUCost: 100.0, ChassisCost: 30.0, EthernetCost: 450.0, SrvLife: 1.5, SrvMaxPower: 2000.0,
  LaneAreaMin: 100.0, LaneAreaMax: 9000.0}
TCO: {ElectricityCost: 0.067, InterestRate: 0.08, DCCapex: 10.0, DCAmortPeriod: 12.0,
  DCOpex: 0.04, PUE: 1.5, SrvOpexRate: 0.05, SrvAvgPwr: 1.0}
Energy: {sram_wgt: 1.25, sram_act: 0.94, dram: 80.0, hbm2: 31.2, stacked_dram: 18.72,
  fma_fp16: 1.3}
"""

MODEL = """\
Model:
  name: 'llama2'
  num_layers: 80
  d: 8192
  num_heads: 64
  heads_per_kv_cache: 8
"""

SYSTEM = """\
num_servers: [1, 2]
allreduce_algo: '2d_ring'
default_mapping:
  t: 64
  p: 1
  micro_batch: 0
  prefill_micro_batch: 0
workload:
  max_batch: 1024
  eval_len: [[256, 64], [64, 256]]
"""

BASES = {"hardware": HARDWARE, "constants": CONSTANTS, "model": MODEL, "system": SYSTEM}
LOADERS = {"hardware": load_hardware, "constants": load_constants, "model": load_model,
           "system": load_system}
DELETE = object()


def _set(tree: dict, path: str, value) -> None:
    """Set (or delete, with DELETE) the value at a dotted path; [i] indexes lists."""
    parts = path.replace("[", ".[").split(".")
    node = tree
    for part in parts[:-1]:
        node = node[int(part[1:-1])] if part.startswith("[") else node[part]
    last = parts[-1]
    if last.startswith("["):
        node[int(last[1:-1])] = value
    elif value is DELETE:
        del node[last]
    else:
        node[last] = value


def _write(tmp_path, kind: str, changes: dict) -> str:
    tree = copy.deepcopy(load_yaml_text(BASES[kind]))
    for path, value in changes.items():
        _set(tree, path, value)
    file = tmp_path / f"{kind}_case.yaml"
    file.write_text(yaml.safe_dump(tree, sort_keys=False))
    return file


# -- accepted inputs -------------------------------------------------------------------------

@pytest.mark.parametrize("kind", sorted(BASES))
def test_bases_are_valid(tmp_path, kind):
    LOADERS[kind](_write(tmp_path, kind, {}))


@pytest.mark.parametrize("kind, changes", [
    ("hardware", {"Chip.perf": [200e12, 459e12], "Package.num_chips": [1, 2]}),
    ("hardware", {"Chip.freq": {"low": 5e8, "high": 2e9}}),
    ("hardware", {"Chip.num_sa": {"low": 1, "high": 8, "step": 1}}),
    ("hardware", {"Chip.sram": {"low": 1e6, "high": 1e9, "log": True}}),
    ("hardware", {"Chip.pkg2pkg_io.num": [1, 2, 4]}),
    ("hardware", {"Chip.chip2chip_io": None, "Package.si": None, "Package.mem_3d": None}),
    ("hardware", {"Chip.core": {"core_count": 132, "anything": [1, 2]}}),
    ("hardware", {"Chip.area": 100, "Chip.mac_ratio": 0.5, "Chip.operational_intensity": 64,
                  "Chip.perf": DELETE, "Chip.sram": DELETE, "Chip.sram_bw": DELETE}),
    ("hardware", {"Package.mem_3d": [{"mem_type": "3D DRAM", "layer_area": 6.25, "num_layers": 8,
                                      "layer_cost": 1, "tsvs": 64, "density": 47757234,
                                      "tsv_area": 0.0097, "pj_per_bit": 2.59}]}),
    ("hardware", {"Package.io": {"whatever": 1}, "Package.package_id": "p",
                  "Server.server_id": 3, "Name": DELETE}),
    ("system", {"kv_cache_ratio": [0.3, None], "max_ctx_len_batch_1": [None, 200000],
                "num_servers": DELETE, "max_tco": 2e5, "energy_model": [True, False]}),
    ("system", {"default_mapping": [{"t": 16, "p": 1, "c": 1}, {"t": 8}],
                "compat": "reference", "sub_sys_num_servers": 1, "asplos_version": False}),
    ("system", {"workload": DELETE}),
    ("system", {"allreduce_algo": ["ring", "local_ring_8"], "io_bandwidth_efficiency": 0.7}),
    ("model", {"Model.attn_comm_pattern": "allreduce_plus_2a2a", "Model.act": "swiglu",
               "Model.d_ff": 28672, "Model.bytes_per_number": 1}),
    ("model", {"Model.d": 18432, "Model.d_head": 256, "Model.heads_per_kv_cache": 64}),
])
def test_accepted(tmp_path, kind, changes):
    LOADERS[kind](_write(tmp_path, kind, changes))


def test_associated_explore_block_is_validated_per_label(tmp_path):
    raw = load_yaml_text(HARDWARE)
    raw["Package"]["hbm"] = load_yaml_text("""\
associated_explore: config
config: [HBM2E, HBM3]
channel_bytes: 2147483648
channel_width: 128
num_channels: {HBM2E: 8, HBM3: 8}
bit_rate: {HBM2E: 3435973836, HBM3: -1}
""")
    with pytest.raises(ConfigError) as info:
        validate_hardware(raw, "hw.yaml")
    assert str(info.value).startswith("hw.yaml: Package.hbm.bit_rate.HBM3: must be > 0, got -1")


def test_system_level_associated_explore(tmp_path):
    raw = {"associated_explore": "num_servers", "num_servers": [1, 2],
           "allreduce_algo": {1: "ring", 2: "2d_ring"}, "workload": {"eval_len": [8, 8]}}
    validate_system(raw, "s.yaml")
    assert [(c["num_servers"], c["allreduce_algo"], c["eval_len"])
            for c in expand_system(raw, {"name": "m"})] == [(1, "ring", [8, 8]),
                                                            (2, "2d_ring", [8, 8])]
    del raw["workload"]
    assert [c["eval_len"] for c in expand_system(raw, {"name": "m"})] == [[128, 129]] * 2
    raw["eval_len"] = [[8, 8]]  # used as given: a list of pairs is not one pair
    with pytest.raises(ConfigError, match=r"s\.yaml: eval_len: expected a \[prefill_len"):
        validate_system(raw, "s.yaml")
    del raw["eval_len"]
    raw["allreduce_algo"] = {1: "ring", 2: "4d_ring"}
    with pytest.raises(ConfigError, match=r"s\.yaml: allreduce_algo\.2: unknown value"):
        validate_system(raw, "s.yaml")


# -- malformed inputs ------------------------------------------------------------------------
# (kind, changes, key path in the message, a fragment of the problem)

MALFORMED = [
    ("hardware", {"Chip.pkg2pkg_io.bandwith_per_io": 1e9}, "Chip.pkg2pkg_io.bandwith_per_io",
     "did you mean 'bandwidth_per_io'"),
    ("hardware", {"Chip.freqency": 1e9}, "Chip.freqency", "did you mean 'freq'"),
    ("hardware", {"Package.num_chip": 2}, "Package.num_chip", "did you mean 'num_chips'"),
    ("hardware", {"Chip.pkg2pkg_io.bandwidth_per_io": -150e9}, "Chip.pkg2pkg_io.bandwidth_per_io",
     "must be > 0"),
    ("hardware", {"Chip.freq": 0}, "Chip.freq", "must be > 0"),
    ("hardware", {"Chip.freq": "fast"}, "Chip.freq", "expected a number"),
    ("hardware", {"Chip.perf": "459 TFLOPS"}, "Chip.perf", "expected a number"),
    ("hardware", {"Chip.other_area": -1}, "Chip.other_area", "must be >= 0"),
    ("hardware", {"Chip.core_area_ratio": 1.2}, "Chip.core_area_ratio", "must be in (0, 1]"),
    ("hardware", {"Chip.mac_ratio": 1.0, "Chip.area": 100}, "Chip.mac_ratio", "must be in (0, 1)"),
    ("hardware", {"Chip.dataflow": "OS"}, "Chip.dataflow", "unknown value"),
    ("hardware", {"Chip.dataflow": "ws"}, "Chip.dataflow", "did you mean 'WS'"),
    ("hardware", {"Chip.tech": DELETE}, "Chip.tech", "missing required key"),
    ("hardware", {"Chip.pkg2pkg_io": DELETE}, "Chip.pkg2pkg_io", "missing required key"),
    ("hardware", {"Chip.dataflow": DELETE}, "Chip.dataflow", "missing required key"),
    ("hardware", {"Package.num_chips": DELETE}, "Package.num_chips", "missing required key"),
    ("hardware", {"Server.io": DELETE}, "Server.io", "missing required key"),
    ("hardware", {"Server.packages_per_lane": DELETE}, "Server.packages_per_lane",
     "missing required key"),
    ("hardware", {"Package.num_chips": 1.5}, "Package.num_chips", "expected an integer"),
    ("hardware", {"Package.num_chips": []}, "Package.num_chips", "empty list"),
    ("hardware", {"Server.num_lanes": [2, 4, 2]}, "Server.num_lanes[2]", "duplicate alternative"),
    ("hardware", {"Package.hbm[0].bit_rate": "fast"}, "Package.hbm[0].bit_rate",
     "expected a number"),
    ("hardware", {"Package.hbm[0].num_channels": [8, 12]}, "Package.hbm[0].num_channels",
     "used as given"),
    ("hardware", {"Package.hbm[0].channel_width": DELETE}, "Package.hbm[0].channel_width",
     "missing required key"),
    ("hardware", {"Package.mem_3d": {"mem_type": "3D flash", "layer_area": 6.25, "num_layers": 8,
                                     "layer_cost": 1}}, "Package.mem_3d.mem_type",
     "must name the memory kind"),
    ("hardware", {"Chip.freq": {"low": 2e9, "high": 1e9}}, "Chip.freq", "low is greater than high"),
    ("hardware", {"Chip.sram": {"low": 0, "high": 1e9, "log": True}}, "Chip.sram.low",
     "a log range needs low > 0"),
    ("hardware", {"Chip.area": {"low": 100, "high": 200, "step": -10}}, "Chip.area.step",
     "range step must be > 0"),
    ("hardware", {"Chip.num_sa": {"low": 1, "high": 8.5, "step": 1}}, "Chip.num_sa.high",
     "range bound must be an integer"),
    ("hardware", {"Chip.freq": {"low": 1e9, "hi": 2e9}}, "Chip.freq", "malformed range"),
    ("hardware", {"Chip.freq": [1e9, {"low": 1e9, "high": 2e9}]}, "Chip.freq[1]",
     "a range is not allowed here (not inside a list of alternatives)"),
    ("hardware", {"Package.hbm": {"associated_explore": "config", "config": ["A", "B"],
                                  "channel_bytes": 1, "channel_width": 128, "num_channels": 8,
                                  "bit_rate": {"low": 1e9, "high": 2e9}}},
     "Package.hbm.bit_rate", "a range is not allowed here; inside an associated_explore block"),
    ("hardware", {"Package.hbm": {"associated_explore": "config", "config": ["A", "B"],
                                  "channel_bytes": 1, "channel_width": 128, "num_channels": 8,
                                  "bit_rate": {"A": 1e9, "B": 2e9, "C": 3e9}}},
     "Package.hbm.bit_rate.C", "'C' is not an explored label"),
    ("hardware", {"Chip.thermal_eval": "yes please"}, "Chip.thermal_eval", "expected true or false"),
    ("hardware", {"Chip.freq": None}, "Chip.freq", "must not be null"),
    ("hardware", {"Chip.pkg2pkg_io": 5}, "Chip.pkg2pkg_io", "expected a mapping"),
    ("hardware", {"Chip": [1, 2]}, "Chip", "expected a mapping"),
    ("hardware", {"Server": DELETE}, "Server", "missing required key"),
    ("hardware", {"Servers": {}}, "Servers", "did you mean 'Server'"),
    ("hardware", {"Package.hbm": {"associated_explore": "configs", "config": ["A", "B"],
                                  "channel_bytes": 1, "channel_width": 128, "num_channels": 8,
                                  "bit_rate": 1e9}}, "Package.hbm.associated_explore",
     "did you mean 'config'"),
    ("hardware", {"Package.hbm": {"associated_explore": "config", "config": ["A", "B"],
                                  "channel_bytes": 1, "channel_width": 128,
                                  "num_channels": {"A": 8}, "bit_rate": 1e9}},
     "Package.hbm.num_channels", "no value for label 'B'"),
    ("hardware", {"Package.hbm": {"associated_explore": "config", "config": ["A", "B"],
                                  "channel_bytes": 1, "channel_width": 128, "num_channels": 8,
                                  "bit_rate": [1e9, 2e9]}},
     "Package.hbm.bit_rate", "associated_explore"),
    ("hardware", {"Package.hbm[0].associated_explore": "config"}, "Package.hbm[0].associated_explore",
     "only honoured in a mapping that is expanded"),
    ("constants", {"Chip.D0": DELETE}, "Chip.D0", "missing required key"),
    ("constants", {"TCO.PUE": 0.9}, "TCO.PUE", "must be >= 1"),
    ("constants", {"Server.PSUEfficiency": 1.5}, "Server.PSUEfficiency", "must be in (0, 1]"),
    ("constants", {"Chip.sram_density": [0.45, 0.5]}, "Chip.sram_density", "used as given"),
    ("constants", {"Package.os_layer_scale_factor": {0: 1.0, 289: 1.75}},
     "Package.os_layer_scale_factor.289", "descending order"),
    ("constants", {"Energy.fma": 1.3}, "Energy.fma", "did you mean 'fma_fp16'"),
    ("constants", {"Server.LaneAreaMin": 10000.0}, "Server.LaneAreaMin", "greater than LaneAreaMax"),
    ("model", {"Model.num_heads": 60}, "Model.d", "not divisible by num_heads=60"),
    ("model", {"Model.heads_per_kv_cache": 7}, "Model.num_heads",
     "not divisible by heads_per_kv_cache=7"),
    ("model", {"Model.num_layers": DELETE}, "Model.num_layers", "missing required key"),
    ("model", {"Model.attn_comm_pattern": "palm"}, "Model.attn_comm_pattern", "unknown value"),
    ("model", {"Model.d": 8192.0}, "Model.d", "expected an integer"),
    ("model", {"model": {"d": 1}}, "model", "did you mean 'Model'"),
    ("system", {"allreduce_algo": "4d_ring"}, "allreduce_algo", "unknown value"),
    ("system", {"allreduce_algo": ["ring", "2d-ring"]}, "allreduce_algo[1]",
     "did you mean '2d_ring'"),
    ("system", {"workload.eval_len": [256, 64]}, "workload.eval_len", "list of pairs"),
    ("system", {"workload.eval_len": [[256, 64, 1]]}, "workload.eval_len[0]",
     "pair of positive integers"),
    ("system", {"workload.eval_len": [[256, 0]]}, "workload.eval_len[0]",
     "pair of positive integers"),
    ("system", {"workload.eval_len": [[256, 64], [256, 64]]}, "workload.eval_len[1]",
     "duplicate alternative"),
    ("system", {"workload.max_bach": 64}, "workload.max_bach", "did you mean 'max_batch'"),
    ("system", {"kv_cache_ratio": 1.0}, "kv_cache_ratio", "must be in [0, 1)"),
    ("system", {"compute_perf_efficiency": 0}, "compute_perf_efficiency", "must be in (0, 1]"),
    ("system", {"num_servers": [1, 2, 2]}, "num_servers[2]", "duplicate alternative"),
    ("system", {"num_servers": DELETE}, "num_servers", "system size is undetermined"),
    ("system", {"num_servers": [4, None]}, "num_servers", "system size is undetermined"),
    ("system", {"default_mapping.tp": 8}, "default_mapping.tp", "unknown key"),
    ("system", {"default_mapping": [{"t": 8}, {"t": "eight"}]}, "default_mapping[1].t",
     "expected an integer"),
    ("system", {"compat": "exact"}, "compat", "unknown value"),
    ("system", {"asplos_version": True}, "asplos_version", "not supported"),
    ("system", {"energy_model": 1}, "energy_model", "expected true or false"),
]


@pytest.mark.parametrize("kind, changes, key_path, problem", MALFORMED,
                         ids=[f"{c[0]}:{c[2]}:{i}" for i, c in enumerate(MALFORMED)])
def test_malformed(tmp_path, kind, changes, key_path, problem):
    file = _write(tmp_path, kind, changes)
    with pytest.raises(ConfigError) as info:
        LOADERS[kind](file)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(f"{file}: {key_path}: "), msg
    assert problem in msg, msg
    assert info.value.key_path == key_path


def test_malformed_corpus_is_large_enough():
    assert len(MALFORMED) >= 25


@pytest.mark.parametrize("text, key_path, problem", [
    ("Name: x\nChip:\n  tech: a\n  tech: b\n", "line 4, column 3", "duplicate key"),
    ("Name: x\nChip: [1, 2\n", "line ", "malformed YAML"),
])
def test_malformed_yaml_files(tmp_path, text, key_path, problem):
    file = tmp_path / "broken.yaml"
    file.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_hardware(file)
    msg = str(info.value)
    assert msg.startswith(f"{file}: {key_path}") and problem in msg and "\n" not in msg


def test_message_format_example(tmp_path):
    file = _write(tmp_path, "hardware", {"Chip.freq": 0})
    with pytest.raises(ConfigError) as info:
        load_hardware(file)
    assert str(info.value) == f"{file}: Chip.freq: must be > 0, got 0 (allowed: a number > 0)"
