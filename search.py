#!/usr/bin/env python3
"""llmhw command-line entry point: ``python search.py --help``."""
import sys

from llmhw.cli import main

if __name__ == "__main__":
    sys.exit(main())
