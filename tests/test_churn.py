"""The churn model (helpers.churn): labels at a cut, features without leakage, the metrics, the rule that
a score must beat the days since the last order, and the measured AUCs on CDNOW and the demo shop."""

from __future__ import annotations

import datetime as dt
import json

import ibis
import numpy as np
import pandas as pd
import pytest

from helpers import catalog, churn
from helpers.config import ChurnConfig

from conftest import CDNOW, DEMO, DEMO_PERIOD, products

CUT = dt.date(2024, 6, 30)


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def orders_table(rows: list[tuple]) -> ibis.Table:
    return ibis.memtable(pd.DataFrame(rows, columns=["customer_id", "order_id", "order_ts", "amount"]))


# ----------------------------------------------------------------------------------- labels


def test_labels_count_the_window_days_after_the_cut_whole() -> None:
    """Window 10 days after 2024-06-30: orders up to 2024-07-10 23:59 bring a customer back; one on
    2024-07-11 is too late; a customer first seen after the cut, or with only returns before it, is not
    labelled; an order late on the cut day belongs to the history, not the window."""
    orders = orders_table(
        [
            ("a", "1", ts("2024-06-01"), 10.0),
            ("a", "2", ts("2024-07-10 23:59:59"), 5.0),  # last second of the window: back
            ("b", "3", ts("2024-06-30 23:00"), 10.0),  # on the cut day: history
            ("b", "4", ts("2024-07-11 00:00"), 10.0),  # first instant after the window: churned
            ("c", "5", ts("2024-07-02"), 10.0),  # first order after the cut: not labelled
            ("d", "6", ts("2024-06-01"), -10.0),  # only a return before the cut: not a customer
            ("d", "7", ts("2024-07-03"), 10.0),
            ("e", "8", ts("2024-06-01"), 10.0),
            ("e", "9", ts("2024-07-01 00:00"), -3.0),  # a return is not an order: churned
            ("f", "10", ts("2024-05-01"), 10.0),
            ("f", "11", ts("2024-07-01 00:00"), 3.0),  # first instant of the window: back
        ]
    )
    labels = churn.churn_labels(orders, CUT, 10)
    assert labels.to_dict("list") == {"customer_id": ["a", "b", "e", "f"], "churned": [0, 1, 1, 0]}


def test_cuts_are_one_window_apart() -> None:
    cuts = churn.plan_cuts(dt.date(1998, 6, 30), 180)
    assert (cuts.holdout, cuts.training) == (dt.date(1998, 1, 1), dt.date(1997, 7, 5))


# ---------------------------------------------------------------------------------- features


def sources(extra: bool = False) -> churn.Sources:
    """Two customers with every source kind; ``extra`` adds and changes rows after the cut only."""
    orders = [
        ("a", "1", ts("2024-01-01"), 10.0),
        ("a", "2", ts("2024-05-01"), 30.0),
        ("a", "2", ts("2024-05-01"), 20.0),  # a second line of order 2
        ("a", "3", ts("2024-06-30 12:00"), -5.0),  # a return: spend, not an order
        ("b", "4", ts("2024-06-20"), 40.0),
    ]
    events = [("a", ts("2024-06-01 10:00")), ("a", ts("2024-06-01 11:00")), ("a", ts("2024-03-01"))]
    contacts = [("b", ts("2024-06-10"))]
    resolved = ts("2024-09-01") if extra else ts("2024-07-05")  # changed after the cut: open at it either way
    feedback = [
        ("a", ts("2024-02-01"), "complaint", None, None, resolved),  # open at the cut
        ("a", ts("2024-03-01"), "complaint", None, None, ts("2024-03-02")),  # resolved before it
        ("b", ts("2024-04-01"), "survey", 9.0, "nps_0_10", None),
        ("b", ts("2024-06-01"), "survey", 3.0, "stars_1_5", None),  # the latest: (3 - 1) / 4
    ]
    if extra:
        orders += [("a", "9", ts("2024-07-01"), 99.0), ("c", "10", ts("2024-07-01"), 5.0)]
        events += [("a", ts("2024-07-01")), ("b", ts("2024-07-01"))]
        contacts += [("a", ts("2024-07-01")), ("b", ts("2024-08-01"))]
        feedback += [
            ("b", ts("2024-07-01"), "survey", 0.0, "nps_0_10", None),
            ("b", ts("2024-07-02"), "complaint", None, None, None),
        ]
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "birth_date": [dt.date(1990, 7, 1), dt.date(1950, 1, 1)],
            "region": ["North", None],
            "acquisition_channel": ["search", "referral"],
        }
    )
    return churn.Sources(
        orders_table(orders),
        ibis.memtable(pd.DataFrame(events, columns=["customer_id", "event_ts"])),
        ibis.memtable(pd.DataFrame(contacts, columns=["customer_id", "interaction_ts"])),
        ibis.memtable(
            pd.DataFrame(
                feedback, columns=["customer_id", "feedback_ts", "kind", "score", "scale", "resolved_ts"]
            )
        ),
        customers,
    )


