#!/usr/bin/env python3
"""When does disaggregation win? The best deployment of each serving mode of a serving space, by exhaustion.

    .venv/bin/python bench/bench_serving_modes.py --space spaces/pd_disaggregated.yaml --model llama3-70B \
        [--metric goodput_per_musd] [--slo-ttft S] [--slo-tpot S]

Every point of the space is evaluated once per distinct deployment (the dimensions a mode does not use are
held at their first value); the feasible design with the best ``--metric`` is printed for each mode, with the
pools, the ratio, what binds the goodput and where TTFT and TPOT go (docs/serving.md §10).
"""
from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from llmhw.config import resolve_model_path  # noqa: E402
from llmhw.evaluate import METRICS, Problem  # noqa: E402
from llmhw.paths import DEFAULT_CONSTANTS  # noqa: E402
from llmhw.search.overlay import load_space  # noqa: E402
from llmhw.search.setup import InputText, StudyInputs, build_setup  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--metric", default="goodput_per_musd")
    ap.add_argument("--slo-ttft", type=float)
    ap.add_argument("--slo-tpot", type=float)
    args = ap.parse_args()
    space_file = load_space(args.space)
    limits = {k: v for k, v in (("max_ttft", args.slo_ttft), ("max_tpot", args.slo_tpot)) if v is not None}
    inputs = StudyInputs(hw=InputText.read(space_file.base_hw), system=InputText.read(space_file.base_sys),
                         model=InputText.read(resolve_model_path(args.model)),
                         constants=InputText.read(DEFAULT_CONSTANTS), space=InputText(space_file.path, space_file.text),
                         enqueue=None, compat=None, workload=(1024, 256), mapping="explicit",
                         objectives=(args.metric,), limits=limits)
    setup = build_setup(inputs)
    space = setup.space
    problem = Problem(setup.hw, setup.system, setup.model, setup.constants, setup.fidelity)
    sign = -1 if METRICS[args.metric][0] == "maximize" else 1
    grid = space.grid()
    seen: set = set()
    best: dict[str, tuple] = {}
    t0, n = time.perf_counter(), 0
    for combo in itertools.product(*grid.values()):
        params = dict(zip(grid, combo))
        key = space.canonical(params)
        if key in seen:
            continue
        seen.add(key)
        r = problem.evaluate(space.point(params))
        n += 1
        if not r.feasible:
            continue
        mode = r.design["serving_mode"]
        v = sign * r.metrics[args.metric]
        if mode not in best or v < best[mode][0]:
            best[mode] = (v, r)
    wl = space.serving_workload
    print(f"{args.space}: prompts {wl.prompt.describe()}, outputs {wl.output.describe()}, SLO TTFT "
          f"p{wl.percentile * 100:g} ≤ {wl.slo_ttft_s:g} s, TPOT ≤ {wl.slo_tpot_s:g} s; {n} deployments in "
          f"{time.perf_counter() - t0:.0f} s")
    for mode, (_, r) in sorted(best.items()):
        m, d = r.metrics, r.design
        pools = d.get("aggregated_pool") or f"P {d['prefill_pool']} | D {d['decode_pool']} | {d['pd_ratio']}"
        print(f"  {mode:13} {args.metric} {m[args.metric]:.4g}: goodput {m['goodput_rps']:.3g} req/s, "
              f"${m['tco_per_mtoken_usd']:.3f}/Mtoken, {int(m['num_chips'])} chips; binds: {d['binding']}")
        print(f"                {pools}" + (f"; chunk {d['chunk_tokens']}" if "chunk_tokens" in d else ""))
        print(f"                TTFT p90 {m['ttft_s']:.3f} s (wait {m['ttft_wait_s']:.3f}, prefill "
              f"{m['ttft_prefill_s']:.3f}, KV {m['kv_transfer_s'] * 1e3:.2f} ms); TPOT {m['tpot_s'] * 1e3:.1f} ms "
              f"(weights {m['tpot_weights_s'] * 1e3:.1f}, attention {m['tpot_attention_s'] * 1e3:.1f}, comm "
              f"{m['tpot_communication_s'] * 1e3:.1f}, chunks {m['tpot_chunk_s'] * 1e3:.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
