"""Stage 09: a weighted customer score 0-100, tiers, the two indicators behind each score, every
customer's status (the one vocabulary of helpers.status), and the churn warning (the customers at risk
or lapsed, largest value at stake first).

Customer-level work on a table that is small by construction (one row per customer), in pandas.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from helpers import status
from helpers.config import ScoringConfig, StatusConfig
from helpers.io import join_by_id, largest_first

CLV_INDICATORS = ["p_alive", "expected_purchases", "clv"]  # lifetime-value columns a score may weigh


def indicator_table(
    rfm: pd.DataFrame,
    clv: pd.DataFrame | None,
    others: dict[str, pd.DataFrame | None] | None = None,
    weights: dict[str, float] | None = None,
) -> pd.DataFrame:
    """The RFM customer table with the lifetime-value columns a score may weigh (``p_alive``,
    ``expected_purchases``, ``clv``) when the CLV stage ran (a customer it did not value, only returns,
    has them empty), and the ``<product>.<column>`` indicators of ``weights`` from the other per-customer
    products in ``others`` (engagement, voice, customers; a customer a product does not list has them
    empty)."""
    table = rfm
    if clv is not None:
        table = join_by_id(
            table, clv, [c for c in CLV_INDICATORS if c in clv.columns and c not in rfm.columns]
        )
    for name in weights or {}:
        product, _, column = name.partition(".")
        frame = (others or {}).get(product) if column else None
        if frame is None:
            continue
        if column not in frame.columns:
            raise KeyError(
                f"scoring.source_weights names {name}, but the {product} product has no column {column}; "
                f"use one of {sorted(c for c in frame.columns if frame[c].dtype.kind in 'ifb')}."
            )
        values = frame.drop_duplicates("customer_id").set_index("customer_id")[column].astype(float)
        table = table.assign(**{name: table["customer_id"].map(values).to_numpy()})
    return table


def effective_weights(scoring: ScoringConfig, products: set[str] | dict[str, object]) -> dict[str, float]:
    """The score's weights for a dataset with these per-customer ``products`` (names, or name -> frame):
    ``scoring.weights``, and the ``source_weights`` of the products it has (given frames: whose column
    the product holds, e.g. no latest NPS without survey answers), the former shrunk in proportion to
    make room (an orders-only dataset: ``scoring.weights`` as they are)."""

    def present(name: str) -> bool:
        product, _, column = name.partition(".")
        if isinstance(products, dict):
            frame = products.get(product)
            return frame is not None and column in getattr(frame, "columns", [])
        return product in products

    added = {name: w for name, w in scoring.source_weights.items() if present(name)}
    room = 1.0 - sum(added.values())
    return {**{name: w * room for name, w in scoring.weights.items()}, **added}


def percentile_rank(values: pd.Series, lower_is_better: bool = False) -> pd.Series:
    """0 for the worst value, 1 for the best, evenly spaced by rank; ties share their average rank
    (so equal values always get equal scores). A single customer, or all equal, gets 0.5."""
    ranks = (-values if lower_is_better else values).rank(method="average")
    count = values.notna().sum()
    if count <= 1 or values.nunique() <= 1:
        return pd.Series(0.5, index=values.index).where(values.notna())
    return (ranks - 1) / (count - 1)


def indicator_ranks(
    customers: pd.DataFrame, scoring: ScoringConfig, weights: dict[str, float] | None = None
) -> pd.DataFrame:
    """One percentile-rank column per weighted indicator (``weights``, default ``scoring.weights``). A
    customer without a value ranks as the median customer (``scoring.missing: median``: the median's
    value is put in before ranking, so they tie with it) or as the worst, 0 (``worst``)."""
    weights = scoring.weights if weights is None else weights
    missing = [name for name in weights if name not in customers.columns]
    if missing:
        raise KeyError(
            f"scoring.weights names {missing}, which are not columns of the customer table; "
            f"use some of {sorted(c for c in customers.columns if customers[c].dtype.kind in 'if')}."
        )
    ranks = {}
    for name in weights:
        values = customers[name].astype(float)
        if scoring.missing == "median" and values.notna().any():
            values = values.fillna(values.median())
        ranks[name] = percentile_rank(values, name in scoring.lower_is_better).fillna(0.0)
    return pd.DataFrame(ranks, index=customers.index)


def weighted_score(ranks: pd.DataFrame, weights: dict[str, float]) -> pd.Series:
    """100 x the weighted mean of the indicator ranks: 0 = worst on every indicator, 100 = best."""
    return 100.0 * sum(ranks[name] * weight for name, weight in weights.items())


def assign_tier(score: pd.Series, tiers: dict[str, float]) -> pd.Series:
    """The best tier whose minimum score the customer reaches (a score exactly on a cut point is in
    the higher tier)."""
    names, minimums = list(tiers), np.array(list(tiers.values()))
    # Minimums decrease and the last is 0: the tier is the first whose minimum the score reaches.
    first_reached = np.argmax(score.to_numpy()[:, None] >= minimums[None, :], axis=1)
    tier = np.array(names, dtype=object)[first_reached]
    return pd.Series(tier, index=score.index, dtype=object)


def top_drivers(ranks: pd.DataFrame, weights: dict[str, float], how_many: int = 2) -> pd.DataFrame:
    """Per customer, the indicators that contributed most points to the score, largest first (ties:
    the order of the weights in params)."""
    points = pd.DataFrame({name: 100.0 * ranks[name] * weight for name, weight in weights.items()})
    order = np.argsort(-points.to_numpy(), axis=1, kind="stable")[:, :how_many]
    names = np.array(list(weights))[order]
    return pd.DataFrame({f"driver_{i + 1}": names[:, i] for i in range(how_many)}, index=ranks.index)


def score_customers(
    customers: pd.DataFrame,
    scoring: ScoringConfig,
    rules: StatusConfig,
    period_start: dt.date,
    cycle_days: float,
    use_p_alive: bool = True,
    weights: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Every customer with score, tier, the two main drivers and status (:func:`helpers.status.assign`;
    with ``use_p_alive`` False, a purchase model's P(alive) is left out of the statuses),
    in the order given (the RFM product's: by id, the order the clusters and the scores product share;
    ranked lists are taken with :func:`priority_list`). Sorting 1M customers best-first had cost 1.4 s,
    and joining the clusters to that order another 1.5 s. ``weights``: :func:`effective_weights`
    (default ``scoring.weights``)."""
    weights = scoring.weights if weights is None else weights
    ranks = indicator_ranks(customers, scoring, weights)
    by_days = customers if use_p_alive else customers.drop(columns="p_alive", errors="ignore")
    enriched = status.assign(by_days, rules, period_start, cycle_days)
    if not use_p_alive and "p_alive" in customers.columns:
        enriched = enriched.assign(p_alive=customers["p_alive"].to_numpy())
    scored = enriched.assign(score=weighted_score(ranks, weights).round(2))
    scored["tier"] = assign_tier(scored["score"], scoring.tiers)
    scored = scored.join(top_drivers(ranks, weights))
    return scored.reset_index(drop=True)


