"""The software phase (§0, §15.2): every server × system configuration, its §12.3 optima and two tables.

The optima come from :mod:`llmhw.perf.optima` (the grid driver, or the single-point loop it must agree with);
the performance rows re-evaluate the chosen mappings with the single-point driver.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from llmhw.fidelity import Fidelity
from llmhw.gc_pause import gc_paused
from llmhw.hardware.constants import Constants
from llmhw.hardware.server import Server
from llmhw.workload.model import Model
from llmhw.workload.system import System, build_system

from llmhw.exhaustive.csv_format import OPTIMA_COLUMNS
from llmhw.perf.optima import (GOALS, OptimaColumns, Optimum, columns_of, object_column, optima_columns,
                               sweep_system_scalar)
from llmhw.perf.point import PerfResult, evaluate_point

#: §15.2 performance-table goals → the optimum they read and the metric compared at the target batch.
TABLE_GOALS: dict[str, str] = {"prefill_lat": "prefill_lat", "decoding_lat": "generate_lat", "tco": "generate_tco"}
TARGET_BATCH = 8


@dataclass(frozen=True)
class SystemSweep:
    """One valid system and where its optima are: row block ``number`` of the sweep's shared ``columns``."""

    server_index: int
    system_index: int
    system: System
    columns: OptimaColumns
    number: int

    @property
    def optima(self) -> dict[str, dict[int, Optimum]]:
        """``optima[goal][batch]`` (a batch without mappings is absent)."""
        return self.columns.optima(self.number)


def sweep_all(servers: Sequence[Server], system_cfgs: Sequence[Mapping[str, Any]], model: Model | Mapping | None,
              constants: Constants, fidelity: Fidelity, vectorized: bool = True) -> list[SystemSweep]:
    """§0 software phase core: every server (in order) × every expanded system configuration (in order);
    systems with insufficient memory are dropped. ``system_index`` counts every configuration."""
    if model is not None and not isinstance(model, Model):
        model = Model.from_dict(model)
    valid = []
    for si, server in enumerate(servers):
        for ci, cfg in enumerate(system_cfgs):
            system = build_system(server, cfg, model, constants)
            if system.valid:
                valid.append((si, ci, system))
    systems = [system for _, _, system in valid]
    if vectorized:
        columns = optima_columns(systems, fidelity)
    else:
        columns = columns_of([sweep_system_scalar(system, fidelity) for system in systems])
    return [SystemSweep(si, ci, system, columns, n) for n, (si, ci, system) in enumerate(valid)]


# ---- tables -----------------------------------------------------------------------------------------


#: The optima table's metric columns and the :class:`Optimum` field each holds.
METRIC_COLUMNS = {"prefill_sec": "prefill_latency_s", "decoding_sec": "decode_latency_s",
                  "prefill_throughput": "prefill_throughput_tok_per_s",
                  "generate_throughput": "decode_throughput_tok_per_s", "prefill_utilization": "prefill_utilization",
                  "generate_utilization": "decode_utilization", "prefill_power_w": "prefill_power_w",
                  "generate_power_w": "decode_power_w", "prefill_tco_per_token": "prefill_tco_per_token_usd",
                  "generate_tco_per_token": "decode_tco_per_token_usd"}


def optima_table(sweeps: Sequence[SystemSweep]) -> dict[str, Sequence]:
    """The optima table as columns (:data:`OPTIMA_COLUMNS`): one row per valid system × goal (prefill_lat,
    prefill_tco, generate_lat, generate_tco) × batch. The numbers are numpy arrays (int64, float64: the
    values of Python ints and floats), opt_goal and t lists (t keeps its Python type)."""
    if not sweeps:
        return {name: [] for name in OPTIMA_COLUMNS}
    cols = sweeps[0].columns
    which = cols.system            # the sweep of each row
    heads = zip(*[(sw.server_index, sw.system_index, sw.system.num_servers, sw.system.prefill_len,
                   sw.system.decode_len) for sw in sweeps])
    server, system, num_servers, input_len, output_len = (_per_system(values)[which] for values in heads)
    goal_names = np.asarray(list(GOALS), dtype=object)
    table = {"server": server, "system": system, "num_servers": num_servers, "input_len": input_len,
             "output_len": output_len, "opt_goal": goal_names[cols.goal], "batch": cols.batch, "t": cols.t,
             "p": cols.p, "micro_batch": cols.micro_batch, "prefill_micro_batch": cols.prefill_micro_batch,
             **{column: cols.metrics[f] for column, f in METRIC_COLUMNS.items()}}
    return {name: table[name].tolist() if table[name].dtype == object else table[name] for name in OPTIMA_COLUMNS}


