"""Stage 09's churn model: which score predicts churn best on this dataset, measured on a holdout.

A customer *churned* after a cut date when they placed no order in the ``window_days`` after it (the
days ``cut + 1`` to ``cut + window``, both whole). Features are computed from what was known at the end
of the cut day only (orders, and where the dataset has them events, contacts, feedback and customer
attributes), so nothing after a cut can change that cut's features (tested).

Two cuts: the training cut T0 = T1 - window and the holdout cut T1 = as_of - window. Gradient boosting
learns from the features at T0 and the churn in (T0, T1]; every score is then judged on the features at
T1 against the churn in (T1, as_of], which no score has seen: the gradient boosting, the purchase
model's 1 - P(alive) and its probability of no purchase in the window (fitted on the orders up to T1),
and the days since the last order alone. The best by ROC AUC is the dataset's churn risk, refitted at
T1 and applied to the features at as_of; a score that does not beat the days since the last order is
never called a churn risk (the risk is then the calibrated days since the last order).

Customer-level fitting on the driver ("fit small, score big"): the features are aggregated in the
engine (Ibis), the model is fitted on a seeded sample above ``fit_sample_above`` customers and applied
to every customer.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from helpers.config import ChurnConfig
from helpers.engine import exact_sum
from helpers.schema import SCALES

GRADIENT_BOOSTING, P_ALIVE, NO_PURCHASE, RECENCY = (
    "gradient_boosting",
    "btyd_p_alive",
    "btyd_no_purchase",
    "recency",
)
MODELS = (GRADIENT_BOOSTING, P_ALIVE, NO_PURCHASE, RECENCY)  # the scores compared, in the table's order
MODEL_NAMES = {
    GRADIENT_BOOSTING: "gradient boosting (what is known of the customer)",
    P_ALIVE: "1 - P(alive) (purchase model)",
    NO_PURCHASE: "P(no purchase in the window) (purchase model)",
    RECENCY: "days since last order",
}
ORDER_FEATURES = [
    "recency_days",
    "tenure_days",
    "orders",
    "spend",
    "avg_order_value",
    "mean_gap_days",
    "orders_recent",
]
CATEGORICAL = ["age_band", "region", "acquisition_channel"]  # from the customer attributes
AGE_BANDS = [(0, 25, "<25"), (25, 35, "25-34"), (35, 45, "35-44"), (45, 55, "45-54"), (55, 65, "55-64")]
OLDEST_BAND = "65+"


def one_thread(function):
    """Runs ``function`` with scikit-learn's OpenMP pool at one thread. Why: on a busy 2-core machine
    its spinning threads made the gradient boosting's fit 3x and its predictions 10x slower (CDNOW:
    fit 16 s -> 5 s, permutation importance 38 s -> 3 s); the engine work is not affected."""

    @functools.wraps(function)
    def limited(*args, **kwargs):
        import sklearn.ensemble  # noqa: F401  (loads the OpenMP library first: a limit binds loaded ones only)
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="openmp"):
            return function(*args, **kwargs)

    return limited


PARALLEL_PREDICTION_ROWS = 100_000  # from this many customers, predictions use every core (see below)


def prediction_threads(rows: int):
    """Within :func:`one_thread`: every core for a prediction on ``rows`` customers from
    ``PARALLEL_PREDICTION_ROWS`` up, where each thread has enough rows to share (1M customers: 1.5 s
    instead of 2.7 s a prediction on 2 cores; the per-customer drivers take one per feature); one
    thread below, where OpenMP's start-up and spinning cost more than they save."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(
        limits=(os.cpu_count() or 1) if rows >= PARALLEL_PREDICTION_ROWS else 1, user_api="openmp"
    )


# ------------------------------------------------------------------------------ cuts and labels


def day_end(day: dt.date) -> dt.datetime:
    """The first instant after ``day``: what happened before it was known at the end of the day."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time())


@dataclass(frozen=True)
class Cuts:
    """The training cut T0, the holdout cut T1 and the as-of date, ``window_days`` apart."""

    training: dt.date
    holdout: dt.date
    as_of: dt.date
    window_days: int


def plan_cuts(as_of: dt.date, window_days: int) -> Cuts:
    """T1 = as_of - window and T0 = T1 - window: each cut's churn window ends where the next begins."""
    holdout = as_of - dt.timedelta(days=window_days)
    return Cuts(holdout - dt.timedelta(days=window_days), holdout, as_of, window_days)


def _purchases(orders: ir.Table, customer_col: str, amount_col: str) -> ir.Table:
    """Rows that are purchases (amount not negative: a return is not an order), with a customer id."""
    return orders.filter(orders[amount_col] >= 0, orders[customer_col].notnull())


def churn_labels(
    orders: ir.Table,
    cut: dt.date,
    window_days: int,
    customer_col: str = "customer_id",
    ts_col: str = "order_ts",
    amount_col: str = "amount",
) -> pd.DataFrame:
    """Per customer who had bought by the end of ``cut`` (sorted by id): ``churned`` 1 when they placed
    no order from the day after the cut to the end of day ``cut + window_days``, else 0."""
    bought = _purchases(orders, customer_col, amount_col)
    start, end = day_end(cut), day_end(cut + dt.timedelta(days=window_days))
    ts = bought[ts_col]
    per = bought.filter(ts < end).group_by(customer_id=bought[customer_col].cast("string"))
    table = per.agg(known=(ts < start).any(), again=(ts >= start).any()).to_pandas()
    table = table[table["known"].astype(bool)]
    return (
        pd.DataFrame(
            {"customer_id": table["customer_id"], "churned": (~table["again"].astype(bool)).astype("int64")}
        )
        .sort_values("customer_id", kind="mergesort")
        .reset_index(drop=True)
    )


