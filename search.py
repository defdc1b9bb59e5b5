#!/usr/bin/env python3
"""llmhw command-line entry point: ``python search.py --help``."""
import os
import sys

# One BLAS thread unless the user sets one of these (before numpy loads): llmhw's array work is elementwise or
# too small for BLAS threads, and OpenBLAS starting its thread pool costs ~0.1 s of CPU (docs/benchmarks.md).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from llmhw.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
