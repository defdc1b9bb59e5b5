"""One plan (issue 10): flags are parsed and validated once, at the edge, into a frozen plan that both
``--check`` and the run consume; the search layer takes typed arguments and never names a CLI flag."""
from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import pytest

from llmhw.cli import build_parser
from llmhw.commands.plan import Flags, build_plan
from llmhw.errors import UsageError

from .conftest import REPO, cli_args, run_cli

#: study-persistence modules (issue 10 moves them out of llmhw/search/; their messages are checked there)
_PERSISTENCE = {"storage.py", "journal.py", "lock.py", "signals.py", "workers.py", "guard.py"}
_FLAG = re.compile(r"--[a-z][a-z-]+")


def _raised_strings(path: Path) -> list[tuple[int, str]]:
    """Every string literal inside a ``raise`` statement of a module."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Raise) and node.exc is not None:
            for sub in ast.walk(node.exc):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                    out.append((node.lineno, sub.value))
    return out


def test_the_search_layer_names_no_flag_in_its_errors():
    offenders = [f"{p.name}:{line}: {text!r}" for p in sorted((REPO / "llmhw/search").glob("*.py"))
                 if p.name not in _PERSISTENCE for line, text in _raised_strings(p) if _FLAG.search(text)]
    assert offenders == []


def test_the_plan_is_built_once_from_typed_flags(workdir):
    args = build_parser().parse_args(cli_args("--workload", "128:8", "--jobs", "2", "--objectives", "tco,tpot",
                                              trials=7))
    plan = build_plan(args)
    assert plan.flags.workload == (128, 8) and plan.flags.objectives == ("tco", "tpot")
    assert plan.flags.jobs == 2 and plan.flags.trials == 7 and plan.flags.progress is False
    (study,) = plan.studies
    assert study.trials == 7 and study.jobs == 2 and study.inputs.workload == (128, 8)
    assert study.url == f"sqlite:///studies/{study.name}.db"
    assert [o.name for o in study.setup.objectives] == ["tco_per_mtoken_usd", "tpot_s"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.flags.trials = 9  # type: ignore[misc]
    assert not (workdir / "studies").exists()      # planning opens nothing


def test_flag_errors_name_the_flag_once():
    parse = build_parser().parse_args
    with pytest.raises(UsageError, match=r"^--objectives: unknown objective 'tpott'"):
        Flags.from_args(parse(["--objectives", "tco,tpott"]))
    with pytest.raises(UsageError, match=r"^--jobs must be >= 1, got 0"):
        Flags.from_args(parse(["--jobs", "0"]))


def test_check_and_the_run_use_the_same_plan(workdir, capsys):
    assert run_cli(cli_args("--check", trials=5)) == 0
    checked = capsys.readouterr().out
    assert run_cli(cli_args(trials=5)) == 0
    ran = capsys.readouterr().out
    name = re.search(r"study (\S+) in", checked).group(1)
    assert f"study {name} (new) in sqlite:///studies/{name}.db" in ran
