"""The dashboard as a user sees it (issue 15 item 16), through the WSGI app ``--dashboard`` serves:
a Markdown study note with the summary, the project's log-axis Pareto front as a saved Plotly
figure, readable names and decoded values for every dimension, named constraints; and the 3-D
Optuna plot of ``pareto.html`` on log axes. Nothing is written to the study for any of it."""
from __future__ import annotations

import json
import shutil

import optuna

from llmhw.report.dashboard import app_for
from llmhw.study.storage import open_storage

from .test_dashboard_safety import request


def _detail(db_url: str) -> dict:
    app = app_for(open_storage(db_url), port=8080)
    status, body = request(app, "GET", "/api/studies/1")
    assert status == 200
    return json.loads(body)


def test_note_figure_and_readable_dimensions(studies, tmp_path):
    db = tmp_path / "tiny.db"
    shutil.copy(studies / "studies" / "tiny.db", db)
    before = db.read_bytes()
    detail = _detail(f"sqlite:///{db}")
    note = detail["note"]["body"]
    assert detail["note"]["version"] >= 1
    assert "# tiny" in note and "60 COMPLETE" in note and "Pareto front" in note
    assert "tco_per_mtoken_usd" in note and "$/Mtoken" in note                   # objective with its unit
    assert "map_memory_bytes" in note and "`batch`" in note                    # constraints, dimensions by name
    figs = detail["plotly_graph_objects"]
    assert len(figs) == 1
    fig = json.loads(figs[0]["graph_object"])
    axis_types = {v.get("type") for k, v in fig["layout"].items() if k.startswith(("xaxis", "yaxis"))}
    assert "log" in axis_types
    best = detail["best_trials"]
    assert best
    names = {p["name"] for t in best for p in t["params"]}
    assert names and not any("#" in n or n.endswith("_log2") for n in names), names
    assert "batch" in names and "system.num_servers" in names
    batch = [int(float(p["param_external_value"])) for t in best for p in t["params"] if p["name"] == "batch"]
    assert all(b >= 1 and b & (b - 1) == 0 for b in batch)                   # decoded powers of two, not log2
    assert db.read_bytes() == before                                           # nothing written


def test_optuna_3d_pareto_plot_uses_log_axes(studies):
    from llmhw.report.data import load_study_data
    from llmhw.report.plots import optuna_pareto_figure
    data = load_study_data("tiny", f"sqlite:///{studies / 'studies' / 'tiny.db'}")
    fig = optuna_pareto_figure(data)
    if fig is None:     # dropped is acceptable; collapsed on linear axes is not
        return
    scene = fig.layout.scene
    assert "log" in {scene.xaxis.type, scene.yaxis.type, scene.zaxis.type}
