"""--validate: malformed measurement files, the fit, the outputs (docs/validation.md §V.10)."""
from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from llmhw.calibration.fit import fit
from llmhw.calibration.measurements import load_measurements
from llmhw.calibration.predict import load_machine
from llmhw.config.validate import validate_system
from llmhw.errors import ConfigError

from tests.conftest import REPO_ROOT

VALIDATION = REPO_ROOT / "validation" / "h200_llama3-8b.yaml"


def _raw():
    return yaml.safe_load(VALIDATION.read_text())


def _write(tmp_path: Path, raw) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _mutate(fn):
    raw = _raw()
    fn(raw)
    return raw


MALFORMED = [
    ("missing-hardware", lambda r: r.pop("hardware"), "hardware: missing required key"),
    ("unknown-key", lambda r: r.update(hardwar="h200"), "hardwar: unknown key"),
    ("phase", lambda r: r["points"][0].update(phase="generate"), "points[0].phase: unknown value"),
    ("negative-seconds", lambda r: r["points"][1].update(s=-1.0), "points[1].s: must be > 0"),
    ("decode-without-context", lambda r: r["points"][0].pop("context"), "points[0].context: missing"),
    ("prefill-without-prompt", lambda r: r["points"][2].pop("prompt"), "points[2].prompt: missing"),
    ("use", lambda r: r["points"][0].update(use="train"), "points[0].use: unknown value"),
    ("no-calibration", lambda r: [p.update(use="check") for p in r["points"]], "no point has use: calibrate"),
    ("points-not-a-list", lambda r: r.update(points={"a": 1}), "points: expected a non-empty list"),
    ("gemm-missing-k", lambda r: r["microbenchmarks"]["gemm"][0].pop("k"), "microbenchmarks.gemm[0].k: missing"),
    ("gemm-string", lambda r: r["microbenchmarks"]["gemm"][1].update(m="big"), "gemm[1].m: expected an integer"),
    ("copy-missing", lambda r: r["microbenchmarks"].pop("copy_bytes_per_s"), "copy_bytes_per_s: missing"),
]


@pytest.mark.parametrize("name,mutate,expect", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_measurement_files_fail_in_one_line(tmp_path, name, mutate, expect):
    path = _write(tmp_path, _mutate(mutate))
    with pytest.raises(ConfigError) as err:
        load_measurements(path)
    assert expect in str(err.value) and "\n" not in str(err.value)


def test_malformed_file_exits_2_with_one_line(tmp_path):
    path = _write(tmp_path, _mutate(lambda r: r["points"][0].update(phase="generate")))
    proc = subprocess.run([sys.executable, "search.py", "--validate", str(path), "--outputs", str(tmp_path)],
                          cwd=REPO_ROOT, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "points[0].phase" in proc.stderr


def test_check_points_never_enter_the_fit(tmp_path):
    """A wildly wrong check point changes no fitted value (the fit looks at calibration points only)."""
    raw = _raw()
    base = fit(load_machine(load_measurements(VALIDATION)), load_measurements(VALIDATION))
    raw["points"].append({"phase": "decode", "batch": 64, "context": 2048, "s": 1.0, "use": "check"})
    meas = load_measurements(_write(tmp_path, raw))
    assert fit(load_machine(meas), meas).values == base.values


def test_fit_reproduces_the_calibration_data():
    meas = load_measurements(VALIDATION)
    result = fit(load_machine(meas), meas)
    assert result.success
    assert max(abs(r) for r in result.residuals) < 0.02        # ln ratios: every microbenchmark and point < 2 %
    assert 0 < result.values["weight_bandwidth_efficiency"] <= result.copy_efficiency


def test_validate_command_writes_its_outputs(tmp_path):
    raw = _raw()
    raw["points"].append({"phase": "prefill", "batch": 2, "prompt": 512, "s": 0.03, "use": "check"})
    path = tmp_path / "h200_check.yaml"
    path.write_text(yaml.safe_dump(raw))
    proc = subprocess.run([sys.executable, "search.py", "--validate", str(path), "--outputs", str(tmp_path)],
                          cwd=REPO_ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "validate" / "h200_check"
    rows = list(csv.DictReader((out / "validation.csv").open()))
    assert list(rows[0]) == ["phase", "batch", "context", "prompt", "use", "measured_s", "predicted_s", "error"]
    assert [r["use"] for r in rows] == ["calibrate"] * 3 + ["check"]
    for r in rows:
        assert float(r["error"]) == pytest.approx(float(r["predicted_s"]) / float(r["measured_s"]) - 1)
    fitted = yaml.safe_load((out / "fit.yaml").read_text())
    assert 0 < fitted["compute_perf_efficiency"] <= 1 and "kv_bandwidth_efficiency" in fitted["stack"]
    system = yaml.safe_load((REPO_ROOT / "inputs/software/system/h200.yaml").read_text())
    validate_system({**system, **fitted}, "pasted")            # fit.yaml pastes into a valid system file
    assert (out / "validation.png").stat().st_size > 1000
    assert "check: MAPE" in proc.stdout and "calibrate: MAPE" in proc.stdout
