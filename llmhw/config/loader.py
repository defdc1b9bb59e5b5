"""Reading YAML input files (model.md §0: hardware, constants, model and system files).

A PyYAML ``SafeLoader`` subclass with two changes:

- every common spelling of a real number is read as ``float`` — ``1e9``, ``200e12``, ``1.0e9``,
  ``1.0e+9``, ``-3e-5``, ``.5``, ``5.`` — whereas plain YAML 1.1 reads the first three as strings;
  plain integers (``100``, ``2147483648``) stay ``int``;
- a mapping that repeats a key is an error (plain PyYAML silently keeps the last value).

Mapping key order is the file order (it is the product order of §0 EXPAND). Every failure —
missing or unreadable file, malformed YAML, duplicate key, a top level that is not a mapping —
raises :class:`~llmhw.errors.ConfigError` naming the file (and the line/column for YAML errors).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from llmhw.errors import ConfigError

_FLOAT_TAG = "tag:yaml.org,2002:float"

#: Decimal reals with a fraction and/or an exponent (the exponent sign optional), plus .inf/.nan.
_FLOAT_RE = re.compile(r"""^(?:
      [-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    | [-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
    | [-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
    | [-+]?\.(?:inf|Inf|INF)
    | \.(?:nan|NaN|NAN)
    )$""", re.X)


class NumberSafeLoader(yaml.SafeLoader):
    """SafeLoader reading ``1e9``-style numbers as floats and rejecting duplicate mapping keys."""

    file: str = "<input>"

    def compose_node(self, parent: Any, index: Any) -> Any:
        """Stop parsing at item :data:`MAX_LIST_ITEMS` of a list: PyYAML needs ~0.1 ms per item, so a
        list of 10^5 values would take seconds before any check could see it."""
        if isinstance(parent, yaml.SequenceNode) and isinstance(index, int) and index >= MAX_LIST_ITEMS:
            mark = parent.start_mark
            raise ConfigError(self.file, f"line {mark.line + 1}, column {mark.column + 1}",
                              problem=f"a list of more than {MAX_LIST_ITEMS:,} items",
                              allowed=f"at most {MAX_LIST_ITEMS:,} items; a range {{start, stop, step}} "
                                      "for a long sweep")
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, yaml.Node] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:  # unhashable key: let PyYAML report it
                    continue
                if first is not None:
                    mark = key_node.start_mark
                    raise ConfigError(
                        self.file, f"line {mark.line + 1}, column {mark.column + 1}", key,
                        problem=f"duplicate key (first given on line {first.start_mark.line + 1})",
                        allowed="each key at most once per mapping")
                seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def _install_float_resolver(cls: type[yaml.SafeLoader]) -> None:
    """Replace the YAML 1.1 float resolver of ``cls`` (a copy; SafeLoader itself is untouched)."""
    table = {first: [(tag, rx) for tag, rx in resolvers if tag != _FLOAT_TAG]
             for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    for first in "-+0123456789.":
        table.setdefault(first, []).insert(0, (_FLOAT_TAG, _FLOAT_RE))
    cls.yaml_implicit_resolvers = table


_install_float_resolver(NumberSafeLoader)


def load_yaml_text(text: str, file: Any = "<input>") -> dict:
    """Parse YAML ``text`` (read from ``file``, used in messages) into a dict in file key order."""
    file = str(file)
    loader = None
    try:
        loader = NumberSafeLoader(text)
        loader.file = file
        data = loader.get_single_data()
    except ConfigError:
        raise
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (control bytes, ...)
        pos = max(0, int(exc.position))
        line = text.count("\n", 0, pos) + 1 if isinstance(text, str) else 1
        column = pos - (text.rfind("\n", 0, pos) + 1) + 1 if isinstance(text, str) else pos + 1
        char = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        raise ConfigError(file, f"line {line}, column {column}", problem=f"malformed YAML: character {char} "
                          "is not allowed", allowed="printable UTF-8 text") from None
    except RecursionError:
        raise ConfigError(file, "", problem="malformed YAML: nested too deeply",
                          allowed="valid YAML") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = " ".join(str(p) for p in (exc.context, exc.problem) if p) or "malformed YAML"
        raise ConfigError(file, where, problem=f"malformed YAML: {problem}",
                          allowed="valid YAML") from None
    except yaml.YAMLError as exc:
        raise ConfigError(file, "", problem=f"malformed YAML: {exc}", allowed="valid YAML") from None
    finally:
        if loader is not None:
            loader.dispose()
    if data is None:
        raise ConfigError(file, "", problem="the file is empty", allowed="a YAML mapping")
    if not isinstance(data, dict):
        raise ConfigError(file, "", type(data).__name__,
                          problem="the top level must be a mapping of keys to values",
                          allowed="a YAML mapping")
    _refuse_cycles(data, file)
    return data


#: caps on what a config file may build (issue 15 item 4): a "billion laughs" alias bomb is a
#: few hundred bytes that expands to 10^9 values; a list of 10^5 alternatives is not a design space
MAX_NODES = 1_000_000       # values in the file with every alias expanded
MAX_LIST_ITEMS = 1_000      # items of one list (the shipped files have at most 6), checked while parsing


def _refuse_cycles(data: Any, file: str) -> None:
    """Refuse a YAML tree that cannot be a config, in time linear in the file's *distinct* nodes:

    - an alias inside its own anchor (``a: &x [*x]``) builds an endless tree;
    - aliases that expand to more than :data:`MAX_NODES` values (an alias bomb: each level repeats
      the previous one, so the expanded size is counted once per distinct node, memoised).

    (A list longer than :data:`MAX_LIST_ITEMS` is refused earlier, while parsing:
    :meth:`NumberSafeLoader.compose_node`.)
    """
    size: dict[int, int] = {}          # id -> expanded size (finished nodes)
    active: set[int] = set()           # ids on the current path (grey)
    stack: list[tuple[Any, str, bool]] = [(data, "", False)]
    while stack:
        node, path, done = stack.pop()
        key = id(node)
        if done:
            active.discard(key)
            items = node.values() if isinstance(node, dict) else node
            total = 1 + sum(size.get(id(v), 1) for v in items)
            if total > MAX_NODES:
                raise ConfigError(file, path, problem=f"YAML aliases expand to more than {MAX_NODES:,} values "
                                  "(an alias bomb?)", allowed="a config of reasonable size; aliases used a few times")
            size[key] = total
            continue
        if not isinstance(node, (dict, list)) or key in size:
            continue
        if key in active:
            raise ConfigError(file, path, problem="a YAML alias refers to a mapping or list that contains it",
                              allowed="aliases to other parts of the file only")
        active.add(key)
        stack.append((node, path, True))
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for k, value in items:
            if isinstance(value, (dict, list)):
                sub = f"{path}[{k}]" if isinstance(node, list) else (f"{path}.{k}" if path else str(k))
                stack.append((value, sub, False))


def read_text(path: Any) -> str:
    """The text of ``path``; a missing or unreadable file raises ConfigError."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, "", problem="file not found", allowed="an existing YAML file") from None
    except IsADirectoryError:
        raise ConfigError(path, "", problem="is a directory, not a file",
                          allowed="an existing YAML file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(path, "", problem=f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                          allowed="a UTF-8 YAML file") from None
    except OSError as exc:
        raise ConfigError(path, "", problem=f"cannot read the file ({exc.strerror or exc})",
                          allowed="a readable YAML file") from None


def load_yaml(path: Any) -> dict:
    """Read and parse the YAML file at ``path`` (see :func:`load_yaml_text`)."""
    return load_yaml_text(read_text(path), path)
