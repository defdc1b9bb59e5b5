"""Speed-up of ``--jobs N`` (issue 5): wall time of a fixed budget with 1 and N worker processes.

    .venv/bin/python bench/bench_jobs.py [--trials 1000] [--jobs 2] [--repeat 3] [-- extra search.py flags]

Runs ``search.py`` in a fresh scratch directory per run (new SQLite study each time), alternating
1 and N jobs, on a space where evaluation dominates (default: ``spaces/hbm_chip.yaml`` with
``--mapping best``, GPT-3, NSGA-II). Prints each run (wall time and the CPU time of the whole
process tree), the median wall times, the speed-up and the machine's load average (other processes
on the machine distort the numbers: read them with it; ``nice -n -10`` gives the benchmark the
lion's share of the CPUs on a busy machine).
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT = ["--space", "spaces/hbm_chip.yaml", "--mapping", "best", "--model", "gpt3", "--sampler", "nsga2"]


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def one(jobs: int, trials: int, extra: list[str]) -> tuple[float, float, str]:
    with tempfile.TemporaryDirectory(prefix="llmhw-bench-jobs-") as tmp:
        for d in ("inputs", "spaces"):
            os.symlink(REPO / d, Path(tmp) / d)
        cmd = [sys.executable, str(REPO / "search.py"), *(extra or DEFAULT), "--trials", str(trials),
               "--jobs", str(jobs), "--study", "bench", "--no-progress"]
        t0, c0 = time.perf_counter(), _cpu()
        out = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
        wall, cpu = time.perf_counter() - t0, _cpu() - c0
        if out.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr}")
        added = re.search(r"added \d+ trials in [^\n]*", out.stdout)
        return wall, cpu, added.group(0) if added else ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("extra", nargs="*", help="search.py flags replacing the default problem")
    a = ap.parse_args()
    print(f"{os.cpu_count()} CPUs, nice {os.nice(0)}; load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"problem: {' '.join(a.extra or DEFAULT)} --trials {a.trials}")
    walls: dict[int, list[float]] = {1: [], a.jobs: []}
    for r in range(a.repeat):
        for jobs in (1, a.jobs):
            wall, cpu, line = one(jobs, a.trials, a.extra)
            walls[jobs].append(wall)
            print(f"  run {r + 1}, --jobs {jobs}: {wall:6.1f} s wall, {cpu:6.1f} s CPU  ({line})", flush=True)
    m1, mn = statistics.median(walls[1]), statistics.median(walls[a.jobs])
    print(f"median wall: --jobs 1 {m1:.1f} s, --jobs {a.jobs} {mn:.1f} s -> speed-up {m1 / mn:.2f}x")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
