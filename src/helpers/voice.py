"""Stage 05, the voice of the customer: how customers contact the business (interactions), what they
say of it (survey scores, complaints, reviews) and whether that goes with their leaving.

Row-heavy work (every contact, every answer, every order) is aggregated by the engine (Ibis on DuckDB or
Spark) into small tables; the statistics on them (NPS and its interval, the churn comparison and its
test) are plain pandas and :mod:`scipy` on those few rows. Complaint texts are only read to classify
complaints without a category (:mod:`helpers.complaints`); no product holds a text.

Definitions, each stated once here:

- **Windows.** The period is ``period_start`` .. ``as_of`` (days included); the last 12 months are the
  365 days ending on ``as_of``; nothing after ``as_of`` is read.
- **NPS** (``nps_0_10``): promoters answer 9-10, passives 7-8, detractors 0-6; NPS = 100 × (promoters −
  detractors) / answers, in points from −100 to +100. Its interval is the normal (Wald) interval of a mean
  of +1/0/−1 answers at ``voice.confidence``, given from :data:`MIN_INTERVAL_ANSWERS` answers on.
- **CSAT** (``csat_1_5``) and **stars** (``stars_1_5``): the share of answers of 4 or 5, and the mean.
- **Resolved**: a complaint with a ``resolved_ts`` is resolved from that time on; without one its
  ``status`` decides (one of :data:`RESOLVED_WORDS`, any case); with neither column mapped its state is
  unknown; with the columns mapped but both empty it is open.
- **Churn** (the voice-and-value comparison): the cut is ``as_of`` minus ``churn.window_days``;
  among customers who bought before the cut, a customer churned when they placed no order from the cut to
  ``as_of``. A customer is in a complaint group by their first complaint filed before the cut (its state
  at ``as_of``), and in a score group by their last NPS answer before the cut, so every customer compared
  had the same window to come back after what they said.
"""

from __future__ import annotations

import datetime as dt
import math

import ibis
import ibis.expr.types as ir
import pandas as pd

from helpers import formats, labels
from helpers.complaints import KEYWORDS, MODEL, UNCATEGORISED
from helpers.schema import INTERACTION_CHANNELS

NPS, CSAT, STARS = "nps_0_10", "csat_1_5", "stars_1_5"
PROMOTER_FROM, DETRACTOR_UP_TO = 9, 6  # NPS: 9-10 promoters, 0-6 detractors, 7-8 passives
SATISFIED_FROM = 4  # CSAT and stars: 4-5 are satisfied answers
# The normal interval of an NPS needs enough answers to be honest; with fewer the page gives none.
MIN_INTERVAL_ANSWERS = 30
RESOLVED_WORDS = ("resolved", "closed", "solved", "done", "fixed", "已解决", "已处理", "已关闭")
YEAR_DAYS = 365
# The customer groups of the voice-and-value comparisons.
UNRESOLVED, RESOLVED, NO_COMPLAINT = "unresolved complaint", "resolved complaint", "no complaint"
UNKNOWN_STATE = "complaint, state unknown"
PROMOTERS, PASSIVES, DETRACTORS = "promoters", "passives", "detractors"
NO_ORDERS = "no orders"  # the segment and channel of an answering customer without an order
# (comparison key, group a, group b, which grouping): a is the group expected to churn more.
COMPARISONS = (
    ("complaint_resolution", UNRESOLVED, RESOLVED, "complaint_group"),
    ("complaint_any", UNRESOLVED, NO_COMPLAINT, "complaint_group"),
    ("score", DETRACTORS, PROMOTERS, "score_group"),
)
# The views of the satisfaction table: all answers of the period, of the last 12 months, by segment,
# by channel (12 months) and by month (the whole history up to as_of).
PERIOD_VIEW, YEAR_VIEW, SEGMENT_VIEW, CHANNEL_VIEW, MONTH_VIEW = (
    "period",
    "12 months",
    "segment",
    "channel",
    "month",
)


# ------------------------------------------------------------------------------------- windows


def day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


def windows(period_start: dt.date, as_of: dt.date) -> tuple[dt.datetime, dt.datetime, dt.datetime]:
    """(start of the period, start of the last 12 months, end exclusive) as timestamps."""
    end = day_start(as_of + dt.timedelta(days=1))
    return day_start(period_start), end - dt.timedelta(days=YEAR_DAYS), end


def churn_cut(as_of: dt.date, window_days: int) -> dt.datetime:
    """The start of the churn window: customers compared bought before it; churned = no order after it."""
    return day_start(as_of + dt.timedelta(days=1)) - dt.timedelta(days=window_days)


# ------------------------------------------------------------------------------------- contacts


