"""One module per CLI command (exhaustive, search, report, check); ``llmhw.cli`` only parses and dispatches."""
from __future__ import annotations

import argparse
from typing import Any


def add_flag(parser: argparse.ArgumentParser, *flags: str, **kw: Any) -> None:
    """Add a flag unless the parser already has it (the CLI defines the shared input flags once)."""
    if any(f in parser._option_string_actions for f in flags):  # noqa: SLF001
        return
    parser.add_argument(*flags, **kw)
