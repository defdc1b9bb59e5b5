"""Open a stored study: load it, or create it with its attributes; refuse a resume with other inputs.

A study made by llmhw carries its identity (input texts, objectives, limits, space) in the ``llmhw``
user attr (:mod:`llmhw.search.setup`); resuming with different inputs is refused with the differences
shown (``--force`` overrides and records the change in the study's history).
"""
from __future__ import annotations

import optuna
from rich.console import Console

from llmhw import __version__
from llmhw.errors import UsageError
from llmhw.search.setup import ATTR, Setup, identity_diff, stored_identity, study_attrs

from .storage import open_storage
from .urls import redact


class StudyConflict(UsageError):
    """The stored study cannot be continued with this setup. ``forceable``: a forced resume may continue it
    (the command line adds how: the search layer names no flag)."""

    def __init__(self, message: str, forceable: bool = False):
        self.forceable = forceable
        super().__init__(message)


class InputsChanged(StudyConflict):
    """Resuming a study with inputs that differ from the stored ones (without force)."""

    def __init__(self, name: str, diff: list[str]):
        self.diff = diff
        n = sum(1 for line in diff if not line.startswith(" ")) or len(diff)  # entries, not diff lines
        super().__init__(f"study {name!r} was made with different inputs ({n} difference(s) shown above)",
                         forceable=True)


def open_study(setup: Setup, name: str, storage_url: str, run: dict, force: bool = False,
               console: Console | None = None) -> tuple[optuna.Study, bool]:
    """Load or create the persistent study; refuse (InputsChanged) on different inputs."""
    storage = open_storage(storage_url)
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        study = optuna.create_study(study_name=name, storage=storage, directions=setup.directions)
        _initialise(study, setup, run)
        return study, True
    stored = stored_identity(study)
    current = setup.inputs.identity()
    if stored is None and _unfinished_creation(study, setup):
        _initialise(study, setup, run)  # a run killed while creating it: finish the creation
        return study, True
    if stored is None:
        raise StudyConflict(f"study {name!r} in {redact(storage_url)} was not made by llmhw (no '{ATTR}' attrs)")
    diff = identity_diff(stored, current)
    if [d.name.lower() for d in study.directions] != setup.directions:
        raise StudyConflict(f"study {name!r} optimises {len(study.directions)} objective(s) with other "
                            "directions; objectives cannot change within a study")
    meta = dict(study.user_attrs.get(ATTR) or {})
    history = list(meta.get("history") or [])
    other = _other_version(study, meta)
    if other is not None:
        note = (f"study {name!r} was last written by llmhw {other}, this is llmhw {__version__}: its trials were "
                "scored by that version's evaluator and would be mixed with new ones in one front")
        if not force:
            raise StudyConflict(note, forceable=True)
        if console is not None:
            console.print(f"[yellow]{note} (forced)[/]")
        history.append({"event": f"resumed by llmhw {__version__}, last written by llmhw {other} (forced)"})
    if diff:
        if console is not None:
            console.print(f"[bold red]study {name!r}: the inputs differ from the stored ones:[/]")
            for line in diff:
                console.print("  " + line, markup=False, highlight=False)
        if not force:
            raise InputsChanged(name, diff)
        history.append({"event": "resumed with changed inputs (forced)", "previous": stored,
                        "run": run})
        for key, value in study_attrs(setup, run).items():
            if key != ATTR:
                study.set_user_attr(key, value)
        meta["identity"] = current
    else:
        history.append({"event": "resumed", "run": run})
    meta["run"] = run
    meta["history"] = history[-50:]
    study.set_user_attr(ATTR, meta)
    return study, False


def _initialise(study: optuna.Study, setup: Setup, run: dict) -> None:
    """Metric names and study attrs of a new study; the ``llmhw`` attr (the marker) goes last."""
    study.set_metric_names([o.name for o in setup.objectives])
    attrs = study_attrs(setup, run)
    for key, value in sorted(attrs.items(), key=lambda kv: kv[0] == ATTR):
        study.set_user_attr(key, value)


def _unfinished_creation(study: optuna.Study, setup: Setup) -> bool:
    """No llmhw attrs, no trials, the same directions: created by a run killed before its attrs."""
    return (not study.get_trials(deepcopy=False)
            and [d.name.lower() for d in study.directions] == setup.directions)


def _other_version(study: optuna.Study, meta: dict) -> str | None:
    """The llmhw version that last wrote the study, if it is not this one."""
    stored = (meta.get("run") or {}).get("tool_version") or study.user_attrs.get("tool_version")
    return str(stored) if stored and str(stored) != __version__ else None