def contact_summary(interactions: ir.Table, period_start: dt.date, as_of: dt.date) -> pd.DataFrame:
    """Contacts by channel and direction (``unknown`` when the source gives none): contacts and customers
    in the period and in the last 12 months, and the median duration in minutes of the 12 months'
    contacts that give one (phone, chat). One row per channel and direction that occurs, sorted."""
    start, year, end = windows(period_start, as_of)
    t = interactions.filter(interactions.interaction_ts < end)
    direction = t.direction.fill_null("unknown") if "direction" in t.columns else ibis.literal("unknown")
    t = t.mutate(direction=direction, in_period=t.interaction_ts >= start, in_year=t.interaction_ts >= year)
    aggregates = {
        "contacts_period": t.in_period.sum(),
        "customers_period": t.customer_id.nunique(where=t.in_period),
        "contacts_12m": t.in_year.sum(),
        "customers_12m": t.customer_id.nunique(where=t.in_year),
    }
    if "duration_s" in t.columns:
        # Spark's percentile takes no filter: the minutes outside the 12 months are made null instead.
        minutes = ibis.ifelse(t.in_year, t.duration_s / 60.0, ibis.null("float64"))
        aggregates["median_minutes_12m"] = minutes.median()
    frame = t.group_by(["channel", "direction"]).agg(**aggregates).to_pandas()
    frame = frame[(frame["contacts_12m"] > 0) | (frame["contacts_period"] > 0)]
    for name in ("contacts_period", "customers_period", "contacts_12m", "customers_12m"):
        frame[name] = frame[name].fillna(0).astype("int64")
    return frame.sort_values(["channel", "direction"]).reset_index(drop=True)


def customer_contacts(interactions: ir.Table, period_start: dt.date, as_of: dt.date) -> ir.Table:
    """Per customer with a contact up to ``as_of``: contacts in the period and the last 12 months, in and
    outbound (12 months, when the source gives a direction), per channel (``phone_period``,
    ``phone_12m``, ...), the last contact and the days since it."""
    start, year, end = windows(period_start, as_of)
    t = interactions.filter(interactions.interaction_ts < end)
    in_year, in_period = t.interaction_ts >= year, t.interaction_ts >= start
    aggregates = {
        "contacts_period": in_period.cast("int64").sum(),
        "contacts_12m": in_year.cast("int64").sum(),
    }
    if "direction" in t.columns:
        for direction in ("inbound", "outbound"):
            aggregates[f"{direction}_12m"] = (in_year & (t.direction == direction)).cast("int64").sum()
    for channel in INTERACTION_CHANNELS:
        aggregates[f"{channel}_period"] = (in_period & (t.channel == channel)).cast("int64").sum()
        aggregates[f"{channel}_12m"] = (in_year & (t.channel == channel)).cast("int64").sum()
    aggregates["last_contact_ts"] = t.interaction_ts.max()
    per = t.group_by("customer_id").agg(**aggregates)
    return per.mutate(
        days_since_contact=ibis.literal(as_of, type="date").delta(per.last_contact_ts.date(), unit="day")
    )


# ------------------------------------------------------------------------------------- feedback


def resolved_at(feedback: ir.Table, end: dt.datetime) -> ir.BooleanValue:
    """Whether each complaint is resolved before ``end`` (see the module's definition); NULL when the
    source maps neither ``resolved_ts`` nor ``status``."""
    by_status = None
    if "status" in feedback.columns:
        word = feedback.status.strip().lower()
        by_status = word.isin(RESOLVED_WORDS).fill_null(False)
    if "resolved_ts" in feedback.columns:
        by_time = feedback.resolved_ts < end
        fallback = by_status if by_status is not None else ibis.literal(False)
        return ibis.ifelse(feedback.resolved_ts.notnull(), by_time, fallback)
    if by_status is not None:
        return by_status
    return ibis.null("boolean")


def complaint_rows(feedback: ir.Table, as_of: dt.date, with_text: bool = True) -> pd.DataFrame:
    """The complaints filed up to ``as_of`` as a small frame: customer, time, category and text (for the
    classifier only; empty when the source maps none), resolved at ``as_of`` (or unknown) and the days
    it took (resolved ones with a ``resolved_ts``), sorted by time and customer."""
    end = windows(as_of, as_of)[2]
    t = feedback.filter((feedback.kind == "complaint") & (feedback.feedback_ts < end))
    days = (
        (t.resolved_ts.epoch_seconds() - t.feedback_ts.epoch_seconds()) / 86400.0
        if "resolved_ts" in t.columns
        else ibis.null("float64")
    )
    resolved = resolved_at(t, end)
    columns = {
        "customer_id": t.customer_id,
        "feedback_ts": t.feedback_ts,
        "category": t.category if "category" in t.columns else ibis.null("string"),
        "text": t.text if with_text and "text" in t.columns else ibis.null("string"),
        "resolved": resolved,
        "days_to_resolve": ibis.ifelse(resolved.fill_null(False), days, ibis.null("float64")),
    }
    frame = t.select(**columns).to_pandas()
    return frame.sort_values(["feedback_ts", "customer_id"], kind="mergesort").reset_index(drop=True)


