"""Search quality and speed on the speed grid: what a user running one seed lives with (issue 16).

    .venv/bin/python bench/bench_search.py                                   # every case, every sampler
    .venv/bin/python bench/bench_search.py --cases gpt3:256:64 --samplers auto --seeds 3 --trials 200,1000
    .venv/bin/python bench/bench_search.py --cases bloom:512:256,palm:128:128:best --seeds 100-109

**Cases** (``--cases``, comma-separated): ``MODEL:PREFILL:DECODE[:best][:ranges]`` on the speed grid
(``large_grid.yaml`` × ``large_grid_sys_full.yaml``). ``MODEL`` is a file stem of the reference models
(``gpt3``, ``llama2``, ``llama3-70B``, ...); ``best`` searches with ``--mapping best`` (the evaluator
picks the mapping, no mapping dimensions); ``ranges`` overlays ``bench/speed_grid_ranges.yaml`` (the
chip's compute and the system size become stepped ranges). The default cases vary model (dense gpt3,
GQA llama3-70B and llama2), workload (short and long prompts, a long generation), mapping mode and
space.

**True front**: every point of the space is evaluated: every hardware × system combination is built
once and every valid mapping of every batch is scored by the vectorised performance model
(:func:`system_grid`, through ``Problem.mapping_grid``, the search's mapping sweep's own call); with ``best`` every
hardware × batch point goes through ``Problem.evaluate_many``. The non-dominated points are re-scored
with ``Problem.evaluate`` (the search's own evaluator) and must agree. A system whose grid cannot be
evaluated (``None``) is counted and the bench **fails**: a silently skipped system would make a
wrong front. A trial of any run that the true front does not weakly dominate also fails the bench.

**Per run** (one sampler, one seed; a SQLite study, the real code path, up to the largest checkpoint)
and per checkpoint n (the first n trials):

- HV: the hypervolume of the feasible front divided by the true front's (objectives
  tco_per_mtoken_usd ↓, tpot_s ↓, throughput_tok_per_s ↑ as log10, normalised to the true front;
  reference point 1.1);
- recall: the share of the true front's points (distinct objective vectors) that the run evaluated;
- recall 1%: the share of true front points with an evaluated feasible design within 1% in every
  objective.

**Reported per sampler**: HV worst seed / 10th percentile / median, the runs below ``--hv-goal``
(0.95) with a 95% Wilson interval for that share (a user's chance of a worse front with one seed:
2 of 30 is 2–21%, so tails are compared by their intervals, not by one worst seed), recall worst / median,
recall-1% median, the median wall time of the run (create the study, search, store) and the
sampler's cost per trial (ask + tell). ``auto`` resolves by budget like the CLI (``pls`` without
PyTorch); ``--json`` writes every run, with the true-front points each run missed.

**Why a run falls short** (``--visited``): each checkpoint is scored again (HV and recall) as if every
hardware × system combination the run had evaluated (any trial, feasible or not) had been given its
best mappings (its own front over every mapping, :class:`HardwareFronts`). If that lifts a run above the
goal, the run had reached the right hardware and its mapping search had not finished there; if not,
it never reached the hardware that holds the rest of the front. The tail lines say how many of the
runs below the goal each explanation covers.

**What a mapping sweep would add** (``--swept``): each checkpoint is scored again with the own fronts of
only the hardware × system combinations on the run's feasible front (every mapping of one such
combination, the evaluator's grid driver), with how many combinations that sweeps and how many designs
their own fronts hold (at most that many trials for a sweep: some the run has evaluated). Adding points never puts a
dominated combination back on the front, so one sweep is the fixed point.
"""
from __future__ import annotations

import argparse
import itertools
import json
import math
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

REF = REPO.parent / "shared" / "reference"
HW = REF / "cases/speed_grid/large_grid.yaml"
SYS = REF / "cases/speed_grid/large_grid_sys_full.yaml"
MODELS = REF / "seed_inputs/software/model"
RANGES = REPO / "bench/speed_grid_ranges.yaml"
CONSTANTS = REPO / "inputs/hardware/constant/7nm_default.yaml"
OBJECTIVES = ("tco_per_mtoken_usd", "tpot_s", "throughput_tok_per_s")
DEFAULT_CASES = "gpt3:256:64,llama3-70B:2048:128,gpt3:128:1024,llama2:256:64:best,gpt3:256:64:ranges"
MATCH_RTOL = 1e-9     # "the same design": objective values equal to this relative tolerance
NEAR_RTOL = 0.01      # "within 1%"


