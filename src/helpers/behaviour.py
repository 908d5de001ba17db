"""Stage 04, events: sessions, per-customer engagement, the browse-to-buy funnel, search terms, activity
by weekday and hour, the page and product heat table, online next to offline, and region x category
interest.

Everything that touches one row per event is an Ibis expression (window functions and aggregations that
run the same on DuckDB and Spark, no loop over rows in Python); only small results (one row per funnel
step, search term, page, weekday x hour cell, region x category cell) come back to pandas.

Sessions. An event with a ``session_id`` belongs to the session the source gave it. Every other event is
placed by the inactivity rule on its visitor (``customer_id`` after stitching, else ``anonymous_id``) and
channel: events of one visitor on one channel belong to one session while each follows the previous one
by at most ``gap_minutes``; a pause longer than the gap (exactly the gap is not longer) starts a new
session. A web visit and an app or store visit are never one session.

Funnel. A session reaches step 1 at its first event of that type and step k at its first event of step
k's type at or after the time it reached step k - 1: a session that skips a step (a checkout without an
add to cart) reaches none of the later steps.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from helpers.engine import exact_sum

CHANNELS = ("web", "app", "store")  # the channels of the events schema, in page order
PURCHASE, PRODUCT_VIEW, SEARCH, ADD_TO_CART, STORE_VISIT = (
    "purchase", "product_view", "search", "add_to_cart", "store_visit",
)  # fmt: skip
FUNNEL_GROUPS = ("all", "channel", "segment", "customer_type")  # how the funnel table is split
ALL = "all"  # the group value of the whole funnel
NO_SEGMENT = "(no segment)"  # a session without a customer, or of a customer without an RFM segment
FIRST_TIME, RETURNING = "first_time", "returning"  # no order before the session / an order before it
NO_CHANNEL = "(no channel)"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # day_of_week.index(): Monday = 0
DECISION_SHARE = 0.5  # a term's conversion below this share of all sessions' is low-converting


def _day_after(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time())


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


def until(events: ir.Table, as_of: dt.date) -> ir.Table:
    """The events up to the end of ``as_of`` (history: later events are ignored)."""
    return events.filter(events.event_ts < _day_after(as_of))


# ------------------------------------------------------------------------------------------ sessions


def visitor_key(events: ir.Table) -> ir.StringValue:
    """Who did it: ``c:<customer_id>`` when known (after stitching), else ``a:<anonymous_id>``."""
    parts = []
    if "customer_id" in events.columns:
        parts.append("c:" + events.customer_id.cast("string"))
    if "anonymous_id" in events.columns:
        parts.append("a:" + events.anonymous_id.cast("string"))
    return ibis.coalesce(*parts) if len(parts) > 1 else parts[0]


def sessionise(events: ir.Table, gap_minutes: float) -> ir.Table:
    """The events with ``session_key`` (text, unique per session) and ``visitor``: the source's
    ``session_id`` where given, else the inactivity rule (module docstring) on visitor and channel.

    The rule is two window passes: the seconds since the visitor's previous event on the channel (a
    new session where there is none or it is more than the gap), then the running count of new
    sessions, which numbers the visitor's sessions."""
    t = events.mutate(visitor=visitor_key(events))
    for column in ("channel", "customer_id"):  # optional in the events schema; the stage reads them
        if column not in t.columns:
            t = t.mutate(**{column: ibis.null("string")})
    has_sid = "session_id" in t.columns
    given = t.filter(t.session_id.notnull()) if has_sid else None
    gapped = t.filter(t.session_id.isnull()) if has_sid else t
    lane = ibis.coalesce(gapped.channel, NO_CHANNEL)
    order = [gapped.event_ts, gapped.source_row] if "source_row" in gapped.columns else [gapped.event_ts]
    seconds = gapped.event_ts.epoch_seconds()
    previous = seconds.lag().over(ibis.window(group_by=[gapped.visitor, lane], order_by=order))
    gap_seconds = float(gap_minutes) * 60.0
    flagged = gapped.mutate(
        _lane=lane, _new=ibis.ifelse(previous.isnull() | ((seconds - previous) > gap_seconds), 1, 0)
    )
    number = flagged._new.sum().over(
        ibis.cumulative_window(
            group_by=[flagged.visitor, flagged._lane],
            order_by=[flagged.event_ts, flagged.source_row]
            if "source_row" in flagged.columns
            else [flagged.event_ts],
        )
    )
    numbered = flagged.mutate(session_key=flagged.visitor + "|" + flagged._lane + "|" + number.cast("string"))
    # Only what the stage reads later: the table is materialised, and each column costs (1M events
    # written to disk: 3.5 s with every column, 2.1 s with these).
    kept = [c for c in USED_COLUMNS if c in numbered.columns]
    if given is None:
        return numbered.select(*kept)
    given = given.mutate(session_key="s:" + given.session_id)
    return ibis.union(given.select(*kept), numbered.select(*kept))


