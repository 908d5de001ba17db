"""Stage 04 on hand-built events and leads, with answers worked out by hand: sessions (the gap's edge,
anonymous and stitched visitors, the source's session ids), the in-order funnel (a visit skipping a
step), engagement, search, activity, pages, channels, region x category; the pipeline's conversion,
days in stage, the maturity rule for recent leads, outcomes, weighted value and the bottleneck."""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pytest

from helpers import behaviour, labels, pipeline

STEPS = ["product_view", "add_to_cart", "checkout", "purchase"]
AS_OF = dt.date(2024, 1, 31)


def events(rows: list[tuple], session_ids: bool = False) -> ibis.Table:
    """A 02_events-like table from (ts, customer_id, anonymous_id, event_type, channel[, session_id])."""
    columns = ["event_ts", "customer_id", "anonymous_id", "event_type", "channel"]
    frame = pd.DataFrame(rows, columns=[*columns, "session_id"] if session_ids else columns)
    frame["event_ts"] = pd.to_datetime(frame["event_ts"]).astype("datetime64[us]")
    frame["source_row"] = np.arange(1, len(frame) + 1, dtype="int64")
    for column in ("product_id", "category", "search_term", "page"):
        frame[column] = None
    return as_table(frame)


def as_table(frame: pd.DataFrame) -> ibis.Table:
    """A frame as an engine table, its id and text columns typed as text (a column of Nones too)."""
    text = [c for c in frame.columns if frame[c].dtype == object or frame[c].isna().all()]
    schema = {c: "string" for c in text if c != "event_ts"}
    return ibis.memtable(frame.astype({c: "string" for c in schema}))


def session_of(table: ibis.Table) -> list[str]:
    """Each event's session key, in source row order."""
    return table.order_by("source_row").execute()["session_key"].tolist()


def test_a_pause_of_exactly_the_gap_continues_the_session_and_one_second_more_starts_a_new_one() -> None:
    t = events(
        [
            ("2024-01-01 10:00:00", "c1", None, "page_view", "web"),
            ("2024-01-01 10:30:00", "c1", None, "page_view", "web"),  # exactly 30 min: same session
            ("2024-01-01 11:00:01", "c1", None, "page_view", "web"),  # 30 min 1 s: new session
            ("2024-01-01 11:10:00", "c1", None, "page_view", "web"),
        ]
    )
    keys = session_of(behaviour.sessionise(t, 30))
    assert keys[0] == keys[1] != keys[2] == keys[3]
    assert len(set(keys)) == 2


def test_visitors_and_channels_are_separate_sessions_and_anonymous_events_use_the_device() -> None:
    t = events(
        [
            ("2024-01-01 10:00", None, "dev-1", "page_view", "web"),  # anonymous device
            ("2024-01-01 10:05", None, "dev-1", "product_view", "web"),
            ("2024-01-01 10:06", None, "dev-2", "page_view", "web"),  # another device: another visitor
            ("2024-01-01 10:07", "c1", "dev-1", "add_to_cart", "web"),  # signed in: the customer's key
            ("2024-01-01 10:08", "c1", None, "page_view", "app"),  # same customer, the app: new session
            ("2024-01-01 10:09", "c1", None, "checkout", "web"),  # back on the web within the gap
        ]
    )
    keys = session_of(behaviour.sessionise(t, 30))
    assert keys[0] == keys[1]  # the device's two events
    assert len({keys[0], keys[2], keys[3], keys[4]}) == 4
    assert keys[3] == keys[5]  # the customer's web session continues across the app visit
    assert keys[0].startswith("a:dev-1|web|") and keys[3].startswith("c:c1|web|")


def test_the_sources_session_id_wins_over_the_gap_and_rows_without_one_use_the_gap() -> None:
    t = events(
        [
            ("2024-01-01 10:00", None, "dev-1", "product_view", "web", "S1"),
            ("2024-01-01 12:00", "c1", "dev-1", "purchase", "web", "S1"),  # 2 h later, same given session
            ("2024-01-01 12:01", "c1", None, "page_view", "web", "S2"),
            ("2024-01-01 13:00", "c1", None, "store_visit", "store", None),  # no id: the gap rule
            ("2024-01-01 13:20", "c1", None, "store_visit", "store", None),
        ],
        session_ids=True,
    )
    keys = session_of(behaviour.sessionise(t, 30))
    assert keys[:3] == ["s:S1", "s:S1", "s:S2"]
    assert keys[3] == keys[4] == "c:c1|store|1"


