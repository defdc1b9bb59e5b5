"""Rented TCO: the cost of a system rented by the chip-hour (docs/tco-modes.md §R.1).

The owned TCO of model.md §9/§13.9 charges the servers' amortised cost, interest, data-centre share and
electricity. A cloud customer pays none of these separately: it pays a list price per accelerator-hour
that already contains them (and the provider's margin). Chiplet Cloud (Peng et al., arXiv 2307.02666)
compares its owned TCO per token with this *rented* cost of GPU and TPU clouds.

    per_sec = rent_usd_per_chip_hour × num_chips / 3600        ($/s for the whole system)

The per-token figures then follow §13.9 unchanged (corrected accounting, §16.2 #1):
    tco_per_token = per_sec × (T_p + T_g) / (B × G).
"""
from __future__ import annotations

from typing import Any

from llmhw.errors import LlmhwError

SECONDS_PER_HOUR = 3600.0


class RentalModeError(LlmhwError, ValueError):
    """``tco_mode: rented`` asked for where it does not exist (compat reference) or without a price."""


def rented_cost_per_s(rent_usd_per_chip_hour: float, num_chips: Any) -> Any:
    """$/s of ``num_chips`` accelerators rented at ``rent_usd_per_chip_hour`` (docs/tco-modes.md §R.1)."""
    return rent_usd_per_chip_hour * num_chips / SECONDS_PER_HOUR