# ------------------------------------------------------------------------------------- features


def order_features(
    orders: ir.Table,
    cut: dt.date,
    recent_days: int,
    customer_col: str = "customer_id",
    order_col: str | None = "order_id",
    ts_col: str = "order_ts",
    amount_col: str = "amount",
    one_row_per_order: bool = False,
) -> pd.DataFrame:
    """Per customer who had bought by the end of ``cut``, from the rows up to then only (sorted by id):
    days since the last order and since the first, orders (distinct order ids; rows without one count
    each; rows, when ``one_row_per_order``), net spend (returns included, added exactly), average order
    value, mean days between orders (empty with one order) and orders in the last ``recent_days``."""
    end = day_end(cut)
    rows = orders.filter(orders[ts_col] < end, orders[customer_col].notnull())
    key = rows[order_col].cast("string") if order_col else ibis.null("string")
    is_order = rows[amount_col] >= 0
    order_key = ibis.coalesce(key, rows[ts_col].cast("string") + "#" + ibis.literal("row"))
    recent = rows[ts_col] >= day_end(cut - dt.timedelta(days=recent_days))

    def orders_where(condition: ir.BooleanValue) -> ir.IntegerValue:
        return condition.sum() if one_row_per_order and order_col else order_key.nunique(where=condition)

    per = rows.group_by(customer_id=rows[customer_col].cast("string")).agg(
        first_ts=rows[ts_col].min(where=is_order),
        last_ts=rows[ts_col].max(where=is_order),
        orders=orders_where(is_order),
        orders_recent=orders_where(is_order & recent),
        spend=exact_sum(rows[amount_col]),
    )
    # Sorted by the engine (byte order of UTF-8 text, the code-point order pandas sorts by): the final
    # stable sort then finds the rows in order (1M customers: 0.8 s less a cut).
    table = per.filter(per.orders > 0).order_by("customer_id").to_pandas()
    end_ts = pd.Timestamp(end)
    days = lambda column: (end_ts - pd.to_datetime(table[column])).dt.total_seconds() / 86_400  # noqa: E731
    orders_count = table["orders"].astype("int64")
    out = pd.DataFrame(
        {
            "customer_id": table["customer_id"].astype(object),
            "recency_days": days("last_ts"),
            "tenure_days": days("first_ts"),
            "orders": orders_count,
            "spend": table["spend"].astype(float),
            "avg_order_value": table["spend"].astype(float) / orders_count,
            "mean_gap_days": ((days("first_ts") - days("last_ts")) / (orders_count - 1)).where(
                orders_count > 1
            ),
            "orders_recent": table["orders_recent"].astype("int64"),
        }
    )
    return out.sort_values("customer_id", kind="mergesort").reset_index(drop=True)


def event_features(events: ir.Table, cut: dt.date, recent_days: int) -> pd.DataFrame:
    """Per identified customer: events and distinct active days in the last ``recent_days`` up to the
    end of ``cut`` (anonymous events and later ones are not counted)."""
    start, end = day_end(cut - dt.timedelta(days=recent_days)), day_end(cut)
    e = events.filter(events.customer_id.notnull(), events.event_ts >= start, events.event_ts < end)
    return (
        e.group_by(customer_id=e.customer_id.cast("string"))
        .agg(events_recent=e.count(), active_days_recent=e.event_ts.date().nunique())
        .to_pandas()
    )


def contact_features(interactions: ir.Table, cut: dt.date) -> pd.DataFrame:
    """Per customer: contacts up to the end of ``cut`` and days from the last one to then."""
    end = day_end(cut)
    i = interactions.filter(interactions.customer_id.notnull(), interactions.interaction_ts < end)
    table = (
        i.group_by(customer_id=i.customer_id.cast("string"))
        .agg(contacts=i.count(), last_contact=i.interaction_ts.max())
        .to_pandas()
    )
    since = (pd.Timestamp(end) - pd.to_datetime(table.pop("last_contact"))).dt.total_seconds() / 86_400
    return table.assign(days_since_contact=since)


def feedback_features(feedback: ir.Table, cut: dt.date) -> pd.DataFrame:
    """Per customer, from feedback given up to the end of ``cut``: complaints still open then (not
    resolved, or resolved after the cut) and the latest survey score on a 0-1 scale (0 the scale's
    lowest, 1 its highest)."""
    end = day_end(cut)
    f = feedback.filter(feedback.customer_id.notnull(), feedback.feedback_ts < end)
    columns = f.columns
    is_complaint = f.kind == "complaint"
    resolved_by_cut = (
        f.resolved_ts.notnull() & (f.resolved_ts < end) if "resolved_ts" in columns else ibis.literal(False)
    )
    aggregates: dict[str, Any] = {"open_complaints": (is_complaint & ~resolved_by_cut).sum()}
    if "score" in columns and "scale" in columns:
        low = ibis.cases(*((f.scale == name, float(lo)) for name, (lo, _, _) in SCALES.items()), else_=None)
        high = ibis.cases(*((f.scale == name, float(hi)) for name, (_, hi, _) in SCALES.items()), else_=None)
        survey = (f.kind == "survey") & f.score.notnull() & low.notnull()
        aggregates["survey_score"] = ((f.score - low) / (high - low)).argmax(f.feedback_ts, where=survey)
    table = f.group_by(customer_id=f.customer_id.cast("string")).agg(**aggregates).to_pandas()
    return table.assign(open_complaints=table["open_complaints"].astype("int64"))


