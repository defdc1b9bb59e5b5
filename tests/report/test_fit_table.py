"""The Pareto table fits the terminal and shows physical values with engineering units (issue 15 #11)."""
from __future__ import annotations

import io

import pandas as pd
from rich.console import Console

from llmhw.report.tables import print_front
from llmhw.search.objectives import parse_objectives

OBJECTIVES = parse_objectives("tco_per_mtoken,tpot,throughput")

#: a front of the hbm_chip space as the search stores it (values of a real 300-trial run of gpt3)
ROWS = [
    # number, perf FLOP/s, sram B, hbm ch, lanes, ppl, servers, batch, p, mb, splits, $/Mtok, tpot s, tok/s,
    # ttft s, power W, capex $, chips
    (275, 3.55e14, 2.21e8, 16, 4, 4, 2, 256, 2, 128, 8, 0.2253, 0.02297, 11140.0, 2.88, 4895.0, 20700.0, 32),
    (280, 5.0e14, 3.3e8, 16, 2, 4, 2, 128, 1, 128, 16, 0.2358, 0.02296, 5575.0, 2.207, 2917.0, 13270.0, 16),
    (93, 3.01e14, 2.73e8, 16, 4, 4, 4, 128, 2, 64, 4, 0.2979, 0.01002, 12770.0, 1.059, 6800.0, 40900.0, 64),
    (251, 3.2e14, 2.21e8, 16, 4, 4, 8, 256, 2, 128, 8, 0.3285, 0.008575, 29860.0, 1.513, 10750.0, 80830.0, 128),
    (119, 2.96e14, 2.59e8, 24, 4, 4, 4, 32, 1, 32, 4, 0.4158, 0.00467, 6853.0, 0.3776, 4820.0, 40420.0, 64),
]
DIMS = ["Chip.perf", "Chip.sram", "Chip.hbm_channels", "Server.num_lanes#i", "Server.packages_per_lane#i",
        "system.num_servers#i", "batch", "p", "micro_batch", "prefill_micro_batch"]


def _frame() -> pd.DataFrame:
    rows = []
    for r in ROWS:
        row = {"number": r[0], "state": "COMPLETE", "feasible": True, "reference": ""}
        row.update({f"dim.{d}": v for d, v in zip(DIMS, r[1:11])})
        for o, v in zip(OBJECTIVES, r[11:14]):
            row[f"objective.{o.name}"] = v
            row[o.name] = v
        row.update(ttft_s=r[14], power_w=r[15], capex_usd=r[16], num_chips=r[17])
        rows.append(row)
    return pd.DataFrame(rows)


def _render(width: int) -> str:
    console = Console(width=width, file=io.StringIO(), record=True, highlight=False)
    df = _frame()
    print_front(console, df, df, OBJECTIVES, "Pareto front of x (feasible)")
    return console.export_text()


def test_the_front_fits_a_100_column_terminal_without_truncation():
    text = _render(100)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 100, text
    assert "…" not in text, text                      # no header or value cut short
    for objective_value in ("$0.2253", "22.97 ms", "11,140 tok/s"):
        assert objective_value in text, text           # the objectives are never the dropped columns
    assert "not shown" in text and "pareto.csv" in text, text   # what was dropped, and where to find it


def test_physical_values_have_engineering_units():
    text = _render(220)
    for shown in ("355 TFLOP/s", "221 MB", "4.895 kW", "$20,700", "2.88 s"):
        assert shown in text, (shown, text)
    assert "e+" not in text, text
    assert "not shown" not in text, text              # a wide terminal shows every column


def test_the_report_fits_a_100_column_terminal(studies):
    """--report on a 100-column terminal: no value or header of its tables is cut short."""
    from llmhw.report.breakdown import breakdowns
    from llmhw.report.data import load_study_data
    from llmhw.report.summary import best_per_objective, counts, hv_history, time_span
    from llmhw.report.tables import report_renderables
    data = load_study_data("tiny", f"sqlite:///{studies / 'studies' / 'tiny.db'}")
    bests = best_per_objective(data)
    console = Console(width=100, file=io.StringIO(), record=True, highlight=False)
    for r in report_renderables(data, counts(data), time_span(data), hv_history(data.df, data.objectives), bests,
                                breakdowns(data, [n for _, n in bests]), width=100):
        console.print(r)
    text = console.export_text()
    tables = text[text.index("Hypervolume history"):]          # the inputs' space list is folded, not cut
    assert "…" not in tables, tables
    assert max(len(line) for line in text.splitlines()) <= 100
