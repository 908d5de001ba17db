"""Stage 07: customer lifetime value from purchase models (BG/NBD, Pareto/NBD, MBG/NBD) and the
Gamma-Gamma spend model, fitted with ``lifetimes``.

The per-customer model inputs are aggregated in the engine (plain Ibis expressions, so the same code
runs on DuckDB or Spark); fitting and scoring run in pandas on one row per customer, and the purchase
models are fitted on the unique (repeat_periods, recency_periods, age_periods) rows with the number
of customers as weights ("fit small, score big": the same likelihood, far fewer rows).

Model inputs follow lifetimes' definitions but carry names that cannot be mistaken for RFM's order
count and total spend: ``repeat_periods`` (distinct purchase periods after the first), ``recency_periods``
(first to last purchase period), ``age_periods`` (first purchase period to the as-of period) and
``repeat_mean_value`` (mean net value of the repeat purchase periods).

The package, one idea a module, each importing only the ones named before it: ``inputs``
(engine-side model inputs), ``samples`` (what the models are fitted on, and the checks on it),
``pareto`` (Pareto/NBD's fast likelihood), ``likelihood`` (lifetimes' models and the objective they
minimise), ``pareto_fit`` (Pareto/NBD's starts and fast fit), ``models`` (fitting with verification
and retry), ``predict`` (per-customer scores), ``validation`` (holdout checks and the model choice)
and ``page`` (the tables and report of notebook 07). Every public name is re-exported here (with the
few private ones the tests use): ``clv.<name>`` is the interface.
"""

from helpers.clv.inputs import (
    CALIBRATION_COLUMNS,
    HOLDOUT_SHARE,
    INPUT_COLUMNS,
    UNIT_DAYS,
    HoldoutPlan,
    PurchasePeriods,
    calibration_and_holdout,
    calibration_end,
    cohorts_and_repeat_purchases,
    first_purchase_day,
    holdout_length,
    inputs_and_calibration,
    model_inputs,
    period_start,
    plan_holdout,
    purchase_periods,
)
from helpers.clv.likelihood import (
    FITTERS,
    PARAM_NAMES,
    TIME_PARAMS,
    log_likelihood,
)
from helpers.clv.likelihood import _data_arrays as _data_arrays
from helpers.clv.likelihood import _mean_objective as _mean_objective
from helpers.clv.models import (
    BOUND_HIGH,
    BOUND_LOW,
    MAX_GRADIENT,
    MODEL_LABELS,
    ModelFit,
    check_optimum,
    fit_final_model,
    fit_model,
    fit_purchase_models,
    is_usable,
    parameters_at_bound,
    prediction_problem,
)
from helpers.clv.page import (
    PAGE_COLUMNS,
    alive_and_purchases_matrices,
    caveats,
    clv_overview,
    comparison_sentence,
    fit_summary,
    fit_table,
    high_value_at_risk,
    input_overview,
    matrix_extent,
    model_report,
    penalised_sentence,
    spend_check_message,
    spend_fallback_sentence,
    top_customers,
)
from helpers.clv.pareto import PurchaseHistories, pareto_nbd_negative_log_likelihood
from helpers.clv.pareto import _distinct_pairs as _distinct_pairs
from helpers.clv.pareto import _log_difference as _log_difference
from helpers.clv.pareto_fit import PARETO_SCOUT_CUSTOMERS, PARETO_TOL
from helpers.clv.predict import (
    DAYS_PER_MONTH,
    SCORE_COLUMNS,
    discounted_clv,
    expected_average_value,
    expected_days_to_next_purchase,
    expected_purchases,
    expected_purchases_new_customer,
    observed_average_value,
    probability_alive,
    probability_no_repeat_purchase,
    score_customers,
    spend_model_check,
)
from helpers.clv.samples import (
    FIT_SAMPLE_ABOVE,
    FIT_SAMPLE_SEED,
    HISTORY_COLUMNS,
    compress_histories,
    fitting_sample,
    frequency_monetary_correlation,
    repeat_buyer_status,
    spend_sample,
)
from helpers.clv.validation import (
    choose_model,
    cumulative_tracking,
    holdout_by_frequency,
    holdout_errors,
    holdout_predictions,
    tested_models,
)

__all__ = [
    # inputs
    "CALIBRATION_COLUMNS",
    "HOLDOUT_SHARE",
    "INPUT_COLUMNS",
    "UNIT_DAYS",
    "HoldoutPlan",
    "PurchasePeriods",
    "calibration_and_holdout",
    "calibration_end",
    "cohorts_and_repeat_purchases",
    "first_purchase_day",
    "holdout_length",
    "inputs_and_calibration",
    "model_inputs",
    "period_start",
    "plan_holdout",
    "purchase_periods",
    # samples
    "FIT_SAMPLE_ABOVE",
    "FIT_SAMPLE_SEED",
    "HISTORY_COLUMNS",
    "compress_histories",
    "fitting_sample",
    "frequency_monetary_correlation",
    "repeat_buyer_status",
    "spend_sample",
    # pareto
    "PurchaseHistories",
    "pareto_nbd_negative_log_likelihood",
    # likelihood
    "FITTERS",
    "PARAM_NAMES",
    "TIME_PARAMS",
    "log_likelihood",
    # pareto_fit
    "PARETO_SCOUT_CUSTOMERS",
    "PARETO_TOL",
    # models
    "BOUND_HIGH",
    "BOUND_LOW",
    "parameters_at_bound",
    "prediction_problem",
    "MAX_GRADIENT",
    "MODEL_LABELS",
    "ModelFit",
    "check_optimum",
    "fit_final_model",
    "fit_model",
    "fit_purchase_models",
    "is_usable",
    # predict
    "DAYS_PER_MONTH",
    "SCORE_COLUMNS",
    "discounted_clv",
    "expected_average_value",
    "expected_days_to_next_purchase",
    "expected_purchases",
    "expected_purchases_new_customer",
    "observed_average_value",
    "probability_alive",
    "probability_no_repeat_purchase",
    "score_customers",
    "spend_model_check",
    # validation
    "choose_model",
    "cumulative_tracking",
    "holdout_by_frequency",
    "holdout_errors",
    "holdout_predictions",
    "tested_models",
    # page
    "caveats",
    "comparison_sentence",
    "PAGE_COLUMNS",
    "alive_and_purchases_matrices",
    "clv_overview",
    "fit_summary",
    "fit_table",
    "high_value_at_risk",
    "input_overview",
    "matrix_extent",
    "model_report",
    "penalised_sentence",
    "spend_check_message",
    "spend_fallback_sentence",
    "top_customers",
]
