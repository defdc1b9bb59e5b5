"""The few elementwise primitives the performance equations need, for Python numbers and numpy arrays alike.

Every equation of :mod:`llmhw.perf` is written once, with ordinary arithmetic operators and these helpers,
and is evaluated by two drivers: :mod:`llmhw.perf.point` calls it with Python numbers (one design point;
integer products are exact Python ints, ``max`` keeps the reference's first-wins semantics) and
:mod:`llmhw.perf.grid` calls it with numpy arrays (every mapping × batch of a system; integer products
are formed in int64 in the same order). Each helper picks the scalar or the numpy form by the type of its
arguments, so both drivers apply the same operations in the same order and give identical numbers.
"""
from __future__ import annotations

import math

import numpy as np

ndarray = np.ndarray


def is_array(x) -> bool:
    return isinstance(x, ndarray)


def ceil(x):
    """⌈x⌉: a Python int for a number, a float64 array for an array."""
    return np.ceil(x) if isinstance(x, ndarray) else math.ceil(x)


def floor(x):
    return np.floor(x) if isinstance(x, ndarray) else math.floor(x)


def sqrt(x):
    return np.sqrt(x) if isinstance(x, ndarray) else math.sqrt(x)


def maximum(a, b):
    """max(a, b) for numbers (the first one on ties), np.maximum elementwise otherwise."""
    if isinstance(a, ndarray) or isinstance(b, ndarray):
        return np.maximum(a, b)
    return max(a, b)


def select(cond, if_true, if_false):
    """``if_true if cond else if_false``, elementwise (np.where) when ``cond`` is an array."""
    if isinstance(cond, ndarray):
        return np.where(cond, if_true, if_false)
    return if_true if cond else if_false


def as_float(*xs):
    """The arguments unchanged if they are all numbers; else broadcast float64 arrays (the §13.3 WS path
    forms its ceil/floor chain in floating point on arrays, exact below 2^53)."""
    if not any(isinstance(x, ndarray) for x in xs):
        return xs
    return np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in xs))
