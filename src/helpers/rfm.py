"""Stage 03: recency, frequency and monetary value per customer, R/F/M scores 1-5 and named segments.

Everything that touches one row per order or per customer is an Ibis expression (DuckDB by default,
the same expressions on Spark); only small results (value counts, 5x5 grids, one row per segment)
come back to pandas.

Scores. Each metric is cut at its 20/40/60/80% points (the inverted-CDF quantile: the smallest observed
value that at least k/5 of the customers do not exceed), and a customer's score is one more than the
number of cut points strictly below their value (recency reversed: 5 = most recent). The score depends
on the value only, so identical values always get identical scores. When many customers share a value
(most customers have one order), several cut points coincide and some scores are simply not used
(frequency 1 -> F 1, frequency 2 -> F 3 on CDNOW); no customer is moved across a tie to even out the bins.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pandas as pd

from helpers import io
from helpers.config import RFM_METRICS, RfmConfig, SegmentRule
from helpers.engine import exact_mean, exact_sum

QUINTILES = (1, 2, 3, 4)  # cut point k sits at k/5 of the customers
SCORE_OF_METRIC = {"recency_days": "r_score", "frequency_orders": "f_score", "monetary_total": "m_score"}
LOWER_IS_BETTER = {"recency_days"}
METRIC_MEANINGS = {
    "recency_days": "days since the last order",
    "frequency_orders": "orders (returns not counted)",
    "monetary_total": "total net spend (returns deducted)",
    "avg_order_value": "spend per order",
    "tenure_days": "days since the first order",
    "period_orders": "orders within the period",
    "period_revenue": "net spend within the period",
}
# The columns of the RFM customer table (the product), in its order.
CUSTOMER_COLUMNS = [
    "customer_id", "first_order_ts", "last_order_ts", *METRIC_MEANINGS, "r_score", "f_score", "m_score",
    "rfm_code", "segment",
]  # fmt: skip
PAGE_COLUMNS = {  # segment summary column -> heading on the page
    "segment": "segment",
    "r_range": "R",
    "f_range": "F",
    "m_range": "M",
    "customers": "customers",
    "share_of_customers_%": "% of customers",
    "revenue": "revenue",
    "share_of_revenue_%": "% of revenue",
    "mean_recency_days": "avg days since last order",
    "mean_frequency_orders": "avg orders",
    "mean_monetary_total": "avg spend",
}
SCORE_RULE = (
    "score = 1 + the number of cut points strictly below the value (recency: 5 - that number); "
    "cut point k is the smallest value that at least k/5 of the customers do not exceed"
)


def customer_metrics(
    transactions: ir.Table, period_start: dt.date, as_of: dt.date, one_row_per_order: bool = False
) -> ir.Table:
    """One row per customer: first and last purchase, recency and tenure in whole days up to
    ``as_of``, purchase orders, net spend and the period's orders and revenue.

    Returns (negative amounts) reduce the spend but are not orders: ``frequency_orders`` counts the
    distinct orders with at least one purchase row, and first/last order are purchases (for a customer
    with nothing but returns, the returns). Rows after ``as_of`` are ignored. Money is added exactly
    (:func:`helpers.engine.exact_sum`), so reruns give the same bits. With ``one_row_per_order`` (the
    cleaning fact: every row has an order id of its own) orders are counted as rows, the same numbers
    without a distinct count per customer (10M rows: 5.6 s -> 2.9 s).
    """
    as_of_exclusive = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    start = dt.datetime.combine(period_start, dt.time())
    t = transactions.filter(transactions.order_ts < as_of_exclusive)
    purchase = ~t.is_return
    in_period = t.order_ts >= start

    def orders(where: ir.BooleanValue) -> ir.IntegerValue:
        return where.sum() if one_row_per_order else t.order_id.nunique(where=where)

    per_customer = t.group_by("customer_id").agg(
        first_purchase_ts=t.order_ts.min(where=purchase),
        last_purchase_ts=t.order_ts.max(where=purchase),
        first_row_ts=t.order_ts.min(),
        last_row_ts=t.order_ts.max(),
        frequency_orders=orders(purchase),
        monetary_total=exact_sum(t.amount),
        period_orders=orders(purchase & in_period),
        period_revenue=exact_sum(t.amount, where=in_period),
    )
    as_of_date = ibis.literal(as_of, type="date")
    c = per_customer.mutate(
        first_order_ts=ibis.coalesce(per_customer.first_purchase_ts, per_customer.first_row_ts),
        last_order_ts=ibis.coalesce(per_customer.last_purchase_ts, per_customer.last_row_ts),
    )
    return c.select(
        "customer_id",
        "first_order_ts",
        "last_order_ts",
        recency_days=as_of_date.delta(c.last_order_ts.date(), unit="day"),
        frequency_orders=c.frequency_orders,
        monetary_total=c.monetary_total,
        avg_order_value=ibis.ifelse(
            c.frequency_orders > 0, c.monetary_total / c.frequency_orders, ibis.null("float64")
        ),
        tenure_days=as_of_date.delta(c.first_order_ts.date(), unit="day"),
        period_orders=c.period_orders,
        period_revenue=c.period_revenue.fill_null(0.0),
    ).order_by("customer_id")


def without_returns_only(customers: ir.Table) -> tuple[ir.Table, int]:
    """The customers of :func:`customer_metrics` with at least one purchase, and how many were left out
    because every row they have is a return (what they bought came before the data begins). With no
    order there is no recency or frequency to score, and calling them new customers would be false;
    their returns still count against revenue."""
    returns_only = int(customers.filter(customers.frequency_orders == 0).count().execute())
    return customers.filter(customers.frequency_orders > 0), returns_only


def metrics_overview(customers: ir.Table) -> pd.DataFrame:
    """Customers and the spread (mean, quartiles) of each metric, one row per metric, for the page
    (means of money by exact sums; the counts of days and orders are integers, added exactly anyway)."""
    metrics = list(METRIC_MEANINGS)
    aggregates = {}
    for metric in metrics:
        column = customers[metric]
        mean = exact_mean(column) if column.type().is_floating() else column.mean()
        aggregates.update(
            {
                f"{metric}__mean": mean,
                f"{metric}__p25": column.quantile(0.25),
                f"{metric}__median": column.quantile(0.5),
                f"{metric}__p75": column.quantile(0.75),
                f"{metric}__max": column.max(),
            }
        )
    values = customers.agg(**aggregates).to_pandas().iloc[0]
    stats = ("mean", "p25", "median", "p75", "max")
    rows = [
        {"metric": metric, "meaning": METRIC_MEANINGS[metric], **{s: values[f"{metric}__{s}"] for s in stats}}
        for metric in metrics
    ]
    return pd.DataFrame(rows).astype({s: float for s in stats})


def metric_value_counts(customers: ir.Table, metric: str) -> pd.DataFrame:
    """Distinct values of one metric and how many customers have each, ascending (the small table
    the cut points are computed from)."""
    counts = customers.group_by(metric).agg(customers=customers.count()).order_by(metric)
    frame = counts.to_pandas().rename(columns={metric: "value"})
    return frame.dropna(subset=["value"]).reset_index(drop=True)


def quintile_cut_points(value_counts: pd.DataFrame) -> list[float]:
    """The four cut points of a metric from its value counts: cut point k is the smallest value that
    at least k/5 of the customers do not exceed. Integer arithmetic, so 6 of 10 is exactly 60%.
    Empty input gives no cut points."""
    total = int(value_counts["customers"].sum())
    if total == 0:
        return []
    cumulative = value_counts["customers"].astype("int64").cumsum().to_numpy()
    values = value_counts["value"].to_numpy()
    cuts = []
    for k in QUINTILES:
        position = int((cumulative * 5 >= k * total).argmax())
        cuts.append(float(values[position]))
    return cuts


def quantile_cut_points(
    customers: ir.Table, metrics: tuple[str, ...] = RFM_METRICS
) -> dict[str, list[float]]:
    """Cut points of the metrics (recency, frequency and monetary value) from this period's customers."""
    return {metric: quintile_cut_points(metric_value_counts(customers, metric)) for metric in metrics}