class BenchError(SystemExit):
    """The bench cannot be trusted on this case (one line, exit 2)."""

    def __init__(self, msg: str):
        print(f"bench_search: {msg}", file=sys.stderr)
        super().__init__(2)


@dataclass(frozen=True)
class Case:
    name: str
    model: str
    workload: tuple[int, int]
    mapping: str = "explicit"
    ranges: bool = False


def parse_case(spec: str) -> Case:
    parts = spec.strip().split(":")
    flags = set(parts[3:])
    if len(parts) < 3 or not parts[1].isdigit() or not parts[2].isdigit() or flags - {"best", "ranges"}:
        raise BenchError(f"--cases {spec!r}: expected MODEL:PREFILL:DECODE[:best][:ranges]")
    if not (MODELS / f"{parts[0]}.yaml").exists():
        raise BenchError(f"--cases {spec!r}: no model {parts[0]!r} in {MODELS} "
                         f"(have {', '.join(sorted(p.stem for p in MODELS.glob('*.yaml')))})")
    return Case(spec.strip(), parts[0], (int(parts[1]), int(parts[2])),
                "best" if "best" in flags else "explicit", "ranges" in flags)


def make_setup(case: Case):
    """The study setup of a case; an input llmhw rejects ends the bench with its one line (exit 2)."""
    from llmhw.errors import LlmhwError
    from llmhw.search.setup import InputText, StudyInputs, build_setup
    try:
        inputs = StudyInputs(hw=InputText.read(HW), system=InputText.read(SYS),
                             model=InputText.read(MODELS / f"{case.model}.yaml"),
                             constants=InputText.read(CONSTANTS),
                             space=InputText.read(RANGES) if case.ranges else None, enqueue=None, compat=None,
                             workload=case.workload, mapping=case.mapping, objectives=OBJECTIVES)
        return build_setup(inputs)
    except LlmhwError as e:
        raise BenchError(f"--cases {case.name!r}: {e}") from None


# ---------------------------------------------------------------------------------------- true front
def system_grid(problem, point):
    """Every mapping of every batch of the point's system, scored at once (``Problem.mapping_grid``):
    ``(mapping rows, objective values)`` with mapping rows ``(batch, p, micro_batch, prefill_micro_batch)``,
    or None when the vectorised model cannot evaluate this system."""
    g = problem.mapping_grid(point, OBJECTIVES)
    if g is None:
        return None
    rows = np.column_stack([g.batch, g.p, g.micro_batch, g.prefill_micro_batch])
    return rows.astype(np.int64), g.values


def dim_grid(d) -> list:
    """Every param value of a dimension; a stepped range is enumerated on its steps."""
    if d.kind != "range":
        return d.grid()
    dist = d.distribution
    step = d.step if d.step is not None else getattr(dist, "step", None)
    if step is None or getattr(dist, "log", False):
        raise BenchError(f"dimension {d.name} is a continuous range: its true front cannot be enumerated")
    n = int(round((dist.high - dist.low) / step))
    return [type(dist.low)(dist.low + i * step) if isinstance(dist.low, int) else dist.low + i * step
            for i in range(n + 1)]


@dataclass
class TrueFront:
    loss: np.ndarray          # distinct loss vectors of the feasible front
    designs: list[dict]       # one param dict per row
    ties: int                 # further front designs with a loss vector equal to one above
    n_systems: int            # valid hardware × system combinations
    n_invalid: int            # combinations whose hardware or system is invalid (every point infeasible)
    n_points: int             # feasible mapped points scored


INVALID = "invalid"


