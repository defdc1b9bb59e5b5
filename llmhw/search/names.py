"""What the command line offers before anything heavy is imported: sampler names, mapping modes, the default
budget.

:mod:`llmhw.search.samplers` and :mod:`llmhw.search.space` read them from here (one home); the CLI parser
reads them without importing optuna.
"""
from __future__ import annotations

SAMPLERS = ("tpe", "nsga2", "nsga3", "random", "qmc", "grid", "gp", "pls", "auto")
MAPPING_MODES = ("explicit", "best")
DEFAULT_TRIALS = 200     # COMPLETE trials of a new study without --trials