NO_CYCLE_DAYS = 365.0  # the purchase cycle taken when no customer has two orders yet


def purchase_cycle_days(customers: ir.Table, min_gap_days: float) -> float:
    """The dataset's purchase cycle: the median, over the customers with two or more orders, of their
    average days between orders (first to last order over the orders after the first), never below
    ``min_gap_days``; :data:`NO_CYCLE_DAYS` when no customer has two orders. It gives the segments'
    recency bands their meaning and one-order customers their typical gap (helpers.status)."""
    repeat = customers.filter(customers.frequency_orders > 1)
    seconds = repeat.last_order_ts.epoch_seconds() - repeat.first_order_ts.epoch_seconds()
    gap = seconds / 86_400.0 / (repeat.frequency_orders - 1)
    median = repeat.agg(cycle=gap.median()).to_pandas()["cycle"].iloc[0]
    if median is None or pd.isna(median):
        return NO_CYCLE_DAYS
    return max(float(median), float(min_gap_days))


def recency_bands(rfm: RfmConfig, cycle_days: float) -> list[float]:
    """Where R 5, 4, 3 and 2 end, in days since the last order, as the segment names mean them: the
    fixed ``rfm.recency_days``, or multiples of the purchase cycle (for ``cycle`` and ``quintiles``,
    whose quintiles are checked against them on the page)."""
    if rfm.recency == "days":
        return [float(d) for d in rfm.recency_days]
    return [round(cycle_days * m, 1) for m in rfm.recency_cycles]


