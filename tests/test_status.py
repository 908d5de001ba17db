"""The one customer-status vocabulary: each rule by hand (one-order customers, the purchase cycle, the
minimum gap, P(alive), the order the rules are checked in), value at stake with the issue's failing
examples, counts, the flow between two periods, the rules in words, and the params that keep the
words apart (no segment named with a status word)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from pydantic import ValidationError

from helpers import status
from helpers.config import STATUSES, RfmConfig, SegmentRule, StatusConfig

PERIOD_START = dt.date(1998, 6, 1)
AS_OF = pd.Timestamp("1998-06-30")


def customer(cid: str, first: str, last: str, orders: int, **extra) -> dict:
    """One customer as the RFM product has them, recency counted to 30 June 1998."""
    first_ts, last_ts = pd.Timestamp(first), pd.Timestamp(last)
    return {
        "customer_id": cid,
        "first_order_ts": first_ts,
        "last_order_ts": last_ts,
        "recency_days": (AS_OF - last_ts.normalize()).days,
        "frequency_orders": orders,
        **extra,
    }


def customers() -> pd.DataFrame:
    """Hand-made customers, purchase cycle 40 days:
    new: first order 10 June; active: 3 orders 60 days apart, last 80 days ago (80 <= 1.5 x 60 = 90);
    at risk: same gap, last 150 days ago (90 < 150 <= 180); lapsed: same gap, last 200 days ago;
    churned: last order 400 days ago (> 365); one_active: one order 50 days ago (cycle 40: 50 <= 60);
    one_at_risk: one order 100 days ago (60 < 100 <= 120); fast: 21 orders under 2 days apart (gap
    floored at 7), last 20 days ago (10.5 < 20 <= 21): at risk."""
    rows = [
        customer("new", "1998-06-10", "1998-06-20", 2),
        customer("active", "1997-12-12", "1998-04-11", 3),
        customer("at_risk", "1997-10-03", "1998-01-31", 3),
        customer("lapsed", "1997-08-14", "1997-12-12", 3),
        customer("churned", "1997-01-02", "1997-05-26", 2),
        customer("one_active", "1998-05-11", "1998-05-11", 1),
        customer("one_at_risk", "1998-03-22", "1998-03-22", 1),
        customer("fast", "1998-05-02", "1998-06-10", 21),  # 39 days / 20 gaps = 1.95 days: floored at 7
    ]
    return pd.DataFrame(rows)


def test_each_rule_by_hand() -> None:
    assigned = status.assign(customers(), StatusConfig(), PERIOD_START, cycle_days=40.0)
    assert dict(zip(assigned["customer_id"], assigned["status"])) == {
        "new": "new",
        "active": "active",
        "at_risk": "at risk",
        "lapsed": "lapsed",
        "churned": "churned",
        "one_active": "active",
        "one_at_risk": "at risk",
        "fast": "at risk",  # 20 days > 1.5 x 7, <= 3 x 7
    }
    gaps = dict(zip(assigned["customer_id"], assigned["typical_gap_days"]))
    assert gaps["active"] == pytest.approx(60.0) and gaps["one_active"] == 40.0 and gaps["fast"] == 7.0
    assert assigned["first_order_in_period"].tolist() == [True] + [False] * 7


def test_p_alive_churns_only_where_a_model_exists_and_new_comes_first() -> None:
    frame = customers().assign(p_alive=[0.01, 0.05, 0.5, None, 0.9, 0.2, 0.099, 0.3])
    assigned = dict(
        zip(frame["customer_id"], status.assign(frame, StatusConfig(), PERIOD_START, 40.0)["status"])
    )
    # new stays new whatever P(alive) says; below 0.1 is churned; an unknown P(alive) churns nobody
    assert (
        assigned["new"] == "new" and assigned["active"] == "churned" and assigned["one_at_risk"] == "churned"
    )
    assert assigned["lapsed"] == "lapsed" and assigned["at_risk"] == "at risk"
    days_only = StatusConfig(churned_below_p_alive=None)
    assert status.assign(frame, days_only, PERIOD_START, 40.0)["status"].tolist()[1] == "active"


def test_potential_customers_are_known_without_an_order_and_counted_only_when_there() -> None:
    scored = status.assign(customers(), StatusConfig(), PERIOD_START, 40.0)
    assert "potential" not in status.counts(scored["status"])["status"].tolist()
    everyone = status.add_potential(scored, pd.DataFrame({"customer_id": ["active", "p1", "p2", "p2"]}))
    table = status.counts(everyone["status"]).set_index("status")
    assert table.index.tolist() == list(STATUSES)
    assert table["customers"].tolist() == [2, 1, 2, 3, 1, 1] and table["customers"].sum() == len(everyone)
    assert table.loc["at risk", "share_of_customers"] == pytest.approx(3 / 10)
    assert status.count_of(everyone["status"]) == dict(zip(STATUSES, [2, 1, 2, 3, 1, 1]))
    assert status.count_of(None) == {}


def test_value_at_stake_is_the_expected_value_lost_never_a_small_order_blown_up() -> None:
    """The issue's failing examples: the old formula (average order x 365 / typical gap, the gap
    floored at 7 days) put a one-order customer of $379.25 at $19,775 a year and a $77 two-order
    customer at $2,011. Now: with a purchase model, CLV x (1 - P(alive)); without one, a year at the
    customer's pace capped at what they spent per year so far."""
    frame = pd.DataFrame(
        {
            "customer_id": ["one_order", "two_orders", "long_tenure", "returns_only"],
            "avg_order_value": [379.25, 38.5, 50.0, None],
            "typical_gap_days": [7.0, 7.0, 30.0, 80.0],
            "monetary_total": [379.25, 77.0, 1000.0, -20.0],
            "tenure_days": [200, 30, 730, 100],
        }
    )
    assert 379.25 * 365 / 7 == pytest.approx(19_775.18, abs=0.01)  # the old figure
    # no model: min(pace, spend per year); a customer of under a year counts as a year; 2 years halve it
    assert status.value_at_stake(frame).tolist() == [379.25, 77.0, 500.0, 0.0]
    modelled = frame.assign(clv=[55.10, 20.0, None, None], p_alive=[0.22, 0.9, None, None])
    # 55.10 x 0.78 = 42.978; 20 x 0.1 = 2; without model values: the capped pace
    assert status.value_at_stake(modelled).tolist() == [42.98, 2.0, 500.0, 0.0]


