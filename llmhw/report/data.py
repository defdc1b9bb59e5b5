"""Finding and loading stored studies: storage URL, objectives, trials and their pandas frames.

A study made by ``search.py`` describes itself (``llmhw.search.setup``: input texts, objectives
with directions and units, run record); other Optuna studies in the same storage are shown too,
with objectives named from ``study.metric_names`` and feasibility from the trials' constraints.
"""
from __future__ import annotations

import copy
import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from llmhw.errors import StorageError, UsageError
from llmhw.paths import STUDIES
from llmhw.search.objectives import Objective
from llmhw.search.output import paged_frame, pareto_frame
from llmhw.search.pareto import front_mask, losses
from llmhw.search.setup import ATTR
from llmhw.study.guard import check_intact
from llmhw.study.storage import default_storage_url, open_storage, trial_store
from llmhw.study.urls import redact

SQLITE = "sqlite:///"


def storage_url_for(name: str, storage: str | None = None, studies_dir: str | Path = STUDIES) -> str:
    """``--storage URL`` if given, else the default ``sqlite:///studies/<name>.db``."""
    return storage or default_storage_url(name, studies_dir)


def _sqlite_path(url: str) -> Path | None:
    if url.startswith(SQLITE):
        path = url[len(SQLITE):]
        return Path(path) if path and path != ":memory:" else None
    return None


def open_existing(name: str, storage: str | None = None,
                  studies_dir: str | Path = STUDIES) -> tuple[optuna.Study, str]:
    """The stored study ``name`` (never creates anything) and its storage URL."""
    url = storage_url_for(name, storage, studies_dir)
    path = _sqlite_path(url)
    if path is not None and not path.exists():
        raise UsageError(f"no study {name!r}: {path} does not exist (--list shows the stored studies)")
    check_intact(url, "read")
    st = open_storage(url)
    try:
        return optuna.load_study(study_name=name, storage=st), url
    except KeyError:
        names = [s.study_name for s in st.get_all_studies()]
        held = f"; it holds {', '.join(names)}" if names else "; it holds no study"
        raise UsageError(f"no study {name!r} in {redact(url)}{held}") from None


def objectives_of(study: optuna.Study) -> list[Objective]:
    """The study's objectives: stored by llmhw (name, direction, unit), else its metric names."""
    stored = study.user_attrs.get("objectives")
    directions = [d.name.lower() for d in study.directions]
    if isinstance(stored, list) and len(stored) == len(directions) and \
            all(isinstance(o, dict) and "name" in o for o in stored):
        return [Objective(str(o["name"]), d, str(o.get("unit") or "")) for o, d in zip(stored, directions)]
    names = study.metric_names or [f"objective{i}" for i in range(len(directions))]
    return [Objective(str(n), d, "") for n, d in zip(names, directions)]


def read_pages(study: optuna.Study) -> Iterator[list[FrozenTrial]]:
    """Every trial of the study a page at a time (the search's bulk reader when it applies)."""
    try:
        store = trial_store(study)
    except Exception:  # noqa: BLE001 - any storage: Optuna's own reader
        store = None
    if store is None:
        yield study.get_trials(deepcopy=False)
        return
    yield from store.pages()


#: the user attrs a loaded study keeps per trial; the rest (metrics, design, violations) is in its frame
SLIM_ATTRS = ("feasible", "dims", "reference")


def slim(t: FrozenTrial) -> FrozenTrial:
    """``t`` without its bulky user attrs (:meth:`StudyData.trial` reads a full trial back)."""
    return FrozenTrial(number=t.number, state=t.state, value=None, values=t.values,
                       datetime_start=t.datetime_start, datetime_complete=t.datetime_complete,
                       params=t.params, distributions=t.distributions,
                       user_attrs={k: t.user_attrs[k] for k in SLIM_ATTRS if k in t.user_attrs},
                       system_attrs=t.system_attrs, intermediate_values={}, trial_id=t._trial_id)  # noqa: SLF001


def _feasible(t: FrozenTrial) -> bool:
    if "feasible" in t.user_attrs:
        return bool(t.user_attrs["feasible"])
    return t.state == TrialState.COMPLETE and all(v <= 0 for v in t.constraints.values())


def _with_feasible(page: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    """The page with ``feasible`` judged by :func:`_feasible` where no attr says it (studies not made by llmhw)."""
    out = []
    for t in page:
        if "feasible" not in t.user_attrs:
            t = copy.copy(t)
            t.user_attrs = {**t.user_attrs, "feasible": _feasible(t)}
        out.append(t)
    return out


def dim_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c.startswith("dim.")]


def objective_columns(objectives: Sequence[Objective]) -> list[str]:
    return [f"objective.{o.name}" for o in objectives]


def distinct_designs(front: pd.DataFrame, objectives: Sequence[Objective]) -> pd.DataFrame:
    """One row per design of the front (the first trial that evaluated it)."""
    if front.empty:
        return front
    keys = dim_columns(front) or objective_columns(objectives)
    return front.drop_duplicates(subset=keys)