FUNNEL_EVENTS = [
    # visit A (web): every step in order -> reaches purchase
    ("2024-01-10 10:00", "c1", None, "product_view", "web", "A"),
    ("2024-01-10 10:01", "c1", None, "add_to_cart", "web", "A"),
    ("2024-01-10 10:02", "c1", None, "checkout", "web", "A"),
    ("2024-01-10 10:03", "c1", None, "purchase", "web", "A"),
    # visit B (web): skips add to cart -> reaches product view only, although it has a checkout
    ("2024-01-11 10:00", "c2", None, "product_view", "web", "B"),
    ("2024-01-11 10:02", "c2", None, "checkout", "web", "B"),
    ("2024-01-11 10:03", "c2", None, "purchase", "web", "B"),
    # visit C (app): cart before the product view, then a view and a checkout -> no add to cart after
    # the view: product view only
    ("2024-01-12 10:00", "c3", None, "add_to_cart", "app", "C"),
    ("2024-01-12 10:01", "c3", None, "product_view", "app", "C"),
    ("2024-01-12 10:02", "c3", None, "checkout", "app", "C"),
    # visit D (app, anonymous): view, cart, checkout, no purchase
    ("2024-01-13 10:00", None, "dev-9", "product_view", "app", "D"),
    ("2024-01-13 10:01", None, "dev-9", "add_to_cart", "app", "D"),
    ("2024-01-13 10:02", None, "dev-9", "checkout", "app", "D"),
    # visit E (app, c1 again): view and cart at the same second, checkout, purchase
    ("2024-01-14 10:00", "c1", None, "product_view", "app", "E"),
    ("2024-01-14 10:00", "c1", None, "add_to_cart", "app", "E"),
    ("2024-01-14 10:05", "c1", None, "checkout", "app", "E"),
    ("2024-01-14 10:06", "c1", None, "purchase", "app", "E"),
]


def funnel_sessions() -> ibis.Table:
    return behaviour.sessions(behaviour.sessionise(events(FUNNEL_EVENTS, session_ids=True), 30), STEPS)


def test_sessions_reach_steps_in_order_only() -> None:
    table = funnel_sessions().order_by("session_key").execute().set_index("session_key")
    reached = table[[f"reached_{s}" for s in STEPS]].to_numpy().tolist()
    assert reached == [
        [1, 1, 1, 1],  # A
        [1, 0, 0, 0],  # B skipped the cart
        [1, 0, 0, 0],  # C carted before viewing
        [1, 1, 1, 0],  # D
        [1, 1, 1, 1],  # E: a cart at the view's second counts
    ]
    assert table["bought"].tolist() == [1, 1, 0, 0, 1]  # B bought, although outside the funnel
    assert table["customer_id"].tolist()[:3] == ["c1", "c2", "c3"] and table["customer_id"].isna().tolist()[3]


