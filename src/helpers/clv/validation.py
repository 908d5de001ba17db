"""Which purchase model to trust: each one's predictions for the holdout period against what the
calibration customers actually bought, per customer, by frequency and cumulatively over time."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from helpers.clv.inputs import UNIT_DAYS, period_start
from helpers.clv.models import MODEL_LABELS, ModelFit
from helpers.clv.predict import _distinct_histories, expected_purchases, expected_purchases_new_customer


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


def tested_models(errors: pd.DataFrame | None) -> list[str]:
    """The models whose calibration fit converged, so that their holdout predictions could be compared
    with what happened (a row for a fit that failed compares nothing)."""
    if errors is None or errors.empty:
        return []
    return errors.loc[errors["converged"].astype(bool) & errors["mae"].notna(), "model"].tolist()


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