def resolve_cut_points(
    rfm: RfmConfig, customers: ir.Table, period: str, earlier: Path | None = None, cycle_days: float = 0.0
) -> dict:
    """The cut points to score with, and where they come from. Recency: the day bands of
    :func:`recency_bands` (``recency: cycle`` or ``days``) or, with ``recency: quintiles``, like F and
    M. Frequency and monetary value: this period's quintiles, the fixed values in params, or
    ``earlier``, the cut points an earlier period wrote (``rfm.cut_points_period``; None when that
    period has not been built). ``cycle_days`` is the purchase cycle (:func:`purchase_cycle_days`)."""
    if rfm.cut_points == "quantiles":
        cuts = quantile_cut_points(customers, rfm.fixed_metrics)
        source = f"quintiles of the {period} customers"
    elif rfm.fixed_cut_points is not None:
        cuts = {m: [float(v) for v in rfm.fixed_cut_points[m]] for m in rfm.fixed_metrics}
        source = "fixed in params (rfm.fixed_cut_points)"
    else:
        if earlier is None or not Path(earlier).is_file():
            raise FileNotFoundError(
                f"rfm.cut_points_period is {rfm.cut_points_period} but that period's cut points do not "
                f"exist; build the {rfm.cut_points_period} report first or set rfm.cut_points: quantiles."
            )
        stored = io.read_json(earlier)
        cuts, source = (
            {m: stored[m] for m in rfm.fixed_metrics},
            f"the {rfm.cut_points_period} cut points ({earlier.name})",
        )
    bands = recency_bands(rfm, cycle_days)
    if rfm.recency != "quintiles":
        cuts["recency_days"] = bands
        recency_source = (
            f"multiples {', '.join(f'{m:g}' for m in rfm.recency_cycles)} of the purchase cycle"
            if rfm.recency == "cycle"
            else "fixed day bands in params (rfm.recency_days)"
        )
        source = f"recency: {recency_source}; frequency and monetary value: {source}"
    return {
        **{m: cuts[m] for m in RFM_METRICS},
        "method": rfm.cut_points,
        "source": source,
        "period": period,
        "rule": SCORE_RULE,
        "recency": rfm.recency,
        "purchase_cycle_days": round(float(cycle_days), 2),
        "recency_bands": bands,
    }


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def cut_points_table(cut_points: dict) -> pd.DataFrame:
    """The value range behind each score of each metric, in words ("1 to 2", "above 512"), for the page."""
    rows = []
    for metric in RFM_METRICS:
        cuts = cut_points[metric]
        if not cuts:
            rows.append({"metric": metric, **{f"score {s}": "–" for s in range(1, 6)}})
            continue
        ranges = (
            [f"up to {_number(cuts[0])}"]
            + [
                (f"above {_number(low)} up to {_number(high)}" if high > low else "none (tied values)")
                for low, high in zip(cuts[:-1], cuts[1:])
            ]
            + [f"above {_number(cuts[-1])}"]
        )
        if metric in LOWER_IS_BETTER:
            ranges = ranges[::-1]  # score 1 = the longest recency
        rows.append({"metric": metric, **{f"score {s}": text for s, text in zip(range(1, 6), ranges)}})
    return pd.DataFrame(rows)


