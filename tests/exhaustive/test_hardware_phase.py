"""The hardware phase pauses Python's cyclic collector while it runs and restores it after."""
from __future__ import annotations

import gc

from llmhw import paths
from llmhw.config import load_constants, load_hardware
from llmhw.exhaustive import hardware_phase as phase_mod
from llmhw.fidelity import CORRECTED
from llmhw.hardware.constants import load_constants_dict
from tests.conftest import REPO_ROOT


def test_hardware_phase_runs_with_the_collector_paused(monkeypatch):
    hw = load_hardware(REPO_ROOT / "inputs/hardware/config/tpuv4.yaml")
    k = load_constants_dict(load_constants(paths.DEFAULT_CONSTANTS))
    seen = []
    build = phase_mod.build_server

    def spy(*args, **kw):
        seen.append(gc.isenabled())
        return build(*args, **kw)

    monkeypatch.setattr(phase_mod, "build_server", spy)
    assert gc.isenabled()
    phase = phase_mod.hardware_phase(hw.chips, hw.packages, hw.servers, k, CORRECTED)
    assert seen and set(seen) == {False}
    assert gc.isenabled()
    assert phase.counts["servers"] == len(seen)
