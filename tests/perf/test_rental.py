"""Rented TCO (docs/tco-modes.md §R.1): a price per chip-hour replaces the owned TCO per second.

Golden numbers are hand-computed from the worked example of model.md §17.3 (gpt3 on 16 TPUv5p-like
servers = 64 chips, default mapping, batch 8, P = 256, G = 64), whose latencies are documented there.
"""
from __future__ import annotations

from dataclasses import replace

import pytest

from llmhw.config.validate import validate_system
from llmhw.errors import ConfigError, LlmhwError
from llmhw.fidelity import CORRECTED, REFERENCE
from llmhw.perf.point import evaluate_point
from llmhw.perf.rental import rented_cost_per_s
from llmhw.workload.mapping import default_mapping_point

from tests.perf.support import project_system

# §17.3, batch 8: T_p and T_g of the worked example. They hold in corrected mode with the §V software-stack
# fixes off (causal prefill attention and the p = 1 stage transfer, docs/validation.md §V.4, §V.7), which the
# rental arithmetic below does not depend on.
SPEC_LATENCIES = replace(CORRECTED, causal_prefill_attention=False, single_stage_no_transfer=False)
T_P = 0.08093113593066666
T_G = 0.13842569386750556


def test_rented_cost_per_second_by_hand():
    # 32 TPUv4 chips at $3.22 per chip-hour: 3.22 × 32 = 103.04 $/h; 103.04 / 3600 = 0.0286222… $/s
    assert rented_cost_per_s(3.22, 32) == pytest.approx(0.028622222222222222, rel=1e-15)


@pytest.fixture(scope="module")
def example():
    return project_system(compat="corrected")


def test_rented_tco_per_token_worked_example(example):
    rented = replace(example, tco_mode="rented", rent_usd_per_chip_hour=2.0)
    assert rented.num_chips == 64
    res = evaluate_point(rented, default_mapping_point(rented, 8), 8, fidelity=SPEC_LATENCIES)
    assert res.prefill_latency_s == pytest.approx(T_P, rel=1e-12)       # §17.3
    assert res.decode_latency_s == pytest.approx(T_G, rel=1e-12)
    # per_sec = 2.00 × 64 / 3600 = 0.0355555… $/s
    # T_p + T_g = 0.08093113593066666 + 0.13842569386750556 = 0.21935682979817223 s
    # per_sec × (T_p + T_g) = 0.007799353948379457 $ per batch of 8 sequences
    # generated tokens: B × G = 8 × 64 = 512 → 0.007799353948379457 / 512 × 1e6 = 15.233113180428626 $/Mtoken
    assert res.tco_per_mtoken_usd == pytest.approx(15.233113180428626, rel=1e-12)
    # prompt tokens: B × P = 8 × 256 = 2048 → 0.007799353948379457 / 2048 = 3.8082782951071565e-6 $/token
    assert res.prefill_tco_per_token_usd == pytest.approx(3.8082782951071565e-6, rel=1e-12)
    owned = evaluate_point(example, default_mapping_point(example, 8), 8, fidelity=SPEC_LATENCIES)
    assert owned.tco_per_mtoken_usd != pytest.approx(res.tco_per_mtoken_usd, rel=1e-3)
    assert owned.decode_latency_s == res.decode_latency_s                   # only the cost changes
    assert res.tco == owned.tco                                             # the owned breakdown is still reported


def test_rented_is_refused_in_reference_mode(example):
    rented = replace(example, tco_mode="rented", rent_usd_per_chip_hour=2.0)
    with pytest.raises(LlmhwError, match="compat: corrected"):
        evaluate_point(rented, default_mapping_point(rented, 8), 8, fidelity=REFERENCE)


def test_rented_needs_a_price_and_the_corrected_mode():
    with pytest.raises(ConfigError, match="rent_usd_per_chip_hour: required with tco_mode: rented"):
        validate_system({"num_servers": 4, "tco_mode": "rented"}, "s.yaml")
    with pytest.raises(ConfigError, match="only with compat: corrected"):
        validate_system({"num_servers": 4, "tco_mode": "rented", "rent_usd_per_chip_hour": 3.22,
                         "compat": "reference"}, "s.yaml")
    with pytest.raises(ConfigError, match="tco_mode"):
        validate_system({"num_servers": 4, "tco_mode": "leased"}, "s.yaml")
    validate_system({"num_servers": 4, "tco_mode": "rented", "rent_usd_per_chip_hour": 3.22}, "s.yaml")
