"""Hostile YAML ends in well under a second with one line (issue 15 item 4): a "billion laughs"
alias bomb and a list of 10^5 values are refused by the loader's caps; the duplicate check of a
long (allowed) list is linear."""
from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from llmhw.config.loader import MAX_LIST_ITEMS, MAX_NODES, load_yaml_text
from llmhw.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def laughs(levels: int = 9, width: int = 9) -> str:
    lines = ['a0: &a0 ["lol"]']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def long_list(n: int) -> str:
    return "Chip:\n  freq: [" + ", ".join(str(1e9 + i) for i in range(n)) + "]\n"


def _refused_fast(text: str) -> str:
    t = time.process_time()     # CPU time: other programs on a shared machine do not count
    with pytest.raises(ConfigError) as err:
        load_yaml_text(text, "bomb.yaml")
    assert time.process_time() - t < 0.5          # well under a second
    line = str(err.value)
    assert "\n" not in line and line.startswith("bomb.yaml")
    return line


def test_billion_laughs_is_refused_fast():
    line = _refused_fast(laughs())
    assert "alias" in line and f"{MAX_NODES:,}" in line, line


def test_list_of_100000_values_is_refused_fast():
    line = _refused_fast(long_list(100_000))
    assert "line 2" in line and f"{MAX_LIST_ITEMS:,}" in line, line


def test_small_alias_use_and_long_allowed_list_still_load():
    assert load_yaml_text(laughs(levels=2, width=3), "ok.yaml")["a2"][0][0] == ["lol"]
    data = load_yaml_text(long_list(MAX_LIST_ITEMS), "ok.yaml")
    assert len(data["Chip"]["freq"]) == MAX_LIST_ITEMS


def test_duplicate_check_of_a_long_list_is_linear():
    from llmhw.config.validate import validate_hardware
    text = (REPO / "inputs/hardware/config/tpuv4.yaml").read_text()
    import yaml
    cfg = yaml.safe_load(text)
    cfg["Chip"]["freq"] = [1e9 + i for i in range(MAX_LIST_ITEMS)]
    t = time.process_time()
    try:
        validate_hardware(cfg, "big.yaml")
    except ConfigError:
        pass
    assert time.process_time() - t < 1.0


@pytest.mark.parametrize("text", [laughs(), long_list(100_000)], ids=["laughs", "long list"])
def test_cli_one_line_exit_2(tmp_path, text):
    f = tmp_path / "hw.yaml"
    f.write_text(text)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run([sys.executable, str(REPO / "search.py"), "--check", "--hw", str(f), "--model", "gpt3"],
                       cwd=REPO, capture_output=True, text=True, timeout=300)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and str(f) in r.stderr
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert cpu < 5, cpu   # CPU seconds, interpreter start and imports included (hung before: > 20 s)
