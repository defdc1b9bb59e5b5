"""Many §7.6 BEST searches at once, and the heatsinks of a whole hardware phase from them (model.md §7.6–§7.7).

:func:`best_fin_designs` runs many BEST(L, N, lane) searches of :func:`heatsink.best_fin_design` in lockstep:
each lane (one search of one heat source) keeps its own loop state (t_b, n, warm start, best so far) and a
step advances every unfinished lane by one iteration of its fin loop. Lanes of the same chain (base length
and air length, shared by heat sources of the same packages per lane) in the same state (n, t_b, warm start)
share one look-up of V and R_fin, computed by the scalar functions; ψ, R_tot and Q are evaluated on arrays
by the same term functions, which use only + − × ÷ there (exact in numpy as in Python), and tanh stays on
Python floats, so every lane ends on the same floats as the scalar search.

:func:`prefetch_heatsinks` gives the §7.7 selection of every heat source of a phase its BEST results from
such batches: it runs :func:`heatsink.select_heatsink` against the results computed so far, and whatever
base lengths the selections still need (plus a few beyond, as the scan usually goes on) form the next batch.
"""
from __future__ import annotations

import math
import struct
from itertools import chain as _chain
from typing import Iterable, Sequence

import numpy as np

from . import heatsink as hs

#: base lengths a selection gets in the first batch (with its reference lane); later batches double it ...
FIRST_CHUNK = 12
#: ... unless Q(L) rises: then the lengths to 95 % of the reference budget at the recent slope, × 1.5 + 2
#: (Q(L) is concave, so the straight line undershoots), at least 4. Each batch costs a few hundred
#: lockstep steps, each length computed in vain a few hundred air-volume walks: this keeps both few.
AHEAD_FACTOR, AHEAD_EXTRA, AHEAD_MIN = 1.5, 2, 4
#: ... and all of them when at most this many are left (a batch costs about as much as ~100 lengths more)
WHOLE_RANGE = 80


#: lanes left when the lockstep hands them to :func:`_finish_lane` (numpy's cost per call outweighs the
#: arrays' gain on a few lanes: the last ~200 steps of a batch have at most this many)
SCALAR_TAIL = 40

_T_B, _H = hs.THICKNESSES_M, hs.FIN_HEIGHTS_M
_N_TB = len(_T_B)
_float_bits = struct.Struct("q").unpack
_pack_float = struct.Struct("d").pack


def _volume_and_fin_resistance(n: int, H: float, L: float, L_air: float, v_start: float) -> tuple[float, float]:
    """V = A(n, H, L_air, V_start) and, if V > 0, R_fin(n, H, L, V) (1.0 otherwise: not used)."""
    V = hs.air_volume_search(n, H, L_air, v_start)
    return (V, hs.fin_resistance_at(n, H, L, V)) if V > 0 else (V, 1.0)


def _finish_lane(f: list, i: list, L_air: float, guard: bool, memo: dict) -> tuple | None:
    """One lane of :func:`best_fin_designs` taken on from its lockstep state (``f``, ``i``: its columns of F
    and I as Python numbers) to the end of its search, step for step as the lockstep would take it, on the
    same floats and the same memo of chain states; returns (ok, n, thickness index, V, Q), or None where the
    search fails (``guard`` off and a warm start ≤ 0)."""
    L, N, r2, eps, lam, sp_den, R_die_tim, th, eps_tau, v_start, bt_V, bt_Q, bL_V, bL_Q = f
    chain, n, tbi, _, bt_ok, bt_n, bL_ok, bL_n, bL_tbi = i
    tanh, DV, N_MAX, spreading_psi, package_power_w = math.tanh, hs.DV, hs.N_MAX, hs.spreading_psi, hs.package_power_w
    five_dv = 5 * DV
    while True:
        if v_start <= 0:
            if not guard:
                return None
            v_start = DV
        key = ((chain * 64 + n) * 64 + tbi, _float_bits(_pack_float(v_start))[0])
        VR = memo.get(key)
        if VR is None:
            VR = memo[key] = _volume_and_fin_resistance(n, _H[tbi], L, L_air, v_start)
        V, R_fin = VR
        v_start = V - five_dv
        if V > 0:
            psi = spreading_psi(R_fin, L, r2, lam, th, eps_tau, eps)
            R_tot = hs.resistance_sum_k_per_w(R_die_tim, psi, sp_den, R_fin)
            Q = package_power_w(R_tot, N, V)
            if not bt_ok or Q > bt_Q:
                bt_V, bt_Q, bt_n, bt_ok = V, Q, n, 1
                n += 2 if tbi == 0 else 1
                if n <= N_MAX:
                    continue
        # end of the fin loop (§7.6 step 3–4)
        if bt_ok:
            if bL_ok and not bt_Q > bL_Q:
                break
            bL_V, bL_Q, bL_n, bL_tbi, bL_ok = bt_V, bt_Q, bt_n, tbi, 1
        tbi += 1
        if tbi >= _N_TB:
            break
        n, bt_ok = 2, 0
        tau = _T_B[tbi] / r2
        th = tanh(lam * tau)
        eps_tau = eps * tau / hs._SQRT_PI
    return bL_ok == 1, bL_n, bL_tbi, bL_V, bL_Q


