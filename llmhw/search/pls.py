"""Pareto local search sampler: ``--sampler pls``, and what ``auto`` resolves to beyond
``samplers.PLS_WARMUP`` trials.

A general-purpose multi-objective sampler for mixed ordinal / categorical / continuous spaces,
written for budgets of a few hundred to a few thousand trials, where NSGA-II has not converged yet
and TPE has become slow. It knows nothing about the problem beyond the distributions, plus three
optional hooks a search space can provide: ``key`` (params → the identity of the point they decode
to, so that two param dicts that are the same design are not both evaluated), ``normalise``
(params → the canonical params of that point, so that a local move starts from the representative
the encoding intends rather than from an arbitrary clipped alias) and ``values`` (for index-encoded
ordinal dimensions, the concrete values, whose logarithms place them on the mutation scale).

How it samples, per trial:

1. **Warm-up**: the first ``n_startup_trials`` trials come from ``startup_sampler`` (default: a
   multivariate TPE with ``constant_liar``), which finds promising regions quickly.
2. **Archive**: every finished trial updates an elitist archive of the feasible non-dominated
   trials (feasibility from the trials' constraints; while nothing is feasible, the
   least-violating trials serve as parents).
3. **Neighbourhood moves** (probability ``p_neighbour``): an archive member is chosen by a
   tournament of ``tournament`` members on crowding distance (NSGA-II's, on the objective values:
   the extremes of the front win; ties go to the member with fewer proposals), and its next unexplored *neighbour* is
   proposed: one dimension moved one step (ordinal; with ``wide`` also to the grid values nearest
   ±``sigma`` on the position scale, e.g. a halving/doubling on a log-scaled list), to another
   choice (categorical) or by ±σ/2 (continuous). A member's neighbours are queued once, ordered by
   a surrogate (below) so that the most promising are tried first; a member whose neighbourhood is
   exhausted is not chosen again. This is Pareto local search.
4. **Near-feasible moves** (probability ``p_near``): the neighbours of *infeasible* trials whose
   objectives no feasible archive member dominates (least violation first) — one step may repair a
   design that would extend the front, crossing a constraint boundary that separates two feasible
   regions.
5. **Tolerance moves** (probability ``p_tolerance``, and half the time once every archive
   neighbourhood is exhausted): the neighbours of feasible trials that the archive dominates by at most
   ``tolerance`` (the additive ε-indicator on the log scale of positive objectives: 0.02 ≈ 2% in
   every objective; members dominated out of the archive keep their unexplored neighbours here),
   the member closest to the front first.
   Parts of a front are often joined only through such a design: on the speed grid, front designs
   at the next batch size need the batch *and* the prefill split moved together, and the design
   with only one of them moved is 0.5–5% off the front (``docs/search-quality.md``). Pure Pareto
   local search never expands a dominated design, so it reaches those parts only by a lucky
   two-dimension mutation: the seeds that fall behind are the ones that did not get it.
6. **Variation** (otherwise, or when every neighbourhood is exhausted): uniform crossover of two
   archive members (probability ``p_crossover``) and mutation of each dimension with probability
   1/d (at least one): ordinal values move by a Gaussian step of ``sigma`` on the position scale
   (or anywhere with probability ``p_global``), categorical ones change at random. With
   probability ``p_explore`` a uniformly random point is proposed instead.
7. **Stall-driven exploration** (``adaptive``, on by default since 2026-11-28): every proposal after the warm-up is
   tagged with its operator (trial system attr ``pls:op``: neighbour, near, tolerance, explore) and
   credited when the trial enters the archive. Exploration (step 6) is then chosen first, with a
   share that stays at ``explore_floor`` while local moves pay and rises to ``explore_cap`` as they
   stall (1 - the success rate of the last ``explore_window`` local moves / the best such rate so
   far), or more if exploration itself pays (probability matching on the two arms); once a whole
   window of exploration proposals has not paid either, the stall term is dropped and the budget goes
   back to the walk (late in a long run, where only the walk still finds front designs). The statistics
   are rebuilt from the tags, so a resumed or multi-process study continues with them. Measured in
   ``docs/search-quality.md`` §6: it lifts the worst of 10 seeds at 1,000 trials on every case.
8. **Second ring** (``second_ring``, 0.5 by default since 2026-11-29; measured in
   ``docs/search-quality.md`` §17.4 and §18.5): once every archive member's one-move neighbourhood is
   exhausted (late in a long run), that share of the neighbour proposals goes to the members'
   *two-move* neighbours (every pair of one-moves in two different dimensions, ordered by the
   surrogate, the member chosen by the same tournament; tag ``ring2``); the rest falls back to
   tolerance moves and variation as before. The runs are the same up to the first exhaustion, so the
   front at 1,000 trials does not change. Over 90 runs of six held-back cases at 5,000 trials it raised
   the median share of the true front's designs found from 94% to 96% and the runs at ≥ 95% from 38
   to 55 (better on 55 runs, worse on 16); one run fell to 45% (without the ring two fell to 50%).
9. **A local model orders the walk** (``local_surrogate``, the kernel width h = 0.2 by default since
   2026-11-29; measured in ``docs/search-quality.md`` §20.4 and §21): until the walk's first exhaustion
   (item 8), a member's queue is ordered by a linear model of the log-objectives fitted around that member
   (locally weighted least squares on the base features, each feasible trial weighted by
   exp(-d²/2h²) of its distance d to the member) rather than by the global ridge, which averages over the
   whole space and mispredicts the moves that matter at a front's ends (e.g. the pipeline size at a large
   batch). After the exhaustion, and for feasibility always, the global ridge orders, as before (the
   trials proposed after it carry ``pls:late``, so a resumed study switches too). ``0`` turns it off.
10. **Settled dimensions** (``settled``, given by the runner when the mapping sweep runs,
   :mod:`llmhw.search.sweep`): the walk's one- and two-move neighbourhoods move only the other dimensions.
   The sweep gives every hardware the run reaches its best mappings at once, so a walk along the batch or
   the mapping of an archive member could only find designs the sweep has already found or ruled out; the
   walk's budget goes to the hardware and system instead (crossover, mutation and exploration still move
   every dimension). Measured in ``docs/search-quality.md`` §22.
11. **No duplicates** after the warm-up: a proposal whose key was already evaluated (or proposed
   in this batch) is redrawn, so every trial evaluates a new design (until a tiny space is
   exhausted).

The surrogate is a ridge regression on pairwise-interaction features of the positions, fitted to
the log of the (positive) objectives of the feasible trials and to a ±1 feasibility label of all
trials, kept as incremental normal equations (and, until the first exhaustion, the local model of
item 9 for the objectives). It only *orders* a member's neighbours, by how far outside the archive's
attained set they are predicted to land (predicted-infeasible ones last); every neighbour is still
eventually tried.

State is rebuilt from the study's trials (incrementally), so a resumed or multi-process study
continues where it was; with a seed, a single-process run is reproducible. Cost (gpt3 on the speed
grid, ask + tell, CPU, with the mapping sweep and its settled dimensions): about 5 ms per trial over a
1,000-trial run and 3 ms over 5,000, the TPE warm-up included (``docs/search-quality.md`` §22.6).
"""
from __future__ import annotations