# The columns of sessionise's result (source_row: which source row each event is).
USED_COLUMNS = (
    "event_ts", "customer_id", "event_type", "page", "product_id", "category", "search_term", "channel",
    "visitor", "session_key", "source_row",
)  # fmt: skip


def sessions(sessionised: ir.Table, steps: list[str]) -> ir.Table:
    """One row per session: its customer (``customer_id``, NULL for an anonymous one), visitor, channel
    (the smallest of its events' channels: one channel unless the source's session spans several), start,
    whether it bought, and for each funnel step ``reached_<step>`` (1/0) by the in-order rule
    (module docstring).

    One aggregation of the events for the session's attributes, and one per step over that step's
    events only (joined to the sessions that reached the step before), each used once."""
    s = sessionised
    base = s.group_by("session_key").agg(
        customer_id=s.customer_id.max() if "customer_id" in s.columns else ibis.null("string"),
        visitor=s.visitor.min(),
        channel=s.channel.min(),
        start_ts=s.event_ts.min(),
        bought=(s.event_type == PURCHASE).cast("int64").max(),
    )
    first = s.filter(s.event_type == steps[0])
    reached = first.group_by("session_key").agg(_t=first.event_ts.min())
    step_tables = [(steps[0], reached)]
    for step in steps[1:]:
        e = s.filter(s.event_type == step).select("session_key", "event_ts")
        joined = e.inner_join(reached, "session_key")
        joined = joined.filter(joined.event_ts >= joined._t)
        reached = joined.group_by("session_key").agg(_t=joined.event_ts.min())
        step_tables.append((step, reached))
    out = base
    for step, table in step_tables:
        found = table.select(_key=table.session_key, _hit=ibis.literal(1, type="int64"))
        out = out.left_join(found, out.session_key == found._key)
        out = out.mutate(**{f"reached_{step}": out._hit.fill_null(0)}).drop("_key", "_hit")
    return out


def in_window(table: ir.Table, column: str, start: dt.date | None, end: dt.date) -> ir.Table:
    """Rows whose ``column`` falls from the start of ``start`` (None: no lower bound) to the end of
    ``end``."""
    kept = table.filter(table[column] < _day_after(end))
    return kept if start is None else kept.filter(kept[column] >= _start_of(start))


# ------------------------------------------------------------------------------------------ funnel


def first_orders(transactions: ir.Table) -> ir.Table:
    """Each customer's first purchase time (returns are not purchases)."""
    t = transactions
    bought = t.filter(~t.is_return) if "is_return" in t.columns else t
    return bought.group_by("customer_id").agg(first_order_ts=bought.order_ts.min())


def with_groups(
    session_table: ir.Table, transactions: ir.Table | None, segments: ir.Table | None = None
) -> ir.Table:
    """Sessions with ``segment`` (the customer's RFM segment, :data:`NO_SEGMENT` without one) and
    ``customer_type`` (:data:`RETURNING` when the customer ordered before the session started, else
    :data:`FIRST_TIME`, anonymous sessions included)."""
    out = session_table
    if segments is not None:
        seg = segments.select(_c=segments.customer_id, _segment=segments.segment)
        out = out.left_join(seg, out.customer_id == seg._c)
        out = out.mutate(segment=ibis.coalesce(out._segment, NO_SEGMENT)).drop("_c", "_segment")
    else:
        out = out.mutate(segment=ibis.literal(NO_SEGMENT))
    if transactions is not None:
        first = first_orders(transactions)
        first = first.select(_c=first.customer_id, _first=first.first_order_ts)
        out = out.left_join(first, out.customer_id == first._c)
        out = out.mutate(
            customer_type=ibis.ifelse(
                out._first.notnull() & (out._first < out.start_ts), RETURNING, FIRST_TIME
            )
        ).drop("_c", "_first")
    else:
        out = out.mutate(customer_type=ibis.literal(FIRST_TIME))
    return out