@dataclass
class StudyData:
    """A loaded study: its attributes, objectives, trials and frames."""
    name: str
    url: str
    study: optuna.Study
    objectives: list[Objective]
    trials: list[FrozenTrial]
    df: pd.DataFrame
    front: pd.DataFrame
    attrs: dict = field(default_factory=dict)

    @property
    def meta(self) -> dict:
        m = self.attrs.get(ATTR)
        return m if isinstance(m, dict) else {}

    @property
    def is_llmhw(self) -> bool:
        return "identity" in self.meta

    @property
    def run(self) -> dict:
        return dict(self.meta.get("run") or {})

    @property
    def identity(self) -> dict:
        return dict(self.meta.get("identity") or {})

    @property
    def directions(self) -> list[str]:
        return [o.direction for o in self.objectives]

    def complete(self) -> pd.DataFrame:
        if self.df.empty:
            return self.df
        return self.df[self.df["state"] == "COMPLETE"]

    def front_designs(self) -> pd.DataFrame:
        return distinct_designs(self.front, self.objectives)

    def references(self) -> pd.DataFrame:
        if self.df.empty or "reference" not in self.df:
            return self.df.iloc[0:0]
        return self.df[(self.df["reference"].astype(str) != "") & (self.df["state"] == "COMPLETE")]

    def trial(self, number: int) -> FrozenTrial:
        """The full stored trial ``number`` (``trials`` holds slim copies)."""
        for t in self.trials:
            if t.number == number:
                try:
                    return self.study._storage.get_trial(t._trial_id)  # noqa: SLF001
                except Exception:  # noqa: BLE001
                    return t
        raise KeyError(number)


def load_study_data(name: str, storage: str | None = None, studies_dir: str | Path = STUDIES) -> StudyData:
    study, url = open_existing(name, storage, studies_dir)
    return study_data(study, url)


def study_data(study: optuna.Study, url: str) -> StudyData:
    """Everything the report shows of an opened study."""
    name = study.study_name
    objectives = objectives_of(study)
    df, trials = paged_frame((_with_feasible(p) for p in read_pages(study)), objectives, keep=slim)
    if not df.empty:
        order = np.argsort(df["number"].to_numpy(), kind="stable")
        df = df.iloc[order].reset_index(drop=True)
    trials.sort(key=lambda t: t.number)
    front = pareto_frame(df, objectives)
    return StudyData(name, url, study, objectives, trials, df, front, dict(study.user_attrs))


# ---------------------------------------------------------------------------------------- --list
@dataclass
class StudySummary:
    name: str
    url: str
    trials: int = 0
    complete: int = 0
    failed: int = 0
    feasible: int = 0
    front: int = 0
    front_designs: int = 0
    objectives: list[Objective] = field(default_factory=list)
    model: str = ""
    workload: str = ""
    sampler: str = ""
    budget: int | None = None
    updated: _dt.datetime | None = None
    error: str = ""


def summarise(study: optuna.Study, url: str) -> StudySummary:
    objectives = objectives_of(study)
    trials = [slim(t) for page in read_pages(study) for t in page]
    s = StudySummary(study.study_name, url, objectives=objectives)
    s.trials = len(trials)
    s.complete = sum(t.state == TrialState.COMPLETE for t in trials)
    s.failed = sum(t.state == TrialState.FAIL for t in trials)
    ok = [t for t in trials if t.state == TrialState.COMPLETE and t.values and _feasible(t)]
    s.feasible = len(ok)
    if ok:
        mask = front_mask(losses([t.values for t in ok], [o.direction for o in objectives]))
        front = [t for t, m in zip(ok, mask) if m]
        s.front = len(front)
        s.front_designs = len({repr(sorted((t.user_attrs.get("dims") or t.params).items())) for t in front})
    ua = study.user_attrs
    s.model = str(ua.get("model") or "")
    w = ua.get("workload")
    if isinstance(w, dict) and "prefill_len" in w:
        s.workload = f"{w['prefill_len']}:{w['decode_len']}"
    meta = ua.get(ATTR) if isinstance(ua.get(ATTR), dict) else {}
    run = meta.get("run") or {}
    s.sampler = str(run.get("sampler") or "")
    s.budget = run.get("trials")
    stamps = [t.datetime_complete or t.datetime_start for t in trials if (t.datetime_complete or t.datetime_start)]
    s.updated = max(stamps) if stamps else None
    return s


def list_studies(storage: str | None = None, studies_dir: str | Path = STUDIES) -> list[StudySummary]:
    """Every study of ``storage`` (a URL), or of every ``studies_dir/*.db`` file by default."""
    if storage:
        urls = [storage]
    else:
        urls = [f"{SQLITE}{p}" for p in sorted(Path(studies_dir).glob("*.db"))]
    out: list[StudySummary] = []
    for url in urls:
        shown = redact(url)
        try:
            check_intact(url, "read")
            st = open_storage(url)
            frozen = st.get_all_studies()
        except Exception as exc:  # noqa: BLE001 - not an Optuna storage: say so, go on
            why = redact(str(exc).splitlines()[0][:200]) if str(exc) else type(exc).__name__
            if storage:  # the one storage asked for cannot be read: an error, not an empty list
                raise StorageError(f"--list: cannot read {shown}: {why}") from None
            out.append(StudySummary(Path(url[len(SQLITE):]).stem if url.startswith(SQLITE) else url, shown,
                                    error=f"cannot read: {why[:120]}"))
            continue
        for fs in sorted(frozen, key=lambda s: s.study_name):
            try:
                out.append(summarise(optuna.load_study(study_name=fs.study_name, storage=st), shown))
            except Exception as exc:  # noqa: BLE001
                out.append(StudySummary(fs.study_name, shown,
                                        error=f"cannot read: {redact(str(exc).splitlines()[0][:120])}"))
    return sorted(out, key=lambda s: s.name)


def finite(values: np.ndarray | Sequence[float]) -> np.ndarray:
    """Rows whose every value is finite and not the search's non-finite stand-in (±1e30)."""
    arr = np.asarray(values, dtype=float)
    return np.all(np.isfinite(arr) & (np.abs(arr) < 1e29), axis=-1)


def attr_float(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")
