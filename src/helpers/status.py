"""The one customer-status vocabulary (:data:`helpers.config.STATUSES`: potential, new, active, at risk,
lapsed, churned) and its rules (:class:`helpers.config.StatusConfig`): every stage, page, chart and
export takes a customer's status from :func:`assign`, so one word counts the same customers
everywhere. Also the customer's typical gap between orders, the value at stake when a customer leaves,
the counts per status and the flow of customers between the statuses of two periods.

Customer-level work on one row per customer, in pandas.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from helpers import formats, labels
from helpers.config import STATUSES, StatusConfig

NOT_YET = "(not yet a customer)"  # flow: customers who were not customers in the compared period
GONE = "(no longer in the data)"  # flow: customers of the compared period whose orders were removed


def typical_gaps(
    customers: pd.DataFrame, cycle_days: float, min_gap_days: float, orders: str = "frequency_orders"
) -> pd.Series:
    """Each customer's usual days between orders: their own average gap (first to last order over the
    orders after the first) with two or more orders, else the dataset's purchase cycle; never shorter
    than ``min_gap_days``."""
    first = pd.to_datetime(customers["first_order_ts"])
    last = pd.to_datetime(customers["last_order_ts"])
    count = customers[orders].astype(float)
    own = ((last - first).dt.total_seconds() / 86_400) / (count - 1)
    return own.where(count > 1).fillna(cycle_days).clip(lower=min_gap_days).astype(float)


def assign(
    customers: pd.DataFrame, rules: StatusConfig, period_start: dt.date, cycle_days: float
) -> pd.DataFrame:
    """``typical_gap_days``, ``first_order_in_period`` and ``status`` for customers with orders
    (``first_order_ts``, ``last_order_ts``, ``recency_days``, ``frequency_orders`` and, where a purchase
    model was fitted, ``p_alive``). The rules, first that holds wins: new (first order in the period),
    churned (no order for more than ``churned_after_days``, or P(alive) below
    ``churned_below_p_alive``), active (last order within ``active_within_gaps`` typical gaps), at risk
    (within ``at_risk_within_gaps``), lapsed (everyone else)."""
    gaps = typical_gaps(customers, cycle_days, rules.min_gap_days)
    days = customers["recency_days"].astype(float)
    first_in_period = pd.to_datetime(customers["first_order_ts"]) >= pd.Timestamp(period_start)
    churned = days > rules.churned_after_days
    if rules.churned_below_p_alive is not None and "p_alive" in customers.columns:
        churned |= customers["p_alive"].astype(float).lt(rules.churned_below_p_alive).fillna(False)
    conditions = [
        first_in_period.to_numpy(),
        churned.to_numpy(),
        (days <= rules.active_within_gaps * gaps).to_numpy(),
        (days <= rules.at_risk_within_gaps * gaps).to_numpy(),
    ]
    status = np.select(conditions, ["new", "churned", "active", "at risk"], default="lapsed")
    return customers.assign(
        typical_gap_days=gaps.to_numpy(),
        first_order_in_period=first_in_period.to_numpy(),
        status=pd.array(status, dtype=object),
    )


def p_alive_trusted(model: dict | None) -> bool:
    """Whether the statuses may use the purchase model's P(alive) (the CLV stage's model product):
    it valued the customers and no parameter of the purchase model ran to the edge of its range. A
    degenerated model's P(alive) says little (all near 1, or a few near 0 for no visible reason), so
    the statuses then follow the days since the last order only."""
    if not model or model.get("status") != "ok":
        return False
    return not (model.get("purchase_model") or {}).get("at_bound")


# The sources besides the orders that make a customer known, in the order the first one naming a
# customer is reported: registered customers, won sales leads, identified visitors (events, stitched),
# contacts and feedback.
KNOWN_FROM = ("customers", "leads", "events", "interactions", "feedback")


def known_customers(sources: dict[str, object]) -> pd.DataFrame:
    """Every customer id a source other than the orders names (``customer_id``, ``known_from``: the
    first source of :data:`KNOWN_FROM` naming it), sorted by id. A source is a pandas frame or an engine
    table (reduced to its distinct ids in the engine: the events can be billions of rows) or None."""
    parts = []
    for kind in KNOWN_FROM:
        table = sources.get(kind)
        if table is None:
            continue
        if isinstance(table, pd.DataFrame):
            ids = table["customer_id"].dropna().drop_duplicates()
        else:
            named = table.filter(table.customer_id.notnull()).select("customer_id").distinct()
            ids = named.to_pandas()["customer_id"]
        parts.append(pd.DataFrame({"customer_id": ids.to_numpy(dtype=object), "known_from": kind}))
    if not parts:
        return pd.DataFrame({"customer_id": pd.Series(dtype=object), "known_from": pd.Series(dtype=object)})
    known = pd.concat(parts, ignore_index=True).drop_duplicates("customer_id", keep="first")
    return known.sort_values("customer_id", kind="stable").reset_index(drop=True)


def add_potential(scored: pd.DataFrame, known: pd.DataFrame | None) -> pd.DataFrame:
    """Customers known from a source other than the orders (:func:`known_customers`; a frame with only
    ``customer_id`` counts as the customer attributes) without any order get the status 'potential',
    no score, and where they are known from; every known customer then has exactly one status."""
    if known is None or known.empty:
        return scored
    if "known_from" not in known.columns:
        known = known[["customer_id"]].assign(known_from="customers")
    new = known.loc[~known["customer_id"].isin(scored["customer_id"]), ["customer_id", "known_from"]]
    potential = new.drop_duplicates("customer_id").assign(status="potential")
    return pd.concat([scored, potential], ignore_index=True)


def potential_sources(scored: pd.DataFrame) -> list[str]:
    """The sources (in :data:`KNOWN_FROM` order) that made this period's potential customers known."""
    if "known_from" not in scored.columns:
        return []
    found = set(scored.loc[scored["status"] == "potential", "known_from"].dropna())
    return [kind for kind in KNOWN_FROM if kind in found]


