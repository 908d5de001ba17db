"""CLV: model inputs equal lifetimes' own summaries, the published CDNOW estimates are reproduced
through our helpers (BG/NBD, Pareto/NBD, MBG/NBD, Gamma-Gamma), weights compression changes nothing,
failed fits are retried or reported, and the page tables are right on hand-built data."""

from __future__ import annotations

import ast
import datetime as dt
import importlib
import json
import pkgutil
import re
import warnings
from pathlib import Path

import ibis
import lifetimes
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from helpers import clv, io, report, synth
from helpers.config import ClvConfig

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from lifetimes.utils import calibration_and_holdout_data, summary_data_from_transaction_data

DATASETS = Path(lifetimes.__file__).parent / "datasets"
AS_OF = dt.date(1998, 6, 30)  # a Tuesday


def sig3(value: float) -> str:
    """A value to 3 significant figures, the precision of the published tables."""
    return f"{value:.3g}"


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    """Fader-Hardie-Lee's 2,357 CDNOW customers (first purchase in Q1 1997), 39 weeks, in our names."""
    frame = pd.read_csv(DATASETS / "cdnow_customers_summary.csv")
    return frame.rename(
        columns={
            "ID": "customer_id",
            "frequency": "repeat_periods",
            "recency": "recency_periods",
            "T": "age_periods",
        }
    )


@pytest.fixture(scope="module")
def cohort_spend() -> pd.DataFrame:
    """The same cohort with zbar, the mean value of the repeat purchases (Fader-Hardie 2013)."""
    frame = pd.read_csv(DATASETS / "cdnow_customers_summary_with_transactions.csv")
    return frame.rename(
        columns={
            "ID": "customer_id",
            "x": "repeat_periods",
            "t_x": "recency_periods",
            "T": "age_periods",
            "zbar": "repeat_mean_value",
        }
    )


@pytest.fixture(scope="module")
def fits(cohort: pd.DataFrame) -> dict[str, clv.ModelFit]:
    return clv.fit_purchase_models(
        clv.compress_histories(cohort),
        ["bgnbd", "pareto_nbd", "mbgnbd"],
        seed=42,
        pareto_starts=4,
        penalizer_retry=0.001,
    )


# ------------------------------------------------------------------------------ model inputs


def orders() -> pd.DataFrame:
    """Five customers: same-day and same-week repeats, a first order on the as-of day, an order after it."""
    rows = [
        ("A", "1998-01-05 10:00", 10.0),
        ("A", "1998-01-05 18:00", 5.0),
        ("A", "1998-01-07 09:00", 2.5),
        ("A", "1998-02-20 00:00", 20.0),
        ("A", "1998-06-30 23:59", 7.0),
        ("B", "1998-03-03 00:00", 40.0),
        ("C", "1998-01-01 00:00", 12.0),
        ("C", "1998-01-04 00:00", 8.0),
        ("C", "1998-05-11 00:00", 30.0),
        ("D", "1998-04-01 00:00", 9.0),
        ("D", "1998-07-08 00:00", 99.0),  # after as_of: never counted
        ("E", "1998-06-30 00:00", 3.0),
    ]
    frame = pd.DataFrame(rows, columns=["customer_id", "order_ts", "amount"])
    frame["order_ts"] = pd.to_datetime(frame["order_ts"])
    return frame


def lifetimes_summary(frame: pd.DataFrame, freq: str) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = summary_data_from_transaction_data(
            frame,
            "customer_id",
            "order_ts",
            monetary_value_col="amount",
            observation_period_end=str(AS_OF),
            freq=freq,
        )
    return summary.sort_index()


