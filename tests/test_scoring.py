"""Scoring: percentile normalisation and direction, weights validation, tier boundaries, drivers,
the statuses of scored customers (one-order customers take the purchase cycle) and the churn-warning
list with its value at stake; all by hand (each status rule alone: tests/test_status.py)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from pydantic import ValidationError

from helpers import scoring, status
from helpers.config import ScoringConfig, StatusConfig

PERIOD_START = dt.date(1998, 6, 1)


def test_percentile_rank_spreads_ranks_from_0_to_1_and_ties_share() -> None:
    values = pd.Series([10.0, 20.0, 20.0, 40.0, 50.0])
    # average ranks 1, 2.5, 2.5, 4, 5 -> (rank - 1) / 4
    assert scoring.percentile_rank(values).tolist() == [0.0, 0.375, 0.375, 0.75, 1.0]
    assert scoring.percentile_rank(values, lower_is_better=True).tolist() == [1.0, 0.625, 0.625, 0.25, 0.0]


def test_percentile_rank_of_one_customer_or_all_equal_is_neutral() -> None:
    assert scoring.percentile_rank(pd.Series([7.0])).tolist() == [0.5]
    assert scoring.percentile_rank(pd.Series([1.0, 1.0, 1.0])).tolist() == [0.5, 0.5, 0.5]


def test_most_customers_with_one_order_share_one_frequency_rank() -> None:
    frequency = pd.Series([1, 1, 1, 1, 1, 1, 2, 3])
    ranks = scoring.percentile_rank(frequency.astype(float))
    # six tied at ranks 1..6 -> average 3.5 -> 2.5 / 7
    assert ranks.iloc[:6].tolist() == [pytest.approx(2.5 / 7)] * 6
    assert ranks.iloc[6:].tolist() == [pytest.approx(6 / 7), 1.0]


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"recency_days": 0.5, "frequency_orders": 0.4}, "weights must sum to 1, they sum to 0.9"),
        ({"recency_days": 1.2, "frequency_orders": -0.2}, "weights must not be negative"),
    ],
)
def test_weights_are_validated(weights: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ScoringConfig(weights=weights, lower_is_better=["recency_days"])


def test_tiers_are_validated() -> None:
    with pytest.raises(ValidationError, match="strictly decreasing minimum scores, the last at 0"):
        ScoringConfig(tiers={"A": 50, "B": 75, "C": 0})
    with pytest.raises(ValidationError, match="lower_is_better names \\['recency'\\], which have no weight"):
        ScoringConfig(lower_is_better=["recency"])


def test_weighted_score_and_tier_boundaries() -> None:
    ranks = pd.DataFrame({"x": [1.0, 0.5, 0.75, 0.0], "y": [1.0, 1.0, 0.0, 0.25]})
    score = scoring.weighted_score(ranks, {"x": 0.6, "y": 0.4})
    assert score.tolist() == pytest.approx([100.0, 70.0, 45.0, 10.0])
    tiers = scoring.assign_tier(
        pd.Series([100.0, 75.0, 74.99, 50.0, 25.0, 24.99, 0.0]), {"A": 75, "B": 50, "C": 25, "D": 0}
    )
    assert tiers.tolist() == ["A", "A", "B", "B", "C", "D", "D"]


def test_top_drivers_are_the_largest_contributions() -> None:
    ranks = pd.DataFrame(
        {"recency_days": [1.0, 0.0], "frequency_orders": [0.5, 1.0], "monetary_total": [0.9, 1.0]}
    )
    weights = {"recency_days": 0.2, "frequency_orders": 0.3, "monetary_total": 0.5}
    drivers = scoring.top_drivers(ranks, weights)
    # customer 0 points: 20, 15, 45 -> monetary, recency; customer 1: 0, 30, 50 -> monetary, frequency
    assert drivers.values.tolist() == [
        ["monetary_total", "recency_days"],
        ["monetary_total", "frequency_orders"],
    ]


def customers() -> pd.DataFrame:
    """Six customers as of 1998-06-30 with hand-picked histories."""
    return pd.DataFrame(
        {
            "customer_id": ["new", "active", "risk", "slow", "lost", "single"],
            "first_order_ts": pd.to_datetime(
                ["1998-06-10", "1997-01-01", "1997-01-01", "1997-01-01", "1997-01-01", "1997-12-01"]
            ),
            "last_order_ts": pd.to_datetime(
                ["1998-06-10", "1998-06-01", "1997-12-12", "1997-11-01", "1997-02-01", "1997-12-01"]
            ),
            "frequency_orders": [1, 11, 5, 2, 2, 1],
            "recency_days": [20, 29, 200, 241, 514, 211],
            "monetary_total": [50.0, 500.0, 300.0, 80.0, 30.0, 20.0],
            "avg_order_value": [50.0, 500 / 11, 60.0, 40.0, 15.0, 20.0],
            "tenure_days": [20, 545, 545, 545, 545, 211],
            "segment": [
                "Recent First-Timers",
                "Champions",
                "Can't Lose Them",
                "Hibernating",
                "Long Gone",
                "About To Sleep",
            ],
        }
    )


CYCLE = 68.925  # the median own gap of the customers with two or more orders: [51.6, 86.25, 304, 31]


def test_statuses_of_the_scored_customers() -> None:
    scored = scoring.score_customers(customers(), ScoringConfig(), StatusConfig(), PERIOD_START, CYCLE)
    # active: 516 days / 10 gaps = 51.6; risk: 345 / 4 = 86.25; slow: 304 / 1; lost: 31 / 1; one-order
    # customers take the purchase cycle
    assert scored["typical_gap_days"].tolist() == pytest.approx([CYCLE, 51.6, 86.25, 304.0, 31.0, CYCLE])
    # new: first order in June; active: 29 <= 1.5 * 51.6 = 77.4; risk: 1.5 * 86.25 = 129.4 < 200 <= 258.75;
    # slow: 241 <= 1.5 * 304 = 456, active (a slow pace is not overdue); lost: 514 days > 365: churned;
    # single: 211 > 3 * 68.925 = 206.8 but <= 365 -> lapsed.
    assert scored["status"].tolist() == ["new", "active", "at risk", "active", "churned", "lapsed"]
    assert scored["first_order_in_period"].tolist() == [True, False, False, False, False, False]


def test_score_customers_end_to_end_and_the_churn_warning() -> None:
    config = ScoringConfig()
    scored = scoring.score_customers(customers(), config, StatusConfig(), PERIOD_START, CYCLE)
    assert scored["customer_id"].tolist() == customers()["customer_id"].tolist()  # the order given
    best = scoring.priority_list(scored, 2, by="score")
    assert best["customer_id"].tolist()[0] == "active"  # best on frequency, monetary, among best recency
    assert len(best) == 2 and best["score"].is_monotonic_decreasing
    assert scored["score"].between(0, 100).all()
    assert scored.set_index("customer_id").loc["active", "tier"] == "A"
    assert status.counts(scored["status"])["customers"].tolist() == [1, 2, 1, 1, 1]
    warned = scoring.churn_warning(scored, StatusConfig().churn_warning)
    # every customer at risk or lapsed, whatever their tier: 'risk' and 'single'. No purchase model:
    # a year at their pace capped at their spend per year: risk min(60 x 365 / 86.25 = 253.91,
    # 300 x 365 / 545 = 200.92); single min(20 x 365 / 68.925 = 105.91, 20)
    assert warned["customer_id"].tolist() == ["risk", "single"]
    assert warned["value_at_stake"].tolist() == [pytest.approx(200.92, abs=0.005), 20.0]
    assert warned["status"].tolist() == ["at risk", "lapsed"]


def test_a_degenerated_models_p_alive_leaves_the_statuses_and_the_value_at_stake_alone() -> None:
    """P(alive) 0.01 would churn everyone and clv x (1 - P(alive)) make the stakes; a degenerated model
    (a parameter at its bound) is not trusted: the days rules and the customer's own pace decide."""
    with_model = customers().assign(p_alive=0.01, clv=1000.0)
    trusted = scoring.score_customers(with_model, ScoringConfig(), StatusConfig(), PERIOD_START, CYCLE)
    assert set(trusted["status"]) == {"new", "churned"}
    by_days = scoring.score_customers(with_model, ScoringConfig(), StatusConfig(), PERIOD_START, CYCLE, False)
    plain = scoring.score_customers(customers(), ScoringConfig(), StatusConfig(), PERIOD_START, CYCLE)
    assert by_days["status"].tolist() == plain["status"].tolist() and by_days["p_alive"].eq(0.01).all()
    warned = scoring.churn_warning(by_days, StatusConfig().churn_warning, use_model=False)
    assert warned["value_at_stake"].tolist() == [pytest.approx(200.92, abs=0.005), 20.0]  # as without a model
    model = {"status": "ok", "purchase_model": {"at_bound": ["a"]}}
    assert not status.p_alive_trusted(model) and status.p_alive_trusted({**model, "purchase_model": {}})