def complaint_table(
    complaints: pd.DataFrame,
    period_start: dt.date,
    as_of: dt.date,
    categories: pd.Series,
    category_sources: pd.Series,
) -> pd.DataFrame:
    """Complaints by category, for the period and the last 12 months (``window``), with an ``all`` row
    each: complaints, customers, open and resolved at ``as_of`` (``unknown_state`` where the source
    gives no state), median days to resolve, repeat complainers (customers with two or more complaints of
    the window, of the category), and how many were categorised by the classifier (``classified``)."""
    start, year, _ = windows(period_start, as_of)
    frame = complaints.assign(category=categories.to_numpy(), source=category_sources.to_numpy())
    rows = []
    for window, since in ((PERIOD_VIEW, start), (YEAR_VIEW, year)):
        part = frame[frame["feedback_ts"] >= since]
        groups = [("all", part)] + [
            (name, part[part["category"] == name]) for name in sorted(part["category"].unique())
        ]
        for category, group in groups:
            per_customer = group["customer_id"].value_counts()
            state = group["resolved"]
            rows.append(
                {
                    "window": window,
                    "category": category,
                    "complaints": len(group),
                    "customers": int(per_customer.size),
                    "open": int((state == False).sum()),  # noqa: E712 (a nullable column)
                    "resolved": int((state == True).sum()),  # noqa: E712
                    "unknown_state": int(state.isna().sum()),
                    "median_days_to_resolve": float(group["days_to_resolve"].median())
                    if group["days_to_resolve"].notna().any()
                    else float("nan"),
                    "repeat_complainers": int((per_customer >= 2).sum()),
                    "classified": int(group["source"].isin([MODEL, KEYWORDS]).sum()),
                }
            )
    return pd.DataFrame(rows)


def customer_feedback(feedback: ir.Table, as_of: dt.date) -> ir.Table:
    """Per customer with feedback up to ``as_of``: complaints, complaints open at ``as_of``, the last
    complaint, and the latest answer on each scale (NPS, CSAT, stars) with its time."""
    end = windows(as_of, as_of)[2]
    t = feedback.filter(feedback.feedback_ts < end)
    is_complaint = t.kind == "complaint"
    resolved = resolved_at(t, end)
    per = t.group_by("customer_id").agg(
        complaints=is_complaint.cast("int64").sum(),
        open_complaints=(is_complaint & ~resolved).fill_null(False).cast("int64").sum(),
        last_complaint_ts=t.feedback_ts.max(where=is_complaint),
        last_feedback_ts=t.feedback_ts.max(),
    )
    if "score" not in t.columns or "scale" not in t.columns:
        return per
    for scale, name in ((NPS, "nps"), (CSAT, "csat"), (STARS, "stars")):
        latest = latest_answers(t, scale, end).select(
            "customer_id", **{f"latest_{name}": "score", f"latest_{name}_ts": "feedback_ts"}
        )
        per = per.left_join(latest, "customer_id").drop("customer_id_right")
    return per


def latest_answers(feedback: ir.Table, scale: str, before: dt.datetime) -> ir.Table:
    """Each customer's last answer on ``scale`` before ``before`` (ties at the same time: the lowest
    score, so that reruns agree): customer_id, feedback_ts, score."""
    t = feedback.filter(
        (feedback.scale == scale) & feedback.score.notnull() & (feedback.feedback_ts < before)
    ).select("customer_id", "feedback_ts", "score")
    ranked = t.mutate(
        rank=ibis.row_number().over(
            group_by="customer_id", order_by=[ibis.desc("feedback_ts"), ibis.asc("score")]
        )
    )
    return ranked.filter(ranked["rank"] == 0).drop("rank")


def customer_features(contacts: ir.Table | None, feedback: ir.Table | None) -> ir.Table:
    """The per-customer voice product: every customer with a contact or feedback (up to the ``as_of`` the
    two parts were computed for), the
    contact figures (:func:`customer_contacts`) and the feedback figures (:func:`customer_feedback`),
    counts 0 where a customer has none, sorted by customer."""
    parts = [p for p in (contacts, feedback) if p is not None]
    ids = parts[0].select("customer_id")
    for part in parts[1:]:
        ids = ids.union(part.select("customer_id"))
    table = ids.distinct()
    for part in parts:
        table = table.left_join(part, "customer_id").drop("customer_id_right")
    counts = [
        name
        for name, kind in table.schema().items()
        if kind.is_integer() and name not in ("days_since_contact",) and not name.startswith("latest_")
    ]
    return table.mutate(**{name: table[name].fill_null(0) for name in counts}).order_by("customer_id")