def test_funnel_counts_conversion_and_drop_off_overall_and_by_channel() -> None:
    purchases = pd.DataFrame(
        {
            "customer_id": ["c1"],
            "order_id": ["o1"],
            "order_ts": [pd.Timestamp("2024-01-10 10:03")],
            "amount": [5.0],
            "is_return": [False],
        }
    )
    grouped = behaviour.with_groups(funnel_sessions(), ibis.memtable(purchases))
    f = behaviour.funnel(grouped, STEPS)
    overall = f[f["group_kind"] == "all"]
    assert overall["sessions"].tolist() == [5, 3, 3, 2]
    assert overall["customers"].tolist() == [3, 1, 1, 1]  # c1, c2, c3 view; only c1 goes on (D anonymous)
    assert overall["conversion"].tolist()[1:] == pytest.approx([3 / 5, 1.0, 2 / 3])
    assert overall["drop_off"].tolist()[1:] == pytest.approx([2 / 5, 0.0, 1 / 3])
    app = f[(f["group_kind"] == "channel") & (f["group"] == "app")]
    web = f[(f["group_kind"] == "channel") & (f["group"] == "web")]
    assert app["sessions"].tolist() == [3, 2, 2, 1] and web["sessions"].tolist() == [2, 1, 1, 1]
    # c1 ordered at 10:03 on the 10th: visit A started before it (first time), E after it (returning)
    kinds = f[f["group_kind"] == "customer_type"].set_index(["group", "step_no"])["sessions"]
    assert kinds[("returning", 1)] == 1 and kinds[("first_time", 1)] == 4
    drop = behaviour.largest_drop(f)
    assert drop == {
        "from_step": "product_view",
        "to_step": "add_to_cart",
        "sessions_before": 5,
        "sessions_after": 3,
        "drop_off": pytest.approx(0.4),
    }
    assert behaviour.largest_drop(f, "channel", "app")["to_step"] == "purchase"  # 1 of 2 checkouts lost
    facts = {"funnel_steps": STEPS, **behaviour.funnel_facts(f)}
    sentence = behaviour.drop_sentence(facts, "en")
    assert sentence.startswith(
        "The largest drop of the period's visits is from product view to add to cart: 40.0%"
    )
    assert "加入购物车" in behaviour.drop_sentence(facts, "zh")


def test_an_empty_period_has_no_drop_to_name() -> None:
    empty = behaviour.in_window(funnel_sessions(), "start_ts", dt.date(2025, 1, 1), dt.date(2025, 1, 31))
    f = behaviour.funnel(behaviour.with_groups(empty, None), STEPS)
    assert f["sessions"].tolist() == [0, 0, 0, 0] and f["conversion"].isna().all()
    facts = {"funnel_steps": STEPS, **behaviour.funnel_facts(f)}
    assert facts["largest_drop"] is None
    assert behaviour.drop_sentence(facts, "en") == labels.t("funnel_empty", "en", step="product view")


def rich_events() -> ibis.Table:
    """Events with products, categories, pages and searches for engagement, search and pages."""
    rows = [
        # c1, web, visit 1: searches "Tent ", views two Outdoor products and a Books one, buys
        ("2024-01-08 09:00", "c1", None, "search", "web", None, None, "/search", "Tent "),
        ("2024-01-08 09:01", "c1", None, "product_view", "web", "P1", "Outdoor", "/p/P1", None),
        ("2024-01-08 09:02", "c1", None, "product_view", "web", "P2", "Outdoor", "/p/P2", None),
        ("2024-01-08 09:03", "c1", None, "product_view", "web", "P3", "Books", "/p/P3", None),
        ("2024-01-08 09:04", "c1", None, "add_to_cart", "web", "P1", "Outdoor", "/cart", None),
        ("2024-01-08 09:05", "c1", None, "purchase", "web", None, None, "/done", None),
        # c1, store visit on another day
        ("2024-01-20 15:00", "c1", None, "store_visit", "store", None, None, None, None),
        # c2 (no order: potential), app: searches "tent" and views P1
        ("2024-01-09 21:00", "c2", None, "search", "app", None, None, "/search", "tent"),
        ("2024-01-09 21:01", "c2", None, "product_view", "app", "P1", "Outdoor", "/p/P1", None),
        # an anonymous visitor: not a customer
        ("2024-01-09 22:00", None, "dev-1", "product_view", "web", "P3", "Books", "/p/P3", None),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "event_ts", "customer_id", "anonymous_id", "event_type", "channel", "product_id", "category",
            "page", "search_term",
        ],
    )  # fmt: skip
    frame["event_ts"] = pd.to_datetime(frame["event_ts"]).astype("datetime64[us]")
    frame["source_row"] = np.arange(1, len(frame) + 1, dtype="int64")
    return as_table(frame)