def funnel(grouped_sessions: ir.Table, steps: list[str]) -> pd.DataFrame:
    """The funnel of the given sessions: for every group (``all``, then by channel, segment and customer
    type) and step, the sessions and customers reaching it, the share of the previous step's sessions
    that reached it (``conversion``; 1 - it is ``drop_off``) and the share of the first step's
    (``of_first``). Sorted by group kind, group and step."""
    s = grouped_sessions
    frames = []
    for kind in FUNNEL_GROUPS:
        key = ibis.literal(ALL) if kind == ALL else ibis.coalesce(s[kind], NO_CHANNEL)
        metrics = {}
        for i, step in enumerate(steps):
            hit = s[f"reached_{step}"] == 1
            metrics[f"s{i}"] = s[f"reached_{step}"].sum()
            metrics[f"c{i}"] = s.customer_id.nunique(where=hit)
        counted = s.group_by(group=key).agg(**metrics).execute()
        if kind == ALL and counted.empty:  # no visit at all: the whole funnel is there, with zeros
            counted = pd.DataFrame([{"group": ALL, **{name: 0 for name in metrics}}])
        for _, row in counted.iterrows():
            for i, step in enumerate(steps):
                frames.append(
                    {
                        "group_kind": kind,
                        "group": str(row["group"]),
                        "step_no": i + 1,
                        "step": step,
                        "sessions": int(row[f"s{i}"] or 0),
                        "customers": int(row[f"c{i}"] or 0),
                    }
                )
    table = pd.DataFrame(frames, columns=["group_kind", "group", "step_no", "step", "sessions", "customers"])
    if table.empty:
        return table.assign(conversion=pd.Series(dtype=float), drop_off=pd.Series(dtype=float),
                            of_first=pd.Series(dtype=float))  # fmt: skip
    # A group none of whose sessions reached the first step (store visits) has no funnel to show.
    first_step = table[table["step_no"] == 1].set_index(["group_kind", "group"])["sessions"]
    shown = first_step[(first_step > 0) | (first_step.index.get_level_values(0) == ALL)].index
    table = table[table.set_index(["group_kind", "group"]).index.isin(shown)]
    table["group_kind"] = pd.Categorical(table["group_kind"], FUNNEL_GROUPS, ordered=True)
    table = table.sort_values(["group_kind", "group", "step_no"], kind="mergesort").reset_index(drop=True)
    table["group_kind"] = table["group_kind"].astype(str)
    by = table.groupby(["group_kind", "group"], sort=False)["sessions"]
    previous = by.shift(1)
    first = by.transform("first")
    table["conversion"] = np.where(previous > 0, table["sessions"] / previous, np.nan)
    table.loc[table["step_no"] == 1, "conversion"] = np.nan
    table["drop_off"] = 1.0 - table["conversion"]
    table["of_first"] = np.where(first > 0, table["sessions"] / first.replace(0, np.nan), np.nan)
    return table


def largest_drop(funnel_table: pd.DataFrame, group_kind: str = ALL, group: str = ALL) -> dict | None:
    """The step with the largest drop-off in one group's funnel (ties: the earlier step): the step
    before, the step, the sessions at the step before and the share lost; None when no step has
    sessions before it."""
    f = funnel_table[(funnel_table["group_kind"] == group_kind) & (funnel_table["group"] == group)]
    f = f[f["drop_off"].notna()].sort_values("step_no", kind="mergesort")
    if f.empty:
        return None
    row = f.loc[f["drop_off"].idxmax()]
    before = funnel_table[
        (funnel_table["group_kind"] == group_kind)
        & (funnel_table["group"] == group)
        & (funnel_table["step_no"] == row["step_no"] - 1)
    ].iloc[0]
    return {
        "from_step": str(before["step"]),
        "to_step": str(row["step"]),
        "sessions_before": int(before["sessions"]),
        "sessions_after": int(row["sessions"]),
        "drop_off": float(row["drop_off"]),
    }


# ------------------------------------------------------------------------------------------ engagement


