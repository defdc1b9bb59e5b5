"""Performance of a model on a system (model.md §12.3–§15): operators, collectives, latency, energy, $/token.

Every equation is written once over numbers or numpy arrays (:mod:`llmhw.perf.xp`) and has two drivers:
:func:`evaluate_point` (one system × mapping × batch, Python numbers) and :func:`evaluate_grid` (every
mapping × batch of one system, numpy arrays, identical numbers). Module map: docs/evaluator.md.
model.md calls the second stage "generate"; the code says decode throughout (the reference's table values
``generate_lat`` / ``generate_tco`` and CSV columns keep their names).
"""
from .errors import UnsupportedFeature
from .point import PerfResult, evaluate_point
from .grid import Grid, evaluate_grid
from .optima import GOALS, Optimum, sweep_system, sweep_system_scalar

__all__ = ["GOALS", "Grid", "Optimum", "PerfResult", "UnsupportedFeature", "evaluate_grid", "evaluate_point",
           "sweep_system", "sweep_system_scalar"]
