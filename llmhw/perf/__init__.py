"""Performance of a model on a system (model.md §12.3–§15): operators, collectives, latency, energy, $/token.

Scalar path: :func:`evaluate_point` (one system × mapping × batch). Vectorised path:
:func:`~llmhw.perf.vector.evaluate_grid` (every mapping × batch of one system, identical numbers).
The software phase (§0) and its two tables: :func:`software_phase`.
"""
from .errors import UnsupportedFeature
from .point import PerfResult, evaluate_point
from .sweep import (GOALS, OPTIMA_COLUMNS, PERFORMANCE_COLUMNS, Optimum, SystemSweep, optima_rows,
                    performance_rows, software_phase, sweep_all, sweep_system, sweep_system_scalar)
from .vector import Grid, evaluate_grid

__all__ = ["GOALS", "Grid", "OPTIMA_COLUMNS", "Optimum", "PERFORMANCE_COLUMNS", "PerfResult", "SystemSweep",
           "UnsupportedFeature", "evaluate_grid", "evaluate_point", "optima_rows", "performance_rows",
           "software_phase", "sweep_all", "sweep_system", "sweep_system_scalar"]