def engagement(
    sessionised: ir.Table, session_table: ir.Table, transactions: ir.Table, as_of: dt.date
) -> ir.Table:
    """One row per customer with events up to ``as_of`` (anonymous visitors are not customers): sessions,
    active days, product views, searches, adds to cart, purchases (events), store visits, last seen, days
    since the last visit, the share of sessions on the web, the app and in store, the category of most of
    their product views (ties: the first by name) and its share, the browse-to-buy ratio (product views
    per purchase; NULL without a purchase), their orders up to ``as_of`` from the orders source (and per
    channel, web, app and store, when the orders name one; NULL otherwise), and
    ``status`` "potential" (the vocabulary's word) when they have none: the other statuses come from
    the scoring stage, which reads the orders."""
    e = sessionised.filter(sessionised.customer_id.notnull())
    kind = e.event_type
    per_event = e.group_by("customer_id").agg(
        active_days=e.event_ts.date().nunique(),
        product_views=(kind == PRODUCT_VIEW).cast("int64").sum(),
        searches=(kind == SEARCH).cast("int64").sum(),
        add_to_carts=(kind == ADD_TO_CART).cast("int64").sum(),
        purchases=(kind == PURCHASE).cast("int64").sum(),
        store_visits=(kind == STORE_VISIT).cast("int64").sum(),
        last_seen_ts=e.event_ts.max(),
    )
    st = session_table.filter(session_table.customer_id.notnull())
    per_session = st.group_by("customer_id").agg(
        sessions=st.count(),
        **{f"_{c}": (st.channel == c).cast("int64").sum() for c in CHANNELS},
    )
    per_session = per_session.mutate(
        **{f"share_{c}": per_session[f"_{c}"] / per_session.sessions.cast("float64") for c in CHANNELS}
    ).drop(*[f"_{c}" for c in CHANNELS])
    out = per_event.inner_join(per_session, "customer_id")
    if "category" in e.columns:
        views = e.filter((kind == PRODUCT_VIEW) & e.category.notnull())
        counts = views.group_by(["customer_id", "category"]).agg(_views=views.count())
        rank = ibis.row_number().over(
            ibis.window(group_by=counts.customer_id, order_by=[ibis.desc(counts._views), counts.category])
        )
        top = counts.mutate(_rank=rank).filter(lambda t: t._rank == 0)
        top = top.select(_c=top.customer_id, top_category=top.category, _top_views=top._views)
        out = out.left_join(top, out.customer_id == top._c).drop("_c")
        out = out.mutate(
            top_category_share=ibis.ifelse(
                out.product_views > 0,
                out._top_views / out.product_views.cast("float64"),
                ibis.null("float64"),
            )
        ).drop("_top_views")
    else:
        out = out.mutate(top_category=ibis.null("string"), top_category_share=ibis.null("float64"))
    t = transactions.filter(transactions.order_ts < _day_after(as_of))
    bought = t.filter(~t.is_return) if "is_return" in t.columns else t

    def count_orders(where=None):
        if "order_id" in bought.columns:
            return bought.order_id.nunique(where=where)
        return bought.count(where=where)

    by_channel = {}
    if "channel" in bought.columns:  # store purchases next to web and app ones
        place = bought.channel.lower()
        by_channel = {f"orders_{c}": count_orders(place == c) for c in CHANNELS}
    orders = bought.group_by("customer_id").agg(_orders=count_orders(), **by_channel)
    orders = orders.select(_c=orders.customer_id, orders=orders._orders, **{c: orders[c] for c in by_channel})
    out = out.left_join(orders, out.customer_id == orders._c).drop("_c")
    as_of_date = ibis.literal(as_of, type="date")
    if not by_channel:
        out = out.mutate(**{f"orders_{c}": ibis.null("int64") for c in CHANNELS})
    out = out.mutate(
        orders=out.orders.fill_null(0),
        **{f"orders_{c}": out[f"orders_{c}"].fill_null(0) for c in CHANNELS if by_channel},
        days_since_last_visit=as_of_date.delta(out.last_seen_ts.date(), unit="day"),
        browse_to_buy=ibis.ifelse(
            out.purchases > 0, out.product_views / out.purchases.cast("float64"), ibis.null("float64")
        ),
    )
    out = out.mutate(status=ibis.ifelse(out.orders == 0, "potential", ibis.null("string")))
    return out.select(*ENGAGEMENT_COLUMNS).order_by("customer_id")


ENGAGEMENT_COLUMNS = [
    "customer_id", "sessions", "active_days", "product_views", "searches", "add_to_carts", "purchases",
    "store_visits", "last_seen_ts", "days_since_last_visit", "share_web", "share_app", "share_store",
    "top_category", "top_category_share", "browse_to_buy", "orders", "orders_web", "orders_app",
    "orders_store", "status",
]  # fmt: skip


# ------------------------------------------------------------------------------------------ search


def search_terms(
    sessionised: ir.Table, session_table: ir.Table, top_n: int, min_searches: int
) -> tuple[pd.DataFrame, float]:
    """The ``top_n`` most searched terms (lower-cased, trimmed; ties by term) with their searches, the
    sessions that searched them, the share of those sessions that bought (``conversion``) and
    ``low_conversion``: searched at least ``min_searches`` times and converting at less than half the
    rate of all sessions. Also that rate of all sessions (the comparison)."""
    overall = session_table.agg(n=session_table.count(), b=session_table.bought.sum()).execute().iloc[0]
    rate = float(overall["b"] or 0) / float(overall["n"]) if int(overall["n"]) else 0.0
    columns = ["term", "searches", "sessions", "buying_sessions", "conversion", "low_conversion"]
    if "search_term" not in sessionised.columns:  # the source has no search terms
        return pd.DataFrame(columns=columns), rate
    e = sessionised.filter((sessionised.event_type == SEARCH) & sessionised.search_term.notnull())
    e = e.mutate(term=e.search_term.strip().lower())
    e = e.filter(e.term != "")
    bought = session_table.select(_key=session_table.session_key, _bought=session_table.bought)
    j = e.inner_join(bought, e.session_key == bought._key)
    per_term = j.group_by("term").agg(
        searches=j.count(),
        sessions=j.session_key.nunique(),
        buying_sessions=j.session_key.nunique(where=j._bought == 1),
    )
    top = per_term.order_by([ibis.desc(per_term.searches), per_term.term]).limit(top_n).execute()
    top["conversion"] = np.where(top["sessions"] > 0, top["buying_sessions"] / top["sessions"], np.nan)
    top["low_conversion"] = (top["searches"] >= min_searches) & (top["conversion"] < DECISION_SHARE * rate)
    return top.reset_index(drop=True), rate


# ------------------------------------------------------------------------------------------ activity


