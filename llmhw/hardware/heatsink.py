"""Plate-fin heatsink with a fan (model.md §7): the largest package power one lane can cool.

The result depends only on the heat-source size and the packages per lane, so it is memoized on
(heat-source side, packages per lane, warm-start guard). The inner search is written as flat scalar
arithmetic: every loop variable is accumulated by repeated addition exactly as §7.6–§7.7 prescribe,
because the loop exits depend on the accumulated values (§18).
"""
from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Callable

# §7.1 constants (SI)
W_B = 0.06            # m, base width
L_MAX = 0.45          # m, maximum lane length
T_FIN = 0.5e-3        # m
K_FIN = 200.0         # W/(m·K)
K_BASE = 200.0
K_TIM = 4.0
T_TIM = 0.1e-3
K_DIE = 149.0
T_DIE = 0.70e-3
C_P = 1004.9          # J/(kg·K)
K_AIR = 0.02624       # W/(m·K)
RHO = 1.1644          # kg/m³
MU = 1.886e-5         # kg/(m·s)
DL = 1e-3             # m, base-length step
DT = 1e-3             # m, base-thickness step
H_TOT = 35e-3         # m, base thickness + fin height
CFM_M3_PER_S = 0.3048 ** 3 / 60
DV = 0.1 * CFM_M3_PER_S   # m³/s, air-volume step
T_MAX_C = 90.0
T_AMB_C = 30.0
G_MIN = 1e-3
N_MAX = int((W_B + G_MIN) / (T_FIN + G_MIN))   # 40 fins
PRICE_AL_USD_PER_M3 = 4122.68
PRICE_CU_USD_PER_M3 = 40707.66
C0_USD = 1.0
WITHIN_BEST = 0.95    # §7.7: stop scanning lengths once within 95 % of the reference budget

_PR = MU * C_P / K_AIR
_PR_CBRT = _PR ** (1 / 3)
_SQRT_PI = math.sqrt(math.pi)


def fan_pressure_pa(v: float) -> float:
    """§7.2: static pressure of the 7.4 W 38 mm fan 9GA0312P3K001 at air volume v (m³/s)."""
    if 0 <= v <= 0.01:
        return (1.49e14 * v ** 5 - 4.099e12 * v ** 4 + 3.833e10 * v ** 3 - 1.375e8 * v ** 2
                + 70736.364 * v + 799.481)
    return 0.0


def fin_gap_m(n: int) -> float:
    """§7.4 gap between n fins on the base width."""
    return (W_B - n * T_FIN) / (n - 1)


#: fin_gap_m(n) for n = 0 … N_MAX (0.0 below two fins): the searches look gaps up instead of computing them
FIN_GAPS_M = (0.0, 0.0) + tuple(fin_gap_m(k) for k in range(2, N_MAX + 1))


def channel_terms(n: int, H: float) -> tuple[float, float, float, float, float]:
    """§7.3 terms of n fin channels of height H that do not depend on the air volume:
    (hydraulic diameter D_h, flow area, K_c, K_e, f·Re numerator)."""
    g = fin_gap_m(n)
    lam = g / H
    sigma = 1 - n * T_FIN / W_B
    f_num = (24 - 32.527 * lam + 46.721 * lam ** 2 - 40.829 * lam ** 3 + 22.954 * lam ** 4
             - 6.089 * lam ** 5)
    return 2 * g, (n - 1) * g * H, 0.42 * (1 - sigma ** 2), (1 - sigma ** 2) ** 2, f_num


def channel_pressure_drop_pa(V: float, L: float, D_h: float, flow_area: float, K_c: float, K_e: float,
                             f_num: float, sqrt=math.sqrt) -> float:
    """§7.3 Δp at air volume V: contraction + developing-flow friction + expansion loss (terms of
    :func:`channel_terms`)."""
    v = V / flow_area
    Re = RHO * v * D_h / MU
    L_star = L / D_h / Re
    f = f_num / Re
    f_app = sqrt((3.44 / sqrt(L_star)) ** 2 + (f * Re) ** 2) / Re
    return (K_c + 4 * f_app * L / D_h + K_e) * RHO * v ** 2 / 2