def orders() -> ibis.Table:
    frame = pd.DataFrame(
        {
            "customer_id": ["c1", "c1", "c3"],
            "order_id": ["o1", "o2", "o3"],
            "order_ts": pd.to_datetime(["2024-01-08 09:05", "2024-01-20 15:10", "2024-01-15 12:00"]),
            "amount": [30.0, 12.5, 7.0],
            "category": ["Outdoor", "Books", "Books"],
            "channel": ["web", "Store", "app"],
            "is_return": [False, False, False],
        }
    )
    frame["order_ts"] = frame["order_ts"].astype("datetime64[us]")
    return ibis.memtable(frame)


def test_engagement_per_customer_by_hand() -> None:
    s = behaviour.sessionise(rich_events(), 30)
    st = behaviour.sessions(s, STEPS)
    e = behaviour.engagement(s, st, orders(), AS_OF).execute().set_index("customer_id")
    assert e.index.tolist() == ["c1", "c2"]  # the anonymous visitor is not a customer
    c1, c2 = e.loc["c1"], e.loc["c2"]
    assert (c1["sessions"], c1["active_days"], c1["product_views"], c1["searches"]) == (2, 2, 3, 1)
    assert (c1["add_to_carts"], c1["purchases"], c1["store_visits"], c1["orders"]) == (1, 1, 1, 2)
    assert (c1["orders_web"], c1["orders_app"], c1["orders_store"]) == (1, 0, 1)  # "Store" is the store
    assert (c1["share_web"], c1["share_app"], c1["share_store"]) == (0.5, 0.0, 0.5)
    assert c1["top_category"] == "Outdoor" and c1["top_category_share"] == pytest.approx(2 / 3)
    assert c1["browse_to_buy"] == 3.0 and c1["days_since_last_visit"] == 11  # Jan 20 -> Jan 31
    assert pd.isna(c1["status"])
    assert c2["status"] == "potential" and c2["orders"] == 0 and pd.isna(c2["browse_to_buy"])
    assert c2["share_app"] == 1.0 and c2["top_category"] == "Outdoor"


def test_search_terms_pages_channels_and_activity_by_hand() -> None:
    s = behaviour.sessionise(rich_events(), 30)
    st = behaviour.sessions(s, STEPS)
    terms, rate = behaviour.search_terms(s, st, top_n=5, min_searches=2)
    assert rate == pytest.approx(1 / 4)  # 4 visits (c1 web, c1 store, c2 app, anonymous), 1 bought
    assert terms.to_dict("records") == [
        {
            "term": "tent",  # "Tent " and "tent" are one term
            "searches": 2,
            "sessions": 2,
            "buying_sessions": 1,
            "conversion": 0.5,
            "low_conversion": False,  # 50% is not below half of 25%
        }
    ]
    pages = behaviour.page_heat(s, st, top_n=2)
    products = pages[pages["kind"] == "product"]
    assert products["item"].tolist() == ["P1", "P3"]  # two views each; ties by id
    assert products["sessions"].tolist() == [2, 2] and products["add_to_carts"].tolist() == [1, 0]
    assert products["conversion"].tolist() == [0.5, 0.5]
    assert pages[pages["kind"] == "page"]["item"].tolist() == ["/p/P1", "/p/P3"]  # 2 each; ties by name
    mix = behaviour.channel_mix(st, orders(), dt.date(2024, 1, 1), AS_OF).set_index("channel")
    assert mix.index.tolist() == ["web", "app", "store"]
    assert (
        mix.loc["web", "sessions"] == 2
        and mix.loc["web", "visitors"] == 2
        and mix.loc["web", "customers"] == 1
    )
    assert mix.loc["store", "orders"] == 1 and mix.loc["store", "revenue"] == 12.5  # "Store" read as store
    assert mix.loc["app", "buyers"] == 1 and mix.loc["app", "buying_sessions"] == 0
    grid = behaviour.activity(s, st)
    assert len(grid) == 7 * 24 and grid["events"].sum() == 10 and grid["sessions"].sum() == 4
    monday_nine = grid[(grid["weekday"] == 0) & (grid["hour"] == 9)]  # 2024-01-08 was a Monday
    assert monday_nine[["sessions", "events"]].to_numpy().tolist() == [[1, 6]]
    assert behaviour.busiest_sentence(grid, "Asia/Shanghai", "en").startswith(
        "The busiest hour of the period is Mon 09"
    )