def hardware_points(setup, problem, hw: dict):
    """Every feasible mapped point of one hardware × system combination (``hw``: a complete param
    dict whose mapping params are ignored): ``(candidates, objective values)``, with candidates
    mapping rows (:func:`system_grid`) or, with ``--mapping best``, param dicts (one per batch);
    ``INVALID`` when the hardware or system is invalid (every point of it infeasible); None when the
    vectorised model cannot evaluate the system."""
    space = setup.space
    pt = space.point(hw)
    r = problem.evaluate(pt)
    if any(v > 0 for k, v in r.violations.items() if not k.startswith("map_")):
        return INVALID
    if space.mapping == "best":
        cand = [dict(hw, batch_log2=k) for k in dim_grid(space.by_name["batch_log2"])]
        results = problem.evaluate_many([space.point(c) for c in cand])
        ok = [i for i, x in enumerate(results) if x.feasible]
        vals = np.array([[results[i].metrics[o] for o in OBJECTIVES] for i in ok]).reshape(-1, len(OBJECTIVES))
        return [cand[i] for i in ok], vals
    return system_grid(problem, pt)


def front_rows(loss: np.ndarray) -> np.ndarray:
    """The indices of the finite, non-dominated rows of ``loss``."""
    from llmhw.search.pareto import front_mask
    fin = np.flatnonzero(np.all(np.isfinite(loss), axis=1))
    return fin[front_mask(loss[fin])]


def true_front(setup, problem) -> TrueFront:
    from llmhw.search.pareto import front_mask, losses
    space, dirs = setup.space, setup.directions
    hw_dims = [d for d in space.dims if d.section != "mapping"]
    base = space.default_params()
    front, params_of = np.zeros((0, len(dirs))), []
    n_sys = n_invalid = n_pts = 0
    no_grid: list[str] = []
    for combo in itertools.product(*(dim_grid(d) for d in hw_dims)):
        hw = dict(base, **{d.name: v for d, v in zip(hw_dims, combo)})
        got = hardware_points(setup, problem, hw)
        if got is INVALID:
            n_invalid += 1          # invalid hardware or system: every point of it is infeasible
            continue
        n_sys += 1
        if got is None:
            no_grid.append(repr({d.name: v for d, v in zip(hw_dims, combo)}))
            continue
        cand, vals = got
        n_pts += len(vals)
        if not len(vals):
            continue
        loss = losses(vals, dirs)
        idx = front_rows(loss)
        new = [_design(space, hw, cand[i]) for i in idx]
        both = np.vstack([front, loss[idx]])
        keep = front_mask(both)
        front, params_of = both[keep], [p for p, k in zip(params_of + new, keep) if k]
    if no_grid:
        raise BenchError(f"{len(no_grid)} of {n_sys} valid systems could not be evaluated on the mapping "
                         f"grid (evaluate_grid returned None), so the true front is unknown; first: {no_grid[0]}")
    conf = confirm(setup, problem, params_of, front)
    uniq = _distinct_rows(conf)
    return TrueFront(conf[uniq], [params_of[i] for i in uniq], len(conf) - len(uniq), n_sys, n_invalid, n_pts)


def confirm(setup, problem, designs: list[dict], loss: np.ndarray) -> np.ndarray:
    """Re-score the front designs with ``Problem.evaluate`` (the search's own evaluator, point by
    point): each must be feasible and match ``loss``; returns the confirmed loss vectors."""
    from llmhw.search.pareto import losses
    confirmed = []
    for p in designs:
        r = problem.evaluate(setup.space.point(p))
        if not r.feasible:
            raise BenchError(f"a true-front design is infeasible under Problem.evaluate: {r.reasons}")
        confirmed.append([r.metrics[o] for o in OBJECTIVES])
    conf = losses(np.array(confirmed), setup.directions)
    if not np.allclose(conf, loss, rtol=1e-9):
        raise BenchError("the true front's designs do not score what the exhaustive evaluation (or the "
                         "front cache) says under Problem.evaluate")
    return conf


def cached_true_front(setup, problem, case: Case, cache_dir: str | None) -> TrueFront:
    if not cache_dir:
        return true_front(setup, problem)
    import hashlib
    h = hashlib.sha256(repr((case, setup.inputs.identity())).encode())
    for f in sorted((REPO / "llmhw/perf").rglob("*.py")) + [REPO / "llmhw/evaluate.py"]:
        h.update(f.read_bytes())
    path = Path(cache_dir) / f"front-{h.hexdigest()[:16]}.json"
    if path.exists():
        d = json.loads(path.read_text())
        tf = TrueFront(np.array(d["loss"]), d["designs"], d["ties"], d["n_systems"], d["n_invalid"],
                       d["n_points"])
        confirm(setup, problem, tf.designs, tf.loss)   # a stale cache (other encoding, other model) fails here
        return tf
    tf = true_front(setup, problem)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(tf.__dict__, loss=tf.loss.tolist()), default=str))
    return tf


