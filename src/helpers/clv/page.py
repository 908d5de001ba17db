"""What notebook 07 shows and its model product records: facts, messages, heatmap matrices, the fit and
customer tables, and the model report, made from the inputs, fits and scores of the other modules."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from helpers.clv.likelihood import PARAM_NAMES
from helpers.clv.models import MODEL_LABELS, ModelFit, is_usable
from helpers.clv.predict import expected_purchases, probability_alive
from helpers.clv.samples import compress_histories
from helpers.clv.validation import tested_models
from helpers.formats import money
from helpers.io import largest_first

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
    """A fit as plain data for the model product."""
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
        "at_bound": list(fit.at_bound),
    }


def model_report(
    status: dict[str, Any],
    calibration_status: dict[str, Any] | None,
    calibration_end_day: dt.date | None,
    holdout_units: float,
    calibration_fits: dict[str, ModelFit],
    errors: pd.DataFrame | None,
    chosen: str,
    purchase_fit: ModelFit | None,
    spend_fit: ModelFit | None,
    correlation: dict[str, Any],
    settings: dict[str, Any],
    holdout_sentence: str = "",
    fallback: tuple[str, str] | None = None,
    spend_check: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything the model product records: a status (ok, too_few_repeat_buyers, fit_failed), the model
    comparison on the holdout (``holdout_sentence`` says how the history was split, or why not), the
    chosen model refitted on all history (``fallback``: the model first chosen and the sentence saying
    why another is used, from :func:`helpers.clv.models.fit_final_model`), the spend model and whether
    its values are used (``spend_check``, from :func:`helpers.clv.predict.spend_model_check`), and the
    caveats the page must carry. The models count as compared on the holdout only when at least one
    calibration fit converged (``holdout.tested``): a row of errors for a failed fit compares nothing."""
    if not status["enough"]:
        overall = "too_few_repeat_buyers"
    elif not is_usable(purchase_fit) or not is_usable(spend_fit):
        overall = "fit_failed"
    else:
        overall = "ok"
    report = {
        "status": overall,
        "message": status["message"],
        "settings": settings,
        "repeat_buyers": status,
        "holdout": {
            "sentence": holdout_sentence,
            "compared": bool(tested_models(errors)),
            "tested": tested_models(errors),
            "calibration_end": calibration_end_day,
            "length_periods": holdout_units,
            "repeat_buyers": calibration_status,
            "fits": {name: fit_summary(fit) for name, fit in calibration_fits.items()},
            "errors": errors.to_dict(orient="records") if errors is not None else [],
        },
        "chosen_model": chosen,
        "fallback": (
            {"from": fallback[0], "label": MODEL_LABELS[fallback[0]], "sentence": fallback[1]}
            if fallback
            else None
        ),
        "purchase_model": fit_summary(purchase_fit),
        "spend_model": fit_summary(spend_fit),
        "spend_value": spend_check,
        "frequency_monetary_correlation": correlation,
    }
    report["caveats"] = caveats(report, settings.get("max_holdout_error", 0.25))
    return report


def comparison_sentence(
    holdout_sentence: str,
    compared: bool,
    calibration_status: dict[str, Any] | None,
    models: list[str],
    chosen: str,
    metric: str,
    tested: list[str] | None = None,
) -> str:
    """Which purchase model is used and why, in the one sentence that is true of this run: chosen by
    the holdout (``tested``: the models whose calibration fit converged, when known), the only one that
    could be tested, or the first listed because the split did not fit, only one model is listed, or
    the calibration period had too few repeat buyers."""
    label = MODEL_LABELS[chosen]
    if compared and tested is not None and len(tested) == 1 and len(models) > 1:
        return (
            f"Of the models listed only {label} could be fitted on the history before the held-out months, "
            "so it was not compared with another; it is used."
        )
    if compared:
        return f"{label} predicted the held-out months best (by {metric}) and is used."
    if calibration_status is None:
        return f"{holdout_sentence} {label}, the first model listed, is used."
    if len(models) == 1:
        return f"Only {label} is listed in clv.models, so there was nothing to compare; it is used."
    if calibration_status.get("enough"):
        return (
            f"On the history up to the calibration end no purchase model could be fitted, so they were not "
            f"compared; {label}, the first model listed, is used."
        )
    status = calibration_status["message"]
    return (
        f"In the calibration period {status[0].lower()}{status[1:]} So the models were not compared; "
        f"{label}, the first model listed, is used."
    )


def _names(labels: list[str]) -> str:
    """Model names in a sentence: "A", "A and B", "A, B and C"."""
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def penalised_sentence(label: str, data: str, penalizer: float) -> str:
    """The caveat of a fit that only a penalty made usable (:func:`helpers.clv.models.fit_model`)."""
    return (
        f"{label}'s first fit on {data} failed, so it was refitted with a small penalty on large parameter "
        f"values (penalizer {penalizer:g}), which pulls its estimates towards smaller values: take the "
        "values it gives as approximate."
    )