def activity(sessionised: ir.Table, session_table: ir.Table) -> pd.DataFrame:
    """Events and sessions (by their start) per weekday (0 = Monday) and hour of the day, every one of
    the 7 x 24 cells (0 where none). Times are the dataset's local times (cleaning converted them)."""
    e = sessionised
    events = e.group_by(weekday=e.event_ts.day_of_week.index(), hour=e.event_ts.hour()).agg(events=e.count())
    s = session_table
    starts = s.group_by(weekday=s.start_ts.day_of_week.index(), hour=s.start_ts.hour()).agg(
        sessions=s.count()
    )
    grid = pd.MultiIndex.from_product([range(7), range(24)], names=["weekday", "hour"]).to_frame(index=False)
    out = grid.merge(events.execute(), how="left", on=["weekday", "hour"]).merge(
        starts.execute(), how="left", on=["weekday", "hour"]
    )
    out[["events", "sessions"]] = out[["events", "sessions"]].fillna(0).astype("int64")
    out["weekday_name"] = [WEEKDAYS[int(d)] for d in out["weekday"]]
    return out[["weekday", "weekday_name", "hour", "sessions", "events"]]


def activity_grid(table: pd.DataFrame, value: str = "sessions") -> pd.DataFrame:
    """The weekday x hour table as a 7 x 24 matrix (rows Monday to Sunday) for a heat map."""
    grid = table.pivot(index="weekday", columns="hour", values=value).reindex(
        index=range(7), columns=range(24)
    )
    grid.index = [WEEKDAYS[i] for i in grid.index]
    return grid.fillna(0).astype("int64")


# ------------------------------------------------------------------------------------------ pages


def page_heat(sessionised: ir.Table, session_table: ir.Table, top_n: int) -> pd.DataFrame:
    """The ``top_n`` most visited pages (events with a page) and the ``top_n`` most viewed products
    (product views), each with its events, the sessions it was in, the share of those sessions that
    bought (``conversion``) and, for products, adds to cart. ``kind`` is page or product."""
    bought = session_table.select(_key=session_table.session_key, _bought=session_table.bought)
    e = sessionised.inner_join(bought, sessionised.session_key == bought._key)
    parts = []
    if "page" in e.columns:
        pages = e.filter(e.page.notnull())
        per = pages.group_by(item=pages.page).agg(
            events=pages.count(),
            sessions=pages.session_key.nunique(),
            buying_sessions=pages.session_key.nunique(where=pages._bought == 1),
        )
        per = per.mutate(add_to_carts=ibis.null("int64"))
        parts.append(("page", per))
    if "product_id" in e.columns:
        prods = e.filter(e.product_id.notnull() & e.event_type.isin([PRODUCT_VIEW, ADD_TO_CART]))
        is_view = prods.event_type == PRODUCT_VIEW
        per = prods.group_by(item=prods.product_id).agg(
            events=is_view.cast("int64").sum(),
            sessions=prods.session_key.nunique(where=is_view),
            buying_sessions=prods.session_key.nunique(where=is_view & (prods._bought == 1)),
            add_to_carts=(prods.event_type == ADD_TO_CART).cast("int64").sum(),
        )
        per = per.filter(per.events > 0)
        parts.append(("product", per))
    frames = []
    for kind, per in parts:
        top = per.order_by([ibis.desc(per.events), per.item]).limit(top_n).execute()
        frames.append(top.assign(kind=kind))
    columns = ["kind", "item", "events", "sessions", "buying_sessions", "add_to_carts", "conversion"]
    if not frames:
        return pd.DataFrame(columns=columns)
    out = pd.concat(frames, ignore_index=True)
    out["conversion"] = np.where(out["sessions"] > 0, out["buying_sessions"] / out["sessions"], np.nan)
    out["add_to_carts"] = out["add_to_carts"].astype("Int64")
    return out[columns]


# ------------------------------------------------------------------------------------------ channels


def channel_mix(
    session_table: ir.Table, transactions: ir.Table, start: dt.date, end: dt.date
) -> pd.DataFrame:
    """Online next to offline in the window: per channel, the sessions (a store session is a store
    visit), visitors, customers among them, sessions that bought (purchase events), and from the orders
    source, when it has a channel column, the orders, buyers and revenue placed on that channel."""
    s = session_table
    visits = (
        s.group_by(channel=ibis.coalesce(s.channel, NO_CHANNEL))
        .agg(
            sessions=s.count(),
            visitors=s.visitor.nunique(),
            customers=s.customer_id.nunique(),
            buying_sessions=s.bought.sum(),
        )
        .execute()
    )
    if "channel" in transactions.columns:
        t = in_window(transactions, "order_ts", start, end)
        bought = t.filter(~t.is_return) if "is_return" in t.columns else t
        orders = (
            t.group_by(channel=ibis.coalesce(t.channel.lower(), NO_CHANNEL))
            .agg(revenue=exact_sum(t.amount))
            .execute()
        )
        counted = (
            bought.group_by(channel=ibis.coalesce(bought.channel.lower(), NO_CHANNEL))
            .agg(
                orders=bought.order_id.nunique() if "order_id" in bought.columns else bought.count(),
                buyers=bought.customer_id.nunique(),
            )
            .execute()
        )
        visits = visits.merge(counted.merge(orders, how="outer", on="channel"), how="outer", on="channel")
    order = {c: i for i, c in enumerate(CHANNELS)}
    visits["_o"] = [order.get(c, len(order)) for c in visits["channel"]]
    visits = visits.sort_values(["_o", "channel"], kind="mergesort").drop(columns="_o").reset_index(drop=True)
    for column in ("sessions", "visitors", "customers", "buying_sessions", "orders", "buyers"):
        if column in visits.columns:
            visits[column] = visits[column].fillna(0).astype("int64")
    if "revenue" in visits.columns:
        visits["revenue"] = visits["revenue"].fillna(0.0).astype(float)
    return visits


