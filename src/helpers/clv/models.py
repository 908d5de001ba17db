"""Fitting a model: every starting point tried, the best verified to be a maximum (flat gradient,
curved the right way), retried once with a penalty, and a failure recorded in the ModelFit, never raised."""

from __future__ import annotations

import contextlib
import io as _stdio
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from helpers.clv.likelihood import (
    FITTERS,
    PARAM_NAMES,
    TIME_PARAMS,
    ConvergenceError,
    _data_arrays,
    _mean_objective,
    _scaled,
    log_likelihood,
)
from helpers.clv.pareto_fit import PARETO_TOL, _pareto_by_gradient, _scout_pareto_start, _starting_points

MODEL_LABELS = {
    "bgnbd": "BG/NBD",
    "pareto_nbd": "Pareto/NBD",
    "mbgnbd": "MBG/NBD",
    "gamma_gamma": "Gamma-Gamma",
}
MAX_GRADIENT = 1e-4  # largest |d mean log-likelihood / d log parameter| accepted as an optimum


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
    at_bound: tuple[str, ...] = ()  # parameters that ran to the edge of their range (see parameters_at_bound)


# A fitted parameter below or above these has run to the edge of its range (its log to -inf or +inf):
# the likelihood is flat there, so the optimum checks pass, but the model has degenerated (BG/NBD's or
# MBG/NBD's a, Pareto/NBD's s near 0: almost no customer ever leaves).
BOUND_LOW = 1e-3
BOUND_HIGH = 1e4


def parameters_at_bound(params: dict[str, float] | None) -> tuple[str, ...]:
    """The parameters of a fit at the edge of their range, in the model's order."""
    return tuple(name for name, value in (params or {}).items() if not BOUND_LOW <= abs(value) <= BOUND_HIGH)


def prediction_problem(model: str, params: dict[str, float], fitter: Any, data: pd.DataFrame) -> str | None:
    """Why a verified maximum still cannot be used to predict, or None. Gamma-Gamma with q <= 1 implies
    an infinite average spend per order (customers without a repeat purchase would get a negative or
    infinite value); a purchase model whose parameters ran to the edge of their range may overflow
    (r and alpha in the millions), which is checked on the fitted histories themselves."""
    if model == "gamma_gamma":
        if params["q"] <= 1:
            return (
                f"q = {params['q']:.2g} is not above 1, so the average spend per order it implies is infinite"
            )
        return None
    if not parameters_at_bound(params):
        return None
    x, recency, age, _ = _data_arrays(model, data)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = fitter.conditional_expected_number_of_purchases_up_to_time(
            float(age.max()), x, recency, age
        )
        alive = fitter.conditional_probability_alive(x, recency, age)
    if np.all(np.isfinite(expected)) and np.all(np.isfinite(alive)):
        return None
    extreme = ", ".join(f"{n} = {params[n]:.2g}" for n in parameters_at_bound(params))
    return f"its predictions overflow at these parameters ({extreme})"


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
        unusable = None
        if fitter is not None:
            params = {name: float(value) for name, value in fitter.params_.items()}
            problem, errors = check_optimum(model, params, data, penalizer)
            unusable = None if problem else prediction_problem(model, params, fitter, data)
        if problem is None and unusable is None:
            if penalizer:
                notes.append(f"refitted with penalizer {penalizer:g}")
            at_bound = parameters_at_bound(params)
            if at_bound:
                notes.append(
                    "at the edge of its range: " + ", ".join(f"{n} = {params[n]:.2g}" for n in at_bound)
                )
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
                at_bound,
            )
        attempt = "penalised fit" if penalizer else "fit"
        notes.append(
            f"{attempt} did not converge ({problem})" if problem else f"{attempt} unusable ({unusable})"
        )
    return ModelFit(model, None, None, None, False, penalizer_retry, customers, len(data), "; ".join(notes))


def fit_purchase_models(
    histories: pd.DataFrame, models: list[str], seed: int, pareto_starts: int, penalizer_retry: float
) -> dict[str, ModelFit]:
    """Every listed purchase model fitted on the same compressed histories."""
    return {
        m: fit_model(histories, m, seed, pareto_starts if m == "pareto_nbd" else 1, penalizer_retry)
        for m in models
    }


def fit_final_model(
    histories: pd.DataFrame,
    chosen: str,
    models: list[str],
    seed: int,
    pareto_starts: int,
    penalizer_retry: float,
) -> tuple[ModelFit, str]:
    """The chosen purchase model fitted on all history, and a sentence when another had to be used.
    When the chosen model's fit fails or runs to the edge of its range (degenerates), the other listed
    models are tried in order and the first that fits cleanly is used; when none does, the chosen
    model's fit is kept if usable (its caveats say what is wrong), else the first usable one."""
    order = [chosen] + [m for m in models if m != chosen]
    fits: dict[str, ModelFit] = {}
    for name in order:
        fits[name] = fit_model(
            histories, name, seed, pareto_starts if name == "pareto_nbd" else 1, penalizer_retry
        )
        if is_usable(fits[name]) and not fits[name].at_bound:
            break
    clean = [m for m in fits if is_usable(fits[m]) and not fits[m].at_bound]
    used = clean[0] if clean else next((m for m in fits if is_usable(fits[m])), chosen)
    if not is_usable(fits[used]):
        return fits[chosen], "None of the listed purchase models could be fitted on the whole history: " + (
            "; ".join(f"{MODEL_LABELS[m]}: {fits[m].note}" for m in fits)
        ) + "."
    if used == chosen:
        return fits[chosen], ""
    first = fits[chosen]
    why = (
        "ran to the edge of its range (" + ", ".join(first.at_bound) + ")"
        if is_usable(first)
        else "could not be fitted"
    )
    how = "could be fitted" if fits[used].at_bound else "fits it cleanly"
    return fits[used], (
        f"{MODEL_LABELS[chosen]} {why} on the whole history, so {MODEL_LABELS[used]}, the next model listed "
        f"that {how}, is used."
    )


def is_usable(fit: ModelFit | None) -> bool:
    """True when a fit exists and converged (its predictions can be used)."""
    return fit is not None and fit.converged
