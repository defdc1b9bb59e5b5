"""No NaN/inf reaches Optuna; honest values stay in the user attrs; objective names resolve."""
from __future__ import annotations

import argparse
import math

import pytest

from llmhw.commands.plan import Flags, workloads_of
from llmhw.errors import UsageError
from llmhw.evaluate import Result
from llmhw.search.constraints import NONFINITE, ConstraintSet, parse_limits
from llmhw.search.objectives import PENALTY, parse_objectives
from llmhw.search.outcome import from_result
from llmhw.violations import CONSTRAINT_NAMES


def test_nonfinite_values_are_sanitised_and_make_the_trial_infeasible():
    objs = parse_objectives("tco_per_mtoken,tpot,throughput")
    assert [o.name for o in objs] == ["tco_per_mtoken_usd", "tpot_s", "throughput_tok_per_s"]
    cons = ConstraintSet(parse_limits({"max_ttft": 0.5, "min_throughput": 100.0}))
    viol = {n: -1.0 for n in CONSTRAINT_NAMES}
    viol["sys_memory_bytes"] = math.inf
    r = Result(metrics={"tco_per_mtoken_usd": math.inf, "tpot_s": math.nan, "throughput_tok_per_s": 0.0,
                        "ttft_s": 0.25}, violations=viol, reasons=("too small",), design={"x": 1})
    o = from_result(r, objs, cons, "corrected")
    assert o.values == (PENALTY, PENALTY, 0.0)
    assert all(math.isfinite(v) for v in o.constraints.values())
    assert list(o.constraints) == list(cons.names)
    assert o.constraints[NONFINITE] > 0 and o.constraints["max_ttft_s"] < 0
    assert o.constraints["min_throughput_tok_per_s"] == pytest.approx(math.log1p(100.0))
    assert not o.feasible and o.user_attrs["feasible"] is False
    assert o.user_attrs["tco_per_mtoken_usd"] == "inf" and o.user_attrs["tpot_s"] == "nan"
    assert o.user_attrs["violations"]["sys_memory_bytes"] == "inf"
    assert o.user_attrs["violations"]["min_throughput_tok_per_s"] == 100.0


def test_objective_names_and_workloads():
    assert parse_objectives("ttft,power,die_yield")[2].direction == "maximize"
    with pytest.raises(UsageError, match="ambiguous objective 'prefill'"):
        parse_objectives("prefill")
    with pytest.raises(UsageError, match="given twice"):
        parse_objectives("tpot,tpot_s")
    pairs = [(256, 64), (64, 256)]

    def workloads(text):
        return workloads_of(Flags.from_args(argparse.Namespace(workload=text)), pairs)[0]
    assert workloads(None) == [(256, 64)]
    assert workloads("all") == pairs
    assert workloads("128:16") == [(128, 16)]
    with pytest.raises(UsageError, match="--workload.*PREFILL:DECODE"):
        workloads("128x16")