# ------------------------------------------------------------------------------------------ region


def region_interest(
    events: ir.Table, transactions: ir.Table, customers: ir.Table, as_of: dt.date
) -> pd.DataFrame:
    """Region x category up to ``as_of``: product views (events, interest) and order lines (purchases,
    when the orders carry a category) of the customers of each region, each as a share of its region's
    total, and ``view_ratio`` / ``line_ratio``: the region's share divided by the share of the same
    category among the customers of every other region (1 = no difference)."""
    people = customers.filter(customers.region.notnull()).select(_c="customer_id", region="region")
    e = until(events, as_of)
    frame = pd.DataFrame({"region": pd.Series(dtype=object), "category": pd.Series(dtype=object)})
    if {"category", "customer_id"} <= set(e.columns):
        views = e.filter((e.event_type == PRODUCT_VIEW) & e.category.notnull() & e.customer_id.notnull())
        v = views.inner_join(people, views.customer_id == people._c)
        frame = v.group_by(["region", "category"]).agg(views=v.count()).execute()
    if "category" in transactions.columns:
        t = transactions.filter((transactions.order_ts < _day_after(as_of)) & transactions.category.notnull())
        t = t.filter(~t.is_return) if "is_return" in t.columns else t
        tl = t.inner_join(people, t.customer_id == people._c)
        lines = tl.group_by(["region", "category"]).agg(lines=tl.count()).execute()
        frame = frame.merge(lines, how="outer", on=["region", "category"])
    frame = frame.fillna(0)
    for measure in ("views", "lines"):
        if measure not in frame.columns:
            continue
        frame[measure] = frame[measure].astype("int64")
        region_total = frame.groupby("region")[measure].transform("sum")
        category_total = frame.groupby("category")[measure].transform("sum")
        total = frame[measure].sum()
        share = frame[measure] / region_total.replace(0, np.nan)
        others = (category_total - frame[measure]) / (total - region_total).replace(0, np.nan)
        frame[f"{measure[:-1]}_share"] = share
        frame[f"{measure[:-1]}_ratio"] = share / others.replace(0, np.nan)
    return frame.sort_values(["region", "category"], kind="mergesort").reset_index(drop=True)


# ------------------------------------------------------------------------------------------ page facts


def base_facts(params, has_events: bool, has_leads: bool) -> dict:
    """The figures the page and the report start from: the window, the settings, which sources exist."""
    return {
        "period_start": params.period_start,
        "as_of": params.as_of,
        "timezone": params.timezone,
        "has_events": has_events,
        "has_leads": has_leads,
        "session_gap_minutes": params.behaviour.session_gap_minutes,
        "funnel_steps": list(params.behaviour.funnel_steps),
    }


def session_facts(events: ir.Table, session_table: ir.Table, period_sessions: ir.Table) -> dict:
    """Visits up to the as-of date and in the period, the period's visitors, and whether the source
    gave session ids (the rule the sentence states)."""
    everything = session_table.agg(n=session_table.count()).execute().iloc[0]
    period = (
        period_sessions.agg(n=period_sessions.count(), v=period_sessions.visitor.nunique()).execute().iloc[0]
    )
    given = (
        int(events.agg(n=events.session_id.count()).execute().iloc[0]["n"])
        if "session_id" in events.columns
        else 0
    )
    return {
        "sessions": int(everything["n"]),
        "period_sessions": int(period["n"]),
        "period_visitors": int(period["v"]),
        "session_ids_given": given > 0,
    }


def session_sentence(facts: dict, language: str) -> str:
    from helpers import formats, labels

    minutes = f"{facts['session_gap_minutes']:g}"
    rule = labels.t(
        "session_rule_given" if facts["session_ids_given"] else "session_rule_gap", language, minutes=minutes
    )
    return labels.t(
        "sessions_sentence",
        language,
        sessions=formats.count(facts["sessions"]),
        as_of=formats.date(dt.date.fromisoformat(str(facts["as_of"])), language),
        period_sessions=formats.count(facts["period_sessions"]),
        visitors=formats.count(facts["period_visitors"]),
        rule=rule,
    )