def fin_pressure_drop_pa(n: int, H: float, L: float, V: float) -> float:
    """§7.3 Δp(n, H, L, V) of the fin channels."""
    return channel_pressure_drop_pa(V, L, *channel_terms(n, H))


_AIR_VOLUME_CACHE: dict[tuple[int, float, float, float], float] = {}
_CHANNEL_TERMS: dict[tuple[int, float], tuple[float, float, float, float, float]] = {}   # (n, H) → channel_terms
#: the batched search's memo (:mod:`llmhw.hardware.heatsink_batch`), on integers: chain (base length, air
#: length) → id, and (chain state = (id·64 + n)·64 + thickness index, bits of the warm start) → (V, R_fin)
_CHAIN_IDS: dict[tuple[float, float], int] = {}
_CHAIN_STATES: dict[tuple[int, int], tuple[float, float]] = {}
#: (n, H) → the proofs of earlier air-volume searches (:func:`air_volume_search`), one column per channel
#: length: (lengths ascending, largest V proven to pass, smallest V proven to fail).
_PROOFS: dict[tuple[int, float], tuple[list[float], list[float], list[float]]] = {}
#: base length L → {(n, H, V): R_fin}: heat sources of the same lane length share their fin resistances.
_FIN_RESISTANCE_CACHE: dict[float, dict[tuple[int, float, float], float]] = {}


#: §7.2's polynomial falls monotonically on [FAN_FALLS_FROM_M3_PER_S, FAN_FALLS_TO_M3_PER_S]: the real roots of
#: p_fan' are 2.912e-4 and 1.0824e-2 m³/s (tested), and the polynomial's range ends at 0.01 (0 above it, a rise).
FAN_FALLS_FROM_M3_PER_S = 3e-4
FAN_FALLS_TO_M3_PER_S = 0.01
#: A grid point whose Δp is this far below the fan vouches for every point below it (see
#: :func:`air_volume_search`); the rounding error of either side is below 1e-10 Pa (terms ≤ 5e4 Pa).
CERTAIN_PA = 1e-6
#: Proofs that leave at most this gap between the last point known to pass and the first known to fail are
#: finished by walking the grid up point by point (a gallop would probe settled points).
NARROW_M3_PER_S = 4 * DV
#: The warm start sits 5 ΔV below the previous answer, so the first failing point is usually the 6th or 7th.
_FIRST_PROBE = 5


def air_volume_m3_per_s(n: int, H: float, L: float, v_start: float) -> float:
    """§7.4 A(n, H, L, V_start) (:func:`air_volume_search`), memoized: heat sources with the same packages
    per lane walk the same (n, H, L, V_start) chain until their searches diverge."""
    key = (n, H, L, v_start)
    cached = _AIR_VOLUME_CACHE.get(key)
    if cached is None:
        cached = _remember(key, air_volume_search(n, H, L, v_start))
    return cached