@pytest.mark.parametrize(("time_unit", "freq"), [("days", "D"), ("weeks", "W")])
def test_model_inputs_equal_lifetimes_summary(con, time_unit: str, freq: str) -> None:
    frame = orders()
    ours = clv.model_inputs(con.create_table("orders", frame, overwrite=True), AS_OF, time_unit).to_pandas()
    theirs = lifetimes_summary(frame, freq)
    assert ours["customer_id"].tolist() == theirs.index.tolist() == ["A", "B", "C", "D", "E"]
    np.testing.assert_array_equal(ours["repeat_periods"], theirs["frequency"])
    np.testing.assert_allclose(ours["recency_periods"], theirs["recency"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours["age_periods"], theirs["T"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours["repeat_mean_value"], theirs["monetary_value"], rtol=0, atol=1e-12)


def test_model_inputs_by_hand_in_weeks(con) -> None:
    ours = clv.model_inputs(con.create_table("orders", orders(), overwrite=True), AS_OF, "weeks").to_pandas()
    a = ours.iloc[0]
    # A: weeks of Jan 5 (10 + 5 + 2.5 = one period), Feb 16 (20), Jun 29 (7): 2 repeat weeks worth 13.5 on
    # average.
    assert (a.repeat_periods, a.recency_periods, a.age_periods, a.repeat_mean_value) == (2, 25.0, 25.0, 13.5)
    assert str(a.first_purchase_period)[:10] == "1998-01-05"
    c = ours.iloc[2]  # C: Thu Jan 1 and Sun Jan 4 fall in one week (Dec 29 - Jan 4)
    assert (c.repeat_periods, c.recency_periods, c.repeat_mean_value) == (1, 19.0, 30.0)
    d = ours.iloc[3]  # D's July order is after the as-of date
    assert (d.repeat_periods, d.repeat_mean_value, d.age_periods) == (0, 0.0, 13.0)


def test_a_period_with_only_returns_is_not_a_purchase_but_returns_net_within_a_period(con) -> None:
    frame = pd.DataFrame(
        {
            "customer_id": ["A"] * 4,
            "amount": [50.0, 30.0, -10.0, -5.0],
            "order_ts": pd.to_datetime(["1998-01-05", "1998-02-02", "1998-02-03", "1998-03-02"]),
        }
    )
    ours = clv.model_inputs(con.create_table("returns", frame, overwrite=True), AS_OF, "weeks").to_pandas()
    # Week of Feb 2 nets 30 - 10 = 20; the lone return in March is no purchase.
    assert ours[["repeat_periods", "recency_periods", "repeat_mean_value"]].iloc[0].tolist() == [1, 4.0, 20.0]


def test_a_zero_amount_order_kept_by_cleaning_is_a_purchase(con) -> None:
    """With cleaning.zero_amount: keep, an order of 0 (a free sample, a fully discounted order) is a
    transaction: the purchase models count it, as lifetimes counts every transaction."""
    frame = pd.DataFrame(
        {
            "customer_id": ["A", "A", "A"],
            "amount": [50.0, 0.0, 0.0],
            "order_ts": pd.to_datetime(["1998-01-05", "1998-02-02", "1998-03-02"]),
        }
    )
    ours = clv.model_inputs(con.create_table("zeros", frame, overwrite=True), AS_OF, "weeks").to_pandas()
    theirs = lifetimes_summary(frame, "W")
    assert ours["repeat_periods"].tolist() == theirs["frequency"].tolist() == [2]
    assert ours[["recency_periods", "repeat_mean_value"]].iloc[0].tolist() == [8.0, 0.0]


def test_calibration_end_is_a_sunday_in_weeks_and_the_holdout_is_measured_like_lifetimes() -> None:
    assert clv.calibration_end(AS_OF, 182, "weeks") == dt.date(1997, 12, 28)  # Dec 30 is a Tuesday
    assert clv.calibration_end(dt.date(1998, 1, 4), 0 + 7, "weeks") == dt.date(1997, 12, 28)  # a Sunday stays
    assert clv.calibration_end(AS_OF, 182, "days") == dt.date(1997, 12, 30)
    assert clv.holdout_length(dt.date(1997, 12, 28), AS_OF, "weeks") == 27.0  # Mon Dec 22 -> Mon Jun 29
    assert clv.holdout_length(dt.date(1997, 12, 30), AS_OF, "days") == 182.0


@pytest.mark.parametrize(("time_unit", "freq"), [("days", "D"), ("weeks", "W")])
def test_calibration_and_holdout_equal_lifetimes(con, time_unit: str, freq: str) -> None:
    frame = orders()
    frame = frame[frame["order_ts"].dt.date <= AS_OF]
    frame = frame.assign(
        order_ts=frame["order_ts"].dt.normalize()
    )  # lifetimes cuts at midnight of the end day
    end = clv.calibration_end(AS_OF, 120, time_unit)
    table = con.create_table("orders", frame, overwrite=True)
    ours = clv.calibration_and_holdout(table, end, AS_OF, time_unit).to_pandas()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = calibration_and_holdout_data(
            frame,
            "customer_id",
            "order_ts",
            calibration_period_end=str(end),
            observation_period_end=str(AS_OF),
            freq=freq,
            monetary_value_col="amount",
        ).sort_index()
    assert ours["customer_id"].tolist() == theirs.index.tolist()
    np.testing.assert_array_equal(ours["repeat_periods"], theirs["frequency_cal"])
    np.testing.assert_allclose(ours["recency_periods"], theirs["recency_cal"])
    np.testing.assert_allclose(ours["age_periods"], theirs["T_cal"])
    np.testing.assert_array_equal(ours["holdout_periods"], theirs["frequency_holdout"])
    assert clv.holdout_length(end, AS_OF, time_unit) == theirs["duration_holdout"].iloc[0]


@pytest.mark.parametrize("time_unit", ["days", "weeks"])
def test_purchase_periods_computed_once_give_the_same_inputs_calibration_and_tracking(
    con, time_unit: str
) -> None:
    table = con.create_table("orders", orders(), overwrite=True)  # has orders after AS_OF (a Tuesday)
    periods = clv.purchase_periods(con, table, AS_OF, time_unit)
    end = clv.calibration_end(AS_OF, 120, time_unit)
    pd.testing.assert_frame_equal(
        clv.model_inputs(periods, AS_OF, time_unit).to_pandas(),
        clv.model_inputs(table, AS_OF, time_unit).to_pandas(),
    )
    pd.testing.assert_frame_equal(
        clv.calibration_and_holdout(periods, end, AS_OF, time_unit).to_pandas(),
        clv.calibration_and_holdout(table, end, AS_OF, time_unit).to_pandas(),
    )
    inputs, calibration = clv.inputs_and_calibration(periods, end)  # one grouping for both
    pd.testing.assert_frame_equal(inputs, clv.model_inputs(table, AS_OF, time_unit).to_pandas())
    pd.testing.assert_frame_equal(
        calibration, clv.calibration_and_holdout(table, end, AS_OF, time_unit).to_pandas()
    )
    assert (
        0 < len(calibration) < len(inputs)
    )  # customers who first bought after the calibration end are left out
    for ours, theirs in zip(
        clv.cohorts_and_repeat_purchases(periods, end, AS_OF, time_unit),
        clv.cohorts_and_repeat_purchases(table, end, AS_OF, time_unit),
    ):
        pd.testing.assert_frame_equal(ours, theirs)


def test_purchase_periods_refuse_a_date_that_cuts_a_week_or_is_later() -> None:
    periods = clv.PurchasePeriods(
        ibis.table({"customer_id": "string", "period": "date", "value": "float64"}, name="p"), AS_OF, "weeks"
    )
    with pytest.raises(ValueError, match="must be earlier and end a period"):
        periods.up_to(dt.date(1998, 3, 4), "weeks")  # a Wednesday: its week runs past it
    with pytest.raises(ValueError, match="must be earlier"):
        periods.up_to(dt.date(1998, 7, 5), "weeks")  # after the periods' own date
    with pytest.raises(ValueError, match="cannot give model inputs in days"):
        periods.up_to(dt.date(1998, 3, 1), "days")
    assert periods.up_to(AS_OF, "weeks") is periods.table


def test_model_inputs_compile_for_spark() -> None:
    """Plain Ibis, no raw SQL: the same expressions compile for PySpark (a live Spark session costs
    35 s on this machine, too slow for this file, so only the compilation is checked here)."""
    _ = ibis.pyspark  # registers the backend's options
    orders_table = ibis.table(
        {"customer_id": "string", "order_ts": "timestamp", "amount": "float64"}, name="orders"
    )
    expression = clv.calibration_and_holdout(orders_table, dt.date(1998, 3, 1), AS_OF, "weeks")
    sql = ibis.to_sql(expression, dialect="pyspark")
    functions = set(re.findall(r"\b([A-Z_]+)\(", sql))
    assert {"DATE_TRUNC", "DATEDIFF", "MIN", "COUNT", "SUM"} <= functions


def test_compress_histories_counts_customers_per_unique_history() -> None:
    inputs = pd.DataFrame(
        {
            "repeat_periods": [0, 0, 1, 1, 0],
            "recency_periods": [0.0, 0.0, 3.0, 3.0, 0.0],
            "age_periods": [5.0, 5.0, 9.0, 9.0, 6.0],
        }
    )
    compressed = clv.compress_histories(inputs)
    assert compressed.values.tolist() == [[0, 0.0, 5.0, 2], [0, 0.0, 6.0, 1], [1, 3.0, 9.0, 2]]
    assert compressed["customers"].sum() == len(inputs)


# ------------------------------------------------------------------- published CDNOW results


def test_bgnbd_reproduces_fader_hardie_lee_2005(fits) -> None:
    fit = fits["bgnbd"]
    assert fit.converged and fit.penalizer == 0.0 and fit.customers == 2357
    assert {k: sig3(v) for k, v in fit.params.items()} == {
        "r": "0.243",
        "alpha": "4.41",
        "a": "0.793",
        "b": "2.43",
    }
    assert fit.params["alpha"] == pytest.approx(4.414, abs=5e-4) and fit.params["b"] == pytest.approx(
        2.426, abs=5e-4
    )
    assert fit.log_likelihood == pytest.approx(-9582.4, abs=0.05)


def test_bgnbd_predictions_match_the_published_worked_example(fits) -> None:
    fit = fits["bgnbd"]
    # Customer 1: x = 2, t_x = 30.43, T = 38.86 expects 1.226 purchases in the next 39 weeks.
    assert clv.expected_purchases(fit, 39, [2], [30.43], [38.86])[0] == pytest.approx(1.226, abs=5e-4)
    # P(X(39) = 0) = 0.5738 was computed from the rounded published parameters; the full-precision
    # estimate gives 0.57431: equal to 3 significant figures, and 0.5738 exactly with the rounded ones.
    chance = clv.probability_no_repeat_purchase(fit, 39)
    assert sig3(chance) == sig3(0.5738) and chance == pytest.approx(0.57431, abs=1e-5)
    rounded = clv.ModelFit(
        "bgnbd",
        {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
        None,
        None,
        True,
        0.0,
        0,
        0,
        fitter=lifetimes.BetaGeoFitter(),
    )
    rounded.fitter.params_ = pd.Series(rounded.params)
    assert clv.probability_no_repeat_purchase(rounded, 39) == pytest.approx(0.5738, abs=5e-5)


def test_pareto_nbd_reproduces_fader_hardie(fits) -> None:
    fit = fits["pareto_nbd"]
    assert fit.converged and fit.penalizer == 0.0
    assert {k: sig3(v) for k, v in fit.params.items()} == {
        "r": "0.553",
        "alpha": "10.6",
        "s": "0.606",
        "beta": "11.7",
    }
    assert fit.params["alpha"] == pytest.approx(10.58, abs=5e-3)
    assert fit.params["beta"] == pytest.approx(11.67, abs=5e-3)
    assert fit.log_likelihood == pytest.approx(-9595.0, abs=0.05)


def test_mbgnbd_reproduces_batislam_et_al(fits) -> None:
    fit = fits["mbgnbd"]
    assert fit.converged and fit.penalizer == 0.0
    assert {k: sig3(v) for k, v in fit.params.items()} == {
        "r": "0.525",
        "alpha": "6.18",
        "a": "0.891",
        "b": "1.61",
    }
    assert fit.params["alpha"] == pytest.approx(6.183, abs=5e-4) and fit.params["b"] == pytest.approx(
        1.614, abs=5e-4
    )


def test_gamma_gamma_reproduces_fader_hardie_2013(cohort_spend: pd.DataFrame) -> None:
    sample = clv.spend_sample(cohort_spend)
    assert len(sample) == 946
    # The assumption check: spend and frequency are nearly uncorrelated (published: 0.11).
    assert sig3(clv.frequency_monetary_correlation(cohort_spend)["correlation"]) == "0.114"
    fit = clv.fit_model(sample, "gamma_gamma")
    assert fit.converged and fit.customers == 946
    assert {k: sig3(v) for k, v in fit.params.items()} == {"p": "6.25", "q": "3.74", "v": "15.4"}
    # v = 15.448 against the published 15.44: the likelihood is flat along the p-q-v ridge (se(v) = 4.2)
    # and ours is the higher maximum, so the published point stopped slightly early.
    published = clv.log_likelihood("gamma_gamma", {"p": 6.25, "q": 3.74, "v": 15.44}, sample)
    assert published < fit.log_likelihood < published + 0.01
    assert fit.params["v"] == pytest.approx(15.44, abs=0.01)


def test_standard_errors_equal_lifetimes_own(fits) -> None:
    for name in ("bgnbd", "mbgnbd"):
        ours, theirs = fits[name].standard_errors, fits[name].fitter.standard_errors_
        for param in clv.PARAM_NAMES[name]:
            assert ours[param] == pytest.approx(theirs[param], rel=1e-3), (name, param)
    assert all(v > 0 for v in fits["pareto_nbd"].standard_errors.values())  # lifetimes gives none for it


def test_pareto_nbd_likelihood_on_distinct_pairs_equals_lifetimes_to_the_last_bit(cohort) -> None:
    histories = clv._data_arrays("pareto_nbd", clv.compress_histories(cohort))
    assert len(histories.distinct_pairs["recency"]) < len(histories[0])  # fewer hyp2f1 calls than rows
    for params in (
        [0.553, 10.58, 0.606, 11.67],
        [1.5, 2.0, 0.3, 0.7],
        [0.4, 9.0, 0.9, 3.0],
    ):  # alpha < and > beta
        theirs = lifetimes.ParetoNBDFitter._negative_log_likelihood(np.array(params), *histories, 0.25)
        assert clv.pareto_nbd_negative_log_likelihood(np.array(params), histories, 0.25) == theirs
    assert clv.pareto_nbd_negative_log_likelihood(np.array([0.5, -1.0, 0.5, 1.0]), histories, 0.0) == np.inf
    first, second = histories[0].astype(float), histories[1]
    distinct, back = np.unique(np.stack([first, second]), axis=1, return_inverse=True)
    ours = clv._distinct_pairs(first, second)
    assert np.array_equal(ours[0], distinct[0]) and np.array_equal(ours[1], distinct[1])
    assert np.array_equal(ours[2], back.ravel())


@pytest.mark.parametrize("model", ["bgnbd", "pareto_nbd", "mbgnbd"])
def test_log_likelihood_is_finite_for_a_customer_who_bought_every_week(fits, model: str) -> None:
    # Evaluated directly in weeks, lifetimes' Pareto/NBD overflows (hyp2f1) for 137 purchases in
    # 156 weeks; ours is computed in rescaled time and moved back: equal to the direct value where
    # that is finite, and finite here.
    params = fits[model].params
    usual = pd.DataFrame(
        {
            "repeat_periods": [2, 0],
            "recency_periods": [30.43, 0.0],
            "age_periods": [38.86, 20.0],
            "customers": [10, 3],
        }
    )
    arrays = clv._data_arrays(model, usual)
    direct = (
        -clv._mean_objective(model, np.log([params[n] for n in clv.PARAM_NAMES[model]]), arrays, 0.0) * 13
    )
    assert clv.log_likelihood(model, params, usual) == pytest.approx(direct, rel=1e-12)
    every_week = pd.DataFrame({"repeat_periods": [137], "recency_periods": [156.0], "age_periods": [156.0]})
    if model == "pareto_nbd":  # the estimates on 10M generated orders, where the report showed nan
        params = {"r": 0.5485, "alpha": 3.749, "s": 0.5289, "beta": 13.58}
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            direct_nan = lifetimes.ParetoNBDFitter._conditional_log_likelihood(
                np.array(list(params.values())), np.array([137]), np.array([156.0]), np.array([156.0])
            )
        assert not np.isfinite(direct_nan[0])
    assert np.isfinite(clv.log_likelihood(model, params, every_week))


@pytest.mark.parametrize("model", ["bgnbd", "pareto_nbd", "mbgnbd"])
def test_weighted_fit_on_unique_histories_equals_the_fit_on_every_customer(cohort, model: str) -> None:
    raw = cohort[clv.HISTORY_COLUMNS]
    compressed = clv.compress_histories(cohort)
    assert len(compressed) == 1016  # 2,357 customers, 1,016 distinct histories
    on_raw = clv.fit_model(raw, model, seed=42)
    on_compressed = clv.fit_model(compressed, model, seed=42)
    # Measured: BG/NBD and MBG/NBD agree to 1e-13 (same gradient path), Pareto/NBD to 2e-7 (Nelder-Mead).
    for name in clv.PARAM_NAMES[model]:
        assert on_compressed.params[name] == pytest.approx(on_raw.params[name], rel=1e-4), name
    assert on_compressed.log_likelihood == pytest.approx(on_raw.log_likelihood, rel=1e-9)


def test_log_difference_gives_scipys_logsumexp_bits() -> None:
    """Random magnitudes, ties, a larger second term (nan) and infinities: the same bits as scipy."""
    from scipy.special import logsumexp

    rng = np.random.default_rng(3)
    first = np.concatenate([rng.normal(0, 50, 10_000), [1.0, 2.0, -np.inf, np.inf, 0.0, 5.0, np.inf, np.nan]])
    second = np.concatenate(
        [
            first[:10_000] - rng.exponential(3, 10_000),
            [1.0, 3.0, -np.inf, -np.inf, -np.inf, np.nan, 1.0, -np.inf],
        ]
    )
    with np.errstate(all="ignore"):
        theirs = logsumexp([first, second], axis=0, b=[np.ones(len(first)), -np.ones(len(first))])
    np.testing.assert_array_equal(clv._log_difference(first, second), theirs)  # nan where theirs is nan


def test_pareto_starts_are_seeded_and_the_best_start_wins(cohort) -> None:
    histories = clv.compress_histories(cohort)
    one = clv.fit_model(histories, "pareto_nbd", seed=7, starts=1)
    again = clv.fit_model(histories, "pareto_nbd", seed=7, starts=3)
    same = clv.fit_model(histories, "pareto_nbd", seed=7, starts=3)
    assert again.params == same.params  # seeded: identical reruns
    assert again.log_likelihood >= one.log_likelihood - 1e-6


# --------------------------------------------------------------------- failures and thresholds


def test_a_fit_that_does_not_converge_is_retried_with_the_penalizer() -> None:
    # 150 one-time buyers and a single repeat buyer: MBG/NBD's unpenalised optimiser fails.
    histories = pd.DataFrame(
        {
            "repeat_periods": [0, 0, 0, 1],
            "recency_periods": [0.0, 0.0, 0.0, 5.0],
            "age_periods": [10.0, 20.0, 30.0, 40.0],
            "customers": [50, 50, 50, 1],
        }
    )
    fit = clv.fit_model(histories, "mbgnbd", penalizer_retry=0.001)
    assert fit.converged and fit.penalizer == 0.001
    assert fit.note.startswith("fit did not converge (ConvergenceError")
    assert fit.note.endswith("refitted with penalizer 0.001")


def test_a_fit_that_fails_even_with_the_penalizer_is_reported_not_raised() -> None:
    histories = pd.DataFrame(
        {
            "repeat_periods": [0, 0, 0],
            "recency_periods": [0.0, 0.0, 0.0],
            "age_periods": [10.0, 20.0, 30.0],
            "customers": [50, 50, 50],
        }
    )
    fit = clv.fit_model(histories, "bgnbd")
    assert not fit.converged and fit.params is None and fit.log_likelihood is None
    assert "penalised fit did not converge" in fit.note
    scores = clv.score_customers(
        histories.assign(customer_id=["c", "a", "b"], repeat_mean_value=0.0), fit, None, 12, 0.01, "weeks"
    )
    assert scores["customer_id"].tolist() == ["a", "b", "c"] and scores[clv.SCORE_COLUMNS].isna().all().all()


def test_too_few_repeat_buyers_gives_a_message_and_null_model_columns_in_the_product(tmp_path: Path) -> None:
    inputs = pd.DataFrame(
        {
            "customer_id": ["b", "a", "c"],
            "repeat_periods": [0, 2, 0],
            "recency_periods": [0.0, 4.0, 0.0],
            "age_periods": [8.0, 9.0, 3.0],
            "repeat_mean_value": [0.0, 12.5, 0.0],
        }
    )
    status = clv.repeat_buyer_status(inputs, min_repeat_buyers=50)
    assert not status["enough"] and status["repeat_buyers"] == 1
    assert (
        status["message"] == "1 of 3 customers made a repeat purchase (too few: the models need at least 50)."
    )
    path = io.write_parquet(
        clv.score_customers(inputs, None, None, 12, 0.01, "weeks"), tmp_path / "06_clv.parquet"
    )
    table = pq.read_table(path)
    assert table.column("customer_id").to_pylist() == ["a", "b", "c"]
    for column in clv.SCORE_COLUMNS:
        assert table.column(column).null_count == 3, column


# ------------------------------------------------------------------------- per-customer values


def test_scores_match_lifetimes_for_p_alive_value_and_clv(fits, cohort_spend) -> None:
    purchase = fits["bgnbd"]
    spend = clv.fit_model(clv.spend_sample(cohort_spend), "gamma_gamma")
    scores = clv.score_customers(
        cohort_spend.astype({"customer_id": str}), purchase, spend, 12, 0.01, "weeks"
    )
    first = scores.set_index("customer_id").loc["1"]  # x = 2, t_x = 30.43, T = 38.86, zbar = 22.35
    assert first["p_alive"] == pytest.approx(
        purchase.fitter.conditional_probability_alive(2, 30.43, 38.86)[0]
    )
    assert first["churn_risk"] == pytest.approx(1 - first["p_alive"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        aov = spend.fitter.conditional_expected_average_profit(
            cohort_spend["repeat_periods"], cohort_spend["repeat_mean_value"]
        )
    repeaters = cohort_spend["repeat_periods"] > 0
    np.testing.assert_allclose(
        clv.expected_average_value(spend, cohort_spend["repeat_periods"], cohort_spend["repeat_mean_value"])[
            repeaters
        ],
        aov[repeaters],
    )
    # lifetimes' CLV uses 4.345 weeks a month; with the same month length ours is identical.
    sample = cohort_spend.head(50)
    theirs = spend.fitter.customer_lifetime_value(
        purchase.fitter,
        sample["repeat_periods"],
        sample["recency_periods"],
        sample["age_periods"],
        sample["repeat_mean_value"],
        time=12,
        discount_rate=0.01,
        freq="W",
    )
    value = clv.expected_average_value(spend, sample["repeat_periods"], sample["repeat_mean_value"])
    ours = clv.discounted_clv(
        purchase,
        sample["repeat_periods"],
        sample["recency_periods"],
        sample["age_periods"],
        value,
        12,
        0.01,
        units_per_month=4.345,
    )
    np.testing.assert_allclose(
        ours[sample["repeat_periods"] > 0], theirs[sample["repeat_periods"] > 0], rtol=1e-10
    )


def test_expected_days_to_next_purchase_by_hand() -> None:
    fit = clv.ModelFit("bgnbd", {"r": 0.5, "alpha": 10.0, "a": 1.0, "b": 2.0}, None, None, True, 0.0, 0, 0)
    # rate = 0.8 x (0.5 + 3) / (10 + 4) = 0.2 a week -> 5 weeks = 35 days
    days = clv.expected_days_to_next_purchase(fit, [3, 0], [4.0, 4.0], [0.8, 0.0], "weeks")
    assert days[0] == pytest.approx(35.0) and np.isnan(days[1])  # no purchase expected: null


def test_customers_without_a_usable_spend_history_get_the_population_mean() -> None:
    spend = clv.ModelFit("gamma_gamma", {"p": 6.0, "q": 4.0, "v": 15.0}, None, None, True, 0.0, 0, 0)
    values = clv.expected_average_value(spend, [0, 2, 2], [0.0, -5.0, 40.0])
    # population mean v p / (q - 1) = 30; x = 2: weight 12 / 15 = 0.8 -> 0.2 x 30 + 0.8 x 40 = 38
    assert values.tolist() == pytest.approx([30.0, 30.0, 38.0])


# --------------------------------------------------------------------------- model choice


def test_holdout_errors_choice_and_frequency_table_by_hand() -> None:
    fits = {
        "bgnbd": clv.ModelFit("bgnbd", {}, {}, -10.0, True, 0.0, 4, 4),
        "mbgnbd": clv.ModelFit("mbgnbd", {}, {}, -9.0, True, 0.0, 4, 4),
        "pareto_nbd": clv.ModelFit("pareto_nbd", None, None, None, False, 0.001, 4, 4),
    }
    predictions = pd.DataFrame(
        {
            "customer_id": list("abcd"),
            "repeat_periods": [0, 1, 8, 9],
            "holdout_periods": [0, 1, 2, 5],
            "bgnbd": [0.5, 1.0, 3.0, 4.0],
            "mbgnbd": [0.0, 2.0, 2.0, 5.0],
        }
    )
    errors = clv.holdout_errors(predictions, fits).set_index("model")
    assert errors.loc["bgnbd", ["actual_total", "expected_total", "mae"]].tolist() == [8.0, 8.5, 0.625]
    assert errors.loc["bgnbd", "total_error"] == pytest.approx(0.0625)
    assert errors.loc["mbgnbd", "mae"] == 0.25 and errors.loc["mbgnbd", "rmse"] == 0.5
    assert pd.isna(errors.loc["pareto_nbd", "mae"])
    assert clv.choose_model(errors.reset_index(), "mae", "bgnbd") == "mbgnbd"
    # Total error: BG/NBD |8.5 / 8 - 1| = 0.0625 beats MBG/NBD |9 / 8 - 1| = 0.125.
    assert clv.choose_model(errors.reset_index(), "total_error", "mbgnbd") == "bgnbd"
    table = clv.holdout_by_frequency(predictions, ["bgnbd", "mbgnbd", "pareto_nbd"], top=7)
    assert table["calibration_repeats"].tolist() == ["0", "1", "7+"]
    assert table.loc[2, ["customers", "actual", "expected BG/NBD", "expected MBG/NBD"]].tolist() == [
        2,
        3.5,
        3.5,
        3.5,
    ]


def test_cohorts_and_repeat_purchases_by_hand(con) -> None:
    # Calibration ends on Sunday 1998-03-01: A (first week 1998-01-05), C (week of 1997-12-29) are in the
    # cohorts; B, D, E bought first later. Repeat weeks: A 1998-02-16 and 1998-06-29, C 1998-05-11
    # (A's second and third orders are in its first week; D's July order is after the as-of date).
    cohorts, repeats = clv.cohorts_and_repeat_purchases(
        con.create_table("tracking_orders", orders()), dt.date(1998, 3, 1), AS_OF, "weeks"
    )
    assert cohorts.astype({"first_period": str}).values.tolist() == [["1997-12-29", 1], ["1998-01-05", 1]]
    assert repeats.astype({"period": str}).values.tolist() == [
        ["1998-02-16", 1],
        ["1998-05-11", 1],
        ["1998-06-29", 1],
    ]


def test_cumulative_tracking_sums_cohorts_by_hand() -> None:
    fit = clv.ModelFit(
        "bgnbd",
        {"r": 0.5, "alpha": 10.0, "a": 1.5, "b": 2.0},
        None,
        None,
        True,
        0.0,
        0,
        0,
        fitter=lifetimes.BetaGeoFitter(),
    )
    fit.fitter.params_ = pd.Series(fit.params)
    cohorts = pd.DataFrame(
        {"first_period": [dt.date(1998, 1, 5), dt.date(1998, 1, 12)], "customers": [10, 20]}
    )
    repeats = pd.DataFrame(
        {"period": [dt.date(1998, 1, 12), dt.date(1998, 1, 26)], "repeat_purchases": [3, 4]}
    )
    track = clv.cumulative_tracking(cohorts, repeats, {"bgnbd": fit}, dt.date(1998, 1, 28), "weeks")
    assert track["period"].astype(str).tolist() == ["1998-01-05", "1998-01-12", "1998-01-19", "1998-01-26"]
    assert track["actual"].tolist() == [0, 3, 3, 7]
    new_customer = clv.expected_purchases_new_customer
    expected_at_26 = 10 * new_customer(fit, [3.0])[0] + 20 * new_customer(fit, [2.0])[0]
    assert track["BG/NBD"].tolist()[0] == 0.0 and track["BG/NBD"].iloc[-1] == pytest.approx(expected_at_26)


def test_matrices_mark_impossible_histories_empty(fits) -> None:
    alive, purchases = clv.alive_and_purchases_matrices(
        fits["bgnbd"], max_repeats=3, age=10.0, horizon=52.0, rows=11
    )
    assert alive.index.tolist() == list(range(10, -1, -1))
    assert alive.loc[0, 0] == 1.0 and np.isnan(alive.loc[5, 0]) and np.isnan(alive.loc[0, 2])
    assert alive.loc[10, 3] > alive.loc[2, 3]  # bought recently: more likely alive
    assert purchases.loc[10, 3] > purchases.loc[10, 1]
    coarse, _ = clv.alive_and_purchases_matrices(
        fits["bgnbd"], max_repeats=3, age=78.0, horizon=52.0, rows=40
    )
    assert coarse.index.tolist() == list(range(78, -1, -2))  # at most 40 rows: every second week


# ---------------------------------------------------------------------------- page tables


def test_clv_by_group_top_and_high_value_at_risk_by_hand() -> None:
    scores = pd.DataFrame(
        {
            "customer_id": list("abcde"),
            "clv": [100.0, 50.0, 10.0, 80.0, 5.0],
            "p_alive": [0.9, 0.2, 0.5, 0.3, 0.1],
        }
    )
    scores["churn_risk"] = 1 - scores["p_alive"]
    groups = pd.DataFrame(
        {"customer_id": list("abcd"), "segment": ["Champions", "At Risk", "At Risk", "Champions"]}
    )
    table = report.clv_by_group(scores, groups, "segment").set_index("segment")
    assert table.index.tolist() == ["Champions", "At Risk", "(none)"]
    assert table.loc["Champions", ["customers", "total_clv", "mean_clv"]].tolist() == [2, 180.0, 90.0]
    assert table["share_of_clv_%"].sum() == pytest.approx(100.0)
    assert table.loc["(none)", "mean_p_alive"] == 0.1
    in_rule_order = report.clv_by_group(scores, groups, "segment", ["At Risk", "Loyal", "Champions"])
    assert in_rule_order["segment"].tolist() == ["At Risk", "Champions", "(none)"]  # empty Loyal left out
    assert in_rule_order["total_clv"].tolist() == [60.0, 180.0, 5.0]
    assert clv.top_customers(scores, 2)["customer_id"].tolist() == ["a", "d"]
    # CLV at or above the 60% quantile (62) and churn risk >= 0.5: d (80, 0.7); a is safe, b below.
    assert clv.high_value_at_risk(scores, 0.6, 0.5, 10)["customer_id"].tolist() == ["d"]


def test_clv_settings_are_validated() -> None:
    assert ClvConfig().time_unit == "weeks" and ClvConfig().models == ["bgnbd", "pareto_nbd", "mbgnbd"]
    with pytest.raises(ValidationError, match="list each model once"):
        ClvConfig(models=["bgnbd", "bgnbd"])
    with pytest.raises(ValidationError):
        ClvConfig(time_unit="months")
    with pytest.raises(ValidationError):
        ClvConfig(monthly_discount_rate=-0.1)


# ------------------------------------------------------------- fit small, score big (many customers)


def test_scoring_once_per_distinct_history_equals_scoring_every_customer(fits, cohort_spend) -> None:
    purchase = fits["bgnbd"]
    spend = clv.fit_model(clv.spend_sample(cohort_spend), "gamma_gamma")
    scores = clv.score_customers(
        cohort_spend.astype({"customer_id": str}), purchase, spend, 12, 0.01, "weeks"
    )
    scores = scores.sort_values("customer_id", key=lambda ids: ids.astype(int)).reset_index(drop=True)
    x, tx, age = cohort_spend["repeat_periods"], cohort_spend["recency_periods"], cohort_spend["age_periods"]
    units = clv.DAYS_PER_MONTH / 7
    np.testing.assert_allclose(scores["p_alive"], clv.probability_alive(purchase, x, tx, age), rtol=1e-12)
    np.testing.assert_allclose(
        scores["expected_purchases"], clv.expected_purchases(purchase, 12 * units, x, tx, age), rtol=1e-12
    )
    value = clv.expected_average_value(spend, x, cohort_spend["repeat_mean_value"])
    np.testing.assert_allclose(
        scores["clv"], clv.discounted_clv(purchase, x, tx, age, value, 12, 0.01, units), rtol=1e-12
    )


def test_fitting_sample_is_seeded_sorted_and_says_how_many_it_was_drawn_from() -> None:
    inputs = pd.DataFrame(
        {
            "repeat_periods": np.arange(10_000) % 7,
            "recency_periods": (np.arange(10_000) % 7) * 2.0,
            "age_periods": 20.0 + np.arange(10_000) % 13,
        }
    )
    assert clv.fitting_sample(inputs, 10_000) is inputs  # not above the threshold: everyone
    first, again, other = (clv.fitting_sample(inputs, 1_000, seed) for seed in (3, 3, 4))
    assert len(first) == 1_000 and first.index.equals(again.index) and not first.index.equals(other.index)
    assert first.index.is_monotonic_increasing and first.attrs["sampled_from"] == 10_000
    histories = clv.compress_histories(inputs, sample_above=1_000, seed=3)
    assert histories["customers"].sum() == 1_000
    fit = clv.fit_model(histories, "bgnbd")
    assert fit.customers == 1_000 and fit.note.endswith(
        "fitted on a fixed-seed sample of 1,000 of 10,000 customers"
    )


def test_a_fit_on_a_sample_recovers_the_population_that_generated_the_data(con) -> None:
    """60,000 synthetic customers drawn from known BG/NBD parameters (per day): the fit on a seeded
    sample of 15,000 lands as close to them as the fit on everyone does, and every customer is scored."""
    population = synth.Population()
    start, end = dt.date(2021, 1, 1), dt.date(2022, 12, 31)
    log, _ = synth.generate(60_000, seed=11, start=start, end=end, population=population)
    inputs = clv.model_inputs(con.create_table("log", log), end, "days").to_pandas()
    truth = {"r": population.r, "alpha": population.alpha, "a": population.a, "b": population.b}
    everyone = clv.fit_model(clv.compress_histories(inputs, sample_above=None), "bgnbd")
    sampled = clv.fit_model(clv.compress_histories(inputs, sample_above=15_000, seed=42), "bgnbd")
    assert everyone.customers == len(inputs) == 60_000 and sampled.customers == 15_000
    for name, true_value in truth.items():
        assert everyone.params[name] == pytest.approx(true_value, rel=0.12), name
        assert sampled.params[name] == pytest.approx(true_value, rel=0.25), name
    scores = clv.score_customers(inputs, sampled, None, 12, 0.01, "days")
    assert len(scores) == 60_000 and scores["p_alive"].notna().all()


def test_pareto_nbd_scouting_its_start_on_a_sample_still_reproduces_fader_hardie(cohort, monkeypatch) -> None:
    monkeypatch.setattr(clv.pareto_fit, "PARETO_SCOUT_CUSTOMERS", 500)  # 2,357 customers: the scout runs
    fit = clv.fit_model(clv.compress_histories(cohort), "pareto_nbd", seed=42, starts=4)
    assert {k: sig3(v) for k, v in fit.params.items()} == {
        "r": "0.553",
        "alpha": "10.6",
        "s": "0.606",
        "beta": "11.7",
    }


def test_the_package_exports_every_public_name_its_modules_define() -> None:
    """``clv.<name>`` is the interface: every public name a module of helpers.clv defines is listed in
    ``clv.__all__`` and is that very object there, and nothing else is listed."""
    defined = {}
    for info in pkgutil.iter_modules(clv.__path__):
        module = importlib.import_module(f"helpers.clv.{info.name}")
        for node in ast.parse(Path(module.__file__).read_text()).body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                names = [node.name]
            else:
                names = [t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)]
            defined.update({name: getattr(module, name) for name in names if not name.startswith("_")})
    assert sorted(clv.__all__) == sorted(defined)
    assert all(getattr(clv, name) is value for name, value in defined.items())


def test_the_holdout_adapts_to_the_history_or_is_left_out_with_the_reason() -> None:
    june = dt.date(1998, 6, 30)
    # 18 months of history (546 days): the configured 182 days are a third of it and fit.
    plan = clv.plan_holdout(dt.date(1997, 1, 1), june, 182, 28, "weeks")
    assert plan.calibration_end == dt.date(1997, 12, 28) and plan.holdout_units == 27.0
    assert plan.sentence == (
        "The models learnt from the history up to 1997-12-28 and predicted the 27 weeks after it, up to "
        "1998-06-30 (the last 182 days)."
    )
    # Five months: a third is 50 days.
    plan = clv.plan_holdout(dt.date(1998, 2, 1), june, 182, 28, "days")
    assert (plan.calibration_end, plan.holdout_units) == (dt.date(1998, 5, 11), 50.0)
    # Two months: a third (20 days) is less than the 28-day minimum: no comparison, and why.
    plan = clv.plan_holdout(dt.date(1998, 5, 1), june, 182, 28, "weeks")
    assert plan.calibration_end is None and plan.sentence == (
        "The history is 61 days long: a holdout of at least 28 days that takes at most a third of it does "
        "not fit, so the models were not compared."
    )
    # clv.calibration_end sets the split (a Sunday in weeks), if it leaves both sides.
    plan = clv.plan_holdout(dt.date(1997, 1, 1), june, 182, 28, "weeks", fixed_end=dt.date(1998, 3, 4))
    assert plan.calibration_end == dt.date(1998, 3, 1) and plan.sentence.endswith(
        "(as set by clv.calibration_end)."
    )
    plan = clv.plan_holdout(dt.date(1997, 1, 1), june, 182, 28, "weeks", fixed_end=dt.date(1998, 6, 20))
    assert plan.calibration_end is None and "does not leave both" in plan.sentence


def test_the_comparison_sentence_says_what_happened() -> None:
    enough = {"enough": True, "message": "900 of 4,000 customers made a repeat purchase (enough: ...)."}
    few = {
        "enough": False,
        "message": "12 of 300 customers made a repeat purchase (too few: the models need at least 50).",
    }
    models = ["bgnbd", "pareto_nbd"]
    assert clv.comparison_sentence("s", True, enough, models, "pareto_nbd", "mae") == (
        "Pareto/NBD predicted the held-out months best (by mae) and is used."
    )
    assert clv.comparison_sentence("The history is short.", False, None, models, "bgnbd", "mae") == (
        "The history is short. BG/NBD, the first model listed, is used."
    )
    assert clv.comparison_sentence("s", False, few, models, "bgnbd", "mae") == (
        "In the calibration period 12 of 300 customers made a repeat purchase (too few: the models need at "
        "least 50). So the models were not compared; BG/NBD, the first model listed, is used."
    )
    assert clv.comparison_sentence("s", False, enough, ["bgnbd"], "bgnbd", "mae") == (
        "Only BG/NBD is listed in clv.models, so there was nothing to compare; it is used."
    )


def test_caveats_name_a_poor_holdout_fit_and_a_parameter_at_its_bound() -> None:
    assert clv.parameters_at_bound({"r": 0.24, "alpha": 4.4, "a": 2e-6, "b": 3e5}) == ("a", "b")
    report = {
        "status": "ok",
        "chosen_model": "bgnbd",
        "holdout": {
            "compared": True,
            "sentence": "x",
            "errors": [
                {
                    "model": "bgnbd",
                    "label": "BG/NBD",
                    "expected_total": 1590.0,
                    "actual_total": 1000.0,
                    "total_error": 0.59,
                },
            ],
        },  # fmt: skip
        "purchase_model": {
            "label": "BG/NBD",
            "params": {"r": 0.3, "alpha": 5.0, "a": 2e-6, "b": 1.0},
            "at_bound": ["a"],
        },  # fmt: skip
    }
    assert clv.caveats(report, 0.25) == [
        "On the held-out months BG/NBD expected 1,590 purchases where 1,000 happened (59% off, more than the "
        "25% this report accepts): take its values as rough.",
        "BG/NBD's parameter a ran to the edge of its range (2e-06): the model has degenerated, so its chance "
        "that a customer is still one (P(alive)) is not used for the statuses, which follow the days since "
        "the last order, nor for the value at stake.",
    ]
    from helpers.status import p_alive_trusted

    assert not p_alive_trusted(report) and not p_alive_trusted(None)
    both = {**report, "purchase_model": {**report["purchase_model"], "at_bound": ["a", "b"]}}
    assert clv.caveats(both, 0.25)[-1].startswith(
        "BG/NBD's parameters a and b ran to the edge of their range (2e-06, 1): the model has degenerated"
    )  # one sentence for the model, not one per parameter
    report["holdout"] = {"compared": False, "sentence": "The history is 61 days long: ...", "errors": []}
    report["purchase_model"]["at_bound"] = []
    assert clv.caveats(report, 0.25) == ["The history is 61 days long: ..."]
    # Split, but not compared: the caveat says why, not how the history was split.
    report["settings"] = {"models": ["bgnbd", "pareto_nbd"], "selection_metric": "mae"}
    few = {"enough": False, "message": "Only 9 of 40 customers made a repeat purchase."}
    report["holdout"] = {"compared": False, "sentence": "The models learnt from the history up to ...",
                         "calibration_end": "2025-03-16", "errors": [], "repeat_buyers": few}  # fmt: skip
    assert clv.caveats(report, 0.25) == [
        "In the calibration period only 9 of 40 customers made a repeat purchase. So the models were not "
        "compared; BG/NBD, the first model listed, is used."
    ]
    report["holdout"]["repeat_buyers"] = {"enough": True, "message": "38 of 40 ..."}
    assert clv.caveats(report, 0.25)[0].startswith(
        "On the history up to the calibration end no purchase model"
    )
    report["status"] = "fit_failed"  # no value: no caveat about values
    assert clv.caveats(report, 0.25) == []


def test_the_method_note_on_lifetime_value_never_claims_a_comparison_that_did_not_happen() -> None:
    from helpers.config import Params
    from helpers.report import clv_text, lifetime_value_note

    from conftest import params_project

    model = {
        "status": "ok", "chosen_model": "bgnbd", "purchase_model": {"label": "BG/NBD", "params": {}},
        "holdout": {"compared": False, "errors": [{"model": "bgnbd", "total_error": None, "mae": None}]},
        "caveats": ["The history is 61 days long: no comparison."],
        "repeat_buyers": {"repeat_buyers": 3, "min_repeat_buyers": 50},
    }  # fmt: skip
    import tempfile
    from pathlib import Path

    from helpers.config import load_params

    with tempfile.TemporaryDirectory() as folder:
        params: Params = load_params("cdnow", "1998-06", params_project(Path(folder)))
    note = lifetime_value_note(model, params)
    assert "chosen among several" not in note and "could not be compared on held-out months" in note
    assert "predicted" not in note  # no holdout error is quoted without a comparison
    clv = pd.DataFrame({"clv": [10.0, 30.0]})
    assert clv_text(model, clv, params)[1] == "Caveat: The history is 61 days long: no comparison."
    chinese = params.model_copy(update={"report": params.report.model_copy(update={"language": "zh"})})
    assert clv_text(model, clv, chinese)[1] == "注意：购买模型未在留出月份上进行比较。"
    model["status"] = "too_few_repeat_buyers"
    assert lifetime_value_note(model, params) == (
        "Lifetime value. Not estimated this period: only 3 customers bought again in a later week than "
        "their first purchase (the models count purchases by week), and the models need at least 50."
    )
    model["status"] = "fit_failed"
    assert lifetime_value_note(model, params) == (
        "Lifetime value. Not estimated this period: the BG/NBD purchase model could not be fitted."
    )
    model["settings"] = {"models": ["bgnbd", "pareto_nbd", "mbgnbd"]}  # each was tried on all history
    assert lifetime_value_note(model, params) == (
        "Lifetime value. Not estimated this period: none of the purchase models tried (BG/NBD, Pareto/NBD "
        "and MBG/NBD) could be fitted on the whole history."
    )


# Sixteen weeks of a small shop (tests/own_data.py write_offsets, built by new-dataset + run):
# (repeat periods, recency, age, customers). Pareto/NBD's s runs to 0 on it; BG/NBD fits cleanly.
SMALL_SHOP = [
    *[(0, 0.0, age, n) for age, n in [(1, 1), (2, 2), (4, 3), (5, 3), (6, 2), (7, 1), (8, 1), (10, 3)]],
    *[(0, 0.0, age, n) for age, n in [(11, 2), (14, 6), (15, 3), (16, 1), (17, 1)]],
    *[(1, 1.0, age, 1) for age in (2, 8, 13, 14, 15)],
    *[(1, 2.0, 3, 1), (1, 2.0, 12, 1), (1, 3.0, 3, 1), (1, 3.0, 5, 1), (1, 3.0, 6, 1), (1, 3.0, 17, 1)],
    *[(1, 4.0, 6, 1), (1, 4.0, 7, 1), (1, 4.0, 12, 1), (1, 5.0, 8, 1), (1, 5.0, 16, 1), (1, 6.0, 16, 1)],
    *[(1, 7.0, 9, 1), (1, 7.0, 10, 1), (1, 7.0, 17, 1), (1, 8.0, 16, 1), (1, 9.0, 11, 1), (1, 9.0, 15, 1)],
    *[(1, 9.0, 16, 1), (1, 12.0, 14, 1), (1, 12.0, 15, 1), (1, 12.0, 16, 1), (1, 13.0, 15, 1)],
    *[(1, 13.0, 17, 1), (1, 14.0, 16, 1), (1, 14.0, 17, 1), (2, 3.0, 6, 1), (2, 3.0, 14, 1), (2, 4.0, 12, 1)],
    *[(2, 6.0, 12, 1), (2, 6.0, 16, 1), (2, 7.0, 14, 1), (2, 8.0, 8, 1), (2, 9.0, 9, 1), (2, 9.0, 17, 1)],
    *[(2, 10.0, 12, 1), (2, 10.0, 16, 1), (2, 11.0, 15, 2), (2, 12.0, 14, 1), (2, 13.0, 15, 2)],
    *[(2, 14.0, 14, 2), (2, 16.0, 17, 1), (2, 17.0, 17, 1)],
]


def small_shop() -> pd.DataFrame:
    columns = ["repeat_periods", "recency_periods", "age_periods", "customers"]
    return pd.DataFrame(SMALL_SHOP, columns=columns).astype({"age_periods": float})


def test_a_model_that_degenerates_on_all_history_gives_way_to_the_next_that_fits_cleanly() -> None:
    histories = small_shop()
    assert histories["customers"].sum() == 80
    fit, sentence = clv.fit_final_model(
        histories, "pareto_nbd", ["bgnbd", "pareto_nbd", "mbgnbd"], 42, 4, 0.001
    )
    assert fit.model == "bgnbd" and fit.converged and fit.at_bound == ()
    assert sentence == (
        "Pareto/NBD ran to the edge of its range (s) on the whole history, so BG/NBD, the next model listed "
        "that fits it cleanly, is used."
    )
    kept, nothing = clv.fit_final_model(histories, "bgnbd", ["bgnbd", "pareto_nbd"], 42, 4, 0.001)
    assert (kept.model, nothing) == ("bgnbd", "")  # a clean first choice is kept
    report = clv.model_report(
        {"enough": True, "message": "m"}, None, None, 0.0, {}, None, "bgnbd", fit, fit, {}, {}, "",
        ("pareto_nbd", sentence),
    )  # fmt: skip
    assert report["fallback"]["label"] == "Pareto/NBD" and sentence in report["caveats"]


def test_parameters_that_overflow_the_predictions_or_an_infinite_average_spend_are_unusable() -> None:
    from lifetimes import BetaGeoFitter

    fitter = BetaGeoFitter()
    degenerate = {"r": 3.06e6, "alpha": 3.5e7, "a": 0.00198, "b": 4.26e5}  # a real first fit, 4 months
    fitter.params_ = pd.Series(degenerate)
    assert clv.prediction_problem("bgnbd", degenerate, fitter, small_shop()) == (
        "its predictions overflow at these parameters (r = 3.1e+06, alpha = 3.5e+07, b = 4.3e+05)"
    )
    sane = {"r": 3.5, "alpha": 37.9, "a": 0.63, "b": 1.79}
    fitter.params_ = pd.Series(sane)
    assert clv.prediction_problem("bgnbd", sane, fitter, small_shop()) is None
    assert clv.prediction_problem("gamma_gamma", {"p": 13.0, "q": 0.51, "v": 12.8}, None, small_shop()) == (
        "q = 0.51 is not above 1, so the average spend per order it implies is infinite"
    )
    assert (
        clv.prediction_problem("gamma_gamma", {"p": 6.25, "q": 3.74, "v": 15.4}, None, small_shop()) is None
    )


# ------------------------------------------------- failed or penalised fits, and a spend model near q = 1


def test_a_gamma_gamma_fit_with_q_near_one_gives_way_to_the_customers_own_averages(fits) -> None:
    inputs = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "repeat_periods": [0, 1, 2, 3],
            "recency_periods": [0.0, 5.0, 10.0, 12.0],
            "age_periods": [20.0, 20.0, 20.0, 20.0],
            "repeat_mean_value": [0.0, 10.0, 30.0, -4.0],  # d: a net refund, no usable mean
        }
    )
    # p v / (q - 1) = 2 x 6 / 0.05 = 240 a purchase for a customer without a repeat purchase; the
    # repeat buyers with a positive mean (b, c) average (10 + 30) / 2 = 20; 240 > 2 x 20: not used.
    near = clv.ModelFit("gamma_gamma", {"p": 2.0, "q": 1.05, "v": 6.0}, None, None, True, 0.0, 2, 2)
    check = clv.spend_model_check(near, inputs, 2.0, "EUR")
    assert check["source"] == "observed" and check["repeat_buyers"] == 2
    assert check["model_mean"] == pytest.approx(240.0) and check["observed_mean"] == pytest.approx(20.0)
    assert clv.spend_fallback_sentence(check) == (
        "The spend model (Gamma-Gamma) is not used: its q = 1.05 is so close to 1 that it values a purchase "
        "of a customer without a repeat purchase at €240.00, more than twice the €20.00 the 2 repeat buyers "
        "spent on average. Instead each repeat buyer's purchases are valued at their own average, and every "
        "other customer's at that €20.00."
    )
    # own mean for b and c, the repeat buyers' mean (20) for a (no repeat) and d (no positive mean)
    assert clv.observed_average_value(inputs["repeat_periods"], inputs["repeat_mean_value"]).tolist() == [
        20.0,
        10.0,
        30.0,
        20.0,
    ]
    scores = clv.score_customers(inputs, fits["bgnbd"], near, 12, 0.01, "weeks", own_averages=True)
    assert scores["expected_avg_order_value"].tolist() == [20.0, 10.0, 30.0, 20.0]
    purchases = clv.discounted_clv(
        fits["bgnbd"],
        inputs["repeat_periods"],
        inputs["recency_periods"],
        inputs["age_periods"],
        np.ones(4),
        12,
        0.01,
        clv.DAYS_PER_MONTH / 7,
    )
    np.testing.assert_allclose(scores["clv"], [20.0, 10.0, 30.0, 20.0] * purchases, rtol=1e-12)
    # q = 4: 2 x 6 / 3 = 4 <= 40, the model is used; exactly at the limit (q = 1.3: 12 / 0.3 = 40) too.
    for q in (4.0, 1.3):
        fit = clv.ModelFit("gamma_gamma", {"p": 2.0, "q": q, "v": 6.0}, None, None, True, 0.0, 2, 2)
        assert clv.spend_model_check(fit, inputs, 2.0)["source"] == "gamma_gamma"
    assert clv.spend_model_check(None, inputs, 2.0) is None
    # kaffeehaus 2024-06: p = 2.2512, q = 1.0341, v = 6.6224 -> 14.908 / 0.0341 = 437.22 against 75.24.
    coffee = {"p": 2.251169509733668, "q": 1.034097580111848, "v": 6.622427867161646}
    fit = clv.ModelFit("gamma_gamma", coffee, None, None, True, 0.0, 55, 55)
    assert clv.spend_model_check(fit, inputs, 2.0)["model_mean"] == pytest.approx(437.22, abs=0.01)
    with pytest.raises(ValidationError):
        ClvConfig(max_spend_mean_ratio=1.0)


def test_cdnow_keeps_its_gamma_gamma_values(cohort_spend) -> None:
    spend = clv.fit_model(clv.spend_sample(cohort_spend), "gamma_gamma")
    check = clv.spend_model_check(spend, cohort_spend, ClvConfig().max_spend_mean_ratio)
    # 6.25 x 15.44 / 2.74 = 35.2, under twice the 946 repeat buyers' mean of their own means
    assert check["source"] == "gamma_gamma" and check["repeat_buyers"] == 946
    assert sig3(check["model_mean"]) == "35.2" and check["model_mean"] <= 2 * check["observed_mean"]


def _failed(model: str) -> clv.ModelFit:
    return clv.ModelFit(model, None, None, None, False, 0.001, 130, 54, "fit did not converge (...)")


def _june_report(calibration_fits: dict[str, clv.ModelFit], near_one: bool = True) -> dict:
    """A model report as notebook 07 makes it for kaffeehaus 2024-06: 130 calibration customers, 11
    holdout purchase periods, BG/NBD refitted with a penalty on the whole history, Gamma-Gamma q = 1.034."""
    calibration = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "repeat_periods": [0, 2],
            "recency_periods": [0.0, 4.0],
            "age_periods": [6.0, 6.0],
            "holdout_periods": [0, 11],
        }
    )
    predictions = clv.holdout_predictions(calibration, calibration_fits, 6.0)
    errors = clv.holdout_errors(predictions, calibration_fits)
    bgnbd = {"r": 0.50, "alpha": 5.9, "a": 1.3, "b": 2.1}
    purchase = clv.ModelFit(
        "bgnbd", bgnbd, bgnbd, -363.6, True, 0.001, 147, 62, "refitted with penalizer 0.001"
    )
    coffee = {"p": 2.251169509733668, "q": 1.034097580111848 if near_one else 4.0, "v": 6.622427867161646}
    spend = clv.ModelFit("gamma_gamma", coffee, coffee, -259.6, True, 0.0, 55, 55)
    check = {"source": "observed" if near_one else "gamma_gamma", "q": coffee["q"], "model_mean": 437.22,
             "observed_mean": 75.24, "repeat_buyers": 55, "max_ratio": 2.0, "currency": "EUR"}  # fmt: skip
    enough = {"enough": True, "message": "50 of 130 customers made a repeat purchase (enough: ...)."}
    return clv.model_report(
        {"enough": True, "message": "55 of 147 ..."},
        enough,
        dt.date(2024, 5, 19),
        6.0,
        calibration_fits,
        errors,
        "bgnbd",
        purchase,
        spend,
        {"customers": 55, "correlation": 0.1},
        {"models": ["bgnbd", "pareto_nbd", "mbgnbd"], "selection_metric": "mae", "max_holdout_error": 0.25},
        "The models learnt from the history up to 2024-05-19 ...",
        None,
        check,
    )


