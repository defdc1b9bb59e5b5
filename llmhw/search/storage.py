"""Persistence of finished trials: storage URLs, batched durable writes, fast reads (issue 4).

The sampler runs on an in-memory study; each finished batch is written to the persistent study
**in one transaction**. Optuna's own RDB path (``Study.add_trials``, ``study.tell``) opens one
transaction per trial and one ORM round trip per attribute (25–50 ms of CPU per trial with the
attributes a design carries); :class:`RDBTrialStore` instead writes a batch with a few bulk
``INSERT`` statements into Optuna's own tables (the ``optuna.storages._rdb.models`` schema of the
installed Optuna), producing exactly the rows ``add_trials`` would (a test compares the two).
A SIGKILL during a write rolls the whole batch back: a batch is either fully stored or absent, and
nothing is ever left RUNNING by this writer.

Trial numbers follow Optuna's rule (number = count of earlier trials of the study): the first
INSERT takes SQLite's write lock (PostgreSQL: ``SELECT … FOR UPDATE`` on the study row, as Optuna
does), so the batch's ids and numbers are contiguous.

Other storages (journal files, in-memory) fall back to :class:`GenericTrialStore`
(``Study.add_trials``).
"""
from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any, Iterable, Sequence

import optuna
from optuna.distributions import distribution_to_json, json_to_distribution
from optuna.storages import BaseStorage, RDBStorage
from optuna.trial import FrozenTrial, TrialState

from llmhw.errors import UsageError

JOURNAL_PREFIX = "journal:"


def default_storage_url(study_name: str, studies_dir: str | Path = "studies") -> str:
    return f"sqlite:///{Path(studies_dir) / (study_name + '.db')}"


def open_storage(url: str) -> BaseStorage:
    """An Optuna storage for ``url``: any SQLAlchemy URL (sqlite:///…, postgresql://…) or
    ``journal:PATH`` for a JournalFileBackend log file."""
    if url.startswith(JOURNAL_PREFIX):
        from optuna.storages.journal import JournalFileBackend, JournalStorage
        path = url[len(JOURNAL_PREFIX):].removeprefix("//")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(path))
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs = {"connect_args": {"timeout": 60}}
    else:
        kwargs = {}
    try:
        return RDBStorage(url, engine_kwargs=kwargs)
    except (ImportError, ValueError) as exc:
        raise UsageError(f"--storage {url!r}: cannot open ({exc})") from None
    except Exception as exc:  # sqlalchemy ArgumentError, OperationalError, ...
        raise UsageError(f"--storage {url!r}: cannot open ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else exc})") from None


def _rdb(storage: BaseStorage) -> RDBStorage | None:
    if isinstance(storage, RDBStorage):
        return storage
    backend = getattr(storage, "_backend", None)  # optuna's _CachedStorage
    return backend if isinstance(backend, RDBStorage) else None


def trial_store(study: optuna.Study) -> "GenericTrialStore":
    rdb = _rdb(study._storage)  # noqa: SLF001
    if rdb is not None:
        return RDBTrialStore(study, rdb)
    return GenericTrialStore(study)


class GenericTrialStore:
    """Writes with ``Study.add_trials`` and reads with ``Study.get_trials`` (any storage)."""

    def __init__(self, study: optuna.Study):
        self.study = study

    def write(self, trials: Sequence[FrozenTrial]) -> None:
        self.study.add_trials(trials)

    def read(self) -> list[FrozenTrial]:
        return self.study.get_trials(deepcopy=False)

    def fail_unfinished(self) -> list[FrozenTrial]:
        """Mark RUNNING/WAITING trials FAIL (left by a killed run); returns them as they were."""
        out = []
        storage = self.study._storage  # noqa: SLF001
        for t in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING)):
            storage.set_trial_system_attr(t._trial_id, "llmhw:requeued", True)  # noqa: SLF001
            storage.set_trial_state_values(t._trial_id, TrialState.FAIL)  # noqa: SLF001
            out.append(t)
        return out


def _utc_naive(d: _dt.datetime | None) -> _dt.datetime | None:
    if d is None:
        return None
    return d.astimezone(_dt.timezone.utc).replace(tzinfo=None)


def _local_naive(d: _dt.datetime | None) -> _dt.datetime | None:
    if d is None:
        return None
    return d.replace(tzinfo=_dt.timezone.utc).astimezone().replace(tzinfo=None)


