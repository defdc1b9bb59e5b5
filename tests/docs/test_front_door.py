"""The README is the front door: its first command runs a design search on a shipped default, set-up
included, and the exhaustive mode comes second (issue 15 #20); it stays small and links to docs/ (#19)."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"


def _commands(text: str) -> list[str]:
    """The commands of the ```sh blocks, in order (comments stripped)."""
    out = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            cmd = line.split("#", 1)[0].strip()
            if cmd:
                out.append(cmd)
    return out


def test_the_first_command_is_a_design_search_and_the_exhaustive_mode_comes_second():
    commands = _commands(README.read_text())
    first = commands[0]
    assert first.startswith("make ") and "exhaustive" not in first and ".sw" not in first, first
    exhaustive = [i for i, c in enumerate(commands) if ".sw." in c or "--exhaustive" in c]
    assert exhaustive and exhaustive[0] > 0


@pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed")
def test_the_first_command_sets_up_and_runs_a_search_on_a_shipped_default():
    first = _commands(README.read_text())[0]
    dry = subprocess.run(first.split() + ["-n"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert "pip install" in dry or "-m venv" in dry or (REPO / ".venv/.installed").exists()
    search = [line for line in dry.splitlines() if "search.py" in line]
    assert search and "--exhaustive" not in search[0]
    hw = re.search(r"--hw (\S+)", search[0]).group(1)
    assert (REPO / hw).is_file() and "--model" in search[0]


def test_the_readme_is_a_front_door():
    text = README.read_text()
    assert len(text.encode()) < 20_000
    links = re.findall(r"\]\((docs/[^)#]+)", text)
    for page in ("docs/search.md", "docs/reports-and-dashboard.md", "docs/scaling-out.md",
                 "docs/troubleshooting.md", "docs/fidelity.md", "docs/benchmarks.md", "docs/inputs.md",
                 "docs/exhaustive.md"):
        assert page in links, page
    for link in links:
        assert (REPO / link).is_file(), link
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert images and all((REPO / i).is_file() and (REPO / i).stat().st_size < 200_000 for i in images)


@pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed")
def test_the_first_command_runs_and_runs_again(tmp_path):
    """The README's first command, for real (a small budget, its study and files in tmp_path), twice: a
    re-run reports the stored study and re-exports over its own files (the export refuses to overwrite
    files it did not write only without --force)."""
    import sys
    first = _commands(README.read_text())[0].split()
    args = [f"PY={sys.executable}", f"STAMP={tmp_path / 'stamp'}", "TRIALS=12", "QUICK_STUDY=qs-test",
            f"QUICK_OUT={tmp_path / 'out'}",
            f"ARGS=--storage sqlite:///{tmp_path / 'qs.db'} --outputs {tmp_path} --no-progress"]
    (tmp_path / "stamp").touch()
    for _ in range(2):
        run = subprocess.run(first + args, cwd=REPO, capture_output=True, text=True)
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert (tmp_path / "out" / "pareto.csv").is_file() and (tmp_path / "out" / "trials.csv").is_file()