# ---------------------------------------------------------------------------------- satisfaction

SCORE_COLUMNS = ["answers", "promoters", "passives", "detractors", "nps", "nps_se", "nps_low", "nps_high"]
SCORE_COLUMNS += ["satisfied", "satisfied_share", "mean_score"]
SATISFACTION_COLUMNS = ["view", "group", "scale", "customers", *SCORE_COLUMNS]


def nps_figures(promoters: int, passives: int, detractors: int, confidence: float) -> dict[str, float]:
    """NPS in points, its standard error and interval at ``confidence`` (NaN below
    :data:`MIN_INTERVAL_ANSWERS` answers, and everything NaN without answers).

    Each answer counts +1 (promoter), 0 (passive) or −1 (detractor); NPS is 100 × their mean, whose
    variance per answer is (P + D)/n − ((P − D)/n)²; the interval is NPS ± z × 100 × √(variance / n),
    clipped to −100..100."""
    from scipy.stats import norm

    answers = promoters + passives + detractors
    if answers == 0:
        return {"nps": math.nan, "nps_se": math.nan, "nps_low": math.nan, "nps_high": math.nan}
    mean = (promoters - detractors) / answers
    variance = (promoters + detractors) / answers - mean**2
    se = 100 * math.sqrt(max(variance, 0.0) / answers)
    low = high = math.nan
    if answers >= MIN_INTERVAL_ANSWERS:
        z = float(norm.ppf(0.5 + confidence / 2))
        low, high = max(-100.0, 100 * mean - z * se), min(100.0, 100 * mean + z * se)
    return {"nps": 100 * mean, "nps_se": se, "nps_low": low, "nps_high": high}


def score_summary(counts: pd.DataFrame, keys: list[str], confidence: float) -> pd.DataFrame:
    """From answer counts (``keys``, ``scale``, ``score``, ``answers``) one row per ``keys`` and scale:
    answers, and for NPS promoters, passives, detractors, NPS with its interval; for CSAT and stars the
    satisfied answers (4-5), their share (0-1) and the mean score."""
    rows = []
    for values, group in counts.groupby([*keys, "scale"], sort=True, dropna=False):
        *key_values, scale = values
        score, answers = group["score"].astype(float), group["answers"].astype("int64")
        row = dict(zip(keys, key_values), scale=scale, answers=int(answers.sum()))
        if scale == NPS:
            promoters = int(answers[score >= PROMOTER_FROM].sum())
            detractors = int(answers[score <= DETRACTOR_UP_TO].sum())
            row.update(
                promoters=promoters, passives=row["answers"] - promoters - detractors, detractors=detractors
            )
            row.update(nps_figures(promoters, row["passives"], detractors, confidence))
        else:
            satisfied = int(answers[score >= SATISFIED_FROM].sum())
            row.update(satisfied=satisfied, satisfied_share=satisfied / row["answers"])
        row["mean_score"] = float((score * answers).sum() / answers.sum())
        rows.append(row)
    table = pd.DataFrame(rows).reindex(columns=[*keys, "scale", *SCORE_COLUMNS])
    counts = ["answers", "promoters", "passives", "detractors", "satisfied"]  # missing where not its scale
    return table.astype({name: "Int64" for name in counts})


def main_channel(transactions: ir.Table, as_of: dt.date) -> ir.Table:
    """Each customer's main order channel up to ``as_of``: the channel of most of their orders (ties:
    the first by name). Needs the transactions' ``channel``."""
    end = windows(as_of, as_of)[2]
    t = transactions.filter(
        (transactions.order_ts < end) & ~transactions.is_return & transactions.channel.notnull()
    )
    orders = t.order_id.nunique() if "order_id" in t.columns else t.count()  # lines of one order count once
    per = t.group_by(["customer_id", "channel"]).agg(rows=orders)
    ranked = per.mutate(
        rank=ibis.row_number().over(group_by="customer_id", order_by=[ibis.desc("rows"), ibis.asc("channel")])
    )
    return ranked.filter(ranked["rank"] == 0).select("customer_id", "channel")


