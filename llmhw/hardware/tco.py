"""Total cost of ownership (model.md §9)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

MONTHS_PER_YEAR = 12
HOURS_PER_MONTH = 24 * 30     # §9: a "month" is 30 days; the TCO year is 12 such months (§16.1 #10)


def loan_interest(principal: float, annual_rate: float, years: float) -> float:
    """§9 amortised-loan interest: m·payment − B with i = r/12, m = 12·Y and the annuity payment."""
    i = annual_rate / 12
    m = 12 * years
    payment = i * principal * (1 + i) ** m / ((1 + i) ** m - 1)
    return m * payment - principal


@dataclass(frozen=True)
class TCO:
    """§9 components ($ over the server life) for one server."""

    dc_amortization: float
    dc_interest: float
    dc_opex: float
    srv_amortization: float
    srv_interest: float
    srv_opex: float
    srv_power: float
    pue_overhead: float

    @property
    def fix_part(self) -> float:
        return self.srv_amortization + self.srv_interest + self.srv_opex

    @property
    def power_part(self) -> float:
        return self.dc_amortization + self.dc_interest + self.dc_opex + self.srv_power + self.pue_overhead

    @property
    def total(self) -> float:
        return self.fix_part + self.power_part


def tco(power_w: float, server_cost_usd: float, life_years: float, kt: Mapping[str, Any]) -> TCO:
    """§9 TCO(P, C, T) with the constants of §2.4 (DCOpex applied per W per month, §16.1 #9)."""
    P, C, T = power_w, server_cost_usd, life_years
    dc_amort = kt["DCCapex"] * P * T / kt["DCAmortPeriod"]
    dc_interest = loan_interest(kt["DCCapex"], kt["InterestRate"], kt["DCAmortPeriod"]) * P * T / kt["DCAmortPeriod"]
    dc_opex = kt["DCOpex"] * P * T * 12
    srv_power = kt["ElectricityCost"] * kt["SrvAvgPwr"] / 1000 * 24 * 30 * P * T * 12
    pue = srv_power * (kt["PUE"] - 1)
    return TCO(dc_amortization=dc_amort, dc_interest=dc_interest, dc_opex=dc_opex, srv_amortization=C,
               srv_interest=loan_interest(C, kt["InterestRate"], T), srv_opex=C * kt["SrvOpexRate"],
               srv_power=srv_power, pue_overhead=pue)