def best_fin_designs(lanes: Sequence[tuple[float, int, bool, float, float]], guard: bool
                     ) -> list[hs.FinDesign | None | hs.WarmStartError]:
    """BEST(L, N, lane) of §7.6 for every ``(L, N, lane, l, w)`` in ``lanes``: the design, ``None``, or the
    WarmStartError the scalar search would raise (``guard`` off and a warm start ≤ 0)."""
    m = len(lanes)
    if not m:
        return []
    tanh, DV, N_MAX = math.tanh, hs.DV, hs.N_MAX
    five_dv = 5 * DV
    T_B = np.array(_T_B)
    L_list = [ln[0] for ln in lanes]
    L_air_list = [ln[0] * ln[1] if ln[2] else ln[0] for ln in lanes]
    hs.bound_memos()
    states = hs._CHAIN_STATES
    memo_get, chain_items = states.get, _chain.from_iterable
    chains = hs._CHAIN_IDS

    # The unfinished lanes' loop state, one column per lane, compacted as lanes finish. Floats: L, N, the
    # source terms (r2, ε, λ, k_b·r1·√π, R_die + R_tim), the t_b terms tanh(λτ) and ετ/√π, the warm start,
    # (V, Q) of the best of this thickness and of the best overall. Integers: chain (base and air length),
    # n, thickness index, lane index, and (ok, n) / (ok, n, thickness) of the two bests.
    F = np.zeros((14, m))
    F[0] = L_list
    F[1] = [float(ln[1]) for ln in lanes]
    F[2:7] = np.array([hs.source_terms(ln[3], ln[4], ln[0]) for ln in lanes]).T
    F[9] = DV
    I = np.zeros((9, m), dtype=np.int64)
    I[0] = [chains.setdefault((x, y), len(chains)) for x, y in zip(L_list, L_air_list)]
    I[1] = 2
    I[3] = np.arange(m)
    done_ok, done_n, done_tbi = np.zeros(m, bool), np.zeros(m, np.int64), np.zeros(m, np.int64)
    done_V, done_Q, failed = np.zeros(m), np.zeros(m), np.zeros(m, bool)

    def enter_thickness(F, I, at=None) -> None:
        """The terms of §7.5 that change with t_b only (hoisted as in the scalar search)."""
        tau = T_B[I[2, at]] / F[2, at]
        F[7, at] = [tanh(x) for x in (F[4, at] * tau).tolist()]
        F[8, at] = F[3, at] * tau / hs._SQRT_PI

    def finish(F, I, which: np.ndarray):
        """Record the lanes in ``which`` and drop them from the state."""
        ids = I[3, which]
        done_ok[ids], done_n[ids], done_tbi[ids] = I[6, which] == 1, I[7, which], I[8, which]
        done_V[ids], done_Q[ids] = F[12, which], F[13, which]
        keep = ~which
        return F[:, keep], I[:, keep]

    enter_thickness(F, I, slice(None))
    with np.errstate(divide="ignore", invalid="ignore"):       # lanes with V ≤ 0 compute a Q nobody reads
        while I.shape[1]:
            if I.shape[1] <= SCALAR_TAIL:
                for f, i in zip(F.T.tolist(), I.T.tolist()):
                    r = _finish_lane(f, i, L_air_list[i[3]], guard, states)
                    if r is None:
                        failed[i[3]] = True
                    else:
                        done_ok[i[3]], done_n[i[3]], done_tbi[i[3]], done_V[i[3]], done_Q[i[3]] = r
                break
            L, N, r2, eps, lam, sp_den, R_die_tim, th, eps_tau, v_start, bt_V, bt_Q, bL_V, bL_Q = F
            chain, n, tbi, ids, bt_ok, bt_n, bL_ok, bL_n, bL_tbi = I
            low = v_start <= 0
            if low.any():
                if guard:
                    v_start[low] = DV
                else:
                    failed[ids[low]] = True
                    F, I = finish(F, I, low)
                    continue
            # lanes of the same chain in the same state share V and R_fin: look each state up once
            state = (chain * 64 + n) * 64 + tbi
            bits = v_start.view(np.int64)
            order = np.lexsort((bits, state))
            new_group = np.empty(order.size, bool)
            new_group[0] = True
            s_sorted, b_sorted = state[order], bits[order]
            np.not_equal(s_sorted[1:], s_sorted[:-1], out=new_group[1:])
            new_group[1:] |= b_sorted[1:] != b_sorted[:-1]
            first = order[new_group]
            group = np.empty(order.size, np.int64)
            group[order] = np.cumsum(new_group) - 1
            keys = list(zip(state[first].tolist(), bits[first].tolist()))
            found = [memo_get(key) for key in keys]
            if None in found:
                miss = [j for j, f in enumerate(found) if f is None]
                at = first[miss]
                for j, i, k, t, v0 in zip(miss, ids[at].tolist(), n[at].tolist(), tbi[at].tolist(),
                                          v_start[at].tolist()):
                    found[j] = states[keys[j]] = _volume_and_fin_resistance(k, _H[t], L_list[i], L_air_list[i], v0)
            VR = np.fromiter(chain_items(found), float, 2 * len(found)).reshape(-1, 2)
            V, R_fin = VR[group, 0], VR[group, 1]
            np.subtract(V, five_dv, out=v_start)
            psi = hs.spreading_psi(R_fin, L, r2, lam, th, eps_tau, eps)
            R_tot = hs.resistance_sum_k_per_w(R_die_tim, psi, sp_den, R_fin)
            Q = hs.package_power_w(R_tot, N, V)
            better = (V > 0) & ((bt_ok == 0) | (Q > bt_Q))
            np.copyto(bt_V, V, where=better)
            np.copyto(bt_Q, Q, where=better)
            np.copyto(bt_n, n, where=better)
            bt_ok |= better
            n += better * np.where(tbi == 0, 2, 1)
            ended = ~(better & (n <= N_MAX))
            # end of the fin loop (§7.6 step 3–4)
            has = ended & (bt_ok == 1)
            improved = has & ((bL_ok == 0) | (bt_Q > bL_Q))
            np.copyto(bL_V, bt_V, where=improved)
            np.copyto(bL_Q, bt_Q, where=improved)
            np.copyto(bL_n, bt_n, where=improved)
            np.copyto(bL_tbi, tbi, where=improved)
            bL_ok |= improved
            stop = has & ~improved
            step = ended & ~stop
            tbi += step
            stop |= tbi >= len(_T_B)
            step &= ~stop
            if step.any():
                n[step] = 2
                bt_ok[step] = 0
                enter_thickness(F, I, step)
            if stop.any():
                F, I = finish(F, I, stop)

    out: list[hs.FinDesign | None | hs.WarmStartError] = []
    for i, (ok, k, t, V1, Q1) in enumerate(zip(done_ok.tolist(), done_n.tolist(), done_tbi.tolist(),
                                               done_V.tolist(), done_Q.tolist())):
        if failed[i]:
            out.append(hs.WarmStartError("heatsink warm start ≤ 0"))
        else:
            out.append(hs.FinDesign(k, _T_B[t], _H[t], L_list[i], V1, Q1) if ok else None)
    return out