def satisfaction_table(
    feedback: ir.Table,
    period_start: dt.date,
    as_of: dt.date,
    confidence: float,
    segments: ir.Table | None = None,
    channels: ir.Table | None = None,
    period_label: str = "period",
) -> pd.DataFrame:
    """Scores summarised (:func:`score_summary`) by ``view``: the period's answers (group: the period's
    label), the last 12 months', by RFM segment and by the customer's main order channel (12 months),
    and by month (group ``YYYY-MM``) over the whole history up to ``as_of``; each row also counts the
    distinct customers who answered (``customers``, which hides small groups on the page)."""
    start, year, end = windows(period_start, as_of)
    t = feedback.filter(feedback.score.notnull() & feedback.scale.notnull() & (feedback.feedback_ts < end))
    t = t.select("customer_id", "feedback_ts", "scale", "score")
    views: list[tuple[str, ir.Table, ir.Value]] = [
        (PERIOD_VIEW, t.filter(t.feedback_ts >= start), ibis.literal(period_label)),
        (YEAR_VIEW, t.filter(t.feedback_ts >= year), ibis.literal(YEAR_VIEW)),
    ]
    if segments is not None:
        joined = t.filter(t.feedback_ts >= year).left_join(segments, "customer_id")
        views.append((SEGMENT_VIEW, joined, joined.segment.fill_null(NO_ORDERS)))
    if channels is not None:
        joined = t.filter(t.feedback_ts >= year).left_join(channels, "customer_id")
        views.append((CHANNEL_VIEW, joined, joined.channel.fill_null(NO_ORDERS)))
    views.append((MONTH_VIEW, t, t.feedback_ts.strftime("%Y-%m")))
    frames = []
    for view, table, group in views:
        table = table.mutate(group=group)
        counts = table.group_by(["group", "scale", "score"]).agg(answers=table.count()).to_pandas()
        if counts.empty:
            continue
        people = table.group_by(["group", "scale"]).agg(customers=table.customer_id.nunique()).to_pandas()
        summary = score_summary(counts, ["group"], confidence).merge(people, on=["group", "scale"])
        frames.append(summary.assign(view=view))
    if not frames:
        return pd.DataFrame(columns=SATISFACTION_COLUMNS)
    table = pd.concat(frames, ignore_index=True)[SATISFACTION_COLUMNS]
    return table.sort_values(["view", "scale", "group"]).reset_index(drop=True)


# --------------------------------------------------------------------------------- voice and value


def proportion_test(churned_a: int, customers_a: int, churned_b: int, customers_b: int) -> tuple[float, str]:
    """Two-sided p-value that two churn rates differ, and the test used: the two-proportion z-test
    (pooled) when every cell of the 2×2 table expects at least 5 customers, else Fisher's exact test."""
    from scipy.stats import fisher_exact, norm

    total, churned = customers_a + customers_b, churned_a + churned_b
    expected = [
        customers * share
        for customers in (customers_a, customers_b)
        for share in (churned / total, 1 - churned / total)
    ]
    if min(expected) >= 5:
        pooled = churned / total
        se = math.sqrt(pooled * (1 - pooled) * (1 / customers_a + 1 / customers_b))
        z = (churned_a / customers_a - churned_b / customers_b) / se
        return float(2 * norm.sf(abs(z))), "z"
    table = [[churned_a, customers_a - churned_a], [churned_b, customers_b - churned_b]]
    return float(fisher_exact(table)[1]), "fisher"


def churn_groups(
    transactions: ir.Table, feedback: ir.Table, as_of: dt.date, window_days: int
) -> pd.DataFrame:
    """Customers and churned customers by complaint group and by score group (see the module's
    definition of churn): ``grouping`` (``complaint_group`` / ``score_group``), ``group``,
    ``customers``, ``churned``. Computed by the engine; only the counts come back."""
    cut, end = churn_cut(as_of, window_days), windows(as_of, as_of)[2]
    o = transactions.filter((transactions.order_ts < end) & ~transactions.is_return)
    buyers = o.group_by("customer_id").agg(
        before=o.order_ts.min(),
        after=o.order_ts.count(where=o.order_ts >= cut),
    )
    buyers = buyers.filter(buyers.before < cut).select("customer_id", churned=buyers.after == 0)
    c = feedback.filter((feedback.kind == "complaint") & (feedback.feedback_ts < cut))
    c = c.mutate(resolved=resolved_at(c, end))
    first = c.mutate(
        rank=ibis.row_number().over(
            group_by="customer_id", order_by=[ibis.asc("feedback_ts"), ibis.desc("resolved")]
        )
    )
    first = first.filter(first["rank"] == 0).select(
        "customer_id", first_resolved=first.resolved, has_complaint=ibis.literal(True)
    )
    table = buyers.left_join(first, "customer_id").drop("customer_id_right")
    complaint_group = ibis.cases(
        (table.has_complaint.isnull(), NO_COMPLAINT),
        (table.first_resolved.isnull(), UNKNOWN_STATE),
        (table.first_resolved, RESOLVED),
        else_=UNRESOLVED,
    )
    frames = [_group_counts(table, complaint_group, "complaint_group")]
    if "score" in feedback.columns and "scale" in feedback.columns:
        latest = latest_answers(feedback, NPS, cut).select("customer_id", "score")
        scored = buyers.inner_join(latest, "customer_id")
        score_group = ibis.cases(
            (scored.score >= PROMOTER_FROM, PROMOTERS),
            (scored.score <= DETRACTOR_UP_TO, DETRACTORS),
            else_=PASSIVES,
        )
        frames.append(_group_counts(scored, score_group, "score_group"))
    return pd.concat(frames, ignore_index=True).sort_values(["grouping", "group"]).reset_index(drop=True)