def test_region_interest_shares_and_ratios_by_hand() -> None:
    customers = ibis.memtable(
        pd.DataFrame({"customer_id": ["c1", "c2", "c3"], "region": ["West", "East", "East"]})
    )
    r = behaviour.region_interest(rich_events(), orders(), customers, AS_OF).set_index(["region", "category"])
    # views: West (c1) Outdoor 2, Books 1; East (c2) Outdoor 1. Lines: West Outdoor 1, Books 1; East Books 1.
    assert r.loc[("West", "Outdoor"), "view_share"] == pytest.approx(2 / 3)
    assert r.loc[("West", "Outdoor"), "view_ratio"] == pytest.approx((2 / 3) / 1.0)
    assert r.loc[("West", "Books"), "line_share"] == 0.5 and r.loc[("East", "Books"), "line_ratio"] == 2.0
    facts = behaviour.region_facts(r.reset_index())
    assert facts["region_top"]["region"] == "East" and facts["region_top"]["category"] == "Books"


# ------------------------------------------------------------------------------------------ pipeline

STAGES = ["lead", "contacted", "proposal", "contract"]
PIPE_AS_OF = dt.date(2024, 3, 31)


def leads(rows: list[tuple], outcome: bool = True) -> ibis.Table:
    """A 02_leads-like table from (lead, stage, stage_ts, source, value, outcome)."""
    frame = pd.DataFrame(
        rows, columns=["lead_id", "stage", "stage_ts", "source", "expected_value", "outcome"]
    )
    frame["stage_ts"] = pd.to_datetime(frame["stage_ts"]).astype("datetime64[us]")
    frame["campaign"] = "spring"
    frame["customer_id"] = None
    return as_table(frame if outcome else frame.drop(columns="outcome"))


LEADS = [
    # L1: lead -> contacted after 2 days -> proposal after 10 -> contract after 4: won
    ("L1", "lead", "2024-01-01", "fair", 100.0, "won"),
    ("L1", "contacted", "2024-01-03", "fair", 100.0, "won"),
    ("L1", "proposal", "2024-01-13", "fair", 100.0, "won"),
    ("L1", "contract", "2024-01-17", "fair", 100.0, "won"),
    # L2: lead -> contacted after 4 days, stops: lost
    ("L2", "lead", "2024-01-05", "web", 200.0, "lost"),
    ("L2", "contacted", "2024-01-09", "web", 200.0, "lost"),
    # L3: lead only, long ago: lost
    ("L3", "lead", "2024-01-10", "web", 300.0, "lost"),
    # L4: lead -> contacted after 6 days -> proposal after 20 days (Feb 26 -> Mar 17), open
    ("L4", "lead", "2024-02-20", "fair", 400.0, "open"),
    ("L4", "contacted", "2024-02-26", "fair", 400.0, "open"),
    ("L4", "proposal", "2024-03-17", "fair", 400.0, "open"),
    # L5: entered lead 2 days before the end: too recent to count as a failure
    ("L5", "lead", "2024-03-30", "web", 500.0, "open"),
]


