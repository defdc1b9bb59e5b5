"""model.md §17.1–§17.2, step by step: the TPUv5p-like example with the 7 nm constants.

Every golden number below is copied from the specification text (§17.2), not from the code.
The inputs are written out here so the test needs nothing outside the repository.
"""
from __future__ import annotations

import math

import pytest

from llmhw.hardware.chip import build_chip
from llmhw.hardware.constants import load_constants_dict
from llmhw.hardware.heatsink import design_heatsink
from llmhw.hardware.package import build_package
from llmhw.hardware.server import build_server
from llmhw.hardware.tco import loan_interest
from llmhw.hardware.wafer import _rows, dies_per_wafer, negative_binomial_yield

CONSTANTS = {
    "Chip": {"macs_density": 0.72, "sram_density": 0.45, "w_per_tops": 1.3, "max_power_density": 1.1,
             "padring_width": 0.35, "max_die_area": 900.0, "D0": 0.001, "alpha": 10.0, "wafer_diameter": 300,
             "wafer_dicing_gap": 0.1, "wafer_cost": 10000, "testing_cost_overhead": 0.01,
             "hbm_phy_ctrl_area_per_channel": 1.04, "mem_3d_tsv_ctrl_area_per_vault": 0.5,
             "mem_3d_ctrl_area_per_vault": 0.15, "mem_3d_area_per_tsv": 0.0097, "mem_3d_test_area_per_vault": 0.72},
    "Package": {"max_die_area": 1600.0, "max_power_density": 1.0, "os_area_scale_factor": 4.0,
                "os_cost_per_mm2": 0.005, "os_layer_scale_factor": {900: 2, 289: 1.75, 0: 1.0},
                "os_bonding_yield": 0.99, "c4_bump_cost_per_mm2": 0.005, "si_area_scale_factor": 1.1,
                "si_wafer_cost": 1937.0, "si_bonding_yield": 0.95, "si_D0": 0.0007, "si_alpha": 6.0},
    "Server": {"PCBCost": 50.0, "PCBPartsCost": 50.0, "DCDCCostPerAmp": 0.33, "DCDCMaxCurrent": 30.0,
               "DCDCEfficiency": 0.95, "MaxDCDCCost": 300.0, "FanPower": 7.4, "FanCost": 15.0, "APPPower": 50.0,
               "APPCost": 200.0, "PSUCostPerW": 0.13, "PSUEfficiency": 0.95, "PSUOutputVoltage": 12.0,
               "MaxPSUCost": 100.0, "ChassisCost": 30.0, "EthernetCost": 450.0, "SrvLife": 1.5,
               "SrvMaxPower": 2000.0, "LaneAreaMin": 100.0, "LaneAreaMax": 9000.0},
    "TCO": {"ElectricityCost": 0.067, "InterestRate": 0.08, "DCCapex": 10.0, "DCAmortPeriod": 12.0,
            "DCOpex": 0.04, "PUE": 1.5, "SrvOpexRate": 0.05, "SrvAvgPwr": 1.0},
    "Energy": {"sram_wgt": 1.25, "sram_act": 0.94, "dram": 80.0, "hbm2": 31.2, "stacked_dram": 18.72,
               "fma_fp16": 1.3},
}
IO = {"io_type": "p2p", "num": 2, "bandwidth_per_io": 150e9, "area_per_io": 5.0, "tdp_per_io": 0.25,
      "pj_per_byte": 9.36, "init_time": 10e-9}
CHIP = {"chip_id": "tpuv5p", "tech": "7nm", "dataflow": "roofline", "freq": 1e9, "perf": 459e12, "sram": 300e6,
        "sram_bw": 2e12, "num_sa": 1, "acc_depth": 1000000000, "other_area": 70, "core_area_ratio": 0.95,
        "hbm_channels": 48, "mem_3d_vaults": 0, "macs_density": 0.7, "w_per_tops": 0.36, "pkg2pkg_io": IO}
HBM = {"config": "TPUv5p_HBM2e", "simulator": False, "channel_bytes": 2147483648, "channel_width": 128,
       "num_channels": 8, "bit_rate": 3865470566, "stack_cost": 120}
PACKAGE = {"num_chips": 1, "hbm": HBM}
SERVER = {"num_lanes": 2, "packages_per_lane": 2, "thermal_eval": False,
          "io": {**IO, "io_type": "s2s", "area_per_io": 0}}


@pytest.fixture(scope="module")
def k():
    return load_constants_dict(CONSTANTS)


@pytest.fixture(scope="module")
def chip(k):
    return build_chip(CHIP, k)


@pytest.fixture(scope="module")
def package(chip, k):
    return build_package(PACKAGE, chip, k)


@pytest.fixture(scope="module")
def server(package, k):
    return build_server(SERVER, package, k)


def test_chip_area(chip):
    assert chip.sram_area_mm2 == 135.0
    assert chip.mac_area_mm2 == 321.29999999999995
    core_area = (135.0 + 321.29999999999995 + 10 + 119.92) / 0.95
    assert core_area == pytest.approx(617.0736842105263, rel=1e-15)
    assert math.sqrt(chip.area_mm2) == pytest.approx(25.190967859778056, rel=1e-15)
    assert chip.area_mm2 == 634.584861712371