def score_expression(
    value: ir.NumericValue, cut_points: list[float], lower_is_better: bool
) -> ir.IntegerValue:
    """Score 1-5 as an engine expression: 1 + the number of cut points strictly below the value
    (reversed when lower is better). Identical values always get identical scores."""
    if not cut_points:
        return ibis.null("int64")
    above = sum((value > ibis.literal(float(cut))).cast("int64") for cut in cut_points)
    return (5 - above) if lower_is_better else (1 + above)


def segment_expression(
    r_score: ir.IntegerValue, f_score: ir.IntegerValue, m_score: ir.IntegerValue, rules: list[SegmentRule]
) -> ir.StringValue:
    """The name of the first rule whose R, F and M ranges contain the scores (an engine expression)."""
    branches = [
        (
            (
                r_score.between(*rule.r_score)
                & f_score.between(*rule.f_score)
                & m_score.between(*rule.m_score)
            ),
            rule.name,
        )
        for rule in rules
    ]
    return ibis.cases(*branches, else_=ibis.null("string"))


def score_customers(customers: ir.Table, cut_points: dict, rules: list[SegmentRule]) -> ir.Table:
    """The customer table with ``r_score``, ``f_score``, ``m_score``, ``rfm_code`` ("545") and
    ``segment``, sorted by customer id."""
    scores = {
        SCORE_OF_METRIC[m]: score_expression(customers[m], cut_points[m], m in LOWER_IS_BETTER)
        for m in RFM_METRICS
    }
    scored = customers.mutate(**scores)
    scored = scored.mutate(
        rfm_code=scored.r_score.cast("string")
        + scored.f_score.cast("string")
        + scored.m_score.cast("string"),
        segment=segment_expression(scored.r_score, scored.f_score, scored.m_score, rules),
    )
    return scored.order_by("customer_id")


def segment_of_code(code: str, rules: list[SegmentRule]) -> str | None:
    """The segment of one R-F-M code such as "545" under the rule table (first match wins)."""
    r_score, f_score, m_score = (int(c) for c in code)
    return next((rule.name for rule in rules if rule.matches(r_score, f_score, m_score)), None)


def _range_text(bounds: tuple[int, int]) -> str:
    return str(bounds[0]) if bounds[0] == bounds[1] else f"{bounds[0]}-{bounds[1]}"


def segment_summary(scored: ir.Table, rules: list[SegmentRule]) -> pd.DataFrame:
    """One row per segment in rule order (empty segments included): the rule's score ranges ("4-5"),
    customers, revenue and their shares, mean recency/frequency/monetary, and its meaning and action."""
    grouped = (
        scored.group_by("segment")
        .agg(
            customers=scored.count(),
            revenue=exact_sum(scored.monetary_total),
            period_revenue=exact_sum(scored.period_revenue),
            mean_recency_days=scored.recency_days.mean(),
            mean_frequency_orders=scored.frequency_orders.mean(),
            mean_monetary_total=exact_mean(scored.monetary_total),
        )
        .to_pandas()
        .set_index("segment")
    )
    table = pd.DataFrame(
        {
            "priority": range(1, len(rules) + 1),
            "segment": [rule.name for rule in rules],
            "r_range": [_range_text(rule.r_score) for rule in rules],
            "f_range": [_range_text(rule.f_score) for rule in rules],
            "m_range": [_range_text(rule.m_score) for rule in rules],
        }
    )
    table = table.join(grouped, on="segment")
    table["customers"] = table["customers"].fillna(0).astype("int64")
    for column in ("revenue", "period_revenue"):
        table[column] = table[column].fillna(0.0).astype(float)
    total_customers, total_revenue = table["customers"].sum(), table["revenue"].sum()
    table.insert(
        table.columns.get_loc("customers") + 1,
        "share_of_customers_%",
        100.0 * table["customers"] / total_customers if total_customers else 0.0,
    )
    table.insert(
        table.columns.get_loc("revenue") + 1,
        "share_of_revenue_%",
        100.0 * table["revenue"] / total_revenue if total_revenue else 0.0,
    )
    table["meaning"] = [rule.meaning for rule in rules]
    table["action"] = [rule.action for rule in rules]
    return table.astype(
        {c: float for c in ("mean_recency_days", "mean_frequency_orders", "mean_monetary_total")}
    )


