"""Fixtures of the search tests: a small real space (tpuv5p lists) and a scratch working directory."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HW = REPO / "inputs/hardware/config/tpuv5p.yaml"
SYS = REPO / "inputs/software/system/tpuv5p.yaml"
CONSTANTS = REPO / "inputs/hardware/constant/7nm_default.yaml"
MODEL = REPO / "inputs/software/model/llama2.yaml"


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """Run in a scratch directory (studies/ and outputs/ land there)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def cli_args(*extra: str, trials: int = 12, study: str | None = None) -> list[str]:
    args = ["--hw", str(HW), "--sys", str(SYS), "--model", str(MODEL), "--constants", str(CONSTANTS),
            "--trials", str(trials), "--no-progress", *extra]
    if study:
        args += ["--study", study]
    return args


def run_cli(args: list[str]) -> int:
    from llmhw.cli import main
    return main(args)


def env_with_repo() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env