def _design(space, hw: dict, row) -> dict:
    if isinstance(row, dict):
        return row
    b, p, mb, pmb = (int(x) for x in row)
    return dict(hw, **space.encode({"batch": b, "p": p, "micro_batch": mb, "prefill_micro_batch": pmb}))


def _distinct_rows(loss: np.ndarray) -> list[int]:
    out: list[int] = []
    for i, row in enumerate(loss):
        if not any(np.allclose(loss[j], row, rtol=MATCH_RTOL, atol=0) for j in out):
            out.append(i)
    return out


# ---------------------------------------------------------------------------------------- runs
def run_one(setup, sampler: str, seed: int, trials: int, batch: int | None, tmp: Path, tag: str,
            sweep: bool | None = None):
    from llmhw.evaluate import Problem
    from llmhw.search.runner import Runner, run_record_for
    from llmhw.study.opening import open_study
    from llmhw.search.samplers import choose
    from llmhw.study.storage import trial_store
    choice = choose(sampler, trials, batch, sweep=sweep)
    url = f"sqlite:///{tmp / f'{tag}-{sampler}-{seed}.db'}"
    t0 = time.perf_counter()   # the run as a user sees it: create the study, search, store
    study, _ = open_study(setup, "bench", url, run_record_for(choice, seed, trials))
    problem = Problem(setup.hw, setup.system, setup.model, setup.constants, setup.fidelity)
    res = Runner(setup, problem, study, choice, seed, trials, console=None, progress=False).run()
    wall = time.perf_counter() - t0
    stored = sorted(trial_store(study).read(), key=lambda t: t.number)
    return stored, wall, res.stats


def first_complete(stored, n: int | None = None) -> list:
    """The run's COMPLETE trials in order: the first ``n`` of them (every one without ``n``)."""
    from optuna.trial import TrialState
    return [t for t in stored if t.state == TrialState.COMPLETE][:n]


def feasible_trials(stored, n: int) -> list:
    """The feasible trials among the run's first ``n`` COMPLETE trials."""
    return [t for t in first_complete(stored, n) if t.user_attrs.get("feasible")]


def trial_losses(trials, setup) -> np.ndarray:
    """The trials' objective values as losses (a maximised objective negated); n × k, also for none."""
    from llmhw.search.pareto import losses
    return losses([t.values for t in trials], setup.directions) if trials else np.zeros((0, len(setup.directions)))


def feasible_losses(stored, setup, n: int) -> np.ndarray:
    return trial_losses(feasible_trials(stored, n), setup)


def matched(front: np.ndarray, found: np.ndarray, rtol: float) -> np.ndarray:
    """For each true-front row: does some found row lie within ``rtol`` of it in every objective?"""
    if not len(found):
        return np.zeros(len(front), dtype=bool)
    out = np.zeros(len(front), dtype=bool)
    for i, f in enumerate(front):
        out[i] = bool(np.any(np.all(np.abs(found - f) <= rtol * np.abs(f), axis=1)))
    return out


def check_dominated(tf: TrueFront, found: np.ndarray, what: str) -> None:
    """Every feasible point a run found must be weakly dominated by the true front."""
    for row in found:
        if not np.any(np.all(tf.loss <= row * (1 + 1e-9 * np.sign(row)) + 1e-300, axis=1)):
            raise BenchError(f"{what}: a trial ({row.tolist()}) is not dominated by the true front: "
                             "the exhaustive evaluation missed part of the space")


def scores(tf: TrueFront, found: np.ndarray, hv_true: float) -> dict:
    from llmhw.search.pareto import hypervolume
    lo, hi = tf.loss.min(axis=0), tf.loss.max(axis=0)
    hv = hypervolume(found, lo, hi, log=True) / hv_true if len(found) else 0.0
    exact = matched(tf.loss, found, MATCH_RTOL)
    near = matched(tf.loss, found, NEAR_RTOL)
    return {"hv": hv, "recall": float(exact.mean()), "recall1": float(near.mean()),
            "missed": [int(i) for i in np.flatnonzero(~exact)], "extremes": reached_extremes(tf.loss, found)}