def test_pipeline_conversion_days_in_stage_and_the_maturity_rule_by_hand() -> None:
    frame = pipeline.lead_table(leads(LEADS), STAGES, PIPE_AS_OF)
    assert frame["top"].tolist() == [3, 1, 0, 2, 0]
    table = pipeline.stage_table(frame, STAGES, dt.date(2024, 3, 1), PIPE_AS_OF).set_index("stage")
    # lead: waits to the next stage 2, 4, 6 days -> decision time ceil(95th pct) = ceil(5.8) = 6 days;
    # mature = entered at least 6 days before Apr 1: L1-L4 (L5 entered Mar 30: 2 days, left out)
    assert table.loc["lead", "decision_days"] == 6
    assert table.loc["lead", "mature_leads"] == 4 and table.loc["lead", "moved_on"] == 3
    assert table.loc["lead", "conversion"] == pytest.approx(0.75)
    assert table.loc["lead", "median_days"] == 4.0
    # contacted: waits 10 (L1) and 20 (L4): decision time ceil(19.5) = 20; L1, L2 and L4 (Feb 26) mature
    assert table.loc["contacted", "decision_days"] == 20
    assert table.loc["contacted", "mature_leads"] == 3 and table.loc["contacted", "moved_on"] == 2
    assert table.loc["contacted", "median_days"] == 15.0
    # proposal: one wait of 4 days; L4 entered Mar 17 (15 days before Apr 1 >= 4): mature, not moved on
    assert table.loc["proposal", "conversion"] == pytest.approx(0.5)
    assert pd.isna(table.loc["contract", "conversion"])
    assert table["entered_in_period"].tolist() == [1, 0, 1, 0]  # L5's lead, L4's proposal in March
    # open: L4 in proposal (400 x 0.5), L5 in lead (500 x 0.75 x 2/3 x 0.5)
    assert table.loc["proposal", "open_leads"] == 1 and table.loc["lead", "open_leads"] == 1
    assert table.loc["lead", "win_chance"] == pytest.approx(0.75 * (2 / 3) * 0.5)
    assert table["weighted_open_value"].sum() == pytest.approx(400 * 0.5 + 500 * 0.25)
    found = pipeline.bottleneck(table.reset_index())
    assert found == {
        "lowest_stage": "proposal",
        "lowest_conversion": 0.5,
        "lowest_mature_leads": 2,
        "slowest_stage": "contacted",
        "slowest_median_days": 15.0,
        "same": False,
    }
    sentence = pipeline.bottleneck_sentence({"bottleneck": found}, "en")
    assert sentence == (
        "The lowest conversion is at “proposal” (50.0% of its leads moved on); the longest wait is at "
        "“contacted” (median 15 days)."
    )
    # From 3 mature leads a stage: lead (4) and contacted (3) are compared, proposal (2) is not; the
    # longest wait among stages with 3 leads that moved on: lead (3 moved, median 4 days).
    three = pipeline.pipeline_facts(table.reset_index(), frame, min_leads=3)
    assert three["bottleneck"] == {
        "lowest_stage": "contacted",
        "lowest_conversion": 2 / 3,
        "lowest_mature_leads": 3,
        "slowest_stage": "lead",
        "slowest_median_days": 4.0,
        "same": False,
    }
    # From 4 only the lead stage qualifies: one stage is no bottleneck, and the page says why.
    four = pipeline.pipeline_facts(table.reset_index(), frame, min_leads=4)
    assert four["bottleneck"] is None and (four["rated_stages"], four["stages_with_conversion"]) == (1, 3)
    assert pipeline.bottleneck_sentence(four, "en") == (
        "Too few leads to name a bottleneck: a stage's conversion is compared from 4 leads old enough to "
        "have moved on; only 1 stage has that many, and two are needed."
    )
    # The stakeholders' table hides a conversion from fewer than 4 mature leads and a median from fewer
    # than 4 leads that moved on.
    shown = pipeline.for_report(table.reset_index(), 4).set_index("pipeline_stage")
    assert shown.loc["lead", "stage_conversion"] == pytest.approx(0.75)
    assert shown[["stage_conversion", "median_days"]].drop(index="lead").isna().all().all()
    assert pd.isna(shown.loc["lead", "median_days"])  # 3 moved on


def test_without_an_outcome_column_recent_leads_are_open_and_old_ones_lost() -> None:
    frame = pipeline.lead_table(leads(LEADS, outcome=False), STAGES, PIPE_AS_OF)
    outcome = pipeline.outcomes(frame, STAGES, PIPE_AS_OF).tolist()
    # L1 reached contract; L2 sat in contacted 83 days (> 20); L3 in lead 82 days (> 6); L4 in proposal
    # 15 days (> 4: lost); L5 in lead 2 days (< 6: open)
    assert outcome == ["won", "lost", "lost", "lost", "open"]
    groups = pipeline.group_table(frame, STAGES, PIPE_AS_OF).set_index(["group_kind", "group"])
    assert groups.loc[("source", "fair"), ["leads", "won", "lost", "open"]].tolist() == [2, 1, 1, 0]
    assert groups.loc[("source", "web"), "win_rate"] == 0.0
    assert groups.loc[("cohort", "2024-03"), "open"] == 1 and pd.isna(
        groups.loc[("cohort", "2024-03"), "win_rate"]
    )


