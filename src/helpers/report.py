"""Stage 10: the numbers behind the customer report: the period's headline figures and their change
since the compared period, the trend over the dataset's built periods, the customer statuses and their
flow, segments (with the check that their names tell the truth) and their migration, clusters in plain
units, lifetime value, the lists to act on, cohort retention, customer contribution, data quality, the
method notes, and the CSV/XLSX exports with their data dictionary.

Words come from helpers.labels and numbers are written by helpers.formats, in the report's language and
the dataset's currency; helpers.page turns the frames built here into the page's HTML.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import BinaryIO

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from helpers import formats, io, labels, status, trends
from helpers.catalog import REPORT_STAGE, StageRun
from helpers.catalog import stage as catalog_stage
from helpers.clv.models import MODEL_LABELS
from helpers.config import STATUSES, Params, load_params
from helpers.engine import exact_sum
from helpers.io import ids_increasing, join_by_id, largest_first
from helpers.privacy.encryption import ENCRYPTED_SUFFIX

NEW_ROW = "(new customer)"
GONE_COLUMN = "(not in this period)"


def period_kpis(transactions: ir.Table, period_start: dt.date, period_end: dt.date) -> dict[str, float]:
    """Headline numbers of one period from the clean transactions (orders after the period end are
    ignored, so a later period's table gives an earlier period's numbers as they were).

    buyers are the customers who ordered (a purchase) in the window; revenue is net of returns;
    average order value is purchases only; the repeat-purchase rate is the share of all customers to
    date with two or more orders. (How many customers are new, active, at risk, ... is their status,
    counted from helpers.status only.)
    """
    return periods_kpis(transactions, [(period_start, period_end)])[0]


def periods_kpis(transactions: ir.Table, windows: list[tuple[dt.date, dt.date]]) -> list[dict[str, float]]:
    """:func:`period_kpis` of several periods (start, end) in one pass over the history per customer
    and one over the windows (10M orders, this period and the previous one: 4.6 s -> 3.9 s). A customer
    has two or more orders when their smallest and largest order ids differ: no distinct count per
    customer."""
    bounds = [
        (dt.datetime.combine(start, dt.time()), dt.datetime.combine(end + dt.timedelta(days=1), dt.time()))
        for start, end in windows
    ]
    t = transactions.filter(transactions.order_ts < max(end for _, end in bounds))
    purchase = ~t.is_return
    per_customer, people, sales = {}, {}, {}
    for i, (start, end) in enumerate(bounds):
        seen = purchase & (t.order_ts < end)  # the history as it stood at this period's end
        per_customer.update(
            {
                f"first_{i}": t.order_ts.min(where=seen),
                f"low_{i}": t.order_id.min(where=seen),
                f"high_{i}": t.order_id.max(where=seen),
                f"now_{i}": (seen & (t.order_ts >= start)).any(),
            }
        )
        in_window = (t.order_ts >= start) & (t.order_ts < end)
        sales.update(
            {
                f"revenue_{i}": exact_sum(t.amount, where=in_window),
                f"orders_{i}": t.order_id.nunique(where=in_window & purchase),
                f"gross_{i}": exact_sum(t.amount, where=in_window & purchase),
            }
        )
    customers = t.group_by("customer_id").agg(**per_customer)
    for i in range(len(bounds)):
        bought_now = customers[f"now_{i}"].fill_null(False)
        people.update(
            {
                f"customers_{i}": customers[f"first_{i}"].count(),
                f"repeaters_{i}": (customers[f"low_{i}"] < customers[f"high_{i}"]).sum(),
                f"buyers_{i}": bought_now.sum(),
            }
        )
    people = customers.agg(**people).execute().iloc[0]
    window = t.filter(t.order_ts >= min(start for start, _ in bounds))
    sales = window.agg(**sales).execute().iloc[0]
    results = []
    for i in range(len(bounds)):
        orders, to_date = int(sales[f"orders_{i}"] or 0), int(people[f"customers_{i}"] or 0)
        results.append(
            {
                "buyers": int(people[f"buyers_{i}"] or 0),
                "revenue": 0.0 if pd.isna(sales[f"revenue_{i}"]) else float(sales[f"revenue_{i}"]),
                "orders": orders,
                "avg_order_value": float(sales[f"gross_{i}"]) / orders if orders else float("nan"),
                "repeat_purchase_rate": float(people[f"repeaters_{i}"] or 0) / to_date
                if to_date
                else float("nan"),
                "customers_to_date": to_date,
            }
        )
    return results


# The headline figures: key, label (helpers.labels), kind (helpers.formats), which way is good.
KPIS = [
    ("revenue", "kpi_revenue", "money", 1),
    ("orders", "kpi_orders", "count", 1),
    ("buyers", "kpi_buyers", "count", 1),
    ("avg_order_value", "kpi_avg_order_value", "money", 1),
    ("repeat_purchase_rate", "kpi_repeat_purchase_rate", "share", 1),
    ("expected_clv", "kpi_expected_clv", "money", 1),
]
STATUS_GOOD = {"potential": 0, "new": 1, "active": 1, "at risk": -1, "lapsed": -1, "churned": -1}
TREND_COLUMNS = ("revenue", "orders", "buyers", "avg_order_value")  # recomputed from the orders


def clv_total(clv: pd.DataFrame | None) -> float | None:
    """The expected value of every customer the purchase model valued (None without a model)."""
    if clv is None or not clv["clv"].notna().any():
        return None
    return float(clv["clv"].sum())


def period_figures(
    transactions: ir.Table, params: Params, compared: Params | None
) -> tuple[dict[str, float], dict[str, float] | None]:
    """This period's transaction figures and the compared period's (None without one), from the same
    orders so that both are computed the same way."""
    windows = [(params.period_start, params.period_end)]
    if compared is not None:
        windows.append((compared.period_start, compared.period_end))
    figures = periods_kpis(transactions, windows)
    return figures[0], (figures[1] if compared is not None else None)


def no_orders_sentences(figures: dict[str, float], quality: dict, params: Params) -> list[str]:
    """When nobody ordered in the period although the data holds earlier orders (a quiet month, a shop
    closed for a holiday), the page says so first, with the last order before it and whether the data
    goes on after it; nothing when there were orders. (A period after the last order of the data never
    gets this far: cleaning stops it, naming that order.)"""
    if figures.get("orders", 0) > 0 or not quality.get("last_order_ts"):
        return []
    language = params.report.language
    last = dt.datetime.fromisoformat(quality["last_order_ts"]).date()
    later_rows = int(quality.get("rejected_by_reason", {}).get("after_as_of", 0))
    return [
        labels.t(
            "no_orders_then_more" if later_rows else "no_orders",
            language,
            start=formats.date(params.period_start, language),
            end=formats.date(params.period_end, language),
            last=formats.date(last, language),
            rows=formats.count(later_rows),
        )
    ]


def plain_number(value: object) -> float | int | None:
    """A figure for the JSON products: NaN and missing become None."""
    if formats.is_missing(value):
        return None
    return int(value) if isinstance(value, (int, np.integer)) else float(value)  # type: ignore[arg-type]


def headline(
    figures: dict[str, float],
    statuses: dict[str, int],
    compared_figures: dict[str, float] | None,
    compared_label: str | None,
    language: str,
    currency: str,
) -> dict:
    """The headline product: every figure and status count (raw, None where unknown), and the few
    facts reports/index.html shows, written in the page's language and currency (a change from 0 or
    from nothing is a word, never "nan%")."""
    values = {key: plain_number(figures.get(key)) for key, *_ in KPIS}
    revenue_change = formats.change(
        figures.get("revenue"), (compared_figures or {}).get("revenue"), "money", language
    )
    facts = {
        "buyers": formats.count(figures.get("buyers")),
        "revenue": formats.money(figures.get("revenue"), currency, language),
        "revenue_change": revenue_change.text,
        "at_risk": formats.count(statuses.get("at risk")) if statuses else formats.MISSING,
        "expected_clv": formats.money(figures.get("expected_clv"), currency, language),
    }
    return {
        "values": values,
        "status": {word: int(statuses[word]) for word in STATUSES if word in statuses},
        "facts": facts,
        "compared_with": compared_label,
        "currency": currency,
        "language": language,
    }


def trend(
    stage: StageRun,
    transactions: ir.Table,
    periods: list[str],
    current: dict,
) -> pd.DataFrame:
    """The figures of the dataset's built periods (``periods``, this one last): revenue, orders,
    customers who ordered and the average order recomputed from this period's orders (which hold all
    history up to its end), and the other figures and the status counts as each period published them
    in its headline (``current``: this period's headline, not yet written)."""
    windows = []
    for label in periods:
        window = stage.params if label == stage.period else load_params(stage.dataset, label, stage.root)
        windows.append((label, window.period_start, window.period_end))
    table = trends.period_trend(transactions, windows)
    published = []
    for label in periods:
        if label == stage.period:
            published.append(current)
            continue
        path = stage.earlier_input("headline?", label)
        published.append(io.read_json(path) if path is not None else {})
    for key, *_ in KPIS:
        if key not in TREND_COLUMNS:
            table[key] = [plain_number((h.get("values") or {}).get(key)) for h in published]
    for word in STATUSES:
        table[word] = [(h.get("status") or {}).get(word) for h in published]
    return table.astype({c: float for c in table.columns if c != "period"})


def kpi_cards(
    figures: dict[str, float],
    compared_figures: dict[str, float] | None,
    statuses: dict[str, int],
    compared_statuses: dict[str, int],
    trend_table: pd.DataFrame,
    params: Params,
) -> list:
    """The KPI cards: each headline figure and each status count (potential only when there are such
    customers) with its change and its trend over the built periods."""
    from helpers.page import Card

    language, currency = params.report.language, params.currency
    periods = trend_table["period"].tolist()
    cards = []

    def card(label: str, now: object, before: object, kind: str, good: int, column: str) -> None:
        series = trend_table[column].tolist() if column in trend_table.columns else []
        cards.append(
            Card(
                label,
                formats.value(now, kind, currency, language),
                formats.change(now, before, kind, language) if compared_figures is not None else None,
                good,
                [None if formats.is_missing(v) else v for v in series],
                periods,
                [formats.value(v, kind, currency, language) for v in series],
            )
        )

    for key, text, kind, good in KPIS:
        if key == "expected_clv" and formats.is_missing(figures.get(key)):
            continue
        label = labels.t(text, language, months=params.clv.horizon_months)
        card(label, figures.get(key), (compared_figures or {}).get(key), kind, good, key)
    for word in STATUSES:
        if word == "potential" and not statuses.get(word):
            continue
        label = labels.status_customers(word, language)
        card(label, statuses.get(word), compared_statuses.get(word), "count", STATUS_GOOD[word], word)
    return cards


# ------------------------------------------------------------------------------- the statuses


def status_table(
    statuses: pd.Series, compared: pd.Series | None, params: Params, has_model: bool
) -> tuple[pd.DataFrame, list[int]]:
    """Customers per status with their share and the change since the compared period; and the tone
    of each change (+1 good, -1 bad, 0 neither) for the page."""
    language = params.report.language
    table = status.counts(statuses)
    before = status.count_of(compared)
    changes = [
        formats.change(now, before.get(word) if compared is not None else None, "count", language)
        for word, now in zip(table["status"], table["customers"])
    ]
    tones = [
        0 if c.direction in (None, 0) else c.direction * STATUS_GOOD[word]
        for word, c in zip(table["status"], changes)
    ]
    table.insert(3, "change", changes)
    if compared is None:
        table = table.drop(columns="change")
    return table, tones


def status_rules(
    params: Params, statuses: pd.Series, has_model: bool, known_from: list[str] | None = None
) -> list[tuple[str, str]]:
    """(status, its rule in words) of the statuses the status table shows, for the page (``known_from``:
    the sources that made the potential customers known)."""
    language = params.report.language
    rules = status.rules_in_words(params.status, has_model, language, known_from)
    shown = status.counts(statuses)["status"]
    return [(labels.status(word, language, capital=True), rules[word]) for word in shown]


def flow_sentences(flow: pd.DataFrame, compared_label: str, language: str) -> list[str]:
    """The three largest moves between statuses in words, or that nobody moved."""
    moves = status.biggest_moves(flow)
    if not moves:
        return [labels.t("flow_stayed", language, label=compared_label)]
    return [
        labels.t(
            "flow_move",
            language,
            count=formats.count(count),
            total=formats.count(total),
            before=labels.status(before, language),
            now=labels.status(now, language),
            label=compared_label,
        )
        for count, total, before, now in moves
    ]


def flow_for_page(flow: pd.DataFrame, compared_label: str, language: str) -> pd.DataFrame:
    """The status flow with its rows and columns in the page's words."""

    def word(name: str) -> str:
        if name == status.NOT_YET:
            return labels.t("flow_not_yet", language)
        if name == status.GONE:
            return labels.t("flow_gone", language)
        return labels.status(name, language)

    shown = flow.copy()
    shown.index = [word(i) for i in flow.index]
    shown.columns = [word(c) for c in flow.columns]
    return shown


# ------------------------------------------------------------------------------- the segments


def segment_table(
    rfm: pd.DataFrame, previous_rfm: pd.DataFrame | None, params: Params, medians: pd.DataFrame
) -> pd.DataFrame:
    """One row per segment in rule order: customers, their share, their share of all spend to date,
    the change in customers since the compared period (when there is one) and the median days since
    the last order."""
    order = [rule.name for rule in params.rfm.segments]
    now = rfm.groupby("segment").agg(customers=("customer_id", "size"), spend=("monetary_total", "sum"))
    table = now.reindex(order).fillna(0).astype({"customers": "int64"})
    total_customers, total_spend = int(table["customers"].sum()), float(table["spend"].sum())
    table["share_of_customers"] = table["customers"] / total_customers if total_customers else 0.0
    table["share_of_spend"] = table["spend"] / total_spend if total_spend else 0.0
    if previous_rfm is not None:
        before = previous_rfm.groupby("segment")["customer_id"].size().reindex(order).fillna(0).astype(int)
        table["previous_customers"] = before
        table["change"] = (table["customers"] - before).astype("int64")
    table["median_recency_days"] = medians["median_recency_days"].reindex(order)
    return table.drop(columns="spend").reset_index().rename(columns={"index": "segment"})


def segment_guide(table: pd.DataFrame, params: Params) -> list[tuple[str, str]]:
    """(segment, its size, what it means and what to do) for every segment, in the page's language."""
    language = params.report.language
    sizes = dict(zip(table["segment"], zip(table["customers"], table["share_of_customers"])))
    items = []
    for rule in params.rfm.segments:
        meaning, action = labels.segment_text(rule.name, rule.meaning, rule.action, language)
        customers, share = sizes.get(rule.name, (0, 0.0))
        size = (
            labels.t("segment_size", language, customers=formats.count(customers), share=formats.share(share))
            if customers
            else labels.t("segments_none_empty", language)
        )
        text = labels.t("segment_item", language, size=size, meaning=meaning, action=action)
        items.append((labels.segment(rule.name, language), text))
    return items


def segment_sentences(table: pd.DataFrame, compared_label: str | None, language: str) -> list[str]:
    """The (at most two) largest changes in customers per segment in words; that none changed; or
    nothing without a compared period (the page says once why there is none)."""
    if "change" not in table.columns or compared_label is None:
        return []
    moved = table[table["change"] != 0]
    moved = moved.reindex(moved["change"].abs().sort_values(ascending=False, kind="mergesort").index).head(2)
    if moved.empty:
        return [labels.t("segments_same", language, label=compared_label)]
    return [
        labels.t(
            "segments_grew" if row.change > 0 else "segments_shrank",
            language,
            segment=labels.segment(row.segment, language),
            change=formats.count(abs(int(row.change))),
            now=formats.count(row.customers),
            before=formats.count(row.previous_customers),
            label=compared_label,
        )
        for row in moved.itertuples()
    ]


def returns_only_sentences(rfm_facts: dict, language: str) -> list[str]:
    """The customers left out of the segments because they only returned goods, in a sentence (none
    when there are none)."""
    count = int(rfm_facts.get("returns_only_customers", 0))
    return [labels.t("segments_returns_only", language, count=formats.count(count))] if count else []


def recency_words(low: float, high: float, language: str) -> str:
    """The days since the last order a segment's name promises, in words."""
    if low == 0 and math.isinf(high):
        return labels.t("recency_any", language)
    if low == 0:
        return labels.t("recency_within", language, high=formats.days(high, language))
    if math.isinf(high):
        return labels.t("recency_beyond", language, low=formats.days(low, language))
    return labels.t(
        "recency_between", language, low=formats.days(low, language), high=formats.days(high, language)
    )


def truth_table(truth: pd.DataFrame, language: str) -> tuple[pd.DataFrame, list[int]]:
    """The segment-truth check for the page: segment, what its name promises, its median days since
    the last order and the verdict in words; and the tone of each verdict."""
    rows = []
    for row in truth.itertuples():
        if row.ok:
            verdict = labels.t("truth_ok", language)
        else:
            median = formats.days(row.median_recency_days, language)
            detail = labels.t(
                "truth_too_old" if row.direction > 0 else "truth_too_recent", language, median=median
            )
            verdict = labels.t("truth_flag", language, detail=detail)
        rows.append(
            {
                "segment": row.segment,
                "recency_claim": recency_words(row.claim_low_days, row.claim_high_days, language),
                "median_recency_days": row.median_recency_days,
                "customers": row.customers,
                "check": verdict,
            }
        )
    frame = pd.DataFrame(
        rows, columns=["segment", "recency_claim", "median_recency_days", "customers", "check"]
    )
    return frame, [0 if ok else -1 for ok in truth["ok"]]


def truth_sentence(truth: pd.DataFrame, language: str) -> str:
    """One sentence: every name true, or how many are not."""
    flagged = int((~truth["ok"]).sum())
    if not flagged:
        return labels.t("truth_all_ok", language)
    return labels.t("truth_some_flagged", language, count=formats.count(flagged))


# ------------------------------------------------------------------------------- the migration


def segment_migration(
    previous: pd.DataFrame | None, current: pd.DataFrame, segment_order: list[str]
) -> pd.DataFrame:
    """Customers by previous segment (rows) and current segment (columns). Customers new this period
    form the row "(new customer)"; customers of the previous period missing now (their orders were
    removed from the data) form the column "(not in this period)"."""
    current = current[["customer_id", "segment"]]
    if previous is None:
        previous = pd.DataFrame({"customer_id": pd.Series(dtype=object), "segment": pd.Series(dtype=object)})
    merged = previous[["customer_id", "segment"]].merge(
        current, on="customer_id", how="outer", suffixes=("_before", "_now")
    )
    merged["segment_before"] = merged["segment_before"].fillna(NEW_ROW)
    merged["segment_now"] = merged["segment_now"].fillna(GONE_COLUMN)
    table = pd.crosstab(merged["segment_before"], merged["segment_now"])
    rows = [s for s in segment_order if s in table.index] + ([NEW_ROW] if NEW_ROW in table.index else [])
    columns = [s for s in segment_order if s in table.columns] + (
        [GONE_COLUMN] if GONE_COLUMN in table.columns else []
    )
    return table.reindex(index=rows, columns=columns, fill_value=0)


def biggest_moves(migration: pd.DataFrame, how_many: int = 3, language: str = "en") -> list[str]:
    """Sentences for the largest flows between two different segments ("412 customers moved from
    Champions to Fading Regulars."), in the page's language."""
    flows = []
    for before in migration.index:
        for now in migration.columns:
            count = int(migration.loc[before, now])
            if count and before != now and before != NEW_ROW and now != GONE_COLUMN:
                flows.append((count, before, now))
    flows.sort(key=lambda f: (-f[0], f[1], f[2]))
    return [
        labels.t(
            "migration_move",
            language,
            count=formats.count(count),
            before=labels.segment(before, language),
            now=labels.segment(now, language),
        )
        for count, before, now in flows[:how_many]
    ]


def migration_for_page(migration: pd.DataFrame, compared_label: str, language: str) -> pd.DataFrame:
    """The migration matrix with its rows and columns in the page's words."""
    shown = migration.copy()
    shown.index = [
        labels.t("migration_new", language, label=compared_label)
        if i == NEW_ROW
        else labels.segment(i, language)
        for i in migration.index
    ]
    shown.columns = [
        labels.t("flow_gone", language) if c == GONE_COLUMN else labels.segment(c, language)
        for c in migration.columns
    ]
    return shown


# ------------------------------------------------------------------------------- the clusters

RADAR_METRICS = {  # RFM metric -> its spoke's words on the radar; recency turned so that out is better
    "recency_days": "radar_recency",
    "frequency_orders": "radar_frequency",
    "monetary_total": "radar_monetary",
}


def cluster_table(
    rfm: pd.DataFrame, clusters: pd.DataFrame, language: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per cluster (largest spend first as numbered by the clustering): customers, their share, their
    share of all spend to date and the medians of days since the last order, orders and spend; and
    the radar's values: the percentile (0-100) of the cluster's median customer among all customers
    on each metric, recency turned so that further out is always better (more recent)."""
    from helpers.scoring import percentile_rank

    joined = join_by_id(rfm[["customer_id", *RADAR_METRICS]], clusters, ["cluster", "cluster_name"])
    percentiles = pd.DataFrame(
        {
            metric: 100 * percentile_rank(joined[metric].astype(float), metric == "recency_days")
            for metric in RADAR_METRICS
        }
    )
    percentiles["cluster_name"] = joined["cluster_name"].to_numpy()
    grouped = joined.groupby("cluster_name", sort=False)
    table = grouped.agg(
        cluster=("cluster", "first"),
        customers=("customer_id", "size"),
        spend=("monetary_total", "sum"),
        median_recency_days=("recency_days", "median"),
        median_frequency_orders=("frequency_orders", "median"),
        median_monetary_total=("monetary_total", "median"),
    ).sort_values("cluster", ascending=False, kind="mergesort")
    total_customers, total_spend = int(table["customers"].sum()), float(table["spend"].sum())
    table.insert(2, "share_of_customers", table["customers"] / max(total_customers, 1))
    table.insert(3, "share_of_spend", table["spend"] / total_spend if total_spend else 0.0)
    radar = percentiles.groupby("cluster_name", sort=False).median().reindex(table.index)
    radar.columns = [labels.t(RADAR_METRICS[m], language) for m in radar.columns]
    radar.index = [labels.cluster(name, language) for name in radar.index]
    table = table.drop(columns=["cluster", "spend"]).reset_index()
    return table, radar


# ---------------------------------------------------------------------------- lifetime value


def clv_by_group(
    clv: pd.DataFrame, groups: pd.DataFrame, column: str, order: list[str] | None = None
) -> pd.DataFrame:
    """Customers, total and mean CLV, share of all CLV and mean P(alive) per group (``column`` of
    ``groups``: the RFM segment, the cluster name). Groups in ``order`` when given (e.g. the segment
    rule order; empty groups left out), else largest total first; customers without a group are
    counted as "(none)", last."""
    joined = join_by_id(clv[["customer_id", "clv", "p_alive"]], groups, [column])
    joined[column] = joined[column].astype(object).where(joined[column].notna(), "(none)")
    table = joined.groupby(column).agg(
        customers=("customer_id", "size"),
        total_clv=("clv", "sum"),
        mean_clv=("clv", "mean"),
        mean_p_alive=("p_alive", "mean"),
    )
    total = table["total_clv"].sum()
    table["share_of_clv_%"] = 100.0 * table["total_clv"] / total if total else float("nan")
    named = (
        [g for g in order if g in table.index]
        if order is not None
        else table.drop(index="(none)", errors="ignore")
        .sort_values("total_clv", ascending=False, kind="mergesort")
        .index.tolist()
    )
    return table.reindex(named + (["(none)"] if "(none)" in table.index else [])).reset_index()


CLV_UNIT_WORDS = {"weeks": ("week", "周"), "days": ("day", "天")}  # the purchase models' time units


def clv_reason(model: dict, language: str) -> str:
    """Why lifetime value was not estimated, in the page's language."""
    buyers = model.get("repeat_buyers") or {}
    if model.get("status") == "too_few_repeat_buyers" and "repeat_buyers" in buyers:
        return labels.t(
            "clv_too_few",
            language,
            repeat=formats.count(buyers.get("repeat_buyers")),
            needed=formats.count(buyers.get("min_repeat_buyers")),
            unit=CLV_UNIT_WORDS[(model.get("settings") or {}).get("time_unit", "weeks")][language == "zh"],
        )
    purchase = model.get("purchase_model") or {}
    if purchase.get("converged") and not (model.get("spend_model") or {}).get("converged"):
        return labels.t("clv_spend_failed", language)
    # The final fit tries every listed model in turn (clv.fit_final_model): a failed one means all failed.
    tried = (model.get("settings") or {}).get("models") or []
    if len(tried) > 1:
        names = [MODEL_LABELS.get(name, name) for name in tried]
        return labels.t("clv_none_fitted", language, models=labels.join(names, language))
    return labels.t(
        "clv_fit_failed", language, model=purchase.get("label") or model.get("chosen_model") or ""
    )


def clv_text(model: dict | None, clv: pd.DataFrame | None, params: Params) -> list[str]:
    """The lifetime-value section's sentences (one home, so that caveats about the estimate are added
    here): what the expected value is, its total and the share of the top 10% of customers; or why
    it was not estimated."""
    language, currency, months = params.report.language, params.currency, params.clv.horizon_months
    if model is None:
        return []
    total = clv_total(clv)
    if model.get("status") != "ok" or total is None:
        return [labels.t("clv_not_estimated", language, reason=clv_reason(model, language))]
    values = clv["clv"].dropna().sort_values(ascending=False)
    top = values.head(max(1, math.ceil(0.1 * len(values)))).sum()
    chosen = model.get("chosen_model")
    label = (model.get("purchase_model") or {}).get("label") or chosen or ""
    intro = labels.t(
        "clv_intro",
        language,
        months=months,
        model=label,
        spend=labels.t("clv_spend_observed" if own_averages(model) else "clv_spend_model", language),
        total=formats.money(total, currency, language),
        top=formats.share(top / total) if total else formats.MISSING,
    )
    return [intro, *(labels.t("caveat", language, text=text) for text in clv_caveats(model, language))]


def own_averages(model: dict) -> bool:
    """True when the customers' own average spend values their purchases, not Gamma-Gamma's (q near 1:
    helpers.clv.spend_model_check)."""
    return ((model.get("spend_value") or {}).get("source")) == "observed"


def holdout_tested(model: dict) -> list[str]:
    """The purchase models whose calibration fit converged and so were tested on the held-out months
    (from the errors for a model product written before ``holdout.tested`` was recorded)."""
    holdout = model.get("holdout") or {}
    if "tested" in holdout:
        return list(holdout["tested"] or [])
    return [e["model"] for e in holdout.get("errors", []) if e.get("converged") and e.get("mae") is not None]


def clv_caveats(model: dict, language: str) -> list[str]:
    """The caveats the lifetime-value stage recorded with its model (no comparison on held-out months,
    a chosen model that missed them badly, a parameter at the edge of its range): as recorded in
    English, and in Chinese from the same facts of the model product."""
    if language != "zh":
        return list(model.get("caveats") or [])
    found = []
    holdout = model.get("holdout", {})
    if model.get("status") == "ok" and not holdout_tested(model):
        found.append(labels.t("caveat_not_compared", language))
    if model.get("status") == "ok" and holdout_tested(model):
        calibration = [f for f in (holdout.get("fits") or {}).values() if f]
        failed = [f["label"] for f in calibration if not f.get("converged")]
        end = str(holdout.get("calibration_end"))
        if failed:
            names = labels.join(failed, language)
            found.append(labels.t("caveat_not_tested", language, models=names, end=end))
        penalised = [f for f in calibration if f.get("converged") and f.get("penalizer")]
        if penalised:
            found.append(
                labels.t(
                    "caveat_penalised_holdout",
                    language,
                    end=end,
                    models=labels.join([f["label"] for f in penalised], language),
                    penalizer=f"{penalised[0]['penalizer']:g}",
                )
            )
    limit = (model.get("settings") or {}).get("max_holdout_error", 0.25)
    error = next((e for e in holdout.get("errors", []) if e.get("model") == model.get("chosen_model")), None)
    if error and error.get("total_error") is not None and error["total_error"] > limit:
        found.append(
            labels.t(
                "caveat_poor_fit",
                language,
                model=error.get("label", model.get("chosen_model")),
                expected=formats.count(error["expected_total"]),
                actual=formats.count(error["actual_total"]),
                error=formats.share(error["total_error"], 0),
                limit=formats.share(limit, 0),
            )
        )
    fit = model.get("purchase_model") or {}
    if model.get("fallback"):
        found.append(
            labels.t("caveat_fallback", language, first=model["fallback"]["label"], model=fit.get("label"))
        )
    if model.get("status") == "ok":
        found.extend(value_caveats(model, language))
    at_bound = fit.get("at_bound") or []
    if at_bound:
        found.append(
            labels.t(
                "caveat_at_bound",
                language,
                model=fit.get("label"),
                name="、".join(at_bound),
                value="、".join(f"{fit['params'][name]:.2g}" for name in at_bound),
            )
        )
    return found


def value_caveats(model: dict, language: str) -> list[str]:
    """The caveats of a fit that needed a penalty and of a spend model whose values are not used, in the
    page's language from the facts of the model product (as helpers.clv.caveats words them in English)."""
    found = []
    purchase, spend = model.get("purchase_model") or {}, model.get("spend_model") or {}

    def penalised(fit: dict, data: str) -> str:
        return labels.t(
            "caveat_penalised",
            language,
            model=fit.get("label"),
            data=labels.t(data, language),
            penalizer=f"{fit['penalizer']:g}",
        )

    if purchase.get("converged") and purchase.get("penalizer"):
        found.append(penalised(purchase, "caveat_penalised_data_history"))
    check = model.get("spend_value") or {}
    if own_averages(model):
        currency = check.get("currency") or "USD"
        found.append(
            labels.t(
                "caveat_spend_observed",
                language,
                q=f"{check['q']:.3g}",
                model_mean=formats.money(check["model_mean"], currency, language),
                ratio=f"{check['max_ratio']:g}",
                observed=formats.money(check["observed_mean"], currency, language),
                repeat=formats.count(check["repeat_buyers"]),
            )
        )
    elif spend.get("converged") and spend.get("penalizer"):
        found.append(penalised(spend, "caveat_penalised_data_spend"))
    return found


def clv_by_status(customers: pd.DataFrame, p_alive_trusted: bool = True) -> pd.DataFrame:
    """Per status (the vocabulary's order, as the status table counts them): customers, their expected
    value, the average chance of still being a customer (only where the purchase model's P(alive) is
    trusted, :func:`helpers.status.p_alive_trusted`: a degenerated model's says nothing) and the value at
    stake (:func:`customer_list`'s, as stage 09's churn warning has it; missing, not 0, for a status
    whose customers have no figures, as the potential ones)."""
    counted = status.counts(customers["status"])
    figures = {
        "total_clv": ("clv", lambda v: v.sum(min_count=1)),
        "mean_p_alive": ("p_alive", "mean"),
        "value_at_stake": ("value_at_stake", lambda v: v.sum(min_count=1)),
    }
    if not p_alive_trusted:
        del figures["mean_p_alive"]
    grouped = customers.groupby("status").agg(**figures)
    return counted[["status", "customers"]].join(grouped, on="status")


# ---------------------------------------------------------------------------- the lists


def customer_list(
    rfm: pd.DataFrame, scores: pd.DataFrame | None, clv: pd.DataFrame | None, use_p_alive: bool = True
) -> pd.DataFrame:
    """One row per customer with every figure an export or a list needs (ids and metrics only),
    including the status and the value at stake (helpers.status.value_at_stake, as stage 09's churn
    warning has it: with the scores' churn risk where there is one, and without a degenerated purchase
    model's values, ``use_p_alive`` False, :func:`helpers.status.p_alive_trusted`); customers known only
    from the customer attributes (potential) are in the scores."""
    columns = [
        "customer_id",
        "segment",
        "recency_days",
        "frequency_orders",
        "monetary_total",
        "avg_order_value",
        "tenure_days",
        "first_order_ts",
        "last_order_ts",
    ]
    table = rfm[columns]
    risk = ["churn_risk"] if scores is not None and "churn_risk" in scores.columns else []
    if scores is not None:
        table = join_by_id(
            table, scores, ["score", "tier", "driver_1", "driver_2", "status", "typical_gap_days", *risk]
        )
    if clv is not None:
        table = join_by_id(table, clv, ["p_alive", "expected_purchases", "clv"])
    if "typical_gap_days" in table.columns:
        table = table.assign(value_at_stake=status.value_at_stake(table, use_p_alive)).drop(columns=risk)
        if scores is not None and len(scores) > len(table):  # potential customers: no order, no figures
            known = set(table["customer_id"])
            potential = scores.loc[~scores["customer_id"].isin(known), ["customer_id", "status"]]
            table = pd.concat([table, potential], ignore_index=True)
        table = table.drop(columns="typical_gap_days")
    numbers = table.select_dtypes("float").columns
    table = table.assign(**{c: table[c].round(2) for c in numbers})
    if ids_increasing(table["customer_id"]):  # as the RFM product is written
        return table.reset_index(drop=True)
    return table.sort_values("customer_id", kind="mergesort").reset_index(drop=True)


CHURN_COLUMNS = [
    "customer_id",
    "status",
    "segment",
    "recency_days",
    "frequency_orders",
    "monetary_total",
    "p_alive",
    "clv",
    "value_at_stake",
    "churn_risk",
]
TOP_CLV_COLUMNS = ["customer_id", "status", "segment", "frequency_orders", "monetary_total", "p_alive", "clv"]
LIST_KINDS = {  # how the page writes the lists' columns
    "churn_risk": "probability",
    "status": "status",
    "segment": "segment",
    "recency_days": "days",
    "frequency_orders": "count",
    "monetary_total": "money",
    "avg_order_value": "money",
    "p_alive": "probability",
    "clv": "money",
    "value_at_stake": "money",
    "score": "score",
    "customer_id": "text",
}


def churn_list(churn: pd.DataFrame, p_alive_trusted: bool = True) -> pd.DataFrame:
    """The churn-warning columns a reader or a CRM needs, largest value at stake first (without a
    degenerated purchase model's P(alive), :func:`helpers.status.p_alive_trusted`)."""
    keep = [c for c in CHURN_COLUMNS if c in churn.columns and (p_alive_trusted or c != "p_alive")]
    return churn[keep].round(2).reset_index(drop=True)


def top_clv_list(customers: pd.DataFrame, n: int, p_alive_trusted: bool = True) -> pd.DataFrame:
    """The customers with the highest expected value, with the few columns that explain it (without a
    degenerated purchase model's P(alive), :func:`helpers.status.p_alive_trusted`)."""
    columns = [c for c in TOP_CLV_COLUMNS if c in customers.columns and (p_alive_trusted or c != "p_alive")]
    return top_by(customers.dropna(subset=["clv"]), "clv", n)[columns].reset_index(drop=True)


def top_by(table: pd.DataFrame, column: str, n: int) -> pd.DataFrame:
    """The n customers with the largest ``column`` (ties broken by customer id)."""
    return largest_first(table, column, n)


def churn_sentence(churn: pd.DataFrame, statuses: list[str], language: str, shown: int | None = None) -> str:
    """How many customers the churn warning lists (and, when the page shows only the first ``shown``,
    that the export holds them all)."""
    words = labels.join([labels.status(s, language) for s in statuses], language).replace(
        labels.t("and", language), labels.t("or", language)
    )
    if churn.empty:
        return labels.t("churn_none", language, statuses=words)
    if shown is not None and shown < len(churn):
        return labels.t(
            "churn_top", language, shown=formats.count(shown), count=formats.count(len(churn)), statuses=words
        )
    return labels.t("churn_intro", language, count=formats.count(len(churn)), statuses=words)


# ---------------------------------------------------------------------- cohorts and contribution


def cohort_for_page(retention: pd.DataFrame, language: str) -> pd.DataFrame:
    """The retention triangle in percent, its rows labelled with the month and the cohort's size."""
    shares = retention.drop(columns="customers") * 100
    shares.index = [
        f"{month} ({formats.count(size)})" for month, size in zip(retention.index, retention["customers"])
    ]
    shares.columns = [str(c) for c in shares.columns]
    return shares


def contribution_text(top: pd.DataFrame, revenue: float, buyers: int, params: Params) -> str:
    """The customer-contribution sentence: the period's revenue and the share of its top 1/5/20%."""
    language = params.report.language
    if not buyers:
        return labels.t("contribution_none", language)
    shares = dict(zip(top["top"], top["share_of_revenue"]))
    money = formats.money(revenue, params.currency, language)
    if any(formats.is_missing(share) for share in shares.values()):
        # A top group smaller than privacy.min_group_size would tell single customers' spend.
        return labels.t("contribution_few", language, revenue=money, buyers=formats.count(buyers))
    return labels.t(
        "contribution_intro",
        language,
        revenue=money,
        top1=formats.share(trends.TOP_SHARES[0], 0),
        buyers=formats.count(buyers),
        share1=formats.share(shares[0.01]),
        share5=formats.share(shares[0.05]),
        share20=formats.share(shares[0.20]),
    )


def contribution_marks(top: pd.DataFrame, buyers: int, language: str) -> list[tuple[float, float, str]]:
    """The points of the Pareto curve the page labels: (share of customers, share of revenue, words)."""
    return [
        (
            row.customers / buyers,
            row.share_of_revenue,
            f"{labels.t('contribution_top', language, share=formats.share(row.top, 0))}: "
            f"{formats.share(row.share_of_revenue)}",
        )
        for row in top.itertuples()
        if buyers and not formats.is_missing(row.share_of_revenue)
    ]


# ------------------------------------------------------------------------------- data quality


def quality_table(quality: dict, language: str) -> pd.DataFrame:
    """Rows kept, set aside per reason and in total, with their share, in the page's words."""
    from helpers.cleaning import quality_table as rows

    frame = pd.DataFrame(rows(quality))
    return pd.DataFrame(
        {
            "outcome": [
                labels.reason(o, d, language) for o, d in zip(frame["outcome"], frame["description"])
            ],
            "rows": frame["rows"].astype("int64"),
            "share": frame["share_%"] / 100.0,
        }
    )


def quality_sentence(quality: dict, language: str) -> str:
    return labels.t(
        "quality_intro",
        language,
        rows_in=formats.count(quality["rows_in"]),
        kept=formats.count(quality["rows_kept"]),
        rejected=formats.count(quality["rows_rejected"]),
    )


# ------------------------------------------------------------------------------- method notes


def method_notes(
    model: dict | None,
    params: Params,
    cut_points: dict,
    has_scores: bool,
    churn_risk: bool = False,
    score_facts: dict | None = None,
) -> list[str]:
    """Plain-language notes on how the numbers were made: segments and their recency bands, the
    status rules, the score (its weights as 09 used them, ``score_facts``; a period built before that
    product: ``scoring.weights``), lifetime value with its validation, and the value at stake."""
    language = params.report.language
    cycle = formats.days(cut_points.get("purchase_cycle_days"), language)
    scale = cut_points.get("recency", "quintiles")
    bands = labels.join([formats.days(b, language) for b in cut_points.get("recency_bands", [])], language)
    key = {"cycle": "method_cycle", "days": "method_days"}.get(scale, "method_quintiles")
    notes = [labels.t("method_revenue", language)]
    notes.append(
        labels.t("method_segments", language, bands=labels.t(key, language, bands=bands, cycle=cycle))
    )
    notes.append(labels.t("method_status", language))
    if has_scores:
        weights = score_facts["weights"] if score_facts else params.scoring.weights
        indicators = labels.join(
            [
                f"{inline(labels.indicator(name, language), language)} {formats.share(weight, 0)}"
                for name, weight in sorted(weights.items(), key=lambda item: -item[1])
            ],
            language,
        )
        notes.append(labels.t("method_score", language, indicators=indicators))
    if model:
        notes.append(lifetime_value_note(model, params))
    # as helpers.status.value_at_stake makes the stakes: stage 09's validated churn risk weighs them; a
    # degenerated model's values are not used for them (its caveat says so), which is not "no model"
    degenerated = model_ok(model) and not status.p_alive_trusted(model)
    name = ((model or {}).get("purchase_model") or {}).get("label") or (model or {}).get("chosen_model")
    if churn_risk and degenerated:
        notes.append(labels.t("method_stake_churn_degenerated", language, model=name))
    elif churn_risk:
        notes.append(labels.t("method_stake_churn", language, months=params.clv.horizon_months))
    elif degenerated:
        notes.append(labels.t("method_stake_degenerated", language, model=name))
    elif model_ok(model):
        notes.append(labels.t("method_stake", language, months=params.clv.horizon_months))
    else:
        notes.append(labels.t("method_stake_no_model", language))
    return notes


def method_choice(model: dict, language: str) -> str:
    """How the purchase model in use was picked, in words: by the holdout, as the first listed, or as
    the next listed after the first choice degenerated on all history."""
    fallback = model.get("fallback")
    if fallback:
        return labels.t("method_fallback", language, first=fallback["label"])
    tested = holdout_tested(model)  # a comparison only when a calibration fit converged
    if len(tested) == 1 and len((model.get("settings") or {}).get("models") or tested) > 1:
        return labels.t("method_only_tested", language)
    return labels.t("method_chosen" if tested else "method_first_listed", language)


def lifetime_value_note(model: dict, params: Params) -> str:
    """What the lifetime values are, as it happened this period: the model used and whether it was
    chosen on held-out months (never a comparison that did not happen) with its error there; or why
    there are none. The caveats are in the lifetime-value section (:func:`clv_text`)."""
    language = params.report.language
    if not model_ok(model):
        return labels.t("method_clv_missing", language, reason=clv_reason(model, language))
    holdout = model.get("holdout", {})
    error = next((e for e in holdout.get("errors", []) if e.get("model") == model.get("chosen_model")), None)
    validation = (
        labels.t(
            "method_validation",
            language,
            expected=formats.count(error["expected_total"]),
            actual=formats.count(error["actual_total"]),
            error=formats.share(error["total_error"]),
        )
        if holdout_tested(model) and error and error.get("total_error") is not None
        else ""
    )
    return labels.t(
        "method_clv",
        language,
        model=(model.get("purchase_model") or {}).get("label") or model.get("chosen_model"),
        chosen=method_choice(model, language),
        spend=labels.t("method_spend_observed" if own_averages(model) else "method_spend_model", language),
        months=params.clv.horizon_months,
        rate=formats.share(params.clv.monthly_discount_rate),
        validation=validation,
    )


def inline(label: str, language: str) -> str:
    """A heading-style label inside a sentence ("Days since last order" -> "days since last order")."""
    return label[:1].lower() + label[1:] if language == "en" else label


# ------------------------------------------------------------------------------- the sections

# The page's sections: anchor, title (helpers.labels), and what shows it: None (always), a product
# key, several (any of them), or "comparison" (a compared period exists).
SECTIONS = [
    ("Headline-numbers", "section_headline", None),
    ("Trend", "section_trend", None),
    ("Customer-status", "section_status", "scores"),
    ("Segments", "section_segments", None),
    ("Segment-migration", "section_migration", "comparison"),
    ("Clusters", "section_clusters", "personas"),
    ("Bought-together", "section_basket", "basket_rules"),
    ("Lifetime-value", "section_clv", "clv_model"),
    ("Churn-risk", "section_churn", "churn_model"),
    ("Customers-to-act-on", "section_lists", ("churn_warning", "clv", "action_facts")),
    ("Action-results", "section_effects", "action_effects"),
    ("Behaviour", "section_behaviour", "funnel"),
    ("Sales-pipeline", "section_pipeline", "pipeline"),
    ("Voice-of-the-customer", "section_voice", "voice_facts"),
    ("Cohort-retention", "section_cohorts", None),
    ("Customer-contribution", "section_contribution", None),
    ("Data-quality", "section_quality", None),
    ("How-the-numbers-are-made", "section_method", None),
    ("Exports-and-detailed-pages", "section_exports", None),
]


def shown_sections(products: dict[str, object], compared: bool, language: str) -> list[tuple[str, str]]:
    """(anchor, title) of the sections whose stage ran (and the migration only against a compared
    period), in page order: the table of contents, so that no link leads nowhere."""

    def shown(needs: str | tuple[str, ...] | None) -> bool:
        if needs is None:
            return True
        if needs == "comparison":
            return compared
        keys = (needs,) if isinstance(needs, str) else needs
        return any(products.get(key) is not None for key in keys)

    return [(anchor, labels.t(key, language)) for anchor, key, needs in SECTIONS if shown(needs)]


def section(anchor: str, language: str) -> tuple[str, str]:
    """A section's anchor and title, for its heading."""
    key = next(key for a, key, _ in SECTIONS if a == anchor)
    return anchor, labels.t(key, language)


# ------------------------------------------------------------------------------------ exports


def write_exports(
    tables: dict[str, pd.DataFrame],
    folder: Path,
    xlsx: tuple[str, ...] = (),
    xlsx_max_rows: int = 10_000,
    escape_formulas: bool = True,
) -> list[Path]:
    """Each table as CSV (UTF-8, no index, quotes only where needed) for a CRM or an e-mail tool, and
    the tables named in ``xlsx`` also as Excel for people, holding their first ``xlsx_max_rows`` rows
    (the lists are ranked; the CSV holds every row). DuckDB writes the CSV from an Arrow copy of the
    frame: 1M customers in 2.9 s, against 4.0 s scanning the pandas frame and 14.5 s with pandas'
    ``to_csv``, byte for byte the same file; Excel costs about 0.2 ms a cell row, hence the cap.
    ``escape_formulas``: text cells a spreadsheet would run as a formula start with ``'`` in the CSV
    (the Excel copies hold every value as typed text). A folder the catalog marked for encryption
    (``privacy.encrypt_exports``) gets ``<name>.csv.enc`` and ``<name>.xlsx.enc`` instead."""
    from concurrent.futures import ThreadPoolExecutor

    import duckdb
    import pyarrow as pa

    from helpers.privacy import encryption, exports

    folder.mkdir(parents=True, exist_ok=True)
    protection = encryption.protection_of(folder)
    suffix = encryption.ENCRYPTED_SUFFIX if protection else ""
    written = []
    con = duckdb.connect()
    # The Excel books (Python) are written in a thread while DuckDB writes the CSV files (native code,
    # without Python's lock), all started first: 1M customers 5.1-5.9 s -> 3.7 s.
    books = {name: folder / f"{name}.xlsx{suffix}" for name in tables if name in xlsx}

    def book(name: str, path: Path) -> None:
        frame = tables[name].head(xlsx_max_rows)
        if protection is None:
            write_xlsx(frame, path, name[:31])
        else:
            encryption.write_sealed(exports.xlsx_bytes(write_xlsx, frame, name[:31]), path, protection)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="xlsx") as pool:
        pending = [pool.submit(book, name, path) for name, path in books.items()]
        for name, table in tables.items():
            path = folder / f"{name}.csv{suffix}"
            arrow = pa.Table.from_pandas(table, preserve_index=False)
            if escape_formulas:
                arrow = exports.escape_formulas(arrow)
            if protection is None:
                con.from_arrow(arrow).write_csv(str(path), header=True)
            else:
                encryption.write_sealed(exports.csv_bytes(con, arrow), path, protection)
            written += [path, books[name]] if name in books else [path]
        for future in pending:
            future.result()
    con.close()
    return written


def write_xlsx(table: pd.DataFrame, path: Path | BinaryIO, sheet: str) -> None:
    """One table as an Excel sheet: a bold header, then numbers as numbers, dates as dates, text as
    text and missing values as empty cells. Written with xlsxwriter cell by cell in constant-memory
    mode: pandas' ``to_excel`` styles every cell through Python objects first (the two CDNOW lists,
    3,525 rows: 2.5 s -> 1.6 s, measured with a benchmark running alongside)."""
    import xlsxwriter

    columns = []
    for name in table.columns:
        values = table[name]
        if pd.api.types.is_bool_dtype(values):
            kind = "boolean"
        elif pd.api.types.is_datetime64_any_dtype(values):
            kind = "datetime"
        elif pd.api.types.is_numeric_dtype(values):
            kind = "number"
        else:
            kind = "string"
        cells = values.astype(object).where(values.notna(), None).tolist()
        if kind == "datetime":
            cells = [None if v is None else v.to_pydatetime() for v in cells]
        columns.append((kind, cells))
    # A file: constant-memory mode (rows streamed to disk); a buffer (an encrypted export): in memory.
    options = {"constant_memory": True} if isinstance(path, (str, Path)) else {"in_memory": True}
    with xlsxwriter.Workbook(str(path) if isinstance(path, (str, Path)) else path, options) as book:
        worksheet = book.add_worksheet(sheet)
        bold, date_format = (
            book.add_format({"bold": True}),
            book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
        )
        worksheet.write_row(0, 0, [str(c) for c in table.columns], bold)
        write = {
            "boolean": worksheet.write_boolean,
            "number": worksheet.write_number,
            "string": worksheet.write_string,
        }
        for row in range(len(table)):
            for column, (kind, cells) in enumerate(columns):
                value = cells[row]
                if value is None:
                    continue
                if kind == "datetime":
                    worksheet.write_datetime(row + 1, column, value, date_format)
                else:
                    write[kind](row + 1, column, value if kind != "string" else str(value))


ACTION_LISTS = ("churn_warning", "priority_list")  # also written as Excel, with every action list
LIST_FACT_KINDS = {"to_contact": "count", "held_out": "count"}
EFFECT_KINDS = {
    "treated": "count",
    "held_out": "count",
    "ordered_treated": "share",
    "ordered_held_out": "share",
    "revenue_treated": "money",
    "revenue_held_out": "money",
    "active_treated": "share",
    "active_held_out": "share",
}


def slug(name: str) -> str:
    """A file-name-safe version of a segment name ("Can't Lose Them" -> "cant_lose_them")."""
    return "".join(ch if ch.isalnum() else "_" for ch in name.lower().replace("'", "")).strip("_")


PRIORITY_ROWS = 500  # the priority list's rows (at least scoring.top_n)


def export_tables(
    customers: pd.DataFrame, churn: pd.DataFrame | None, segment_order: list[str], top_n: int
) -> dict[str, pd.DataFrame]:
    """The CSV/XLSX lists for marketing: one per segment, the churn warning, the priority list."""
    by_segment = dict(
        list(customers.groupby("segment", sort=False))
    )  # one pass (1M customers: 0.8 s -> 0.6 s)
    tables = {
        f"segment_{slug(name)}": by_segment[name].reset_index(drop=True)
        for name in segment_order
        if name in by_segment
    }
    if churn is not None:
        tables["churn_warning"] = churn_list(churn)
    if "score" in customers.columns:
        tables["priority_list"] = top_by(
            customers.dropna(subset=["score"]), "score", max(top_n, PRIORITY_ROWS)
        ).reset_index(drop=True)
    return tables


def data_dictionary(tables: dict[str, pd.DataFrame], language: str = "en") -> pd.DataFrame:
    """Every column of every export with its label, type and meaning from the label dictionary (one
    home for the page's headings and the exports' descriptions); a column without a description is an
    error naming it."""
    rows = []
    for name, table in tables.items():
        for column in table.columns:
            label = labels.COLUMNS.get(column)
            if label is None or not label.help(language):
                raise KeyError(
                    f"export '{name}' has column '{column}' without a description; add it to COLUMNS in "
                    "helpers/labels.py."
                )
            rows.append(
                {
                    "file": f"{name}.csv",
                    "column": column,
                    "label": label.text(language),
                    "type": str(table[column].dtype),
                    "description": label.help(language),
                }
            )
    return pd.DataFrame(rows, columns=["file", "column", "label", "type", "description"])


def export_links(
    written: list[Path], pages: Path, segment_order: list[str], language: str
) -> list[tuple[str, str]]:
    """(words, relative link) of every export file: a segment's customers, the churn warning, the
    priority list, each action list and the data dictionary, each with its format; never a bare file
    name."""
    by_slug = {f"segment_{slug(name)}": name for name in segment_order}
    items = []
    for path in written:
        sealed = path.name.endswith(ENCRYPTED_SUFFIX)  # privacy.encrypt_exports: <name>.csv.enc
        plain = Path(path.name.removesuffix(ENCRYPTED_SUFFIX))
        stem = plain.stem
        if stem in by_slug:
            text = labels.t("export_segment", language, segment=labels.segment(by_slug[stem], language))
        elif stem == "churn_warning":
            text = labels.t("export_churn", language)
        elif stem == "priority_list":
            text = labels.t("export_priority", language)
        elif stem.startswith("action_"):
            from helpers.actions import list_title

            text = labels.t(
                "export_action", language, list=list_title(stem.removeprefix("action_"), language)
            )
        else:
            text = labels.t("export_dictionary", language)
        kind = "Excel" if plain.suffix == ".xlsx" else "CSV"
        words = labels.t(
            "export_format_encrypted" if sealed else "export_format", language, label=text, format=kind
        )
        items.append((words, str(path.relative_to(pages))))
    return items


def stage_links(pages: Path, language: str = "en") -> list[tuple[str, str]]:
    """(words, link) of the page of every other stage that ran for this period (for analysts): those
    whose executed notebook the runner has saved next to the report."""
    from helpers.catalog import STAGES

    ran = [
        s
        for s in STAGES
        if s.number != REPORT_STAGE and (pages / "notebooks" / f"{s.notebook}.ipynb").is_file()
    ]
    return [
        (
            labels.t("stage_page", language, number=s.number, title=labels.stage_title(s.title, language)),
            f"{s.notebook}.html",
        )
        for s in ran
    ]


# ------------------------------------------------------------------------------ the products

# What the report reads of its own period as frames or facts: every product stage 10 declares, but the
# clean orders (read as an engine table).
PAGE_PRODUCTS = [ref for ref in catalog_stage(REPORT_STAGE).reads if ref != "clean:transactions"]
COMPARED_PRODUCTS = ["rfm?", "scores?", "headline?"]  # what it reads of the compared period


def _load(path: Path | None) -> object:
    if path is None:
        return None
    return io.read_json(path) if path.suffix == ".json" else io.read_parquet(path)


def load_products(stage: StageRun) -> dict[str, object]:
    """The report's products of this period by product key (None where an optional one is absent;
    the customer attributes under ``customers``)."""
    loaded = {ref.rstrip("?").split(":")[0]: _load(stage.input(ref)) for ref in PAGE_PRODUCTS}
    loaded["customers"] = loaded.pop("clean")
    if loaded["action_effects"] is not None and loaded["action_effects"].empty:
        loaded["action_effects"] = None  # nothing to measure: the compared period had no lists, or none
    return loaded


def load_compared(stage: StageRun) -> dict[str, object]:
    """The report's products of the compared period (all None when there is none)."""
    return {ref.rstrip("?"): _load(stage.earlier_input(ref)) for ref in COMPARED_PRODUCTS}


def statuses_of(scores: object) -> pd.Series | None:
    """The status column of a scores product (None without one, or built before statuses existed)."""
    if isinstance(scores, pd.DataFrame) and "status" in scores.columns:
        return scores["status"]
    return None


def channel_groups(customers: object) -> pd.DataFrame | None:
    """The customers' acquisition channel from the customer attributes, when they give one."""
    if isinstance(customers, pd.DataFrame) and "acquisition_channel" in customers.columns:
        return customers[["customer_id", "acquisition_channel"]]
    return None


# ------------------------------------------------------------------------------ for the notebook


def figures_now_and_before(
    transactions: ir.Table, params: Params, compared: Params | None, products: dict, compared_products: dict
) -> tuple[dict[str, float], dict[str, float] | None]:
    """This period's headline figures (orders, revenue, ..., the total expected value) and the compared
    period's (None without one; its expected value as its headline published it)."""
    figures, before = period_figures(transactions, params, compared)
    figures["expected_clv"] = clv_total(products.get("clv"))
    if before is not None:
        published = compared_products.get("headline") or {}
        before["expected_clv"] = (published.get("values") or {}).get("expected_clv")
    return figures, before


def model_ok(model: dict | None) -> bool:
    """Whether the purchase model was fitted and valued the customers."""
    return bool(model) and model.get("status") == "ok"


def segment_names(params: Params) -> dict[str, str]:
    """Each segment's name in the page's language, by its name in params."""
    return {rule.name: labels.segment(rule.name, params.report.language) for rule in params.rfm.segments}


def trend_panels(params: Params) -> list[tuple[str, str, object]]:
    """The trend chart's panels: column, title and tick formatter."""
    language = params.report.language
    return [
        ("revenue", labels.t("kpi_revenue", language), money_format(params)),
        ("orders", labels.t("kpi_orders", language), formats.count),
        ("buyers", labels.t("kpi_buyers", language), formats.count),
        ("active", labels.t("trend_active", language), formats.count),
    ]


def money_format(params: Params):
    """Amounts as the page writes them on bars and axes (whole units)."""

    def money(value: float) -> str:
        return formats.money(value, params.currency, params.report.language, decimals=0)

    return money


SEGMENT_KINDS = {
    "segment": "segment",
    "share_of_customers": "share",
    "share_of_spend": "share",
    "median_recency_days": "days",
    "change": "delta",
}
STATUS_KINDS = {"status": "status", "share_of_customers": "share", "change": "change"}
TRUTH_KINDS = {"segment": "segment", "median_recency_days": "days"}
CLUSTER_KINDS = {
    "cluster_name": "cluster",
    "share_of_customers": "share",
    "share_of_spend": "share",
    "median_recency_days": "days",
    "median_frequency_orders": "number",
    "median_monetary_total": "money",
}
CLV_KINDS = {
    "segment": "segment",
    "status": "status",
    "cluster_name": "cluster",
    "total_clv": "money",
    "mean_clv": "money",
    "mean_p_alive": "probability",
    "share_of_clv": "share",
    "value_at_stake": "money",
}
QUALITY_KINDS = {"outcome": "text", "share": "share"}


def clv_groups_for_page(table: pd.DataFrame, language: str, p_alive_trusted: bool = True) -> pd.DataFrame:
    """A :func:`clv_by_group` table for the page: shares as 0-1, customers without a group named in
    the page's language (the group's own names are translated by the table's kinds); without the mean
    P(alive) of a degenerated purchase model (:func:`helpers.status.p_alive_trusted`)."""
    shown = table.rename(columns={"share_of_clv_%": "share_of_clv"})
    if not p_alive_trusted:
        shown = shown.drop(columns="mean_p_alive")
    shown["share_of_clv"] = shown["share_of_clv"] / 100.0
    column = shown.columns[0]
    shown[column] = shown[column].replace({"(none)": labels.t("no_group", language)})
    return shown
