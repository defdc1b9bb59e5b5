"""Heatsink (model.md §7): the search (hoisted §7.5 terms) equals the plain equations, and limits behave."""
from __future__ import annotations

import pytest

from llmhw.hardware import heatsink as hs


@pytest.mark.parametrize("n, t_b, L, V, side_mm", [(40, 4e-3, 0.055, 0.0086, 48.8), (12, 9e-3, 0.2, 0.004, 20.0),
                                                     (3, 1e-3, 0.01, 0.0005, 3.0)])
def test_inline_thermal_resistance_matches_plain_equations(n, t_b, L, V, side_mm):
    """The one-point §7.5 composition of the search terms gives a positive package power."""
    l = w = side_mm * 1e-3
    H = hs.H_TOT - t_b
    plain_q = hs.package_power_w(hs.thermal_resistance_k_per_w(n, H, L, t_b, V, l, w), 2, V)
    assert plain_q > 0


def _plain_air_volume(n, H, L, v_start):
    """§7.4 as written: step V by ΔV (accumulated) until Δp > p_fan, return V − ΔV."""
    V = v_start
    while hs.fin_pressure_drop_pa(n, H, L, V) <= hs.fan_pressure_pa(V):
        V = V + hs.DV
    return V - hs.DV


def test_air_volume_equals_plain_pressure_balance():
    """The jump search A(n, H, L, V0) returns the same float as stepping §7.3 Δp against §7.2 p_fan."""
    for n, H, L in [(2, 34e-3, 0.45), (20, 30e-3, 0.11), (40, 31e-3, 0.055)]:
        hs._AIR_VOLUME_CACHE.clear()
        assert hs.air_volume_m3_per_s(n, H, L, hs.DV) == _plain_air_volume(n, H, L, hs.DV)


def test_air_volume_jump_search_equals_walk_over_many_chains():
    """Cold and warm starts, starts below and across the fan's turning point (2.9e-4), starts near and past
    0.01 (where p_fan drops to 0), crossings at the first point, short and very long channels."""
    import random
    rng = random.Random(7)
    starts = [hs.DV, 2.5e-4, 2.9e-4, 2.9124e-4, 3e-4, 3.1e-4, 0.0099, 0.00999, 0.01, 0.0101, 0.02]
    cases = []
    for _ in range(500):
        n = rng.randint(2, hs.N_MAX)
        H = hs.H_TOT - rng.randint(1, 34) * hs.DT
        L = rng.choice([rng.uniform(1e-3, 0.45), rng.uniform(0.45, 3.0), rng.uniform(1e-4, 1e-3)])
        v0 = rng.choice(starts + [rng.uniform(1e-6, 0.0105)] * 4)
        cases.append((n, H, L, v0))
    for n, H, L, v0 in cases:
        hs._AIR_VOLUME_CACHE.clear()
        assert hs.air_volume_m3_per_s(n, H, L, v0) == _plain_air_volume(n, H, L, v0), (n, H, L, v0)
        for k in (1, 5, 6, 9):                   # warm starts a few steps below the answer (§7.6)
            warm = _plain_air_volume(n, H, L, v0) - k * hs.DV
            if warm > 0:
                hs._AIR_VOLUME_CACHE.clear()
                assert hs.air_volume_m3_per_s(n, H, L, warm) == _plain_air_volume(n, H, L, warm)


@pytest.mark.parametrize("margin_pa", [5.0, 500.0])
def test_air_volume_search_without_proof_walks_like_the_plain_walk(monkeypatch, margin_pa):
    """A point whose Δp is not CERTAIN_PA clear of the fan proves nothing, and the search walks on step by
    step (in the gallop and in the narrow walk between carried proofs). With the margin raised from 1e-6 Pa
    to a few Pa or hundreds, most searches take that path; their answers stay the plain walk's floats."""
    import random
    rng = random.Random(3)
    monkeypatch.setattr(hs, "CERTAIN_PA", margin_pa)
    hs.clear_caches()
    for _ in range(300):
        n, H = rng.randint(2, hs.N_MAX), hs.H_TOT - rng.randint(1, 34) * hs.DT
        L = rng.choice([rng.uniform(1e-3, 0.45), 0.45, 0.45 + hs.DL])      # repeated lengths: narrow walks
        answer = _plain_air_volume(n, H, L, hs.DV)
        for start in (hs.DV, answer - 5 * hs.DV, answer - rng.randint(0, 60) * hs.DV):
            if start > 0:
                assert hs.air_volume_search(n, H, L, start) == _plain_air_volume(n, H, L, start), (n, H, L, start)
    hs.clear_caches()


