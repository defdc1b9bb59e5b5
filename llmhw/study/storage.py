"""Persistence of finished trials: storage URLs, batched durable writes, fast reads (issue 4).

The sampler runs on an in-memory study; each finished batch is written to the persistent study
**in one transaction**. Optuna's own RDB path (``Study.add_trials``, ``study.tell``) opens one
transaction per trial and one ORM round trip per attribute (25–50 ms of CPU per trial with the
attributes a design carries); :class:`RDBTrialStore` instead writes a batch with a few bulk
``INSERT`` statements into Optuna's own tables (the ``optuna.storages._rdb.models`` schema of the
installed Optuna), producing exactly the rows ``add_trials`` would (a test compares the two).
A SIGKILL during a write rolls the whole batch back: a batch is either fully stored or absent, and
nothing is ever left RUNNING by this writer.

Trial numbers follow Optuna's rule (number = count of earlier trials of the study). Every batch
transaction first locks the study — PostgreSQL/MySQL: ``SELECT … FOR UPDATE`` on the study row, as
Optuna's own ``create_new_trial`` does; SQLite: a no-op ``UPDATE`` of the study row, which takes the
database write lock — so concurrent writers (several machines on one PostgreSQL study, issue 5)
are serialised: ids and numbers of a batch are contiguous and numbers unique. Under that lock the
batch is admitted against the budget (``write(..., budget=N)`` drops COMPLETE trials beyond N in
total, and a reference design already stored), so the processes together store exactly N.

On a server database (``shared``) the runner picks up the other processes' trials before each
batch (:meth:`RDBTrialStore.read_new`), and reference designs are claimed with PostgreSQL
session-level advisory locks (:meth:`RDBTrialStore.claim`) so only one live process evaluates each.

Journal files use :class:`llmhw.study.journal.JournalTrialStore` (bulk appends, same budget rule);
other storages (in-memory) fall back to :class:`GenericTrialStore` (``Study.add_trials``).
"""
from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import optuna
from optuna.distributions import distribution_to_json, json_to_distribution
from optuna.storages import BaseStorage, RDBStorage
from optuna.trial import FrozenTrial, TrialState

from llmhw.errors import StorageError, UsageError

from .urls import redact

JOURNAL_PREFIX = "journal:"
PAGE = 2000   # trials per page of a paged read (:meth:`RDBTrialStore.pages`)
REFERENCE_KEY = "reference"  # user attr naming an enqueued reference design (runner.REFERENCE_ATTR)


class StudyDeleted(StorageError):
    """The study was deleted from its storage while this process wrote to it."""

    def __init__(self, name: str):
        super().__init__(f"study {name!r} was deleted from its storage while this search ran (another "
                         "process or a --dashboard-writable removed it): its trials are gone and nothing more "
                         "was written; run the command again to start the study afresh")


def default_storage_url(study_name: str, studies_dir: str | Path = "studies") -> str:
    return f"sqlite:///{Path(studies_dir) / (study_name + '.db')}"