class HardwareFronts:
    """Each hardware × system combination's own front over every mapping (:func:`hardware_points`),
    built on first use and kept for the case. ``--visited`` scores a run as if every hardware it had
    evaluated (any trial, feasible or not) had been given its best mappings: what that closes of the
    HV gap is the mapping search on hardware the run had reached; what remains is hardware it never
    reached."""

    def __init__(self, setup, problem):
        self.setup, self.problem = setup, problem
        self.names = [d.name for d in setup.space.dims if d.section != "mapping"]
        self._fronts: dict[tuple, np.ndarray] = {}

    def front(self, params: dict) -> np.ndarray:
        """The losses of the non-dominated points of ``params``'s hardware (none if it is invalid)."""
        from llmhw.search.pareto import losses
        key = tuple(params[n] for n in self.names)
        if key not in self._fronts:
            hw = dict(self.setup.space.default_params(), **dict(zip(self.names, key)))
            got = hardware_points(self.setup, self.problem, hw)
            if got is None:
                raise BenchError(f"--visited: the mapping grid of {hw} cannot be evaluated")
            loss = np.zeros((0, len(OBJECTIVES))) if got is INVALID else losses(got[1], self.setup.directions)
            self._fronts[key] = loss[front_rows(loss)]
        return self._fronts[key]


def visited_scores(stored, setup, fronts: HardwareFronts, n: int, tf: TrueFront, hv_true: float) -> dict:
    """:func:`scores` of the run's first ``n`` trials with every evaluated hardware's own front added."""
    seen = {tuple(t.params[k] for k in fronts.names): t.params for t in first_complete(stored, n)}
    return scores(tf, np.vstack([feasible_losses(stored, setup, n)] + [fronts.front(p) for p in seen.values()]),
                  hv_true)


def swept_scores(stored, setup, fronts: HardwareFronts, n: int, tf: TrueFront, hv_true: float) -> dict:
    """:func:`scores` of the run's first ``n`` trials with the own front of every hardware on the run's
    feasible front added (a mapping sweep of the front's hardware), plus ``hardware`` (how many were
    swept) and ``designs`` (the rows of their own fronts)."""
    feas = feasible_trials(stored, n)
    found = trial_losses(feas, setup)
    on = {tuple(feas[i].params[k] for k in fronts.names): feas[i].params for i in front_rows(found)}
    added = [fronts.front(p) for p in on.values()]
    out = scores(tf, np.vstack([found] + added), hv_true)
    out.update(hardware=len(on), designs=sum(len(a) for a in added))
    return out


def reached_extremes(front: np.ndarray, found: np.ndarray) -> list[bool]:
    """Per objective: has the run reached the true front's best value to within 1% (``NEAR_RTOL``)?
    On losses, so the best is the smallest (a maximised objective is negated). On the speed grid the
    runs below the HV goal are the ones that miss the best throughput (docs/search-quality.md §18)."""
    best = front.min(axis=0)
    if not len(found):
        return [False] * len(best)
    return [bool(r) for r in found.min(axis=0) <= best + NEAR_RTOL * np.abs(best)]


def missed_extremes_note(reached: list[bool], objectives: Sequence[str]) -> str:
    """`` (misses the best tpot_s, throughput_tok_per_s)`` for a run's line; empty when it reached every one."""
    missing = [o for o, ok in zip(objectives, reached) if not ok]
    return f" (misses the best {', '.join(missing)})" if missing else ""


def patience_stop(stored, setup, batch: int, patience: int) -> int | None:
    """The trial count at which ``--patience`` would have stopped this run (None: not within it),
    replaying its batches through the runner's own front tracker."""
    from llmhw.search import progress
    done = first_complete(stored)
    loss = trial_losses(done, setup)
    feasible = [bool(t.user_attrs.get("feasible")) for t in done]
    return progress.patience_stop(progress.front_gains(loss, feasible, batch), patience)


def parse_seeds(text: str) -> list[int]:
    """``5`` → seeds 0..4 (a count); ``0,3,7`` → those; ``100-111`` → that range (inclusive);
    lists and ranges mix (``0,10-12``)."""
    text = text.strip()
    if text.isdigit():
        return list(range(int(text)))
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if "-" in part[1:]:
            a, b = part.split("-", 1)
            out.extend(range(int(a), int(b) + 1))
        elif part:
            out.append(int(part))
    return out