def churn_warning(scored: pd.DataFrame, statuses: list[str], use_model: bool = True) -> pd.DataFrame:
    """Every customer whose status is one of ``statuses`` (params: status.churn_warning), with the value
    at stake (:func:`helpers.status.value_at_stake`; with ``use_model`` False, from the customer's own
    pace and spend instead of a degenerated model's values), largest first (ties by id)."""
    warned = scored[scored["status"].isin(statuses)]
    warned = warned.assign(value_at_stake=status.value_at_stake(warned, use_model))
    return largest_first(warned, "value_at_stake").reset_index(drop=True)


def tier_summary(scored: pd.DataFrame, tiers: dict[str, float]) -> pd.DataFrame:
    """Customers and revenue share per tier, best tier first."""
    rated = scored[scored["tier"].notna()]
    total_revenue = rated["monetary_total"].sum()
    summary = rated.groupby("tier").agg(
        customers=("customer_id", "size"), revenue=("monetary_total", "sum"), mean_score=("score", "mean")
    )
    summary = summary.reindex(list(tiers)).fillna(0)
    summary["customers"] = summary["customers"].astype(int)
    summary["customer_share_%"] = (100 * summary["customers"] / max(len(rated), 1)).round(1)
    summary["revenue_share_%"] = (100 * summary["revenue"] / total_revenue).round(1) if total_revenue else 0.0
    return summary.reset_index().rename(columns={"index": "tier"})