def test_chip_tdp_and_power_density(chip):
    assert chip.core_tdp_w == pytest.approx(165.24, rel=1e-15)
    assert chip.tdp_w == pytest.approx(165.74, rel=1e-15)
    assert chip.power_density_w_per_mm2 == pytest.approx(0.26118, rel=1e-4)
    assert chip.valid


def test_yield_dies_per_wafer_and_cost(chip):
    assert chip.die_yield == 0.5404986184510117
    a = math.sqrt(chip.area_mm2) + 0.1
    assert a == 25.290967859778057
    assert _rows(0, a, 150) == 93 and _rows(a / 2, a, 150) == 92 and _rows(a / 4, a, 150) == 93
    assert chip.dies_per_wafer == 93
    assert 10000 / 93 / chip.die_yield == pytest.approx(198.9401601591251, rel=1e-15)
    assert chip.cost_usd == 200.92956176071635
    assert chip.sa_width == 479


def test_interposer_dies_per_wafer():
    assert dies_per_wafer(1305.1938478836082, 300, 0.1) == 44
    a = math.sqrt(1305.1938478836082) + 0.1
    assert a == pytest.approx(36.22746666850041, rel=1e-15)
    assert _rows(0, a, 150) == 42 and _rows(a / 2, a, 150) == 44


def test_hbm_stack_and_package(package):
    hbm = package.hbm
    assert hbm.cap_bytes == 17179869184
    assert hbm.bw_bytes_per_s == 494780232448
    assert hbm.tdp_w == pytest.approx(15.4371432523776, rel=1e-14)
    assert hbm.area_mm2 == pytest.approx(91.9925, rel=1e-15)
    assert package.num_hbm_stacks == 6 and package.si
    assert package.tdp_w == 258.36285951426555
    assert package.dram_bytes / 1e9 == 103.079215104
    assert package.dram_bw_per_chip_bytes_per_s == 2.968681394688e12
    assert package.total_die_area_mm2 == pytest.approx(1186.539861712371, rel=1e-15)
    assert package.area_mm2 == pytest.approx(1305.1938478836082, rel=1e-15)
    assert package.heatsource_mm == 48.82916143173367
    assert package.power_density_w_per_mm2 == pytest.approx(0.10836, rel=1e-3)


def test_package_cost(package):
    y_si = negative_binomial_yield(package.area_mm2, 0.0007, 6.0)
    assert y_si == pytest.approx(0.42723670353536464, rel=1e-15)
    assert 1937.0 / 44 == pytest.approx(44.02272727272727, rel=1e-15)
    assert package.substrate_cost_usd == pytest.approx(132.39245717949922, rel=1e-15)
    assert package.wasted_chips_cost_usd == pytest.approx(12.711652232602475, rel=1e-15)
    assert package.cost_usd == 1066.033671172818


def test_heatsink_search():
    hs = design_heatsink(48.82916143173367, 2)
    assert hs.reference_power_w == 206.1218210744733
    assert 0.95 * hs.reference_power_w == pytest.approx(195.81573002074964, rel=1e-15)
    assert hs.valid
    d = hs.design
    assert (d.n, round(d.t_b_m * 1e3), round(d.H_m * 1e3), round(d.L_m * 1e3)) == (40, 4, 31, 55)
    assert d.V_m3_per_s == 0.008636638210560018
    assert hs.max_power_w == 195.6518190894696
    assert hs.cost_usd == pytest.approx(1 + 4122.68 * (0.06 * 0.055 * 0.004 + 0.5e-3 * 0.031 * 0.055 * 40),
                                        rel=1e-12)
    assert hs.cost_usd == pytest.approx(1.195002764, rel=1e-9)


def test_server(server):
    assert server.lane_area_mm2 == pytest.approx(4768.6, rel=1e-4)
    assert server.core_tdp_w == 1145.0985463236148
    assert server.other_tdp_w == 71.80055401662051
    assert server.tdp_w == 1216.8991003402352
    assert server.dcdc_current_a == pytest.approx(1184.94, rel=1e-5)
    assert server.cost_dcdc_usd == 300.0 and server.cost_psu_usd == 100.0
    assert (server.cost_fans_usd, server.cost_ethernet_usd, server.cost_system_usd) == (30, 450, 180)
    assert server.cost_usd == 5328.914695747272
    assert server.valid


def test_tco_at_tdp(server):
    assert loan_interest(1.0, 0.08, 12.0) == pytest.approx(0.5587317201010229, rel=1e-13)
    t = server.tco
    assert t.dc_amortization == 1521.1238754252943
    assert t.dc_interest == 849.9001594031087
    assert t.dc_opex == 876.1673522449694
    assert t.srv_power == 1056.6578268074331
    assert t.pue_overhead == 528.3289134037166
    assert t.srv_amortization == 5328.914695747272
    assert t.srv_interest == 343.85021678208614
    assert t.srv_opex == 266.4457347873636
    assert t.fix_part == 5939.210647316722
    assert t.power_part == 4832.178127284522
    assert t.total == 10771.388774601244


def test_derived_ratios(server):
    assert server.cost_usd / server.tops == 2.902458984611804
    assert server.tdp_w / server.tops == 0.6627990742593873
    assert server.tco.total / server.tops == 5.86676948507693
    assert server.chip.sram_density_mb_per_mm2 == 2.2222222222222223
