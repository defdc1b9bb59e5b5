"""Design search with Optuna (issue 4): the evaluator's Result only, never chip internals.

Modules, one concept each:

- ``space``: config lists / ranges / associated_explore bundles, batch and mapping ⇄ Optuna
  distributions (:class:`SearchSpace`, fixed-dimensional);
- ``overlay``: ``--space spaces/*.yaml`` files merged onto a base hardware/system config;
- ``objectives``: metric names → :class:`Objective` (direction from the registry ``llmhw.metrics``);
- ``constraints``: evaluator violations + user limits → ``Trial.set_constraint`` values;
- ``outcome``: one Result → sanitised values, constraints and user attrs;
- ``samplers``: samplers by name (tpe, nsga2, nsga3, random, qmc, grid, gp, auto);
- ``study``: a study's inputs, name, stored attributes and the resume check;
- ``storage``: storage URLs, batched durable writes and fast reads of finished trials;
- ``runner``: the batched ask/tell loop with the evaluation cache;
- ``pareto``: fronts and hypervolume; ``progress``: the rich progress bar;
- ``output``: trials.csv, pareto.csv and the rich Pareto table.

Typical use (what ``search.py`` does)::

    setup = build_setup(StudyInputs(...))
    study, created = open_study(setup, name, default_storage_url(name), run_record)
    problem = Problem(setup.hw, setup.system, setup.model, setup.constants, setup.fidelity)
    result = Runner(setup, problem, study, choose("nsga2", 5000, None), seed, 5000).run()
"""
from __future__ import annotations

from .constraints import USER_LIMITS, ConstraintSet, Limit, parse_limits
from .objectives import DEFAULT_OBJECTIVES, Objective, parse_objectives
from .output import pareto_frame, print_front, trials_frame, write_csvs
from .overlay import SpaceFile, load_space, merge
from .pareto import front_mask, hypervolume, losses
from .runner import InputsChanged, Runner, RunResult, RunStats, open_study, run_record_for
from .samplers import SAMPLERS, SamplerChoice, choose, make_sampler
from .space import Dim, SearchSpace, eval_len_pairs, pipeline_candidates
from .storage import default_storage_url, open_storage, trial_store
from .study import InputText, Setup, StudyInputs, build_setup, study_name

__all__ = [
    "ConstraintSet", "DEFAULT_OBJECTIVES", "Dim", "InputText", "InputsChanged", "Limit", "Objective",
    "RunResult", "RunStats", "Runner", "SAMPLERS", "SamplerChoice", "SearchSpace", "Setup", "SpaceFile",
    "StudyInputs", "USER_LIMITS", "build_setup", "choose", "default_storage_url", "eval_len_pairs",
    "front_mask", "hypervolume", "load_space", "losses", "make_sampler", "merge", "open_storage",
    "open_study", "parse_limits", "parse_objectives", "pareto_frame", "pipeline_candidates",
    "print_front", "run_record_for", "study_name", "trial_store", "trials_frame", "write_csvs",
]
