"""Reading a study's SQLite file directly (no llmhw, no Optuna) to check it after a fault."""
from __future__ import annotations

import json
import math
import sqlite3
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Snapshot:
    integrity: str
    states: dict[str, int]
    numbers: list[int]                          # every trial number, in trial_id order
    complete: dict[int, tuple]                  # number -> (params, values)
    feasible: dict[int, bool]
    directions: list[str]

    @property
    def n_complete(self) -> int:
        return self.states.get("COMPLETE", 0)


def snapshot(db: Path, study: str) -> Snapshot | None:
    """None if the file or the study does not exist yet."""
    if not db.exists():
        return None
    # read-write: after a SIGKILL inside a write the file has a hot journal, which the first reader
    # rolls back (read-only connections cannot, and fail) — exactly what the next search does
    con = sqlite3.connect(str(db), timeout=30)
    try:
        integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
        try:
            row = con.execute("SELECT study_id FROM studies WHERE study_name = ?", (study,)).fetchone()
        except sqlite3.OperationalError:  # killed before Optuna created its tables
            return Snapshot(integrity, {}, [], {}, {}, [])
        if row is None:
            return Snapshot(integrity, {}, [], {}, {}, [])
        sid = row[0]
        directions = [d for (d,) in con.execute(
            "SELECT direction FROM study_directions WHERE study_id = ? ORDER BY objective", (sid,))]
        states: dict[str, int] = {}
        numbers = []
        ids = {}
        for tid, number, state in con.execute(
                "SELECT trial_id, number, state FROM trials WHERE study_id = ? ORDER BY trial_id", (sid,)):
            states[state] = states.get(state, 0) + 1
            numbers.append(number)
            if state == "COMPLETE":
                ids[tid] = number
        params: dict[int, dict] = {n: {} for n in ids.values()}
        values: dict[int, dict] = {n: {} for n in ids.values()}
        feasible: dict[int, bool] = {}
        for tid, name, value in con.execute(
                "SELECT p.trial_id, p.param_name, p.param_value FROM trial_params p JOIN trials t "
                "ON t.trial_id = p.trial_id WHERE t.study_id = ? AND t.state = 'COMPLETE'", (sid,)):
            params[ids[tid]][name] = value
        for tid, obj, value in con.execute(
                "SELECT v.trial_id, v.objective, v.value FROM trial_values v JOIN trials t "
                "ON t.trial_id = v.trial_id WHERE t.study_id = ? AND t.state = 'COMPLETE'", (sid,)):
            values[ids[tid]][obj] = value
        for tid, vj in con.execute(
                "SELECT a.trial_id, a.value_json FROM trial_user_attributes a JOIN trials t "
                "ON t.trial_id = a.trial_id WHERE t.study_id = ? AND t.state = 'COMPLETE' "
                "AND a.key = 'feasible'", (sid,)):
            feasible[ids[tid]] = bool(json.loads(vj))
    finally:
        con.close()
    complete = {n: (tuple(sorted(params[n].items())), tuple(values[n][k] for k in sorted(values[n])))
                for n in ids.values()}
    return Snapshot(integrity, states, numbers, complete, feasible, directions)


def naive_front(snap: Snapshot) -> set[int]:
    """The feasible non-dominated trial numbers, by pairwise comparison (independent of llmhw)."""
    sign = [1.0 if d == "MINIMIZE" else -1.0 for d in snap.directions]
    pts = {n: tuple(s * v for s, v in zip(sign, vals)) for n, (_, vals) in snap.complete.items()
           if snap.feasible.get(n)}
    front = set()
    for n, a in pts.items():
        dominated = any(all(x <= y for x, y in zip(b, a)) and any(x < y for x, y in zip(b, a))
                        for m, b in pts.items() if m != n)
        if not dominated:
            front.add(n)
    return front


def check_consistent(snap: Snapshot, budget: int, batch: int) -> None:
    """What must hold after any fault: an intact file, no duplicate or missing numbers, nothing
    RUNNING, whole batches only, finite values on every COMPLETE trial, a recomputable front."""
    assert snap.integrity == "ok", snap.integrity
    assert sorted(snap.numbers) == list(range(len(snap.numbers))), "duplicate or missing trial numbers"
    assert set(snap.states) <= {"COMPLETE", "FAIL"}, snap.states
    assert snap.n_complete <= budget
    assert snap.n_complete % batch == 0 or snap.n_complete == budget, (snap.n_complete, batch)
    for n, (_, vals) in snap.complete.items():
        assert len(vals) == len(snap.directions) and all(math.isfinite(v) for v in vals), (n, vals)
        assert n in snap.feasible
    if snap.complete:
        from llmhw.search.pareto import front_mask, losses
        numbers = [n for n in sorted(snap.complete) if snap.feasible[n]]
        if numbers:
            loss = losses([snap.complete[n][1] for n in numbers], [d.lower() for d in snap.directions])
            mask = front_mask(loss)
            assert {n for n, keep in zip(numbers, mask) if keep} == naive_front(snap)
