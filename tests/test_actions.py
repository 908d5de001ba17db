"""Action lists, their hold-out groups and the measured effect of the compared period's lists
(helpers.filters, helpers.actions, helpers.effects): hand-made tables, Newcombe's published intervals,
and an A/A check on CDNOW (nothing was done with the lists, so clear effects must be rare)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import actions, effects, status
from helpers.config import ActionListConfig, ActionsConfig, StatusConfig
from helpers.filters import FilterError, apply_filter, check_filter, column_kinds, parse_filter

from conftest import CDNOW, DEMO, DEMO_PERIOD, products, report_folder, restricted_folder

# ------------------------------------------------------------------------------------------- filters

CUSTOMERS = pd.DataFrame(
    {
        "customer_id": ["a", "b", "c", "d"],
        "segment": ["At Risk", "Champions", "At Risk", None],
        "clv": [150.0, 90.0, np.nan, 300.0],
        "recency_days": [10, 200, 50, 400],
        "tier": ["A", "B", "C", "A"],
    }
)


@pytest.mark.parametrize(
    "text, kept",
    [
        ("segment == 'At Risk' and clv > 100", ["a"]),
        ('segment == "At Risk"', ["a", "c"]),
        ("tier in ('A', 'B')", ["a", "b", "d"]),
        ("tier not in ('A', 'B')", ["c"]),
        ("not (clv > 100)", ["b", "c"]),  # c has no value: it fails clv > 100, so not(...) keeps it
        ("10 <= recency_days < 200", ["a", "c"]),
        ("clv > 2 * recency_days", ["a"]),
        ("segment != 'At Risk' or recency_days > 300", ["b", "d"]),  # d's missing segment fails !=
        ("`recency_days` >= 400", ["d"]),
        ("clv / 3 == 50 or -recency_days < -300", ["a", "d"]),
    ],
)
def test_a_filter_keeps_the_customers_its_conditions_say(text: str, kept: list[str]) -> None:
    parsed = check_filter(text, column_kinds(CUSTOMERS))
    assert CUSTOMERS.loc[apply_filter(parsed, CUSTOMERS).to_numpy(), "customer_id"].tolist() == kept


@pytest.mark.parametrize(
    "text, message",
    [
        ("clv >", "it is not a condition on the customers' columns"),
        ("segment > 'A'", "orders text; use == or in (...) for text"),
        ("segment == 5", "compares text with number (text is written in quotes)"),
        ("clv == 'high'", "compares number with text"),
        ("colour == 'red'", "there is no column 'colour'; use one of clv, customer_id, recency_days"),
        ("__import__('os').system('ls') == 0", "is not allowed"),
        ("clv in (1, recency_days)", "the list after 'in' holds only numbers or quoted text"),
        ("clv", "it is not a condition"),
        ("clv ** 2 > 4", "only + - * / are allowed, not Pow"),
        ("clv > 1 and 2", "'2' is not a condition, so it cannot be joined by and / or"),
    ],
)
def test_a_filter_outside_the_grammar_or_the_columns_is_one_sentence(text: str, message: str) -> None:
    with pytest.raises(FilterError, match=re.escape(message)):
        check_filter(text, column_kinds(CUSTOMERS))


def test_a_list_in_params_needs_a_rule_or_a_filter_in_the_grammar() -> None:
    with pytest.raises(ValueError, match="needs a rule, a filter or both"):
        ActionListConfig()
    with pytest.raises(ValueError, match="filter 'clv >>> 2'"):
        ActionListConfig(filter="clv >>> 2")
    with pytest.raises(ValueError, match="lower-case words joined by _"):
        ActionsConfig(lists={"VIP list": {"filter": "clv > 1"}})
    assert "birthday" not in ActionsConfig(lists={"birthday": None}).lists  # null removes a default list
    assert parse_filter("a > 1 and b == 'x'").columns == ("a", "b")


# ------------------------------------------------------------------------------------------ hold-out


def test_the_hold_out_is_a_stable_share_decided_by_each_customer_alone() -> None:
    ids = pd.Series([f"{n:06d}" for n in range(100_000)])
    held = actions.is_held_out(ids, 0.1, seed=42)
    assert abs(held.mean() - 0.1) < 0.003  # binomial sd 0.00095
    again = actions.is_held_out(ids.iloc[::-1].reset_index(drop=True), 0.1, seed=42)
    assert (again[::-1] == held).all()  # on rerun, in any order
    some = actions.is_held_out(ids.iloc[5:50:3].reset_index(drop=True), 0.1, seed=42)
    assert (some == held[5:50:3]).all()  # whoever else is on the list
    other_seed = actions.is_held_out(ids, 0.1, seed=7)
    assert 0.05 < (other_seed & held).sum() / held.sum() < 0.15  # another seed: another, independent draw
    assert not actions.is_held_out(ids, 0.0, seed=42).any()


# ---------------------------------------------------------------------------------------- the lists


def test_the_next_period_and_the_occasions_in_it_by_hand() -> None:
    assert actions.next_period(dt.date(1998, 6, 1), dt.date(1998, 6, 30)) == (
        dt.date(1998, 7, 1),
        dt.date(1998, 7, 31),
    )
    assert actions.next_period(dt.date(2024, 1, 1), dt.date(2024, 1, 31)) == (
        dt.date(2024, 2, 1),
        dt.date(2024, 2, 29),
    )
    assert actions.next_period(dt.date(2024, 1, 10), dt.date(2024, 1, 19)) == (
        dt.date(2024, 1, 20),
        dt.date(2024, 1, 29),
    )
    dates = pd.Series(["1992-02-29", "1985-12-31", "1999-01-05", "2023-12-25", None, "1970-06-15"])
    found = actions.occasion_in(dates, dt.date(2023, 12, 20), dt.date(2024, 1, 10))
    assert found.tolist()[:3] == [pd.NaT, pd.Timestamp("2023-12-31"), pd.Timestamp("2024-01-05")]
    assert found.isna().tolist()[3:] == [True, True, True]  # 2023-12-25 is its own day, not an anniversary
    february = actions.occasion_in(dates, dt.date(2023, 2, 1), dt.date(2023, 2, 28))
    assert february.tolist()[0] == pd.Timestamp("2023-02-28")  # 29 February in a common year


def scored_shop() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c4", "c5", "p1"],
            "status": ["active", "at risk", "lapsed", "churned", "active", "potential"],
            "tier": ["A", "B", "A", "D", "C", None],
            "clv": [500.0, 120.0, 40.0, 0.0, 20.0, np.nan],
            "first_order_ts": pd.to_datetime(
                ["2022-07-03", "2023-01-10", "2021-07-31", "2020-03-01", "2024-06-02", None]
            ),
        }
    )


def test_each_rule_and_filter_makes_its_list_by_hand() -> None:
    scored = scored_shop()
    customers = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "p1"],
            "birth_date": ["1980-07-14", "1990-08-01", None, "2001-07-01"],
            "signup_ts": [None, "2019-07-20 10:00", None, None],
        }
    )
    interactions = pd.DataFrame(
        {
            "customer_id": ["c1", "c1", "c3", "c5"],
            "interaction_ts": pd.to_datetime(["2024-01-05", "2024-05-20", "2024-03-01", "2024-07-02"]),
        }
    )
    settings = ActionsConfig(
        control_share=0.0,
        contact_gap_days=90,
        lists={
            "win_back": {"rule": "churn_warning"},
            "birthday": {"rule": "birthday"},
            "anniversary": {"rule": "anniversary"},
            "no_recent_contact": {"rule": "no_recent_contact", "filter": "tier in ('A', 'B')"},
            "big_spenders": {"filter": "clv >= 100"},
        },
    )
    june = (dt.date(2024, 6, 1), dt.date(2024, 6, 30))
    lists, skipped = actions.action_lists(
        scored, settings, ["at risk", "lapsed"], customers, interactions, june, 42
    )
    members = lists.groupby("list")["customer_id"].apply(list).to_dict()
    assert members == {
        "win_back": ["c2", "c3"],
        "birthday": ["c1", "p1"],  # birthdays in July 2024, a potential customer too
        "anniversary": ["c1", "c2", "c3"],  # c1 first order 3 July; c2 signed up 20 July; c3 31 July
        "no_recent_contact": ["c2", "c3"],  # tier A/B; c1 was contacted on 20 May (41 days before 30 June)
        "big_spenders": ["c1", "c2"],
    }
    assert set(lists["group"]) == {"contact"} and skipped == {}
    dates = lists.set_index(["list", "customer_id"])["occasion_date"]
    assert dates[("anniversary", "c2")] == dt.date(2024, 7, 20) and dates[("birthday", "c1")] == dt.date(
        2024, 7, 14
    )
    _, skipped = actions.action_lists(scored, settings, ["at risk", "lapsed"], None, None, june, 42)
    assert skipped == {"birthday": "no_birth_dates", "no_recent_contact": "no_interactions"}
    facts = actions.list_facts(lists, settings, ["at risk", "lapsed"], june, skipped)
    assert facts["start"] == "2024-07-01" and [e["list"] for e in facts["lists"]] == [
        "win_back",
        "anniversary",
        "big_spenders",
    ]
    assert actions.lists_intro(facts, "en")[1:] == [
        "No “Birthday greetings” list: the customer attributes hold no birth dates.",
        "No “Valuable, not contacted lately” list: there is no record of contacts (an interactions source).",
    ]
    assert (
        facts["lists"][0]["purpose"]["en"]
        == "customers who are at risk or lapsed: reach them before they are gone"
    )


def test_the_exports_mark_the_hold_out_in_words() -> None:
    lists = pd.DataFrame(
        {
            "list": ["win_back"] * 3,
            "customer_id": ["c1", "c2", "c3"],
            "group": ["contact", "hold out", "contact"],
            "occasion_date": [None, None, None],
        }
    )
    tables = actions.export_tables(lists, scored_shop(), "en")
    table = tables["action_win_back"]
    assert table.columns.tolist() == ["customer_id", "group", "status", "clv"]
    assert table["group"].tolist() == ["contact", "hold out: do not contact", "contact"]
    assert (
        actions.export_tables(lists, scored_shop(), "zh")["action_win_back"]["group"][1] == "对照组：请勿联系"
    )


# ---------------------------------------------------------------------------------------- the effect


@pytest.mark.parametrize(
    "counts, interval",
    [  # Newcombe (1998), Statistics in Medicine 17:873-890, Table II, method 10
        ((56, 70, 48, 80), (0.0524, 0.3339)),
        ((9, 10, 3, 10), (0.1705, 0.8090)),
        ((6, 7, 2, 7), (0.0582, 0.8062)),
        ((5, 56, 0, 29), (-0.0381, 0.1926)),
        ((0, 10, 0, 20), (-0.1611, 0.2775)),
        ((10, 10, 0, 20), (0.6791, 1.0000)),
    ],
)
def test_the_interval_of_a_difference_of_proportions_is_newcombes(counts, interval) -> None:
    difference, low, high = effects.proportion_difference(*counts, 0.95)
    assert difference == pytest.approx(counts[0] / counts[1] - counts[2] / counts[3])
    assert (round(low, 4), round(high, 4)) == interval


def test_the_randomization_interval_of_a_difference_of_means() -> None:
    same = effects.randomization_mean_difference(np.full(50, 3.0), np.full(40, 1.0), 0.95, 500, seed=1)
    assert same == (2.0, 2.0, 2.0)
    rng = np.random.default_rng(0)
    a, b = rng.normal(10, 4, 2000), rng.normal(9, 4, 1500)
    difference, low, high = effects.randomization_mean_difference(a, b, 0.95, 2000, seed=3)
    half = 1.959964 * np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))  # normal data: Welch's
    assert difference == pytest.approx(a.mean() - b.mean())
    assert low == pytest.approx(difference - half, abs=0.03) and high == pytest.approx(
        difference + half, abs=0.03
    )
    assert effects.randomization_mean_difference(a, b, 0.95, 2000, seed=3) == (difference, low, high)


def test_a_lists_effect_by_hand_with_contacts_and_contamination() -> None:
    ids = [f"k{n:02d}" for n in range(40)]
    members = pd.DataFrame({"customer_id": ids, "group": ["contact"] * 28 + ["hold out"] * 12})
    ordered = set(ids[:14]) | set(ids[28:31])  # 14 of 28 treated, 3 of 12 held out ordered
    now = pd.DataFrame(
        {
            "customer_id": ids[:38],  # k38, k39 are no longer in the data: they count as not ordering
            "period_orders": [1 if i in ordered else 0 for i in ids[:38]],
            "period_revenue": [30.0 if i in ordered else 0.0 for i in ids[:38]],
            "status": ["active" if i in ordered else "lapsed" for i in ids[:38]],
        }
    )
    row = effects.list_effect("win_back", members, effects.outcomes(now), None, 0.95, 500, seed=1)
    assert (row["treated"], row["held_out"], row["contaminated"]) == (28, 12, 0)
    assert row["ordered_treated"] == 0.5 and row["ordered_held_out"] == 0.25
    assert (row["ordered_low"], row["ordered_high"]) == pytest.approx(
        effects.proportion_difference(14, 28, 3, 12, 0.95)[1:]
    )
    assert row["revenue_treated"] == 15.0 and row["revenue_held_out"] == 7.5 and row["active_treated"] == 0.5
    # A file of contacts: 20 of the list were reached (10 of them ordered), and 2 held-out customers.
    contacted = set(ids[:10]) | set(ids[14:24]) | {"k30", "k35"}
    row = effects.list_effect("win_back", members, effects.outcomes(now), contacted, 0.95, 500, seed=1)
    assert (row["treated_by"], row["treated"], row["held_out"], row["contaminated"]) == (
        "contacts",
        20,
        12,
        2,
    )
    assert row["ordered_treated"] == 0.5
    few = effects.list_effect("win_back", members.iloc[20:], effects.outcomes(now), None, 0.95, 500, seed=1)
    assert few["verdict"] == "too_few" and few["ordered_low"] is None  # 8 treated: fewer than 10
    shown = effects.effects_for_page(pd.DataFrame([few], columns=effects.EFFECT_COLUMNS), "en").iloc[0]
    assert (shown["treated"], shown["held_out"]) == (8, 12)
    assert shown[["ordered_treated", "revenue_treated"]].isna().all()
    sentence = effects.effect_sentences(
        pd.DataFrame([row], columns=effects.EFFECT_COLUMNS), "2024-05", "2024-06", 0.95, "en", "GBP"
    )[0]
    assert sentence.startswith(
        "Win-back (2024-05): 20 customers contacted from the list and 12 held out. 50.0% of them "
        "ordered in 2024-06 against 25.0% of those held out, +25.0 points (95% CI "
    )
    assert "Revenue per customer £15.00 against £7.50, +£7.50 (95% CI " in sentence
    assert sentence.endswith("2 held-out customers were contacted anyway; they stay in the hold-out, which "
                             "makes an effect look smaller than it is.")  # fmt: skip


def cdnow_customers(as_of: dt.date) -> pd.DataFrame:
    """CDNOW's customers at ``as_of`` with their orders of the month ending then, by independent pandas."""
    log = pd.read_csv(
        CDNOW, sep=r"\s+", header=0, names=["customer_id", "day", "quantity", "amount"], dtype=str
    )
    log["day"] = pd.to_datetime(log["day"], format="%Y%m%d")
    log["amount"] = log["amount"].astype(float)
    log = log[log["day"] <= pd.Timestamp(as_of)]
    month = log["day"] >= pd.Timestamp(as_of.replace(day=1))
    grouped = log.groupby("customer_id")
    table = pd.DataFrame(
        {
            "first_order_ts": grouped["day"].min(),
            "last_order_ts": grouped["day"].max(),
            "frequency_orders": grouped["day"].nunique(),
            "period_orders": log[month].groupby("customer_id")["day"].nunique(),
            "period_revenue": log[month].groupby("customer_id")["amount"].sum(),
        }
    ).reset_index()
    table["recency_days"] = (pd.Timestamp(as_of) - table["last_order_ts"]).dt.days
    return table.fillna({"period_orders": 0, "period_revenue": 0.0})


