#!/usr/bin/env python3
"""CPU seconds of the hardware phase on the reference speed grid (issue: goal < 1 s; reference ≈ 33 s).

    .venv/bin/python bench/bench_hardware.py [--reference DIR] [--repeat N]

Each repetition starts cold: the heatsink and air-volume memo tables are cleared first.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from llmhw.config import load_constants, load_hardware  # noqa: E402
from llmhw.fidelity import CORRECTED, REFERENCE  # noqa: E402
from llmhw.hardware import heatsink, wafer  # noqa: E402
from llmhw.hardware.constants import load_constants_dict  # noqa: E402
from llmhw.exhaustive.hardware_phase import hardware_phase  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", default=str(Path(__file__).resolve().parents[2] / "shared" / "reference"))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    ref = Path(args.reference)
    grid = ref / "cases/speed_grid/large_grid.yaml"
    if not grid.exists():
        print(f"speed grid not found at {grid}", file=sys.stderr)
        return 2
    hw = load_hardware(grid)
    k = load_constants_dict(load_constants(ref / "seed_inputs/hardware/constant/7nm_default.yaml"))
    for fidelity in (REFERENCE, CORRECTED):
        times = []
        for _ in range(args.repeat):
            heatsink.clear_caches()
            wafer.dies_per_wafer.cache_clear()
            t0 = time.process_time()
            phase = hardware_phase(hw.chips, hw.packages, hw.servers, k, fidelity)
            times.append(time.process_time() - t0)
        c = phase.counts
        print(f"hardware phase, speed grid, compat={fidelity.compat}: {c['servers']} servers built, "
              f"{c['servers_valid']} valid, {len(heatsink._HEATSINKS)} distinct heatsinks; "
              f"CPU s: median {statistics.median(times):.3f} (min {min(times):.3f}, max {max(times):.3f}, "
              f"n={len(times)}); reference model ≈ 33 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