def _group_counts(table: ir.Table, group: ir.StringValue, grouping: str) -> pd.DataFrame:
    table = table.mutate(group=group)
    counts = table.group_by("group").agg(customers=table.count(), churned=table.churned.cast("int64").sum())
    return counts.to_pandas().assign(grouping=grouping)[["grouping", "group", "customers", "churned"]]


def voice_value(groups: pd.DataFrame, confidence: float) -> pd.DataFrame:
    """The churn comparisons (:data:`COMPARISONS`) from :func:`churn_groups`' counts: per comparison the
    two groups' customers, churned customers and churn rate (0-1), the ratio and difference (points) of
    the rates, the test's p-value and name, and whether the difference is significant at
    ``confidence``; a group without customers leaves the test empty."""
    rows = []
    for key, a, b, grouping in COMPARISONS:
        part = groups[groups["grouping"] == grouping].set_index("group")
        if part.empty:
            continue
        n_a, x_a = (int(part.at[a, "customers"]), int(part.at[a, "churned"])) if a in part.index else (0, 0)
        n_b, x_b = (int(part.at[b, "customers"]), int(part.at[b, "churned"])) if b in part.index else (0, 0)
        rate_a = x_a / n_a if n_a else math.nan
        rate_b = x_b / n_b if n_b else math.nan
        p_value, test, significant = math.nan, "", None
        if n_a and n_b and 0 < x_a + x_b < n_a + n_b:
            p_value, test = proportion_test(x_a, n_a, x_b, n_b)
            significant = bool(p_value < 1 - confidence)
        elif n_a and n_b:  # every customer churned, or none did: the rates are equal
            p_value, test, significant = 1.0, "equal", False
        rows.append(
            {
                "comparison": key,
                "group_a": a,
                "customers_a": n_a,
                "churned_a": x_a,
                "churn_rate_a": rate_a,
                "group_b": b,
                "customers_b": n_b,
                "churned_b": x_b,
                "churn_rate_b": rate_b,
                "ratio": rate_a / rate_b if n_a and n_b and rate_b > 0 else math.nan,
                "difference_points": 100 * (rate_a - rate_b) if n_a and n_b else math.nan,
                "p_value": p_value,
                "test": test,
                "significant": significant,
            }
        )
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------- the facts


def facts(
    has_contacts: bool,
    has_feedback: bool,
    has_scores: bool,
    classification: dict | None,
    unlabelled: int,
    as_of: dt.date,
    window_days: int,
    confidence: float,
    has_durations: bool,
) -> dict:
    """The stage's figures for the page (the ``voice_facts`` product): which sources it had, the complaint
    classification, the churn window and its cut, the confidence and the interval's minimum answers."""
    return {
        "contacts": has_contacts,
        "feedback": has_feedback,
        "scores": has_scores,
        "durations": has_durations,
        "response_times": False,  # the contacts schema has no response time; durations are given instead
        "classification": {**(classification or {}), "without_category": unlabelled},
        "as_of": as_of,
        "churn_window_days": window_days,
        "churn_cut": churn_cut(as_of, window_days).date(),
        "confidence": confidence,
        "min_interval_answers": MIN_INTERVAL_ANSWERS,
    }


# ------------------------------------------------------------------------------------- the page

# How the report formats the columns of the voice tables (helpers.page.table).
NPS_KINDS = {"segment": "segment", "nps": "signed", "nps_low": "signed", "nps_high": "signed"}
COMPLAINT_KINDS = {"category": "text", "median_days_to_resolve": "days"}
CHURN_KINDS = {"customer_group": "text", "churn_rate": "share"}


def _signed(value: float) -> str:
    return formats.MISSING if formats.is_missing(value) else f"{value:+.1f}"