def format_seeds(seeds: list[int]) -> str:
    if seeds and seeds == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 2:
        return f"{seeds[0]}–{seeds[-1]}"
    return ", ".join(map(str, seeds))


def p10(values: list[float]) -> float:
    return float(np.percentile(values, 10))


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval for a share k/n (95% for z = 1.96): with 30 runs, 2 below the goal
    is 1.9–21%, so two samplers' tails differ measurably only when their intervals part."""
    if n <= 0:
        return 0.0, 1.0
    p, z2 = k / n, z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def tail_cell(hv: list[float], goal: float) -> str:
    """How many runs fell below ``goal`` (the chance that a user's one seed does, with its 95% interval)."""
    k = sum(h < goal for h in hv)
    lo, hi = wilson_interval(k, len(hv))
    return f"{k}/{len(hv)} ({lo:.0%}–{hi:.0%})"


def tail_extremes_lines(runs: list[dict], checkpoint: int, goal: float, objectives: Sequence[str]) -> list[str]:
    """Per sampler with runs below ``goal`` at ``checkpoint``: how many of those runs miss each
    objective's best value (what the tail is made of), and with ``--visited`` how many would reach
    the goal with the best mappings of the hardware they had evaluated."""
    out = []
    for label in dict.fromkeys(r["label"] for r in runs):
        low = [r["at"][str(checkpoint)] for r in runs
               if r["label"] == label and str(checkpoint) in r["at"] and r["at"][str(checkpoint)]["hv"] < goal]
        if low:
            miss = ", ".join(f"{o} in {sum(not a['extremes'][j] for a in low)}" for j, o in enumerate(objectives))
            line = (f"{label} @{checkpoint:,}: {len(low)} run{'s' if len(low) > 1 else ''} below {goal:g}; "
                    f"the best value (within 1%) missed: {miss}")
            vis = [a["visited"]["hv"] for a in low if "visited" in a]
            if vis:
                line += (f"; with the best mappings of the hardware they had evaluated, {sum(v >= goal for v in vis)} "
                         f"of them reach {goal:g} (HV worst {min(vis):.3f}, median {statistics.median(vis):.3f})")
            out.append(line)
    return out


