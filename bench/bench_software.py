#!/usr/bin/env python3
"""CPU seconds of the full-search software phase on the reference speed grid (goal < 3 s; reference ≈ 137 s).

    .venv/bin/python bench/bench_software.py [--reference DIR] [--repeat N] [--scalar]

The hardware phase (large_grid.yaml, 252 valid servers) is built first and not timed; then the software
phase (large_grid_sys_full.yaml: 6 system points, no default mapping; model gpt3) is timed with
time.process_time(), in both fidelity modes; each repetition starts with cold memo tables. ``--scalar`` times the plain per-point loop instead.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from llmhw.config import expand_system, load_constants, load_hardware, load_model, load_system  # noqa: E402
from llmhw.fidelity import CORRECTED, REFERENCE  # noqa: E402
from llmhw.hardware.constants import load_constants_dict  # noqa: E402
from llmhw.exhaustive.hardware_phase import hardware_phase  # noqa: E402
from llmhw.perf import grid as perf_grid  # noqa: E402
from llmhw.exhaustive.software_phase import software_phase  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", default=str(Path(__file__).resolve().parents[2] / "shared" / "reference"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scalar", action="store_true", help="time the scalar (per-point) sweep instead")
    args = ap.parse_args()
    ref = Path(args.reference)
    grid = ref / "cases/speed_grid"
    if not grid.is_dir():
        print(f"speed grid not found at {grid}", file=sys.stderr)
        return 2
    hw = load_hardware(grid / "large_grid.yaml")
    k = load_constants_dict(load_constants(ref / "seed_inputs/hardware/constant/7nm_default.yaml"))
    model = load_model(ref / "seed_inputs/software/model/gpt3.yaml")
    system_cfgs = expand_system(load_system(grid / "large_grid_sys_full.yaml").raw, model)
    for fidelity in (REFERENCE, CORRECTED):
        servers = hardware_phase(hw.chips, hw.packages, hw.servers, k, fidelity).servers
        times = []
        for _ in range(args.repeat):
            perf_grid._LAYOUTS.clear()     # every repetition starts cold
            perf_grid._PAIRS.clear()
            t0 = time.process_time()
            perf_rows, optima = software_phase(servers, system_cfgs, None, fidelity, k,
                                                    vectorized=not args.scalar)
            times.append(time.process_time() - t0)
        print(f"software phase, speed grid, compat={fidelity.compat}, {'scalar' if args.scalar else 'vectorised'}: "
              f"{len(servers)} servers × {len(system_cfgs)} systems → {len(optima['server'])} optima rows, "
              f"{len(perf_rows)} performance rows; CPU s: median {statistics.median(times):.3f} "
              f"(min {min(times):.3f}, max {max(times):.3f}, n={len(times)}); reference model ≈ 137 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
