"""Design search with Optuna (issue 4): the evaluator's Result only, never chip internals.

This package is the search *domain*: what is searched and how points are chosen and judged. Storing
a study (storage URLs, journals, locks, signals, worker processes, fault guard, opening/resuming a
stored study) lives in :mod:`llmhw.study`.

Modules, one concept each:

- ``space``: config lists / ranges / associated_explore bundles, batch and mapping ⇄ Optuna
  distributions (:class:`SearchSpace`, fixed-dimensional);
- ``overlay``: ``--space spaces/*.yaml`` files merged onto a base hardware/system config;
- ``objectives``: metric names → :class:`Objective` (direction from the registry ``llmhw.metrics``);
- ``constraints``: evaluator violations + user limits → ``Trial.set_constraint`` values;
- ``outcome``: one Result → sanitised values, constraints and user attrs;
- ``samplers``: samplers by name (tpe, nsga2, nsga3, random, qmc, grid, gp, auto);
- ``setup``: a study's inputs, name and stored identity (what the resume check compares);
- ``runner``: the batched ask/tell loop with the evaluation cache;
- ``pareto``: fronts and hypervolume; ``progress``: the rich progress bar;
- ``output``: trials.csv, pareto.csv and the rich Pareto table.

Typical use (what ``search.py`` does)::

    setup = build_setup(StudyInputs(...))
    study, created = llmhw.study.opening.open_study(setup, name, default_storage_url(name), run_record)
    problem = Problem(setup.hw, setup.system, setup.model, setup.constants, setup.fidelity)
    result = Runner(setup, problem, study, choose("nsga2", 5000, None), seed, 5000).run()
"""
from __future__ import annotations

#: name → the module that defines it, imported on first use (PEP 562): building the CLI parser or
#: running the exhaustive mode does not pay for optuna, pandas and the samplers.
_LAZY = {
    'USER_LIMITS': 'constraints',
    'ConstraintSet': 'constraints',
    'Limit': 'constraints',
    'parse_limits': 'constraints',
    'DEFAULT_OBJECTIVES': 'objectives',
    'Objective': 'objectives',
    'parse_objectives': 'objectives',
    'pareto_frame': 'output',
    'trials_frame': 'output',
    'write_csvs': 'output',
    'SpaceFile': 'overlay',
    'load_space': 'overlay',
    'merge': 'overlay',
    'front_mask': 'pareto',
    'hypervolume': 'pareto',
    'losses': 'pareto',
    'Runner': 'runner',
    'RunResult': 'runner',
    'RunStats': 'runner',
    'run_record_for': 'runner',
    'SAMPLERS': 'samplers',
    'SamplerChoice': 'samplers',
    'choose': 'samplers',
    'make_sampler': 'samplers',
    'Dim': 'space',
    'SearchSpace': 'space',
    'eval_len_pairs': 'space',
    'pipeline_candidates': 'space',
    'InputText': 'setup',
    'Setup': 'setup',
    'StudyInputs': 'setup',
    'build_setup': 'setup',
    'study_name': 'setup',
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ConstraintSet", "DEFAULT_OBJECTIVES", "Dim", "InputText", "Limit", "Objective",
    "RunResult", "RunStats", "Runner", "SAMPLERS", "SamplerChoice", "SearchSpace", "Setup", "SpaceFile",
    "StudyInputs", "USER_LIMITS", "build_setup", "choose", "eval_len_pairs",
    "front_mask", "hypervolume", "load_space", "losses", "make_sampler", "merge",
    "parse_limits", "parse_objectives", "pareto_frame", "pipeline_candidates",
    "run_record_for", "study_name", "trials_frame", "write_csvs",
]