def air_volume_search(n: int, H: float, L: float, v_start: float) -> float:
    """§7.4 A(n, H, L, V_start): the grid point just below the first one where Δp exceeds the fan.

    The grid V_k = V_start + k·ΔV is accumulated by repeated addition as §7.4 walks it, and the answer is the
    same float as the step-by-step walk's, found with far fewer evaluations of Δp and p_fan: where the fan
    curve falls (FAN_FALLS_FROM…FAN_FALLS_TO) and Δp rises (it does for every V > 0: with Re ∝ v ∝ V,
    Δp = (K_c + K_e)·ρv²/2 + (2ρL/(D_h·c)) · √(3.44²·D_h·Re/L + f_num²) · v, both terms increasing),
    Δp − p_fan increases, so a point whose Δp lies CERTAIN_PA below the fan (far more than the rounding
    error) proves every earlier point of that stretch below the fan too. Below FAN_FALLS_FROM the walk is
    step by step; a point that passes without that margin makes the rest of the walk step by step.
    The search gallops up from the 6th point to a failing one, tries the two points just below it, then
    bisects between the last proven and the first failing point.

    Δp also rises with the channel length L (the second term is (2ρ/(D_h·c)) · √(3.44²·D_h·Re·L + f_num²·L²)
    · v), so such proofs carry over between lengths of the same (n, H): a point proven to pass at L' ≥ L
    passes at L, and one whose Δp lies CERTAIN_PA above the fan at L' ≤ L fails at L, for every V of the
    stretch up to (respectively from) it. The search keeps the best proofs per (n, H) and length
    (``_PROOFS``) and evaluates only the points they do not settle.
    """
    nh = (n, H)
    terms = _CHANNEL_TERMS.get(nh)
    if terms is None:
        terms = _CHANNEL_TERMS[nh] = channel_terms(n, H)
    D_h, flow_area, K_c, K_e, f_num = terms
    drop, fan = channel_pressure_drop_pa, fan_pressure_pa
    V = v_start
    while V < FAN_FALLS_FROM_M3_PER_S:               # the fan may still rise: step by step
        if drop(V, L, D_h, flow_area, K_c, K_e, f_num) > fan(V):
            return V - DV
        V = V + DV
    lengths, passes, fails_from = _PROOFS.get(nh) or _PROOFS.setdefault(nh, ([], [], []))
    i, j = bisect_left(lengths, L), bisect_right(lengths, L)
    passing = passes[i] if i < len(lengths) else 0.0     # every point of the stretch ≤ passing passes (L' ≥ L)
    failing = fails_from[j - 1] if j else math.inf       # every point of the stretch ≥ failing fails (L' ≤ L)
    top = FAN_FALLS_TO_M3_PER_S
    if failing - passing <= NARROW_M3_PER_S:         # the proofs settle all but a point or two: walk up
        while True:
            if V > passing:
                if failing <= V <= top:
                    break
                d, f = drop(V, L, D_h, flow_area, K_c, K_e, f_num), fan(V)
                if d > f:
                    if d > f + CERTAIN_PA and V <= top:
                        failing = V
                    break
                if not (d < f - CERTAIN_PA and V <= top):     # no proof: step by step from here
                    V = _first_failing(V + DV, L, terms)
                    break
                passing = V
            V = V + DV
    else:
        grid = [V]             # grid[k]: the k-th point from here, accumulated
        lo, hi = 0, None       # every point before grid[lo] passes (Δp ≤ p_fan); grid[hi] fails
        k, step, fails = _FIRST_PROBE, 1, 0
        while hi is None or lo < hi:
            if k >= len(grid):
                V = grid[-1]
                for _ in range(k + 1 - len(grid)):
                    V = V + DV
                    grid.append(V)
            V = grid[k]
            if V <= passing:
                proven = True
            elif failing <= V <= top:
                proven = False
            else:
                d, f = drop(V, L, D_h, flow_area, K_c, K_e, f_num), fan(V)
                proven = False if d > f else (d < f - CERTAIN_PA and V <= top) or None
                if proven and V > passing:
                    passing = V
                elif d > f + CERTAIN_PA and V <= top and V < failing:
                    failing = V
            if proven is False:
                hi, fails = k, fails + 1
                k = hi - 1 if fails <= 2 else (lo + hi) // 2
            elif proven:                                  # proves grid[lo..k] pass
                lo, fails = k + 1, 3
                if hi is None:
                    k, step = k + step, step * 2
                else:
                    k = (lo + hi) // 2
            else:                                         # no proof: step by step from the last proven point
                V = _first_failing(grid[lo], L, terms)
                break
        else:
            V = grid[hi]
    if i < j:                  # this length has proofs already: keep the better of each
        passes[i], fails_from[i] = max(passes[i], passing), min(fails_from[i], failing)
    else:
        lengths.insert(i, L)
        passes.insert(i, passing)
        fails_from.insert(i, failing)
    return V - DV


def _first_failing(V: float, L: float, terms: tuple[float, float, float, float, float]) -> float:
    """§7.4's plain walk from V: the first grid point V, V + ΔV, … (accumulated) where Δp exceeds the fan."""
    while channel_pressure_drop_pa(V, L, *terms) <= fan_pressure_pa(V):
        V = V + DV
    return V


#: Entries a memo table of the search holds before it is emptied (the air volumes, and the batched search's
#: chain states; the proofs go with them).
MEMO_LIMIT = 2_000_000