import math
from collections import deque
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import optuna
from optuna.distributions import (BaseDistribution, CategoricalDistribution, IntDistribution)
from optuna.samplers import BaseSampler, RandomSampler, TPESampler
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from .pareto import covered

_FINISHED = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)
_MAX_GRID = 4096          # larger int/stepped ranges are treated as continuous
_MAX_QUAD_FEATURES = 30   # above this many base features the surrogate drops the pairwise terms
_INFEASIBLE_POOL = 20
_TOLERANCE_POOL = 200
_OP_ATTR = "pls:op"       # trial system attr: the operator that proposed the trial
_LATE_ATTR = "pls:late"   # trial system attr: proposed after the walk's first exhaustion
# adaptive allocation: the prior success rate of each arm (as if ``_ARM_PRIOR_N`` outcomes were seen),
# so that right after the warm-up exploration gets about what the fixed-rate sampler gives it (~8%)
_ARM_PRIOR = {"local": 0.2, "explore": 0.02}
_ARM_PRIOR_N = 10


class _Coord:
    """One dimension as an ordered grid (``ord``), an unordered set (``cat``) or an interval
    (``cont``). The internal value is the grid index (ord, cat) or the position in [0, 1] (cont);
    ``pos`` places the grid of an ordinal dimension on [0, 1] (log scale when its concrete values
    are given, positive and spread over more than a factor of two; linear otherwise)."""

    def __init__(self, dist: BaseDistribution, values: Sequence | None = None):
        self.dist = dist
        self.grid: list | None = None
        self.pos: np.ndarray | None = None
        self.log = False
        if isinstance(dist, CategoricalDistribution):
            self.kind = "cat"
            self.grid = list(dist.choices)
            self._index = {}
            for i, c in enumerate(self.grid):
                try:
                    self._index.setdefault((type(c), c), i)
                except TypeError:  # unhashable choice
                    pass
            return
        step = getattr(dist, "step", None)
        n = int(round((dist.high - dist.low) / step)) + 1 if step is not None and not dist.log else None
        if n is not None and n <= _MAX_GRID:
            self.kind = "ord"
            if isinstance(dist, IntDistribution):
                self.grid = [dist.low + i * step for i in range(n)]
            else:
                self.grid = [min(dist.high, dist.low + i * step) for i in range(n)]
            self._arr = np.asarray(self.grid, dtype=float)
            x = self._arr
            if values is not None and len(values) == n:
                try:
                    v = np.asarray(values, dtype=float)
                except (TypeError, ValueError):
                    v = None
                if v is not None and np.all(np.isfinite(v)) and np.all(v > 0) \
                        and np.all(np.diff(v) > 0) and v[-1] / v[0] > 2:
                    x = np.log(v)
            span = x[-1] - x[0] if n > 1 else 0.0
            self.pos = (x - x[0]) / span if span > 0 else np.zeros(n)
            return
        self.kind = "cont"
        self.log = bool(dist.log)

    def to_internal(self, v: Any) -> float:
        if self.kind == "cat":
            try:
                i = self._index.get((type(v), v))
            except TypeError:
                i = None
            return float(i if i is not None else self.grid.index(v))
        if self.kind == "ord":
            return float(np.argmin(np.abs(self._arr - float(v))))
        lo, hi = self.dist.low, self.dist.high
        if hi <= lo:
            return 0.0
        if self.log:
            return (math.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo))
        return (v - lo) / (hi - lo)

    def to_param(self, u: float) -> Any:
        if self.kind != "cont":
            return self.grid[int(u)]
        d = self.dist
        u = min(1.0, max(0.0, float(u)))
        x = math.exp(math.log(d.low) + u * (math.log(d.high) - math.log(d.low))) if self.log \
            else d.low + u * (d.high - d.low)
        step = getattr(d, "step", None)
        if isinstance(d, IntDistribution):
            x = d.low + round((x - d.low) / (step or 1)) * (step or 1)
            return int(min(d.high, max(d.low, x)))
        if step is not None:
            x = d.low + round((x - d.low) / step) * step
        return float(min(d.high, max(d.low, x)))

    def feature(self, u: np.ndarray) -> list[np.ndarray]:
        if self.kind == "cat":
            return [(u == k).astype(float) for k in range(1, len(self.grid))]
        if self.kind == "ord":
            return [self.pos[u.astype(int)]]
        return [u]

    def n_features(self) -> int:
        return len(self.grid) - 1 if self.kind == "cat" else 1

    def random(self, rng: np.random.RandomState) -> float:
        return float(rng.uniform()) if self.kind == "cont" else float(rng.randint(len(self.grid)))

    def mutate(self, u: float, rng: np.random.RandomState, sigma: float, p_global: float) -> float:
        if self.kind == "cont":
            if rng.uniform() < p_global:
                return float(rng.uniform())
            return float(min(1.0, max(0.0, u + rng.normal(0.0, sigma))))
        n = len(self.grid)
        if n < 2:
            return u
        i = int(u)
        if self.kind == "cat" or rng.uniform() < p_global:
            j = rng.randint(n - 1)
            return float(j + (j >= i))
        j = int(np.argmin(np.abs(self.pos - (self.pos[i] + rng.normal(0.0, sigma)))))
        if j == i:  # always move
            j = i + (1 if rng.uniform() < 0.5 else -1)
            if not 0 <= j < n:
                j = 2 * i - j
        return float(j)

    def neighbours(self, u: float, sigma: float, wide: bool = False) -> list[float]:
        if self.kind == "ord":
            i, n = int(u), len(self.grid)
            out = [j for j in (i - 1, i + 1) if 0 <= j < n]
            if wide:
                for t in (self.pos[i] - sigma, self.pos[i] + sigma):
                    j = int(np.argmin(np.abs(self.pos - t)))
                    if j != i and j not in out:
                        out.append(j)
            return [float(j) for j in out]
        if self.kind == "cat":
            return [float(j) for j in range(len(self.grid)) if j != int(u)]
        return [x for x in (max(0.0, u - sigma / 2), min(1.0, u + sigma / 2)) if x != u]