def _per_system(values: Sequence) -> np.ndarray:
    """One value per system: int64 if they are all Python ints, else Python objects (printed as they are)."""
    if all(type(v) is int for v in values):
        return np.asarray(values, dtype=np.int64)
    return object_column(values)


def table_rows(table: Mapping[str, Sequence]) -> list[dict[str, Any]]:
    """A table of columns as one dict per row (keys in column order, Python values)."""
    columns = [c.tolist() if isinstance(c, np.ndarray) else c for c in table.values()]
    return [dict(zip(table, row)) for row in zip(*columns)]


def performance_row(table_goal: str, r: PerfResult) -> dict[str, Any]:
    """§15.2 one row of the performance table from a full PerfResult."""
    return {
        "opt_goal": table_goal, "input_len": r.prefill_len, "output_len": r.decode_len, "batch": r.batch,
        "prefill_sec": r.prefill_latency_s, "decoding_sec": r.decode_latency_s,
        "tco_per_Mtoken": r.decode_tco_per_token_usd * 1e6,
        "prefill_io_sec": r.prefill_io_s, "prefill_compute_sec": r.prefill_compute_s,
        "prefill_mem_sec": r.prefill_mem_s, "decoding_io_sec": r.decode_io_s,
        "decoding_compute_sec": r.decode_compute_s, "decoding_mem_sec": r.decode_mem_s,
        "capex": r.capex_usd, "opex": r.opex_usd,
    }


def choose_system(group: Sequence[SystemSweep], optimum_goal: str) -> SystemSweep | None:
    """§15.2: the system with the strictly smallest metric at the target batch 8 (first on ties).

    The reference aborts when no system of the group has a batch-8 entry; here the group gets no rows.
    """
    if not group:
        return None
    cols = group[0].columns
    rows = cols.rows_at(optimum_goal, TARGET_BATCH)[[sw.number for sw in group]].tolist()
    values = cols.metric(optimum_goal)
    best, best_v = None, None
    for sw, row in zip(group, rows):
        if row < 0:
            continue
        v = float(values[row])
        if best is None or v < best_v:
            best, best_v = sw, v
    return best


def performance_rows(sweeps: Sequence[SystemSweep], fidelity: Fidelity) -> list[dict[str, Any]]:
    """§15.2: goals (prefill_lat, decoding_lat, tco) outer, eval_len groups (first appearance) inner."""
    groups: dict[tuple[int, int], list[SystemSweep]] = {}
    for sw in sweeps:
        groups.setdefault(sw.system.eval_len, []).append(sw)
    rows = []
    for table_goal, optimum_goal in TABLE_GOALS.items():
        for group in groups.values():
            max_batch = group[0].system.max_batch
            chosen = choose_system(group, optimum_goal)
            if chosen is None:
                continue
            optima = chosen.optima[optimum_goal]
            B = 1
            while B <= max_batch:
                o = optima.get(B)
                if o is not None:
                    r = evaluate_point(chosen.system, o.mapping, B, fidelity=fidelity)
                    rows.append(performance_row(table_goal, r))
                B *= 2
    return rows


def software_phase(servers: Sequence[Server], system_cfgs: Sequence[Mapping[str, Any]], model: Model | Mapping | None,
                   fidelity: Fidelity, constants: Constants, vectorized: bool = True
                   ) -> tuple[list[dict[str, Any]], dict[str, list]]:
    """§0 software phase: (performance-table rows §15.2, the optima table as columns, :func:`optima_table`).

    ``system_cfgs`` are the expanded system configurations (§0 pre-processing then EXPAND); ``model`` may
    be None when each configuration carries its ``model`` key.
    """
    with gc_paused():         # hundreds of thousands of short-lived records, no cycles (llmhw.gc_pause)
        sweeps = sweep_all(servers, system_cfgs, model, constants, fidelity, vectorized)
        return performance_rows(sweeps, fidelity), optima_table(sweeps)
