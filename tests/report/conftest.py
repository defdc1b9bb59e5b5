"""Small real studies for the report tests, made once per session through the CLI.

The studies live in ``<tmp>/studies/*.db`` (the default storage relative to the working directory);
tests that call the CLI ``chdir`` there.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HW = REPO / "inputs/hardware/config/tpuv4.yaml"
SYS = REPO / "inputs/software/system/tpuv4.yaml"
CONSTANTS = REPO / "inputs/hardware/constant/7nm_default.yaml"
MODELS = REPO / "inputs/software/model"

#: the reference design marked on the plots (dimension names of the tpuv4 space)
ENQUEUE = """designs:
  - name: tpuv4-ref
    values: {system.num_servers: 16, batch: 64, p: 1, micro_batch: 64, prefill_micro_batch: 64}
"""


def run_cli(args: list[str]) -> int:
    from llmhw.cli import main
    return main(args)


def search_args(study: str, model: str = "gpt3", trials: int = 60, *extra: str) -> list[str]:
    return ["--hw", str(HW), "--sys", str(SYS), "--constants", str(CONSTANTS),
            "--model", str(MODELS / f"{model}.yaml"), "--trials", str(trials), "--seed", "1", "--workload", "20:8",
            "--study", study, "--no-progress", *extra]


@contextlib.contextmanager
def cwd(path: Path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


@pytest.fixture(scope="session")
def studies(tmp_path_factory) -> Path:
    """A directory with studies/ holding: tiny (gpt3, 60 trials, one reference design), tiny-llama
    (llama2, 40 trials) and other-objectives (2 objectives, 20 trials)."""
    root = tmp_path_factory.mktemp("report")
    (root / "refs.yaml").write_text(ENQUEUE)
    with cwd(root):
        assert run_cli(search_args("tiny", "gpt3", 60, "--enqueue", str(root / "refs.yaml"))) == 0
        assert run_cli(search_args("tiny-llama", "llama2", 40)) == 0
        assert run_cli(search_args("other-objectives", "gpt3", 20, "--objectives", "tco,ttft")) == 0
    return root


@pytest.fixture
def in_studies(studies, monkeypatch) -> Path:
    monkeypatch.chdir(studies)
    return studies