def bound_memos() -> None:
    """Empty the search's memo tables (air volumes, fin resistances, chain states, proofs) once the air
    volumes or the chain states hold more than MEMO_LIMIT entries."""
    if len(_AIR_VOLUME_CACHE) > MEMO_LIMIT or len(_CHAIN_STATES) > MEMO_LIMIT:
        _AIR_VOLUME_CACHE.clear()
        _FIN_RESISTANCE_CACHE.clear()
        _CHAIN_STATES.clear()
        _PROOFS.clear()


def _remember(key: tuple[int, float, float, float], V: float) -> float:
    bound_memos()
    _AIR_VOLUME_CACHE[key] = V
    return V


def fin_resistance_k_per_w(n: int, g: float, A_exp: float, A_fin: float, H: float, V: float, mu_L: float,
                           sqrt=math.sqrt, tanh=math.tanh) -> float:
    """§7.5 R_fin of n fins (gap g, exposed base area A_exp, fin area A_fin = 2·H·L) at air volume V;
    ``mu_L`` = μ·L (hoisted by the search)."""
    v = V / ((n - 1) * g * H)
    Re = RHO * v * g ** 2 / mu_L
    Nu = ((Re * _PR / 2) ** (-3)
          + (0.664 * sqrt(Re) * _PR_CBRT * sqrt(1 + 3.65 / sqrt(Re))) ** (-3)) ** (-1 / 3)
    h = Nu * K_AIR / g
    m = sqrt(2 * h / (K_FIN * T_FIN))
    eta = tanh(m * H) / (m * H)
    return 1 / (h * (A_exp + n * eta * A_fin))


def fin_resistance_at(n: int, H: float, L: float, V: float) -> float:
    """§7.5 R_fin of n fins of height H on a base of length L at air volume V (the geometric terms of
    :func:`fin_resistance_k_per_w` formed for one point; the search hoists them instead)."""
    g = FIN_GAPS_M[n]
    return fin_resistance_k_per_w(n, g, (n - 1) * g * L, 2 * H * L, H, V, MU * L)


def resistance_sum_k_per_w(R_die_tim, psi, sp_den, R_fin):
    """§7.5 R_tot = (R_die + R_tim) + R_sp + R_fin, with R_sp = ψ / sp_den (floats or arrays alike)."""
    return R_die_tim + psi / sp_den + R_fin


def spreading_psi(R_fin: float, L: float, r2: float, lam: float, th: float, eps_tau: float, eps: float) -> float:
    """§7.5 ψ of the spreading resistance R_sp = ψ / (k_base·r1·√π), with th = tanh(λτ), τ = t_b / r2 and
    eps_tau = ε·τ/√π (hoisted by the search)."""
    h_eff = 1 / (R_fin * L * W_B)
    Bi = h_eff * r2 / K_BASE
    phi = (th + lam / Bi) / (1 + (lam / Bi) * th)
    return eps_tau + (1 - eps) * phi / _SQRT_PI


def source_terms(l: float, w: float, L: float) -> tuple[float, float, float, float, float]:
    """§7.5 terms of a heat source l × w (m) on a base of length L: (r2, ε, λ, k_base·r1·√π, R_die + R_tim)."""
    r1 = math.sqrt(l * w / math.pi)
    r2 = math.sqrt(L * W_B / math.pi)
    eps = r1 / r2
    lam = math.pi + 1 / (eps * _SQRT_PI)
    return r2, eps, lam, K_BASE * r1 * _SQRT_PI, T_DIE / (K_DIE * l * w) + T_TIM / (K_TIM * l * w)


def thermal_resistance_k_per_w(n: int, H: float, L: float, t_b: float, V: float, l: float, w: float) -> float:
    """§7.5 R_tot = R_die + R_tim + R_sp + R_fin for a heat source l × w (m) (the search's terms, one point)."""
    R_fin = fin_resistance_at(n, H, L, V)
    r2, eps, lam, sp_den, R_die_tim = source_terms(l, w, L)
    tau = t_b / r2
    psi = spreading_psi(R_fin, L, r2, lam, math.tanh(lam * tau), eps * tau / _SQRT_PI, eps)
    return resistance_sum_k_per_w(R_die_tim, psi, sp_den, R_fin)