def test_features_at_a_cut_by_hand() -> None:
    features = churn.features_at(sources(), CUT, 90).set_index("customer_id")
    a, b = features.loc["a"], features.loc["b"]
    assert a["recency_days"] == 61  # 2024-05-01 to the end of 2024-06-30
    assert a["tenure_days"] == 182
    assert a["orders"] == 2 and a["spend"] == 55.0 and a["avg_order_value"] == 27.5
    assert a["mean_gap_days"] == 121 and np.isnan(b["mean_gap_days"])
    assert a["orders_recent"] == 1 and b["orders_recent"] == 1  # the last 90 days: from 2024-04-02
    assert a["events_recent"] == 2 and a["active_days_recent"] == 1 and b["events_recent"] == 0
    assert a["contacts"] == 0 and np.isnan(a["days_since_contact"])
    assert b["contacts"] == 1 and b["days_since_contact"] == 21
    assert a["open_complaints"] == 1 and b["open_complaints"] == 0
    assert np.isnan(a["survey_score"]) and b["survey_score"] == 0.5
    assert (a["age_band"], b["age_band"]) == ("25-34", "65+")  # 33.99 years on 2024-06-30
    assert a["region"] == "North" and pd.isna(b["region"])


def test_orders_counted_as_rows_when_every_order_has_one_row() -> None:
    """With cleaning's ``one_row_per_order`` fact the orders are counted as rows, the same figures as
    distinct order ids on orders of one row each (order 2's second line removed)."""
    one_line_each = [
        row for i, row in enumerate(sources().orders.to_pandas().itertuples(index=False)) if i != 2
    ]
    orders = orders_table([tuple(row) for row in one_line_each])
    by_id = churn.features_at(churn.Sources(orders), CUT, 90)
    by_rows = churn.features_at(churn.Sources(orders, one_row_per_order=True), CUT, 90)
    pd.testing.assert_frame_equal(by_id, by_rows)
    assert by_rows.set_index("customer_id")["orders"].to_dict() == {"a": 2, "b": 1}


def test_rows_after_a_cut_do_not_change_its_features() -> None:
    """No leakage: adding orders, events, contacts and feedback after the cut (and a new customer), and
    moving a complaint's resolution later after the cut, leave every feature at the cut as it was; the
    labels of the later window do change."""
    before = churn.features_at(sources(), CUT, 90)
    after = churn.features_at(sources(extra=True), CUT, 90)
    pd.testing.assert_frame_equal(before, after)
    assert churn.churn_labels(sources().orders, CUT, 30)["churned"].tolist() == [1, 1]
    assert churn.churn_labels(sources(extra=True).orders, CUT, 30)["churned"].tolist() == [0, 1]


# ----------------------------------------------------------------------------------- metrics


def test_metrics_of_a_toy_ranking_by_hand() -> None:
    """Churned [0, 0, 1, 1] scored [0.1, 0.4, 0.35, 0.8]: 3 of the 4 churner/stayer pairs ranked right
    (ROC AUC 0.75); ranked by score the churners come 1st and 3rd (precision 1 and 2/3: average 5/6);
    Brier (0.1² + 0.4² + 0.65² + 0.2²) / 4."""
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.4, 0.35, 0.8])
    found = churn.metrics(y, p, p)
    assert found["roc_auc"] == pytest.approx(0.75)
    assert found["pr_auc"] == pytest.approx(5 / 6)
    assert found["brier"] == pytest.approx((0.01 + 0.16 + 0.4225 + 0.04) / 4)
    assert churn.metrics(y, p, None)["brier"] is None


def test_reliability_bins_by_hand() -> None:
    y = np.array([0, 1, 1, 1, 0])
    p = np.array([0.05, 0.15, 0.95, 0.91, 1.0])
    table = churn.reliability(y, p, 10)
    assert table["customers"].tolist() == [1, 1, 3]
    assert table["predicted"].tolist() == pytest.approx([0.05, 0.15, (0.95 + 0.91 + 1.0) / 3])
    assert table["observed"].tolist() == pytest.approx([0, 1, 2 / 3])