def test_with_nothing_done_a_clear_effect_shows_up_about_five_percent_of_the_time() -> None:
    """An A/A test on CDNOW: the win-back list of May 1998 (at risk or lapsed, days rules), split by 1,000
    seeds into contact and hold-out; nobody was contacted, so the share of seeds whose interval of the
    difference in ordering again leaves out zero must be near 5% (binomial sd 0.7%); and of 200 seeds'
    randomization intervals of revenue per customer, near 5% too (sd 1.5%; a percentile bootstrap interval
    gave 8% in 600 seeds: one June buyer of $1,286 among 404 moves a hold-out's mean by about $4)."""
    may = cdnow_customers(dt.date(1998, 5, 31))
    repeat = may[may["frequency_orders"] > 1]
    cycle = float(
        (
            (repeat["last_order_ts"] - repeat["first_order_ts"]).dt.days / (repeat["frequency_orders"] - 1)
        ).median()
    )
    statuses = status.assign(may, StatusConfig(), dt.date(1998, 5, 1), cycle)
    members = statuses.loc[statuses["status"].isin(["at risk", "lapsed"]), ["customer_id"]].reset_index(
        drop=True
    )
    assert 2_500 < len(members) < 4_000
    june = effects.outcomes(cdnow_customers(dt.date(1998, 6, 30)).assign(status="active"))
    joined = members.merge(june, on="customer_id", how="left").fillna({"ordered": False, "revenue": 0.0})
    ordered, revenue = joined["ordered"].astype(bool).to_numpy(), joined["revenue"].to_numpy()
    clear = []
    for seed in range(1_000):
        held = actions.is_held_out(members["customer_id"], 0.1, seed)
        _, low, high = effects.proportion_difference(
            int(ordered[~held].sum()), int((~held).sum()), int(ordered[held].sum()), int(held.sum()), 0.95
        )
        clear.append(low > 0 or high < 0)
    assert 0.03 <= np.mean(clear) <= 0.07
    clear_revenue = []
    for seed in range(200):
        held = actions.is_held_out(members["customer_id"], 0.1, seed)
        _, low, high = effects.randomization_mean_difference(revenue[~held], revenue[held], 0.95, 500, seed)
        clear_revenue.append(low > 0 or high < 0)
    assert 0.02 <= np.mean(clear_revenue) <= 0.08


