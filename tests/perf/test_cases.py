"""Every reference input set (cases/*/inputs) runs through the software phase in both fidelity modes."""
from __future__ import annotations

import math

import pytest

from llmhw.fidelity import CORRECTED, REFERENCE
from llmhw.exhaustive.software_phase import software_phase

from tests.perf.support import case_inputs, case_names

CASES = case_names() or ["<reference material absent>"]


@pytest.mark.parametrize("case", CASES)
def test_case_runs_in_both_modes(reference_dir, case):
    rows = {}
    for fidelity in (REFERENCE, CORRECTED):
        servers, k, model, cfgs = case_inputs(case, fidelity.compat)
        assert servers, "the hardware phase keeps at least one server"
        perf_rows, optima = software_phase(servers, cfgs, None, fidelity, k)
        assert perf_rows and len(optima["server"])
        for row in perf_rows:
            assert all(math.isfinite(v) for v in row.values() if isinstance(v, float))
        rows[fidelity.compat] = perf_rows
    # same table shape in both modes
    assert len(rows["reference"]) == len(rows["corrected"])
