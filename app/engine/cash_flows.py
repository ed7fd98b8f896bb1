"""Scheduled cash flows as one per-month vector, prepared outside the kernel.

A flow of amount a (> 0 adds, < 0 withdraws) happens at the start of months start, start + k,
start + 2k, ... up to end (1-based, inclusive), with k = 1, 3, 12 for monthly, quarterly,
annually, and only at start for `once`. An indexed flow pays a * (1 + inflation) ** ((m - 1) / 12)
in month m. The schedule f[m - 1] is monthly_contribution plus every flow of month m, so a run
without flows sees f = monthly_contribution in every month, as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FREQUENCY_MONTHS = {"monthly": 1, "quarterly": 3, "annually": 12, "once": 0}
MAX_CASH_FLOWS = 50


@dataclass(frozen=True)
class CashFlow:
    amount: float
    frequency: str = "monthly"
    start_month: int = 1
    end_month: int | None = None  # None: the horizon
    indexed_to_inflation: bool = False

    def check(self, months: int) -> None:
        if self.frequency not in FREQUENCY_MONTHS:
            raise ValueError(f"a cash flow's frequency must be one of {sorted(FREQUENCY_MONTHS)}")
        if not (np.isfinite(self.amount) and self.amount != 0.0):
            raise ValueError("a cash flow's amount must be finite and non-zero")
        end = months if self.end_month is None else self.end_month
        if not 1 <= self.start_month <= end <= months:
            raise ValueError(f"a cash flow needs 1 <= start_month <= end_month <= {months}")

    def amounts(self, months: int, inflation_rate: float) -> np.ndarray:
        """This flow's amount in each month (0 where it does not happen)."""
        end = months if self.end_month is None else self.end_month
        step = FREQUENCY_MONTHS[self.frequency]
        out = np.zeros(months)
        first = self.start_month - 1
        if step:
            out[first:end:step] = self.amount
        else:
            out[first] = self.amount
        if self.indexed_to_inflation:
            out *= (1.0 + inflation_rate) ** (np.arange(months) / 12.0)
        return out


def check_cash_flows(flows: tuple[CashFlow, ...], months: int) -> None:
    if len(flows) > MAX_CASH_FLOWS:
        raise ValueError(f"at most {MAX_CASH_FLOWS} cash flows")
    for flow in flows:
        flow.check(months)


def scheduled_contributions(
    flows: tuple[CashFlow, ...], months: int, inflation_rate: float
) -> np.ndarray:
    """The flows' positive parts per month: what they add (withdrawals are not invested)."""
    added = np.zeros(months)
    for flow in flows:
        if flow.amount > 0.0:
            added += flow.amounts(months, inflation_rate)
    return added


def flow_schedule(
    flows: tuple[CashFlow, ...], monthly_contribution: float, months: int, inflation_rate: float
) -> np.ndarray:
    """f[m - 1]: the net flow at the start of month m (see the module docstring)."""
    schedule = np.full(months, float(monthly_contribution))
    for flow in flows:
        schedule += flow.amounts(months, inflation_rate)
    return schedule