class _Missing(Exception):
    """A selection asked for a BEST result not computed yet."""


def prefetch_heatsinks(sources: Iterable[tuple[float, int]], guard: bool) -> None:
    """Design the heatsink of every ``(heat-source side mm, packages per lane)`` not memoized yet, with
    their BEST searches batched (the results are exactly those of :func:`heatsink.design_heatsink`)."""
    todo: dict[tuple[float, int, bool], dict[tuple[float, bool], object]] = {}
    for side, N in sources:
        key = (side, N, guard)
        if key not in hs._HEATSINKS:
            todo.setdefault(key, {})
    chunk = FIRST_CHUNK
    while todo:
        lanes, owners = [], []
        for key, got in list(todo.items()):
            side, N, _ = key

            def best(L: float, lane: bool, got=got):
                if (L, lane) not in got:
                    raise _Missing(L, lane)
                r = got[(L, lane)]
                if isinstance(r, hs.WarmStartError):
                    raise r
                return r

            try:
                hs._HEATSINKS[key] = hs.select_heatsink(side, N, best)
                del todo[key]
                continue
            except _Missing as need:
                L, lane = need.args
            lengths = hs.lane_lengths(side, N)
            start = lengths.index(L) if lane else 0
            count = chunk
            if lane:
                ref = got[(hs.L_MAX, False)]
                qs = [got[(x, True)].Q_w for x in lengths[max(start - 4, 0):start] if got.get((x, True)) is not None]
                if len(qs) >= 2 and qs[-1] > qs[0]:
                    steps = (hs.WITHIN_BEST * ref.Q_w - qs[-1]) / ((qs[-1] - qs[0]) / (len(qs) - 1))
                    count = max(AHEAD_MIN, math.ceil(steps * AHEAD_FACTOR) + AHEAD_EXTRA)
            if len(lengths) - start <= WHOLE_RANGE:
                count = WHOLE_RANGE
            wanted = ([] if lane else [(hs.L_MAX, False)]) + [(x, True) for x in lengths[start:start + count]]
            for L, lane in wanted:
                if (L, lane) not in got:
                    lanes.append((L, N, lane, side * 1e-3, side * 1e-3))
                    owners.append((got, (L, lane)))
        for (got, at), r in zip(owners, best_fin_designs(lanes, guard)):
            got[at] = r
        chunk *= 2