def spend_fallback_sentence(check: dict[str, Any]) -> str:
    """The caveat when Gamma-Gamma's values are not used (:func:`helpers.clv.predict.spend_model_check`)."""
    currency = check.get("currency") or ""

    def amount(value: float) -> str:
        return money(value, currency) if currency else f"{value:,.2f}"

    ratio = check["max_ratio"]
    times = "twice" if ratio == 2 else f"{ratio:g} times"
    return (
        f"The spend model (Gamma-Gamma) is not used: its q = {check['q']:.3g} is so close to 1 that it "
        f"values a purchase of a customer without a repeat purchase at {amount(check['model_mean'])}, more "
        f"than {times} the {amount(check['observed_mean'])} the {check['repeat_buyers']:,} repeat buyers "
        "spent on average. Instead each repeat buyer's purchases are valued at their own average, and every "
        f"other customer's at that {amount(check['observed_mean'])}."
    )


def caveats(report: dict[str, Any], max_holdout_error: float) -> list[str]:
    """Sentences the CLV section must carry because they limit what its numbers are worth: no model
    comparison (and why), listed models that could not be tested on the holdout, a chosen model that
    missed the holdout by more than ``max_holdout_error``, parameters at the edge of their range, a fit
    that needed a penalty, and a spend model whose values are not used."""
    found = []
    holdout = report.get("holdout", {})
    if report.get("status") == "ok" and not holdout.get("compared"):
        if holdout.get("calibration_end") and holdout.get("repeat_buyers") is not None:
            # the history was split but the models could not be compared on it: say why, not the split
            settings = report.get("settings") or {}
            found.append(
                comparison_sentence(
                    holdout.get("sentence", ""),
                    False,
                    holdout["repeat_buyers"],
                    settings.get("models") or [report.get("chosen_model")],
                    # the model picked before any fallback: the first listed, as the sentence says
                    (report.get("fallback") or {}).get("from") or report.get("chosen_model"),
                    settings.get("selection_metric", "mae"),
                )
            )
        else:
            found.append(
                holdout.get("sentence") or "The purchase models were not compared on held-out months."
            )
    if report.get("fallback"):
        found.append(report["fallback"]["sentence"])
    if report.get("status") != "ok":
        return found  # no customer was valued: nothing below limits a value
    end = holdout.get("calibration_end")
    calibration = [f for f in (holdout.get("fits") or {}).values() if f]
    failed = [f["label"] for f in calibration if not f.get("converged")]
    if holdout.get("compared") and failed:
        tested = [f["label"] for f in calibration if f.get("converged")]
        found.append(
            f"{_names(failed)} could not be fitted on the history up to {end}, so "
            f"{'it was' if len(failed) == 1 else 'they were'} not tested on the held-out months"
            + (f"; {tested[0]} was the only model tested." if len(tested) == 1 else ".")
        )
    penalised = [f for f in calibration if f.get("converged") and f.get("penalizer")]
    if holdout.get("compared") and penalised:
        found.append(
            f"On the history up to {end}, {_names([f['label'] for f in penalised])} could only be fitted "
            f"with a small penalty on large parameter values (penalizer {penalised[0]['penalizer']:g}), so "
            "the comparison on the held-out months is less certain."
        )
    purchase = report.get("purchase_model") or {}
    if purchase.get("converged") and purchase.get("penalizer"):
        found.append(penalised_sentence(purchase["label"], "the whole history", purchase["penalizer"]))
    spend = report.get("spend_model") or {}
    check = report.get("spend_value") or {}
    if check.get("source") == "observed":
        found.append(spend_fallback_sentence(check))
    elif spend.get("converged") and spend.get("penalizer"):
        found.append(penalised_sentence(spend["label"], "the repeat buyers' spend", spend["penalizer"]))
    chosen = report.get("chosen_model")
    error = next((e for e in holdout.get("errors", []) if e.get("model") == chosen), None)
    if error and error.get("total_error") is not None and error["total_error"] > max_holdout_error:
        found.append(
            f"On the held-out months {error['label']} expected {error['expected_total']:,.0f} purchases "
            f"where {error['actual_total']:,.0f} happened ({100 * error['total_error']:.0f}% off, more "
            f"than the {100 * max_holdout_error:.0f}% this report accepts): take its values as rough."
        )
    fit = report.get("purchase_model") or {}
    at_bound = fit.get("at_bound") or []
    if at_bound:
        names = " and ".join(at_bound)
        values = ", ".join(f"{fit['params'][name]:.2g}" for name in at_bound)
        which = f"parameter {names} ran" if len(at_bound) == 1 else f"parameters {names} ran"
        found.append(
            f"{fit['label']}'s {which} to the edge of {'its' if len(at_bound) == 1 else 'their'} range "
            f"({values}): the model has degenerated, so its chance that a customer is still one (P(alive)) "
            "is not used for the statuses, which follow the days since the last order, nor for the value "
            "at stake."
        )
    return found