def test_recency_calibration_is_the_churn_share_and_never_falls_with_days() -> None:
    days = np.array([1, 2, 3, 4, 10, 20])
    churned = np.array([0, 0, 1, 0, 1, 1])
    calibration = churn.calibrate_recency(days, churned)
    assert calibration.predict(np.array([1, 3, 4, 20, 500])).tolist() == pytest.approx([0, 0.5, 0.5, 1, 1])


# ------------------------------------------------------------------------------ the choice


def table(**auc: float) -> pd.DataFrame:
    return pd.DataFrame({"model": list(auc), "roc_auc": list(auc.values())})


def test_a_score_that_does_not_beat_recency_is_not_the_churn_risk() -> None:
    worse = table(gradient_boosting=0.70, btyd_p_alive=0.30, btyd_no_purchase=0.71, recency=0.72)
    assert churn.choose(worse, "auto") == ("recency", "recency_best")
    assert churn.choose(worse, "gradient_boosting") == ("recency", "forced_not_better")
    tie = table(gradient_boosting=0.72, recency=0.72)  # equal is not better
    assert churn.choose(tie, "auto") == ("recency", "recency_best")
    assert not churn.beats_recency(tie, "gradient_boosting")
    better = table(gradient_boosting=0.80, btyd_p_alive=0.30, btyd_no_purchase=0.79, recency=0.78)
    assert churn.choose(better, "auto") == ("gradient_boosting", "best")
    assert churn.choose(better, "btyd_no_purchase") == ("btyd_no_purchase", "forced")
    assert churn.choose(better, "btyd_p_alive") == ("recency", "forced_not_better")
    assert churn.choose(table(gradient_boosting=0.8, recency=0.7), "btyd_p_alive") == (
        "recency",
        "forced_unmeasured",
    )
    assert churn.choose(better, "recency") == ("recency", "forced")


def test_drivers_name_the_feature_whose_typical_value_lowers_the_risk() -> None:
    """A planted effect: churn follows open complaints only; the customers with one get it as their
    first driver, the others none (no typical value would lower their risk)."""
    rng = np.random.default_rng(0)
    n = 3000
    complaints = (rng.random(n) < 0.3).astype(int)
    table = pd.DataFrame(
        {
            "customer_id": [f"c{i:05d}" for i in range(n)],
            "recency_days": rng.uniform(1, 300, n),
            "open_complaints": complaints,
            "contacts": 0,  # one value for everyone: left out of the model
        }
    )
    labels = table[["customer_id"]].assign(
        churned=(rng.random(n) < np.where(complaints, 0.8, 0.2)).astype(int)
    )
    booster = churn.fit_booster(table, labels, 42, 10_000)
    assert booster.encoding.columns == ["recency_days", "open_complaints"]
    drivers = churn.local_drivers(booster, table, 2)
    with_complaint = drivers["churn_driver_1"][complaints == 1]
    assert (with_complaint == "open_complaints").mean() > 0.95
    assert (drivers["churn_driver_1"][complaints == 0] == "open_complaints").sum() == 0


# ----------------------------------------------------------------------------- measured


def cdnow_orders() -> ibis.Table:
    raw = pd.read_csv(CDNOW, sep=r"\s+", dtype={"customer_id": str, "date": str})
    return ibis.memtable(
        pd.DataFrame(
            {
                "customer_id": raw["customer_id"],
                "order_id": raw.index.astype(str),
                "order_ts": pd.to_datetime(raw["date"], format="%Y%m%d"),
                "amount": raw["dollar_value"].astype(float),
            }
        ).query("amount > 0")
    )


