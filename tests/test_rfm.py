"""RFM: per-customer metrics in the engine, quintile cut points and scores with ties, the segment
table (all 125 codes, validation, replacement), fixed cut points, summaries; answers worked out by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import io, rfm
from helpers.config import RFM_CODES, ParamsError, RfmConfig, SegmentRule, load_params

from conftest import DATASET, REPO, params_project

PERIOD_START, AS_OF = dt.date(1998, 6, 1), dt.date(1998, 6, 30)
DEFAULT_RULES = RfmConfig().segments


def transactions(rows: list[tuple[str, str, str, float]]) -> ibis.Table:
    """A 02_transactions-like table from (customer, order, timestamp, amount); negative = return."""
    frame = pd.DataFrame(rows, columns=["customer_id", "order_id", "order_ts", "amount"])
    frame["order_ts"] = pd.to_datetime(frame["order_ts"], format="ISO8601")
    frame["is_return"] = frame["amount"] < 0
    return ibis.memtable(frame)


SMALL = transactions(
    [
        ("a", "o1", "1998-01-10 09:00", 10.0),
        ("a", "o2", "1998-06-05 10:00", 20.0),  # one order, two rows
        ("a", "o2", "1998-06-05 10:00", 10.0),
        ("a", "r1", "1998-06-20 12:00", -5.0),  # a return: reduces spend, not an order, not the last order
        ("b", "o3", "1997-12-31 23:00", 50.0),
        ("b", "o4", "1998-07-01 00:00", 99.0),  # after as_of: ignored
        ("c", "o5", "1998-06-30 23:59:59", 12.5),
        ("d", "r2", "1998-03-01 08:00", -8.0),  # nothing but a return
    ]
)


def test_customer_metrics_by_hand(con) -> None:
    metrics = con.execute(rfm.customer_metrics(SMALL, PERIOD_START, AS_OF)).set_index("customer_id")
    assert list(metrics.index) == ["a", "b", "c", "d"]
    a, b, c, d = (metrics.loc[x] for x in "abcd")
    # a: first 1998-01-10, last purchase 1998-06-05 -> 25 days to 06-30; tenure 21+28+31+30+31+30 = 171
    assert (a.recency_days, a.frequency_orders, a.tenure_days) == (25, 2, 171)
    assert a.first_order_ts == pd.Timestamp("1998-01-10 09:00") and a.last_order_ts == pd.Timestamp(
        "1998-06-05 10:00"
    )
    assert a.monetary_total == pytest.approx(35.0) and a.avg_order_value == pytest.approx(17.5)
    assert (a.period_orders, a.period_revenue) == (1, pytest.approx(25.0))  # 30 in June minus the 5 returned
    # b: 1997-12-31 -> 1998-06-30 is 181 days; the July order does not exist yet
    assert (b.recency_days, b.tenure_days, b.frequency_orders, b.monetary_total) == (181, 181, 1, 50.0)
    assert (b.period_orders, b.period_revenue) == (0, 0.0)
    # c: the last second of the period still counts, recency 0
    assert (c.recency_days, c.tenure_days, c.frequency_orders, c.period_orders, c.period_revenue) == (
        0,
        0,
        1,
        1,
        12.5,
    )
    # d: only a return on 03-01: 30 + 30 + 31 + 30 = 121 days, no orders, negative spend, no average
    assert (d.recency_days, d.frequency_orders, d.monetary_total) == (121, 0, -8.0)
    assert pd.isna(d.avg_order_value)


def test_customers_who_only_returned_goods_are_set_aside_and_counted(con) -> None:
    buyers, returns_only = rfm.without_returns_only(rfm.customer_metrics(SMALL, PERIOD_START, AS_OF))
    assert returns_only == 1  # d: nothing but a return
    assert con.execute(buyers)["customer_id"].tolist() == ["a", "b", "c"]


def test_counting_rows_as_orders_gives_the_same_metrics_when_every_row_is_an_order(con) -> None:
    one_row_each = SMALL.filter(~((SMALL.order_id == "o2") & (SMALL.amount == 10.0)))  # o2 keeps one row
    distinct = con.execute(rfm.customer_metrics(one_row_each, PERIOD_START, AS_OF))
    counted = con.execute(rfm.customer_metrics(one_row_each, PERIOD_START, AS_OF, one_row_per_order=True))
    pd.testing.assert_frame_equal(counted, distinct)
    assert counted["frequency_orders"].tolist() == [2, 1, 1, 0] and counted["period_orders"].tolist() == [
        1,
        0,
        1,
        0,
    ]


def test_quintile_cut_points_without_ties_split_ten_customers_two_by_two() -> None:
    counts = pd.DataFrame({"value": [float(v) for v in range(1, 11)], "customers": [1] * 10})
    assert rfm.quintile_cut_points(counts) == [2.0, 4.0, 6.0, 8.0]


def test_quintile_cut_points_with_most_customers_tied_at_one_order() -> None:
    # 6 of 10 customers bought once: 20%, 40% and exactly 60% are all reached at 1; 80% at 2.
    counts = pd.DataFrame({"value": [1.0, 2.0, 3.0, 7.0], "customers": [6, 2, 1, 1]})
    assert rfm.quintile_cut_points(counts) == [1.0, 1.0, 1.0, 2.0]
    assert rfm.quintile_cut_points(counts.iloc[:0]) == []


def test_scores_with_ties_are_equal_for_equal_values_and_recency_is_reversed(con) -> None:
    table = ibis.memtable(
        {
            "frequency_orders": [1, 1, 1, 1, 1, 1, 2, 2, 3, 7],
            "recency_days": [1, 1, 5, 5, 5, 9, 20, 20, 30, 30],
        }
    )
    counts = rfm.metric_value_counts(table, "frequency_orders")
    assert counts.to_dict("list") == {"value": [1, 2, 3, 7], "customers": [6, 2, 1, 1]}
    f_cuts = rfm.quintile_cut_points(counts)
    r_cuts = rfm.quintile_cut_points(rfm.metric_value_counts(table, "recency_days"))
    assert r_cuts == [1.0, 5.0, 9.0, 20.0]
    scored = con.execute(
        table.mutate(
            f_score=rfm.score_expression(table.frequency_orders, f_cuts, lower_is_better=False),
            r_score=rfm.score_expression(table.recency_days, r_cuts, lower_is_better=True),
        )
    )
    # F: 1 is above no cut point -> 1; 2 is above three (1, 1, 1) -> 4; 3 and 7 above all four -> 5
    assert scored["f_score"].tolist() == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    # R: 1 day is above none -> 5; 5 above one -> 4; 9 -> 3; 20 -> 2; 30 above all -> 1
    assert scored["r_score"].tolist() == [5, 5, 4, 4, 4, 3, 2, 2, 1, 1]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=6), min_size=1, max_size=40))
def test_identical_values_always_get_identical_scores(values: list[int]) -> None:
    table = ibis.memtable({"frequency_orders": values})
    cuts = rfm.quintile_cut_points(rfm.metric_value_counts(table, "frequency_orders"))
    scored = table.mutate(f_score=rfm.score_expression(table.frequency_orders, cuts, False)).execute()
    per_value = scored.groupby("frequency_orders")["f_score"].nunique()
    assert (per_value == 1).all()
    ordered = scored.sort_values("frequency_orders")["f_score"]
    assert ordered.is_monotonic_increasing and ordered.between(1, 5).all()


def test_every_one_of_the_125_codes_has_exactly_one_segment_and_every_segment_is_reached(con) -> None:
    assert len(RFM_CODES) == 125
    owners = {code: rfm.segment_of_code(code, DEFAULT_RULES) for code in RFM_CODES}
    assert all(owner is not None for owner in owners.values())
    names = [rule.name for rule in DEFAULT_RULES]
    assert names == [
        "Champions",
        "Loyal Customers",
        "Budding Loyalists",
        "Recent First-Timers",
        "Promising",
        "Need Attention",
        "Can't Lose Them",
        "Fading Regulars",
        "About To Sleep",
        "Hibernating",
        "Long Gone",
    ]
    assert set(owners.values()) == set(names)
    # Priority: 555 matches Champions, Loyal Customers and the catch-all; the first wins.
    assert [owners[c] for c in ("555", "333", "155", "122", "211", "112", "111")] == [
        "Champions",
        "Loyal Customers",
        "Can't Lose Them",
        "Fading Regulars",
        "About To Sleep",
        "Hibernating",
        "Long Gone",
    ]
    # The engine expression agrees with the rule table on all 125 codes.
    codes = pd.DataFrame({"code": RFM_CODES})
    codes[["r", "f", "m"]] = [[int(c) for c in code] for code in RFM_CODES]
    t = ibis.memtable(codes)
    in_engine = con.execute(t.mutate(segment=rfm.segment_expression(t.r, t.f, t.m, DEFAULT_RULES)))
    assert dict(zip(in_engine["code"], in_engine["segment"])) == owners


def test_defaults_yaml_carries_the_same_table_as_the_code() -> None:
    assert load_params("cdnow", "1998-06", REPO).rfm == RfmConfig()
    assert all(rule.meaning.endswith(".") and rule.action.endswith(".") for rule in DEFAULT_RULES)


def _project(tmp_path: Path, extra: str) -> Path:
    return params_project(tmp_path, extra)


def _rule(name: str, r: str, f: str = "[1, 5]", m: str = "[1, 5]") -> str:
    return (
        f"    - {{name: {name}, r_score: {r}, f_score: {f}, m_score: {m}, "
        f'meaning: "{name} customers.", action: "Do something."}}\n'
    )


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (
            _rule("Recent", "[3, 5]") + _rule("Old", "[2, 2]"),
            "setting 'rfm.segments' is invalid: no rule matches the R-F-M codes 111, 112, 113, 114, 115 and "
            "20 more; "
            "end the table with a catch-all rule",
        ),
        (
            _rule("Everyone", "[1, 5]") + _rule("Recent", "[4, 5]"),
            "setting 'rfm.segments' is invalid: segment ['Recent'] can never be reached because earlier "
            "rules take all",
        ),
        (
            _rule("Same", "[4, 5]") + _rule("Same", "[1, 5]"),
            "setting 'rfm.segments' is invalid: segment names must be unique, ['Same'] appear more than once",
        ),
        (
            _rule("Bad", "[0, 5]"),
            "setting 'rfm.segments.0.r_score' is invalid: a score range is [lowest, highest]",
        ),
    ],
)
def test_a_segment_table_with_a_gap_or_a_dead_rule_is_rejected_naming_the_key(
    tmp_path: Path, rules: str, message: str
) -> None:
    root = _project(tmp_path, "rfm:\n  segments:\n" + rules)
    with pytest.raises(ParamsError) as error:
        load_params(DATASET, "1998-06", root)
    assert "1998-06.yaml" in str(error.value) and message in str(error.value)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "rfm:\n  cut_points: fixed\n",
            "cut_points: fixed needs exactly one of fixed_cut_points or cut_points_period",
        ),
        (
            "rfm:\n  cut_points: fixed\n  fixed_cut_points: {frequency_orders: [1, 1, 2, 4], "
            "monetary_total: [50, 40, 30, 20]}\n",
            "fixed_cut_points.monetary_total must be 4 cut points in ascending order",
        ),
        (
            "rfm:\n  cut_points: fixed\n  fixed_cut_points: {recency_days: [1, 2, 3, 4], frequency_orders: "
            "[1, 1, 2, 4], monetary_total: [20, 30, 40, 50]}\n",
            "fixed_cut_points must give exactly ['frequency_orders', 'monetary_total'] (recency_days only "
            "with recency: quintiles; with recency: cycle it is scored on the purchase cycle)",
        ),
        ("rfm:\n  recency_days: [30, 90, 90, 365]\n", "give 4 positive values in increasing order"),
        (
            'rfm:\n  cut_points: fixed\n  cut_points_period: "March 1998"\n',
            "cut_points_period 'March 1998' is not a period label",
        ),
    ],
)
def test_fixed_cut_point_settings_are_validated(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(ParamsError, match="setting 'rfm(\\.recency_days)?' is invalid") as error:
        load_params(DATASET, "1998-06", _project(tmp_path, extra))
    assert message in str(error.value)


def test_a_user_table_in_another_language_replaces_the_default_without_code(tmp_path: Path, con) -> None:
    rules = _rule("Stammkunden", "[4, 5]", "[4, 5]") + _rule("Schläfer", "[1, 2]") + _rule("Übrige", "[1, 5]")
    params = load_params(DATASET, "1998-06", _project(tmp_path, "rfm:\n  segments:\n" + rules))
    assert [rule.name for rule in params.rfm.segments] == ["Stammkunden", "Schläfer", "Übrige"]
    customers = rfm.customer_metrics(SMALL, PERIOD_START, AS_OF)
    scored = con.execute(
        rfm.score_customers(customers, rfm.quantile_cut_points(customers), params.rfm.segments)
    )
    assert set(scored["segment"]) <= {"Stammkunden", "Schläfer", "Übrige"}
    assert scored["segment"].notna().all()


def test_scored_customers_by_hand(con) -> None:
    customers = rfm.customer_metrics(SMALL, PERIOD_START, AS_OF)
    cuts = rfm.quantile_cut_points(customers)
    # 4 customers: cut k is the value at sorted position ceil(4k/5) = 1, 2, 3, 4, i.e. every value.
    assert cuts == {
        "recency_days": [0.0, 25.0, 121.0, 181.0],
        "frequency_orders": [0.0, 1.0, 1.0, 2.0],
        "monetary_total": [-8.0, 12.5, 35.0, 50.0],
    }
    scored = con.execute(rfm.score_customers(customers, cuts, DEFAULT_RULES)).set_index("customer_id")
    # a: recency 25 above 1 cut -> R 4; 2 orders above 3 cuts -> F 4; 35 above 2 cuts -> M 3
    # b: 181 -> R 2; 1 order -> F 2; 50 -> M 4.  c: 0 -> R 5; F 2; 12.5 -> M 2.  d: 121 -> R 3; 0 -> F 1; -8
    # -> M 1
    assert scored["rfm_code"].to_dict() == {"a": "443", "b": "224", "c": "522", "d": "311"}
    assert scored["segment"].to_dict() == {
        "a": "Loyal Customers",
        "b": "Fading Regulars",
        "c": "Budding Loyalists",
        "d": "Promising",
    }


def test_fixed_cut_points_from_params_and_from_an_earlier_period(tmp_path: Path) -> None:
    customers = rfm.customer_metrics(SMALL, PERIOD_START, AS_OF)
    fixed = {
        "recency_days": [10, 20, 30, 40],
        "frequency_orders": [1, 2, 3, 4],
        "monetary_total": [10, 20, 30, 40],
    }
    given_cuts = rfm.resolve_cut_points(
        RfmConfig(recency="quintiles", cut_points="fixed", fixed_cut_points=fixed), customers, "1998-06"
    )
    assert given_cuts["recency_days"] == [10.0, 20.0, 30.0, 40.0] and given_cuts["method"] == "fixed"
    earlier = io.write_json({**given_cuts, "period": "1998-03"}, tmp_path / "03_rfm_cutpoints.json")
    reused = rfm.resolve_cut_points(
        RfmConfig(recency="quintiles", cut_points="fixed", cut_points_period="1998-03"),
        customers,
        "1998-06",
        earlier,
    )
    assert reused["monetary_total"] == [10.0, 20.0, 30.0, 40.0] and reused["recency_days"] == [10, 20, 30, 40]
    # Recency on the purchase cycle (the default) or on fixed day bands: F and M as before.
    fm_only = {m: fixed[m] for m in ("frequency_orders", "monetary_total")}
    on_cycle = rfm.resolve_cut_points(
        RfmConfig(cut_points="fixed", fixed_cut_points=fm_only), customers, "1998-06", cycle_days=40.0
    )
    assert on_cycle["recency_days"] == on_cycle["recency_bands"] == [40.0, 80.0, 120.0, 200.0]
    assert on_cycle["monetary_total"] == [10.0, 20.0, 30.0, 40.0] and on_cycle["purchase_cycle_days"] == 40.0
    on_days = rfm.resolve_cut_points(RfmConfig(recency="days"), customers, "1998-06", cycle_days=40.0)
    assert on_days["recency_days"] == [30.0, 90.0, 180.0, 365.0] and on_days["recency"] == "days"
    assert on_days["frequency_orders"] == [0.0, 1.0, 1.0, 2.0]  # this period's quintiles
    assert (
        reused["source"] == "the 1998-03 cut points (03_rfm_cutpoints.json)" and reused["period"] == "1998-06"
    )
    with pytest.raises(
        FileNotFoundError, match="build the 1997-01 report first or set rfm.cut_points: quantiles"
    ):
        rfm.resolve_cut_points(
            RfmConfig(cut_points="fixed", cut_points_period="1997-01"), customers, "1998-06"
        )


def test_cut_points_table_says_which_values_give_each_score() -> None:
    table = rfm.cut_points_table(
        {
            "recency_days": [10.0, 20.0, 30.0, 40.0],
            "frequency_orders": [1.0, 1.0, 2.0, 4.0],
            "monetary_total": [15.36, 31.5, 60.0, 134.29],
        }
    ).set_index("metric")
    assert table.loc["frequency_orders"].tolist() == [
        "up to 1",
        "none (tied values)",
        "above 1 up to 2",
        "above 2 up to 4",
        "above 4",
    ]
    assert table.loc["recency_days"].tolist() == [
        "above 40",
        "above 30 up to 40",
        "above 20 up to 30",
        "above 10 up to 20",
        "up to 10",
    ]
    assert table.loc["monetary_total", "score 5"] == "above 134.29"


SCORED = ibis.memtable(
    pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "recency_days": [10, 20, 300, 400, 500],
            "frequency_orders": [5, 3, 1, 2, 1],
            "monetary_total": [100.0, 50.0, 10.0, 30.0, 10.0],
            "period_revenue": [20.0, 0.0, 0.0, 0.0, 0.0],
            "r_score": [5, 5, 3, 1, 1],
            "f_score": [5, 4, 1, 3, 1],
            "m_score": [5, 4, 1, 3, 1],
            "segment": ["Champions", "Champions", "Promising", "Fading Regulars", "Long Gone"],
        }
    )
)


def test_segment_summary_lists_every_segment_in_rule_order_with_shares_by_hand() -> None:
    summary = rfm.segment_summary(SCORED, DEFAULT_RULES).set_index("segment")
    assert list(summary.index) == [rule.name for rule in DEFAULT_RULES]
    champions = summary.loc["Champions"]
    assert (champions.customers, champions.revenue, champions.period_revenue) == (2, 150.0, 20.0)
    assert champions["share_of_customers_%"] == pytest.approx(40.0)
    assert champions["share_of_revenue_%"] == pytest.approx(75.0)  # 150 of 200
    means = ["mean_recency_days", "mean_frequency_orders", "mean_monetary_total"]
    assert champions[means].tolist() == [15.0, 4.0, 75.0]
    first_timers = summary.loc["Recent First-Timers"]
    assert (first_timers.customers, first_timers.revenue) == (0, 0.0)
    assert summary["customers"].sum() == 5 and summary["share_of_revenue_%"].sum() == pytest.approx(100.0)
    assert (champions.r_range, champions.f_range, summary.loc["Promising", "r_range"]) == ("4-5", "4-5", "3")
    guide = rfm.segment_guide(summary.reset_index())
    assert guide.splitlines()[0] == (
        "- **Champions** (2 customers, 40.0% of customers and 75.0% of revenue). "
        "Bought recently, buy often and spend the most. *What to do:* Reward them, "
        "give them early access to new products and ask for reviews and referrals."
    )
    assert "- **Recent First-Timers** (no customers this period)." in guide


def test_rf_grids_count_customers_and_average_spend_per_cell() -> None:
    counts = rfm.rf_grid(SCORED, "customers")
    assert list(counts.index) == [5, 4, 3, 2, 1] and list(counts.columns) == [1, 2, 3, 4, 5]
    assert (counts.loc[5, 5], counts.loc[5, 4], counts.loc[1, 1], counts.loc[1, 3], counts.loc[4, 4]) == (
        1,
        1,
        1,
        1,
        0,
    )
    assert counts.to_numpy().sum() == 5
    spend = rfm.rf_grid(SCORED, "mean_monetary_total")
    assert (spend.loc[5, 5], spend.loc[1, 3]) == (100.0, 30.0) and pd.isna(spend.loc[4, 4])


def test_a_period_without_customers_gives_empty_results_not_errors(con) -> None:
    empty = SMALL.filter(SMALL.customer_id == "nobody")
    customers = rfm.customer_metrics(empty, PERIOD_START, AS_OF)
    cuts = rfm.quantile_cut_points(customers)
    assert cuts == {"recency_days": [], "frequency_orders": [], "monetary_total": []}
    scored = rfm.score_customers(customers, cuts, DEFAULT_RULES)
    assert len(con.execute(scored)) == 0
    summary = rfm.segment_summary(scored, DEFAULT_RULES)
    assert (
        summary["customers"].tolist() == [0] * 11 and summary["share_of_customers_%"].tolist() == [0.0] * 11
    )
    assert rfm.rf_grid(scored, "customers").to_numpy().sum() == 0
    assert rfm.cut_points_table(cuts)["score 1"].tolist() == ["–", "–", "–"]


def test_segment_rule_matching_is_inclusive_at_both_ends() -> None:
    rule = SegmentRule(name="x", r_score=(2, 4), f_score=(1, 1), m_score=(5, 5), meaning="m.", action="a.")
    assert rule.matches(2, 1, 5) and rule.matches(4, 1, 5)
    assert not rule.matches(5, 1, 5) and not rule.matches(3, 2, 5) and not rule.matches(3, 1, 4)


def test_the_purchase_cycle_is_the_median_gap_of_repeat_customers(con) -> None:
    orders = transactions(
        [
            ("a", "1", "1998-01-01", 10.0),
            ("a", "2", "1998-01-31", 10.0),  # one gap of 30 days
            ("b", "3", "1998-01-01", 10.0),
            ("b", "4", "1998-01-21", 10.0),
            ("b", "5", "1998-02-10", 10.0),  # 40 days over 2 gaps: 20
            ("c", "6", "1998-01-01 06:00", 10.0),
            ("c", "7", "1998-06-30 06:00", 10.0),  # 180 days
            ("d", "8", "1998-05-01", 10.0),  # one order: no gap
        ]
    )
    customers = rfm.customer_metrics(orders, PERIOD_START, AS_OF)
    assert rfm.purchase_cycle_days(customers, min_gap_days=7) == 30.0  # median of 30, 20, 180
    assert rfm.purchase_cycle_days(customers, min_gap_days=45) == 45.0  # never below the minimum gap
    nobody_twice = rfm.customer_metrics(orders.filter(orders.customer_id == "d"), PERIOD_START, AS_OF)
    assert rfm.purchase_cycle_days(nobody_twice, 7) == rfm.NO_CYCLE_DAYS


def test_what_each_recency_range_promises() -> None:
    bands = [80.0, 160.0, 240.0, 400.0]
    assert rfm.recency_claim((4, 5), bands) == (0.0, 160.0)  # Champions: within two cycles
    assert rfm.recency_claim((3, 3), bands) == (160.0, 240.0)  # Promising
    assert rfm.recency_claim((1, 2), bands) == (240.0, float("inf"))
    assert rfm.recency_claim((1, 5), bands) == (0.0, float("inf"))
    assert rfm.recency_bands(RfmConfig(), 79.67) == [79.7, 159.3, 239.0, 398.4]
    assert rfm.recency_bands(RfmConfig(recency="days"), 79.67) == [30.0, 90.0, 180.0, 365.0]


def test_segment_names_are_checked_against_their_own_medians(con) -> None:
    """Quintiles of an ageing customer base made 'Champions: bought recently' hold customers who had
    not ordered for over 180 days; the check flags exactly such a segment."""
    medians = pd.DataFrame(
        {
            "customers": [10, 5, 3],
            "median_recency_days": [213.0, 100.0, 120.0],
            "median_frequency_orders": [6.0, 3.0, 1.0],
            "median_monetary_total": [300.0, 90.0, 20.0],
        },
        index=pd.Index(["Champions", "Promising", "Long Gone"], name="segment"),
    )
    truth = rfm.segment_truth(medians, DEFAULT_RULES, [80.0, 160.0, 240.0, 400.0]).set_index("segment")
    assert truth.index.tolist() == ["Champions", "Promising", "Long Gone"]  # rule order, empty ones left out
    assert truth.loc["Champions", ["ok", "direction"]].tolist() == [
        False,
        1,
    ]  # 213 > 160: older than promised
    assert truth.loc["Promising", ["ok", "direction"]].tolist() == [False, -1]  # 100 <= 160: more recent
    assert truth.loc["Long Gone", "ok"]  # promises nothing about recency
    scored = ibis.memtable(
        pd.DataFrame(
            {
                "segment": ["Champions", "Champions", "Promising"],
                "recency_days": [10, 30, 200],
                "frequency_orders": [5, 7, 1],
                "monetary_total": [50.0, 70.0, 5.0],
            }
        )
    )
    found = rfm.segment_medians(scored)
    assert found.loc["Champions"].tolist() == [2, 20.0, 6.0, 60.0]
    assert rfm.segment_truth(found, DEFAULT_RULES, [80.0, 160.0, 240.0, 400.0])["ok"].all()
