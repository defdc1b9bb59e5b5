"""Average power, TCO with the workload's power and TCO per token (model.md §13.9, §15.2).

The reference divides by the batch twice (§16.2 #1); ``fidelity.tco_per_token_fix`` gives
per_sec·(T_p + T_g)/(B·P) (resp. B·G), i.e. the reference values × B.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmhw.fidelity import Fidelity
from llmhw.hardware.tco import TCO, tco
from llmhw.workload.system import System

from .rental import RentalModeError, rented_cost_per_s

LIFE_DAYS_PER_YEAR = 365        # §13.9 / §16.1 #10: per-token life seconds use a 365-day year


@dataclass(frozen=True)
class TokenCost:
    utilization: float
    avg_server_power_w: float
    tco: TCO
    tco_per_s_usd: float
    prefill_tco_per_token_usd: float
    decode_tco_per_token_usd: float


def token_cost(system: System, batch: int, T_p: Any, T_g: Any, util_p: Any, util_g: Any, power_p: Any,
               power_g: Any, fidelity: Fidelity) -> TokenCost:
    """§13.9 (works elementwise on numpy arrays as well as on floats)."""
    ns = system.num_servers
    run = T_p + T_g
    r_p = T_p / run
    r_g = T_g / run
    util = util_g * r_g + util_p * r_p
    srv_power = (power_g * r_g + power_p * r_p) / ns
    life = system.constants.server["SrvLife"]
    if system.energy_model:
        tco_w = tco(srv_power, system.server.cost_usd, life, system.constants.tco)
    else:
        tco_w = tco(system.server.tdp_w * util, system.server.cost_usd, life, system.constants.tco)
    life_s = life * LIFE_DAYS_PER_YEAR * 24 * 3600
    per_sec = tco_w.total * ns / life_s
    if system.tco_mode == "rented":                       # docs/tco-modes.md §R.1
        if not fidelity.rental_tco:
            raise RentalModeError("tco_mode: rented exists only with compat: corrected")
        per_sec = rented_cost_per_s(system.rent_usd_per_chip_hour, system.num_chips)
    P, G = system.prefill_len, system.decode_len
    if fidelity.tco_per_token_fix:
        prefill_tpt = per_sec * run / (batch * P)
        decode_tpt = per_sec * run / (batch * G)
    else:
        per_inference = per_sec / (batch / run)
        prefill_tpt = per_inference / (batch * P)
        decode_tpt = per_inference / (batch * G)
    return TokenCost(util, srv_power, tco_w, per_sec, prefill_tpt, decode_tpt)