# ------------------------------------------------------------------------------- through the chain


def test_the_lists_of_one_period_are_measured_on_the_next_and_shown_on_its_page(built_tiny: Path) -> None:
    """The tiny CDNOW chain: 1998-05's win-back list is its customers at risk or lapsed, held out by the
    keyed hash; 1998-06 compares them on its own orders (recomputed here with pandas), and its page and
    exports say so. The demo shop's birthday list holds the customers born in January (the next month)."""
    may, june = products(built_tiny, "1998-05"), products(built_tiny, "1998-06")
    lists = pd.read_parquet(may / "09_actions.parquet")
    scores = pd.read_parquet(may / "09_scores.parquet")
    win_back = lists[lists["list"] == "win_back"]
    expected = scores.loc[scores["status"].isin(["at risk", "lapsed"]), "customer_id"].sort_values()
    assert win_back["customer_id"].tolist() == expected.tolist()
    held = actions.is_held_out(win_back["customer_id"], 0.1, 42)
    assert win_back["group"].tolist() == ["hold out" if h else "contact" for h in held]
    facts = json.loads((may / "09_actions.json").read_text())
    assert facts["skipped"] == {
        "birthday": "no_birth_dates",
        "no_recent_contact": "no_interactions",
        "cross_sell": "no_basket_rules",  # CDNOW's orders have no product ids
    }

    rfm_june = pd.read_parquet(june / "03_rfm.parquet").set_index("customer_id")
    ordered = win_back["customer_id"].map(rfm_june["period_orders"]).fillna(0).gt(0).to_numpy()
    effect = pd.read_parquet(june / "09_action_effects.parquet").set_index("list").loc["win_back"]
    assert (effect["treated"], effect["held_out"]) == ((~held).sum(), held.sum())
    assert effect["ordered_treated"] == pytest.approx(ordered[~held].mean())
    assert effect["ordered_held_out"] == pytest.approx(ordered[held].mean())
    # The tiny extract holds out fewer than 10 of the list: too few to compare, and the page says so.
    assert held.sum() < effects.MIN_GROUP and effect["verdict"] == "too_few" and effect["ordered_low"] is None

    page = (report_folder(built_tiny, "1998-06") / "index.html").read_text()
    assert "Did last period&#x27;s actions work?" in page or "Did last period's actions work?" in page
    assert (
        f"Win-back (1998-05): too few customers to compare ({(~held).sum():,} and {held.sum()} held out"
        in page
    )
    export = pd.read_csv(
        restricted_folder(built_tiny, "1998-06") / "exports" / "action_win_back.csv", dtype=str
    )
    june_lists = pd.read_parquet(june / "09_actions.parquet")
    assert (export["group"] == "hold out: do not contact").sum() == (june_lists["group"] == "hold out").sum()

    demo = products(built_tiny, DEMO_PERIOD, DEMO)
    born = pd.read_parquet(demo / "02_customers.parquet").dropna(subset=["birth_date"])
    january = born.loc[pd.to_datetime(born["birth_date"]).dt.month == 1, "customer_id"].sort_values()
    demo_lists = pd.read_parquet(demo / "09_actions.parquet")
    assert demo_lists.loc[demo_lists["list"] == "birthday", "customer_id"].tolist() == january.tolist()
