"""Errors that reach the user as one line (exit code 2), never as a traceback."""
from __future__ import annotations

from typing import Any


class LlmhwError(Exception):
    """Base class of every error llmhw reports to the user as a single line."""

    exit_code = 2  # the CLI's exit status for this error (bad input: 2)


class ConfigError(LlmhwError):
    """Bad input: names the file, the key path, the bad value and what is allowed.

    ``str(err)`` is the one line the CLI prints, e.g.::

        inputs/hardware/config/x.yaml: Chip.freq: must be > 0, got 0 (allowed: a positive number in Hz)
    """

    def __init__(self, file: Any, key_path: str, value: Any = None, allowed: str = "",
                 problem: str = "invalid value"):
        self.file = str(file) if file is not None else "<input>"
        self.key_path = key_path
        self.value = value
        self.allowed = allowed
        self.problem = problem
        super().__init__(self.line())

    def line(self) -> str:
        where = f"{self.file}: {self.key_path}" if self.key_path else self.file
        msg = f"{where}: {self.problem}"
        if self.value is not None:
            shown = repr(self.value)
            if len(shown) > 80:
                shown = shown[:77] + "..."
            msg += f", got {shown}"
        if self.allowed:
            msg += f" (allowed: {self.allowed})"
        return msg.replace("\n", " ")


class UsageError(LlmhwError):
    """Bad command-line usage (flag, name or combination); one line, exit code 2."""


class StorageError(LlmhwError):
    """The study's storage failed (disk full, read-only, locked, unreachable): one line, exit code 1.

    Raised before or between batch writes, so the study keeps every trial stored so far.
    """

    exit_code = 1
