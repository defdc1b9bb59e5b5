"""Pausing Python's cyclic garbage collector around an allocation-heavy phase.

The collector runs after every 700 net container allocations and, in its oldest generation, rescans every
live object. The exhaustive software phase allocates hundreds of thousands of small tuples and records
(optima, table columns) that form no reference cycles, while everything the run keeps alive (servers,
systems, grids) stays live: measured on the speed grid, the collector then took 70–80 % of building the
optima table. Reference counting still frees everything; only cycles wait until the collector resumes.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic collector inside the block; restore its previous state after (nesting is safe)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
