"""Search quality and speed on the speed grid (issue 4, "Must show" 5).

    .venv/bin/python bench/bench_search.py                        # full: seeds 0-4, 200/1000/5000 trials
    .venv/bin/python bench/bench_search.py --seeds 1 --trials 200,1000 --samplers auto,nsga2
    .venv/bin/python bench/bench_search.py --samplers pls --seeds 100-111   # other seeds

For each sampler and seed a study runs on SQLite (the real code path: batched ask/tell, bulk writes)
up to the largest checkpoint; the hypervolume of the feasible front of the first n trials is divided
by the hypervolume of the **true front**, computed by evaluating every point of the space: every
hardware × system combination is built once, and every valid mapping (§12.1: p, micro-batch,
prefill micro-batch) of every batch is scored with the vectorised performance model; its
non-dominated points are then re-scored with ``Problem.evaluate`` (the search's own evaluator) to
confirm values and feasibility. Objectives: tco_per_mtoken_usd ↓, tpot_s ↓, throughput_tok_per_s ↑,
each as log10 and normalised to [0, 1] over the true front (ideal → 0, nadir → 1); reference point
1.1 in every objective. Reported: the median over seeds of HV(n)/HV(true), the median wall time of
the run (creating the SQLite study, searching, storing every batch) and the sampler's cost per
trial (ask + tell). ``auto`` resolves by budget like the CLI does (``pls`` without PyTorch).
The HV at 200 / 1,000 trials is read from the first trials of the longest run.
"""
from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

REF = REPO.parent / "shared" / "reference"
HW = REF / "cases/speed_grid/large_grid.yaml"
SYS = REF / "cases/speed_grid/large_grid_sys_full.yaml"
MODEL = REF / "seed_inputs/software/model/gpt3.yaml"
CONSTANTS = REPO / "inputs/hardware/constant/7nm_default.yaml"
OBJECTIVES = ("tco_per_mtoken_usd", "tpot_s", "throughput_tok_per_s")


def make_setup(workload):
    from llmhw.search.study import InputText, StudyInputs, build_setup
    inputs = StudyInputs(hw=InputText.read(HW), system=InputText.read(SYS), model=InputText.read(MODEL),
                         constants=InputText.read(CONSTANTS), space=None, enqueue=None, compat=None,
                         workload=workload, mapping="explicit", objectives=OBJECTIVES)
    return build_setup(inputs)


def true_front(setup, problem):
    """Loss vectors and params of the true feasible front, by exhaustive evaluation."""
    from llmhw.evaluate import _key
    from llmhw.perf.grid import evaluate_grid
    from llmhw.search.pareto import front_mask, losses
    space = setup.space
    dirs = setup.directions
    hw_dims = [d for d in space.dims if d.section != "mapping"]
    base = space.default_params()
    front = np.zeros((0, len(dirs)))
    front_params: list[dict] = []
    n_points = n_systems = 0
    for combo in itertools.product(*(d.grid() for d in hw_dims)):
        params = dict(base, **{d.name: v for d, v in zip(hw_dims, combo)})
        pt = space.point(params)
        r = problem.evaluate(pt)
        if any(v > 0 for k, v in r.violations.items() if not k.startswith("map_")):
            continue   # invalid hardware or system: every point infeasible
        srv = problem.server(pt.chip, pt.package, pt.server)
        sys_ = problem.system(srv, pt.system, _key((pt.chip, pt.package, pt.server)), pt.prefill_len,
                              pt.decode_len)
        g = evaluate_grid(sys_, setup.fidelity)
        if g is None or len(g) == 0:
            continue
        n_systems += 1
        n_points += len(g)
        vals = np.column_stack([g.decode_tco_per_token_usd * 1e6, g.tpot_s, g.decode_throughput_tok_per_s])
        loss = losses(vals, dirs)
        ok = np.all(np.isfinite(loss), axis=1)
        idx = np.flatnonzero(ok)[front_mask(loss[ok])]
        cand_loss = np.vstack([front, loss[idx]])
        cand_params = front_params + [
            dict(params, **space.encode({"batch": int(g.batch[i]), "p": g.candidates[int(g.cand[i])].p,
                                         "micro_batch": int(g.micro_batch[i]),
                                         "prefill_micro_batch": int(g.prefill_micro_batch[i])}))
            for i in idx]
        keep = front_mask(cand_loss)
        front = cand_loss[keep]
        front_params = [p for p, k in zip(cand_params, keep) if k]
    # confirm with the search's own evaluator
    confirmed = []
    for p in front_params:
        r = problem.evaluate(space.point(p))
        assert r.feasible, r.reasons
        confirmed.append([r.metrics[o] for o in OBJECTIVES])
    conf_loss = losses(np.array(confirmed), dirs)
    assert np.allclose(conf_loss, front, rtol=1e-9), "vector and scalar evaluations disagree"
    return conf_loss, front_params, n_systems, n_points


def run_one(setup, sampler: str, seed: int, trials: int, batch: int | None, tmp: Path):
    from llmhw.evaluate import Problem
    from llmhw.search.runner import Runner, open_study, run_record_for
    from llmhw.search.samplers import choose
    from llmhw.search.storage import trial_store
    choice = choose(sampler, trials, batch)
    url = f"sqlite:///{tmp / f'{sampler}-{seed}.db'}"
    t0 = time.perf_counter()   # the run as a user sees it: create the study, search, store
    study, _ = open_study(setup, "bench", url, run_record_for(choice, seed, trials))
    problem = Problem(setup.hw, setup.system, setup.model, setup.constants, setup.fidelity)
    res = Runner(setup, problem, study, choice, seed, trials, console=None, progress=False).run()
    wall = time.perf_counter() - t0
    stored = sorted(trial_store(study).read(), key=lambda t: t.number)
    return stored, wall, res.stats


