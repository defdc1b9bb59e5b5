"""The request workload of a serving study: lengths, arrivals and the SLO (docs/serving.md §1).

Lengths are a :class:`LengthDist`, a weighted list of integer lengths: a fixed length is one entry, a
weighted list is given as is, a distribution ``{mean, spread}`` (spread = coefficient of variation) is a
gamma distribution discretised at :data:`QUANTILE_POINTS` equal-probability quantiles (mid-points of each
probability bin). Arrivals are Poisson at ``rate_rps`` (open loop) or a fixed ``concurrency`` (closed loop,
each finished request is replaced at once). All fields are SI (seconds, requests/s).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

QUANTILE_POINTS = 6
DEFAULT_PERCENTILE = 0.9   # the SLO is met by 90 % of the requests (DistServe's attainment target)


@dataclass(frozen=True)
class LengthDist:
    """Integer lengths with probabilities (summing to 1)."""

    values: tuple[int, ...]
    weights: tuple[float, ...]

    @classmethod
    def fixed(cls, n: int) -> "LengthDist":
        return cls((int(n),), (1.0,))

    @classmethod
    def weighted(cls, pairs: Mapping[int, float] | list) -> "LengthDist":
        items = list(pairs.items()) if isinstance(pairs, Mapping) else [tuple(x) for x in pairs]
        total = float(sum(w for _, w in items))
        return cls(tuple(int(v) for v, _ in items), tuple(float(w) / total for _, w in items))

    @classmethod
    def gamma(cls, mean: float, spread: float, points: int = QUANTILE_POINTS) -> "LengthDist":
        """A gamma distribution of mean ``mean`` and coefficient of variation ``spread``, discretised at the
        mid-probability of ``points`` equal bins (scipy.stats.gamma.ppf), each length ≥ 1."""
        if spread <= 0:
            return cls.fixed(round(mean))
        from scipy.stats import gamma
        k = 1.0 / spread ** 2
        qs = (np.arange(points) + 0.5) / points
        vals = np.maximum(1, np.rint(gamma.ppf(qs, k, scale=mean / k))).astype(int)
        return cls(tuple(int(v) for v in vals), tuple([1.0 / points] * points))

    @property
    def array(self) -> np.ndarray:
        return np.asarray(self.values, dtype=float)

    @property
    def probs(self) -> np.ndarray:
        return np.asarray(self.weights, dtype=float)

    def mean(self) -> float:
        return float(self.probs @ self.array)

    def moment2(self) -> float:
        return float(self.probs @ self.array ** 2)

    def quantile(self, q: float) -> float:
        """The smallest value whose cumulative probability reaches q."""
        order = np.argsort(self.array)
        cum = np.cumsum(self.probs[order])
        return float(self.array[order][min(int(np.searchsorted(cum, q - 1e-12)), len(cum) - 1)])

    def describe(self) -> str:
        if len(self.values) == 1:
            return str(self.values[0])
        return f"mean {self.mean():.0f} ({len(self.values)} lengths {min(self.values)}–{max(self.values)})"


@dataclass(frozen=True)
class ServingWorkload:
    """Requests, their arrivals and the SLO. Exactly one of ``rate_rps`` / ``concurrency`` may be set; with
    neither, metrics are reported at the SLO load (the goodput)."""

    prompt: LengthDist
    output: LengthDist
    rate_rps: float | None = None
    concurrency: float | None = None
    slo_ttft_s: float = math.inf
    slo_tpot_s: float = math.inf
    percentile: float = DEFAULT_PERCENTILE

    def decode_context(self) -> float:
        """Token-weighted mean context of a decode step: E[P] + E[G²] / (2 E[G]) (= P + G/2 if fixed)."""
        return self.prompt.mean() + self.output.moment2() / (2 * self.output.mean())

    def decode_steps(self) -> float:
        """Decode iterations of a request after its first token: E[G] − 1."""
        return self.output.mean() - 1


def length_dist(spec: Any, where: str) -> LengthDist:
    """A length from the config: an integer, ``{mean, spread}`` or ``{values: [...], weights: [...]}``."""
    if isinstance(spec, bool):
        raise ValueError(f"{where}: expected a length, got {spec!r}")
    if isinstance(spec, (int, float)):
        if spec < 1:
            raise ValueError(f"{where}: a length must be >= 1, got {spec!r}")
        return LengthDist.fixed(int(spec))
    if isinstance(spec, Mapping) and "mean" in spec:
        mean, spread = float(spec["mean"]), float(spec.get("spread", 0))
        if mean < 1 or spread < 0:
            raise ValueError(f"{where}: mean must be >= 1 and spread >= 0, got {dict(spec)!r}")
        return LengthDist.gamma(mean, spread)
    if isinstance(spec, Mapping) and "values" in spec:
        vals = list(spec["values"])
        weights = list(spec.get("weights") or [1] * len(vals))
        if not vals or len(weights) != len(vals) or any(v < 1 for v in vals) or any(w < 0 for w in weights) \
                or sum(weights) <= 0:
            raise ValueError(f"{where}: values must be lengths >= 1 with as many weights >= 0 (not all 0)")
        return LengthDist.weighted(list(zip(vals, weights)))
    raise ValueError(f"{where}: expected a length, {{mean, spread}} or {{values, weights}}, got {spec!r}")


def workload_from_config(block: Mapping[str, Any], default_pair: tuple[int, int],
                         slo_ttft_s: float | None = None, slo_tpot_s: float | None = None) -> ServingWorkload:
    """The ``serving:`` block (docs/serving.md §1): ``prompt``/``output`` lengths (default: the study's
    ``--workload P:G``), ``rate`` (requests/s) or ``concurrency``, ``slo: {ttft, tpot, percentile}``.
    ``slo_ttft_s``/``slo_tpot_s`` (the ``--max-ttft``/``--max-tpot`` flags) override the block's SLO."""
    prompt = length_dist(block.get("prompt", default_pair[0]), "serving.prompt")
    output = length_dist(block.get("output", default_pair[1]), "serving.output")
    if min(output.values) < 2:
        raise ValueError("serving.output: every output length must be >= 2 (the first token comes from prefill)")
    rate, conc = block.get("rate"), block.get("concurrency")
    if rate is not None and conc is not None:
        raise ValueError("serving: give rate or concurrency, not both")
    slo = dict(block.get("slo") or {})
    ttft = slo_ttft_s if slo_ttft_s is not None else slo.get("ttft", math.inf)
    tpot = slo_tpot_s if slo_tpot_s is not None else slo.get("tpot", math.inf)
    pct = float(slo.get("percentile", DEFAULT_PERCENTILE))
    if not 0 < pct < 1:
        raise ValueError(f"serving.slo.percentile must be in (0, 1), got {pct}")
    return ServingWorkload(prompt, output, None if rate is None else float(rate),
                           None if conc is None else float(conc), float(ttft), float(tpot), pct)


