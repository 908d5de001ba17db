"""The models as lifetimes defines them: its fitters (lifetimes is imported here only), their parameters,
and the objective they minimise per customer in rescaled time, on our columns; the total log-likelihood."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from helpers.clv.pareto import PurchaseHistories, pareto_nbd_negative_log_likelihood

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # lifetimes imports pkg_resources, which warns on import
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
    from lifetimes.utils import ConvergenceError as ConvergenceError  # re-exported: models.py catches it

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
