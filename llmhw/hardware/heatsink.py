"""Plate-fin heatsink with a fan (model.md §7): the largest package power one lane can cool.

The result depends only on the heat-source size and the packages per lane, so it is memoized on
(heat-source side, packages per lane, warm-start guard). The inner search is written as flat scalar
arithmetic: every loop variable is accumulated by repeated addition exactly as §7.6–§7.7 prescribe,
because the loop exits depend on the accumulated values (§18).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

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


def fin_pressure_drop_pa(n: int, H: float, L: float, V: float) -> float:
    """§7.3 Δp(n, H, L, V): contraction + developing-flow friction + expansion loss of the fin channels."""
    g = (W_B - n * T_FIN) / (n - 1)
    D_h = 2 * g
    lam = g / H
    v = V / ((n - 1) * g * H)
    sigma = 1 - n * T_FIN / W_B
    K_c = 0.42 * (1 - sigma ** 2)
    K_e = (1 - sigma ** 2) ** 2
    Re = RHO * v * D_h / MU
    L_star = L / D_h / Re
    f = (24 - 32.527 * lam + 46.721 * lam ** 2 - 40.829 * lam ** 3 + 22.954 * lam ** 4
         - 6.089 * lam ** 5) / Re
    f_app = math.sqrt((3.44 / math.sqrt(L_star)) ** 2 + (f * Re) ** 2) / Re
    return (K_c + 4 * f_app * L / D_h + K_e) * RHO * v ** 2 / 2


_AIR_VOLUME_CACHE: dict[tuple[int, float, float, float], float] = {}


def air_volume_m3_per_s(n: int, H: float, L: float, v_start: float) -> float:
    """§7.4 A(n, H, L, V_start): the grid point just below the first one where Δp exceeds the fan.

    Same arithmetic as :func:`fin_pressure_drop_pa` and :func:`fan_pressure_pa`, with the terms that do
    not depend on V hoisted out of the loop, and memoized: heat sources with the same packages per lane
    walk the same (n, H, L, V_start) chain until their searches diverge.
    """
    key = (n, H, L, v_start)
    cached = _AIR_VOLUME_CACHE.get(key)
    if cached is not None:
        return cached
    g = (W_B - n * T_FIN) / (n - 1)
    D_h = 2 * g
    lam = g / H
    flow_area = (n - 1) * g * H
    sigma = 1 - n * T_FIN / W_B
    K_c = 0.42 * (1 - sigma ** 2)
    K_e = (1 - sigma ** 2) ** 2
    f_num = (24 - 32.527 * lam + 46.721 * lam ** 2 - 40.829 * lam ** 3 + 22.954 * lam ** 4
             - 6.089 * lam ** 5)
    sqrt = math.sqrt
    V = v_start
    while True:
        v = V / flow_area
        Re = RHO * v * D_h / MU
        L_star = L / D_h / Re
        f = f_num / Re
        f_app = sqrt((3.44 / sqrt(L_star)) ** 2 + (f * Re) ** 2) / Re
        dp = (K_c + 4 * f_app * L / D_h + K_e) * RHO * v ** 2 / 2
        if 0 <= V <= 0.01:
            p_fan = (1.49e14 * V ** 5 - 4.099e12 * V ** 4 + 3.833e10 * V ** 3 - 1.375e8 * V ** 2
                     + 70736.364 * V + 799.481)
        else:
            p_fan = 0.0
        if dp > p_fan:
            result = V - DV
            break
        V = V + DV
    if len(_AIR_VOLUME_CACHE) > 2_000_000:
        _AIR_VOLUME_CACHE.clear()
    _AIR_VOLUME_CACHE[key] = result
    return result


def thermal_resistance_k_per_w(n: int, H: float, L: float, t_b: float, V: float, l: float, w: float) -> float:
    """§7.5 R_tot = R_die + R_tim + R_sp + R_fin for a heat source l × w (m)."""
    g = (W_B - n * T_FIN) / (n - 1)
    A_exp = (n - 1) * g * L
    A_fin = 2 * H * L
    v = V / ((n - 1) * g * H)
    Re = RHO * v * g ** 2 / (MU * L)
    Nu = ((Re * _PR / 2) ** (-3)
          + (0.664 * math.sqrt(Re) * _PR ** (1 / 3) * math.sqrt(1 + 3.65 / math.sqrt(Re))) ** (-3)) ** (-1 / 3)
    h = Nu * K_AIR / g
    m = math.sqrt(2 * h / (K_FIN * T_FIN))
    eta = math.tanh(m * H) / (m * H)
    R_fin = 1 / (h * (A_exp + n * eta * A_fin))
    h_eff = 1 / (R_fin * L * W_B)
    r1 = math.sqrt(l * w / math.pi)
    r2 = math.sqrt(L * W_B / math.pi)
    eps = r1 / r2
    tau = t_b / r2
    Bi = h_eff * r2 / K_BASE
    lam = math.pi + 1 / (eps * math.sqrt(math.pi))
    phi = (math.tanh(lam * tau) + lam / Bi) / (1 + (lam / Bi) * math.tanh(lam * tau))
    psi = eps * tau / math.sqrt(math.pi) + (1 - eps) * phi / math.sqrt(math.pi)
    R_sp = psi / (K_BASE * r1 * math.sqrt(math.pi))
    R_tim = T_TIM / (K_TIM * l * w)
    R_die = T_DIE / (K_DIE * l * w)
    return R_die + R_tim + R_sp + R_fin


def package_power_w(R_tot: float, N: int, V: float) -> float:
    """§7.5: Q = (T_max − T_amb) / (R_tot + (N − 1)/(c_p·ρ·V)) with N packages in one air stream."""
    return (T_MAX_C - T_AMB_C) / (R_tot + (N - 1) / (C_P * RHO * V))


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

    The body evaluates §7.5 inline with every term that does not change inside a loop hoisted out of
    it; each term is computed with the same operations, in the same order, as
    :func:`thermal_resistance_k_per_w` (a test checks the two agree bit for bit).
    """
    sqrt, tanh, pi = math.sqrt, math.tanh, math.pi
    sqrt_pi = math.sqrt(math.pi)
    v_start = DV
    best_L = None
    fin_step = 2
    L_air = L * N if lane else L
    # heat-source and base-length terms (§7.5 spreading resistance, TIM, die)
    r1 = sqrt(l * w / pi)
    r2 = sqrt(L * W_B / pi)
    eps = r1 / r2
    lam = pi + 1 / (eps * sqrt(pi))
    sp_den = K_BASE * r1 * sqrt(pi)
    R_die_tim = T_DIE / (K_DIE * l * w) + T_TIM / (K_TIM * l * w)
    dT = T_MAX_C - T_AMB_C
    n_series = N - 1
    cp_rho = C_P * RHO
    cache = _AIR_VOLUME_CACHE
    gaps = [0.0, 0.0] + [(W_B - k * T_FIN) / (k - 1) for k in range(2, N_MAX + 1)]
    exposed = [0.0, 0.0] + [(k - 1) * gaps[k] * L for k in range(2, N_MAX + 1)]
    mu_L = MU * L
    t_b = DT
    while t_b < H_TOT:
        n = 2
        best_t = None
        H = H_TOT - t_b
        A_fin = 2 * H * L
        tau = t_b / r2
        th = tanh(lam * tau)
        eps_tau = eps * tau / sqrt_pi
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
            g = gaps[n]
            A_exp = exposed[n]
            v = V / ((n - 1) * g * H)
            Re = RHO * v * g ** 2 / mu_L
            Nu = ((Re * _PR / 2) ** (-3)
                  + (0.664 * sqrt(Re) * _PR_CBRT * sqrt(1 + 3.65 / sqrt(Re))) ** (-3)) ** (-1 / 3)
            h = Nu * K_AIR / g
            m = sqrt(2 * h / (K_FIN * T_FIN))
            eta = tanh(m * H) / (m * H)
            R_fin = 1 / (h * (A_exp + n * eta * A_fin))
            h_eff = 1 / (R_fin * L * W_B)
            Bi = h_eff * r2 / K_BASE
            phi = (th + lam / Bi) / (1 + (lam / Bi) * th)
            psi = eps_tau + (1 - eps) * phi / sqrt_pi
            R_tot = R_die_tim + psi / sp_den + R_fin
            Q = dT / (R_tot + n_series / (cp_rho * V))
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
        t_b = t_b + DT
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