def hv_at(stored, setup, n: int, lo, hi) -> float:
    from optuna.trial import TrialState

    from llmhw.search.pareto import hypervolume, losses
    first = [t for t in stored if t.state == TrialState.COMPLETE][:n]
    feas = [t.values for t in first if t.user_attrs.get("feasible")]
    if not feas:
        return 0.0
    return hypervolume(losses(feas, setup.directions), lo, hi, log=True)


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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samplers", default="auto,nsga2,nsga3,tpe,random,qmc",
                    help="comma-separated sampler names (auto is reported with what it resolves to)")
    ap.add_argument("--trials", "--checkpoints", dest="trials", default="200,1000,5000",
                    help="hypervolume checkpoints; each run is as long as the largest")
    ap.add_argument("--seeds", default="5",
                    help="a count (5 = seeds 0..4), a list (0,3,7) or a range (100-111)")
    ap.add_argument("--max-trials", default="tpe=1000",
                    help="per-sampler cap on trials, e.g. tpe=1000 (TPE's cost grows with the study)")
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--workload", default="256:64")
    ap.add_argument("--json", default=None, help="also write the per-seed results to this JSON file")
    args = ap.parse_args(argv)
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    import warnings
    warnings.filterwarnings("ignore")
    from llmhw.evaluate import Problem
    from llmhw.search.pareto import hypervolume
    from llmhw.search.samplers import choose
    seeds = parse_seeds(args.seeds)
    if not seeds:
        ap.error(f"--seeds {args.seeds!r} selects no seed (a count >= 1, a list 0,3,7 or a range 100-111)")
    P, G = (int(x) for x in args.workload.split(":"))
    setup = make_setup((P, G))
    problem = Problem(setup.hw, setup.system, setup.model, setup.constants, setup.fidelity)
    t0 = time.perf_counter()
    front, _, n_sys, n_pts = true_front(setup, problem)
    lo, hi = front.min(axis=0), front.max(axis=0)
    hv_true = hypervolume(front, lo, hi, log=True)
    print(f"true front: {len(front)} points from {n_pts:,} feasible mapped points of {n_sys} valid systems "
          f"(space: {setup.space.size():,} param combinations), HV {hv_true:.4f}, "
          f"{time.perf_counter() - t0:.0f} s", flush=True)
    checkpoints = sorted(int(x) for x in args.trials.split(","))
    caps = dict(kv.split("=") for kv in args.max_trials.split(",") if kv)
    rows, dump = [], []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for sampler in args.samplers.split(","):
            cap = min(max(checkpoints), int(caps.get(sampler, max(checkpoints))))
            choice = choose(sampler, cap, args.batch_size)
            label = sampler if choice.name == sampler else f"{sampler} ({choice.name})"
            fracs = {n: [] for n in checkpoints}
            walls, per_trial = [], []
            for seed in seeds:
                stored, wall, stats = run_one(setup, sampler, seed, cap, args.batch_size, tmp)
                for n in checkpoints:
                    if n <= cap:
                        fracs[n].append(hv_at(stored, setup, n, lo, hi) / hv_true)
                walls.append(wall)
                per_trial.append((stats.t_ask + stats.t_tell) / cap * 1e3)
                print(f"  {label} seed {seed}: {cap} trials in {wall:.1f} s (ask {stats.t_ask:.1f} s, "
                      f"evaluate {stats.t_eval:.1f} s, tell {stats.t_tell:.1f} s, store {stats.t_write:.1f} s); "
                      + ", ".join(f"HV@{n} {fracs[n][-1]:.3f}" for n in checkpoints if n <= cap), flush=True)
                dump.append({"sampler": sampler, "resolved": choice.name, "seed": seed, "trials": cap,
                             "wall_s": wall, "batch_size": choice.batch_size,
                             "hv": {n: fracs[n][-1] for n in checkpoints if n <= cap}})
            rows.append((label, cap, {n: (statistics.median(v) if v else None) for n, v in fracs.items()},
                         statistics.median(walls), statistics.median(per_trial), choice.batch_size))
    print()
    head = "| sampler | " + " | ".join(f"HV@{n:,}" for n in checkpoints) + \
        f" | wall of the {max(checkpoints):,}-trial run (s) | sampler ms/trial | batch |"
    print(head)
    print("|" + "---|" * (len(checkpoints) + 4))
    for label, cap, med, wall, pt, batch in rows:
        cells = [f"{med[n]:.3f}" if med[n] is not None else "–" for n in checkpoints]
        run = f"{wall:.1f}" if cap == max(checkpoints) else f"– ({wall:.1f} for {cap:,} trials)"
        print(f"| {label} | " + " | ".join(cells) + f" | {run} | {pt:.2f} | {batch} |")
    print(f"\nmedian over seeds {format_seeds(seeds)}; HV = fraction of the true front's hypervolume "
          f"(log10 objectives normalised to the true front, reference point 1.1); wall: SQLite study, "
          f"batched ask/tell, median over seeds; workload {P}:{G}")
    print("command: .venv/bin/python bench/bench_search.py " + " ".join(sys.argv[1:] if argv is None else argv))
    if args.json:
        Path(args.json).write_text(json.dumps({"seeds": seeds, "runs": dump}, indent=1))
    return 0


def format_seeds(seeds: list[int]) -> str:
    if seeds and seeds == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 2:
        return f"{seeds[0]}–{seeds[-1]}"
    return ", ".join(map(str, seeds))


if __name__ == "__main__":
    raise SystemExit(main())
