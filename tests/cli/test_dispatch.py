"""The CLI parses every command's flags but imports only the command it runs (issue 10: the hardware phase's
CPU budget includes the import)."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys

from rich.console import Console

from llmhw.cli import build_parser
from llmhw.commands.exhaustive import server_bar
from tests.conftest import REPO_ROOT

#: what a command that does not need it must not load (the search stack, the plan, plots, data frames)
NOT_FOR_EXHAUSTIVE = ("optuna", "pandas", "scipy", "matplotlib", "plotly", "sqlalchemy", "llmhw.commands.plan",
                      "llmhw.study", "llmhw.evaluate", "llmhw.search.space")


def _among(mods: set[str], names) -> list[str]:
    """The modules of ``mods`` that are one of ``names`` or inside one of them."""
    return sorted(m for m in mods if any(m == n or m.startswith(n + ".") for n in names))


def _modules_after(code: str, env: dict[str, str] | None = None) -> tuple[set[str], str]:
    """Run ``code`` in a fresh interpreter at the repository root; the modules it left loaded, and its stdout."""
    probe = code + "\nimport json, sys\nprint('\\nMODULES ' + json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    assert done.returncode == 0, done.stderr
    out, _, mods = done.stdout.rpartition("\nMODULES ")
    return set(json.loads(mods)), out


def test_help_offers_every_command():
    text = build_parser().format_help()
    for flag in ("--exhaustive", "--hardware-only", "--hw-table-format", "--model-info", "--trials", "--sampler",
                 "--jobs", "--check", "--report", "--export", "--list", "--compare", "--dashboard", "--validate"):
        assert flag in text, flag
    assert "(default: 200, or the stored budget)" in " ".join(text.split())


def test_building_the_parser_loads_no_command_stack():
    mods, _ = _modules_after("from llmhw.cli import build_parser\nbuild_parser()")
    loaded = _among(mods, ("numpy", "rich", "yaml", "llmhw.hardware", *NOT_FOR_EXHAUSTIVE))
    assert not loaded, loaded


def test_hardware_only_run_loads_neither_search_nor_progress_bar(tmp_path):
    hw = REPO_ROOT / "inputs/hardware/config/tpuv4.yaml"
    mods, out = _modules_after("from llmhw.cli import main\n"
                               f"assert main(['--exhaustive', '--hardware-only', '--hw', {str(hw)!r}, "
                               f"'--outputs', {str(tmp_path)!r}]) == 0")
    assert "hardware phase: tpuv4" in out and (tmp_path / "tpuv4" / "tpuv4.csv").is_file()
    assert "llmhw.commands.exhaustive" in mods
    loaded = _among(mods, NOT_FOR_EXHAUSTIVE)
    assert not loaded, loaded
    assert "rich.progress" not in mods        # stdout is a pipe: no bar is drawn, so none is built


def test_server_bar_draws_only_on_a_terminal():
    plain = Console(file=io.StringIO())
    with server_bar(plain, 10) as advance:
        assert advance is None
    with server_bar(Console(file=io.StringIO(), force_terminal=True), 10, show=False) as advance:
        assert advance is None
    out = io.StringIO()
    with server_bar(Console(file=out, force_terminal=True, width=80), 10) as advance:
        advance(4)
        advance(6)
    assert "10/10" in out.getvalue()


def test_search_py_keeps_blas_to_one_thread_unless_the_user_sets_it():
    code = ("import os, runpy\nrunpy.run_path('search.py', run_name='imported')\n"
            "print([os.environ[v] for v in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS')])")
    clean = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                                                "MKL_NUM_THREADS")}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, env=clean)
    assert done.stdout.strip() == "['1', '1', '1']", done.stderr
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                          env={**clean, "OPENBLAS_NUM_THREADS": "4"})
    assert done.stdout.strip() == "['4', '1', '1']", done.stderr
