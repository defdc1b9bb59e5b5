"""Property tests over random valid points (hypothesis drives the random choices of the system and point)."""
from __future__ import annotations

import math

from hypothesis import given, settings, strategies as st

from llmhw.fidelity import CORRECTED, REFERENCE
from llmhw.perf.point import evaluate_point
from llmhw.workload.mapping import mapping_violations, mappings_for_batch
from llmhw.workload.system import build_system

from tests.perf.support import project_constants, project_model, project_servers, random_system

POSITIVE = ("prefill_latency_s", "decode_latency_s", "tpot_s", "e2e_latency_s", "prefill_throughput_tok_per_s",
            "decode_throughput_tok_per_s", "prefill_utilization", "decode_utilization", "prefill_energy_j",
            "decode_energy_j", "prefill_power_w", "decode_power_w", "avg_server_power_w",
            "prefill_tco_per_token_usd", "decode_tco_per_token_usd", "tco_per_mtoken_usd", "capex_usd", "opex_usd")


@settings(max_examples=60, deadline=None)
@given(rng=st.randoms(use_true_random=False), corrected=st.booleans())
def test_random_point_properties(rng, corrected):
    fidelity = CORRECTED if corrected else REFERENCE
    system = random_system(rng, fidelity.compat)
    B = rng.choice(system.batches)
    mappings = mappings_for_batch(system, B)
    if not mappings:
        return
    m = rng.choice(mappings)
    r = evaluate_point(system, m, B, fidelity=fidelity)
    for name in POSITIVE:
        v = getattr(r, name)
        assert math.isfinite(v) and v > 0, (name, v)
    P, G = system.prefill_len, system.decode_len
    assert math.isclose(r.prefill_throughput_tok_per_s * r.prefill_latency_s, B * P, rel_tol=1e-12)
    assert math.isclose(r.decode_throughput_tok_per_s * r.tpot_s, B, rel_tol=1e-12)
    assert r.decode_latency_s >= r.tpot_s * (G - 1)
    for T, parts in ((r.prefill_latency_s, (r.prefill_io_s, r.prefill_compute_s, r.prefill_mem_s)),
                     (r.decode_latency_s, (r.decode_io_s, r.decode_compute_s, r.decode_mem_s))):
        assert all(x >= 0 for x in parts)
        assert math.isclose(sum(parts), T, rel_tol=1e-9)
    assert math.isclose(r.capex_usd + r.opex_usd, r.tco.total * system.num_servers, rel_tol=1e-12)
    if system.default_mapping is None:   # an enumerated (feasible) mapping fits its stages' memory
        assert mapping_violations(system, m, B)["map_memory_bytes"] <= 0


@settings(max_examples=30, deadline=None)
@given(hw=st.sampled_from(("hw_example", "tpuv5p")), model=st.sampled_from(("gpt2", "gpt3", "llama3-70B")),
       ns=st.integers(1, 12), extra=st.integers(1, 12), batch=st.sampled_from((1, 8, 64)),
       energy_model=st.booleans(), corrected=st.booleans())
def test_more_servers_never_reduce_capex(hw, model, ns, extra, batch, energy_model, corrected):
    fidelity = CORRECTED if corrected else REFERENCE
    server = project_servers(hw, fidelity.compat)[0]
    capex = []
    for n in (ns, ns + extra):
        cfg = {"num_servers": n, "allreduce_algo": "2d_ring", "eval_len": [256, 64], "max_batch": batch,
               "energy_model": energy_model,
               "default_mapping": {"t": 1, "p": 1, "micro_batch": 0, "prefill_micro_batch": 0}}
        system = build_system(server, cfg, project_model(model), project_constants())
        if not system.valid:
            return
        m = mappings_for_batch(system, batch)[0]
        capex.append(evaluate_point(system, m, batch, fidelity=fidelity).capex_usd)
    assert capex[1] > capex[0]