def test_potential_customers_and_tier_summary() -> None:
    config = ScoringConfig()
    scored = scoring.score_customers(customers(), config, StatusConfig(), PERIOD_START, CYCLE)
    everyone = status.add_potential(scored, pd.DataFrame({"customer_id": ["active", "p1", "p2"]}))
    assert everyone["status"].value_counts()["potential"] == 2
    assert everyone.loc[everyone["customer_id"] == "p1", "score"].isna().all()
    summary = scoring.tier_summary(everyone, config.tiers)
    assert summary["customers"].sum() == 6 and summary["tier"].tolist() == ["A", "B", "C", "D"]
    assert summary["revenue_share_%"].sum() == pytest.approx(100.0, abs=0.2)


def test_the_other_products_indicators_take_their_weights_from_the_orders_share() -> None:
    config = ScoringConfig()
    assert scoring.effective_weights(config, set()) == config.weights  # orders only: as before
    assert scoring.effective_weights(config, {"customers"}) == config.weights  # no attribute weighted
    both = scoring.effective_weights(config, {"engagement", "voice"})
    assert both["engagement.active_days"] == 0.10 and both["voice.open_complaints"] == 0.05
    assert both["recency_days"] == pytest.approx(0.30 * 0.75) and sum(both.values()) == pytest.approx(1.0)
    # Given the products, a weight needs its column: contacts without survey answers have no latest NPS.
    voice = pd.DataFrame({"customer_id": ["a"], "open_complaints": [0]})
    by_column = scoring.effective_weights(config, {"voice": voice, "engagement": None})
    assert "voice.latest_nps" not in by_column and by_column["voice.open_complaints"] == 0.05
    visits = scoring.effective_weights(config, {"engagement"})
    assert "voice.latest_nps" not in visits and visits["monetary_total"] == pytest.approx(0.25 * 0.85)