def age_band(age: pd.Series) -> pd.Series:
    """Ages in years -> bands (<25, 25-34, ..., 55-64, 65+); unknown ages stay empty."""
    out = pd.Series(None, index=age.index, dtype=object)
    for low, high, name in AGE_BANDS:
        out[(age >= low) & (age < high)] = name
    out[age >= AGE_BANDS[-1][1]] = OLDEST_BAND
    return out


def attribute_features(customers: pd.DataFrame, cut: dt.date) -> pd.DataFrame:
    """Per customer of the attributes: age band at the cut (from the birth date, else the age column as
    given), region and acquisition channel, as text (categories)."""
    out = pd.DataFrame({"customer_id": customers["customer_id"].astype(object)})
    if "birth_date" in customers.columns:
        born = pd.to_datetime(customers["birth_date"])
        age = (pd.Timestamp(cut) - born).dt.days / 365.25
        out["age_band"] = age_band(age).to_numpy()
    elif "age" in customers.columns:
        out["age_band"] = age_band(pd.to_numeric(customers["age"], errors="coerce")).to_numpy()
    for column in ("region", "acquisition_channel"):
        if column in customers.columns:
            out[column] = customers[column].astype(object).where(customers[column].notna(), None).to_numpy()
    return out.drop_duplicates("customer_id")


@dataclass
class Sources:
    """The clean sources the features come from (every one but the orders optional)."""

    orders: ir.Table
    events: ir.Table | None = None
    interactions: ir.Table | None = None
    feedback: ir.Table | None = None
    customers: pd.DataFrame | None = None
    order_col: str | None = "order_id"
    # The quality fact of the clean orders: every order on one row, so orders are counted as rows
    # (10M orders: 1.2 s instead of 4 s a cut, against distinct order ids).
    one_row_per_order: bool = False

    def kinds(self) -> list[str]:
        """The sources present, by name."""
        return ["orders"] + [
            k for k in ("events", "interactions", "feedback", "customers") if getattr(self, k) is not None
        ]


def features_at(sources: Sources, cut: dt.date, recent_days: int) -> pd.DataFrame:
    """Every feature of every customer who had bought by the end of ``cut``, from the rows up to then
    only (sorted by id). Counts a customer has none of are 0; days since a contact that never happened,
    a survey never answered and an unknown attribute stay empty (the model handles missing values)."""
    order_col = sources.order_col if sources.order_col in sources.orders.columns else None
    table = order_features(
        sources.orders, cut, recent_days, order_col=order_col, one_row_per_order=sources.one_row_per_order
    )
    parts = []
    if sources.events is not None:
        parts.append((event_features(sources.events, cut, recent_days), 0))
    if sources.interactions is not None:
        parts.append((contact_features(sources.interactions, cut), {"contacts": 0}))
    if sources.feedback is not None:
        parts.append((feedback_features(sources.feedback, cut), {"open_complaints": 0}))
    if sources.customers is not None:
        parts.append((attribute_features(sources.customers, cut), None))
    for part, fill in parts:
        table = table.merge(part, on="customer_id", how="left")
        if fill == 0:
            table[[c for c in part.columns if c != "customer_id"]] = table[
                [c for c in part.columns if c != "customer_id"]
            ].fillna(0)
        elif isinstance(fill, dict):
            table = table.fillna(fill)
    for column in ("events_recent", "active_days_recent", "contacts", "open_complaints"):
        if column in table.columns:
            table[column] = table[column].astype("int64")
    return table


# ------------------------------------------------------------------------------------- the model


@dataclass
class Encoding:
    """How a feature table becomes the model's matrix: the numeric and categorical columns, and each
    categorical's categories as seen in training (codes 0..n-1; a category not seen is missing)."""

    numeric: list[str]
    categories: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def learn(cls, table: pd.DataFrame) -> Encoding:
        """From the training table; a feature with fewer than two distinct values there says nothing
        and is left out (scikit-learn 1.9's binning fails on a column of one value)."""
        varied = [c for c in table.columns if c != "customer_id" and table[c].nunique(dropna=True) >= 2]
        numeric = [c for c in varied if c not in CATEGORICAL]
        categories = {
            c: sorted(table[c].dropna().astype(str).unique().tolist()) for c in CATEGORICAL if c in varied
        }
        return cls(numeric, categories)

    @property
    def columns(self) -> list[str]:
        return self.numeric + list(self.categories)

    def matrix(self, table: pd.DataFrame) -> np.ndarray:
        """The numeric columns as floats, then each categorical as its code (NaN when unknown)."""
        parts = [table[self.numeric].astype(float).to_numpy()]
        for column, values in self.categories.items():
            codes = pd.Categorical(table[column].astype(object), categories=values).codes.astype(float)
            parts.append(np.where(codes < 0, np.nan, codes)[:, None])
        return np.hstack(parts) if parts else np.empty((len(table), 0))

    @property
    def categorical_mask(self) -> list[bool]:
        return [False] * len(self.numeric) + [True] * len(self.categories)


