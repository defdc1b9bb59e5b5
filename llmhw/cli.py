"""Command-line face of llmhw: parses arguments, then dispatches to one command module.

Errors in the user's input reach the terminal as one line and exit code 2, never a traceback.
"""
from __future__ import annotations

import argparse
import sys

from . import __version__
from .errors import LlmhwError
from .fidelity import COMPAT_MODES
from .exhaustive.hardware_table import TABLE_FORMATS


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit code 2
        from .commands.check import argparse_hint
        self.exit(2, f"{self.prog}: error: {argparse_hint(message, list(self._option_string_actions))} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="search.py", conflict_handler="resolve",
                description="llmhw: constrained multi-objective design search for LLM-inference hardware.")
    p.add_argument("--version", action="version", version=f"llmhw {__version__}")
    g = p.add_argument_group("inputs")
    g.add_argument("--hw", metavar="FILE", help="hardware config YAML (lists and ranges are search dimensions)")
    g.add_argument("--model", metavar="NAME_OR_FILE", help="model name (inputs/software/model/NAME.yaml) or file")
    g.add_argument("--sys", metavar="FILE", help="system config YAML (default: inputs/software/system/<hw stem>.yaml, "
                                                 "else sys_default.yaml)")
    g.add_argument("--constants", metavar="FILE", help="technology constants (default: "
                                                       "inputs/hardware/constant/7nm_default.yaml)")
    g.add_argument("--compat", choices=COMPAT_MODES, default=None,
                   help="fidelity mode: 'corrected' (default) fixes the reference's bugs, 'reference' reproduces them")
    g.add_argument("--outputs", metavar="DIR", default="outputs", help="output directory (default: outputs/)")
    e = p.add_argument_group("exhaustive mode (the reference's main.py)")
    e.add_argument("--exhaustive", action="store_true", help="evaluate every point of the config lists")
    e.add_argument("--hardware-only", action="store_true", help="stop after the hardware phase")
    e.add_argument("--hw-table-format", choices=sorted(TABLE_FORMATS), default="full",
                   help="hardware table columns: full (35, default) or legacy (29, as the shipped tables)")
    try:
        from .commands import search as search_cmd
    except ImportError:  # pragma: no cover - search layer not installed
        search_cmd = None
    if search_cmd is not None:
        search_cmd.add_arguments(p)
    from .commands import report as report_cmd
    report_cmd.add_arguments(p)
    from .commands import validate as validate_cmd
    validate_cmd.add_arguments(p)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.exhaustive:
            if not args.hw:
                raise LlmhwError("--exhaustive needs --hw FILE")
            from .commands import exhaustive
            return exhaustive.run(args)
        if args.validate:
            from .commands import validate
            return validate.run(args)
        if any(getattr(args, f, None) for f in ("report", "export", "list", "compare", "dashboard")):
            from .commands import report
            return report.run(args)
        from .commands import search as search_cmd
        return search_cmd.run(args)
    except LlmhwError as exc:
        print(f"search.py: error: {' '.join(str(exc).splitlines())}", file=sys.stderr)
        return getattr(exc, "exit_code", 2)
    except KeyboardInterrupt:
        print("search.py: interrupted", file=sys.stderr)
        return 130