def package_power_w(R_tot: float, N: int, V: float) -> float:
    """§7.5: Q = (T_max − T_amb) / (R_tot + (N − 1)/(c_p·ρ·V)) with N packages in one air stream."""
    return (T_MAX_C - T_AMB_C) / (R_tot + (N - 1) / (C_P * RHO * V))


def _thicknesses() -> list[float]:
    """§7.6 t_b = Δt, 2Δt, … (accumulated) while t_b < H_tot."""
    out, t_b = [], DT
    while t_b < H_TOT:
        out.append(t_b)
        t_b = t_b + DT
    return out


THICKNESSES_M = _thicknesses()
FIN_HEIGHTS_M = [H_TOT - t_b for t_b in THICKNESSES_M]   # H = H_tot − t_b


class WarmStartError(ArithmeticError):
    """§16.2 #10: the reference's warm start became ≤ 0 (it crashes there)."""


@dataclass(frozen=True)
class FinDesign:
    n: int
    t_b_m: float
    H_m: float
    L_m: float
    V_m3_per_s: float
    Q_w: float


def best_fin_design(L: float, N: int, lane: bool, l: float, w: float, guard: bool) -> FinDesign | None:
    """§7.6 BEST(L, N, lane): search base thickness, fin count and air volume (warm-started).

    §7.5 is evaluated with the same term functions as :func:`thermal_resistance_k_per_w`, each term that
    does not change inside a loop hoisted out of it.
    """
    tanh = math.tanh
    v_start = DV
    best_L = None
    fin_step = 2
    L_air = L * N if lane else L
    r2, eps, lam, sp_den, R_die_tim = source_terms(l, w, L)     # heat source and base length (§7.5)
    cache = _AIR_VOLUME_CACHE
    fins = _FIN_RESISTANCE_CACHE.setdefault(L, {})      # R_fin depends on (n, H, L, V) only, not the source
    gaps = FIN_GAPS_M
    exposed = [0.0, 0.0] + [(k - 1) * gaps[k] * L for k in range(2, N_MAX + 1)]
    mu_L = MU * L
    for t_b, H in zip(THICKNESSES_M, FIN_HEIGHTS_M):
        n = 2
        best_t = None
        A_fin = 2 * H * L
        tau = t_b / r2
        th = tanh(lam * tau)
        eps_tau = eps * tau / _SQRT_PI
        while n <= N_MAX:
            if v_start <= 0:
                if not guard:
                    raise WarmStartError("heatsink warm start ≤ 0")
                v_start = DV
            V = cache.get((n, H, L_air, v_start))
            if V is None:
                V = air_volume_m3_per_s(n, H, L_air, v_start)
            v_start = V - 5 * DV
            if V <= 0:
                break
            R_fin = fins.get((n, H, V))
            if R_fin is None:
                R_fin = fins[(n, H, V)] = fin_resistance_k_per_w(n, gaps[n], exposed[n], A_fin, H, V, mu_L)
            psi = spreading_psi(R_fin, L, r2, lam, th, eps_tau, eps)
            R_tot = resistance_sum_k_per_w(R_die_tim, psi, sp_den, R_fin)
            Q = package_power_w(R_tot, N, V)
            if best_t is None or Q > best_t[5]:
                best_t = (n, t_b, H, L, V, Q)
            else:
                break
            n = n + fin_step
        if best_t is not None:
            if best_L is None or best_t[5] > best_L[5]:
                best_L = best_t
            else:
                break
        fin_step = 1
    return None if best_L is None else FinDesign(*best_L)


@dataclass(frozen=True)
class Heatsink:
    """The chosen heatsink of one package in a lane of ``packages_per_lane`` packages (§7.7)."""

    valid: bool
    max_power_w: float
    cost_usd: float
    reason: str = ""
    violation_mm: float = 0.0   # > 0 when no heatsink fits (how far the heat source is out of reach)
    design: FinDesign | None = None
    reference_power_w: float = 0.0