def test_a_pipeline_without_mature_leads_names_no_bottleneck() -> None:
    frame = pipeline.lead_table(leads([("L9", "lead", "2024-03-30", "web", 1.0, "open")]), STAGES, PIPE_AS_OF)
    table = pipeline.stage_table(frame, STAGES, dt.date(2024, 3, 1), PIPE_AS_OF)
    assert table["conversion"].isna().all() and pipeline.bottleneck(table) is None
    assert pipeline.bottleneck_sentence({"bottleneck": None}, "zh") == labels.t("pipeline_no_rate", "zh")
    facts = pipeline.pipeline_facts(table, frame, min_leads=5)
    assert pipeline.bottleneck_sentence(facts, "en") == labels.t("pipeline_no_rate", "en")


def test_the_report_leaves_out_small_channels_and_hides_the_value_of_few_open_leads() -> None:
    f = behaviour.funnel(behaviour.with_groups(funnel_sessions(), None), STEPS)
    shown = behaviour.funnel_for_report(f, min_size=3, language="zh")  # app and web: 2 customers each
    assert shown["visit_channel"].unique().tolist() == ["全部渠道"]
    assert shown["step"].tolist() == ["浏览商品", "加入购物车", "结账", "购买"]
    assert behaviour.funnel_for_report(f, 2, "en")["visit_channel"].unique().tolist() == [
        "all channels",
        "app",
        "web",
    ]
    frame = pipeline.lead_table(leads(LEADS), STAGES, PIPE_AS_OF)
    table = pipeline.stage_table(frame, STAGES, dt.date(2024, 3, 1), PIPE_AS_OF)
    page = pipeline.for_report(table, min_size=2)  # one open lead in "lead" and one in "proposal"
    assert page["weighted_open_value"].isna().tolist() == [True, False, True, False]
    assert page["open_leads"].tolist() == [1, 0, 1, 0]
    assert page["weighted_open_value"].iloc[3] == 0.0


def test_events_with_only_the_required_columns_go_through_every_part() -> None:
    frame = pd.DataFrame(
        {
            "event_ts": pd.to_datetime(["2024-01-08 09:00", "2024-01-08 09:01", "2024-01-09 10:00"]),
            "anonymous_id": ["d1", "d1", "d2"],
            "event_type": ["product_view", "purchase", "search"],
        }
    )
    t = as_table(frame.astype({"event_ts": "datetime64[us]"}))
    s = behaviour.sessionise(t, 30)
    st = behaviour.sessions(s, STEPS)
    assert st.count().execute() == 2
    terms, rate = behaviour.search_terms(s, st, 5, 1)
    assert terms.empty and rate == 0.5
    facts = behaviour.search_facts(terms, rate, 1)
    assert behaviour.search_sentence(facts, "en") == labels.t("search_none", "en")
    assert behaviour.page_heat(s, st, 5).empty
    assert behaviour.engagement(s, st, orders(), AS_OF).count().execute() == 0  # nobody signed in
    assert behaviour.channel_mix(st, orders(), dt.date(2024, 1, 1), AS_OF)["channel"].tolist()[:3] == [
        "web", "app", "store"
    ]  # fmt: skip
    customers = as_table(pd.DataFrame({"customer_id": ["c1", "c3"], "region": ["West", "East"]}))
    regions = behaviour.region_interest(t, orders(), customers, AS_OF)
    assert "views" not in regions.columns and regions["lines"].sum() == 3
    facts = behaviour.region_facts(regions)
    assert behaviour.region_sentence(facts, "en").startswith(
        "East customers' share of Books in order lines is 2 times"
    )