def test_the_flow_between_two_periods_with_new_and_vanished_customers() -> None:
    before = pd.DataFrame(
        {"customer_id": ["a", "b", "c", "x"], "status": ["active", "active", "at risk", "lapsed"]}
    )
    now = pd.DataFrame(
        {"customer_id": ["a", "b", "c", "n"], "status": ["active", "at risk", "churned", "new"]}
    )
    flow = status.flow(before, now)
    assert flow.index.tolist() == ["active", "at risk", "lapsed", status.NOT_YET]
    assert flow.columns.tolist() == ["new", "active", "at risk", "churned", status.GONE]
    assert flow.loc["active"].tolist() == [0, 1, 1, 0, 0]
    assert flow.loc["lapsed", status.GONE] == 1 and flow.loc[status.NOT_YET, "new"] == 1
    assert int(flow.to_numpy().sum()) == 5
    assert status.biggest_moves(flow) == [(1, 2, "active", "at risk"), (1, 1, "at risk", "churned")]


def test_the_rules_in_words() -> None:
    rules = status.rules_in_words(StatusConfig(), has_model=True, language="en")
    assert list(rules) == list(STATUSES)
    assert rules["active"] == "last order within 1.5× their usual gap between orders"
    assert rules["at risk"] == "last order between 1.5× and 3× their usual gap between orders ago"
    assert (
        rules["churned"] == "no order for more than 365 days, or a chance below 10% of still being a customer"
    )
    assert status.rules_in_words(StatusConfig(), False, "en")["churned"] == "no order for more than 365 days"
    assert (
        status.rules_in_words(StatusConfig(), True, "zh")["churned"]
        == "超过 365 天 没有下单，或仍是客户的概率低于 10%"
    )


def test_the_params_keep_the_words_apart() -> None:
    with pytest.raises(ValidationError, match="at_risk_within_gaps \\(1\\) must be above active_within_gaps"):
        StatusConfig(active_within_gaps=1.5, at_risk_within_gaps=1.0)
    with pytest.raises(ValidationError, match="churn_warning must list statuses"):
        StatusConfig(churn_warning=["at-risk"])
    segments = [rule.model_dump() for rule in RfmConfig().segments]
    for name, word in [("New Customers", "new"), ("At Risk", "at risk"), ("Potential Loyalist", "potential")]:
        renamed = [{**segments[0], "name": name}, *segments[1:]]
        with pytest.raises(ValidationError, match=f"segment '{name}' uses the status word '{word}'"):
            RfmConfig(segments=[SegmentRule(**row) for row in renamed])
    assert RfmConfig(
        segments=[SegmentRule(**{**segments[0], "name": "Reactivated"}), *RfmConfig().segments[1:]]
    )


def test_potential_customers_are_known_from_every_source_and_add_up(con) -> None:
    """Registered customers, won leads, signed-in visitors (an engine table), contacts and feedback
    without an order are potential, each from the first source naming them; every known id has one
    status, so the statuses add up to every known customer."""
    import ibis

    scored = pd.DataFrame({"customer_id": ["a", "b"], "status": ["active", "lapsed"]})
    events = con.create_table(
        "known_events", ibis.memtable({"customer_id": ["c", "e", None, "e"]}).to_pyarrow(), overwrite=True
    )
    known = status.known_customers(
        {
            "customers": pd.DataFrame({"customer_id": ["a", "c"]}),
            "leads": pd.DataFrame({"customer_id": [None, "d"]}),
            "events": events,
            "interactions": pd.DataFrame({"customer_id": ["f"]}),
            "feedback": pd.DataFrame({"customer_id": ["a", "f", "g"]}),
        }
    )
    assert dict(zip(known["customer_id"], known["known_from"], strict=True)) == {
        "a": "customers",
        "c": "customers",
        "d": "leads",
        "e": "events",
        "f": "interactions",
        "g": "feedback",
    }
    everyone = status.add_potential(scored, known)
    assert sorted(everyone["customer_id"]) == list("abcdefg")
    potential = everyone[everyone["status"] == "potential"].set_index("customer_id")["known_from"]
    assert potential.to_dict() == {
        "c": "customers",
        "d": "leads",
        "e": "events",
        "f": "interactions",
        "g": "feedback",
    }
    assert status.potential_sources(everyone) == list(status.KNOWN_FROM)
    words = status.rules_in_words(StatusConfig(), False, "en", ["customers", "leads", "events"])
    assert (
        words["potential"]
        == "known from the customer records, won sales leads or signed-in visits, no order yet"
    )
    assert status.rules_in_words(StatusConfig(), False, "en", ["customers"])["potential"] == (
        "known from the customer records, no order yet"
    )
