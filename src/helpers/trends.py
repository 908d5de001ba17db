"""Views over time and over the customers for the report: the headline figures of several periods in
one pass (the trend), cohort retention (the share of each first-order month's customers who ordered
again in each later month, also by acquisition channel) and customer contribution (the share of the
period's revenue from the best 1%, 5% and 20% of its customers, and the Pareto curve).

Order-level work is an Ibis expression (DuckDB by default); only small results come back to pandas.
"""

from __future__ import annotations

import datetime as dt
import math

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from helpers.engine import exact_sum

TOP_SHARES = (0.01, 0.05, 0.20)  # the best customers whose share of revenue the page states


def _exclusive(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time())


def period_trend(transactions: ir.Table, windows: list[tuple[str, dt.date, dt.date]]) -> pd.DataFrame:
    """Revenue (net of returns), orders, customers who ordered and average order value of each window
    (label, first day, last day), oldest first, as :func:`helpers.report.period_kpis` counts them:
    orders and customers count purchases only, the average order is gross purchases per order. One
    range join of the orders with the windows (windows may overlap)."""
    frame = pd.DataFrame(
        {
            "period": [label for label, _, _ in windows],
            "position": range(len(windows)),
            "window_start": [dt.datetime.combine(start, dt.time()) for _, start, _ in windows],
            "window_end": [_exclusive(end) for _, _, end in windows],
        }
    )
    bounds = ibis.memtable(frame)
    t = transactions
    joined = t.join(bounds, [t.order_ts >= bounds.window_start, t.order_ts < bounds.window_end])
    purchase = ~joined.is_return
    grouped = joined.group_by("position").agg(
        revenue=exact_sum(joined.amount),
        orders=joined.order_id.nunique(where=purchase),
        buyers=joined.customer_id.nunique(where=purchase),
        gross=exact_sum(joined.amount, where=purchase),
    )
    found = grouped.to_pandas().set_index("position")
    table = frame[["period", "position"]].join(found, on="position").drop(columns="position")
    table["revenue"] = table["revenue"].astype(float).fillna(0.0)
    for column in ("orders", "buyers"):
        table[column] = table[column].fillna(0).astype("int64")
    gross = table.pop("gross").astype(float)
    table["avg_order_value"] = (gross / table["orders"]).where(table["orders"] > 0)
    return table


def _month_number(ts: ir.TimestampValue) -> ir.IntegerValue:
    return ts.year().cast("int64") * 12 + ts.month().cast("int64") - 1


def _month_label(number: int) -> str:
    return f"{number // 12:04d}-{number % 12 + 1:02d}"


def customer_months(transactions: ir.Table, as_of: dt.date) -> ir.Table:
    """One row per customer and calendar month with a purchase up to ``as_of``: ``cohort`` (the month of
    the first purchase) and ``offset`` (months after it; 0 is the first month), months as numbers."""
    t = transactions.filter((transactions.order_ts < _exclusive(as_of)) & ~transactions.is_return)
    months = t.select("customer_id", month=_month_number(t.order_ts)).distinct()
    first = months.group_by("customer_id").agg(cohort=months.month.min())
    joined = months.join(first, "customer_id")
    return joined.select("customer_id", "cohort", offset=joined.month - joined.cohort)


def cohort_retention(transactions: ir.Table, as_of: dt.date, max_cohorts: int = 24) -> pd.DataFrame:
    """The retention triangle: one row per first-purchase month (the last ``max_cohorts``, labelled
    YYYY-MM), ``customers`` (the cohort's size) and one column per later month 1, 2, ... holding the
    share (0-1) of the cohort's customers with a purchase in that month; months after ``as_of`` stay
    empty (NaN), months that have passed without a purchase are 0."""
    months = customer_months(transactions, as_of)
    counts = months.group_by("cohort", "offset").agg(customers=months.count()).to_pandas()
    if counts.empty:
        return pd.DataFrame(columns=["customers"])
    grid = counts.pivot(index="cohort", columns="offset", values="customers").sort_index()
    grid = grid.iloc[-max_cohorts:]
    last = as_of.year * 12 + as_of.month - 1
    width = int(last - grid.index.min())
    sizes = grid[0].astype("int64")
    shares = grid.reindex(columns=range(1, width + 1)).div(sizes, axis=0).fillna(0.0)
    for cohort in shares.index:
        shares.loc[cohort, [k for k in shares.columns if cohort + k > last]] = np.nan
    shares.index = [_month_label(int(c)) for c in shares.index]
    shares.insert(0, "customers", sizes.to_numpy())
    return shares