class _Surrogate:
    """Ridge regression on [1, x, x_i·x_j] of the base features x (positions, one-hot choices):
    log-objectives (feasible trials) and a ±1 feasibility label (all trials), as normal equations
    updated one trial at a time."""

    def __init__(self, coords: list[_Coord], n_obj: int, lam: float = 0.1):
        self.coords = coords
        nb = self.nb = sum(c.n_features() for c in coords)
        self.iu = np.triu_indices(nb) if nb <= _MAX_QUAD_FEATURES else None
        nf = 1 + nb + (len(self.iu[0]) if self.iu is not None else nb)
        self.lam = lam
        self.a_all, self.b_all = np.zeros((nf, nf)), np.zeros(nf)
        self.a_feas, self.b_feas = np.zeros((nf, nf)), np.zeros((nf, n_obj))
        self.rows: list[tuple[np.ndarray, np.ndarray]] = []   # feasible (features, raw values)
        self.base_rows: list[np.ndarray] = []                 # feasible base features (``phi``'s x)
        self.logok = np.ones(n_obj, dtype=bool)
        self.n_feasible = 0
        self._w = self._wc = None

    def base(self, U: np.ndarray) -> np.ndarray:
        """The base features x of each row of ``U``: positions, one-hot choices."""
        cols = [f for i, c in enumerate(self.coords) for f in c.feature(U[:, i])]
        return np.column_stack(cols) if cols else np.zeros((len(U), 0))

    def phi(self, U: np.ndarray) -> np.ndarray:
        B = self.base(U)
        sq = (B[:, :, None] * B[:, None, :])[:, self.iu[0], self.iu[1]] if self.iu is not None else B * B
        return np.hstack([np.ones((len(B), 1)), B, sq])

    def transform(self, values: np.ndarray) -> np.ndarray:
        v = np.asarray(values, dtype=float)
        return np.where(self.logok, np.log(np.where(self.logok, np.maximum(np.abs(v), 1e-300), 1.0)), v)

    def add(self, u: np.ndarray, feasible: bool, values: Sequence[float]) -> None:
        f = self.phi(u[None, :])[0]
        ff = np.outer(f, f)
        self.a_all += ff
        self.b_all += f if feasible else -f
        if feasible:
            v = np.asarray(values, dtype=float)
            if np.any(self.logok & (v <= 0)):   # an objective that is not positive: model it raw
                self.logok &= v > 0
                self.b_feas[:] = 0.0
                for f2, v2 in self.rows:
                    self.b_feas += np.outer(f2, self.transform(v2))
            self.rows.append((f, v))
            self.base_rows.append(f[1:1 + self.nb])
            self.a_feas += ff
            self.b_feas += np.outer(f, self.transform(v))
            self.n_feasible += 1
        self._w = None

    def predict(self, U: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(feasibility score > 0 = predicted feasible, transformed objective values)."""
        if self._w is None:
            reg = self.lam * np.eye(len(self.b_all))
            reg[0, 0] = 1e-9
            self._wc = np.linalg.solve(self.a_all + reg, self.b_all)
            self._w = np.linalg.solve(self.a_feas + reg, self.b_feas)
        P = self.phi(U)
        return P @ self._wc, P @ self._w

    def predict_local(self, u0: np.ndarray, U: np.ndarray, h: float) -> np.ndarray:
        """Transformed objective values of ``U`` from a linear model in the base features fitted around
        ``u0``: locally weighted least squares (Cleveland 1979), every feasible trial weighted by the
        Gaussian kernel exp(-|x - x0|² / 2h²) of its distance to ``u0`` in the base features, the
        slopes ridge-penalised by ``lam`` like the global model's coefficients."""
        X0 = np.array(self.base_rows)
        x0 = self.base(u0[None, :])[0]
        w = np.exp(-((X0 - x0) ** 2).sum(axis=1) / (2.0 * h * h))
        X = np.column_stack([np.ones(len(X0)), X0 - x0])
        Y = self.transform(np.array([v for _, v in self.rows]))
        reg = self.lam * np.eye(X.shape[1])
        reg[0, 0] = 1e-9
        coef = np.linalg.solve(X.T @ (w[:, None] * X) + reg, X.T @ (w[:, None] * Y))
        return np.column_stack([np.ones(len(U)), self.base(U) - x0]) @ coef


class ParetoLocalSearchSampler(BaseSampler):
    """See the module docstring. ``search_space``: the distributions to sample relatively (the
    runner's full space); without it the intersection search space of the finished trials."""

    def __init__(self, *, seed: int | None = None, search_space: Mapping[str, BaseDistribution] | None = None,
                 key: Callable[[dict], Any] | None = None,
                 normalise: Callable[[dict], dict] | None = None,
                 values: Mapping[str, Sequence] | None = None,
                 n_startup_trials: int = 150, startup_sampler: BaseSampler | None = None,
                 p_neighbour: float = 0.9, p_near: float = 0.1, wide: bool = True,
                 tournament: int = 3, p_crossover: float = 0.5, p_explore: float = 0.05,
                 sigma: float = 0.15, p_global: float = 0.1, surrogate: bool = True,
                 min_surrogate_trials: int = 30, max_tries: int = 50,
                 tolerance: float = 0.02, p_tolerance: float = 0.1,
                 adaptive: bool = True, explore_floor: float = 0.05, explore_cap: float = 0.5,
                 explore_window: int = 50, second_ring: float = 0.5, local_surrogate: float = 0.2,
                 settled: Sequence[str] = ()):
        self._space = dict(search_space) if search_space is not None else None
        self._isp: optuna.search_space.IntersectionSearchSpace | None = None
        self._key_fn, self._normalise, self._values = key, normalise, dict(values or {})
        self.n_startup = int(n_startup_trials)
        self._startup = startup_sampler if startup_sampler is not None else TPESampler(
            seed=seed, multivariate=True, constant_liar=True, n_startup_trials=20)
        self.p_neighbour, self.p_crossover, self.p_explore = p_neighbour, p_crossover, p_explore
        self.p_near, self.wide, self.tournament = p_near, wide, max(1, int(tournament))
        self.sigma, self.p_global = sigma, p_global
        self.use_surrogate, self.min_surrogate = surrogate, min_surrogate_trials
        self.max_tries = max_tries
        self.tolerance, self.p_tolerance = float(tolerance), float(p_tolerance)
        self.adaptive, self.explore_floor, self.explore_cap = bool(adaptive), float(explore_floor), float(explore_cap)
        self.explore_window = max(1, int(explore_window))
        self.second_ring = float(second_ring)
        self.local_surrogate = float(local_surrogate)
        self.settled = frozenset(settled)
        self._rng = np.random.RandomState(seed)
        self._random = RandomSampler(seed=seed)
        self._reset(None)

    # ------------------------------------------------------------------ state
    def _reset(self, study_id: int | None) -> None:
        self._study_id = study_id
        self._names: list[str] = []
        self._coords: list[_Coord] = []
        self._walked: list[int] = []        # the dimensions the walk moves (all but ``settled``)
        self._done_upto = 0                 # every trial below this index has been processed
        self._processed: set[int] = set()   # processed trial numbers >= _done_upto
        self._seen: set = set()             # keys evaluated or proposed
        self._arch: list[dict] = []         # {"loss", "u", "children", "crowd", "nb"}
        self._arch_loss = np.zeros((0, 0))  # the members' losses as one matrix (row i = _arch[i])
        self._infeasible: list[tuple[float, np.ndarray]] = []
        self._near: list[dict] = []
        self._tol: list[dict] = []         # feasible, dominated, within ``tolerance`` of the archive
        self._logok: np.ndarray | None = None
        self._signs: np.ndarray | None = None
        self._n_complete = 0
        self._sur: _Surrogate | None = None
        # adaptive allocation: per arm (local / explore) the last outcomes (1 = entered the archive);
        # per operator [proposals credited, archive entries] (rebuilt from the trials' _OP_ATTR)
        self._arm_hist: dict[str, deque] = {a: deque(maxlen=self.explore_window) for a in _ARM_PRIOR}
        self._local_peak = 0.0   # the best success rate of a full window of local moves so far
        self.op_stats: dict[str, list[int]] = {}
        self._exhausted = False   # the walk's one-move neighbourhoods have all been spent once (_LATE_ATTR)

    def reseed_rng(self) -> None:
        self._rng.seed()
        self._random.reseed_rng()
        self._startup.reseed_rng()

    def _key(self, params: dict) -> Any:
        if self._key_fn is not None:
            try:
                return self._key_fn(params)
            except Exception:  # noqa: BLE001 - fall back to the params themselves
                pass
        try:
            return tuple(sorted(params.items()))
        except TypeError:
            return repr(sorted(params.items(), key=lambda kv: kv[0]))

    def _update(self, study: optuna.Study, space: Mapping[str, BaseDistribution]) -> None:
        """Fold the trials finished since the last call into the archive and the surrogate."""
        if self._study_id != study._study_id or list(space) != self._names:  # noqa: SLF001
            self._reset(study._study_id)  # noqa: SLF001
            self._names = list(space)
            self._coords = [_Coord(d, self._values.get(n)) for n, d in space.items()]
            self._walked = [i for i, n in enumerate(self._names) if n not in self.settled] or list(range(len(self._names)))
            self._signs = np.array([1.0 if d == StudyDirection.MINIMIZE else -1.0 for d in study.directions])
        trials = study._get_trials(deepcopy=False, use_cache=True)  # noqa: SLF001
        for t in trials[self._done_upto:]:
            if t.state in _FINISHED and t.number not in self._processed:
                self._processed.add(t.number)
                self._add(t)
        while self._done_upto in self._processed:
            self._processed.discard(self._done_upto)
            self._done_upto += 1

    def _add(self, t: FrozenTrial) -> None:
        if t.params:
            self._seen.add(self._key(t.params))
        op = t.system_attrs.get(_OP_ATTR)
        if t.system_attrs.get(_LATE_ATTR):
            self._exhausted = True
        entered = self._add_complete(t) if t.state == TrialState.COMPLETE and t.values is not None else False
        if op is not None:
            self._credit(op, entered)

    def _credit(self, op: str, entered: bool) -> None:
        """One outcome of an operator: did its proposal enter the archive?"""
        st = self.op_stats.setdefault(op, [0, 0])
        st[0] += 1
        st[1] += int(entered)
        h = self._arm_hist["explore" if op == "explore" else "local"]
        h.append(int(entered))
        if op != "explore" and len(h) == h.maxlen:
            self._local_peak = max(self._local_peak, sum(h) / len(h))

    def _p_explore(self) -> float:
        """The share of proposals that go to exploration: ``explore_floor`` while local moves pay,
        rising to ``explore_cap`` as they stall (the stall: 1 - the success rate of the last
        ``explore_window`` local moves / the best such rate so far; success = the proposal entered
        the archive), and at least what probability matching on the two arms' recent success rates
        (with a prior) gives, so exploration that pays keeps its budget."""
        hl = self._arm_hist["local"]
        stall = 1.0 - min(1.0, sum(hl) / len(hl) / self._local_peak) \
            if len(hl) == hl.maxlen and self._local_peak > 0 else 0.0
        he = self._arm_hist["explore"]
        if len(he) == he.maxlen and not sum(he):
            stall = 0.0   # exploration has stopped paying too: the budget goes back to the walk
        q = {a: (sum(h) + _ARM_PRIOR[a] * _ARM_PRIOR_N) / (len(h) + _ARM_PRIOR_N) for a, h in self._arm_hist.items()}
        match = q["explore"] / (q["explore"] + q["local"])
        f = self.explore_floor
        return min(self.explore_cap, max(f + (self.explore_cap - f) * stall, match))

    def _add_complete(self, t: FrozenTrial) -> bool:
        """Fold a COMPLETE trial into the surrogate and the archives; True if it entered the archive."""
        self._n_complete += 1
        params = t.params
        if self._normalise is not None:
            try:
                params = self._normalise(params)
            except Exception:  # noqa: BLE001
                params = t.params
        try:
            u = np.array([c.to_internal(params[n]) for n, c in zip(self._names, self._coords)])
        except (KeyError, ValueError, TypeError):
            return False  # a trial from another space (missing or foreign param values)
        violation = sum(max(0.0, v) for v in t.constraints.values())
        feasible = violation <= 0
        if self.use_surrogate:
            if self._sur is None:
                self._sur = _Surrogate(self._coords, len(t.values))
            self._sur.add(u, feasible, t.values)
        if not feasible:
            if self.p_near and self._arch:
                loss = np.asarray(t.values, dtype=float) * self._signs
                if not (self._arch_loss <= loss).all(axis=1).any():
                    self._near.append({"loss": loss, "u": u, "children": 0, "nb": None, "viol": violation})
                    if len(self._near) > 2 * _INFEASIBLE_POOL:
                        self._near.sort(key=lambda a: a["viol"])
                        del self._near[_INFEASIBLE_POOL:]
            if not self._arch:
                self._infeasible.append((violation, u))
                self._infeasible.sort(key=lambda x: x[0])
                del self._infeasible[_INFEASIBLE_POOL:]
            return False
        loss = np.asarray(t.values, dtype=float) * self._signs
        member = {"loss": loss, "u": u, "children": 0, "nb": None}
        A = self._arch_loss
        if len(A):
            weak = (A <= loss).all(axis=1)
            if weak.any():
                if (A[weak] < loss).any(axis=1).any() or any(np.array_equal(a["u"], u) for a, w
                                                               in zip(self._arch, weak) if w):
                    self._tolerate(member)  # dominated by (or equal to) an archive member
                    return False
            gone = (loss <= A).all(axis=1) & (loss < A).any(axis=1)
        else:
            gone = np.zeros(0, dtype=bool)
        keep = [a for a, g in zip(self._arch, gone) if not g]
        dropped = [a for a, g in zip(self._arch, gone) if g]
        keep.append(member)
        self._arch = keep
        self._arch_loss = np.vstack([A[~gone], loss[None, :]]) if len(A) else loss[None, :].copy()
        self._infeasible = []
        self._crowding()
        for a in dropped:   # a member just dominated keeps its unexplored neighbours if it is close
            self._tolerate(a)
        return True

    # ------------------------------------------------------------------ tolerance
    def _gap(self, loss: np.ndarray) -> float:
        """How much ``loss`` must improve, in every objective at once, to be dominated by no archive
        member (the additive ε-indicator on the log scale of positive objectives: 0.02 ≈ 2%; an
        objective that is not always positive is measured raw, relative to the archive's span)."""
        if self._logok is None:
            self._logok = np.ones(len(loss), dtype=bool)
        A = self._arch_loss
        pos = np.all(A * self._signs > 0, axis=0) & (loss * self._signs > 0)
        self._logok &= pos
        def z(x):
            raw = x / np.maximum(A.max(axis=0) - A.min(axis=0), 1e-300)
            return np.where(self._logok, self._signs * np.log(np.where(self._logok, np.abs(x), 1.0)), raw)
        return float(np.min(np.max(z(loss)[None, :] - z(A), axis=1)))

    def _tolerate(self, member: dict) -> None:
        """Keep a feasible dominated design whose gap to the archive is at most ``tolerance``: its
        neighbours are proposed too (``p_tolerance``), so a path between two parts of the front
        may pass through a design slightly off it (e.g. a larger batch whose micro-batch split
        still has to follow)."""
        if not self.p_tolerance or not self._arch or (member["nb"] is not None and not member["nb"]):
            return
        gap = self._gap(member["loss"])
        if gap <= self.tolerance:
            member["gap"] = gap
            self._tol.append(member)
            if len(self._tol) > 4 * _TOLERANCE_POOL:
                self._tol.sort(key=lambda a: a["gap"])
                del self._tol[_TOLERANCE_POOL:]

    def _tolerance_neighbour(self) -> dict | None:
        """The next neighbour of the pool member closest to the front (its gap is re-measured
        against the current archive first: members now above ``tolerance``, and exhausted ones,
        are dropped)."""
        while self._tol:
            m = min(self._tol, key=lambda a: a["gap"])
            gap = self._gap(m["loss"])
            if gap > m["gap"] + 1e-12 and gap <= self.tolerance:
                m["gap"] = gap          # the archive moved on: re-rank before expanding it
                continue
            got = self._pop_neighbour(m) if gap <= self.tolerance else None
            if got is not None:
                return got
            self._tol = [b for b in self._tol if b is not m]
        return None

    def _z(self, losses: np.ndarray) -> np.ndarray:
        """Losses on the surrogate's scale (log of positive objectives, sign kept)."""
        if self._sur is None:
            return losses
        return self._signs * self._sur.transform(losses * self._signs)

    def _crowding(self) -> None:
        L = self._arch_loss
        n = len(L)
        cd = np.zeros(n)
        for m in range(L.shape[1]):
            o = np.argsort(L[:, m], kind="stable")
            cd[o[0]] = cd[o[-1]] = np.inf
            span = L[o[-1], m] - L[o[0], m]
            if n > 2 and span > 0:
                cd[o[1:-1]] += (L[o[2:], m] - L[o[:-2], m]) / span
        for a, c in zip(self._arch, cd):
            a["crowd"] = c

    # ------------------------------------------------------------------ Optuna interface
    def infer_relative_search_space(self, study, trial):
        if self._space is not None:
            return {n: d for n, d in self._space.items() if not d.single()}
        if self._isp is None:
            self._isp = optuna.search_space.IntersectionSearchSpace()
        return {n: d for n, d in self._isp.calculate(study).items() if not d.single()}

    def _warming_up(self) -> bool:
        return self._n_complete < self.n_startup

    def sample_independent(self, study, trial, param_name, param_distribution):
        if self._warming_up():
            return self._startup.sample_independent(study, trial, param_name, param_distribution)
        return self._random.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study, trial) -> None:
        self._startup.before_trial(study, trial)

    def after_trial(self, study, trial, state, values) -> None:
        self._startup.after_trial(study, trial, state, values)

    def sample_relative(self, study, trial, search_space):
        if not search_space:
            return {}
        self._update(study, search_space)
        if self._warming_up():
            # the startup sampler's proposals as they are (TPE repeats a few designs — cache hits
            # for the runner; replacing them by new points measured worse on the speed grid)
            return self._startup.sample_relative(study, trial, search_space)
        op, params = self._propose()
        study._storage.set_trial_system_attr(trial._trial_id, _OP_ATTR, op)  # noqa: SLF001
        if self._exhausted:
            study._storage.set_trial_system_attr(trial._trial_id, _LATE_ATTR, True)  # noqa: SLF001
        return params

    def _propose(self) -> tuple[str, dict]:
        """(the operator, its proposal) for one trial after the warm-up."""
        if self.adaptive and self._arch and self._rng.uniform() < self._p_explore():
            return "explore", self._variation()
        if self._near and self._rng.uniform() < self.p_near:
            got = self._near_neighbour()
            if got is not None:
                return "near", got
        if self._tol and self._rng.uniform() < self.p_tolerance:
            got = self._tolerance_neighbour()
            if got is not None:
                return "tolerance", got
        if self._arch and (self.adaptive or self._rng.uniform() < self.p_neighbour):
            got = self._neighbour()
            if got is not None:
                return "neighbour", got
            # every archive member's one-move neighbourhood is exhausted
            self._exhausted = True
            if self.second_ring and self._rng.uniform() < self.second_ring:
                got = self._neighbour("nb2")
                if got is not None:
                    return "ring2", got
            if self._rng.uniform() < 0.5:   # the fallback: tolerance moves and variation, half each
                got = self._tolerance_neighbour()
                if got is not None:
                    return "tolerance", got
        return "explore", self._variation()

    def _variation(self) -> dict:
        params: dict = {}
        for attempt in range(self.max_tries):
            explore = (not self._arch and not self._infeasible) or attempt >= self.max_tries - 5 \
                or self._rng.uniform() < self.p_explore
            u = np.array([c.random(self._rng) for c in self._coords]) if explore else self._child(attempt)
            params = {n: c.to_param(x) for n, c, x in zip(self._names, self._coords, u)}
            k = self._key(params)
            if k not in self._seen:
                self._seen.add(k)
                return params
        return params  # a tiny space is exhausted: repeat a design

    # ------------------------------------------------------------------ proposals
    def _tournament(self, pool: list[dict]) -> dict:
        best = pool[self._rng.randint(len(pool))]
        for _ in range(self.tournament - 1):
            b = pool[self._rng.randint(len(pool))]
            ca, cb = best.get("crowd", 0.0), b.get("crowd", 0.0)
            if cb > ca or (cb == ca and b["children"] < best["children"]):
                best = b
        return best

    def _moves(self, u: np.ndarray) -> list[tuple[int, float]]:
        """Every one-dimension move of ``u``, as (dimension, new value) (``_Coord.neighbours``)."""
        return [(i, x) for i in self._walked for x in self._coords[i].neighbours(u[i], self.sigma, self.wide)]

    def _neighbours(self, u: np.ndarray) -> list[tuple[tuple[int, float], ...]]:
        """The one-move neighbours of ``u`` (each a tuple of one (dimension, value) move)."""
        return self._ordered(u, [(m,) for m in self._moves(u)])

    def _ordered(self, u: np.ndarray, moves: list) -> list:
        """``moves`` (each a tuple of (dimension, value) changes to ``u``) in random order, then
        sorted by the surrogate's score, best last (popped first)."""
        moves = [moves[i] for i in self._rng.permutation(len(moves))]
        if self._sur is not None and self._sur.n_feasible >= self.min_surrogate and moves:
            U = np.repeat(u[None, :], len(moves), axis=0)
            for r, move in enumerate(moves):
                for i, x in move:
                    U[r, i] = x
            moves = [moves[i] for i in np.argsort(self._score(U, u), kind="stable")]
        return moves

    def _score(self, U: np.ndarray, u0: np.ndarray) -> np.ndarray:
        """How far outside the archive's attained set each row (a neighbour of ``u0``) is predicted to
        land (> 0: not dominated by any member), normalised per objective; predicted-infeasible rows
        rank last. The objectives come from the local model around ``u0`` until the walk's first
        exhaustion (``local_surrogate``), from the global one after it; feasibility always from the
        global one."""
        feas, pred = self._sur.predict(U)
        if self.local_surrogate > 0 and not self._exhausted:
            pred = self._sur.predict_local(u0, U, self.local_surrogate)
        zc = self._signs * pred
        Z = self._z(self._arch_loss)
        span = Z.max(axis=0) - Z.min(axis=0)
        span = np.where(span > 0, span, 1.0)
        s = np.min(np.max((Z[None, :, :] - zc[:, None, :]) / span, axis=2), axis=1)
        return np.where(feas > 0, s, s - 1e3)

    def _near_neighbour(self) -> dict | None:
        # drop the members the feasible front has caught up with, and exhausted ones
        if self._near and len(self._arch_loss):
            caught = covered(self._arch_loss, np.array([b["loss"] for b in self._near]))
            self._near = [b for b, c in zip(self._near, caught) if (b["nb"] is None or b["nb"]) and not c]
        while self._near:
            a, b = self._near[self._rng.randint(len(self._near))], self._near[self._rng.randint(len(self._near))]
            m = a if a["viol"] <= b["viol"] else b
            got = self._pop_neighbour(m)
            if got is not None:
                return got
            self._near = [b for b in self._near if b is not m]
        return None

    def _pop_neighbour(self, a: dict, queue: str = "nb") -> dict | None:
        """The member's next unexplored neighbour from its one-move (``nb``) or two-move (``nb2``)
        queue, built (surrogate-ordered) on first use; None once the queue is exhausted."""
        if a.get(queue) is None:
            a[queue] = self._neighbours(a["u"]) if queue == "nb" else self._ring(a["u"])
        while a[queue]:
            u = a["u"].copy()
            for i, x in a[queue].pop():
                u[i] = x
            params = {n: c.to_param(v) for n, c, v in zip(self._names, self._coords, u)}
            k = self._key(params)
            if k not in self._seen:
                self._seen.add(k)
                a["children"] += 1
                return params
        return None

    def _ring(self, u: np.ndarray) -> list[tuple[tuple[int, float], ...]]:
        """The two-move neighbours of ``u``: every pair of one-moves in two different dimensions,
        ordered like the one-move queue (best predicted last, popped first)."""
        one = self._moves(u)
        pairs = [(m, n) for k, m in enumerate(one) for n in one[k + 1:] if m[0] != n[0]]
        return self._ordered(u, pairs)

    def _neighbour(self, queue: str = "nb") -> dict | None:
        """The next neighbour, from its one-move (``nb``) or two-move (``nb2``, the second ring of the
        module docstring) queue, of an archive member chosen by the tournament among those whose
        queue is not exhausted."""
        pool = [a for a in self._arch if a.get(queue) is None or a[queue]]
        while pool:
            a = self._tournament(pool)
            got = self._pop_neighbour(a, queue)
            if got is not None:
                return got
            pool = [b for b in pool if b is not a]
        return None

    def _child(self, attempt: int) -> np.ndarray:
        if self._arch:
            pool = self._arch
        else:
            pool = [{"u": u, "children": 0} for _, u in self._infeasible]
        p1 = self._tournament(pool)
        p1["children"] = p1["children"] + 1
        u = p1["u"].copy()
        d = len(u)
        if len(pool) > 1 and self._rng.uniform() < self.p_crossover:
            p2 = pool[self._rng.randint(len(pool))]
            mask = self._rng.uniform(size=d) < 0.5
            u[mask] = p2["u"][mask]
        rate = min(1.0, (1.0 + attempt / 5.0) / d)   # mutate more when proposals keep colliding
        mut = self._rng.uniform(size=d) < rate
        if not mut.any() or np.array_equal(u, p1["u"]):
            mut[self._rng.randint(d)] = True
        for i in np.flatnonzero(mut):
            u[i] = self._coords[i].mutate(u[i], self._rng, self.sigma, self.p_global)
        return u
