"""Many §7.6 BEST searches at once, and the heatsinks of a whole hardware phase from them (model.md §7.6–§7.7).

:func:`best_fin_designs` runs many BEST(L, N, lane) searches of :func:`heatsink.best_fin_design` in lockstep:
each lane (one search of one heat source) keeps its own loop state (t_b, n, warm start, best so far) and a
step advances every unfinished lane by one iteration of its fin loop. The air volume and R_fin come from
the scalar functions and their memo tables (shared with the one-at-a-time search); ψ, R_tot and Q are
evaluated on arrays by the same term functions, which use only + − × ÷ there (exact in numpy as in
Python), and tanh stays on Python floats, so every lane ends on the same floats as the scalar search.

:func:`prefetch_heatsinks` gives the §7.7 selection of every heat source of a phase its BEST results from
such batches: it runs :func:`heatsink.select_heatsink` against the results computed so far, and whatever
base lengths the selections still need (plus a few beyond, as the scan usually goes on) form the next batch.
"""
from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np

from . import heatsink as hs

#: base lengths a selection gets in the first batch (with its reference lane); later batches double it ...
FIRST_CHUNK = 12
#: ... unless Q(L) rises: then the lengths to 95 % of the reference budget at the recent slope, × 1.5 + 2
#: (Q(L) is concave, so the straight line undershoots), at least 4. Each batch costs a few hundred
#: lockstep steps, each length computed in vain a few hundred air-volume walks: this keeps both few.
AHEAD_FACTOR, AHEAD_EXTRA, AHEAD_MIN = 1.5, 2, 4


def _thicknesses() -> list[float]:
    """§7.6 t_b = Δt, 2Δt, … (accumulated) while t_b < H_tot."""
    out, t_b = [], hs.DT
    while t_b < hs.H_TOT:
        out.append(t_b)
        t_b = t_b + hs.DT
    return out


_T_B = _thicknesses()
_H = [hs.H_TOT - t_b for t_b in _T_B]