class RDBTrialStore(GenericTrialStore):
    """Bulk writes / reads on Optuna's RDB tables (SQLite, PostgreSQL, MySQL)."""

    def __init__(self, study: optuna.Study, rdb: RDBStorage):
        super().__init__(study)
        import sqlalchemy as sa
        from optuna.storages._rdb import models
        self.sa = sa
        self.models = models
        self.engine = rdb.engine
        self.study_id = study._study_id  # noqa: SLF001
        self.T = models.TrialModel.__table__
        self.V = models.TrialValueModel.__table__
        self.P = models.TrialParamModel.__table__
        self.U = models.TrialUserAttributeModel.__table__
        self.S = models.TrialSystemAttributeModel.__table__
        self.ST = models.StudyModel.__table__

    def write(self, trials: Sequence[FrozenTrial]) -> None:
        if not trials:
            return
        sa, T = self.sa, self.T
        VT = self.models.TrialValueModel.TrialValueType
        finite = VT.FINITE
        with self.engine.begin() as conn:
            if self.engine.name != "sqlite":
                conn.execute(sa.select(self.ST.c.study_id).where(self.ST.c.study_id == self.study_id)
                             .with_for_update())
            rows = [{"number": None, "study_id": self.study_id, "state": t.state,
                     "datetime_start": _utc_naive(t.datetime_start),
                     "datetime_complete": _utc_naive(t.datetime_complete)} for t in trials]
            ids = [r[0] for r in conn.execute(
                sa.insert(T).returning(T.c.trial_id, sort_by_parameter_order=True), rows)]
            before = conn.execute(sa.select(sa.func.count()).select_from(T).where(
                T.c.study_id == self.study_id, T.c.trial_id < ids[0])).scalar_one()
            conn.execute(sa.update(T).where(T.c.trial_id == sa.bindparam("tid")).values(
                number=sa.bindparam("num")),
                [{"tid": tid, "num": before + i} for i, tid in enumerate(ids)])
            values, params, uattrs, sattrs = [], [], [], []
            for tid, t in zip(ids, trials):
                for k, v in enumerate(t.values or ()):
                    stored, vtype = self.models.TrialValueModel.value_to_stored_repr(v)
                    values.append({"trial_id": tid, "objective": k, "value": stored,
                                   "value_type": vtype if vtype is not None else finite})
                for name, value in t.params.items():
                    dist = t.distributions[name]
                    params.append({"trial_id": tid, "param_name": name,
                                   "param_value": dist.to_internal_repr(value),
                                   "distribution_json": distribution_to_json(dist)})
                for key, value in t.user_attrs.items():
                    uattrs.append({"trial_id": tid, "key": key, "value_json": json.dumps(value)})
                for key, value in t.system_attrs.items():
                    sattrs.append({"trial_id": tid, "key": key, "value_json": json.dumps(value)})
            for table, batch in ((self.V, values), (self.P, params), (self.U, uattrs), (self.S, sattrs)):
                if batch:
                    conn.execute(sa.insert(table), batch)

    def read(self, with_user_attrs: bool = True) -> list[FrozenTrial]:
        sa, T = self.sa, self.T
        sid = self.study_id
        VT = self.models.TrialValueModel
        with self.engine.connect() as conn:
            trows = conn.execute(sa.select(T.c.trial_id, T.c.number, T.c.state, T.c.datetime_start,
                                           T.c.datetime_complete)
                                 .where(T.c.study_id == sid).order_by(T.c.trial_id)).all()
            in_study = sa.select(T.c.trial_id).where(T.c.study_id == sid)
            vals: dict[int, dict[int, float]] = {}
            for tid, obj, value, vtype in conn.execute(
                    sa.select(self.V.c.trial_id, self.V.c.objective, self.V.c.value, self.V.c.value_type)
                    .where(self.V.c.trial_id.in_(in_study))):
                vals.setdefault(tid, {})[obj] = VT.stored_repr_to_value(value, vtype)
            params: dict[int, dict[str, Any]] = {}
            dists: dict[int, dict[str, Any]] = {}
            dcache: dict[str, Any] = {}
            for tid, name, value, djson in conn.execute(
                    sa.select(self.P.c.trial_id, self.P.c.param_name, self.P.c.param_value,
                              self.P.c.distribution_json).where(self.P.c.trial_id.in_(in_study))):
                dist = dcache.get(djson)
                if dist is None:
                    dist = dcache[djson] = json_to_distribution(djson)
                params.setdefault(tid, {})[name] = dist.to_external_repr(value)
                dists.setdefault(tid, {})[name] = dist
            uattrs: dict[int, dict[str, Any]] = {}
            if with_user_attrs:
                for tid, key, vj in conn.execute(sa.select(self.U.c.trial_id, self.U.c.key, self.U.c.value_json)
                                                 .where(self.U.c.trial_id.in_(in_study))):
                    uattrs.setdefault(tid, {})[key] = json.loads(vj)
            sattrs: dict[int, dict[str, Any]] = {}
            for tid, key, vj in conn.execute(sa.select(self.S.c.trial_id, self.S.c.key, self.S.c.value_json)
                                             .where(self.S.c.trial_id.in_(in_study))):
                sattrs.setdefault(tid, {})[key] = json.loads(vj)
        out = []
        for tid, number, state, ds, dc in trows:
            v = vals.get(tid)
            values = [v[k] for k in sorted(v)] if v else None
            t = FrozenTrial(number=number, state=state, value=None, values=values,
                            datetime_start=_local_naive(ds), datetime_complete=_local_naive(dc),
                            params=params.get(tid, {}), distributions=dists.get(tid, {}),
                            user_attrs=uattrs.get(tid, {}), system_attrs=sattrs.get(tid, {}),
                            intermediate_values={}, trial_id=tid)
            out.append(t)
        return out


def count_complete(trials: Iterable[FrozenTrial]) -> int:
    return sum(1 for t in trials if t.state == TrialState.COMPLETE)
