"""``search.py`` with a slowed-down evaluator (a delay per evaluated batch), for the kill tests."""
from __future__ import annotations

import os
import sys
import time

from llmhw import evaluate

_orig = evaluate.Problem.evaluate_many
DELAY = float(os.environ.get("LLMHW_TEST_DELAY", "0.1"))


def slow(self, points):
    time.sleep(DELAY)
    return _orig(self, points)


evaluate.Problem.evaluate_many = slow

if __name__ == "__main__":
    from llmhw.cli import main
    sys.exit(main(sys.argv[1:]))
