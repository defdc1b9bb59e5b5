"""The software phase in reference mode against the reference model's shipped tables (``../shared/reference``).

Compared by column name at 1e-9 relative (the implementation actually matches digit for digit, which the
text comparison checks with the §15 formatting: repr for floats, str for ints).
"""
from __future__ import annotations

import math

import pytest

from llmhw.fidelity import REFERENCE
from llmhw.exhaustive.csv_format import OPTIMA_COLUMNS, PERFORMANCE_COLUMNS
from llmhw.exhaustive.software_phase import software_phase, table_rows
from llmhw.exhaustive.csv_format import fmt, read_reference_csv

from tests.perf.support import case_inputs

CASES = [
    ("seedtest_hw_example_gpt3", "hw_example/gpt3.csv", None),
    ("a_tpuv4_gpt3", "a_tpuv4_gpt3/performance.csv", "a_tpuv4_gpt3/optima.csv"),
    ("c_cc_3d_baseline_gpt3", "c_cc_3d_baseline_gpt3/performance.csv", "c_cc_3d_baseline_gpt3/optima.csv"),
]


def _compare(expected: list[dict[str, str]], got: list[dict], columns) -> None:
    assert len(got) == len(expected)
    assert set(expected[0]) == set(columns)
    text_mismatches = 0
    for i, (e, g) in enumerate(zip(expected, got)):
        for name, ev in e.items():
            gv = g[name]
            if fmt(gv) == ev:
                continue
            text_mismatches += 1
            try:
                ok = math.isclose(float(ev), float(gv), rel_tol=1e-9, abs_tol=0.0)
            except ValueError:
                ok = False
            assert ok, f"row {i} column {name}: expected {ev}, got {gv!r}"
    assert text_mismatches == 0


PARAMS = [(*c, True) for c in CASES] + [(*CASES[0], False), (*CASES[1], False)]


@pytest.mark.parametrize("case, perf_csv, optima_csv, vectorized", PARAMS,
                         ids=[f"{p[0]}-{'vector' if p[3] else 'scalar'}" for p in PARAMS])
def test_software_phase_matches_reference(reference_dir, case, perf_csv, optima_csv, vectorized):
    servers, k, model, cfgs = case_inputs(case, "reference")
    perf_rows, optima = software_phase(servers, cfgs, None, REFERENCE, k, vectorized=vectorized)
    optima_rows = table_rows(optima)
    _compare(read_reference_csv(reference_dir / "expected" / perf_csv), perf_rows, PERFORMANCE_COLUMNS)
    if optima_csv:
        _compare(read_reference_csv(reference_dir / "expected" / optima_csv), optima_rows, OPTIMA_COLUMNS)
    assert all(list(r) == list(PERFORMANCE_COLUMNS) for r in perf_rows)
    assert all(list(r) == list(OPTIMA_COLUMNS) for r in optima_rows)
