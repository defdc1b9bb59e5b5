"""``search.py`` whose evaluator sleeps per evaluated batch (``LLMHW_TEST_DELAY`` s; the first batch
of a process ``LLMHW_TEST_FIRST_DELAY`` s, so concurrent processes all start before any stores) and, if
``LLMHW_TEST_EVAL_LOG`` is set, appends one line per evaluated design point to that file
(``<pid>\\t<repr of the point>``), so tests can count evaluations across processes."""
from __future__ import annotations

import os
import sys
import time

from llmhw import evaluate

_orig = evaluate.Problem.evaluate_many
DELAY = float(os.environ.get("LLMHW_TEST_DELAY", "0"))
FIRST_DELAY = float(os.environ.get("LLMHW_TEST_FIRST_DELAY", "0"))
LOG = os.environ.get("LLMHW_TEST_EVAL_LOG")
_calls = [0]


def logged(self, points):
    _calls[0] += 1
    delay = FIRST_DELAY if _calls[0] == 1 and FIRST_DELAY else DELAY
    if delay:
        time.sleep(delay)
    out = _orig(self, points)
    if LOG:
        with open(LOG, "a") as f:
            f.write("".join(f"{os.getpid()}\t{p!r}\n" for p in points))
    return out


evaluate.Problem.evaluate_many = logged

if __name__ == "__main__":
    from llmhw.cli import main
    sys.exit(main(sys.argv[1:]))