@dataclass
class Booster:
    """A fitted gradient-boosting churn model with its encoding and each feature's typical value."""

    model: Any
    encoding: Encoding
    typical: np.ndarray

    def risk(self, table: pd.DataFrame) -> np.ndarray:
        with prediction_threads(len(table)):
            return self.model.predict_proba(self.encoding.matrix(table))[:, 1]


def sample_rows(table: pd.DataFrame, size: int, seed: int) -> pd.DataFrame:
    """All rows up to ``size``, else a seeded sample of ``size`` rows in their original order."""
    if len(table) <= size:
        return table
    positions = np.sort(np.random.default_rng(seed).choice(len(table), size=size, replace=False))
    return table.iloc[positions]


def typical_values(matrix: np.ndarray, categorical: list[bool]) -> np.ndarray:
    """Each column's typical value among the training customers: the median of a numeric column, the
    most common code of a categorical one; missing when most customers have none."""
    typical = np.full(matrix.shape[1], np.nan)
    for j in range(matrix.shape[1]):
        values = matrix[:, j][~np.isnan(matrix[:, j])]
        if len(values) * 2 <= len(matrix[:, j]):
            continue
        if categorical[j]:
            codes, counts = np.unique(values, return_counts=True)
            typical[j] = codes[np.argmax(counts)]
        else:
            typical[j] = np.median(values)
    return typical


@one_thread
def fit_booster(table: pd.DataFrame, labels: pd.DataFrame, seed: int, sample_above: int) -> Booster:
    """Scikit-learn's HistGradientBoostingClassifier (seeded) on the features of ``table`` and the
    ``churned`` column of ``labels`` (joined by customer id); above ``sample_above`` customers on a
    seeded sample of that many."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    data = sample_rows(table.merge(labels, on="customer_id", how="inner"), sample_above, seed)
    encoding = Encoding.learn(data.drop(columns="churned"))
    matrix = encoding.matrix(data)
    model = HistGradientBoostingClassifier(
        random_state=seed, categorical_features=encoding.categorical_mask or None
    )
    model.fit(matrix, data["churned"].to_numpy())
    return Booster(model, encoding, typical_values(matrix, encoding.categorical_mask))


@one_thread
def local_drivers(booster: Booster, table: pd.DataFrame, how_many: int) -> pd.DataFrame:
    """Per customer, the features that raise their churn risk most: for each feature, the risk with
    that one value replaced by the typical customer's (:func:`typical_values`); a driver is a feature
    whose typical value would lower the risk, the largest drop first (empty when none would). One
    prediction per feature on every customer, any feature kind, no extra package: exact for the model
    as it is, where permutation importance only ranks the features for all customers at once."""
    matrix = booster.encoding.matrix(table)
    drops = np.zeros_like(matrix)
    with prediction_threads(len(matrix)):
        base = booster.model.predict_proba(matrix)[:, 1]
        for j in range(matrix.shape[1]):
            changed = matrix.copy()
            changed[:, j] = booster.typical[j]
            drops[:, j] = base - booster.model.predict_proba(changed)[:, 1]
    order = np.argsort(-drops, axis=1, kind="stable")[:, :how_many]
    names = np.array(booster.encoding.columns, dtype=object)[order]
    raises = np.take_along_axis(drops, order, axis=1) > 1e-9
    return pd.DataFrame(
        {f"churn_driver_{i + 1}": np.where(raises[:, i], names[:, i], None) for i in range(how_many)},
        index=table.index,
    )


@one_thread
def importance(
    booster: Booster, table: pd.DataFrame, labels: pd.DataFrame, sample: int, seed: int
) -> pd.DataFrame:
    """Permutation importance on the holdout (a seeded sample of ``sample`` customers): how much the ROC
    AUC falls when one feature's values are shuffled (5 seeded repeats), largest first."""
    from sklearn.inspection import permutation_importance

    data = sample_rows(table.merge(labels, on="customer_id", how="inner"), sample, seed)
    result = permutation_importance(
        booster.model,
        booster.encoding.matrix(data),
        data["churned"].to_numpy(),
        scoring="roc_auc",
        n_repeats=5,
        random_state=seed,
    )
    frame = pd.DataFrame(
        {
            "feature": booster.encoding.columns,
            "auc_drop": result.importances_mean,
            "sd": result.importances_std,
        }
    )
    return frame.sort_values(["auc_drop", "feature"], ascending=[False, True], kind="mergesort").reset_index(
        drop=True
    )


# ------------------------------------------------------------------------------ purchase models