def test_a_missing_indicator_ranks_as_the_median_customer_or_the_worst() -> None:
    customers = pd.DataFrame({"customer_id": list("abcd"), "voice.latest_nps": [10.0, 0.0, None, 6.0]})
    weights = {"voice.latest_nps": 1.0}
    # Median of 10, 0, 6 is 6: c ties with d at ranks 2 and 3 (average 2.5 of 4): (2.5 - 1) / 3 = 0.5.
    median = scoring.indicator_ranks(customers, ScoringConfig(), weights)["voice.latest_nps"]
    assert median.tolist() == [1.0, 0.0, 0.5, 0.5]
    worst = scoring.indicator_ranks(customers, ScoringConfig(missing="worst"), weights)["voice.latest_nps"]
    assert worst.tolist() == [1.0, 0.0, 0.0, 0.5]
    # Lower is better for open complaints: 0 ranks best.
    complaints = pd.DataFrame({"customer_id": list("ab"), "voice.open_complaints": [0.0, 2.0]})
    ranks = scoring.indicator_ranks(complaints, ScoringConfig(), {"voice.open_complaints": 1.0})
    assert ranks["voice.open_complaints"].tolist() == [1.0, 0.0]


def test_indicators_of_other_products_join_by_customer() -> None:
    rfm = pd.DataFrame({"customer_id": ["a", "b", "c"], "recency_days": [1.0, 2.0, 3.0]})
    engagement = pd.DataFrame({"customer_id": ["c", "a", "z"], "active_days": [4, 7, 9]})
    weights = {"recency_days": 0.9, "engagement.active_days": 0.1}
    table = scoring.indicator_table(rfm, None, {"engagement": engagement}, weights)
    assert table["engagement.active_days"].tolist()[0] == 7 and pd.isna(table["engagement.active_days"][1])
    assert table["engagement.active_days"].tolist()[2] == 4 and len(table) == 3
    with pytest.raises(KeyError, match="the engagement product has no column visits"):
        scoring.indicator_table(rfm, None, {"engagement": engagement}, {"engagement.visits": 1.0})
