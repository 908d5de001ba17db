"""Stage 06: customer lifetime value from purchase models (BG/NBD, Pareto/NBD, MBG/NBD) and the
Gamma-Gamma spend model, fitted with ``lifetimes``.

The per-customer model inputs are aggregated in the engine (plain Ibis expressions, so the same code
runs on DuckDB or Spark); fitting and scoring run in pandas on one row per customer, and the purchase
models are fitted on the unique (repeat_periods, recency_periods, age_periods) rows with the number
of customers as weights ("fit small, score big": the same likelihood, far fewer rows).

Model inputs follow lifetimes' definitions but carry names that cannot be mistaken for RFM's order
count and total spend: ``repeat_periods`` (distinct purchase periods after the first), ``recency_periods``
(first to last purchase period), ``age_periods`` (first purchase period to the as-of period) and
``repeat_mean_value`` (mean net value of the repeat purchase periods).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import io as _stdio
import warnings
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import gammaln, hyp2f1

from helpers.engine import exact_sum
from helpers.io import largest_first

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # lifetimes imports pkg_resources, which warns on import
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
    from lifetimes.utils import ConvergenceError

UNIT_DAYS = {"days": 1, "weeks": 7}
DAYS_PER_MONTH = 365.25 / 12
HISTORY_COLUMNS = ["repeat_periods", "recency_periods", "age_periods"]
MODEL_LABELS = {
    "bgnbd": "BG/NBD",
    "pareto_nbd": "Pareto/NBD",
    "mbgnbd": "MBG/NBD",
    "gamma_gamma": "Gamma-Gamma",
}
FITTERS = {
    "bgnbd": BetaGeoFitter,
    "pareto_nbd": ParetoNBDFitter,
    "mbgnbd": ModifiedBetaGeoFitter,
    "gamma_gamma": GammaGammaFitter,
}
PARAM_NAMES = {
    "bgnbd": ["r", "alpha", "a", "b"],
    "pareto_nbd": ["r", "alpha", "s", "beta"],
    "mbgnbd": ["r", "alpha", "a", "b"],
    "gamma_gamma": ["p", "q", "v"],
}
# Parameters measured in time units (rescaled by lifetimes so that the oldest customer's age is 1).
TIME_PARAMS = {"bgnbd": ["alpha"], "pareto_nbd": ["alpha", "beta"], "mbgnbd": ["alpha"], "gamma_gamma": []}
PARETO_TOL = 1e-7  # Nelder-Mead tolerance; lifetimes' default (1e-4) stops up to 1e-4 away from the optimum
# "Fit small, score big": above this many customers the models are fitted on a fixed-seed sample of
# this size (the estimates stop changing long before; fitting cost stops growing), every customer is scored.
FIT_SAMPLE_ABOVE = 200_000
FIT_SAMPLE_SEED = 42
# Pareto/NBD on more customers than this: its starting points are compared on a fixed-seed sample of
# about this many customers, and only the best is followed on all the histories (CDNOW's calibration
# period, 23,502 customers in 2,964 histories: 2.1 s -> 1.5 s, the same maximum to 1e-10).
PARETO_SCOUT_CUSTOMERS = 5_000
MAX_GRADIENT = 1e-4  # largest |d mean log-likelihood / d log parameter| accepted as an optimum
PAGE_COLUMNS = [
    "customer_id",
    "repeat_periods",
    "recency_periods",
    "age_periods",
    "repeat_mean_value",
    "p_alive",
    "expected_purchases",
    "expected_avg_order_value",
    "clv",
    "expected_days_to_next_purchase",
]
SCORE_COLUMNS = [
    "p_alive",
    "churn_risk",
    "expected_purchases",
    "expected_avg_order_value",
    "clv",
    "expected_days_to_next_purchase",
]


# ------------------------------------------------------------------------- engine: model inputs


def period_start(day: dt.date, time_unit: str) -> dt.date:
    """The first day of the period holding ``day``: the day itself, or the Monday of its week
    (lifetimes' freq='W' weeks run Monday to Sunday)."""
    return day - dt.timedelta(days=day.weekday()) if time_unit == "weeks" else day


def _period_values(
    transactions: ir.Table,
    as_of: dt.date,
    time_unit: str,
    customer_col: str = "customer_id",
    ts_col: str = "order_ts",
    amount_col: str = "amount",
) -> ir.Table:
    """One row per customer and purchase period up to the end of ``as_of``: ``period`` (its first
    day) and ``value`` (net amount of every order in it, returns included, added exactly). A period
    holding only returns is not a purchase and is left out."""
    end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    t = transactions.filter(transactions[ts_col] < end)
    grain = "W" if time_unit == "weeks" else "D"
    per = t.group_by(customer_id=t[customer_col].cast("string"), period=t[ts_col].truncate(grain).date()).agg(
        value=exact_sum(t[amount_col]), purchases=(t[amount_col] > 0).sum()
    )
    return per.filter(per.purchases > 0).drop("purchases")


@dataclass(frozen=True)
class PurchasePeriods:
    """Every customer's purchase periods up to the end of ``as_of`` (:func:`_period_values`), computed
    once for the several queries of 06, which read it instead of the transactions."""

    table: ir.Table
    as_of: dt.date
    time_unit: str

    def up_to(self, day: dt.date, time_unit: str) -> ir.Table:
        """The purchase periods up to the end of ``day``: exact for the table's own date and for a day
        that ends a period (any day; a Sunday in weeks, as :func:`calibration_end` gives), since no
        period is then cut in two."""
        if time_unit != self.time_unit:
            raise ValueError(f"purchase periods in {self.time_unit} cannot give model inputs in {time_unit}.")
        if day == self.as_of:
            return self.table
        if day > self.as_of or (time_unit == "weeks" and day.weekday() != 6):
            raise ValueError(
                f"purchase periods up to {self.as_of} cannot give the periods up to {day}: "
                "it must be earlier and end a period (a Sunday in weeks)."
            )
        return self.table.filter(self.table.period <= ibis.literal(period_start(day, time_unit)))


def purchase_periods(
    con: ibis.BaseBackend, transactions: ir.Table, as_of: dt.date, time_unit: str
) -> PurchasePeriods:
    """The purchase periods of the clean transactions up to ``as_of``, materialised once (on disk: it
    can be nearly as long as the transactions) for :func:`model_inputs`, :func:`calibration_and_holdout`
    and :func:`cohorts_and_repeat_purchases`, which otherwise each group every order again."""
    from helpers.engine import materialise

    table = materialise(
        con, "clv_purchase_periods", _period_values(transactions, as_of, time_unit), on_disk=True
    )
    return PurchasePeriods(table, as_of, time_unit)


def _periods(
    source: ir.Table | PurchasePeriods,
    as_of: dt.date,
    time_unit: str,
    customer_col: str = "customer_id",
    ts_col: str = "order_ts",
    amount_col: str = "amount",
) -> ir.Table:
    if isinstance(source, PurchasePeriods):
        return source.up_to(as_of, time_unit)
    return _period_values(source, as_of, time_unit, customer_col, ts_col, amount_col)


def model_inputs(
    transactions: ir.Table | PurchasePeriods,
    as_of: dt.date,
    time_unit: str,
    customer_col: str = "customer_id",
    ts_col: str = "order_ts",
    amount_col: str = "amount",
) -> ir.Table:
    """Per customer, lifetimes' model inputs at ``as_of`` in ``time_unit`` (equal to
    ``summary_data_from_transaction_data(freq='D' or 'W', monetary_value_col=...)``), sorted by id:
    ``repeat_periods``, ``recency_periods``, ``age_periods``, ``repeat_mean_value`` and
    ``first_purchase_period`` (the first day of the first purchase period). ``transactions`` may be
    their :func:`purchase_periods`."""
    p = _periods(transactions, as_of, time_unit, customer_col, ts_col, amount_col)
    per_customer = p.group_by("customer_id").agg(**_history_aggregates(p))
    return per_customer.select(
        "customer_id", "first_purchase_period", **_inputs_from(per_customer, "", as_of, time_unit)
    ).order_by("customer_id")


INPUT_COLUMNS = ["repeat_periods", "recency_periods", "age_periods", "repeat_mean_value"]


def _history_aggregates(
    p: ir.Table, up_to: ir.BooleanValue | None = None, prefix: str = ""
) -> dict[str, ir.Value]:
    """Per-customer aggregates of purchase periods the model inputs are made of (``up_to``: only the
    periods where it holds, names with ``prefix``); without a prefix also the first period and its
    value. The repeat value is all value but the first period's (no window to find the first
    period: half the time of the query on 10M orders)."""
    firsts = (
        {} if prefix else {"first_purchase_period": p.period.min(), "first_value": p.value.argmin(p.period)}
    )
    return {
        **firsts,
        f"{prefix}last_period": p.period.max(where=up_to),
        f"{prefix}periods": p.count(where=up_to),
        f"{prefix}total_value": exact_sum(p.value, where=up_to),
    }


def _inputs_from(c: ir.Table, prefix: str, as_of: dt.date, time_unit: str) -> dict[str, ir.Value]:
    """The :data:`INPUT_COLUMNS` at ``as_of`` from the aggregates of :func:`_history_aggregates`."""
    days = UNIT_DAYS[time_unit]
    repeats = c[f"{prefix}periods"] - 1
    repeat_value = c[f"{prefix}total_value"] - c.first_value
    as_of_period = ibis.literal(period_start(as_of, time_unit))
    return {
        "repeat_periods": repeats,
        "recency_periods": c[f"{prefix}last_period"]
        .delta(c.first_purchase_period, unit="day")
        .cast("float64")
        / days,
        "age_periods": as_of_period.delta(c.first_purchase_period, unit="day").cast("float64") / days,
        "repeat_mean_value": ibis.ifelse(repeats > 0, repeat_value / repeats.cast("float64"), 0.0),
    }


def inputs_and_calibration(
    periods: PurchasePeriods, calibration_end_day: dt.date
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`model_inputs` at the periods' as-of date and :func:`calibration_and_holdout` at
    ``calibration_end_day``, the same frames, from one grouping of the purchase periods instead of
    two (10M orders: 4.9 s -> 3.4 s)."""
    unit = periods.time_unit
    periods.up_to(calibration_end_day, unit)  # refuses a day that cuts a period in two
    p = periods.table
    cut = ibis.literal(period_start(calibration_end_day, unit))
    in_calibration = p.period <= cut
    c = p.group_by("customer_id").agg(
        **_history_aggregates(p), **_history_aggregates(p, in_calibration, "cal_")
    )
    calibration_inputs = _inputs_from(c, "cal_", calibration_end_day, unit)
    both = (
        c.select(
            "customer_id",
            "first_purchase_period",
            **_inputs_from(c, "", periods.as_of, unit),
            **{f"cal_{name}": value for name, value in calibration_inputs.items()},
            holdout_periods=c.periods - c.cal_periods,
        )
        .order_by("customer_id")
        .to_pandas()
    )
    inputs = both[["customer_id", "first_purchase_period", *INPUT_COLUMNS]]
    bought = both[both["first_purchase_period"] <= pd.Timestamp(period_start(calibration_end_day, unit))]
    calibration = (
        bought[
            ["customer_id", "first_purchase_period", *(f"cal_{n}" for n in INPUT_COLUMNS), "holdout_periods"]
        ]
        .rename(columns=lambda name: name.removeprefix("cal_"))
        .reset_index(drop=True)
    )
    return inputs, calibration


def calibration_end(as_of: dt.date, holdout_days: int, time_unit: str) -> dt.date:
    """The last day of the calibration period: ``holdout_days`` before ``as_of``, moved back to a
    Sunday when the unit is weeks so that no week is split between calibration and holdout."""
    end = as_of - dt.timedelta(days=holdout_days)
    if time_unit == "weeks":
        end -= dt.timedelta(days=(end.weekday() + 1) % 7)
    return end


def holdout_length(calibration_end_day: dt.date, as_of: dt.date, time_unit: str) -> float:
    """Length of the holdout in time units, measured between period starts as lifetimes does."""
    delta = period_start(as_of, time_unit) - period_start(calibration_end_day, time_unit)
    return delta.days / UNIT_DAYS[time_unit]


def calibration_and_holdout(
    transactions: ir.Table | PurchasePeriods,
    calibration_end_day: dt.date,
    as_of: dt.date,
    time_unit: str,
    customer_col: str = "customer_id",
    ts_col: str = "order_ts",
    amount_col: str = "amount",
) -> ir.Table:
    """Model inputs at the calibration end for the customers who had bought by then, plus
    ``holdout_periods``: their purchase periods after it up to ``as_of`` (lifetimes'
    ``calibration_and_holdout_data`` frequency_holdout), sorted by id."""
    calibration = model_inputs(transactions, calibration_end_day, time_unit, customer_col, ts_col, amount_col)
    later = _periods(transactions, as_of, time_unit, customer_col, ts_col, amount_col)
    later = later.filter(later.period > ibis.literal(period_start(calibration_end_day, time_unit)))
    counts = later.group_by(holdout_id="customer_id").agg(holdout_periods=later.count())
    joined = calibration.left_join(counts, calibration.customer_id == counts.holdout_id)
    return joined.select(*calibration.columns, holdout_periods=joined.holdout_periods.fill_null(0)).order_by(
        "customer_id"
    )


def cohorts_and_repeat_purchases(
    transactions: ir.Table | PurchasePeriods, calibration_end_day: dt.date, as_of: dt.date, time_unit: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """For the customers who had bought by the calibration end: their number per first-purchase
    period (cohorts), and their repeat purchase periods counted per period up to ``as_of``.
    One query: each customer's first period by a grouping (no window over every purchase period),
    joined back; per period, the first purchases are the cohort and the later ones the repeats."""
    p = _periods(transactions, as_of, time_unit)
    firsts = p.group_by("customer_id").agg(first_period=p.period.min())
    firsts = firsts.filter(firsts.first_period <= ibis.literal(period_start(calibration_end_day, time_unit)))
    joined = p.join(firsts, "customer_id")
    per_period = (
        joined.group_by("period")
        .agg(
            customers=(joined.period == joined.first_period).sum(),
            repeat_purchases=(joined.period > joined.first_period).sum(),
        )
        .order_by("period")
        .execute()
    )
    cohorts = (
        per_period[per_period["customers"] > 0]
        .rename(columns={"period": "first_period"})[["first_period", "customers"]]
        .reset_index(drop=True)
    )
    repeats = per_period[per_period["repeat_purchases"] > 0][["period", "repeat_purchases"]].reset_index(
        drop=True
    )
    return cohorts, repeats


# ---------------------------------------------------------------------------- checks on inputs


def fitting_sample(
    inputs: pd.DataFrame, size: int | None = FIT_SAMPLE_ABOVE, seed: int = FIT_SAMPLE_SEED
) -> pd.DataFrame:
    """The customers a model is fitted on: all of them up to ``size``, else a fixed-seed sample of
    ``size`` (rows in their original order; ``attrs["sampled_from"]`` records how many there were).
    ``size`` None: always all."""
    if size is None or len(inputs) <= size:
        return inputs
    positions = np.sort(np.random.default_rng(seed).choice(len(inputs), size=size, replace=False))
    sample = inputs.iloc[positions]
    sample.attrs["sampled_from"] = len(inputs)
    return sample


def compress_histories(
    inputs: pd.DataFrame, sample_above: int | None = FIT_SAMPLE_ABOVE, seed: int = FIT_SAMPLE_SEED
) -> pd.DataFrame:
    """Unique (repeat_periods, recency_periods, age_periods) rows with ``customers`` sharing each:
    the purchase models' likelihood is the same with these counts as weights, on far fewer rows.
    Above ``sample_above`` customers, the histories of a fixed-seed sample of that many."""
    sample = fitting_sample(inputs, sample_above, seed)
    compressed = (
        sample.groupby(HISTORY_COLUMNS, as_index=False, sort=True)
        .size()
        .rename(columns={"size": "customers"})
    )
    if "sampled_from" in sample.attrs:
        compressed.attrs["sampled_from"] = sample.attrs["sampled_from"]
    return compressed


def repeat_buyer_status(inputs: pd.DataFrame, min_repeat_buyers: int) -> dict[str, Any]:
    """Whether there are enough customers with a repeat purchase for a meaningful fit, and a
    sentence saying so."""
    customers = len(inputs)
    repeat = int((inputs["repeat_periods"] > 0).sum())
    enough = repeat >= min_repeat_buyers
    message = (
        f"{repeat:,} of {customers:,} customers made a repeat purchase "
        f"({'enough' if enough else 'too few'}: the models need at least {min_repeat_buyers:,})."
    )
    return {
        "enough": enough,
        "customers": customers,
        "repeat_buyers": repeat,
        "min_repeat_buyers": min_repeat_buyers,
        "message": message,
    }


def input_overview(inputs: pd.DataFrame, time_unit: str) -> pd.DataFrame:
    """A few plain facts about the model inputs for the page: customers, repeat buyers, distinct
    histories, typical age and the spread of repeat purchases."""
    repeaters = inputs[inputs["repeat_periods"] > 0]
    unit = time_unit
    facts = [
        ("customers", f"{len(inputs):,}"),
        (
            "customers with a repeat purchase",
            f"{len(repeaters):,} ({100 * len(repeaters) / max(1, len(inputs)):.1f}%)",
        ),
        ("distinct histories the models are fitted on", f"{len(compress_histories(inputs)):,}"),
        (f"median age (first purchase to the as-of date), {unit}", f"{inputs['age_periods'].median():,.1f}"),
        (
            f"repeat buyers: median number of repeat purchase {unit}",
            f"{repeaters['repeat_periods'].median():,.0f}" if len(repeaters) else "–",
        ),
        (
            f"repeat buyers: median value of their repeat purchase {unit}",
            f"{repeaters['repeat_mean_value'].median():,.2f}" if len(repeaters) else "–",
        ),
    ]
    return pd.DataFrame(facts, columns=["fact", "value"])


def spend_sample(
    inputs: pd.DataFrame, sample_above: int | None = FIT_SAMPLE_ABOVE, seed: int = FIT_SAMPLE_SEED
) -> pd.DataFrame:
    """The customers Gamma-Gamma can learn from: a repeat purchase and a positive mean repeat value
    (above ``sample_above`` of them, a fixed-seed sample of that many)."""
    return fitting_sample(
        inputs[(inputs["repeat_periods"] > 0) & (inputs["repeat_mean_value"] > 0)], sample_above, seed
    )


def frequency_monetary_correlation(inputs: pd.DataFrame) -> dict[str, Any]:
    """Pearson correlation of repeat_periods and repeat_mean_value among the spend sample:
    Gamma-Gamma assumes spend per purchase does not depend on how often a customer buys."""
    sample = spend_sample(inputs, sample_above=None)
    if len(sample) < 3 or sample["repeat_periods"].nunique() < 2 or sample["repeat_mean_value"].nunique() < 2:
        return {"customers": len(sample), "correlation": None}
    corr = float(np.corrcoef(sample["repeat_periods"], sample["repeat_mean_value"])[0, 1])
    return {"customers": len(sample), "correlation": corr}


def spend_check_message(correlation: dict[str, Any], limit: float) -> str:
    """One sentence on Gamma-Gamma's independence assumption: fine, a warning, or not checkable."""
    value = correlation["correlation"]
    if value is None:
        return (
            f"Only {correlation['customers']:,} customers have repeat purchases with a positive value: "
            "the check is not possible."
        )
    verdict = (
        "close enough to zero for the Gamma-Gamma spend model"
        if abs(value) <= limit
        else f"WARNING: above {limit:g}, so spend depends on frequency and the value estimates are less "
        "reliable"
    )
    return (
        f"Correlation between repeat purchases and their mean value over {correlation['customers']:,} "
        f"repeat buyers: {value:.3f}, {verdict}."
    )


# ----------------------------------------------------------------------------------- fitting


@dataclass
class ModelFit:
    """One fitted model: parameters in the data's time unit, standard errors, the (unpenalised)
    log-likelihood, and how the fit went (penalizer used, whether it converged, a note)."""

    model: str
    params: dict[str, float] | None
    standard_errors: dict[str, float] | None
    log_likelihood: float | None
    converged: bool
    penalizer: float
    customers: int
    rows: int
    note: str = ""
    fitter: Any = field(default=None, repr=False)


class PurchaseHistories(tuple):
    """(frequency, recency, age, weights): the arrays lifetimes' purchase likelihoods take, with the
    distinct (frequency, recency) and (frequency, age) pairs found once. Pareto/NBD's hypergeometric
    terms depend only on those pairs: about a tenth of the rows on 10M orders."""

    @functools.cached_property
    def distinct_pairs(self) -> dict[str, np.ndarray]:
        frequency, recency, age = (np.asarray(a, dtype=float) for a in self[:3])
        pairs = {}
        for name, other in (("recency", recency), ("age", age)):
            first, second, back = _distinct_pairs(frequency, other)
            pairs.update({f"{name}_frequency": first, name: second, f"{name}_back": back})
        pairs["frequency"], pairs["frequency_back"] = np.unique(frequency, return_inverse=True)
        return pairs


def _distinct_pairs(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (first, second) pairs, sorted, and for each row the position of its pair: what
    ``np.unique(..., axis=1, return_inverse=True)`` gives, by one lexsort (74k rows: 0.2 s -> 0.01 s)."""
    order = np.lexsort((second, first))
    a, b = first[order], second[order]
    starts = np.ones(len(a), dtype=bool)
    starts[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    back = np.empty(len(a), dtype=np.intp)
    back[order] = np.cumsum(starts) - 1
    return a[starts], b[starts], back


def _pareto_log_a0(params: np.ndarray, histories: PurchaseHistories) -> np.ndarray:
    """lifetimes' ``ParetoNBDFitter._log_A_0`` (Fader-Hardie eq. 19-20) with each hyp2f1 evaluated
    once per distinct pair: the same numbers, element for element."""
    r, alpha, s, beta = params
    frequency, recency, age = histories[:3]
    pairs = histories.distinct_pairs
    if alpha < beta:
        low, high = alpha, beta
        b_recency, b_age = r + pairs["recency_frequency"], r + pairs["age_frequency"]
    else:
        low, high = beta, alpha
        b_recency = b_age = s + 1
    a_recency, a_age = r + s + pairs["recency_frequency"], r + s + pairs["age_frequency"]
    p_1 = hyp2f1(a_recency, b_recency, a_recency + 1.0, (high - low) / (high + pairs["recency"]))[
        pairs["recency_back"]
    ]
    p_2 = hyp2f1(a_age, b_age, a_age + 1.0, (high - low) / (high + pairs["age"]))[pairs["age_back"]]
    rsf = r + s + frequency
    q_1, q_2 = high + recency, high + age
    return _log_difference(np.log(p_1) + rsf * np.log(q_2), np.log(p_2) + rsf * np.log(q_1)) - rsf * np.log(
        q_1 * q_2
    )


def _log_difference(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """log(exp(first) - exp(second)) element by element, nan where second > first: the very numbers
    of scipy's ``logsumexp([first, second], axis=0, b=[1, -1])`` (which lifetimes calls), whose
    operations it repeats for two terms at a sixth of the cost (8 of the 13 ms of a Pareto/NBD
    likelihood on 64k histories)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        difference = np.log1p(-np.exp(second - first)) + first
    return np.where(second == -np.inf, first, np.where(first >= second, difference, np.nan))


def pareto_nbd_negative_log_likelihood(
    params: np.ndarray, histories: PurchaseHistories, penalizer_coef: float
) -> float:
    """lifetimes' ``ParetoNBDFitter._negative_log_likelihood`` (eq. 18), equal to the last bit, about
    3x faster: the optimiser evaluates it some 150 times per fit."""
    if np.any(np.asarray(params) <= 0.0):
        return np.inf
    r, alpha, s, beta = params
    frequency, _, age, weights = histories
    pairs = histories.distinct_pairs
    a_1 = (
        gammaln(r + pairs["frequency"])[pairs["frequency_back"]]
        - gammaln(r)
        + r * np.log(alpha)
        + s * np.log(beta)
    )
    a_2 = np.logaddexp(
        -(r + frequency) * np.log(alpha + age) - s * np.log(beta + age),
        np.log(s) + _pareto_log_a0(params, histories) - np.log(r + s + frequency),
    )
    return -(weights * (a_1 + a_2)).sum() / weights.mean() + penalizer_coef * sum(np.asarray(params) ** 2)


def _data_arrays(model: str, data: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """The arrays a lifetimes likelihood takes, from our columns (weights last)."""
    weights = data["customers"].to_numpy(dtype=float) if "customers" in data else np.ones(len(data))
    if model == "gamma_gamma":
        return (
            data["repeat_periods"].to_numpy(dtype=float),
            data["repeat_mean_value"].to_numpy(dtype=float),
            weights,
        )
    return PurchaseHistories(
        (
            data["repeat_periods"].to_numpy(dtype=int),
            data["recency_periods"].to_numpy(dtype=float),
            data["age_periods"].to_numpy(dtype=float),
            weights,
        )
    )


def _mean_objective(
    model: str, log_params: np.ndarray, arrays: tuple[np.ndarray, ...], penalizer: float
) -> float:
    """lifetimes' objective per customer: minus the mean log-likelihood plus penalizer x sum(params^2).
    (Pareto/NBD's own objective divides by the mean weight instead of the sum; undone here.)"""
    weights = arrays[-1]
    if model == "pareto_nbd":
        value = pareto_nbd_negative_log_likelihood(np.exp(log_params), arrays, penalizer * len(weights))
        return float(value) / len(weights)
    return float(FITTERS[model]._negative_log_likelihood(log_params, *arrays, penalizer))


def log_likelihood(model: str, params: dict[str, float], data: pd.DataFrame) -> float:
    """Total log-likelihood of fitted parameters on the data, in its own time unit, no penalty.
    Purchase models are evaluated in lifetimes' rescaled time (oldest age 1), where Pareto/NBD's
    hyp2f1 stays finite for a customer who bought in nearly every period (in weeks it overflowed for
    137 purchases in 156 weeks), then moved back: rescaling time by c divides a customer's likelihood by
    c^x."""
    arrays, scale = _scaled(model, data)
    log_params = np.log(
        [params[name] * (scale if name in TIME_PARAMS[model] else 1.0) for name in PARAM_NAMES[model]]
    )
    total = -_mean_objective(model, log_params, arrays, 0.0) * float(arrays[-1].sum())
    if model != "gamma_gamma":
        total += float((arrays[3] * arrays[0]).sum()) * np.log(scale)
    return total


def _scaled(model: str, data: pd.DataFrame) -> tuple[tuple[np.ndarray, ...], float]:
    """The arrays as lifetimes optimises them (time rescaled so that the oldest age is 1)."""
    arrays = _data_arrays(model, data)
    if model == "gamma_gamma":
        return arrays, 1.0
    scale = 1.0 / arrays[2].max()
    return PurchaseHistories((arrays[0], arrays[1] * scale, arrays[2] * scale, arrays[3])), scale


def _derivatives(func, x: np.ndarray, step: float = 1e-4) -> tuple[np.ndarray, np.ndarray]:
    """Central finite-difference gradient and Hessian of a smooth scalar function."""
    n = len(x)
    f0 = func(x)
    grad, hess = np.zeros(n), np.zeros((n, n))
    unit = np.eye(n) * step
    for i in range(n):
        fp, fm = func(x + unit[i]), func(x - unit[i])
        grad[i] = (fp - fm) / (2 * step)
        hess[i, i] = (fp - 2 * f0 + fm) / step**2
        for j in range(i):
            value = (
                func(x + unit[i] + unit[j])
                - func(x + unit[i] - unit[j])
                - func(x - unit[i] + unit[j])
                + func(x - unit[i] - unit[j])
            ) / (4 * step**2)
            hess[i, j] = hess[j, i] = value
    return grad, hess


def check_optimum(
    model: str, params: dict[str, float], data: pd.DataFrame, penalizer: float
) -> tuple[str | None, dict[str, float] | None]:
    """Verify that ``params`` is a maximum of the objective lifetimes optimised (finite, flat
    gradient, curvature in every direction) and return (problem or None, standard errors).
    Standard errors come from the curvature in log-parameters (delta method), as lifetimes computes them."""
    names = PARAM_NAMES[model]
    values = np.array([params[n] for n in names], dtype=float)
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        return f"parameters are not finite and positive ({dict(zip(names, values.round(6)))})", None
    arrays, scale = _scaled(model, data)
    scaled_values = values * np.array([scale if n in TIME_PARAMS[model] else 1.0 for n in names])

    def objective(log_params: np.ndarray) -> float:
        return _mean_objective(model, log_params, arrays, penalizer)

    if not np.isfinite(objective(np.log(scaled_values))):
        return "the log-likelihood is not finite at the estimates", None
    grad, hess = _derivatives(objective, np.log(scaled_values))
    if not np.all(np.isfinite(hess)) or np.any(np.linalg.eigvalsh(hess) <= 0):
        return "the likelihood is flat or curved the wrong way at the estimates (no clear maximum)", None
    if np.max(np.abs(grad)) > MAX_GRADIENT:
        return f"the optimiser stopped before the maximum (gradient {np.max(np.abs(grad)):.1e})", None
    variance = np.diag(np.linalg.inv(hess)) / float(arrays[-1].sum())
    return None, {n: float(e) for n, e in zip(names, values * np.sqrt(variance))}


def _starting_points(model: str, starts: int, seed: int) -> list[np.ndarray | None]:
    """Pareto/NBD: lifetimes' own centre (all ones, in rescaled time) then seeded log-normal draws
    around it; the other models start from lifetimes' fixed default (None)."""
    if model != "pareto_nbd":
        return [None]
    rng = np.random.default_rng(seed)
    return [np.ones(4)] + [np.exp(rng.normal(0.0, 1.0, 4)) for _ in range(starts - 1)]


def _pareto_by_gradient(
    arrays_scaled: tuple[np.ndarray, ...], scale: float, start: np.ndarray, penalizer: float, rows: int
) -> Any | None:
    """Pareto/NBD fitted by BFGS on the log-parameters of the objective lifetimes minimises (its
    Nelder-Mead needs 5-8 times more likelihood evaluations, each two hyp2f1 calls per row); the
    estimates go into a lifetimes fitter for its prediction formulas. None when BFGS does not report
    a finite optimum: the caller then runs lifetimes' own fit from the same start."""
    result = minimize(
        lambda log_params: _mean_objective("pareto_nbd", log_params, arrays_scaled, penalizer),
        np.log(start),
        method="BFGS",
    )
    if not result.success or not np.isfinite(result.fun) or not np.all(np.isfinite(result.x)):
        return None
    fitter = ParetoNBDFitter(penalizer_coef=penalizer * rows)
    fitter._scale = scale
    fitter.params_ = pd.Series(
        np.exp(result.x) / np.array([1.0, scale, 1.0, scale]), index=PARAM_NAMES["pareto_nbd"]
    )
    fitter.predict = fitter.conditional_expected_number_of_purchases_up_to_time
    return fitter


def _scout_pareto_start(
    data: pd.DataFrame, starts: list[np.ndarray], scale: float, penalizer: float, seed: int
) -> list[np.ndarray]:
    """Multi-start made cheap on many histories: BFGS from every start on a fixed-seed sample of about
    ``PARETO_SCOUT_CUSTOMERS`` customers (in the full data's time scale), and the best optimum as the
    single start for the fit on all histories. The starts unchanged when the data is small or no
    start gives a finite optimum."""
    arrays = _data_arrays("pareto_nbd", data)
    total = float(arrays[3].sum())
    if total <= PARETO_SCOUT_CUSTOMERS or len(starts) < 2:
        return starts
    weights = np.random.default_rng(seed).binomial(arrays[3].astype(np.int64), PARETO_SCOUT_CUSTOMERS / total)
    kept = weights > 0
    scout = PurchaseHistories(
        (arrays[0][kept], arrays[1][kept] * scale, arrays[2][kept] * scale, weights[kept].astype(float))
    )
    best, best_value = None, np.inf
    for start in starts:
        fitter = _pareto_by_gradient(scout, 1.0, start, penalizer, int(kept.sum()))
        if fitter is not None:
            log_params = np.log(fitter.params_.to_numpy(dtype=float))
            value = _mean_objective("pareto_nbd", log_params, scout, penalizer)
            if np.isfinite(value) and value < best_value:
                best, best_value = np.exp(log_params), value
    return starts if best is None else [best]


def _fit_once(
    model: str, data: pd.DataFrame, penalizer: float, seed: int, starts: int
) -> tuple[Any | None, str | None]:
    """Fit lifetimes' model from each starting point; keep the best log-likelihood. Returns the
    fitter, or None and what went wrong."""
    cls = FITTERS[model]
    arrays = _data_arrays(model, data)
    arrays_scaled, scale = _scaled(model, data)
    best, best_objective, problems = None, np.inf, []
    points = _starting_points(model, starts, seed)
    if model == "pareto_nbd":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            points = _scout_pareto_start(data, points, scale, penalizer, seed)
    for start in points:
        # Pareto/NBD's penalty is added to a total, not a mean: scale it so every model means the same.
        fitter = cls(penalizer_coef=penalizer * len(data) if model == "pareto_nbd" else penalizer)
        try:
            with contextlib.redirect_stdout(_stdio.StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if model == "gamma_gamma":
                    fitter.fit(arrays[0], arrays[1], weights=arrays[2])
                elif model == "pareto_nbd":
                    fitter = _pareto_by_gradient(
                        arrays_scaled, scale, start, penalizer, len(data)
                    ) or fitter.fit(
                        *arrays[:3], weights=arrays[3], initial_params=start, tol=PARETO_TOL, maxiter=4000
                    )
                else:
                    fitter.fit(*arrays[:3], weights=arrays[3])
        except (ConvergenceError, ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
            problems.append(f"{type(exc).__name__}: {str(exc).strip() or 'no detail'}")
            continue
        params = dict(fitter.params_.astype(float))
        log_scaled = np.log(
            [params[n] * (scale if n in TIME_PARAMS[model] else 1.0) for n in PARAM_NAMES[model]]
        )
        value = _mean_objective(model, log_scaled, arrays_scaled, penalizer)
        if np.isfinite(value) and value < best_objective:
            best, best_objective = fitter, value
    if best is None:
        return None, "; ".join(dict.fromkeys(problems)) or "no starting point gave a finite likelihood"
    return best, None


def fit_model(
    data: pd.DataFrame, model: str, seed: int = 42, starts: int = 1, penalizer_retry: float = 0.001
) -> ModelFit:
    """Fit one model (``bgnbd``, ``pareto_nbd``, ``mbgnbd`` on compressed histories with a
    ``customers`` weight column; ``gamma_gamma`` on the spend sample). A fit that fails or is not a
    verified maximum is retried once with ``penalizer_retry``; if that fails too the result says so
    (``converged`` False, no parameters) instead of raising."""
    customers = int(data["customers"].sum()) if "customers" in data else len(data)
    notes = []
    sampled = (
        f"fitted on a fixed-seed sample of {customers:,} of {data.attrs['sampled_from']:,} customers"
        if "sampled_from" in data.attrs
        else ""
    )
    for penalizer in (0.0, penalizer_retry):
        fitter, problem = _fit_once(model, data, penalizer, seed, starts)
        errors = None
        if fitter is not None:
            params = {name: float(value) for name, value in fitter.params_.items()}
            problem, errors = check_optimum(model, params, data, penalizer)
        if problem is None:
            if penalizer:
                notes.append(f"refitted with penalizer {penalizer:g}")
            return ModelFit(
                model,
                params,
                errors,
                log_likelihood(model, params, data),
                True,
                penalizer,
                customers,
                len(data),
                "; ".join(notes + ([sampled] if sampled else [])),
                fitter,
            )
        notes.append(f"{'penalised fit' if penalizer else 'fit'} did not converge ({problem})")
    return ModelFit(model, None, None, None, False, penalizer_retry, customers, len(data), "; ".join(notes))


def fit_purchase_models(
    histories: pd.DataFrame, models: list[str], seed: int, pareto_starts: int, penalizer_retry: float
) -> dict[str, ModelFit]:
    """Every listed purchase model fitted on the same compressed histories."""
    return {
        m: fit_model(histories, m, seed, pareto_starts if m == "pareto_nbd" else 1, penalizer_retry)
        for m in models
    }


def is_usable(fit: ModelFit | None) -> bool:
    """True when a fit exists and converged (its predictions can be used)."""
    return fit is not None and fit.converged


def fit_table(fits: dict[str, ModelFit]) -> pd.DataFrame:
    """Parameters with standard errors, log-likelihood and fit notes, one row per model (for the page)."""
    rows = []
    for fit in fits.values():
        row = {
            "model": MODEL_LABELS[fit.model],
            "log_likelihood": fit.log_likelihood,
            "converged": fit.converged,
            "penalizer": fit.penalizer if fit.converged else None,
            "customers": fit.customers,
            "rows_fitted": fit.rows,
        }
        for name in PARAM_NAMES[fit.model]:
            if fit.params:
                row[name] = f"{fit.params[name]:.4g} ± {fit.standard_errors[name]:.2g}"
        row["note"] = fit.note
        rows.append(row)
    table = pd.DataFrame(rows)
    return table[[c for c in table.columns if c != "note"] + ["note"]] if rows else table


# -------------------------------------------------------------------------------- predictions


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
) -> pd.DataFrame:
    """Per customer (sorted by id): the model inputs, P(alive), churn risk, expected purchases and
    average order value over the horizon, discounted CLV and expected days to the next purchase.
    Without a usable fit the model columns are null (written as such, never guessed)."""
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
    if spend_fit is not None and spend_fit.converged:
        out["expected_avg_order_value"] = expected_average_value(
            spend_fit, out["repeat_periods"], out["repeat_mean_value"]
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


# ------------------------------------------------------------------------------ model choice


def holdout_predictions(calibration: pd.DataFrame, fits: dict[str, ModelFit], length: float) -> pd.DataFrame:
    """Per calibration customer: actual holdout purchase periods and each converged model's expectation."""
    out = calibration[["customer_id", "repeat_periods", "holdout_periods"]].copy()
    histories, codes = _distinct_histories(calibration)
    for name, fit in fits.items():
        if fit.converged:
            out[name] = expected_purchases(
                fit,
                length,
                histories["repeat_periods"],
                histories["recency_periods"],
                histories["age_periods"],
            )[codes]
    return out


def holdout_errors(predictions: pd.DataFrame, fits: dict[str, ModelFit]) -> pd.DataFrame:
    """Per model: actual and expected holdout purchases in total, the relative total error, and the
    per-customer mean absolute and root-mean-square errors."""
    actual = predictions["holdout_periods"].astype(float)
    rows = []
    for name, fit in fits.items():
        row = {
            "model": name,
            "label": MODEL_LABELS[name],
            "log_likelihood": fit.log_likelihood,
            "converged": fit.converged,
            "penalizer": fit.penalizer if fit.converged else None,
            "actual_total": float(actual.sum()),
            "expected_total": None,
            "total_error": None,
            "mae": None,
            "rmse": None,
        }
        if fit.converged:
            expected = predictions[name]
            row.update(
                expected_total=float(expected.sum()),
                total_error=abs(float(expected.sum()) / float(actual.sum()) - 1) if actual.sum() else None,
                mae=float((expected - actual).abs().mean()),
                rmse=float(np.sqrt(((expected - actual) ** 2).mean())),
            )
        rows.append(row)
    columns = [
        "model",
        "label",
        "log_likelihood",
        "converged",
        "penalizer",
        "actual_total",
        "expected_total",
        "total_error",
        "mae",
        "rmse",
    ]
    return pd.DataFrame(rows, columns=columns)


def choose_model(errors: pd.DataFrame, metric: str, fallback: str) -> str:
    """The converged model with the smallest holdout ``metric``; ``fallback`` when none has one."""
    usable = errors[errors["converged"] & errors[metric].notna()]
    if usable.empty:
        return fallback
    return str(usable.sort_values([metric, "model"], kind="mergesort").iloc[0]["model"])


def holdout_by_frequency(predictions: pd.DataFrame, models: list[str], top: int = 7) -> pd.DataFrame:
    """Mean actual vs expected holdout purchases per customer by calibration repeat purchases
    0, 1, ..., ``top``+ (the classic Fader-Hardie validation table)."""
    frame = predictions.copy()
    capped = frame["repeat_periods"].clip(upper=top)
    frame["calibration_repeats"] = capped.astype(int).astype(str).where(capped < top, f"{top}+")
    order = [str(i) for i in range(top)] + [f"{top}+"]
    present = [m for m in models if m in frame]
    table = frame.groupby("calibration_repeats").agg(
        customers=("customer_id", "size"),
        actual=("holdout_periods", "mean"),
        **{m: (m, "mean") for m in present},
    )
    table = table.reindex([o for o in order if o in table.index])
    return table.rename(columns={m: f"expected {MODEL_LABELS[m]}" for m in present}).reset_index()


def cumulative_tracking(
    cohorts: pd.DataFrame, repeats: pd.DataFrame, fits: dict[str, ModelFit], as_of: dt.date, time_unit: str
) -> pd.DataFrame:
    """Cumulative repeat purchase periods of the calibration customers per period: actual, and
    expected by each model (sum over first-purchase cohorts of size x E[X(time since their first)])."""
    days = UNIT_DAYS[time_unit]
    start = min(cohorts["first_period"])
    points = pd.date_range(
        pd.Timestamp(start), pd.Timestamp(period_start(as_of, time_unit)), freq="7D"
    )  # weekly
    counts = repeats.set_index(pd.to_datetime(repeats["period"]))["repeat_purchases"]
    actual = [int(counts[counts.index <= p].sum()) for p in points]
    out = pd.DataFrame({"period": points.date, "actual": actual})
    born = pd.to_datetime(cohorts["first_period"]).to_numpy()
    sizes = cohorts["customers"].to_numpy(dtype=float)
    for name, fit in fits.items():
        if not fit.converged:
            continue
        expected = []
        for p in points:
            elapsed = (p.to_datetime64() - born) / np.timedelta64(1, "D") / days
            alive = elapsed > 0
            expected.append(
                float((sizes[alive] * expected_purchases_new_customer(fit, elapsed[alive])).sum())
            )
        out[MODEL_LABELS[name]] = expected
    return out


# ------------------------------------------------------------------------------ page tables


def alive_and_purchases_matrices(
    fit: ModelFit, max_repeats: int, age: float, horizon: float, rows: int = 40
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """P(alive) and expected purchases over ``horizon`` for a customer of the given age, by repeat
    purchases (columns 0..max_repeats) and whole-unit recency (rows, at most ``rows`` of them, most
    recent first). Impossible cells (a
    repeat buyer with recency 0, a one-time buyer with recency > 0) are empty."""
    step = max(1, int(np.ceil((int(age) + 1) / rows)))
    recency = np.arange(0, int(age) + 1, step)[::-1]
    x_grid, r_grid = np.meshgrid(np.arange(max_repeats + 1, dtype=float), recency)
    possible = (x_grid == 0) == (r_grid == 0)
    alive = np.where(
        possible,
        probability_alive(fit, x_grid.ravel(), r_grid.ravel(), np.full(x_grid.size, age)).reshape(
            x_grid.shape
        ),
        np.nan,
    )
    purchases = np.where(
        possible,
        expected_purchases(fit, horizon, x_grid.ravel(), r_grid.ravel(), np.full(x_grid.size, age)).reshape(
            x_grid.shape
        ),
        np.nan,
    )
    index = pd.Index(recency.astype(int), name="recency_periods")
    columns = pd.Index(range(max_repeats + 1), name="repeat_periods")
    return pd.DataFrame(alive, index=index, columns=columns), pd.DataFrame(
        purchases, index=index, columns=columns
    )


def matrix_extent(inputs: pd.DataFrame, max_repeats: int = 30) -> tuple[int, float]:
    """How far the heatmaps reach: repeat purchases up to the 99th percentile of repeat buyers (at
    least 3, at most ``max_repeats``) and the age of the oldest customer."""
    repeaters = inputs.loc[inputs["repeat_periods"] > 0, "repeat_periods"]
    top = int(np.ceil(repeaters.quantile(0.99))) if len(repeaters) else 3
    return int(np.clip(top, 3, max_repeats)), float(inputs["age_periods"].max())


def clv_overview(scores: pd.DataFrame) -> pd.DataFrame:
    """Total, mean and median CLV, the share held by the top 10% of customers, and the expected
    purchases and active customers, for the page."""
    values = scores["clv"].dropna().sort_values(ascending=False)
    top = values.head(max(1, int(np.ceil(0.1 * len(values))))).sum()
    facts = [
        ("customers valued", f"{len(values):,}"),
        ("total CLV over the horizon", f"{values.sum():,.0f}"),
        ("mean / median CLV per customer", f"{values.mean():,.2f} / {values.median():,.2f}"),
        (
            "share of CLV held by the top 10% of customers",
            f"{100 * top / values.sum():.1f}%" if values.sum() else "–",
        ),
        ("expected purchases over the horizon", f"{scores['expected_purchases'].sum():,.0f}"),
        ("expected active customers (sum of P(alive))", f"{scores['p_alive'].sum():,.0f}"),
    ]
    return pd.DataFrame(facts, columns=["fact", "value"])


def top_customers(scores: pd.DataFrame, n: int) -> pd.DataFrame:
    """The ``n`` customers with the highest CLV (ties by id)."""
    return largest_first(scores, "clv", n)


def high_value_at_risk(
    scores: pd.DataFrame, value_quantile: float, churn_risk: float, n: int
) -> pd.DataFrame:
    """Customers whose CLV is at or above the ``value_quantile`` of all customers and whose churn risk
    is at or above ``churn_risk``, highest CLV first: valuable customers who may be slipping away."""
    threshold = scores["clv"].quantile(value_quantile)
    chosen = scores[(scores["clv"] >= threshold) & (scores["churn_risk"] >= churn_risk)]
    return top_customers(chosen, n)


def fit_summary(fit: ModelFit | None) -> dict[str, Any] | None:
    """A fit as plain data for 06_model.json."""
    if fit is None:
        return None
    return {
        "model": fit.model,
        "label": MODEL_LABELS[fit.model],
        "converged": fit.converged,
        "params": fit.params,
        "standard_errors": fit.standard_errors,
        "log_likelihood": fit.log_likelihood,
        "penalizer": fit.penalizer,
        "customers": fit.customers,
        "rows_fitted": fit.rows,
        "note": fit.note,
    }


def model_report(
    status: dict[str, Any],
    calibration_status: dict[str, Any] | None,
    calibration_end_day: dt.date,
    holdout_units: float,
    calibration_fits: dict[str, ModelFit],
    errors: pd.DataFrame | None,
    chosen: str,
    purchase_fit: ModelFit | None,
    spend_fit: ModelFit | None,
    correlation: dict[str, Any],
    settings: dict[str, Any],
) -> dict[str, Any]:
    """Everything 06_model.json records: a status (ok, too_few_repeat_buyers, fit_failed), the model
    comparison on the holdout, the chosen model refitted on all history and the spend model."""
    if not status["enough"]:
        overall = "too_few_repeat_buyers"
    elif not is_usable(purchase_fit) or not is_usable(spend_fit):
        overall = "fit_failed"
    else:
        overall = "ok"
    return {
        "status": overall,
        "message": status["message"],
        "settings": settings,
        "repeat_buyers": status,
        "holdout": {
            "calibration_end": calibration_end_day,
            "length_periods": holdout_units,
            "repeat_buyers": calibration_status,
            "fits": {name: fit_summary(fit) for name, fit in calibration_fits.items()},
            "errors": errors.to_dict(orient="records") if errors is not None else [],
        },
        "chosen_model": chosen,
        "purchase_model": fit_summary(purchase_fit),
        "spend_model": fit_summary(spend_fit),
        "frequency_monetary_correlation": correlation,
    }