def summary_rows(runs: list[dict], checkpoints: list[int], patience: list[int],
                 goal: float = 0.95) -> list[str]:
    """Markdown rows: per sampler, HV worst / p10 / median, the runs below ``goal`` and recall at every
    checkpoint, and where ``--patience K`` would have stopped (runs stopped / median trials · worst HV
    · median recall)."""
    out = []
    for label in dict.fromkeys(r["label"] for r in runs):
        rs = [r for r in runs if r["label"] == label]
        cells = []
        for n in checkpoints:
            got = [r["at"][str(n)] for r in rs if str(n) in r["at"]]
            if not got:
                cells.append("–")
                continue
            hv = [g["hv"] for g in got]
            rec = [g["recall"] for g in got]
            cells.append(f"{min(hv):.3f} / {p10(hv):.3f} / {statistics.median(hv):.3f} · "
                         f"{tail_cell(hv, goal)} · "
                         f"{min(rec):.0%} / {statistics.median(rec):.0%} "
                         f"({statistics.median(g['recall1'] for g in got):.0%})")
        for k in patience:
            st = [r["patience"].get(str(k)) for r in rs]
            hit = [x for x in st if x]
            cells.append("never" if not hit else
                         f"{len(hit)}/{len(st)} at {statistics.median(x['trials'] for x in hit):,.0f} · "
                         f"{min(x['hv'] for x in hit):.3f} · {statistics.median(x['recall'] for x in hit):.0%}")
        cap = rs[0]["trials"]
        wall = statistics.median(r["wall_s"] for r in rs)
        ms = statistics.median(r["sampler_ms_per_trial"] for r in rs)
        run = f"{wall:.1f}" if cap == max(checkpoints) else f"– ({wall:.1f} for {cap:,})"
        out.append(f"| {label} | " + " | ".join(cells) + f" | {run} | {ms:.2f} |")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default=DEFAULT_CASES,
                    help="comma-separated MODEL:PREFILL:DECODE[:best][:ranges] (default: %(default)s)")
    ap.add_argument("--samplers", default="auto,nsga2,nsga3,tpe,random,qmc",
                    help="comma-separated sampler names (auto is reported with what it resolves to)")
    ap.add_argument("--trials", "--checkpoints", dest="trials", default="200,1000,5000",
                    help="checkpoints; each run is as long as the largest")
    ap.add_argument("--seeds", default="10",
                    help="a count (10 = seeds 0..9), a list (0,3,7) or a range (100-111)")
    ap.add_argument("--max-trials", default="tpe=1000",
                    help="per-sampler cap on trials, e.g. tpe=1000 (TPE's cost grows with the study)")
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--patience", default="20,50",
                    help="also report where --patience K (batches) would have stopped each run (comma list)")
    ap.add_argument("--hv-goal", type=float, default=0.95,
                    help="count the runs whose HV falls below this share (default: %(default)s, issue 16's goal)")
    ap.add_argument("--visited", action="store_true",
                    help="also score each run as if every hardware it evaluated had its best mappings: is a "
                         "run's gap hardware it never reached, or mappings it did not find?")
    ap.add_argument("--swept", action="store_true",
                    help="also score each run as if every hardware on its feasible front had its best mappings "
                         "(a mapping sweep of the front's hardware), with how many hardware and designs that takes")
    ap.add_argument("--sweep", choices=("on", "off"), default=None,
                    help="run the searches with the mapping sweep (llmhw.search.sweep) on or off (default: the "
                         "search's: on, except for the grid sampler)")
    ap.add_argument("--json", default=None, help="also write every run (with the missed front points) here")
    ap.add_argument("--front-cache", default=None, metavar="DIR",
                    help="keep each case's true front in DIR (keyed by the case and the text of every input "
                         "and of llmhw/perf, llmhw/evaluate.py; re-confirmed on load), to rerun a case "
                         "without re-enumerating it")
    args = ap.parse_args(argv)
    import warnings

    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore")
    from llmhw.evaluate import Problem
    from llmhw.search.pareto import hypervolume
    from llmhw.search.samplers import choose
    if not 0.0 < args.hv_goal <= 1.0:
        ap.error(f"--hv-goal {args.hv_goal:g} is not a share of the true front's hypervolume (0 < goal <= 1)")
    seeds = parse_seeds(args.seeds)
    if not seeds:
        ap.error(f"--seeds {args.seeds!r} selects no seed (a count >= 1, a list 0,3,7 or a range 100-111)")
    cases = [parse_case(c) for c in args.cases.split(",") if c.strip()]
    checkpoints = sorted(int(x) for x in args.trials.split(","))
    patience = [int(x) for x in args.patience.split(",") if x.strip()]
    caps = dict(kv.split("=") for kv in args.max_trials.split(",") if kv)
    dump: dict = {"seeds": seeds, "checkpoints": checkpoints, "cases": {}}
    tables = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for ci, case in enumerate(cases):
            setup = make_setup(case)
            problem = Problem(setup.hw, setup.system, setup.model, setup.constants, setup.fidelity)
            t0 = time.perf_counter()
            tf = cached_true_front(setup, problem, case, args.front_cache)
            lo, hi = tf.loss.min(axis=0), tf.loss.max(axis=0)
            hv_true = hypervolume(tf.loss, lo, hi, log=True)
            head = (f"{case.name}: true front {len(tf.loss)} points (+{tf.ties} tied designs) from "
                    f"{tf.n_points:,} feasible points of {tf.n_systems} valid systems ({tf.n_invalid} invalid, "
                    f"0 unevaluated), space {math.prod(len(dim_grid(d)) for d in setup.space.dims):,} param combinations, "
                    f"{time.perf_counter() - t0:.0f} s")
            print(head, flush=True)
            runs = []
            fronts = HardwareFronts(setup, problem) if args.visited or args.swept else None
            for sampler in args.samplers.split(","):
                cap = min(max(checkpoints), int(caps.get(sampler, max(checkpoints))))
                choice = choose(sampler, cap, args.batch_size)
                label = sampler if choice.name == sampler else f"{sampler} ({choice.name})"
                for seed in seeds:
                    stored, wall, stats = run_one(setup, sampler, seed, cap, args.batch_size, tmp, f"c{ci}",
                                                  None if args.sweep is None else args.sweep == "on")
                    check_dominated(tf, feasible_losses(stored, setup, cap), f"{case.name} {label} seed {seed}")
                    at = {str(n): scores(tf, feasible_losses(stored, setup, n), hv_true)
                          for n in checkpoints if n <= cap}
                    for n, a in at.items():
                        if args.visited:
                            v = visited_scores(stored, setup, fronts, int(n), tf, hv_true)
                            a["visited"] = {k: v[k] for k in ("hv", "recall", "recall1")}
                        if args.swept:
                            v = swept_scores(stored, setup, fronts, int(n), tf, hv_true)
                            a["swept"] = {k: v[k] for k in ("hv", "recall", "recall1", "hardware", "designs")}
                    stops = {}
                    for k in patience:
                        n = patience_stop(stored, setup, choice.batch_size, k)
                        stops[str(k)] = None if n is None else dict(
                            trials=n, **scores(tf, feasible_losses(stored, setup, n), hv_true))
                    run = {"label": label, "sampler": sampler, "resolved": choice.name, "seed": seed,
                           "trials": cap, "wall_s": wall, "batch_size": choice.batch_size,
                           "sampler_ms_per_trial": (stats.t_ask + stats.t_tell) / cap * 1e3,
                           "t_ask_s": stats.t_ask, "t_eval_s": stats.t_eval, "t_tell_s": stats.t_tell,
                           "t_write_s": stats.t_write, "at": at, "patience": stops,
                           "sweep": {"swept": stats.swept, "grid_mappings": stats.grid_mappings,
                                     "queued": stats.sweep_queued, "t_s": stats.t_sweep}}
                    runs.append(run)
                    print(f"  {label} seed {seed}: {cap} trials in {wall:.1f} s (sampler "
                          f"{run['sampler_ms_per_trial']:.2f} ms/trial"
                          + (f"; sweep: {stats.swept} hardware, {stats.grid_mappings:,} grid mappings, "
                             f"{stats.sweep_queued} trials queued, {stats.t_sweep:.1f} s" if stats.swept else "")
                          + "); "
                          + ", ".join(f"@{n} HV {a['hv']:.3f} recall {a['recall']:.0%}/{a['recall1']:.0%}"
                                      + (f" (visited hardware, best mappings: HV {a['visited']['hv']:.3f} "
                                         f"recall {a['visited']['recall']:.0%})" if "visited" in a else "")
                                      + (f" (its {a['swept']['hardware']} front hardware swept, "
                                         f"{a['swept']['designs']} designs: HV {a['swept']['hv']:.3f} "
                                         f"recall {a['swept']['recall']:.0%})" if "swept" in a else "")
                                      + missed_extremes_note(a["extremes"], OBJECTIVES)
                                      for n, a in at.items())
                          + "".join(f"; --patience {k} stops at {v['trials']} (HV {v['hv']:.3f}, recall "
                                    f"{v['recall']:.0%})" if v else f"; --patience {k} does not stop"
                                    for k, v in stops.items()), flush=True)
            dump["cases"][case.name] = {
                "front_points": len(tf.loss), "ties": tf.ties, "systems": tf.n_systems, "invalid": tf.n_invalid,
                "points": tf.n_points, "front": tf.loss.tolist(), "designs": tf.designs, "runs": runs}
            if args.json:
                Path(args.json).write_text(json.dumps(dump, indent=1, default=str))
            tails = [line for n in checkpoints for line in tail_extremes_lines(runs, n, args.hv_goal, OBJECTIVES)]
            tables.append((case, len(tf.loss), summary_rows(runs, checkpoints, patience, args.hv_goal), tails))
    print()
    for case, n_front, rows, tails in tables:
        print(f"**{case.name}** ({n_front} front points; seeds {format_seeds(seeds)})\n")
        print("| sampler | " + " | ".join(f"@{n:,}: HV worst / p10 / median · below {args.hv_goal:g} (95% interval) · "
                                          "recall worst / median (1%)"
                                          for n in checkpoints)
              + "".join(f" | --patience {k}: stopped / at · HV worst · recall" for k in patience)
              + f" | wall of the {max(checkpoints):,}-trial run (s) | sampler ms/trial |")
        print("|" + "---|" * (len(checkpoints) + len(patience) + 3))
        print("\n".join(rows) + "\n")
        if tails:
            print("\n".join(f"- {line}" for line in tails) + "\n")
    print("command: .venv/bin/python bench/bench_search.py " + " ".join(sys.argv[1:] if argv is None else argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