def test_on_cdnow_one_minus_p_alive_ranks_churners_as_the_safest() -> None:
    """The full CDNOW log at 1998-06-30 (window 180 days: cuts 1997-07-05 and 1998-01-01): BG/NBD's
    1 - P(alive) ranks worse than chance (most customers bought once, and BG/NBD keeps every one-time
    buyer alive); its P(no purchase in the window), the gradient boosting and the days since the last
    order all near 0.80, the gradient boosting and P(no purchase) above the days alone. The recency
    AUC is recomputed here by Mann-Whitney's count of correctly ordered pairs."""
    settings = ChurnConfig()
    found = churn.compare(churn.Sources(cdnow_orders()), dt.date(1998, 6, 30), settings, 42, "bgnbd", "weeks")
    assert found.counts["holdout"] == {"customers": 23502, "churned": 18142, "stayed": 5360}
    auc = found.table.set_index("model")["roc_auc"]
    assert auc["btyd_p_alive"] == pytest.approx(0.316, abs=0.005)
    assert auc["recency"] == pytest.approx(0.795, abs=0.003)
    assert auc["btyd_no_purchase"] == pytest.approx(0.798, abs=0.003)
    assert auc["gradient_boosting"] == pytest.approx(0.799, abs=0.005)
    assert found.chosen in ("gradient_boosting", "btyd_no_purchase") and found.reason == "best"
    holdout = found.holdout_features.merge(found.holdout_labels, on="customer_id")
    ranks = holdout["recency_days"].rank()
    churners = holdout["churned"] == 1
    n1, n0 = churners.sum(), (~churners).sum()
    assert auc["recency"] == pytest.approx((ranks[churners].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def test_demo_open_complaints_drive_churn(demo_planted) -> None:
    """The demo shop's planted effect (an unresolved complaint roughly doubles churn) shows up in stage
    09's churn model: open complaints lose the gradient boosting ROC AUC when shuffled, and the model
    beats the days since the last order."""
    facts = json.loads(
        (products(demo_planted, DEMO_PERIOD, DEMO) / catalog.file_of("churn_model")).read_text()
    )
    assert facts["status"] == "ok"
    drops = {row["feature"]: row["auc_drop"] for row in facts["importance"]}
    assert drops["open_complaints"] > 0.001
    auc = {row["model"]: row["roc_auc"] for row in facts["comparison"]}
    assert auc["gradient_boosting"] > auc["recency"]


def test_no_churn_risk_without_two_windows_of_history_or_enough_churners() -> None:
    """A history starting after the training cut gives no comparison, nor do too few customers; the
    page says which, with the figures."""
    orders = orders_table([("a", "1", ts("2024-06-01"), 10.0), ("b", "2", ts("2024-06-02"), 10.0)])
    settings = ChurnConfig(window_days=30)
    short = churn.compare(churn.Sources(orders), dt.date(2024, 7, 15), settings, 42, "bgnbd", "weeks")
    assert (short.status, short.chosen) == ("too_short", None)
    assert churn.final_scores(short, churn.Sources(orders), settings, 42, "bgnbd", "weeks") is None
    said = churn.sentences(churn.facts(short, settings, "bgnbd"), "en")
    assert said == [
        "Churn risk is not estimated this period: a 30-day churn window needs history from 16 May 2024, two "
        "windows before 15 July 2024, and the first order was on 1 June 2024."
    ]
    few = churn.compare(churn.Sources(orders), dt.date(2024, 8, 30), settings, 42, "bgnbd", "weeks")
    assert few.status == "too_few" and few.counts["training"] == {"customers": 2, "churned": 2, "stayed": 0}
    said = churn.sentences(churn.facts(few, settings, "bgnbd"), "en")
    assert said[0].startswith(
        "Churn risk is not estimated this period: on 1 July 2024, 2 customers had bought"
    )


def test_above_fit_sample_above_the_scores_are_compared_on_a_seeded_sample() -> None:
    """Above ``churn.fit_sample_above`` customers at the holdout cut, the comparison runs on a seeded
    sample of that many (every source's rows of those customers only): CDNOW's 23,502 holdout customers
    sampled to 5,000 give the full comparison's verdict within sampling error, the page says so, and
    every customer still gets a churn risk."""
    settings = ChurnConfig(fit_sample_above=5000)
    as_of = dt.date(1998, 6, 30)
    found = churn.compare(churn.Sources(cdnow_orders()), as_of, settings, 42, "bgnbd", "weeks")
    assert found.population == 23502 and found.counts["holdout"]["customers"] == 5000
    assert found.counts["training"]["customers"] == 5000  # CDNOW: everyone first bought in early 1997
    auc = found.table.set_index("model")["roc_auc"]
    assert auc["recency"] == pytest.approx(0.795, abs=0.02)  # all 23,502: 0.795
    assert auc["btyd_p_alive"] < 0.4  # still worse than chance, as on every customer
    again = churn.compare(churn.Sources(cdnow_orders()), as_of, settings, 42, "bgnbd", "weeks")
    pd.testing.assert_frame_equal(found.table, again.table)  # the sample is seeded
    said = churn.sentences(churn.facts(found, settings, "bgnbd"), "en")
    assert said[1] == (
        "They are a seeded sample of 5,000 of the 23,502 customers who had bought by 1 January 1998 "
        "(churn.fit_sample_above); every customer is still given a churn risk below."
    )
    risks = churn.final_scores(found, churn.Sources(cdnow_orders()), settings, 42, "bgnbd", "weeks")
    assert len(risks) == cdnow_orders().customer_id.nunique().execute() and risks["churn_risk"].notna().all()
    full = churn.compare(churn.Sources(cdnow_orders()), as_of, ChurnConfig(), 42, "bgnbd", "weeks")
    assert full.population is None and "seeded sample" not in " ".join(
        churn.sentences(churn.facts(full, ChurnConfig(), "bgnbd"), "en")
    )
