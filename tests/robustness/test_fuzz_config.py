"""Fuzz: the input path of a search either accepts a file or refuses it with a ConfigError /
UsageError (one line, exit code 2 at the CLI) — never any other exception (issue 6).

YAML trees are derived from the shipped inputs (hardware, system, model, constants, space overlays,
enqueued designs) and mutated: keys deleted or misspelt, values replaced by wrong types, null,
0, negatives, ±inf, NaN, huge numbers, empty lists, duplicate entries, malformed or inverted ranges,
lists wrapped around scalars, numbers scaled by 1e-30 … 1e30. Raw texts are mutated too (cut short,
bytes inserted, indentation broken). Each mutated input goes through what the CLI runs before
opening a study: parsing, schema validation, the space overlay, the search space, objectives,
constraints, enqueued designs, the sampler choice and the workload memory check.
"""
from __future__ import annotations

import argparse
import copy
from functools import lru_cache

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from llmhw.commands.plan import Flags, plan_studies
from llmhw.config import load_yaml_text, validate_constants, validate_hardware, validate_model, validate_system
from llmhw.config.loader import NumberSafeLoader
from llmhw.errors import LlmhwError
from llmhw.search.space import eval_len_pairs
from llmhw.search.setup import InputText, StudyInputs, parse_model_text

from .conftest import CONSTANTS, HW_DIR, MODEL_DIR, SPACES, SYS_DIR, examples

BASES = [  # hw, system, model, space, enqueue
    ("tpuv4", "tpuv4", "gpt3", None, None),
    ("chiplet_3d_dram", "chiplet_3d_dram", "llama2", None, None),
    ("chiplet_sram_only", "chiplet_sram_only", "gpt2", "chiplet_sram", None),
    ("tpuv5p", "tpuv5p", "llama3-70B", "hbm_chip", "hbm_chip_refs"),
    ("hw_example", "sys_default", "palm", None, None),
]
KINDS = ("hw", "system", "model", "constants", "space", "enqueue")
POOL = [None, 0, -1, 1, 2, 0.5, 1e308, float("inf"), float("-inf"), float("nan"), "", "abc", "WS", [], {},
        [1, 1], [1, 2], [None], ["x", "x"], [[1, 2]], [{"a": 1}], {"low": 5, "high": 1},
        {"low": 0, "high": 1, "log": True}, {"low": 1, "high": 10}, {"low": 1.0, "high": 2.0, "step": 0.3},
        {"low": 1, "high": float("inf")}, {"low": 1}, {"low": 1, "high": 2, "step": 0}, True, False,
        10 ** 30, -1e-300, 2 ** 63, {"1": 2}, "__delete__", {"associated_explore": "x"}]


@lru_cache(maxsize=None)
def texts_for(i: int) -> dict[str, tuple[str, str]]:
    hw, sys_, model, space, enqueue = BASES[i]
    paths = {"hw": HW_DIR / f"{hw}.yaml", "system": SYS_DIR / f"{sys_}.yaml", "model": MODEL_DIR / f"{model}.yaml",
             "constants": CONSTANTS, "space": SPACES / f"{space}.yaml" if space else None,
             "enqueue": SPACES / f"{enqueue}.yaml" if enqueue else None}
    return {k: (str(p), p.read_text()) for k, p in paths.items() if p is not None}


def _paths(tree, prefix=()):
    out = [prefix] if prefix else []
    if isinstance(tree, dict):
        for k, v in tree.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out += _paths(v, prefix + (i,))
    return out


def _get(tree, path):
    for k in path:
        tree = tree[k]
    return tree