def engagement_facts(engagement_table: ir.Table) -> dict:
    """Customers with events and how many of them are potential (no order)."""
    row = (
        engagement_table.agg(
            n=engagement_table.count(), p=(engagement_table.status == "potential").cast("int64").sum()
        )
        .execute()
        .iloc[0]
    )
    return {"engaged_customers": int(row["n"]), "potential_customers": int(row["p"] or 0)}


ENGAGEMENT_SPREAD = (
    "sessions", "active_days", "product_views", "searches", "add_to_carts", "purchases", "store_visits",
    "days_since_last_visit", "share_web", "share_app", "share_store", "browse_to_buy",
)  # fmt: skip


def engagement_overview(engagement_table: ir.Table) -> pd.DataFrame:
    """How the engagement figures spread over the customers: mean, quartiles and maximum of each."""
    t = engagement_table
    metrics = {}
    for column in ENGAGEMENT_SPREAD:
        metrics[f"{column}__mean"] = t[column].mean()
        for q in (0.25, 0.5, 0.75):
            metrics[f"{column}__p{int(q * 100)}"] = t[column].quantile(q)
        metrics[f"{column}__max"] = t[column].max()
    row = t.agg(**metrics).execute().iloc[0]
    return pd.DataFrame(
        [
            {
                "figure": column,
                **{s: float(row[f"{column}__{s}"]) for s in ("mean", "p25", "p50", "p75", "max")},
            }
            for column in ENGAGEMENT_SPREAD
        ]
    )


def funnel_facts(funnel_table: pd.DataFrame) -> dict:
    """The largest drop of the whole funnel and of each channel's."""
    channels = funnel_table.loc[funnel_table["group_kind"] == "channel", "group"].drop_duplicates()
    first = funnel_table[(funnel_table["group_kind"] == ALL) & (funnel_table["step_no"] == 1)]
    return {
        "funnel_first_step_sessions": int(first["sessions"].iloc[0]) if not first.empty else 0,
        "largest_drop": largest_drop(funnel_table),
        "largest_drop_by_channel": {
            c: d for c in channels if (d := largest_drop(funnel_table, "channel", c)) is not None
        },
    }


def step_word(step: str, language: str) -> str:
    from helpers import labels

    return labels.t(f"step_{step}", language)


def channel_word(channel: str, language: str) -> str:
    from helpers import labels

    return labels.t(f"channel_{channel}", language) if f"channel_{channel}" in labels.TEXT else channel


def drop_sentence(facts: dict, language: str, by_channel: bool = True) -> str:
    """The largest drop named in words (and each channel's), or why there is none."""
    from helpers import formats, labels

    drop = facts.get("largest_drop")
    if not drop:
        return labels.t("funnel_empty", language, step=step_word(facts["funnel_steps"][0], language))
    parts = [
        labels.t(
            "funnel_drop",
            language,
            before=step_word(drop["from_step"], language),
            after=step_word(drop["to_step"], language),
            share=formats.share(drop["drop_off"]),
            sessions=formats.count(drop["sessions_before"]),
        )
    ]
    if by_channel:
        for channel, d in facts.get("largest_drop_by_channel", {}).items():
            parts.append(
                labels.t(
                    "funnel_drop_channel",
                    language,
                    channel=channel_word(channel, language),
                    before=step_word(d["from_step"], language),
                    after=step_word(d["to_step"], language),
                    share=formats.share(d["drop_off"]),
                    sessions=formats.count(d["sessions_before"]),
                )
            )
    return " ".join(parts)


def funnel_view(funnel_table: pd.DataFrame, group_kind: str = ALL, group: str = ALL) -> pd.DataFrame:
    """One group's funnel: step, sessions, drop-off (for the chart)."""
    f = funnel_table[(funnel_table["group_kind"] == group_kind) & (funnel_table["group"] == group)]
    return f[["step", "sessions", "drop_off"]].reset_index(drop=True)


def funnel_for_page(funnel_table: pd.DataFrame) -> pd.DataFrame:
    """The funnel table with shares in percent (the stage page)."""
    out = funnel_table.copy()
    for column in ("conversion", "drop_off", "of_first"):
        out[f"{column}_%"] = 100 * out.pop(column)
    return out


def search_facts(terms: pd.DataFrame, visit_rate: float, min_searches: int) -> dict:
    low = terms[terms["low_conversion"].astype(bool)]
    return {
        "searched_terms": len(terms),
        "visit_conversion": visit_rate,
        "min_searches": min_searches,
        "low_converting_terms": low["term"].tolist(),
    }


def search_sentence(facts: dict, language: str) -> str:
    from helpers import formats, labels

    if not facts["searched_terms"]:
        return labels.t("search_none", language)
    rate = formats.share(facts["visit_conversion"])
    if not facts["low_converting_terms"]:
        return labels.t("search_none_low", language, min=facts["min_searches"], rate=rate)
    terms = facts["low_converting_terms"]
    return labels.t(
        "search_low",
        language,
        count=len(terms),
        min=facts["min_searches"],
        rate=rate,
        terms=labels.join([f"“{t}”" for t in terms], language),
    )


