"""Shared helpers of the robustness tests (issue 6): scratch directories, the real CLI, profiles.

Hypothesis profiles (fixed seed, no example database, so CI runs are reproducible):

- ``ci`` (default): small budgets, the whole robustness suite well under a minute on 2 cores;
- ``long``: ``LLMHW_FUZZ=long make test PYTEST_ARGS=tests/robustness`` — 50x the examples and a
  fresh random seed each run (a failure prints the blob to reproduce it), for a local soak (a few
  minutes). ``LLMHW_FUZZ_EXAMPLES=N`` overrides the count of either profile.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parents[2]
INPUTS = REPO / "inputs"
HW_DIR = INPUTS / "hardware/config"
SYS_DIR = INPUTS / "software/system"
MODEL_DIR = INPUTS / "software/model"
CONSTANTS = INPUTS / "hardware/constant/7nm_default.yaml"
SPACES = REPO / "spaces"

_LONG = os.environ.get("LLMHW_FUZZ", "").lower() == "long"
settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True, database=None,
                          print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=3000, deadline=None, derandomize=False, database=None,
                          print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("long" if _LONG else "ci")


def examples(ci: int) -> int:
    """The example budget of one fuzz test: ``ci`` in CI, 50x under LLMHW_FUZZ=long."""
    override = os.environ.get("LLMHW_FUZZ_EXAMPLES")
    if override:
        return int(override)
    return ci * 50 if _LONG else ci


def env_with_repo() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("COLUMNS", None)
    return env


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A scratch working directory with the project's inputs/ and spaces/ reachable by relative path."""
    (tmp_path / "inputs").symlink_to(INPUTS)
    (tmp_path / "spaces").symlink_to(SPACES)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def search_cli(args: list[str], cwd: Path, timeout: float = 60, script: str | None = None,
               env: dict | None = None) -> subprocess.CompletedProcess:
    """``python search.py ARGS`` in ``cwd`` (a real process: exit code, stdout, stderr)."""
    exe = [sys.executable, script or str(REPO / "search.py")]
    return subprocess.run(exe + list(args), cwd=cwd, env=env or env_with_repo(), capture_output=True,
                          text=True, timeout=timeout)


def small_search(*extra: str, trials: int = 30, study: str = "s") -> list[str]:
    """A fast real search on tpuv4 × gpt3 (a few ms per batch)."""
    return ["--hw", "inputs/hardware/config/tpuv4.yaml", "--model", "gpt3", "--trials", str(trials),
            "--study", study, "--no-progress", *extra]