def retention_by_group(
    transactions: ir.Table, groups: pd.DataFrame, column: str, as_of: dt.date, max_months: int = 24
) -> pd.DataFrame:
    """Per group (``column`` of ``groups``, e.g. the acquisition channel from the customer attributes;
    customers without one are left out) and month after the first purchase (rows 1, 2, ...): the share
    of the group's customers whose first purchase is at least that many months before ``as_of`` who
    bought in that month. Groups are columns, largest first."""
    known = groups.loc[groups[column].notna(), ["customer_id", column]].drop_duplicates("customer_id")
    if known.empty:
        return pd.DataFrame()
    months = customer_months(transactions, as_of)
    attributes = ibis.memtable(known.astype({"customer_id": str, column: str}))
    joined = months.join(attributes, "customer_id")
    last = as_of.year * 12 + as_of.month - 1
    first_months, later_months = joined.filter(joined.offset == 0), joined.filter(joined.offset > 0)
    sizes = first_months.group_by(column, "cohort").agg(customers=first_months.count())
    bought = later_months.group_by(column, "cohort", "offset").agg(buyers=later_months.count())
    sizes, bought = sizes.to_pandas(), bought.to_pandas()
    if sizes.empty:
        return pd.DataFrame()
    horizon = min(max_months, int(last - sizes["cohort"].min()))
    rows = {}
    for offset in range(1, horizon + 1):
        eligible = sizes[sizes["cohort"] + offset <= last]
        base = eligible.groupby(column)["customers"].sum()
        hits = bought[(bought["offset"] == offset) & (bought["cohort"] + offset <= last)]
        rows[offset] = (
            hits.groupby(column)["buyers"].sum().reindex(base.index, fill_value=0) / base
        ).to_dict()
    table = pd.DataFrame(rows).T
    order = sizes.groupby(column)["customers"].sum().sort_values(ascending=False, kind="mergesort").index
    table = table.reindex(columns=[g for g in order if g in table.columns])
    table.index.name = "offset"
    return table


def contribution(
    customers: pd.DataFrame, min_group_size: int = 1
) -> tuple[pd.DataFrame, pd.DataFrame, float, int]:
    """Customer contribution in the period from one row per customer (``period_orders``,
    ``period_revenue``): the customers who ordered, best first, and (1) per share in
    :data:`TOP_SHARES` the number of customers (rounded up) and the share of the period's revenue they
    brought, (2) the Pareto curve: cumulative share of customers and of revenue (0-1, at most 201
    points, each step at least ``min_group_size`` customers, so that no point tells a single customer's
    spend), (3) the period's revenue (every customer's, returns included) and (4) the customers who
    ordered. A top share of fewer than ``min_group_size`` customers has no share of revenue (NaN)."""
    buyers = customers.loc[customers["period_orders"] > 0, "period_revenue"].astype(float)
    ranked = np.sort(buyers.to_numpy())[::-1]
    total = float(customers["period_revenue"].astype(float).sum())
    n = len(ranked)
    cumulative = np.cumsum(ranked)
    rows = []
    for top in TOP_SHARES:
        count = min(n, max(1, math.ceil(top * n))) if n else 0
        revenue = float(cumulative[count - 1]) if count else 0.0
        rows.append(
            {
                "top": top,
                "customers": count,
                "revenue": revenue,
                "share_of_revenue": revenue / total if total and count >= min_group_size else float("nan"),
            }
        )
    if n:
        steps = min(n // max(min_group_size, 1), 200)
        positions = np.unique(np.linspace(0, n, steps + 1).round().astype(int)) if steps else np.array([0, n])
        curve = pd.DataFrame(
            {
                "share_of_customers": positions / n,
                "share_of_revenue": np.concatenate([[0.0], cumulative])[positions] / total
                if total
                else np.nan,
            }
        )
    else:
        curve = pd.DataFrame({"share_of_customers": [], "share_of_revenue": []})
    return pd.DataFrame(rows), curve, total, n
