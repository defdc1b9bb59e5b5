"""Samplers by name (issue 4): tpe, nsga2, nsga3, random, qmc, grid, gp, pls, auto.

Every sampler honours feasibility through the constraints stored on the trials
(``Trial.set_constraint``; Optuna 5 samplers read them without a ``constraints_func``).

- ``tpe``: multivariate TPE with ``constant_liar`` (a batch of asks does not collapse onto one
  point); its cost grows with the study (about 10–40 ms per trial beyond 1,000 trials with 3
  objectives), so ``auto`` uses it for small budgets and as the warm-up of ``pls``.
- ``nsga2`` / ``nsga3``: population = the ask/tell batch size, so one batch is one generation.
- ``grid``: every list dimension enumerated; refuses range dimensions.
- ``gp``: Optuna's GPSampler, only if PyTorch is importable.
- ``pls``: :class:`~llmhw.search.pls.ParetoLocalSearchSampler` — a TPE warm-up, then Pareto local
  search around an elitist archive (surrogate-ordered one-step neighbourhoods, also from designs
  within 2% of the front, crossover/mutation, no repeated designs after the warm-up; batch 10, so
  the archive is updated every 10 trials).
  It gets the space's hooks: the canonical point key (so two params that
  decode to one design are one trial), the canonical params (local moves start from the intended
  representative) and the concrete values of index-encoded dimensions (their log scale).
- ``auto``: GP (when PyTorch is installed) up to 100 trials, TPE up to ``PLS_WARMUP`` trials
  (what ``pls`` would run anyway), ``pls`` beyond. On the speed grid it reaches the
  true front's hypervolume in far fewer trials than NSGA-II or TPE (``bench/bench_search.py``).
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import optuna

from llmhw.errors import UsageError

from .names import SAMPLERS
from .pls import ParetoLocalSearchSampler
from .space import SearchSpace

AUTO_GP_UP_TO = 100
PLS_WARMUP = 150   # TPE trials before the local search starts


class BudgetGridSampler(optuna.samplers.GridSampler):
    """Optuna's GridSampler without its ``Study.stop()`` once every grid point is taken.

    llmhw's runner asks and tells trials itself, outside ``Study.optimize``, where ``stop()`` raises
    RuntimeError: a study whose budget reached the grid size crashed on its last tell. The runner stops
    at its own budget (``--trials``), so the sampler need not stop the study.
    """

    def after_trial(self, study, trial, state, values) -> None:  # noqa: D102 (see the class)
        return None


def have_torch() -> bool:
    return importlib.util.find_spec("torch") is not None


def resolve_auto(trials: int) -> str:
    """GP for the smallest budgets (with PyTorch), TPE while ``pls`` would still be in its TPE
    warm-up, Pareto local search beyond it."""
    if have_torch() and trials <= AUTO_GP_UP_TO:
        return "gp"
    return "tpe" if trials <= PLS_WARMUP else "pls"


def default_batch_size(name: str) -> int:
    """Ask/tell batch: a generation for the GAs, small for the model-based samplers."""
    return {"nsga2": 50, "nsga3": 50, "random": 100, "qmc": 100, "grid": 100, "tpe": 8, "gp": 4,
            "pls": 10}[name]


@dataclass(frozen=True)
class SamplerChoice:
    """A resolved sampler. ``patience``: stop once the feasible front has gained no point in that
    many consecutive batches (None: run the whole budget), so ``--trials`` is a cap. ``sweep``: give
    every hardware the run reaches its best mappings (:mod:`llmhw.search.sweep`)."""
    requested: str
    name: str        # after resolving 'auto'
    batch_size: int
    patience: int | None = None
    sweep: bool = True


def sweep_default(name: str) -> bool:
    """The mapping sweep when neither ``--sweep`` nor a stored run says: on, except for ``grid``, whose
    user asks for the grid's points in the grid's order."""
    return name != "grid"


def choose(name: str, trials: int, batch_size: int | None, patience: int | None = None,
           sweep: bool | None = None) -> SamplerChoice:
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
        raise UsageError(f"batch size must be >= 1, got {batch_size}")
    if patience is not None and patience < 1:
        raise UsageError(f"patience must be >= 1 batches, got {patience}")
    return SamplerChoice(key, real, batch_size or default_batch_size(real), patience,
                         sweep_default(real) if sweep is None else bool(sweep))


def make_sampler(choice: SamplerChoice, space: SearchSpace, seed: int | None,
                 n_objectives: int, settled: tuple[str, ...] = ()) -> optuna.samplers.BaseSampler:
    """The sampler of ``choice``; ``settled``: dimensions something else resolves (the mapping sweep),
    which ``pls``'s walk then leaves alone."""
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
        return BudgetGridSampler(space.grid(), seed=seed)
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=10)
    if name == "pls":
        values = {d.name: d.values for d in space.dims if d.encoding == "index" and d.values is not None}
        return ParetoLocalSearchSampler(
            seed=seed, search_space=space.distributions, key=space.canonical, normalise=space.normalise,
            values=values, n_startup_trials=PLS_WARMUP, settled=settled,
            startup_sampler=optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True,
                                                       n_startup_trials=20))
    raise UsageError(f"unknown sampler {name!r}")  # pragma: no cover