def best_fin_designs(lanes: Sequence[tuple[float, int, bool, float, float]], guard: bool
                     ) -> list[hs.FinDesign | None | hs.WarmStartError]:
    """BEST(L, N, lane) of §7.6 for every ``(L, N, lane, l, w)`` in ``lanes``: the design, ``None``, or the
    WarmStartError the scalar search would raise (``guard`` off and a warm start ≤ 0)."""
    m = len(lanes)
    if not m:
        return []
    tanh, DV, N_MAX = math.tanh, hs.DV, hs.N_MAX
    five_dv = 5 * DV
    L_list = [ln[0] for ln in lanes]
    L_air_list = [ln[0] * ln[1] if ln[2] else ln[0] for ln in lanes]
    terms = np.array([hs.source_terms(ln[3], ln[4], ln[0]) for ln in lanes]).T
    L = np.array(L_list)
    N = np.array([float(ln[1]) for ln in lanes])
    r2, eps, lam, sp_den, R_die_tim = terms
    H_of = np.array(_H)
    fins = [hs._FIN_RESISTANCE_CACHE.setdefault(x, {}) for x in L_list]   # R_fin memo per base length
    chains: dict[tuple[float, float], int] = {}
    chain = np.array([chains.setdefault((x, y), len(chains)) for x, y in zip(L_list, L_air_list)])
    volumes, air_volume = hs._AIR_VOLUME_CACHE, hs.air_volume_m3_per_s

    # loop state of every lane: thickness index, fin count, warm start, best of this thickness, best overall
    tbi = np.zeros(m, dtype=np.int64)
    n = np.full(m, 2, dtype=np.int64)
    v_start = np.full(m, DV)
    bt_ok, bt_n, bt_V, bt_Q = np.zeros(m, bool), np.zeros(m, np.int64), np.zeros(m), np.zeros(m)
    bL_ok, bL_n, bL_tbi, bL_V, bL_Q = (np.zeros(m, bool), np.zeros(m, np.int64), np.zeros(m, np.int64),
                                       np.zeros(m), np.zeros(m))
    failed = np.zeros(m, bool)
    th, eps_tau = np.empty(m), np.empty(m)

    def enter_thickness(idx: np.ndarray) -> None:
        """The terms of §7.5 that change with t_b only (hoisted as in the scalar search)."""
        tau = np.array(_T_B)[tbi[idx]] / r2[idx]
        th[idx] = [tanh(x) for x in (lam[idx] * tau).tolist()]
        eps_tau[idx] = eps[idx] * tau / hs._SQRT_PI

    active = np.arange(m)
    enter_thickness(active)
    while active.size:
        vs = v_start[active]
        low = vs <= 0
        if low.any():
            if guard:
                vs[low] = DV
            else:
                failed[active[low]] = True
                active, vs = active[~low], vs[~low]
                if not active.size:
                    break
        n_a, tbi_a = n[active], tbi[active]
        # lanes of the same chain (base length and air length) in the same state share V and R_fin:
        # look each distinct state up once
        state = (chain[active] * 64 + n_a) * 64 + tbi_a
        bits = vs.view(np.int64)
        order = np.lexsort((bits, state))
        s_sorted, b_sorted = state[order], bits[order]
        new_group = np.empty(order.size, bool)
        new_group[0] = True
        np.not_equal(s_sorted[1:], s_sorted[:-1], out=new_group[1:])
        new_group[1:] |= b_sorted[1:] != b_sorted[:-1]
        first = order[new_group]                        # one lane per distinct state
        group = np.empty(order.size, np.int64)
        group[order] = np.cumsum(new_group) - 1         # each lane's distinct state
        uV, uR = [], []
        for i, k, t, v0 in zip(active[first].tolist(), n_a[first].tolist(), tbi_a[first].tolist(),
                               vs[first].tolist()):
            H, L_air = _H[t], L_air_list[i]
            V = volumes.get((k, H, L_air, v0))
            if V is None:
                V = air_volume(k, H, L_air, v0)
            uV.append(V)
            if V > 0:
                memo = fins[i]
                R = memo.get((k, H, V))
                if R is None:
                    Li = L_list[i]
                    g = hs.fin_gap_m(k)
                    R = memo[(k, H, V)] = hs.fin_resistance_k_per_w(k, g, (k - 1) * g * Li, 2 * H * Li, H, V,
                                                                      hs.MU * Li)
                uR.append(R)
            else:
                uR.append(0.0)
        V = np.array(uV)[group]
        v_start[active] = V - five_dv
        pos = V > 0
        ap, Vp, n_p = active[pos], V[pos], n_a[pos]
        R_fin = np.array(uR)[group[pos]]
        R_tot = (R_die_tim[ap] + hs.spreading_psi(R_fin, L[ap], r2[ap], lam[ap], th[ap], eps_tau[ap], eps[ap])
                 / sp_den[ap] + R_fin)
        Q = hs.package_power_w(R_tot, N[ap], Vp)
        better = ~bt_ok[ap] | (Q > bt_Q[ap])
        ab = ap[better]
        bt_ok[ab], bt_n[ab], bt_V[ab], bt_Q[ab] = True, n_p[better], Vp[better], Q[better]
        n[ab] += np.where(tbi[ab] == 0, 2, 1)
        stays = np.zeros(active.size, bool)             # the lanes whose fin loop goes on
        stays[np.flatnonzero(pos)[better]] = n[ab] <= N_MAX
        go_on, ended = active[stays], active[~stays]
        # end of the fin loop (§7.6 step 3–4)
        has = bt_ok[ended]
        improved = has & (~bL_ok[ended] | (bt_Q[ended] > bL_Q[ended]))
        ei = ended[improved]
        bL_ok[ei], bL_n[ei], bL_tbi[ei], bL_V[ei], bL_Q[ei] = True, bt_n[ei], tbi[ei], bt_V[ei], bt_Q[ei]
        nxt = ended[~(has & ~improved)]
        tbi[nxt] += 1
        nxt = nxt[tbi[nxt] < len(_T_B)]
        n[nxt] = 2
        bt_ok[nxt] = False
        enter_thickness(nxt)
        active = np.concatenate((go_on, nxt))

    out: list[hs.FinDesign | None | hs.WarmStartError] = []
    for i, (ok, k, t, V1, Q1) in enumerate(zip(bL_ok.tolist(), bL_n.tolist(), bL_tbi.tolist(), bL_V.tolist(),
                                               bL_Q.tolist())):
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
            wanted = ([] if lane else [(hs.L_MAX, False)]) + [(x, True) for x in lengths[start:start + count]]
            for L, lane in wanted:
                if (L, lane) not in got:
                    lanes.append((L, N, lane, side * 1e-3, side * 1e-3))
                    owners.append((got, (L, lane)))
        for (got, at), r in zip(owners, best_fin_designs(lanes, guard)):
            got[at] = r
        chunk *= 2
