"""What a fitted model says about each customer: P(alive), expected purchases and spend, discounted
CLV and days to the next purchase, evaluated once per distinct history and spread back ("score big")."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from helpers.clv.inputs import UNIT_DAYS
from helpers.clv.likelihood import PARAM_NAMES
from helpers.clv.models import ModelFit
from helpers.clv.samples import HISTORY_COLUMNS

DAYS_PER_MONTH = 365.25 / 12
SCORE_COLUMNS = [
    "p_alive",
    "churn_risk",
    "expected_purchases",
    "expected_avg_order_value",
    "clv",
    "expected_days_to_next_purchase",
]


def expected_purchases(fit: ModelFit, t: float, frequency: Any, recency: Any, age: Any) -> np.ndarray:
    """Expected purchase periods in the next ``t`` time units given each customer's history."""
    with np.errstate(all="ignore"):
        values = fit.fitter.conditional_expected_number_of_purchases_up_to_time(
            t,
            np.asarray(frequency, dtype=float),
            np.asarray(recency, dtype=float),
            np.asarray(age, dtype=float),
        )
    return np.asarray(values, dtype=float)


def probability_alive(fit: ModelFit, frequency: Any, recency: Any, age: Any) -> np.ndarray:
    """Probability that each customer is still active (has not silently left) at the as-of date."""
    with np.errstate(all="ignore"):
        values = fit.fitter.conditional_probability_alive(
            np.asarray(frequency, dtype=float), np.asarray(recency, dtype=float), np.asarray(age, dtype=float)
        )
    return np.clip(np.asarray(values, dtype=float), 0.0, 1.0)


def expected_purchases_new_customer(fit: ModelFit, t: Any) -> np.ndarray:
    """Expected repeat purchase periods within ``t`` time units of a new customer's first purchase."""
    return np.asarray(
        fit.fitter.expected_number_of_purchases_up_to_time(np.asarray(t, dtype=float)), dtype=float
    )


def probability_no_repeat_purchase(fit: ModelFit, t: float) -> float:
    """Chance that a newly acquired customer makes no repeat purchase within ``t`` time units."""
    if fit.model == "pareto_nbd":  # a new customer is a history of (0, 0, 0)
        return float(fit.fitter.conditional_probability_of_n_purchases_up_to_time(0, t, 0, 0.0, 0.0))
    return float(fit.fitter.probability_of_n_purchases_up_to_time(t, 0))


def expected_average_value(spend_fit: ModelFit, frequency: Any, mean_value: Any) -> np.ndarray:
    """Gamma-Gamma's expected value of a future purchase period: the customer's own mean shrunk to the
    population mean, more so the fewer repeat purchases back it. Customers outside the spend sample
    (no repeat purchase or a non-positive mean) get the population mean."""
    p, q, v = (spend_fit.params[n] for n in PARAM_NAMES["gamma_gamma"])
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(mean_value, dtype=float)
    usable = (x > 0) & (m > 0)
    x = np.where(usable, x, 0.0)
    weight = p * x / (p * x + q - 1)
    return (1 - weight) * (v * p / (q - 1)) + weight * np.where(usable, m, 0.0)


def observed_average_value(frequency: Any, mean_value: Any) -> np.ndarray:
    """Each customer's own mean value of a repeat purchase period, and for a customer without one (no
    repeat purchase, or a non-positive mean) the mean of those means: the spend values used when
    Gamma-Gamma's are not (see :func:`spend_model_check`)."""
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(mean_value, dtype=float)
    usable = (x > 0) & (m > 0)
    return np.where(usable, m, m[usable].mean() if usable.any() else np.nan)


def spend_model_check(
    spend_fit: ModelFit | None, inputs: pd.DataFrame, max_ratio: float, currency: str = ""
) -> dict[str, Any] | None:
    """Whether Gamma-Gamma's values are used, with the facts behind it (None without a usable spend fit).
    Its mean spend per purchase period of a customer, p v / (q - 1), is what a customer without a repeat
    purchase is valued at, and it estimates the same thing as the mean of the repeat buyers' own means.
    With q close to 1 it runs off (q = 1.034, p = 2.25, v = 6.62 gives 437 where the repeat buyers
    average 75): when it is more than ``max_ratio`` times that observed mean the model is not used and
    every customer gets :func:`observed_average_value` instead."""
    if spend_fit is None or not spend_fit.converged:
        return None
    p, q, v = (spend_fit.params[n] for n in PARAM_NAMES["gamma_gamma"])
    usable = (inputs["repeat_periods"] > 0) & (inputs["repeat_mean_value"] > 0)
    observed = float(inputs.loc[usable, "repeat_mean_value"].mean()) if usable.any() else None
    model_mean = p * v / (q - 1)
    used = observed is None or model_mean <= max_ratio * observed
    return {
        "source": "gamma_gamma" if used else "observed",
        "q": q,
        "model_mean": model_mean,
        "observed_mean": observed,
        "repeat_buyers": int(usable.sum()),
        "max_ratio": max_ratio,
        "currency": currency,
    }


