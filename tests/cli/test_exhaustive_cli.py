"""``search.py --exhaustive`` end to end against the reference model's shipped tables.

Each table is compared by column name to 1e-9 relative (and, being produced with the same shortest
round-trip printing, is expected to be identical text).
"""
from __future__ import annotations

import math
import subprocess
import sys

import pytest

from llmhw.exhaustive.csv_format import read_reference_csv
from tests.conftest import REPO_ROOT

CASES = {
    # name: (hardware, constants, model, system, {our table: expected table})
    "hw_example": ("seed_inputs/hardware/config/hw_example.yaml", "seed_inputs/hardware/constant/7nm_default.yaml",
                   "seed_inputs/software/model/gpt3.yaml", "seed_inputs/software/system/sys_default.yaml",
                   {"gpt3.csv": "expected/hw_example/gpt3.csv"}),
    "tpuv4": ("cases/a_tpuv4_gpt3/inputs/hardware/tpuv4.yaml", "cases/a_tpuv4_gpt3/inputs/constant/7nm_default.yaml",
              "cases/a_tpuv4_gpt3/inputs/model/gpt3.yaml", "cases/a_tpuv4_gpt3/inputs/system/tpuv4.yaml",
              {"tpuv4.csv": "expected/a_tpuv4_gpt3/hardware.csv", "gpt3.csv": "expected/a_tpuv4_gpt3/performance.csv",
               "gpt3_optima.csv": "expected/a_tpuv4_gpt3/optima.csv"}),
    "cc_3d_baseline": ("cases/c_cc_3d_baseline_gpt3/inputs/hardware/cc_3d_baseline.yaml",
                       "cases/c_cc_3d_baseline_gpt3/inputs/constant/7nm_default.yaml",
                       "cases/c_cc_3d_baseline_gpt3/inputs/model/gpt3.yaml",
                       "cases/c_cc_3d_baseline_gpt3/inputs/system/cc_3d_baseline.yaml",
                       {"cc_3d_baseline.csv": "expected/c_cc_3d_baseline_gpt3/hardware.csv",
                        "gpt3.csv": "expected/c_cc_3d_baseline_gpt3/performance.csv",
                        "gpt3_optima.csv": "expected/c_cc_3d_baseline_gpt3/optima.csv"}),
}


def _same(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9)
    except ValueError:
        return False


@pytest.mark.parametrize("case", sorted(CASES))
def test_exhaustive_reference_mode_reproduces_shipped_tables(reference_dir, tmp_path, case):
    hw, constants, model, system, tables = CASES[case]
    cmd = [sys.executable, "search.py", "--exhaustive", "--compat", "reference", "--outputs", str(tmp_path),
           "--hw", str(reference_dir / hw), "--constants", str(reference_dir / constants),
           "--model", str(reference_dir / model), "--sys", str(reference_dir / system)]
    done = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    out = tmp_path / case
    for ours, expected in tables.items():
        got, want = read_reference_csv(out / ours), read_reference_csv(reference_dir / expected)
        assert len(got) == len(want), ours
        for i, (g, w) in enumerate(zip(got, want)):
            bad = {c: (w[c], g.get(c)) for c in w if not _same(w[c], g.get(c, ""))}
            assert not bad, f"{ours} row {i}: {bad}"


def test_bad_hardware_file_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("Chip:\n  freq: 0\n")
    done = subprocess.run([sys.executable, "search.py", "--exhaustive", "--hardware-only", "--hw", str(bad),
                           "--outputs", str(tmp_path)], cwd=REPO_ROOT, capture_output=True, text=True)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "bad.yaml" in done.stderr
