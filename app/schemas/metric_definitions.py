"""`definitions` of a simulation response: what each figure of `results` means, in words.

The keys are those earlier versions answered (a figure of `risk_metrics` by its own name,
a probability as `probabilities.<name>`, a whole block by the block's name), so a client that
shows them keeps working; the README's Metrics section gives the same definitions as formulas.
"""

from pydantic import ConfigDict, Field, create_model

DEFINITIONS: dict[str, str] = {
    "final_value_stats": "Distribution of the portfolio value at the horizon, over all paths "
    "(std_dev is null for a single path).",
    "total_invested": "initial_investment + 12 x years x monthly_contribution + every positive "
    "cash flow (contributions count; withdrawals from cash_flows or a withdrawal_strategy do not).",
    "var_95": "Value at Risk 95%: the final value that 95% of paths end above (5th percentile).",
    "var_99": "Value at Risk 99%: the 1st percentile of final values.",
    "var_95_loss": "total_invested - var_95: the loss at that level (negative = a gain).",
    "var_99_loss": "total_invested - var_99.",
    "var_95_relative": "mean final value - var_95: the shortfall from the expected value.",
    "var_99_relative": "mean final value - var_99.",
    "cvar_95": "Conditional VaR 95%: the mean final value of the worst 5% of paths.",
    "sharpe_ratio": "Per path (12 x mean monthly return - risk_free_rate) / (sqrt(12) x sample "
    "std of monthly returns), averaged over paths with at least 12 months invested; null if none.",
    "sharpe_ratio_geometric": "(mean annualized time-weighted return - risk_free_rate) / mean "
    "annualized volatility, over the same paths (the former sharpe_ratio).",
    "sortino_ratio": "As sharpe_ratio, over sqrt(12) x the downside deviation: the root mean "
    "square of the monthly shortfalls below risk_free_rate / 12.",
    "max_drawdown_pct": "Median over paths of the largest peak-to-trough fall of the "
    "time-weighted index, in percent.",
    "max_drawdown_pct_95": "95th percentile over paths of that largest fall, in percent.",
    "annualized_return": "Distribution over paths of the time-weighted CAGR (paths with at least "
    "12 months invested).",
    "probabilities.loss": "P(final value < total_invested).",
    "probabilities.positive_return": "1 - loss.",
    "probabilities.doubling": "P(final value >= 2 x total_invested).",
    "probabilities.depletion": "P(the value reached 0 at some month; it then stays 0).",
    "probabilities.cagr_below_risk_free": "P(annualized_return < risk_free_rate).",
    "probabilities.success": "P(never depleted over the horizon) = 1 - depletion.",
    "depletion": "P(the value ran out at some month), and the p10/p25/p50 of that month over "
    "the depleted paths (null when none).",
    "survival_by_year": "Per year, the share of paths not yet depleted at its end (a survival "
    "curve ending at success).",
    "withdrawals": "What left each path (negative flows and the strategy, as paid): total per "
    "path (mean, median, p5, p95; nominal and real) and, for percentage and guardrails, the "
    "p5/p50/p95 of each year's withdrawals.",
    "safe_withdrawal": "With solve: the largest fixed_real annual_amount whose success rate is "
    "at least target_success, its rate (/ initial_investment) and success, and the runs taken.",
    "percentile_bands": "Per month (0 = start), the 5/25/50/75/95th percentiles of the value "
    "over `paths_used` paths (all paths, or a fixed seeded subset of very large runs).",
    "sample_paths": "A few whole paths, the value at each month, for charts.",
    "real": "With an inflation_rate: the same figures in today's money.",
}


MetricDefinitions = create_model(
    "MetricDefinitions",
    __config__=ConfigDict(frozen=True, json_schema_serialization_defaults_required=True),
    __doc__="Each figure of `results` defined in words, keyed by its name.",
    __module__=__name__,
    **{
        key.replace(".", "_"): (str, Field(text, alias=key, description=f"What `{key}` means."))
        for key, text in DEFINITIONS.items()
    },
)
