"""Samplers by name (issue 4): tpe, nsga2, nsga3, random, qmc, grid, gp, auto.

Every sampler honours feasibility through the constraints stored on the trials
(``Trial.set_constraint``; Optuna 5 samplers read them without a ``constraints_func``).

- ``tpe``: multivariate TPE with ``constant_liar`` (a batch of asks does not collapse onto one
  point); its cost grows with the study (about 10–40 ms per trial beyond 1,000 trials with 3
  objectives), so it is the default only for small budgets through ``auto``.
- ``nsga2`` / ``nsga3``: population = the ask/tell batch size, so one batch is one generation.
- ``grid``: every list dimension enumerated; refuses range dimensions.
- ``gp``: Optuna's GPSampler, only if PyTorch is importable.
- ``auto``: GP (when PyTorch is installed) up to 100 trials, TPE below 250, NSGA-II from 250 on.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import optuna

from llmhw.errors import UsageError

from .space import SearchSpace

SAMPLERS = ("tpe", "nsga2", "nsga3", "random", "qmc", "grid", "gp", "auto")
AUTO_NSGA_FROM = 250
AUTO_GP_UP_TO = 100


def have_torch() -> bool:
    return importlib.util.find_spec("torch") is not None


def resolve_auto(trials: int) -> str:
    if trials < AUTO_NSGA_FROM:
        return "gp" if have_torch() and trials <= AUTO_GP_UP_TO else "tpe"
    return "nsga2"


def default_batch_size(name: str) -> int:
    """Ask/tell batch: a generation for the GAs, small for the model-based samplers."""
    return {"nsga2": 50, "nsga3": 50, "random": 100, "qmc": 100, "grid": 100, "tpe": 8, "gp": 4}[name]


@dataclass(frozen=True)
class SamplerChoice:
    requested: str
    name: str        # after resolving 'auto'
    batch_size: int


def choose(name: str, trials: int, batch_size: int | None) -> SamplerChoice:
    key = (name or "auto").lower()
    if key not in SAMPLERS:
        import difflib
        close = difflib.get_close_matches(key, SAMPLERS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UsageError(f"unknown sampler {name!r}{hint}; choose from: {', '.join(SAMPLERS)}")
    real = resolve_auto(trials) if key == "auto" else key
    if real == "gp" and not have_torch():
        raise UsageError("sampler 'gp' needs PyTorch, which is not installed "
                         "(pip install torch, CPU wheel); use tpe, nsga2 or auto instead")
    if batch_size is not None and batch_size < 1:
        raise UsageError(f"--batch-size must be >= 1, got {batch_size}")
    return SamplerChoice(key, real, batch_size or default_batch_size(real))


def make_sampler(choice: SamplerChoice, space: SearchSpace, seed: int | None,
                 n_objectives: int) -> optuna.samplers.BaseSampler:
    name = choice.name
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True,
                                          n_startup_trials=max(10, min(2 * choice.batch_size, 50)))
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=max(2, choice.batch_size))
    if name == "nsga3":
        return optuna.samplers.NSGAIIISampler(seed=seed, population_size=max(2, choice.batch_size))
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "qmc":
        return optuna.samplers.QMCSampler(seed=seed, scramble=True, warn_independent_sampling=False)
    if name == "grid":
        return optuna.samplers.GridSampler(space.grid(), seed=seed)
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=10)
    raise UsageError(f"unknown sampler {name!r}")  # pragma: no cover
