#!/usr/bin/env python3
"""The analytical serving model against a discrete-event simulation on a handful of points (docs/serving.md §7).

    .venv/bin/python bench/bench_serving.py [--requests N] [--seed S]

llama3-70B on 8-GPU H100 servers (inputs/hardware/config/h100.yaml, corrected mode), prompts gamma(mean 2048,
CV 0.5), outputs gamma(mean 256, CV 0.5): aggregated instances with chunks of 512 and 2048 tokens, and a
disaggregated 1 prefill : 2 decode deployment, each at 50 % and 85 % of the model's maximum sustainable load.
Prints TTFT (mean and p90), TPOT and throughput from both, and the relative differences.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from llmhw.config import expand_system, load_hardware, load_model, load_system  # noqa: E402
from llmhw.fidelity import CORRECTED  # noqa: E402
from llmhw.hardware.constants import load_constants_dict  # noqa: E402
from llmhw.config import load_constants  # noqa: E402
from llmhw.exhaustive.hardware_phase import hardware_phase  # noqa: E402
from llmhw.serving.deployment import Pool, serve_aggregated, serve_disaggregated  # noqa: E402
from llmhw.serving.disagg import KVLink  # noqa: E402
from llmhw.serving.simulate import simulate_aggregated, simulate_disaggregated  # noqa: E402
from llmhw.serving.workload import workload_from_config  # noqa: E402
from llmhw.workload.model import Model  # noqa: E402
from llmhw.workload.system import build_system  # noqa: E402


def h100_system():
    k = load_constants_dict(load_constants(ROOT / "inputs/hardware/constant/7nm_default.yaml"))
    hw = load_hardware(ROOT / "inputs/hardware/config/h100.yaml")
    srv = hardware_phase(hw.chips, hw.packages, hw.servers, k, CORRECTED).servers[0]
    m = load_model(ROOT / "inputs/software/model/llama3-70B.yaml")
    cfg = expand_system(load_system(ROOT / "inputs/software/system/h100.yaml").raw, m)[0]   # 1 server
    return build_system(srv, cfg, Model.from_dict(m), k)


def rel(a: float, b: float) -> str:
    return f"{(a - b) / b * 100:+.1f}%"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    sys_ = h100_system()
    wl = workload_from_config({"prompt": {"mean": 2048, "spread": 0.5}, "output": {"mean": 256, "spread": 0.5}},
                              (2048, 256))
    K = sys_.model.kv_bytes_per_token
    link = KVLink("server", sys_.server.io.bandwidth_bytes_per_s * sys_.io_bandwidth_efficiency,
                  sys_.server.io.init_time_s)
    t, p = 8, 1
    rows = []
    for chunk in (512, 2048):
        pool = Pool.build("aggregated", sys_, t, p, 1, CORRECTED)
        cap = serve_aggregated(pool, wl, chunk).max_rate_rps
        for frac in (0.5, 0.85):
            w = type(wl)(**{**wl.__dict__, "rate_rps": frac * cap})
            a = serve_aggregated(pool, w, chunk)
            max_batch = (pool.kv_tokens - wl.prompt.mean()) / wl.decode_context()
            t0 = time.perf_counter()
            m = simulate_aggregated(pool.cost, w, chunk, max_batch, w.rate_rps, args.requests, args.seed)
            rows.append((f"aggregated C={chunk}", frac, w.rate_rps, a, m, time.perf_counter() - t0))
    pre = Pool.build("prefill", sys_, t, p, 1, CORRECTED)
    dec = Pool.build("decode", sys_, t, p, 2, CORRECTED)
    cap = serve_disaggregated(pre, dec, wl, link).max_rate_rps
    for frac in (0.5, 0.85):
        w = type(wl)(**{**wl.__dict__, "rate_rps": frac * cap})
        a = serve_disaggregated(pre, dec, w, link)
        t0 = time.perf_counter()
        m = simulate_disaggregated(pre.cost, p, 1, dec.cost, 2, w, K, link, dec.kv_tokens / wl.decode_context(),
                                   w.rate_rps, args.requests, args.seed)
        rows.append(("disaggregated 1P:2D", frac, w.rate_rps, a, m, time.perf_counter() - t0))
    print(f"llama3-70B, 8×H100 servers (t={t}, p={p}), prompts {wl.prompt.describe()}, outputs "
          f"{wl.output.describe()}; DES {args.requests} requests (first 20 % discarded), seed {args.seed}")
    print(f"{'deployment':22} {'load':>5} {'req/s':>6} | {'TTFT mean model/DES':>21} {'Δ':>7} | "
          f"{'TTFT p90 model/DES':>20} {'Δ':>7} | {'TPOT ms model/DES':>18} {'Δ':>7} | {'tok/s model/DES':>16} {'Δ':>6}")
    for name, frac, r, a, m, dt in rows:
        print(f"{name:22} {frac:5.0%} {r:6.2f} | {a.ttft_mean_s:9.3f} / {m.ttft_mean_s:9.3f} {rel(a.ttft_mean_s, m.ttft_mean_s):>7} | "
              f"{a.ttft_s:8.3f} / {m.ttft_q_s:9.3f} {rel(a.ttft_s, m.ttft_q_s):>7} | "
              f"{a.tpot_s * 1e3:7.2f} / {m.tpot_s * 1e3:8.2f} {rel(a.tpot_s, m.tpot_s):>7} | "
              f"{a.throughput_tok_per_s:7.0f} / {m.throughput_tok_per_s:6.0f} "
              f"{rel(a.throughput_tok_per_s, m.throughput_tok_per_s):>6}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