PENALISED = (
    "BG/NBD's first fit on the whole history failed, so it was refitted with a small penalty on large "
    "parameter values (penalizer 0.001), which pulls its estimates towards smaller values: take the "
    "values it gives as approximate."
)


def test_holdout_fits_that_all_failed_are_no_comparison_and_every_failure_is_a_caveat() -> None:
    report = _june_report({m: _failed(m) for m in ("bgnbd", "pareto_nbd", "mbgnbd")})
    # a row of errors for each failed fit compared nothing (kaffeehaus 2024-06 recorded compared: true)
    assert report["holdout"]["compared"] is False and report["holdout"]["tested"] == []
    assert report["caveats"] == [
        "On the history up to the calibration end no purchase model could be fitted, so they were not "
        "compared; BG/NBD, the first model listed, is used.",
        PENALISED,
        "The spend model (Gamma-Gamma) is not used: its q = 1.03 is so close to 1 that it values a purchase "
        "of a customer without a repeat purchase at €437.22, more than twice the €75.24 the 55 repeat buyers "
        "spent on average. Instead each repeat buyer's purchases are valued at their own average, and every "
        "other customer's at that €75.24.",
    ]
    # a spend model that is used says nothing, unless it needed the penalty
    kept = _june_report({m: _failed(m) for m in ("bgnbd", "pareto_nbd", "mbgnbd")}, near_one=False)
    assert kept["caveats"] == report["caveats"][:2]
    kept["spend_model"]["penalizer"] = 0.001
    assert clv.caveats(kept, 0.25)[2] == (
        "Gamma-Gamma's first fit on the repeat buyers' spend failed, so it was refitted with a small penalty "
        "on large parameter values (penalizer 0.001), which pulls its estimates towards smaller values: "
        "take the values it gives as approximate."
    )


