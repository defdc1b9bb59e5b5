"""The hardware phase against the reference model's shipped tables (``../shared/reference``)."""
from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from llmhw.config import load_constants, load_hardware
from llmhw.fidelity import CORRECTED, REFERENCE
from llmhw.hardware.constants import load_constants_dict
from llmhw.exhaustive.hardware_phase import hardware_phase
from llmhw.exhaustive.csv_format import read_reference_csv

from tests.conftest import REFERENCE_DIR, REPO_ROOT

CASES = [
    ("seed_inputs/hardware/config/hw_example.yaml", "expected/hw_example/hw_example.csv", "legacy"),
    ("cases/a_tpuv4_gpt3/inputs/hardware/tpuv4.yaml", "expected/a_tpuv4_gpt3/hardware.csv", "full"),
    ("cases/c_cc_3d_baseline_gpt3/inputs/hardware/cc_3d_baseline.yaml",
     "expected/c_cc_3d_baseline_gpt3/hardware.csv", "full"),
]


def _close(expected: str, got: str) -> bool:
    if expected == got:
        return True
    try:
        e, g = float(expected), float(got)
    except ValueError:
        return False
    return math.isclose(e, g, rel_tol=1e-9, abs_tol=0.0)


@pytest.mark.parametrize("hw, expected, fmt", CASES, ids=[c[0].split("/")[-1] for c in CASES])
def test_hardware_table_matches_reference(reference_dir, tmp_path, hw, expected, fmt):
    """`search.py --exhaustive --hardware-only --compat reference` reproduces the shipped table by column name."""
    constants = reference_dir / "seed_inputs/hardware/constant/7nm_default.yaml"
    cmd = [sys.executable, str(REPO_ROOT / "search.py"), "--exhaustive", "--hardware-only",
           "--hw", str(reference_dir / hw), "--constants", str(constants), "--compat", "reference",
           "--outputs", str(tmp_path), "--hw-table-format", fmt]
    subprocess.run(cmd, check=True, capture_output=True, cwd=REPO_ROOT)
    stem = Path(hw).stem
    got = read_reference_csv(tmp_path / stem / f"{stem}.csv")
    want = read_reference_csv(reference_dir / expected)
    assert len(got) == len(want)
    for g_row, w_row in zip(got, want):
        assert set(w_row) <= set(g_row)
        bad = {c: (w_row[c], g_row[c]) for c in w_row if not _close(w_row[c], g_row[c])}
        assert not bad, bad
    if fmt == "legacy":  # the legacy form reproduces the shipped file byte for byte
        assert (tmp_path / stem / f"{stem}.csv").read_text() == (reference_dir / expected).read_text()


def _hardware_files() -> list[Path]:
    if not REFERENCE_DIR.is_dir():
        return []
    files = sorted((REFERENCE_DIR / "seed_inputs/hardware/config").glob("*.yaml"))
    files += sorted(REFERENCE_DIR.glob("cases/*/inputs/hardware/*.yaml"))
    files += sorted(REFERENCE_DIR.glob("cases/speed_grid/large_grid.yaml"))
    return files


@pytest.mark.skipif(not REFERENCE_DIR.is_dir(), reason=f"reference material not found at {REFERENCE_DIR}")
@pytest.mark.parametrize("fidelity", [REFERENCE, CORRECTED], ids=["reference", "corrected"])
@pytest.mark.parametrize("hw", _hardware_files(), ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_reference_hardware_file_evaluates(hw, fidelity):
    k = load_constants_dict(load_constants(REFERENCE_DIR / "seed_inputs/hardware/constant/7nm_default.yaml"))
    cfg = load_hardware(hw)
    phase = hardware_phase(cfg.chips, cfg.packages, cfg.servers, k, fidelity)
    assert phase.counts["chips"] == len(cfg.chips)
    for rec in phase.invalid:
        assert rec.reason
        assert max(rec.violations.values(), default=0) > 0, rec
    for s in phase.servers:
        assert s.valid and math.isfinite(s.cost_usd) and s.tco.total > 0


def test_speed_grid_counts(reference_dir):
    k = load_constants_dict(load_constants(reference_dir / "seed_inputs/hardware/constant/7nm_default.yaml"))
    cfg = load_hardware(reference_dir / "cases/speed_grid/large_grid.yaml")
    phase = hardware_phase(cfg.chips, cfg.packages, cfg.servers, k, CORRECTED)
    assert phase.counts["servers"] == 306 and phase.counts["servers_valid"] == 252