def rf_grid(scored: ir.Table, statistic: str) -> pd.DataFrame:
    """A 5x5 grid of R score (rows, 5 = most recent on top) by F score (columns): ``customers`` (count)
    or ``mean_monetary_total``; empty cells are 0 customers and NaN means."""
    if statistic not in ("customers", "mean_monetary_total"):
        raise ValueError(f"statistic must be 'customers' or 'mean_monetary_total', not {statistic!r}")
    cells = (
        scored.group_by("r_score", "f_score")
        .agg(customers=scored.count(), mean_monetary_total=exact_mean(scored.monetary_total))
        .to_pandas()
    )
    grid = cells.pivot(index="r_score", columns="f_score", values=statistic) if len(cells) else pd.DataFrame()
    grid = grid.reindex(index=[5, 4, 3, 2, 1], columns=[1, 2, 3, 4, 5]).astype(float)
    if statistic == "customers":
        grid = grid.fillna(0.0)
    grid.index.name, grid.columns.name = "R score", "F score"
    return grid


def segment_guide(summary: pd.DataFrame) -> str:
    """One line per segment for the page (Markdown): its size, what it means and what to do."""
    lines = []
    for row in summary.to_dict("records"):
        people = "customer" if row["customers"] == 1 else "customers"
        size = (
            f"{row['customers']:,} {people}, {row['share_of_customers_%']:.1f}% of customers and "
            f"{row['share_of_revenue_%']:.1f}% of revenue"
            if row["customers"]
            else "no customers this period"
        )
        lines.append(f"- **{row['segment']}** ({size}). {row['meaning']} *What to do:* {row['action']}")
    return "\n".join(lines)


def summary_for_page(summary: pd.DataFrame) -> pd.DataFrame:
    """The segment summary with short readable headings and without the long sentences (those are
    listed separately)."""
    return summary[list(PAGE_COLUMNS)].rename(columns=PAGE_COLUMNS)


def recency_claim(r_score: tuple[int, int], bands: list[float]) -> tuple[float, float]:
    """The days since the last order that a segment's R range promises, as (lowest, highest): R 5 is
    0 to the first band, R 4 up to the second, ..., R 1 beyond the fourth (highest: infinity)."""
    low_score, high_score = r_score
    lowest = 0.0 if high_score == 5 else float(bands[4 - high_score])
    highest = float("inf") if low_score == 1 else float(bands[5 - low_score])
    return lowest, highest


def segment_medians(scored: ir.Table) -> pd.DataFrame:
    """Per segment: customers and the medians of days since the last order, orders and total spend
    (an engine query; one row per segment comes back)."""
    medians = scored.group_by("segment").agg(
        customers=scored.count(),
        median_recency_days=scored.recency_days.median(),
        median_frequency_orders=scored.frequency_orders.median(),
        median_monetary_total=scored.monetary_total.median(),
    )
    frame = medians.to_pandas().set_index("segment")
    return frame.astype({"customers": "int64", **{c: float for c in frame.columns if c != "customers"}})


def segment_truth(medians: pd.DataFrame, rules: list[SegmentRule], bands: list[float]) -> pd.DataFrame:
    """Does each segment's name tell the truth? Per segment with customers (``medians`` of
    :func:`segment_medians`), in rule order: the days since the last order its R range promises
    (:func:`recency_claim` on the recency bands the names mean), its customers' medians of recency,
    orders and spend, and ``ok``: whether the median recency lies within the promise. ``direction``
    says which way a flagged median misses: +1 older than promised, -1 more recent than promised."""
    rows = []
    for rule in rules:
        if rule.name not in medians.index or not medians.loc[rule.name, "customers"]:
            continue
        lowest, highest = recency_claim(rule.r_score, bands)
        median = float(medians.loc[rule.name, "median_recency_days"])
        too_old, too_recent = median > highest, lowest > 0 and median <= lowest
        rows.append(
            {
                "segment": rule.name,
                "claim_low_days": lowest,
                "claim_high_days": highest,
                **medians.loc[rule.name].to_dict(),
                "ok": not (too_old or too_recent),
                "direction": 1 if too_old else -1 if too_recent else 0,
            }
        )
    columns = [
        "segment",
        "claim_low_days",
        "claim_high_days",
        "customers",
        "median_recency_days",
        "median_frequency_orders",
        "median_monetary_total",
        "ok",
        "direction",
    ]
    return pd.DataFrame(rows, columns=columns).astype({"customers": "int64"})