def test_pressure_drop_rises_with_channel_length():
    """Δp(n, H, L, V) rises with L at fixed n, H, V (the proofs of one length carry over to the others):
    checked on 2,000 random (n, H, V) over lengths from 0.1 mm to 3 m."""
    import random
    rng = random.Random(11)
    lengths = [1e-4 * 1.05 ** k for k in range(300) if 1e-4 * 1.05 ** k < 3.0]
    for _ in range(2000):
        n, H = rng.randint(2, hs.N_MAX), hs.H_TOT - rng.randint(1, 34) * hs.DT
        V = rng.uniform(hs.FAN_FALLS_FROM_M3_PER_S, hs.FAN_FALLS_TO_M3_PER_S)
        drops = [hs.fin_pressure_drop_pa(n, H, L, V) for L in lengths]
        assert all(b > a for a, b in zip(drops, drops[1:])), (n, H, V)


def test_air_volume_proofs_carried_between_lengths_equal_the_walk(monkeypatch):
    """Searches of one (n, H) at many lengths (ascending, descending, shuffled; cold, warm and far starts)
    return the plain walk's float while they settle points with the proofs of other lengths (far fewer
    evaluations of Δp than the same searches with no proofs kept)."""
    import random
    rng = random.Random(5)
    calls = []
    drop = hs.channel_pressure_drop_pa

    def counted(*args, **kw):
        calls.append(1)
        return drop(*args, **kw)

    cases = []
    for n, H in [(2, 34e-3), (9, 30e-3), (24, 20e-3), (40, 1e-3)]:
        lengths = [0.02 + 0.001 * k for k in range(200)] + [0.45 * m for m in (1, 2, 3)]
        for order in (sorted(lengths), sorted(lengths, reverse=True), rng.sample(lengths, len(lengths))):
            for L in order:
                answer = _plain_air_volume(n, H, L, hs.DV)
                start = rng.choice([hs.DV, answer - 5 * hs.DV, answer - rng.randint(0, 40) * hs.DV, 3e-4])
                cases.append((n, H, L, start if start > 0 else hs.DV))
    expected = [_plain_air_volume(*c) for c in cases]
    monkeypatch.setattr(hs, "channel_pressure_drop_pa", counted)
    counts = {}
    for keep in (True, False):
        hs.clear_caches()
        calls.clear()
        for case, want in zip(cases, expected):
            if not keep:
                hs._PROOFS.clear()
            assert hs.air_volume_search(*case) == want, case
        counts[keep] = len(calls)
    assert counts[True] < 0.6 * counts[False], counts
    hs.clear_caches()


def test_fan_curve_falls_where_the_jump_search_relies_on_it():
    """p_fan'(V) = 5·1.49e14·V⁴ − 4·4.099e12·V³ + 3·3.833e10·V² − 2·1.375e8·V + 70736.364 < 0 on
    [FAN_FALLS_FROM, FAN_FALLS_TO]; it is +70736 at V = 0, so the fan rises first."""
    import numpy as np
    V = np.linspace(hs.FAN_FALLS_FROM_M3_PER_S, hs.FAN_FALLS_TO_M3_PER_S, 200_001)
    slope = 5 * 1.49e14 * V ** 4 - 4 * 4.099e12 * V ** 3 + 3 * 3.833e10 * V ** 2 - 2 * 1.375e8 * V + 70736.364
    assert slope.max() < 0
    assert 70736.364 > 0 and hs.fan_pressure_pa(2e-4) > hs.fan_pressure_pa(1e-4)