def _p_value(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def _row(satisfaction: pd.DataFrame, view: str, scale: str) -> pd.Series | None:
    rows = satisfaction[(satisfaction["view"] == view) & (satisfaction["scale"] == scale)]
    return None if rows.empty else rows.iloc[0]


def nps_sentence(
    satisfaction: pd.DataFrame, end: dt.date, confidence: float, language: str, smallest: int = 1
) -> str:
    """The NPS of the last 12 months' answers with its counts and interval, or why there is no interval,
    or that nobody answered; from fewer than ``smallest`` answers (privacy.min_group_size) only that
    they were too few (a figure would tell single customers' scores)."""
    row = _row(satisfaction, YEAR_VIEW, NPS)
    when = {"end": formats.date(end, language)}
    if row is None:
        return labels.t("voice_nps_none", language, **when)
    if row["answers"] < smallest:
        return labels.t("voice_too_few_answers", language, minimum=smallest, **when)
    values = {
        **when,
        "nps": _signed(row["nps"]),
        "answers": formats.count(row["answers"]),
        "promoters": formats.count(row["promoters"]),
        "passives": formats.count(row["passives"]),
        "detractors": formats.count(row["detractors"]),
    }
    if formats.is_missing(row["nps_low"]):
        return labels.t("voice_nps_no_interval", language, minimum=MIN_INTERVAL_ANSWERS, **values)
    low, high = _signed(row["nps_low"]), _signed(row["nps_high"])
    level = formats.share(confidence, 0)
    return labels.t("voice_nps", language, low=low, high=high, confidence=level, **values)


def satisfied_sentences(satisfaction: pd.DataFrame, language: str, smallest: int = 1) -> list[str]:
    """For CSAT and stars, the share of the last 12 months' answers that gave 4 or 5, when there are at
    least ``smallest`` (privacy.min_group_size)."""
    out = []
    for scale in (CSAT, STARS):
        row = _row(satisfaction, YEAR_VIEW, scale)
        if row is not None and row["answers"] >= smallest:
            out.append(
                labels.t(
                    f"voice_satisfied_{scale}",
                    language,
                    share=formats.share(row["satisfied_share"]),
                    answers=formats.count(row["answers"]),
                    mean=formats.number(row["mean_score"], 2),
                )
            )
    return out


def nps_trend(satisfaction: pd.DataFrame, min_customers: int) -> pd.DataFrame:
    """NPS by month for the chart (``month``, ``nps``, ``nps_low``, ``nps_high``), without the months whose
    answering customers are fewer than ``min_customers`` (privacy)."""
    rows = satisfaction[(satisfaction["view"] == MONTH_VIEW) & (satisfaction["scale"] == NPS)]
    rows = rows[rows["customers"] >= min_customers]
    return rows.rename(columns={"group": "month"})[["month", "nps", "nps_low", "nps_high"]].reset_index(
        drop=True
    )


def nps_by_segment(satisfaction: pd.DataFrame, segment_order: list[str], language: str) -> pd.DataFrame:
    """NPS by RFM segment (last 12 months) in the segment table's order (customers without an order
    last, in words), for the page."""
    rows = satisfaction[(satisfaction["view"] == SEGMENT_VIEW) & (satisfaction["scale"] == NPS)]
    rank = {name: i for i, name in enumerate(segment_order)}
    rows = rows.assign(order=rows["group"].map(rank).fillna(len(rank))).sort_values(["order", "group"])
    table = rows.rename(columns={"group": "segment"})
    table["segment"] = table["segment"].replace({NO_ORDERS: labels.t("voice_no_orders", language)})
    columns = ["segment", "customers", "answers", "promoters", "detractors", "nps", "nps_low", "nps_high"]
    return table[columns].reset_index(drop=True)


def complaints_for_page(complaints: pd.DataFrame, language: str) -> pd.DataFrame:
    """The last 12 months' complaints by category (all complaints first), for the page."""
    rows = complaints[complaints["window"] == YEAR_VIEW].copy()
    rows["order"] = (rows["category"] != "all").astype(int)
    rows = rows.sort_values(["order", "complaints", "category"], ascending=[True, False, True])
    rows["category"] = rows["category"].map(
        lambda name: (
            labels.t("voice_all_complaints", language)
            if name == "all"
            else labels.t("voice_uncategorised", language)
            if name == UNCATEGORISED
            else name
        )
    )
    columns = ["category", "complaints", "customers", "open", "resolved", "median_days_to_resolve"]
    return rows[[*columns, "repeat_complainers"]].reset_index(drop=True)


def classification_sentence(voice_facts: dict, language: str) -> str | None:
    """How the complaints without a category were categorised (None when every one had a category)."""
    info = voice_facts.get("classification") or {}
    todo = info.get("without_category", 0)
    if not todo:
        return None
    if info.get("method") == MODEL:
        return labels.t(
            "voice_classified_model",
            language,
            count=formats.count(todo),
            labelled=formats.count(info["labelled"]),
            accuracy=formats.share(info["accuracy"]),
            test=formats.count(info["test_rows"]),
        )
    if info.get("method") == KEYWORDS:
        return labels.t(
            "voice_classified_keywords",
            language,
            count=formats.count(todo),
            found=formats.count(info["classified"]),
        )
    return labels.t("voice_classified_none", language, count=formats.count(todo))


def _group_words(group: str, language: str) -> str:
    return labels.t(f"voice_group_{group.replace(' ', '_')}", language)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def churn_intro(voice_facts: dict, language: str, compared: bool = True) -> str:
    """The sentence that says who is compared and over which window (from the stage's facts); when
    nothing could be ``compared`` (nobody had bought before the cut), the sentence that says so."""
    cut, end = (dt.date.fromisoformat(str(voice_facts[key])) for key in ("churn_cut", "as_of"))
    return labels.t(
        "voice_churn_intro" if compared else "voice_churn_none",
        language,
        cut=formats.date(cut, language),
        end=formats.date(end, language),
        days=formats.days(voice_facts["churn_window_days"], language),
    )


def churn_table(value: pd.DataFrame, language: str) -> pd.DataFrame:
    """Each group of the comparisons once (``customer_group`` in words, customers, churned, churn rate)."""
    rows = {}
    for record in value.itertuples(index=False):
        for side in ("a", "b"):
            name = getattr(record, f"group_{side}")
            rows.setdefault(
                name,
                {
                    "customer_group": _capital(_group_words(name, language)),
                    "customers": getattr(record, f"customers_{side}"),
                    "churned": getattr(record, f"churned_{side}"),
                    "churn_rate": getattr(record, f"churn_rate_{side}"),
                },
            )
    return pd.DataFrame(list(rows.values()), columns=["customer_group", "customers", "churned", "churn_rate"])


def churn_sentences(value: pd.DataFrame, confidence: float, min_customers: int, language: str) -> list[str]:
    """One sentence per comparison: the two churn rates, their ratio and whether the difference is
    significant at ``confidence``; or why the two groups are not compared (a group without customers, or
    smaller than ``min_customers``, whose rate the page does not show)."""
    out = []
    for row in value.itertuples(index=False):
        names = {side: _group_words(getattr(row, f"group_{side}"), language) for side in ("a", "b")}
        if not row.customers_a or not row.customers_b:
            out.append(
                _capital(labels.t("voice_churn_empty", language, group_a=names["a"], group_b=names["b"]))
            )
            continue
        if min(row.customers_a, row.customers_b) < min_customers:
            out.append(
                _capital(
                    labels.t(
                        "voice_churn_small",
                        language,
                        group_a=names["a"],
                        group_b=names["b"],
                        minimum=min_customers,
                    )
                )
            )
            continue
        verdict = "voice_churn_significant" if row.significant else "voice_churn_not_significant"
        sentence = "voice_churn_no_ratio" if formats.is_missing(row.ratio) else "voice_churn"
        out.append(
            _capital(
                labels.t(
                    sentence,
                    language,
                    group_a=names["a"],
                    rate_a=formats.share(row.churn_rate_a),
                    churned_a=formats.count(row.churned_a),
                    customers_a=formats.count(row.customers_a),
                    group_b=names["b"],
                    rate_b=formats.share(row.churn_rate_b),
                    churned_b=formats.count(row.churned_b),
                    customers_b=formats.count(row.customers_b),
                    ratio=f"{row.ratio:.2f}",
                )
            )
            + labels.t(verdict, language, confidence=formats.share(confidence, 0), p=_p_value(row.p_value))
        )
    return out


def contacts_sentence(contacts: pd.DataFrame, end: dt.date, language: str) -> str:
    """The last 12 months' contacts in one sentence (inbound and outbound where the source says)."""
    if contacts is None or contacts["contacts_12m"].sum() == 0:
        return labels.t("voice_contacts_none", language, end=formats.date(end, language))
    by_direction = contacts.groupby("direction")["contacts_12m"].sum()
    return labels.t(
        "voice_contacts",
        language,
        contacts=formats.count(contacts["contacts_12m"].sum()),
        end=formats.date(end, language),
        inbound=formats.count(by_direction.get("inbound", 0)),
        outbound=formats.count(by_direction.get("outbound", 0)),
    ) + (
        labels.t("voice_contacts_unknown", language, count=formats.count(by_direction["unknown"]))
        if by_direction.get("unknown", 0)
        else ""
    )