@lru_cache(maxsize=None)
def design_heatsink(heatsource_mm: float, packages_per_lane: int, guard: bool = True) -> Heatsink:
    """§7.7 heatsink selection for a square heat source of side ``heatsource_mm`` (memoized).

    ``guard`` is the corrected-mode fix of §16.2 #10 (warm start kept > 0); without it a warm start
    ≤ 0 makes the heatsink invalid, where the reference would crash.
    """
    N = packages_per_lane
    l = heatsource_mm * 1e-3
    w = heatsource_mm * 1e-3
    inf = float("inf")
    if w > W_B:
        return Heatsink(False, 0.0, inf, f"heat source {heatsource_mm:.4g} mm wider than the 60 mm heatsink",
                        violation_mm=heatsource_mm - W_B * 1e3)
    try:
        ref = best_fin_design(L_MAX, N, False, l, w, guard)
        if ref is None:
            return Heatsink(False, 0.0, inf, "no fin design cools the reference lane", violation_mm=1.0)
        L = math.ceil(l / DL) * DL
        chosen = None
        while L <= L_MAX / N:
            c = best_fin_design(L, N, True, l, w, guard)
            if c is not None and (chosen is None or c.Q_w > chosen.Q_w):
                if chosen is None or c.Q_w <= WITHIN_BEST * ref.Q_w:
                    chosen = c
                else:
                    break
            L = L + DL
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