def test_only_the_models_whose_holdout_fit_converged_are_tested(fits) -> None:
    calibration_fits = {
        "bgnbd": clv.ModelFit(
            "bgnbd", fits["bgnbd"].params, None, -1.0, True, 0.001, 130, 54, "", fits["bgnbd"].fitter
        ),
        "pareto_nbd": _failed("pareto_nbd"),
        "mbgnbd": _failed("mbgnbd"),
    }  # fmt: skip
    report = _june_report(calibration_fits)
    assert report["holdout"]["compared"] is True and report["holdout"]["tested"] == ["bgnbd"]
    assert report["caveats"][:3] == [
        "Pareto/NBD and MBG/NBD could not be fitted on the history up to 2024-05-19, so they were not tested "
        "on the held-out months; BG/NBD was the only model tested.",
        "On the history up to 2024-05-19, BG/NBD could only be fitted with a small penalty on large "
        "parameter values (penalizer 0.001), so the comparison on the held-out months is less certain.",
        PENALISED,
    ]
    models = ["bgnbd", "pareto_nbd", "mbgnbd"]
    assert clv.comparison_sentence("s", True, None, models, "bgnbd", "mae", ["bgnbd"]) == (
        "Of the models listed only BG/NBD could be fitted on the history before the held-out months, so it "
        "was not compared with another; it is used."
    )