#: ``--serving`` keys → where they go in a ``serving:`` block.
FLAG_KEYS = {"prompt": ("prompt",), "output": ("output",), "rate": ("rate",), "concurrency": ("concurrency",),
             "ttft": ("slo", "ttft"), "tpot": ("slo", "tpot"), "percentile": ("slo", "percentile")}


def parse_serving_flag(text: str) -> dict[str, Any]:
    """``--serving 'prompt=2048~0.5,output=256,rate=4,ttft=1,tpot=0.04'`` → a ``serving:`` block.
    A length is ``N`` or ``MEAN~SPREAD`` (gamma, spread = coefficient of variation). ValueError if malformed."""
    block: dict[str, Any] = {}
    for item in (x.strip() for x in text.split(",")):
        if not item:
            continue
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in FLAG_KEYS:
            raise ValueError(f"{item!r}: expected KEY=VALUE with KEY one of {', '.join(FLAG_KEYS)}")
        try:
            if key in ("prompt", "output") and "~" in value:
                mean, spread = value.split("~")
                parsed: Any = {"mean": float(mean), "spread": float(spread)}
            else:
                parsed = float(value)
                parsed = int(parsed) if key in ("prompt", "output") and parsed.is_integer() else parsed
        except ValueError:
            raise ValueError(f"{item!r}: {value!r} is not a number (a length may be MEAN~SPREAD)") from None
        path = FLAG_KEYS[key]
        (block.setdefault(path[0], {}) if len(path) == 2 else block)[path[-1]] = parsed
    return block