def tier_rules_in_words(scoring: ScoringConfig) -> list[str]:
    """One readable line per tier, for the page."""
    return [f"tier {name}: score of at least {minimum:g}" for name, minimum in scoring.tiers.items()]


def score_facts(scoring: ScoringConfig, weights: dict[str, float]) -> dict:
    """What the page says of how the score was built: the weights used, the lower-is-better
    indicators among them, the rule for missing values."""
    return {
        "weights": weights,
        "lower_is_better": [name for name in scoring.lower_is_better if name in weights],
        "missing": scoring.missing,
    }


def weights_table(scoring: ScoringConfig, weights: dict[str, float] | None = None) -> pd.DataFrame:
    """The indicators, their weights (``weights``, default ``scoring.weights``) and which direction counts
    as better, for the page."""
    weights = scoring.weights if weights is None else weights
    return pd.DataFrame(
        [
            {
                "indicator": name,
                "weight": weight,
                "better when": "lower" if name in scoring.lower_is_better else "higher",
            }
            for name, weight in weights.items()
        ]
    )


def with_clusters(scored: pd.DataFrame, clusters: pd.DataFrame | None) -> pd.DataFrame:
    """Attach each customer's cluster name (when clustering ran), for the cross-tables."""
    if clusters is None:
        return scored
    return join_by_id(scored, clusters, ["cluster_name"])


def tier_crosstab(scored: pd.DataFrame, column: str, tiers: dict[str, float]) -> pd.DataFrame:
    """Customers per tier (rows, best first) and value of ``column`` (segment, cluster, stage)."""
    rated = scored[scored["tier"].notna()]
    return pd.crosstab(rated["tier"], rated[column]).reindex(list(tiers), fill_value=0)


def priority_list(scored: pd.DataFrame, top_n: int | None = None, by: str | None = None) -> pd.DataFrame:
    """The scored customers with the facts a salesperson needs (ids and metrics only), the largest
    ``by`` first (ties by id) or, without ``by``, in the frame's own order (the churn warning's);
    the first ``top_n`` only when given."""
    columns = [
        c
        for c in [
            "customer_id",
            "score",
            "tier",
            "driver_1",
            "driver_2",
            "segment",
            "status",
            "frequency_orders",
            "monetary_total",
            "recency_days",
            "value_at_stake",
            "churn_risk",
        ]
        if c in scored.columns
    ]
    if by is not None:
        scored = largest_first(scored, by, top_n)  # unscored customers (no tier) sort last, then drop out
    rated = scored[scored["tier"].notna()][columns]
    return rated.head(top_n) if top_n else rated


SCORE_PRODUCT_COLUMNS = [
    "customer_id",
    "score",
    "tier",
    "driver_1",
    "driver_2",
    "status",
    "known_from",
    "typical_gap_days",
    "first_order_in_period",
    "churn_risk",  # stage 09's validated churn score (helpers.churn), with its drivers
    "churn_driver_1",
    "churn_driver_2",
]


def scores_product(scored: pd.DataFrame) -> pd.DataFrame:
    """The columns of the scores product (the RFM metrics stay in the RFM product)."""
    return scored[[c for c in SCORE_PRODUCT_COLUMNS if c in scored.columns]]
