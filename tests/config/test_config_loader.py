"""YAML reading: number spellings, key order, duplicate keys, unreadable/malformed files."""
from __future__ import annotations

import pytest
import yaml

from llmhw.config import load_yaml, load_yaml_text
from llmhw.errors import ConfigError


@pytest.mark.parametrize("spelling, expected", [
    ("1e9", 1e9), ("200e12", 200e12), ("1.0e+9", 1e9), ("1.0e9", 1e9), ("-3e-5", -3e-5),
    (".5", 0.5), ("-.5", -0.5), ("5.", 5.0), ("1E9", 1e9), ("+2.5", 2.5), ("10.0e-9", 10e-9),
    ("3.865e9", 3.865e9), ("1_000.5", 1000.5), ("0.0", 0.0), (".5e3", 500.0),
])
def test_float_spellings(spelling, expected):
    value = load_yaml_text(f"x: {spelling}\n")["x"]
    assert isinstance(value, float)
    assert value == expected


@pytest.mark.parametrize("spelling, expected", [
    ("2147483648", 2147483648), ("100", 100), ("0", 0), ("-7", -7), ("+3", 3),
])
def test_integers_stay_int(spelling, expected):
    value = load_yaml_text(f"x: {spelling}\n")["x"]
    assert type(value) is int
    assert value == expected


def test_numbers_inside_flow_collections():
    data = load_yaml_text("a: [1e9, 2, .5]\nb: {900: 2, 289: 1.75, 0: 1.0}\n")
    assert data["a"] == [1e9, 2, 0.5] and isinstance(data["a"][0], float)
    assert list(data["b"].items()) == [(900, 2), (289, 1.75), (0, 1.0)]


def test_strings_and_booleans_unchanged():
    data = load_yaml_text("a: '1e9'\nb: 7nm\nc: False\nd: null\ne: 2d_ring\nf: 1e9x\n")
    assert data == {"a": "1e9", "b": "7nm", "c": False, "d": None, "e": "2d_ring", "f": "1e9x"}


def test_plain_safe_loader_is_untouched():
    assert yaml.safe_load("x: 1e9")["x"] == "1e9"


def test_key_order_is_file_order():
    data = load_yaml_text("z: 1\na: 2\nm: {y: 1, b: 2}\n")
    assert list(data) == ["z", "a", "m"]
    assert list(data["m"]) == ["y", "b"]


def test_duplicate_key_is_an_error():
    with pytest.raises(ConfigError) as info:
        load_yaml_text("Chip:\n  freq: 1\n  freq: 2\n", "hw.yaml")
    msg = str(info.value)
    assert msg.startswith("hw.yaml: line 3, column 3: duplicate key")
    assert "'freq'" in msg and "\n" not in msg


def test_duplicate_key_in_flow_mapping():
    with pytest.raises(ConfigError, match="duplicate key"):
        load_yaml_text("x: {a: 1, a: 2}\n", "f.yaml")


def test_malformed_yaml_names_file_line_and_column():
    with pytest.raises(ConfigError) as info:
        load_yaml_text("Chip:\n  freq: [1, 2\n  tech: x\n", "bad.yaml")
    msg = str(info.value)
    assert msg.startswith("bad.yaml: line ")
    assert "column" in msg and "malformed YAML" in msg and "\n" not in msg


def test_tab_indentation_is_malformed():
    with pytest.raises(ConfigError, match=r"t\.yaml: line 2, column 1: malformed YAML"):
        load_yaml_text("a:\n\tb: 1\n", "t.yaml")


@pytest.mark.parametrize("text, problem", [
    ("", "the file is empty"),
    ("# only a comment\n", "the file is empty"),
    ("- 1\n- 2\n", "the top level must be a mapping"),
    ("just a string\n", "the top level must be a mapping"),
])
def test_top_level_must_be_a_mapping(text, problem):
    with pytest.raises(ConfigError, match=problem):
        load_yaml_text(text, "x.yaml")


def test_load_yaml_reads_a_file(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text("freq: 1.0e9\nnum: 2\n")
    assert load_yaml(path) == {"freq": 1e9, "num": 2}


def test_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_yaml(path)
    assert str(info.value) == f"{path}: file not found (allowed: an existing YAML file)"


def test_directory_is_not_a_file(tmp_path):
    with pytest.raises(ConfigError, match="is a directory"):
        load_yaml(tmp_path)


def test_non_utf8_file(tmp_path):
    path = tmp_path / "latin.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_yaml(path)