def btyd_scores(
    orders: ir.Table,
    cut: dt.date,
    window_days: int,
    model: str,
    time_unit: str,
    seed: int,
    sample_above: int,
    pareto_starts: int,
    penalizer_retry: float,
) -> tuple[pd.DataFrame | None, str]:
    """The purchase model (helpers.clv) fitted on the orders up to ``cut`` and, per customer who had
    bought by then: ``p_alive`` and ``p_no_purchase``, the chance of no purchase in the next
    ``window_days``: 1 - P(alive) + P(alive) x ((alpha + T) / (alpha + T + t))^(r + x), the zero count
    of the Poisson rate's Gamma posterior (r + x, alpha + T) that all three models give an active
    customer, whose mean is the expected purchases (exact for BG/NBD and MBG/NBD, where an active
    customer cannot leave before the next purchase; slightly low for Pareto/NBD, where one may).
    None and the reason when the model cannot be fitted."""
    from helpers import clv

    inputs = clv.model_inputs(orders, cut, time_unit).to_pandas()
    fit = clv.fit_model(
        clv.compress_histories(inputs, sample_above, seed),
        model,
        seed,
        pareto_starts if model == "pareto_nbd" else 1,
        penalizer_retry,
    )
    if not clv.is_usable(fit):
        return None, f"{clv.MODEL_LABELS[model]} could not be fitted on the orders up to {cut}: {fit.note}"
    x, recency, age = inputs["repeat_periods"], inputs["recency_periods"], inputs["age_periods"]
    alive = clv.probability_alive(fit, x, recency, age)
    t = window_days / clv.UNIT_DAYS[time_unit]
    r, alpha = fit.params["r"], fit.params["alpha"]
    a = alpha + age.to_numpy(dtype=float)
    none_if_active = np.exp((r + x.to_numpy(dtype=float)) * (np.log(a) - np.log(a + t)))
    scores = pd.DataFrame(
        {
            "customer_id": inputs["customer_id"].astype(object),
            "p_alive": alive,
            "p_no_purchase": np.clip(1.0 - alive + alive * none_if_active, 0.0, 1.0),
        }
    )
    return scores, ""


# ------------------------------------------------------------------------------------ judging


def metrics(
    churned: np.ndarray, ranking: np.ndarray, probability: np.ndarray | None
) -> dict[str, float | None]:
    """ROC AUC and PR AUC (average precision) of a ranking (higher = likelier to churn) and the Brier
    score of a probability (None without one)."""
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    return {
        "roc_auc": float(roc_auc_score(churned, ranking)),
        "pr_auc": float(average_precision_score(churned, ranking)),
        "brier": None if probability is None else float(brier_score_loss(churned, probability)),
    }