def counts(statuses: pd.Series, rules: dict[str, str] | None = None) -> pd.DataFrame:
    """Customers per status in the vocabulary's order, with their share of all customers (and each
    status's rule in words, from :func:`rules_in_words`, when given); 'potential' only when there are
    such customers (it exists once customers are known before they buy)."""
    found = statuses.value_counts()
    order = [s for s in STATUSES if s != "potential" or found.get("potential", 0) > 0]
    customers = found.reindex(order, fill_value=0).astype("int64")
    total = int(customers.sum())
    table = pd.DataFrame(
        {
            "status": order,
            "customers": customers.to_numpy(),
            "share_of_customers": customers.to_numpy() / total if total else np.zeros(len(order)),
        }
    )
    return table.assign(rule=[rules[s] for s in order]) if rules is not None else table


def count_of(statuses: pd.Series | None) -> dict[str, int]:
    """Customers per status word (every word of the vocabulary, 0 where none); {} without statuses."""
    if statuses is None:
        return {}
    found = statuses.value_counts()
    return {word: int(found.get(word, 0)) for word in STATUSES}


def value_at_stake(customers: pd.DataFrame, use_model: bool = True) -> pd.Series:
    """Expected value lost if the customer leaves, never below 0.

    Where the purchase model valued the customer (``clv``, ``p_alive``): the expected value over the
    CLV horizon times the chance that the customer has already left, ``clv x (1 - p_alive)``. Else (no
    model, or a customer it did not value): a year of spend at the customer's usual pace,
    ``avg_order_value x 365 / typical_gap_days``, capped at what the customer has spent per year so
    far, ``monetary_total x 365 / max(tenure_days, 365)`` (a customer of less than a year: their whole
    spend). The cap keeps one small order from looking like thousands a year.

    Where stage 09's churn model gave a ``churn_risk`` (the score that predicted churn best on its
    holdout, helpers.churn), that value (the CLV, or else the year of spend) times the churn risk.

    With ``use_model`` False (a degenerated purchase model, :func:`p_alive_trusted`), the model's
    ``clv`` and ``p_alive`` are left out: the year of spend, times the churn risk where there is one.
    Stage 09's churn warning and the page's table by status both take the stakes from here."""
    if not use_model:
        customers = customers.drop(columns=["clv", "p_alive"], errors="ignore")
    pace = customers["avg_order_value"].astype(float) * 365.0 / customers["typical_gap_days"].astype(float)
    per_year = customers["monetary_total"].astype(float) * 365.0 / customers["tenure_days"].clip(lower=365)
    fallback = np.minimum(pace, per_year)
    modelled = None
    if "clv" in customers.columns and "p_alive" in customers.columns:
        modelled = customers["clv"].astype(float) * (1.0 - customers["p_alive"].astype(float))
        value = modelled.where(modelled.notna(), fallback)
    else:
        value = fallback
    if "churn_risk" in customers.columns:
        risk = customers["churn_risk"].astype(float)
        base = (
            customers["clv"].astype(float).where(modelled.notna(), fallback)
            if modelled is not None
            else fallback
        )
        value = (base * risk).where(risk.notna(), value)
    return value.fillna(0.0).clip(lower=0.0).round(2)


