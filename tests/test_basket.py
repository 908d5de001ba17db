"""Market baskets (helpers.basket) on a toy of ten orders whose every figure is counted by hand, the
sampled path against counts on all baskets, and the next best product per customer."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import actions, basket
from helpers.config import BasketConfig

from conftest import DEMO, DEMO_PERIOD, products

AS_OF = dt.date(2024, 12, 31)
# Ten orders (baskets); the customer of each is the letter before the dash.
TOY = {
    "x-1": "ABC",
    "x-2": "AB",
    "y-3": "AB",
    "y-4": "AC",
    "z-5": "BC",
    "z-6": "A",
    "w-7": "B",
    "w-8": "C",
    "v-9": "ABD",
    "v-10": "D",
}
LOOSE = BasketConfig(min_support=0.2, min_rule_baskets=2, min_confidence=0.0, min_lift=0.0, min_baskets=10)


def order_lines(orders: dict[str, str]) -> pd.DataFrame:
    rows = [
        (order.split("-")[0], order, dt.datetime(2024, 6, 1, 12), 10.0, item, f"cat-{item in 'AB'}")
        for order, items in orders.items()
        for item in items
    ]
    lines = pd.DataFrame(
        rows, columns=["customer_id", "order_id", "order_ts", "amount", "product_id", "category"]
    )
    return lines.assign(is_return=False, product_name=lines["product_id"].map(lambda p: f"Product {p}"))


@pytest.fixture
def toy(con):
    return con.create_table("toy_lines", order_lines(TOY), temp=True, overwrite=True)


def rule(rules: pd.DataFrame, antecedent: str, consequent: str) -> pd.Series:
    found = rules[(rules["antecedent"] == antecedent) & (rules["consequent"] == consequent)]
    assert len(found) == 1, f"{antecedent} -> {consequent}: {len(found)} rows"
    return found.iloc[0]


def test_rule_metrics_by_hand(con, toy) -> None:
    rules, facts = basket.mine_rules(con, basket.basket_items(toy, AS_OF), LOOSE, seed=1)
    assert facts == {"baskets": 10, "sampled_baskets": None, "itemsets": 7, "enough_baskets": True}
    # A in 6 baskets, B in 6, both in 4 of 10: support 0.4, confidence 4/6, lift (4/6)/0.6,
    # leverage 0.4 - 0.6 * 0.6, conviction (1 - 0.6) / (1 - 4/6).
    a_b = rule(rules, "A", "B")
    assert (a_b["baskets"], a_b["antecedent_baskets"], a_b["consequent_baskets"], a_b["rule_baskets"]) == (
        10,
        6,
        6,
        4,
    )
    assert a_b["support"] == pytest.approx(0.4)
    assert a_b["confidence"] == pytest.approx(2 / 3)
    assert a_b["lift"] == pytest.approx(10 / 9)
    assert a_b["leverage"] == pytest.approx(0.04)
    assert a_b["conviction"] == pytest.approx(1.2)
    # C in 4 baskets, A and C together in 2: C -> A has confidence 0.5, lift 0.5 / 0.6.
    assert rule(rules, "C", "A")["lift"] == pytest.approx(5 / 6)
    # D is in 2 baskets (support 0.2) but with A in only 1: no rule holds D.
    assert not rules["antecedent"].str.contains("D").any() and not (rules["consequent"] == "D").any()
    # A, B and C together in one basket: below min_rule_baskets, no three-item rule.
    assert set(rules["antecedent_items"]) == {1}
    # Strongest first; equal lift and confidence: by the items.
    assert list(rules[["antecedent", "consequent"]].itertuples(index=False, name=None))[:2] == [
        ("A", "B"),
        ("B", "A"),
    ]


def test_thresholds_drop_weak_rules(con, toy) -> None:
    strict = LOOSE.model_copy(update={"min_lift": 1.0})
    rules, _ = basket.mine_rules(con, basket.basket_items(toy, AS_OF), strict, seed=1)
    assert sorted(zip(rules["antecedent"], rules["consequent"], strict=True)) == [("A", "B"), ("B", "A")]
    few = LOOSE.model_copy(update={"min_baskets": 11})
    rules, facts = basket.mine_rules(con, basket.basket_items(toy, AS_OF), few, seed=1)
    assert rules.empty and facts["enough_baskets"] is False


def test_a_rule_is_never_wrong_has_no_finite_conviction() -> None:
    metrics = basket.rule_metrics(rule_baskets=3, antecedent_baskets=3, consequent_baskets=5, baskets=10)
    assert metrics["confidence"] == 1.0 and metrics["lift"] == 2.0 and metrics["conviction"] is None


def test_returns_and_later_orders_make_no_basket(con) -> None:
    lines = order_lines({"x-1": "AB", "x-2": "AB"})
    lines.loc[lines["order_id"] == "x-2", "is_return"] = True
    later = order_lines({"x-3": "AB"}).assign(order_ts=dt.datetime(2025, 1, 1))
    table = con.create_table("returns_lines", pd.concat([lines, later]), temp=True, overwrite=True)
    items = basket.basket_items(table, AS_OF).to_pandas()
    assert sorted(items["basket_id"].unique()) == ["x-1"]


def test_next_best_product_by_hand(con, toy) -> None:
    rules, _ = basket.mine_rules(
        con, basket.basket_items(toy, AS_OF), LOOSE.model_copy(update={"min_lift": 0.8}), 1
    )
    rules = rules.assign(level="product", segment=basket.ALL_CUSTOMERS)
    # Customers: x bought A, B, C; y bought A, B, C; z bought A, B, C; w bought B, C; v bought A, B, D.
    best = basket.next_best_products(con, toy, AS_OF, rules).set_index("customer_id")
    # w has B and C: B -> A (lift 10/9) beats C -> A (5/6); v has A and B: only rules towards C remain,
    # A -> C and B -> C (lift 5/6, confidence 1/3): A first by the items.
    assert best.loc["w", "product_id"] == "A" and best.loc["w", "because_bought"] == "B"
    assert best.loc["v", "product_id"] == "C" and best.loc["v", "because_bought"] == "A"
    assert best.loc["w", "lift"] == pytest.approx(10 / 9)
    # x, y and z already bought every product a rule offers.
    assert set(best.index) == {"v", "w"}


def test_category_level_and_segments(con, toy) -> None:
    segments = pd.DataFrame(
        {"customer_id": ["x", "y", "z", "w", "v"], "segment": ["S1", "S1", "S2", "S2", "S2"]}
    )
    config = LOOSE.model_copy(update={"min_baskets": 4, "min_rule_baskets": 1, "min_support": 0.1})
    rules, facts = basket.all_rules(con, toy, AS_OF, segments, config, seed=1)
    assert facts["product"]["S1"]["baskets"] == 4 and facts["product"]["S2"]["baskets"] == 6
    assert facts["category"][basket.ALL_CUSTOMERS]["baskets"] == 10
    # S1's baskets ABC, AB, AB, AC: A is in all four, so A -> B has lift 1 there; B -> C: 1 of 3.
    s1 = rules[(rules["level"] == "product") & (rules["segment"] == "S1")]
    assert rule(s1, "B", "A")["lift"] == pytest.approx(1.0)
    # Categories: cat-True (A, B) and cat-False (C, D).
    categories = rules[(rules["level"] == "category") & (rules["segment"] == basket.ALL_CUSTOMERS)]
    both = rule(categories, "cat-True", "cat-False")
    assert both["rule_baskets"] == 4  # baskets 1 (ABC), 4 (AC), 5 (BC), 9 (ABD)
    assert both["antecedent_baskets"] == 8 and both["consequent_baskets"] == 6


def test_rules_found_on_a_sample_are_counted_on_all_baskets(con) -> None:
    rng = np.random.default_rng(3)
    orders = {}
    for number in range(3000):
        items = set(rng.choice(list("ABCDEFGH"), size=rng.integers(1, 4), replace=True))
        if "A" in items and rng.random() < 0.5:
            items.add("B")
        orders[f"c{number % 700}-{number}"] = "".join(sorted(items))
    table = con.create_table("sampled_lines", order_lines(orders), temp=True, overwrite=True)
    config = BasketConfig(
        min_support=0.01, min_rule_baskets=5, min_confidence=0.0, min_lift=0.0, fit_sample_above=1000
    )
    rules, facts = basket.mine_rules(con, basket.basket_items(table, AS_OF), config, seed=7)
    assert facts["baskets"] == 3000 and facts["sampled_baskets"] == 1000
    sets = {order: set(items) for order, items in orders.items()}
    a_b = rule(rules, "A", "B")
    assert a_b["rule_baskets"] == sum({"A", "B"} <= s for s in sets.values())
    assert a_b["antecedent_baskets"] == sum("A" in s for s in sets.values())
    assert a_b["lift"] > 1.3
    every = rules["rule_baskets"] / rules["baskets"]
    assert (every >= 0.01).all() and (rules["baskets"] == 3000).all()


def test_the_cross_sell_rule_offers_the_next_best_product() -> None:
    best = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "product_id": ["P2", "P1"],
            "product_name": ["Two", "One"],
            "lift": [2.0, 3.0],
        }
    )
    scored = pd.DataFrame({"customer_id": ["a", "b", "c"], "status": ["active"] * 3})
    window = (dt.date(2025, 1, 1), dt.date(2025, 1, 31))
    members, why = actions.rule_members("next_best_product", scored, [], None, None, window, AS_OF, 90, best)
    assert why == "" and members[["customer_id", "offer", "offer_name"]].values.tolist() == [
        ["a", "P2", "Two"],
        ["b", "P1", "One"],
    ]
    for nothing in (None, best.iloc[:0]):
        assert actions.rule_members(
            "next_best_product", scored, [], None, None, window, AS_OF, 90, nothing
        ) == (
            None,
            "no_basket_rules",
        )


def test_the_demo_shops_planted_pair_and_its_offers(demo_planted: Path) -> None:
    """The generator adds the coffee beans (P012) to an order with the grinder (P011) with probability
    0.13: lift 3.0 +- 0.5 at 6,000 customers (docs/demo_data.md: 3.2 on the bundled 20,000), the
    strongest product rule both ways; each offer is the consequent of a rule whose antecedent the customer
    bought and whose consequent they never bought (checked with pandas on the clean orders); the cross-sell
    list is exactly the customers with an offer."""
    folder = products(demo_planted, DEMO_PERIOD, DEMO)
    rules = pd.read_parquet(folder / "06_rules.parquet")
    top = rules[(rules["level"] == "product") & (rules["segment"] == basket.ALL_CUSTOMERS)]
    assert {frozenset(pair) for pair in top.head(2)[["antecedent", "consequent"]].values} == {
        frozenset({"P011", "P012"})
    }
    assert top.iloc[0]["lift"] == pytest.approx(3.0, abs=0.5)
    lines = pd.read_parquet(folder / "02_transactions.parquet")
    orders = lines[~lines["is_return"]].groupby("order_id")["product_id"].agg(set)
    both = sum({"P011", "P012"} <= items for items in orders)
    assert top.iloc[0]["rule_baskets"] == both and top.iloc[0]["baskets"] == len(orders)
    best = pd.read_parquet(folder / "06_next_best_product.parquet")
    bought = lines[~lines["is_return"]].groupby("customer_id")["product_id"].agg(set)
    for row in best.itertuples():
        assert set(row.because_bought.split(" + ")) <= bought[row.customer_id]
        assert row.product_id not in bought[row.customer_id]
    cross_sell = pd.read_parquet(folder / "09_actions.parquet").query("list == 'cross_sell'")
    assert sorted(zip(cross_sell["customer_id"], cross_sell["offer"], strict=True)) == sorted(
        zip(best["customer_id"], best["product_id"], strict=True)
    )


def test_rules_and_offers_are_the_same_on_spark(spark, con, tmp_path: Path) -> None:
    """The toy mined and offered on Spark (sampled: fit_sample_above below the basket count, so the
    engine recounts every itemset) gives DuckDB's rules and offers exactly."""
    rng = np.random.default_rng(5)
    orders = {
        f"c{n % 300}-{n}": "".join(sorted(set(rng.choice(list("ABCDEF"), size=3)))) for n in range(1500)
    }
    path = tmp_path / "lines.parquet"
    order_lines(orders).to_parquet(path, index=False)
    config = BasketConfig(
        min_support=0.01, min_rule_baskets=5, min_confidence=0.0, min_lift=0.0, fit_sample_above=1000
    )
    found = {}
    for name, backend in (("duckdb", con), ("spark", spark)):
        table = backend.read_parquet(str(path))
        rules, facts = basket.mine_rules(backend, basket.basket_items(table, AS_OF), config, seed=3)
        assert facts["sampled_baskets"] == 1000
        rules = rules.assign(level="product", segment=basket.ALL_CUSTOMERS)
        found[name] = (rules, basket.next_best_products(backend, table, AS_OF, rules))
    pd.testing.assert_frame_equal(found["duckdb"][0], found["spark"][0])
    pd.testing.assert_frame_equal(found["duckdb"][1], found["spark"][1], check_dtype=False)