def has_region(customers: ir.Table) -> bool:
    """Whether the customer attributes give a region for anyone."""
    if "region" not in customers.columns:
        return False
    return bool(customers.agg(n=customers.region.count()).execute().iloc[0]["n"])


def region_facts(regions: pd.DataFrame) -> dict:
    """The region x category cell furthest above the other regions (by order lines when there are
    any, else by views), and the whole table for the report."""
    measure = "line" if "line_ratio" in regions.columns and regions["lines"].sum() > 0 else "view"
    ranked = (
        regions[regions[f"{measure}_ratio"].notna()] if f"{measure}_ratio" in regions.columns else regions[:0]
    )
    if ranked.empty:
        return {"region_interest": regions.to_dict("records"), "region_top": None}
    top = ranked.sort_values([f"{measure}_ratio", "region", "category"], ascending=[False, True, True]).iloc[
        0
    ]
    others = regions[(regions["category"] == top["category"]) & (regions["region"] != top["region"])]
    other_share = others[f"{measure}s"].sum() / max(
        1, regions.loc[regions["region"] != top["region"], f"{measure}s"].sum()
    )
    return {
        "region_interest": regions.to_dict("records"),
        "region_top": {
            "measure": measure,
            "region": str(top["region"]),
            "category": str(top["category"]),
            "ratio": float(top[f"{measure}_ratio"]),
            "share": float(top[f"{measure}_share"]),
            "others_share": float(other_share),
            "view_ratio": float(top["view_ratio"]) if pd.notna(top.get("view_ratio")) else None,
        },
    }


def region_sentence(facts: dict, language: str) -> str:
    from helpers import formats, labels

    top = facts.get("region_top")
    if not top:
        return ""
    values = {
        "region": top["region"],
        "category": top["category"],
        "share": formats.share(top["share"]),
        "others": formats.share(top["others_share"]),
        "view_ratio": formats.number(top["view_ratio"]),
    }
    if top["measure"] == "line" and top["view_ratio"] is None:
        return labels.t("region_lines_sentence", language, ratio=formats.number(top["ratio"]), **values)
    if top["measure"] == "line":
        return labels.t("region_sentence", language, ratio=formats.number(top["ratio"]), **values)
    return labels.t("region_views_sentence", language, **values)


def busiest_sentence(activity_table: pd.DataFrame, timezone: str, language: str) -> str:
    """The busiest weekday and hour of the period's visits (ties: the earliest), or that there were none."""
    from helpers import formats, labels

    if activity_table["sessions"].sum() == 0:
        return labels.t("activity_none", language)
    row = activity_table.sort_values(["sessions", "weekday", "hour"], ascending=[False, True, True]).iloc[0]
    return labels.t(
        "activity_busiest",
        language,
        weekday=labels.t(f"weekday_{int(row['weekday'])}", language),
        hour=f"{int(row['hour']):02d}",
        sessions=formats.count(row["sessions"]),
        timezone=timezone,
    )


# ------------------------------------------------------------------------------------------ the report

REPORT_FUNNEL_KINDS = {"sessions": "count", "conversion": "share", "drop_off": "share"}


def funnel_chart_steps(funnel_table: pd.DataFrame, language: str) -> pd.DataFrame:
    """The whole funnel of the period for the report's chart, its steps in the page's language."""
    steps = funnel_view(funnel_table)
    return steps.assign(step=[step_word(s, language) for s in steps["step"]])


def funnel_for_report(funnel_table: pd.DataFrame, min_size: int, language: str) -> pd.DataFrame:
    """The funnel of all visits and of each channel for the stakeholder page: channel, step, visits,
    conversion and drop-off, in the page's language. A channel whose first step was reached by fewer
    than ``min_size`` customers is left out (its shares would describe a handful of people)."""
    from helpers.privacy import audiences

    f = funnel_table[funnel_table["group_kind"].isin([ALL, "channel"])]
    first = f[f["step_no"] == 1].set_index("group")["customers"]
    # Each row's group size: its channel's customers at the first step (the whole funnel counts as
    # size 0, "no customers", which is always shown: the page's headline counts them all anyway).
    sizes = pd.Series([0 if g == ALL else int(first.get(g, 0)) for g in f["group"]], index=f.index)
    f = audiences.large_groups(f, min_size, sizes=sizes)
    return pd.DataFrame(
        {
            "visit_channel": [channel_word(g, language) for g in f["group"]],
            "step": [step_word(s, language) for s in f["step"]],
            "sessions": f["sessions"].to_numpy(),
            "conversion": f["conversion"].to_numpy(),
            "drop_off": f["drop_off"].to_numpy(),
        }
    )


def activity_for_report(activity_table: pd.DataFrame, language: str) -> pd.DataFrame:
    """The weekday x hour visits as a 7 x 24 grid with weekday names in the page's language."""
    from helpers import labels

    grid = activity_grid(activity_table)
    grid.index = [labels.t(f"weekday_{i}", language) for i in range(7)]
    return grid