def calibrate_recency(recency: np.ndarray, churned: np.ndarray):
    """Isotonic regression of churn on days since the last order (more days, no lower risk): the share
    who churned among customers with about as many days, from one cut, to apply at a later one."""
    from sklearn.isotonic import IsotonicRegression

    return IsotonicRegression(increasing=True, out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(
        recency, churned
    )


def reliability(churned: np.ndarray, probability: np.ndarray, bins: int) -> pd.DataFrame:
    """Customers, mean predicted probability and observed churn share per bin of equal width of the
    predicted probability (empty bins left out): on the diagonal when the probability is calibrated."""
    which = np.minimum((np.asarray(probability) * bins).astype(int), bins - 1)
    frame = pd.DataFrame({"bin": which, "predicted": probability, "observed": churned})
    table = frame.groupby("bin").agg(
        customers=("observed", "size"), predicted=("predicted", "mean"), observed=("observed", "mean")
    )
    return table.reset_index(drop=True)


def beats_recency(table: pd.DataFrame, model: str) -> bool:
    """Whether ``model``'s ROC AUC on the holdout is above the days since the last order's."""
    auc = table.set_index("model")["roc_auc"]
    return model in auc.index and RECENCY in auc.index and bool(auc[model] > auc[RECENCY])


def choose(table: pd.DataFrame, wanted: str) -> tuple[str, str]:
    """The score to use and why (a key of :data:`CHOICE_REASONS`): ``auto``, the highest ROC AUC on the
    holdout (ties: the simpler score, last in :data:`MODELS`); a forced score when it was measured and
    beats the days since the last order. A score that does not beat them is never used: the days since
    the last order (calibrated) are then the churn risk."""
    measured = table.set_index("model")["roc_auc"]
    if wanted != "auto":
        if wanted == RECENCY:
            return RECENCY, "forced"
        if wanted not in measured.index:
            return RECENCY, "forced_unmeasured"
        return (wanted, "forced") if beats_recency(table, wanted) else (RECENCY, "forced_not_better")
    best = max(reversed(list(measured.index)), key=lambda m: measured[m])
    return (best, "best") if best != RECENCY else (RECENCY, "recency_best")


CHOICE_REASONS = {
    "best": "it has the highest ROC AUC on the holdout",
    "forced": "churn.model names it and it was measured on the holdout",
    "forced_unmeasured": "churn.model names a score that could not be measured, so the days since the last "
    "order are used",
    "forced_not_better": "churn.model names a score that does not beat the days since the last order on the "
    "holdout, so those days are used",
    "recency_best": "no other score beats the days since the last order on the holdout",
}


# ----------------------------------------------------------------------------------- the stage


@dataclass
class Comparison:
    """What the stage found: whether a holdout was possible (``status``: ok, too_short, too_few), the
    counts at both cuts, the scores' metrics, the reliability bins, the choice, and the fitted pieces
    the final scoring needs."""

    status: str
    cuts: Cuts
    counts: dict[str, dict[str, int]]
    table: pd.DataFrame
    reliability: pd.DataFrame
    chosen: str | None
    reason: str
    importance: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    holdout_features: pd.DataFrame | None = None
    holdout_labels: pd.DataFrame | None = None
    first_order: dt.date | None = None
    population: int | None = None  # customers who had bought by T1, when the comparison ran on a sample


def _counts(labels: pd.DataFrame) -> dict[str, int]:
    churned = int(labels["churned"].sum()) if len(labels) else 0
    return {"customers": len(labels), "churned": churned, "stayed": len(labels) - churned}


def enough(counts: dict[str, int], settings: ChurnConfig) -> bool:
    """Enough customers, churners and customers who ordered again at a cut to learn or judge from."""
    return (
        counts["customers"] >= settings.min_customers
        and counts["churned"] >= settings.min_churners
        and counts["stayed"] >= settings.min_churners
    )


def sampled(sources: Sources, cut: dt.date, size: int, seed: int) -> tuple[Sources, int | None]:
    """The sources of a seeded sample of ``size`` of the customers who had bought by the end of ``cut``
    (every source's rows of those customers only), and how many there were; the sources as they are,
    and None, when there are no more than ``size``. "Fit small": the comparison's metrics on 200,000
    holdout customers are as good a measure as on 10 million, at a fiftieth of the features' cost."""
    bought = _purchases(sources.orders, "customer_id", "amount")
    ids = (
        bought.filter(bought.order_ts < day_end(cut))
        .select(customer_id=bought.customer_id.cast("string"))
        .distinct()
        .to_pandas()["customer_id"]
    )
    if len(ids) <= size:
        return sources, None
    everyone = pd.DataFrame({"sampled_id": np.sort(ids.to_numpy(dtype=object))})
    chosen = sample_rows(everyone, size, seed).reset_index(drop=True)
    keep = ibis.memtable(chosen)

    def only(table: ir.Table | None) -> ir.Table | None:
        if table is None:
            return None
        return table.semi_join(keep, table.customer_id.cast("string") == keep.sampled_id)

    customers = sources.customers
    if customers is not None:
        customers = customers[customers["customer_id"].astype(str).isin(chosen["sampled_id"])]
    return (
        dataclasses.replace(
            sources,
            orders=only(sources.orders),
            events=only(sources.events),
            interactions=only(sources.interactions),
            feedback=only(sources.feedback),
            customers=customers,
        ),
        len(ids),
    )


@one_thread
def compare(
    sources: Sources,
    as_of: dt.date,
    settings: ChurnConfig,
    seed: int,
    btyd_model: str,
    time_unit: str,
    pareto_starts: int = 4,
    penalizer_retry: float = 0.001,
    first_order: dt.date | None = None,
) -> Comparison:
    """Every score measured on the same holdout customers (those who had bought by T1; above
    ``settings.fit_sample_above`` of them, a seeded sample of that many, :func:`sampled`), and the
    choice. No holdout when the history does not reach back to T0 (``first_order``) or either cut has too
    few customers, churners or customers who ordered again (the counts say which)."""
    cuts = plan_cuts(as_of, settings.window_days)
    empty = pd.DataFrame(columns=["model", "roc_auc", "pr_auc", "brier"])
    if first_order is None:
        first = _purchases(sources.orders, "customer_id", "amount").order_ts.min().execute()
        first_order = None if first is None or pd.isna(first) else pd.Timestamp(first).date()
    if first_order is None or first_order > cuts.training:
        return Comparison(
            "too_short", cuts, {}, empty, pd.DataFrame(), None, "too_short", first_order=first_order
        )
    sources, population = sampled(sources, cuts.holdout, settings.fit_sample_above, seed)
    train_labels = churn_labels(sources.orders, cuts.training, settings.window_days)
    test_labels = churn_labels(sources.orders, cuts.holdout, settings.window_days)
    counts = {"training": _counts(train_labels), "holdout": _counts(test_labels)}
    if not (enough(counts["training"], settings) and enough(counts["holdout"], settings)):
        return Comparison(
            "too_few",
            cuts,
            counts,
            empty,
            pd.DataFrame(),
            None,
            "too_few",
            first_order=first_order,
            population=population,
        )
    train = features_at(sources, cuts.training, settings.recent_days)
    test = features_at(sources, cuts.holdout, settings.recent_days)
    booster = fit_booster(train, train_labels, seed, settings.fit_sample_above)
    holdout = test.merge(test_labels, on="customer_id", how="inner")
    y = holdout["churned"].to_numpy()
    scores: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
    gb = booster.risk(holdout)
    scores[GRADIENT_BOOSTING] = (gb, gb)
    notes = []
    btyd, problem = btyd_scores(
        sources.orders,
        cuts.holdout,
        settings.window_days,
        btyd_model,
        time_unit,
        seed,
        settings.fit_sample_above,
        pareto_starts,
        penalizer_retry,
    )
    if btyd is not None:
        joined = holdout[["customer_id"]].merge(btyd, on="customer_id", how="left")
        known = joined["p_alive"].notna().to_numpy()
        if known.all():
            risk = 1.0 - joined["p_alive"].to_numpy()
            scores[P_ALIVE] = (risk, risk)
            scores[NO_PURCHASE] = (joined["p_no_purchase"].to_numpy(),) * 2
        else:
            notes.append(f"the purchase model did not score {int((~known).sum()):,} holdout customers")
    else:
        notes.append(problem)
    calibration = calibrate_recency(
        train.merge(train_labels, on="customer_id")["recency_days"].to_numpy(),
        train.merge(train_labels, on="customer_id")["churned"].to_numpy(),
    )
    days = holdout["recency_days"].to_numpy()
    scores[RECENCY] = (days, calibration.predict(days))
    rows = [{"model": m, **metrics(y, *scores[m])} for m in MODELS if m in scores]
    table = pd.DataFrame(rows)
    bins = pd.concat(
        [reliability(y, prob, settings.reliability_bins).assign(model=m) for m, (_, prob) in scores.items()],
        ignore_index=True,
    )
    chosen, reason = choose(table, settings.model)
    return Comparison(
        "ok",
        cuts,
        counts,
        table,
        bins,
        chosen,
        reason,
        importance(booster, holdout.drop(columns="churned"), test_labels, settings.importance_sample, seed),
        notes,
        test,
        test_labels,
        first_order,
        population,
    )


@one_thread
def final_scores(
    comparison: Comparison,
    sources: Sources,
    settings: ChurnConfig,
    seed: int,
    btyd_model: str,
    time_unit: str,
    pareto_starts: int = 4,
    penalizer_retry: float = 0.001,
) -> pd.DataFrame | None:
    """Per customer who had bought by as_of (sorted by id): ``churn_risk``, the chosen score refitted at
    T1 (on the holdout's features and churn) and applied at as_of, with ``churn_driver_1..n`` for the
    gradient boosting. None when nothing was chosen (no holdout)."""
    if comparison.chosen is None:
        return None
    cuts = comparison.cuts
    now = features_at(sources, cuts.as_of, settings.recent_days)
    out = now[["customer_id"]].copy()
    if comparison.chosen == GRADIENT_BOOSTING:
        booster = fit_booster(
            comparison.holdout_features, comparison.holdout_labels, seed, settings.fit_sample_above
        )
        out["churn_risk"] = booster.risk(now)
        out = out.join(local_drivers(booster, now, settings.top_drivers))
    elif comparison.chosen == RECENCY:
        known = comparison.holdout_features.merge(comparison.holdout_labels, on="customer_id")
        calibration = calibrate_recency(known["recency_days"].to_numpy(), known["churned"].to_numpy())
        out["churn_risk"] = calibration.predict(now["recency_days"].to_numpy())
    else:
        btyd, _ = btyd_scores(
            sources.orders,
            cuts.as_of,
            settings.window_days,
            btyd_model,
            time_unit,
            seed,
            settings.fit_sample_above,
            pareto_starts,
            penalizer_retry,
        )
        if btyd is None:
            return None
        column = "p_no_purchase" if comparison.chosen == NO_PURCHASE else "p_alive"
        risk = btyd[column] if column == "p_no_purchase" else 1.0 - btyd[column]
        out = out.merge(
            btyd[["customer_id"]].assign(churn_risk=risk.to_numpy()), on="customer_id", how="left"
        )
    return out.sort_values("customer_id", kind="mergesort").reset_index(drop=True)


def facts(comparison: Comparison, settings: ChurnConfig, btyd_model: str) -> dict[str, Any]:
    """The churn model product: cuts, counts, the comparison, the reliability bins, the chosen score and
    why, the global drivers (permutation importance) and how the per-customer drivers are found."""
    table = comparison.table
    auc = table.set_index("model")["roc_auc"].to_dict() if len(table) else {}
    return {
        "status": comparison.status,
        "window_days": settings.window_days,
        "training_cut": comparison.cuts.training,
        "holdout_cut": comparison.cuts.holdout,
        "as_of": comparison.cuts.as_of,
        "first_order": comparison.first_order,
        "recent_days": settings.recent_days,
        "counts": comparison.counts,
        "population": comparison.population,
        "minimums": {"customers": settings.min_customers, "churners": settings.min_churners},
        "purchase_model": btyd_model,
        "comparison": table.to_dict("records"),
        "reliability": comparison.reliability.to_dict("records"),
        "chosen": comparison.chosen,
        "reason": comparison.reason,
        "requested": settings.model,
        "chosen_roc_auc": auc.get(comparison.chosen),
        "recency_roc_auc": auc.get(RECENCY),
        "best_other": max((m for m in auc if m != RECENCY), key=lambda m: auc[m], default=None),
        "importance": None if comparison.importance is None else comparison.importance.to_dict("records"),
        "drivers_method": "typical-value substitution" if comparison.chosen == GRADIENT_BOOSTING else None,
        "notes": comparison.notes,
    }


# ------------------------------------------------------------------------------------- the page


def purchase_model_of(clv_model: dict | None, models: list[str]) -> str:
    """The purchase model stage 07 used (its product), else the first listed in clv.models."""
    used = ((clv_model or {}).get("purchase_model") or {}).get("model")
    return used or models[0]


def with_risk(scored: pd.DataFrame, risks: pd.DataFrame | None) -> pd.DataFrame:
    """The scored customers with ``churn_risk`` and its drivers (customers without: empty)."""
    if risks is None:
        return scored
    return scored.merge(risks, on="customer_id", how="left")


def score_name(model: str, language: str) -> str:
    from helpers import labels

    return labels.t(f"churn_{'recency_days' if model == RECENCY else model}", language)


def feature_name(feature: str, recent_days: int, language: str) -> str:
    from helpers import labels

    return labels.t(f"feature_{feature}", language, days=recent_days)


def comparison_for_page(facts: dict[str, Any], language: str) -> pd.DataFrame:
    """The scores compared on the holdout, in words: ROC AUC, PR AUC and Brier score (as text with three
    decimals: the differences that matter are in the second and third)."""
    rows = pd.DataFrame(facts.get("comparison") or [], columns=["model", "roc_auc", "pr_auc", "brier"])
    return pd.DataFrame(
        {
            "churn_score": [score_name(m, language) for m in rows["model"]],
            **{name: [f"{value:.3f}" for value in rows[name]] for name in ("roc_auc", "pr_auc", "brier")},
        }
    )


def importance_for_page(facts: dict[str, Any], language: str, top: int = 8) -> pd.DataFrame:
    """The gradient boosting's features by the ROC AUC lost when each is shuffled (the largest ``top``)."""
    rows = pd.DataFrame(facts.get("importance") or [], columns=["feature", "auc_drop"]).head(top)
    names = [feature_name(f, facts.get("recent_days", 90), language) for f in rows["feature"]]
    return pd.DataFrame({"churn_feature": names, "auc_drop": [f"{value:.3f}" for value in rows["auc_drop"]]})


def _day(value: dt.date | str) -> dt.date:
    """A date of the facts, as written (a date) or as read back from JSON (ISO text)."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def sentences(facts: dict[str, Any], language: str) -> list[str]:
    """What the page says about churn: why no score was judged, or how the holdout was made, which
    score predicts best and by how much, and any score that ranks worse than chance."""
    from helpers import formats, labels

    window = facts["window_days"]
    if facts["status"] == "too_short":
        return [
            labels.t(
                "churn_not_short",
                language,
                window=window,
                cut=formats.date(_day(facts["training_cut"]), language),
                end=formats.date(_day(facts["as_of"]), language),
                first=formats.date(_day(facts["first_order"]), language) if facts.get("first_order") else "-",
            )
        ]
    if facts["status"] == "too_few":
        which = min(
            facts["counts"], key=lambda k: min(facts["counts"][k]["churned"], facts["counts"][k]["stayed"])
        )
        counts = facts["counts"][which]
        return [
            labels.t(
                "churn_not_few",
                language,
                cut=formats.date(_day(facts[f"{which}_cut"]), language),
                customers=formats.count(counts["customers"]),
                churned=formats.count(counts["churned"]),
                stayed=formats.count(counts["stayed"]),
                window=window,
                min_customers=formats.count(facts["minimums"]["customers"]),
                min_churners=formats.count(facts["minimums"]["churners"]),
            )
        ]
    holdout = facts["counts"]["holdout"]
    auc = {row["model"]: row["roc_auc"] for row in facts["comparison"]}
    chosen, best = facts["chosen"], facts["best_other"]
    said = [
        labels.t(
            "churn_holdout_intro",
            language,
            window=window,
            customers=formats.count(holdout["customers"]),
            cut=formats.date(_day(facts["holdout_cut"]), language),
            churned=formats.count(holdout["churned"]),
            share=formats.share(holdout["churned"] / holdout["customers"]),
            end=formats.date(_day(facts["as_of"]), language),
        )
    ]
    if facts.get("population"):
        said.append(
            labels.t(
                "churn_sampled",
                language,
                customers=formats.count(holdout["customers"]),
                population=formats.count(facts["population"]),
                cut=formats.date(_day(facts["holdout_cut"]), language),
            )
        )
    values = {
        "recency_auc": f"{auc[RECENCY]:.3f}",
        "best": score_name(best, language) if best else "-",
        "best_auc": f"{auc[best]:.3f}" if best else "-",
    }
    if chosen == RECENCY:
        key = "churn_recency" if facts["reason"] == "recency_best" else "churn_recency_set"
        said.append(labels.t(key, language, **values))
    elif facts["reason"] == "best":
        gain = auc[chosen] - auc[RECENCY]
        sentence = labels.t("churn_best", language, **values, auc=f"{auc[chosen]:.3f}", gain=f"{gain:.3f}")
        said.append(sentence[:1].upper() + sentence[1:])
    else:
        said.append(
            labels.t(
                "churn_forced",
                language,
                **values,
                chosen=score_name(chosen, language),
                auc=f"{auc[chosen]:.3f}",
            )
        )
    for model, value in auc.items():
        if value < 0.5:
            said.append(
                labels.t(
                    "churn_worse_than_chance", language, score=score_name(model, language), auc=f"{value:.3f}"
                )
            )
    said.append(labels.t("churn_reliability", language))
    return said


def has_risk(scores: object) -> bool:
    """Whether a scores product carries a churn risk (stage 09 chose and applied a score)."""
    return (
        isinstance(scores, pd.DataFrame)
        and "churn_risk" in scores.columns
        and scores["churn_risk"].notna().any()
    )