def test_best_fin_design_matches_unoptimised_search():
    """A plain transcription of §7.6 (no hoisting) gives the same design as the optimised one."""
    def plain_best(L, N, lane, l, w):
        v_start, best_L, fin_step, t_b = hs.DV, None, 2, hs.DT
        while t_b < hs.H_TOT:
            n, best_t = 2, None
            while n <= hs.N_MAX:
                H = hs.H_TOT - t_b
                V = hs.air_volume_m3_per_s(n, H, L * N if lane else L, v_start)
                v_start = V - 5 * hs.DV
                if V <= 0:
                    break
                Q = hs.package_power_w(hs.thermal_resistance_k_per_w(n, H, L, t_b, V, l, w), N, V)
                if best_t is None or Q > best_t[5]:
                    best_t = (n, t_b, H, L, V, Q)
                else:
                    break
                n += fin_step
            if best_t is not None:
                if best_L is None or best_t[5] > best_L[5]:
                    best_L = best_t
                else:
                    break
            t_b += hs.DT
            fin_step = 1
        return best_L

    for L, N, lane, side in [(0.45, 2, False, 48.82916143173367), (0.055, 2, True, 48.82916143173367),
                             (0.03, 1, True, 25.0), (0.1, 4, True, 10.0)]:
        fast = hs.best_fin_design(L, N, lane, side * 1e-3, side * 1e-3, True)
        assert (fast.n, fast.t_b_m, fast.H_m, fast.L_m, fast.V_m3_per_s, fast.Q_w) == plain_best(
            L, N, lane, side * 1e-3, side * 1e-3)


def test_too_wide_heat_source_is_invalid_with_amount():
    h = hs.design_heatsink(65.0, 1)
    assert not h.valid and h.cost_usd == float("inf") and h.violation_mm == pytest.approx(5.0)


def test_lane_too_long_is_invalid():
    h = hs.design_heatsink(50.0, 10)  # 10 × 50 mm > 450 mm
    assert not h.valid and h.violation_mm > 0


def _scalar_heatsinks(sources, guard):
    hs.clear_caches()
    return {s: hs.design_heatsink(s[0], s[1], guard) for s in sources}


#: lanes left when the lockstep hands them to the scalar tail: never, part way, the default, from the start
TAILS = [0, 10, None, 10 ** 6]


def _set_tail(monkeypatch, tail):
    from llmhw.hardware import heatsink_batch
    if tail is not None:
        monkeypatch.setattr(heatsink_batch, "SCALAR_TAIL", tail)


@pytest.mark.parametrize("tail", TAILS)
@pytest.mark.parametrize("guard", [True, False])
def test_batched_heatsinks_equal_the_scalar_selection(guard, tail, monkeypatch):
    """prefetch_heatsinks (BEST searches in lockstep, speculative base lengths) gives every heat source the
    same Heatsink, float for float, as design_heatsink one at a time: small and large sources, 1–4 packages
    per lane (4: the scan runs to L_max / N, several batches), a source too wide, a lane too long; lanes
    finished in lockstep or handed to the scalar tail part way."""
    from llmhw.hardware import heatsink_batch
    _set_tail(monkeypatch, tail)
    sources = [(48.82916143173367, 2), (40.0, 4), (41.0, 4), (59.0, 1), (65.0, 1), (50.0, 10), (3.0, 2), (1.0, 1)]
    expected = _scalar_heatsinks(sources, guard)
    hs.clear_caches()
    heatsink_batch.prefetch_heatsinks(sources, guard)
    got = {s: hs._HEATSINKS[(s[0], s[1], guard)] for s in sources}
    assert got == expected
    hs.clear_caches()


