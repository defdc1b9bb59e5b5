"""The shipped system files lead with a realistic workload (issue 15 #15).

A search studies one (prefill, decode) pair, by default the first ``eval_len`` pair of the system file
(docs/search.md, "The default workload"). That pair must be a real request, not a 20-token prompt with
8 output tokens. Realistic here: a conversation turn as measured on production traces — Splitwise
(Patel et al., ISCA 2024, Azure LLM inference traces): median conversation prompt 1,020 tokens, median
output 129 tokens. So the leading pair must have prefill >= 1,000 and decode >= 128 tokens; the
project's files lead with [1024, 256] (a pair of the reference's own eval_len lists: b200, cc_3d_baseline,
tpuv5p).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from llmhw.config import load_yaml_text
from llmhw.search.space import eval_len_pairs

REPO = Path(__file__).resolve().parents[2]
#: the reference's default system and the model.md §17 worked example keep the reference's 256:64 (golden
#: numbers of tests/workload are computed on them); every system file made for a machine leads with 1024:256
WORKED_EXAMPLE = {"sys_default.yaml", "hw_example.yaml"}
SYSTEMS = sorted(p for p in (REPO / "inputs/software/system").glob("*.yaml") if p.name not in WORKED_EXAMPLE)
GPT3 = {"num_layers": 96, "max_ctx_len": 2048}


@pytest.mark.parametrize("path", SYSTEMS, ids=[p.stem for p in SYSTEMS])
def test_every_shipped_system_leads_with_a_realistic_pair(path):
    raw = load_yaml_text(path.read_text(), path)
    prefill, decode = eval_len_pairs(raw, GPT3)[0]
    assert prefill >= 1000 and decode >= 128, (path.name, prefill, decode)


def test_the_reference_case_pairs_are_kept_after_it():
    """tpuv4.yaml still holds the reference tpuv4 case's pairs, so the exhaustive run can be compared."""
    raw = load_yaml_text((REPO / "inputs/software/system/tpuv4.yaml").read_text(), "tpuv4.yaml")
    pairs = eval_len_pairs(raw, GPT3)
    assert {(20, 8), (60, 20), (128, 8)} <= set(pairs)
