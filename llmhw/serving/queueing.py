"""Queueing for the prefill slot (docs/serving.md §3): M/G/1 with Poisson arrivals.

Array-agnostic (floats or numpy arrays). Sources: Pollaczek–Khinchine mean wait (Kleinrock, *Queueing
Systems* vol. 1, 1975, §5.6); the percentile uses the exponential-tail approximation
P(W > t) ≈ ρ·exp(−ρ t / E[W]), exact for M/M/1 and the heavy-traffic limit of M/G/1 (Kingman 1962).
"""
from __future__ import annotations

import numpy as np


def utilisation(rate_rps, service_mean_s):
    """ρ = λ · E[S]."""
    return rate_rps * service_mean_s


def pk_mean_wait_s(rate_rps, service_mean_s, service_moment2_s2):
    """(3.1) Pollaczek–Khinchine: E[W] = λ E[S²] / (2 (1 − ρ)); +inf when ρ ≥ 1."""
    rho = np.asarray(utilisation(rate_rps, service_mean_s), dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(rho < 1, rate_rps * service_moment2_s2 / (2 * (1 - rho)), np.inf)
    return w if w.ndim else float(w)


def wait_quantile_s(rate_rps, service_mean_s, service_moment2_s2, q):
    """(3.2) The q-quantile of the wait: P(W > t) ≈ ρ e^(−ρ t / E[W]) ⇒ t_q = E[W]/ρ · ln(ρ / (1 − q)) when
    ρ > 1 − q, else 0 (at least a fraction q of the requests do not wait)."""
    rho = np.asarray(utilisation(rate_rps, service_mean_s), dtype=float)
    w = np.asarray(pk_mean_wait_s(rate_rps, service_mean_s, service_moment2_s2), dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(rho > 1 - q, w / rho * np.log(rho / (1 - q)), 0.0)
    t = np.where(rho >= 1, np.inf, t)
    return t if t.ndim else float(t)