def flow(previous: pd.DataFrame | None, current: pd.DataFrame) -> pd.DataFrame:
    """Customers by status in the compared period (rows) and now (columns), in the vocabulary's order.
    Customers who were not customers then form the row :data:`NOT_YET`; customers of the compared
    period missing now (their orders removed from the data) the column :data:`GONE`."""
    previous = (
        previous[["customer_id", "status"]]
        if previous is not None
        else pd.DataFrame({"customer_id": pd.Series(dtype=object), "status": pd.Series(dtype=object)})
    )
    merged = previous.merge(current[["customer_id", "status"]], on="customer_id", how="outer")
    before = merged["status_x"].astype(object).where(merged["status_x"].notna(), NOT_YET)
    now = merged["status_y"].astype(object).where(merged["status_y"].notna(), GONE)
    table = pd.crosstab(before, now)
    rows = [s for s in STATUSES if s in table.index] + ([NOT_YET] if NOT_YET in table.index else [])
    columns = [s for s in STATUSES if s in table.columns] + ([GONE] if GONE in table.columns else [])
    table = table.reindex(index=rows, columns=columns, fill_value=0)
    table.index.name, table.columns.name = "before", "now"
    return table


def biggest_moves(table: pd.DataFrame, how_many: int = 3) -> list[tuple[int, int, str, str]]:
    """The largest flows between two different statuses of customers known in both periods: (count,
    customers of the status before, status before, status now), largest first."""
    moves = []
    for before in table.index:
        if before == NOT_YET:
            continue
        total = int(table.loc[before].sum())
        for now in table.columns:
            count = int(table.loc[before, now])
            if count and now != before and now != GONE:
                moves.append((count, total, before, now))
    moves.sort(key=lambda m: (-m[0], STATUSES.index(m[2]), STATUSES.index(m[3])))
    return moves[:how_many]


def rules_in_words(
    rules: StatusConfig, has_model: bool, language: str, known_from: list[str] | None = None
) -> dict[str, str]:
    """Each status's rule as a sentence for the page, in the vocabulary's order; ``known_from``: the
    sources that made the potential customers known (:func:`potential_sources`; default: the customer
    records)."""
    days = formats.days(rules.churned_after_days, language)
    churned = (
        labels.t(
            "status_rule_churned_model", language, days=days, p=formats.share(rules.churned_below_p_alive, 0)
        )
        if has_model and rules.churned_below_p_alive is not None
        else labels.t("status_rule_churned_days", language, days=days)
    )
    return {
        "potential": (
            labels.t(
                "status_rule_potential_from",
                language,
                sources=labels.join(
                    [labels.t(f"known_{kind}", language) for kind in known_from], language
                ).replace(labels.t("and", language), labels.t("or", language)),
            )
            if known_from and known_from != ["customers"]
            else labels.t("status_rule_potential", language)
        ),
        "new": labels.t("status_rule_new", language),
        "active": labels.t("status_rule_active", language, gaps=f"{rules.active_within_gaps:g}"),
        "at risk": labels.t(
            "status_rule_at_risk",
            language,
            low=f"{rules.active_within_gaps:g}",
            high=f"{rules.at_risk_within_gaps:g}",
        ),
        "lapsed": labels.t("status_rule_lapsed", language, gaps=f"{rules.at_risk_within_gaps:g}"),
        "churned": churned,
    }