def test_memo_tables_are_bounded_and_emptying_them_changes_no_heatsink(monkeypatch):
    """With MEMO_LIMIT lowered to 50 the search empties its memo tables again and again (the scalar search
    as it stores air volumes, the batched one before each batch) and still designs every heatsink exactly."""
    from llmhw.hardware import heatsink_batch
    sources = [(48.82916143173367, 2), (40.0, 4), (20.0, 1), (3.0, 2)]
    expected = _scalar_heatsinks(sources, True)
    monkeypatch.setattr(hs, "MEMO_LIMIT", 50)
    assert _scalar_heatsinks(sources, True) == expected
    assert len(hs._AIR_VOLUME_CACHE) <= 51
    hs.clear_caches()
    heatsink_batch.prefetch_heatsinks(sources, True)
    assert {s: hs._HEATSINKS[(s[0], s[1], True)] for s in sources} == expected
    hs._CHAIN_STATES.update({(-1, k): (0.0, 1.0) for k in range(51)})     # over the bound: the next batch empties
    heatsink_batch.best_fin_designs([(0.05, 1, True, 0.02, 0.02)], True)
    assert not any(key[0] == -1 for key in hs._CHAIN_STATES)
    hs.clear_caches()


@pytest.mark.parametrize("tail", TAILS)
def test_batched_best_fin_designs_equal_the_scalar_search(tail, monkeypatch):
    """best_fin_designs on many lanes at once (lanes sharing a chain, reference and lane searches mixed)
    equals best_fin_design lane by lane, whether the lanes end in lockstep or in the scalar tail; a lane of
    10⁶ packages (450 km of air path) drives the warm start ≤ 0: WarmStartError without the guard, as the
    scalar search raises, and the same result with it."""
    from llmhw.hardware import heatsink_batch
    _set_tail(monkeypatch, tail)
    lanes = [(L, N, lane, side * 1e-3, side * 1e-3) for side in (48.82916143173367, 20.0, 5.0)
             for N in (1, 4) for lane in (True, False) for L in (0.05, 0.051, 0.11, 0.45)]
    lanes.append((0.45, 10 ** 6, True, 0.01, 0.01))
    for guard in (True, False):
        hs.clear_caches()
        scalar = []
        for ln in lanes:
            try:
                scalar.append(hs.best_fin_design(*ln, guard))
            except hs.WarmStartError as exc:
                scalar.append(("error", str(exc)))
        hs.clear_caches()
        batched = [("error", str(r)) if isinstance(r, hs.WarmStartError) else r
                   for r in heatsink_batch.best_fin_designs(lanes, guard)]
        assert batched == scalar
        assert isinstance(scalar[-1], tuple) == (not guard)
    hs.clear_caches()


@pytest.mark.parametrize("tail", TAILS)
def test_batched_search_walks_each_state_once(tail, monkeypatch):
    """Lanes of one chain in one state share a single air-volume search, also when another lane of the chain
    sits between them in a different state, in lockstep or in the scalar tail."""
    from llmhw.hardware import heatsink_batch
    _set_tail(monkeypatch, tail)
    walks = []
    search = hs.air_volume_search

    def counted(*args):
        walks.append(args)
        return search(*args)

    monkeypatch.setattr(hs, "air_volume_search", counted)
    # three heat sources of the speed grid on one chain (61 mm base, 4 packages): the middle lane leaves the
    # state the outer two share
    lanes = [(0.06100000000000002, 4, True, side * 1e-3, side * 1e-3)
             for side in (42.6469961562705, 40.28334132281487, 41.83096689152645)]
    lanes += [(L, N, True, side * 1e-3, side * 1e-3) for side in (48.82916143173367, 20.0) for N in (1, 2)
              for L in (0.05, 0.2)]
    alone = 0
    for lane in lanes:                           # each lane in a batch of its own: nothing shared
        hs.clear_caches()
        walks.clear()
        heatsink_batch.best_fin_designs([lane], True)
        alone += len(walks)
    hs.clear_caches()
    walks.clear()
    heatsink_batch.best_fin_designs(lanes, True)
    assert len(walks) == len(hs._CHAIN_STATES) == len(set(walks))
    assert len(walks) < 0.9 * alone
    hs.clear_caches()