def test_the_first_model_listed_is_named_even_after_a_fallback() -> None:
    # kaffeehaus 2024-05: not compared (too few repeat buyers), BG/NBD failed on all history, Pareto/NBD used
    few = {"enough": False, "message": "34 of 106 customers made a repeat purchase (too few: ...)."}
    report = {
        "status": "ok", "chosen_model": "pareto_nbd",
        "settings": {"models": ["bgnbd", "pareto_nbd", "mbgnbd"], "selection_metric": "mae"},
        "holdout": {"compared": False, "calibration_end": "2024-04-28", "repeat_buyers": few, "errors": []},
        "fallback": {"from": "bgnbd", "label": "BG/NBD", "sentence": "BG/NBD could not be fitted ..."},
        "purchase_model": {"label": "Pareto/NBD", "converged": True, "penalizer": 0.0, "at_bound": []},
    }  # fmt: skip
    assert clv.caveats(report, 0.25) == [
        "In the calibration period 34 of 106 customers made a repeat purchase (too few: ...). So the models "
        "were not compared; BG/NBD, the first model listed, is used.",
        "BG/NBD could not be fitted ...",
    ]


def test_the_page_says_how_the_model_was_picked_and_what_values_a_purchase() -> None:
    import tempfile

    from helpers.config import load_params
    from helpers.report import clv_text, lifetime_value_note

    from conftest import params_project

    report = json.loads(json.dumps(_june_report({m: _failed(m) for m in ("bgnbd", "pareto_nbd", "mbgnbd")}),
                                   default=str))  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        params = load_params("cdnow", "1998-06", params_project(Path(folder)))
    note = lifetime_value_note(report, params)
    assert "chosen among several" not in note and "could not be compared on held-out months" in note
    assert (
        "each purchase is valued at the customer's own average (customers without a repeat purchase at the "
        "repeat buyers' average), as the spend model (Gamma-Gamma) gave implausible values" in note
    )
    values = pd.DataFrame({"clv": [10.0, 30.0]})
    text = clv_text(report, values, params)
    assert "from a purchase model (BG/NBD) and each customer's own average spend a purchase:" in text[0]
    assert text[1:] == [f"Caveat: {c}" for c in report["caveats"]]
    chinese = params.model_copy(update={"report": params.report.model_copy(update={"language": "zh"})})
    zh = clv_text(report, values, chinese)
    assert (
        len(zh) == len(text) and "q = 1.03" in zh[-1] and "€437.22" in zh[-1] and "penalizer 0.001" in zh[2]
    )
    # an older model product that recorded compared: true for fits that all failed is read from its errors
    report["holdout"].pop("tested")
    report["holdout"]["compared"] = True
    assert "chosen among several" not in lifetime_value_note(report, params)
