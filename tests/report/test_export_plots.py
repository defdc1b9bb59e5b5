"""``--export DIR``: CSV (+ Parquet with pyarrow) and the Pareto / hypervolume plots as HTML and PNG."""
from __future__ import annotations

import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

from llmhw.report.data import load_study_data
from llmhw.report.export import parquet_safe, write_tables
from llmhw.report.plots import log_axes, pairs, study_groups

from .conftest import run_cli

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
OBJECTIVES = ("tco_per_mtoken_usd", "tpot_s", "throughput_tok_per_s")


def _dominates(a, b, signs):
    la = [x * s for x, s in zip(a, signs)]
    lb = [x * s for x, s in zip(b, signs)]
    return all(x <= y for x, y in zip(la, lb)) and any(x < y for x, y in zip(la, lb))


def test_export_writes_tables_and_plots(in_studies, capsys):
    out = in_studies / "exported"
    assert run_cli(["--study", "tiny", "--export", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "wrote trials.csv" in printed and "pareto.csv" in printed
    for name in ("trials.csv", "pareto.csv", "pareto.html", "pareto.png", "hypervolume.html", "hypervolume.png"):
        path = out / name
        assert path.exists() and path.stat().st_size > 1000, name
    for name in ("pareto.png", "hypervolume.png"):
        assert (out / name).read_bytes()[:8] == PNG_MAGIC
    pareto_html = (out / "pareto.html").read_text()
    hv_html = (out / "hypervolume.html").read_text()
    for o in OBJECTIVES:
        assert o in pareto_html and o in hv_html, o
    assert "feasible Pareto front" in pareto_html and "infeasible" in pareto_html
    assert "tpuv4-ref" in pareto_html  # the reference design is marked
    for page in (pareto_html, hv_html):  # standalone: plotly.js inlined, no network needed
        assert page.startswith("<!DOCTYPE html>") and "<script src=\"http" not in page
        assert "plotly.js v" in page or "Plotly" in page
    assert "Optuna" in pareto_html  # Optuna's own Pareto-front plot is included (3 objectives)
    assert "hypervolume" in hv_html.lower() and "progress bar" in hv_html

    # pareto.csv = the feasible non-dominated set of the stored trials
    study = optuna.load_study(study_name="tiny", storage="sqlite:///studies/tiny.db")
    signs = [1 if d == optuna.study.StudyDirection.MINIMIZE else -1 for d in study.directions]
    trials = study.get_trials(states=(TrialState.COMPLETE,))
    feasible = [t for t in trials if all(v <= 0 for v in t.constraints.values())]
    expected = {t.number for t in feasible if not any(_dominates(o.values, t.values, signs) for o in feasible)}
    front = pd.read_csv(out / "pareto.csv")
    assert set(front["number"]) == expected
    rows = pd.read_csv(out / "trials.csv")
    assert len(rows) == 60 and {"objective.tpot_s", "dim.batch", "ttft_s", "violation.map_invalid",
                                "design.decode_bottleneck"} <= set(rows.columns)


def test_plot_groups(studies):
    data = load_study_data("tiny", f"sqlite:///{studies / 'studies' / 'tiny.db'}")
    groups = study_groups(data)
    names = [g.name for g in groups]
    assert names[0].startswith("infeasible") and names[1].startswith("feasible, dominated")
    assert names[2].startswith("feasible Pareto front") and names[3].startswith("reference designs")
    assert groups[3].labels[0].startswith("tpuv4-ref")
    assert sum(len(g.values) for g in groups[:3]) == 60 - (len(data.front) - len(data.front_designs()))
    assert len(groups[2].values) == len(data.front_designs())
    assert pairs(3) == [(0, 1), (0, 2), (1, 2)] and pairs(2) == [(0, 1)]
    assert log_axes(groups, 3)[0]  # TCO per Mtoken spans decades


def test_parquet_when_pyarrow_is_installed(studies, tmp_path):
    pytest.importorskip("pyarrow")
    data = load_study_data("tiny", f"sqlite:///{studies / 'studies' / 'tiny.db'}")
    written = write_tables(data, tmp_path)
    assert tmp_path / "trials.parquet" in written and tmp_path / "pareto.parquet" in written
    back = pd.read_parquet(tmp_path / "trials.parquet")
    assert len(back) == 60 and list(back.columns) == list(data.df.columns)


def test_parquet_safe_types_mixed_columns():
    df = pd.DataFrame({"a": [1, "x", None], "b": ["p", "q", None], "c": [1.0, 2.0, 3.0]})
    safe = parquet_safe(df)
    assert list(safe["a"])[:2] == ["1", "x"] and pd.isna(safe["a"][2])
    assert list(safe["b"])[:2] == ["p", "q"] and pd.isna(safe["b"][2])
    assert safe["c"].dtype == float


def test_hypervolume_plot_agrees_with_optunas_computation(studies):
    """Optuna's plot_hypervolume_history on the normalised objectives = our history, trial by trial."""
    from llmhw.report.plots import hv_dense, hv_figure
    data = load_study_data("tiny", f"sqlite:///{studies / 'studies' / 'tiny.db'}")
    series = hv_dense(data)
    fig = hv_figure(data, series)
    optuna_trace = fig.data[0]
    assert "Optuna" in optuna_trace.name
    ours = {p.trials: p.hv for p in series}
    theirs = dict(zip(optuna_trace.x, optuna_trace.y))
    assert set(ours) <= set(theirs)
    for n, hv in ours.items():
        assert theirs[n] == pytest.approx(hv, rel=1e-9, abs=1e-12), n
