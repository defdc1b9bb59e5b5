"""Performance of a model on a system (model.md §12.3–§15): operators, collectives, latency, energy, $/token.

Every equation is written once over numbers or numpy arrays (:mod:`llmhw.perf.xp`) and has two drivers:
:func:`evaluate_point` (one system × mapping × batch, Python numbers) and :func:`evaluate_grid` (every
mapping × batch of one system, numpy arrays, identical numbers). Module map: docs/evaluator.md.
The software phase (§0) and its two tables: :func:`software_phase`.
"""
from .errors import UnsupportedFeature
from .point import PerfResult, evaluate_point
from .grid import Grid, evaluate_grid
from .optima import GOALS, Optimum, sweep_system, sweep_system_scalar
from .sweep import (OPTIMA_COLUMNS, PERFORMANCE_COLUMNS, SystemSweep, optima_rows, performance_rows, software_phase,
                    sweep_all)

__all__ = ["GOALS", "Grid", "OPTIMA_COLUMNS", "Optimum", "PERFORMANCE_COLUMNS", "PerfResult", "SystemSweep",
           "UnsupportedFeature", "evaluate_grid", "evaluate_point", "optima_rows", "performance_rows",
           "software_phase", "sweep_all", "sweep_system", "sweep_system_scalar"]