def _price(conductivity: float) -> float:
    return {200.0: PRICE_AL_USD_PER_M3, 400.0: PRICE_CU_USD_PER_M3}.get(conductivity, 0.0)


#: (heat-source side mm, packages per lane, guard) → its heatsink: filled by :func:`design_heatsink` one at a
#: time and by :func:`llmhw.hardware.heatsink_batch.prefetch_heatsinks` for a whole hardware phase at once.
_HEATSINKS: dict[tuple[float, int, bool], Heatsink] = {}


def clear_caches() -> None:
    """Forget every memoized heatsink, air volume and fin resistance (benchmarks start cold)."""
    _HEATSINKS.clear()
    _AIR_VOLUME_CACHE.clear()
    _FIN_RESISTANCE_CACHE.clear()
    _CHANNEL_TERMS.clear()
    _CHAIN_IDS.clear()
    _CHAIN_STATES.clear()
    _PROOFS.clear()


def design_heatsink(heatsource_mm: float, packages_per_lane: int, guard: bool = True) -> Heatsink:
    """§7.7 heatsink selection for a square heat source of side ``heatsource_mm`` (memoized).

    ``guard`` is the corrected-mode fix of §16.2 #10 (warm start kept > 0); without it a warm start
    ≤ 0 makes the heatsink invalid, where the reference would crash.
    """
    key = (heatsource_mm, packages_per_lane, guard)
    hs = _HEATSINKS.get(key)
    if hs is None:
        side = heatsource_mm * 1e-3
        hs = _HEATSINKS[key] = select_heatsink(
            heatsource_mm, packages_per_lane,
            lambda L, lane: best_fin_design(L, packages_per_lane, lane, side, side, guard))
    return hs


def lane_lengths(heatsource_mm: float, packages_per_lane: int) -> list[float]:
    """§7.7 step 3–4: the base lengths L = ⌈l/ΔL⌉·ΔL, L + ΔL, … (accumulated) while L ≤ L_max / N."""
    L = math.ceil(heatsource_mm * 1e-3 / DL) * DL
    out = []
    while L <= L_MAX / packages_per_lane:
        out.append(L)
        L = L + DL
    return out


def select_heatsink(heatsource_mm: float, packages_per_lane: int,
                    best: Callable[[float, bool], FinDesign | None]) -> Heatsink:
    """§7.7 with ``best(L, lane)`` = BEST(L, N, lane) of this heat source (it may raise WarmStartError)."""
    N = packages_per_lane
    l = heatsource_mm * 1e-3
    w = heatsource_mm * 1e-3
    inf = float("inf")
    if w > W_B:
        return Heatsink(False, 0.0, inf, f"heat source {heatsource_mm:.4g} mm wider than the 60 mm heatsink",
                        violation_mm=heatsource_mm - W_B * 1e3)
    try:
        ref = best(L_MAX, False)
        if ref is None:
            return Heatsink(False, 0.0, inf, "no fin design cools the reference lane", violation_mm=1.0)
        chosen = None
        for L in lane_lengths(heatsource_mm, N):
            c = best(L, True)
            if c is not None and (chosen is None or c.Q_w > chosen.Q_w):
                if chosen is None or c.Q_w <= WITHIN_BEST * ref.Q_w:
                    chosen = c
                else:
                    break
    except WarmStartError as exc:
        return Heatsink(False, 0.0, inf, str(exc), violation_mm=1.0)
    if chosen is None:
        return Heatsink(False, 0.0, inf, f"lane of {N} × {heatsource_mm:.4g} mm longer than {L_MAX * 1e3:.0f} mm",
                        violation_mm=max(N * math.ceil(l / DL) * DL - L_MAX, 0.0) * 1e3 or 1.0,
                        reference_power_w=ref.Q_w)
    base_volume = W_B * chosen.L_m * chosen.t_b_m
    fin_volume = T_FIN * chosen.H_m * chosen.L_m * chosen.n
    cost = C0_USD + _price(K_BASE) * base_volume + _price(K_FIN) * fin_volume
    return Heatsink(True, chosen.Q_w, cost, design=chosen, reference_power_w=ref.Q_w)
