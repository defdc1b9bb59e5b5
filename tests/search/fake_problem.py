"""A fake evaluator following the llmhw.evaluate contract (Problem.evaluate / evaluate_many → Result).

Cheap closed-form metrics of the design point with real trade-offs (more chips: faster but dearer),
violations over llmhw.violations.CONSTRAINT_NAMES, and an infinite metric for hopeless designs, so
the search layer can be tested before and independently of the real evaluator.
"""
from __future__ import annotations

import math
import time

from llmhw.evaluate import Result
from llmhw.violations import CONSTRAINT_NAMES


class FakeProblem:
    def __init__(self, hw=None, system=None, model=None, constants=None, fidelity=None,
                 delay_s: float = 0.0):
        self.model = model or {"num_layers": 96, "d": 12288}
        self.delay_s = delay_s
        self.calls = 0
        self.points = 0

    def evaluate(self, point) -> Result:
        self.points += 1
        chip, pkg, srv, sys_ = point.chip, point.package, point.server, point.system
        perf = float(chip.get("perf") or 1e14)
        sram = float(chip.get("sram") or 1e8)
        chips = int(pkg.get("num_chips", 1)) * int(srv.get("num_lanes", 8)) * int(srv.get("packages_per_lane", 1))
        ns = int(sys_.get("num_servers") or 1)
        n = chips * ns
        L = int(self.model.get("num_layers", 96))
        d = int(self.model.get("d", 12288))
        model_bytes = 12 * L * d * d * 2.0
        hbm = int(chip.get("hbm_channels") or 0)
        mem = n * (sram + hbm * 2.0e9)
        B, P, G = point.batch, point.prefill_len, point.decode_len
        p = point.p or 1
        mb = point.micro_batch or B
        pmb = point.prefill_micro_batch or B
        compute = 2 * model_bytes / 2 * B * (P + G) / (n * perf)
        memory = model_bytes / (n * (sram * 10 + hbm * 5e10)) * G * (B / mb)
        bubble = 1.0 + (p - 1) / max(1.0, B / mb) * 0.1 + (p - 1) / max(1.0, B / pmb) * 0.05
        e2e = (compute + memory) * bubble + 1e-3 * p
        ttft = e2e * P / (P + G)
        tpot = (e2e - ttft) / G
        thr = B * G / e2e
        capex = n * (perf / 1e12 * 2 + sram / 1e6 * 0.5 + hbm * 15) + ns * 3000
        power = n * (perf / 1e12 * 0.5 + hbm * 2)
        tco = (capex / (1.5 * 365 * 86400) + power * 2e-8) / thr * 1e6 if thr > 0 else math.inf
        viol = {k: 0.0 for k in CONSTRAINT_NAMES}
        area = perf / 1e12 * 0.7 + sram / 1e6 * 0.45 + hbm * 1.04
        viol["chip_die_area_mm2"] = area - 900.0
        viol["srv_power_w"] = chips * (perf / 1e12 * 0.5 + hbm * 2) - 6000.0
        viol["sys_memory_bytes"] = model_bytes - mem
        viol["map_memory_bytes"] = model_bytes + B * (P + G) * 4.7e6 - mem * min(1.0, p / max(1, ns) + 0.5)
        viol["map_invalid"] = 1.0 if (p > ns and p % ns) else 0.0
        if viol["sys_memory_bytes"] > 0:
            tco = math.inf
        metrics = {"ttft_s": ttft, "tpot_s": tpot, "e2e_latency_s": e2e, "throughput_tok_per_s": thr,
                   "throughput_per_chip_tok_per_s": thr / n, "tco_per_mtoken_usd": tco,
                   "tco_per_token_usd": tco / 1e6, "capex_usd": capex, "power_w": power,
                   "energy_per_token_j": power / thr if thr else math.inf, "num_chips": float(n),
                   "chip_area_mm2": area}
        reasons = tuple(k for k, v in viol.items() if v > 0)
        design = {"perf": perf, "sram": sram, "num_chips": n, "num_servers": ns, "batch": B, "p": p,
                  "micro_batch": mb, "prefill_micro_batch": pmb}
        return Result(metrics=metrics, violations=viol, reasons=reasons, design=design)

    def evaluate_many(self, points):
        self.calls += 1
        if self.delay_s:
            time.sleep(self.delay_s)
        return [self.evaluate(p) for p in points]
