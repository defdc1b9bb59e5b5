"""``search.py`` whose evaluator sleeps LLMHW_TEST_DELAY seconds per evaluated batch (default 0.05),
and, with LLMHW_TEST_READY=PATH, touches PATH once the first batch is stored: for the kill and
interrupt tests, which need a search that is still running when the signal arrives."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from llmhw import evaluate
from llmhw.study import storage

DELAY = float(os.environ.get("LLMHW_TEST_DELAY", "0.05"))
READY = os.environ.get("LLMHW_TEST_READY")
_evaluate_many = evaluate.Problem.evaluate_many
_write = storage.RDBTrialStore.write


def slow(self, points):
    time.sleep(DELAY)
    return _evaluate_many(self, points)


def write(self, trials, *args, **kw):
    out = _write(self, trials, *args, **kw)
    if READY:
        Path(READY).touch()
    return out


evaluate.Problem.evaluate_many = slow
storage.RDBTrialStore.write = write

if __name__ == "__main__":
    from llmhw.cli import main
    sys.exit(main(sys.argv[1:]))
