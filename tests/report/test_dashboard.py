"""optuna-dashboard, headless: its WSGI application called in-process (no socket) on a study's storage.

The dashboard must list the study, show its objective names and the trials' user attributes
(metrics, design, feasibility), and its CSV export must carry the metric columns. Checked on the
raw storage (what the dashboard shows of an llmhw study by itself) and on the llmhw view that
``--dashboard`` serves (nested attributes flattened, constraints in the form the dashboard reads).
"""
from __future__ import annotations

import csv
import io
import json
import threading
import urllib.request

import optuna_dashboard
import pytest

from llmhw.report.dashboard import app_for, make_dashboard_server
from llmhw.study.storage import open_storage

from .conftest import run_cli

OBJECTIVES = ["tco_per_mtoken_usd", "tpot_s", "throughput_tok_per_s"]
METRICS = ["ttft_s", "power_w", "capex_usd", "opex_usd", "chip_area_mm2", "die_yield", "prefill_io_s",
           "decode_mem_s", "energy_per_token_j"]


def call(app, path: str, query: str = "") -> tuple[str, dict, bytes]:
    """One GET request through a WSGI application, in-process."""
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query, "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8080", "HTTP_HOST": "127.0.0.1:8080", "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0), "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""), "wsgi.errors": io.StringIO(), "wsgi.multithread": False,
        "wsgi.multiprocess": False, "wsgi.run_once": False, "HTTP_ACCEPT_ENCODING": "",
    }
    got: dict = {}

    def start_response(status, headers, exc_info=None):
        got["status"], got["headers"] = status, dict(headers)

    body = b"".join(app(environ, start_response))
    return got["status"], got["headers"], body


@pytest.fixture(params=["raw", "llmhw view"])
def app(request, studies):
    storage = open_storage(f"sqlite:///{studies / 'studies' / 'tiny.db'}")
    return request.param, (optuna_dashboard.wsgi(storage) if request.param == "raw" else app_for(storage))


def _study_id(app) -> int:
    status, _, body = call(app, "/api/studies")
    assert status.startswith("200")
    summaries = json.loads(body)["study_summaries"]
    assert [s["study_name"] for s in summaries] == ["tiny"]
    assert summaries[0]["directions"] == ["minimize", "minimize", "maximize"]
    return summaries[0]["study_id"]


def test_dashboard_lists_study_objectives_and_user_attrs(app):
    kind, app = app
    sid = _study_id(app)
    status, _, body = call(app, f"/api/studies/{sid}")
    assert status.startswith("200")
    detail = json.loads(body)
    assert detail["name"] == "tiny"
    assert detail["objective_names"] == OBJECTIVES
    study_attrs = {a["key"] for a in detail["user_attrs"]}
    assert {"model", "workload", "objectives", "fidelity", "tool_version"} <= study_attrs
    assert len(detail["trials"]) == 60
    columns = {a["key"] for a in detail["union_user_attrs"]}
    assert set(OBJECTIVES + METRICS) <= columns and "feasible" in columns
    attrs = {a["key"]: a["value"] for a in detail["trials"][0]["user_attrs"]}
    assert float(attrs["tco_per_mtoken_usd"]) == pytest.approx(detail["trials"][0]["values"][0])
    assert attrs["feasible"] in ("True", "False")
    feasible = [t for t in detail["trials"]
                if {a["key"]: a["value"] for a in t["user_attrs"]}["feasible"] == "True"]
    assert 0 < len(feasible) < 60
    if kind == "raw":
        assert "design" in columns  # one JSON value, cut at 1,024 characters by the dashboard
    else:
        assert {"design.chip.chip_id", "design.prefill_bottleneck", "design.num_servers", "dim.batch",
                "violation.map_memory_bytes"} <= columns and "design" not in columns
        assert attrs["design.chip.chip_id"] == "tpuv4"
        # feasibility in the form the dashboard's plots read: every constraint <= 0
        for t in detail["trials"]:
            ok = {a["key"]: a["value"] for a in t["user_attrs"]}["feasible"] == "True"
            assert t["constraints"] and all(c <= 0 for c in t["constraints"]) == ok


def test_dashboard_csv_export_has_the_metric_columns(app):
    kind, app = app
    sid = _study_id(app)
    status, headers, body = call(app, f"/csv/{sid}")
    assert status.startswith("200") and "text/csv" in headers["Content-Type"]
    rows = list(csv.reader(io.StringIO(body.decode())))
    header, data = rows[0], rows[1:]
    assert len(data) == 60
    assert header[:5] == ["Number", "State"] + OBJECTIVES
    for m in OBJECTIVES + METRICS + ["feasible"]:
        assert f"UserAttribute {m}" in header, m
    if kind == "llmhw view":
        assert "UserAttribute design.decode_bottleneck" in header
        col = header.index("UserAttribute design.decode_bottleneck")
        assert {r[col] for r in data} <= {"Compute", "Memory", "Interconnect", ""}


def test_dashboard_server_answers_on_localhost(studies):
    httpd, page = make_dashboard_server(f"sqlite:///{studies / 'studies' / 'tiny.db'}", "tiny", port=0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        assert page.startswith("http://127.0.0.1:") and page.endswith("/dashboard/studies/1")
        base = page.split("/dashboard/")[0]
        with urllib.request.urlopen(base + "/api/studies", timeout=10) as r:
            assert json.loads(r.read())["study_summaries"][0]["study_name"] == "tiny"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_dashboard_flag_errors(in_studies, capsys):
    assert run_cli(["--study", "nope", "--dashboard"]) == 2
    assert "no study 'nope'" in capsys.readouterr().err
    assert run_cli(["--study", "tiny", "--dashboard", "--port", "70000"]) == 2
    assert "--port" in capsys.readouterr().err
