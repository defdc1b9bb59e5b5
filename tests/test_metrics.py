"""The metrics registry (llmhw.metrics) is the one table every consumer reads: adding a metric = one entry."""
from __future__ import annotations

from pathlib import Path

import pytest

from llmhw.evaluate import DesignPoint, Problem
from llmhw.fidelity import CORRECTED
from llmhw.metrics import BY_NAME, GRID_FIELDS, METRICS, REGISTRY, markdown_table
from llmhw.perf.grid import Grid
from llmhw.report.breakdown import ROWS
from llmhw.search.objectives import parse_objectives
from llmhw.violations import USER_LIMITS

from tests.test_evaluate import inputs, point  # noqa: F401  (fixture and helper)

ROOT = Path(__file__).resolve().parents[1]


def test_every_metric_is_one_registry_entry():
    names = [m.name for m in REGISTRY]
    assert len(names) == len(set(names)) == len(METRICS) == len(BY_NAME)
    assert all(m.direction in ("minimize", "maximize") and m.unit and m.description for m in REGISTRY)


def test_every_metric_reaches_the_result(inputs):  # noqa: F811
    r = Problem(*inputs[:4], CORRECTED).evaluate(point(inputs))
    assert list(r.metrics) == [m.name for m in REGISTRY]
    assert all(isinstance(v, float) for v in r.metrics.values())


def test_declared_grid_fields_exist_on_the_grid():
    fields = set(Grid.__dataclass_fields__)
    assert GRID_FIELDS and all(f in fields for f in GRID_FIELDS.values())


def test_every_metric_is_an_objective_by_name():
    objs = parse_objectives([m.name for m in REGISTRY])
    assert [(o.name, o.direction, o.unit) for o in objs] == [(m.name, m.direction, m.unit) for m in REGISTRY]


def test_every_metric_is_a_report_row_with_the_registry_unit():
    rows = {key: unit for _, _, key, unit in ROWS}
    for m in REGISTRY:
        assert rows.get(m.name) == m.unit, m.name


def test_user_limits_name_registry_metrics():
    for name, (metric, kind, _key, _what) in USER_LIMITS.items():
        assert metric in BY_NAME and name == f"{kind}_{metric}"


def test_docs_metrics_table_is_generated_from_the_registry():
    doc = (ROOT / "docs" / "metrics.md").read_text()
    assert doc == markdown_table(), "regenerate: python -m llmhw.metrics > docs/metrics.md"


def test_result_breakdown_comes_from_the_door(inputs):  # noqa: F811
    r = Problem(*inputs[:4], CORRECTED).evaluate(point(inputs))
    b = r.breakdown
    chip = r.system.server.package.chip
    # the die area is split into SRAM, MAC arrays and the rest, and the three add up to the die
    assert b["chip_sram_area_mm2"] + b["chip_mac_area_mm2"] + b["chip_other_area_mm2"] == pytest.approx(
        r.metrics["chip_area_mm2"], rel=1e-12)
    assert b["chip_sram_area_mm2"] == chip.sram_area_mm2
    # the §9 TCO parts of all servers: the server-side ones make capex, the power-driven ones opex
    capex = b["tco_srv_amortization_usd"] + b["tco_srv_interest_usd"] + b["tco_srv_opex_usd"]
    assert capex == pytest.approx(r.metrics["capex_usd"], rel=1e-12)
    assert (b["map_chips_per_stage"], b["map_stages"]) == (r.design["t"], r.design["p"])