@st.composite
def mutated_tree(draw, tree):
    tree = copy.deepcopy(tree)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(tree)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, key = _get(tree, path[:-1]), path[-1]
        op = draw(st.sampled_from(["delete", "replace", "rename", "duplicate", "wrap", "scale", "add"]))
        value = parent[key]
        if op == "delete":
            del parent[key]
        elif op == "replace":
            parent[key] = copy.deepcopy(draw(st.sampled_from(POOL)))
        elif op == "rename" and isinstance(parent, dict):
            new = draw(st.sampled_from([str(key)[:-1], str(key) + "s", str(key).upper(), str(key)[1:] or "x"]))
            parent.pop(key)
            parent[new] = value
        elif op == "duplicate" and isinstance(value, list) and value:
            value.append(copy.deepcopy(value[0]))
        elif op == "wrap":
            parent[key] = [value, copy.deepcopy(draw(st.sampled_from(POOL)))]
        elif op == "scale" and isinstance(value, (int, float)) and not isinstance(value, bool):
            parent[key] = value * draw(st.sampled_from([0, -1, 1e-30, 1e30, 0.5, 3]))
        elif op == "add" and isinstance(parent, dict):
            key = draw(st.sampled_from(["extra", "Chip", "num", "low", "high"]))
            parent[key] = copy.deepcopy(draw(st.sampled_from(POOL)))
    return tree


@st.composite
def mutated_inputs(draw):
    i = draw(st.integers(0, len(BASES) - 1))
    texts = dict(texts_for(i))
    kind = draw(st.sampled_from([k for k in KINDS if k in texts]))
    path, text = texts[kind]
    if draw(st.integers(0, 4)) == 0:  # a broken text
        cut = draw(st.integers(0, len(text)))
        junk = draw(st.sampled_from(["", "\t", ":", " - ", "{", "]", "'", "\x00", "key: [1, 2", "\n  x: 1\n y: 2"]))
        text = text[:cut] + junk + text[cut + draw(st.integers(0, 3)):]
    else:
        tree = yaml.load(text, Loader=NumberSafeLoader)
        text = yaml.safe_dump(draw(mutated_tree(tree)), sort_keys=False, allow_unicode=True)
    texts[kind] = (path, text)
    return texts


def _args(**kw) -> argparse.Namespace:
    base = dict(study=None, storage=None, trials=50, sampler=None, seed=None, batch_size=None, workload=None,
                objectives=None)
    base.update(kw)
    return argparse.Namespace(**base)


def pipeline(texts: dict[str, tuple[str, str]]) -> None:
    """What ``search.py`` does with its input files before it opens a study."""
    it = {k: InputText(*v) for k, v in texts.items()}
    sys_raw = load_yaml_text(it["system"].text, it["system"].path)
    validate_system(sys_raw, it["system"].path)
    pairs = eval_len_pairs(sys_raw, parse_model_text(it["model"]))
    inputs = StudyInputs(hw=it["hw"], system=it["system"], model=it["model"], constants=it["constants"],
                         space=it.get("space"), enqueue=it.get("enqueue"), compat=None, workload=pairs[0],
                         mapping="explicit", objectives=("tco_per_mtoken", "tpot", "throughput"))
    plan_studies(Flags.from_args(_args()), [inputs], None, {})


@settings(max_examples=examples(80))
@given(mutated_inputs())
def test_mutated_inputs_load_or_raise_a_config_error(texts):
    try:
        pipeline(texts)
    except LlmhwError as exc:
        line = str(exc)
        assert "\n" not in line and line.strip()


@settings(max_examples=examples(150))
@given(st.text(max_size=200), st.sampled_from(["hw", "system", "model", "constants"]))
def test_arbitrary_text_never_crashes_the_loader(text, kind):
    validate = {"hw": validate_hardware, "system": validate_system, "model": validate_model,
                "constants": validate_constants}[kind]
    try:
        validate(load_yaml_text(text, "fuzz.yaml"), "fuzz.yaml")
    except LlmhwError as exc:
        assert str(exc).startswith("fuzz.yaml") and "\n" not in str(exc)


def test_the_shipped_inputs_pass_the_pipeline():
    for i in range(len(BASES)):
        pipeline(texts_for(i))