def normalize_url(url: str) -> str:
    """``postgresql://`` / ``postgres://`` → ``postgresql+psycopg://`` (psycopg 3 is the driver
    llmhw installs; SQLAlchemy's default for a bare postgresql:// is psycopg2)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def is_server_db(url: str) -> bool:
    """A database server several machines can share (not SQLite, not a journal file)."""
    return "://" in url and not url.startswith(("sqlite:", JOURNAL_PREFIX))


def sqlite_query_refusal(url: str) -> str:
    """Why a ``sqlite:///PATH?QUERY`` URL is refused (issue 15 item 8): its options (``mode=ro``,
    ``uri=true``, ...) would change how SQLAlchemy opens the file while the lock, the integrity check
    and the ``--jobs`` journal take ``PATH?QUERY`` as part of the file name."""
    return (f"'?{url.split('?', 1)[1]}' is not supported for SQLite: llmhw opens the file read-write itself "
            "and --report/--export/--list only read it; drop the query")


def open_storage(url: str) -> BaseStorage:
    """An Optuna storage for ``url``: any SQLAlchemy URL (sqlite:///…, postgresql://…) or
    ``journal:PATH`` for a JournalFileBackend log file."""
    url = normalize_url(url)
    if url.startswith("sqlite:") and "?" in url:
        raise UsageError(f"--storage {url}: has a query string ({sqlite_query_refusal(url)})")
    if url.startswith(JOURNAL_PREFIX):
        from .journal import journal_path, journal_storage
        return journal_storage(journal_path(url))
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
        raise UsageError(redact(f"--storage {url!r}: cannot open ({exc})")) from None
    except Exception as exc:  # sqlalchemy ArgumentError, OperationalError, ...
        raise UsageError(redact(f"--storage {url!r}: cannot open ({type(exc).__name__}: "
                                f"{str(exc).splitlines()[0] if str(exc) else exc})")) from None


def _rdb(storage: BaseStorage) -> RDBStorage | None:
    if isinstance(storage, RDBStorage):
        return storage
    backend = getattr(storage, "_backend", None)  # optuna's _CachedStorage
    return backend if isinstance(backend, RDBStorage) else None


def trial_store(study: optuna.Study) -> "GenericTrialStore":
    rdb = _rdb(study._storage)  # noqa: SLF001
    if rdb is not None:
        return RDBTrialStore(study, rdb)
    from .journal import JournalTrialStore, is_journal_file
    if is_journal_file(study._storage):  # noqa: SLF001
        return JournalTrialStore(study)  # type: ignore[return-value]
    return GenericTrialStore(study)


class GenericTrialStore:
    """Writes with ``Study.add_trials`` and reads with ``Study.get_trials`` (any storage)."""

    shared = False  # True: other processes may write the study concurrently (see read_new)

    def __init__(self, study: optuna.Study):
        self.study = study
        self.complete = 0

    def write(self, trials: Sequence[FrozenTrial], budget: int | None = None) -> list[FrozenTrial]:
        """Store ``trials``; with ``budget``, at most ``budget`` COMPLETE trials in total (surplus
        dropped, see :func:`llmhw.study.journal.admit`). Returns the stored ones."""
        from .journal import admit, stored_reference_names
        current = self.study.get_trials(deepcopy=False)
        kept, self.complete = admit(trials, count_complete(current), stored_reference_names(current),
                                    budget)
        self.study.add_trials(kept)
        return kept

    def read(self) -> list[FrozenTrial]:
        trials = self.study.get_trials(deepcopy=False)
        self.complete = count_complete(trials)
        return trials

    def pages(self, size: int = PAGE) -> Iterator[list[FrozenTrial]]:
        """Every trial, oldest first, a page at a time (here: one page)."""
        yield self.read()

    def fail_unfinished(self) -> list[FrozenTrial]:
        """Mark RUNNING/WAITING trials FAIL (left by a killed run); returns them as they were."""
        out = []
        storage = self.study._storage  # noqa: SLF001
        for t in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING)):
            try:
                storage.set_trial_system_attr(t._trial_id, "llmhw:requeued", True)  # noqa: SLF001
                storage.set_trial_state_values(t._trial_id, TrialState.FAIL)  # noqa: SLF001
            except optuna.exceptions.UpdateFinishedTrialError:
                continue  # another process failed it first (and re-queues it)
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
        self.shared = self.engine.name != "sqlite"
        self._max_seen = 0             # highest trial_id returned by read/read_new
        self._own: set[int] = set()    # trial_ids written by this store
        self._claim_conn: Any = None

    def _lock_study(self, conn: Any) -> None:
        """Serialise writers of this study until the transaction ends (see the module doc). A study
        deleted since it was opened (another process, a writable dashboard) raises
        :class:`StudyDeleted` once the trials left behind are removed: Optuna's ``delete_study``
        reads the trials it deletes before it takes the write lock, so a batch stored in between
        stays behind, orphaned (the study's id is free, no other study owns them)."""
        sa, ST = self.sa, self.ST
        if self.engine.name == "sqlite":
            found = conn.execute(sa.update(ST).where(ST.c.study_id == self.study_id)
                                 .values(study_name=ST.c.study_name)).rowcount
        else:
            found = conn.execute(sa.select(ST.c.study_id).where(ST.c.study_id == self.study_id)
                                 .with_for_update()).first() is not None
        if not found:
            self._drop_orphans(conn)
            conn.commit()
            raise StudyDeleted(self.study.study_name)

    def _drop_orphans(self, conn: Any) -> None:
        sa, T = self.sa, self.T
        mine = sa.select(T.c.trial_id).where(T.c.study_id == self.study_id)
        for model in (self.models.TrialIntermediateValueModel, self.models.TrialHeartbeatModel):
            table = model.__table__
            conn.execute(sa.delete(table).where(table.c.trial_id.in_(mine)))
        for table in (self.V, self.P, self.U, self.S):
            conn.execute(sa.delete(table).where(table.c.trial_id.in_(mine)))
        conn.execute(sa.delete(T).where(T.c.study_id == self.study_id))

    def _admit(self, conn: Any, trials: Sequence[FrozenTrial], budget: int | None) -> list[FrozenTrial]:
        from .journal import admit
        sa, T, U = self.sa, self.T, self.U
        complete = conn.execute(sa.select(sa.func.count()).select_from(T).where(
            T.c.study_id == self.study_id, T.c.state == TrialState.COMPLETE)).scalar_one()
        refs: set = set()
        if any(REFERENCE_KEY in t.user_attrs for t in trials):
            refs = {json.loads(v) for (v,) in conn.execute(
                sa.select(U.c.value_json).join(T, T.c.trial_id == U.c.trial_id).where(
                    T.c.study_id == self.study_id, T.c.state == TrialState.COMPLETE,
                    U.c.key == REFERENCE_KEY))}
        kept, self.complete = admit(trials, complete, refs, budget, REFERENCE_KEY)
        return kept

    def write(self, trials: Sequence[FrozenTrial], budget: int | None = None) -> list[FrozenTrial]:
        """Store ``trials`` in one transaction; with ``budget``, at most ``budget`` COMPLETE
        trials in the study in total (checked under the study lock). Returns the stored ones."""
        if not trials:
            return []
        sa, T = self.sa, self.T
        VT = self.models.TrialValueModel.TrialValueType
        finite = VT.FINITE
        with self.engine.begin() as conn:
            self._lock_study(conn)
            trials = self._admit(conn, trials, budget)
            if not trials:
                return []
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
        self._own.update(ids)
        return list(trials)

    def read_new(self) -> list[FrozenTrial]:
        """Trials stored by other writers since the last read/read_new (oldest first); also
        refreshes ``complete`` (the study's COMPLETE count)."""
        new = [t for t in self.read(after_id=self._max_seen) if t._trial_id not in self._own]  # noqa: SLF001
        sa, T = self.sa, self.T
        with self.engine.connect() as conn:
            self.complete = conn.execute(sa.select(sa.func.count()).select_from(T).where(
                T.c.study_id == self.study_id, T.c.state == TrialState.COMPLETE)).scalar_one()
        return new

    def claim(self, names: Sequence[str]) -> set[str]:
        """Reference designs this process may evaluate: not stored yet and, on PostgreSQL, not
        claimed by another live process (a session-level advisory lock per design, held until this
        process exits; a killed process's claims vanish with its connection)."""
        import hashlib
        if not names:
            return set()
        got = set(names)
        if self.engine.name == "postgresql":
            if self._claim_conn is None:
                self._claim_conn = self.engine.connect()
            got = set()
            for name in names:
                h = int.from_bytes(hashlib.sha1(f"llmhw:{self.study_id}:{name}".encode()).digest()[:8],
                                   "big", signed=True)
                if self._claim_conn.execute(self.sa.text("SELECT pg_try_advisory_lock(:k)"),
                                            {"k": h}).scalar():
                    got.add(name)
            self._claim_conn.commit()
        if got:
            sa, T, U = self.sa, self.T, self.U
            with self.engine.connect() as conn:
                stored = {json.loads(v) for (v,) in conn.execute(
                    sa.select(U.c.value_json).join(T, T.c.trial_id == U.c.trial_id).where(
                        T.c.study_id == self.study_id, T.c.state == TrialState.COMPLETE,
                        U.c.key == REFERENCE_KEY))}
            got -= stored
        return got

    def pages(self, size: int = PAGE) -> Iterator[list[FrozenTrial]]:
        """Every trial, oldest first, ``size`` at a time: a caller that keeps only what it needs of
        each page (a frame's rows, slim trials) holds one page of full trials at most (issue 15 item 17)."""
        last = 0
        while True:
            page = self.read(after_id=last, limit=size)
            if not page:
                return
            last = page[-1]._trial_id  # noqa: SLF001
            yield page

    def read(self, with_user_attrs: bool = True, after_id: int | None = None,
             limit: int | None = None) -> list[FrozenTrial]:
        sa, T = self.sa, self.T
        sid = self.study_id
        VT = self.models.TrialValueModel
        cond = [T.c.study_id == sid] + ([T.c.trial_id > after_id] if after_id is not None else [])
        with self.engine.connect() as conn:
            query = sa.select(T.c.trial_id, T.c.number, T.c.state, T.c.datetime_start,
                              T.c.datetime_complete).where(*cond).order_by(T.c.trial_id)
            trows = conn.execute(query.limit(limit) if limit else query).all()
            if not trows:
                if after_id is None:
                    self.complete = 0
                return []
            cond.append(T.c.trial_id <= trows[-1][0])
            in_study = sa.select(T.c.trial_id).where(*cond)
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
        self._max_seen = max(self._max_seen, trows[-1][0])
        if after_id is None:
            self.complete = count_complete(out)
        return out


def count_complete(trials: Iterable[FrozenTrial]) -> int:
    return sum(1 for t in trials if t.state == TrialState.COMPLETE)
