"""pareto.csv equals the feasible non-dominated set recomputed from the stored trials; bulk writes
store exactly what Optuna's own ``add_trials`` stores."""
from __future__ import annotations

import datetime

import optuna
import pandas as pd
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from llmhw.study.storage import GenericTrialStore, trial_store

from .conftest import cli_args, run_cli


def _dominates(a, b, signs):
    la = [x * s for x, s in zip(a, signs)]
    lb = [x * s for x, s in zip(b, signs)]
    return all(x <= y for x, y in zip(la, lb)) and any(x < y for x, y in zip(la, lb))


def test_pareto_csv_is_the_feasible_nondominated_set(workdir):
    enq = workdir / "refs.yaml"
    enq.write_text("designs:\n  - name: v5p\n    values: {Chip.sram: 300.0e+6, Chip.hbm_channels: 48, "
                   "Server.num_lanes: 2, Server.packages_per_lane: 2, system.num_servers: 4, batch: 64, "
                   "p: 1, micro_batch: 8, prefill_micro_batch: 1}\n")
    rc = run_cli(cli_args("--sampler", "nsga2", "--seed", "7", "--enqueue", str(enq),
                          "--max-tpot", "0.05", trials=150, study="p"))
    assert rc == 0
    study = optuna.load_study(study_name="p", storage="sqlite:///studies/p.db")
    signs = [1 if d == optuna.study.StudyDirection.MINIMIZE else -1 for d in study.directions]
    trials = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(trials) == 150
    assert trials[0].user_attrs["reference"] == "v5p" and trials[0].params["Chip.sram"] == 300e6
    feasible = [t for t in trials if all(v <= 0 for v in t.constraints.values())]
    assert 0 < len(feasible) < len(trials)
    assert all(t.constraints["max_tpot_s"] <= 0 for t in feasible)
    expected = {t.number for t in feasible
                if not any(_dominates(o.values, t.values, signs) for o in feasible)}
    front = pd.read_csv(workdir / "outputs" / "p" / "pareto.csv")
    assert set(front["number"]) == expected
    assert front["feasible"].all()
    all_rows = pd.read_csv(workdir / "outputs" / "p" / "trials.csv")
    assert len(all_rows) == 150 and {"dim.batch", "tco_per_mtoken_usd", "violation.map_invalid",
                                     "design.chip.sram"} <= set(all_rows.columns)


def _frozen(number: int) -> optuna.trial.FrozenTrial:
    t = create_trial(
        state=TrialState.COMPLETE, values=[1.5 * number, -2.0],
        params={"a": 3, "b": 0.25, "c": "x"},
        distributions={"a": IntDistribution(0, 5), "b": FloatDistribution(0.0, 1.0),
                       "c": CategoricalDistribution(("x", "y"))},
        user_attrs={"m": 1.0, "design": {"k": [1, 2]}, "s": "inf"},
        system_attrs={"constraints:c1": -1.0, "constraints:c2": 0.5, "nsga2:generation": 0})
    t.datetime_start = datetime.datetime(2025, 1, 2, 3, 4, 5)
    t.datetime_complete = datetime.datetime(2025, 1, 2, 3, 4, 6)
    return t


def test_bulk_write_matches_add_trials(tmp_path):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    fast = optuna.create_study(study_name="fast", storage=url, directions=["minimize", "maximize"])
    slow = optuna.create_study(study_name="slow", storage=url, directions=["minimize", "maximize"])
    store = trial_store(fast)
    assert type(store) is not GenericTrialStore
    store.write([_frozen(i) for i in range(3)])
    store.write([_frozen(i) for i in range(3, 5)])
    slow.add_trials([_frozen(i) for i in range(5)])
    a = optuna.load_study(study_name="fast", storage=url).get_trials()
    b = optuna.load_study(study_name="slow", storage=url).get_trials()
    assert len(a) == len(b) == 5
    for x, y in zip(a, b):
        for attr in ("number", "state", "values", "params", "distributions", "user_attrs",
                     "system_attrs", "datetime_start", "datetime_complete", "constraints"):
            assert getattr(x, attr) == getattr(y, attr), attr
    fast_read = store.read()
    assert [(t.number, t.values, t.params, t.user_attrs, t.system_attrs) for t in fast_read] == \
           [(t.number, t.values, t.params, t.user_attrs, t.system_attrs) for t in a]