def discounted_clv(
    fit: ModelFit,
    frequency: Any,
    recency: Any,
    age: Any,
    average_value: Any,
    horizon_months: int,
    monthly_discount_rate: float,
    units_per_month: float,
) -> np.ndarray:
    """Sum over the next months of expected purchases in the month x expected value, each month m
    divided by (1 + rate)^m (the discounting lifetimes' customer_lifetime_value applies)."""
    total = np.zeros(len(np.atleast_1d(frequency)))
    previous = np.zeros_like(total)
    for month in range(1, horizon_months + 1):
        cumulative = expected_purchases(fit, month * units_per_month, frequency, recency, age)
        total += (
            np.asarray(average_value, dtype=float)
            * (cumulative - previous)
            / (1 + monthly_discount_rate) ** month
        )
        previous = cumulative
    return total


def expected_days_to_next_purchase(
    fit: ModelFit, frequency: Any, age: Any, p_alive: Any, time_unit: str
) -> np.ndarray:
    """Expected gap in days before the next purchase at the rate the model expects today:
    1 / (P(alive) x E[purchase rate | history, alive]), where the rate of an active customer has
    the Gamma posterior of all three models, mean (r + x) / (alpha + T). Long when P(alive) is low;
    null when the model expects no purchase at all."""
    r, alpha = fit.params["r"], fit.params["alpha"]
    x, age = np.asarray(frequency, dtype=float), np.asarray(age, dtype=float)
    rate = np.asarray(p_alive, dtype=float) * (r + x) / (alpha + age)
    with np.errstate(divide="ignore"):
        return np.where(rate > 0, UNIT_DAYS[time_unit] / rate, np.nan)  # null: no purchase expected


def _distinct_histories(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The distinct (repeat, recency, age) rows of ``frame`` and, for each of its rows, the position
    of its own: the purchase models' formulas depend on these three only, so each is evaluated once
    per distinct history and spread back to every customer ("score big" at a fraction of the cost)."""
    codes = frame.groupby(HISTORY_COLUMNS, sort=False).ngroup().to_numpy()
    return frame[HISTORY_COLUMNS].drop_duplicates(), codes


def score_customers(
    inputs: pd.DataFrame,
    purchase_fit: ModelFit | None,
    spend_fit: ModelFit | None,
    horizon_months: int,
    monthly_discount_rate: float,
    time_unit: str,
    own_averages: bool = False,
) -> pd.DataFrame:
    """Per customer (sorted by id): the model inputs, P(alive), churn risk, expected purchases and
    average order value over the horizon, discounted CLV and expected days to the next purchase.
    Without a usable purchase fit the model columns are null (written as such, never guessed); without
    a usable spend fit the value columns are. ``own_averages`` (when :func:`spend_model_check` rejects
    Gamma-Gamma's values): each customer's observed average value instead of Gamma-Gamma's."""
    out = inputs.sort_values("customer_id", kind="mergesort").reset_index(drop=True).copy()
    for column in SCORE_COLUMNS:
        out[column] = np.nan
    if purchase_fit is None or not purchase_fit.converged:
        return out
    histories, codes = _distinct_histories(out)
    x, tx, age = histories["repeat_periods"], histories["recency_periods"], histories["age_periods"]
    units_per_month = DAYS_PER_MONTH / UNIT_DAYS[time_unit]
    p_alive = probability_alive(purchase_fit, x, tx, age)
    out["p_alive"] = p_alive[codes]
    out["churn_risk"] = 1.0 - out["p_alive"]
    out["expected_purchases"] = expected_purchases(
        purchase_fit, horizon_months * units_per_month, x, tx, age
    )[codes]
    out["expected_days_to_next_purchase"] = expected_days_to_next_purchase(
        purchase_fit, x, age, p_alive, time_unit
    )[codes]
    if spend_fit is None or not spend_fit.converged:
        return out
    out["expected_avg_order_value"] = (
        observed_average_value(out["repeat_periods"], out["repeat_mean_value"])
        if own_averages
        else expected_average_value(spend_fit, out["repeat_periods"], out["repeat_mean_value"])
    )
    # CLV is linear in the value of a purchase: the discounted purchases of each distinct history
    # (discounted_clv at a value of 1) times the customer's own expected value.
    discounted_purchases = discounted_clv(
        purchase_fit,
        x,
        tx,
        age,
        np.ones(len(histories)),
        horizon_months,
        monthly_discount_rate,
        units_per_month,
    )
    out["clv"] = out["expected_avg_order_value"].to_numpy() * discounted_purchases[codes]
    return out
