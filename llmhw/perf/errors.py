"""Inputs the analytical evaluator cannot score (reported to the user as one line)."""
from __future__ import annotations

from llmhw.errors import LlmhwError


class UnsupportedFeature(LlmhwError, NotImplementedError):
    """A configuration asks for a path this implementation does not evaluate (e.g. ``dataflow: llmcompass``,
    model.md §13.11, which needs an external cycle-level simulator)."""
