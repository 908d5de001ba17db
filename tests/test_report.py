"""Report numbers: KPIs of a period on a hand-built log, change sentences, the first period (nothing
to compare with), segment migration including customers present in only one period, exports."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis
import pandas as pd
import pytest

from helpers import report, trends

JUNE = (dt.date(1998, 6, 1), dt.date(1998, 6, 30))
MAY = (dt.date(1998, 5, 1), dt.date(1998, 5, 31))


def log() -> ibis.Table:
    """a: bought in May and June; b: May only; c: first order in June (two orders); d: April, returns in
    June."""
    rows = [
        ("a", "1", "1998-05-03", 10.0, False),
        ("a", "2", "1998-06-10", 30.0, False),
        ("b", "3", "1998-05-20", 20.0, False),
        ("c", "4", "1998-06-02", 50.0, False),
        ("c", "5", "1998-06-29 23:59:59", 20.0, False),
        ("d", "6", "1998-04-01", 40.0, False),
        ("d", "7", "1998-06-15", -40.0, True),
    ]
    frame = pd.DataFrame(rows, columns=["customer_id", "order_id", "order_ts", "amount", "is_return"])
    frame["order_ts"] = pd.to_datetime(frame["order_ts"], format="ISO8601")
    return ibis.memtable(frame)


def test_kpis_of_june_by_hand() -> None:
    kpis = report.period_kpis(log(), *JUNE)
    # customers who ordered (purchases in June): a, c; revenue 30 + 50 + 20 - 40 = 60; orders 3; AOV
    # 100 / 3; to date 4 customers, 2 with two or more orders (a, c). Who is new is a status, not a KPI.
    assert kpis == {
        "buyers": 2,
        "revenue": 60.0,
        "orders": 3,
        "avg_order_value": pytest.approx(100 / 3),
        "repeat_purchase_rate": 0.5,
        "customers_to_date": 4,
    }


def test_kpis_of_may_from_a_later_log_ignore_later_orders() -> None:
    kpis = report.period_kpis(log(), *MAY)
    # who ordered: a, b; revenue 30; to date a, b, d: nobody repeats
    assert (kpis["buyers"], kpis["revenue"], kpis["repeat_purchase_rate"]) == (2, 30.0, 0.0)


def test_kpis_of_several_periods_in_one_pass_equal_each_alone() -> None:
    both = report.periods_kpis(log(), [JUNE, MAY])
    assert both == [report.period_kpis(log(), *JUNE), report.period_kpis(log(), *MAY)]
    assert both[1]["customers_to_date"] == 3 and both[0]["customers_to_date"] == 4  # c first bought in June
    # c's two June orders make them a repeater in June's history only
    assert (both[0]["repeat_purchase_rate"], both[1]["repeat_purchase_rate"]) == (0.5, 0.0)


def test_the_trend_of_several_windows_equals_the_kpis_of_each() -> None:
    """The trend's one range join gives each window's revenue, orders, customers who ordered and
    average order exactly as period_kpis counts them; an empty window has zeros and no average."""
    april = (dt.date(1998, 4, 1), dt.date(1998, 4, 30))
    march = (dt.date(1998, 3, 1), dt.date(1998, 3, 31))
    windows = [("1998-03", *march), ("1998-04", *april), ("1998-05", *MAY), ("1998-06", *JUNE)]
    table = trends.period_trend(log(), windows)
    assert table["period"].tolist() == ["1998-03", "1998-04", "1998-05", "1998-06"]
    for row, (_, start, end) in zip(table.itertuples(), windows):
        expected = report.period_kpis(log(), start, end)
        assert (row.revenue, row.orders, row.buyers) == (
            expected["revenue"],
            expected["orders"],
            expected["buyers"],
        )
    assert table.loc[0, ["revenue", "orders", "buyers"]].tolist() == [0.0, 0, 0]
    assert pd.isna(table.loc[0, "avg_order_value"])
    assert table.loc[3, "avg_order_value"] == pytest.approx(100 / 3)
    quarter = ("Q2", dt.date(1998, 4, 1), dt.date(1998, 6, 30))
    overlapping = trends.period_trend(log(), [quarter, ("1998-06", *JUNE)])
    assert overlapping["revenue"].tolist() == [40.0 + 30.0 + 60.0, 60.0]  # windows may overlap


SEGMENTS = ["Champions", "Fading Regulars", "Long Gone"]


def test_migration_counts_moves_new_and_vanished_customers() -> None:
    before = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "x"],
            "segment": ["Champions", "Champions", "Fading Regulars", "Long Gone"],
        }
    )
    now = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "n"],
            "segment": ["Champions", "Fading Regulars", "Long Gone", "Champions"],
        }
    )
    matrix = report.segment_migration(before, now, SEGMENTS)
    assert matrix.index.tolist() == ["Champions", "Fading Regulars", "Long Gone", report.NEW_ROW]
    assert matrix.columns.tolist() == ["Champions", "Fading Regulars", "Long Gone", report.GONE_COLUMN]
    assert matrix.loc["Champions"].tolist() == [1, 1, 0, 0]
    assert matrix.loc["Fading Regulars"].tolist() == [0, 0, 1, 0]
    assert matrix.loc["Long Gone"].tolist() == [0, 0, 0, 1]  # x is in May only
    assert matrix.loc[report.NEW_ROW].tolist() == [1, 0, 0, 0]  # n is in June only
    assert int(matrix.to_numpy().sum()) == 5
    assert report.biggest_moves(matrix) == [
        "1 customer moved from Champions to Fading Regulars.",
        "1 customer moved from Fading Regulars to Long Gone.",
    ]
    assert report.biggest_moves(matrix, language="zh") == [
        "1 位客户从 冠军客户 转入 渐远常客。",
        "1 位客户从 渐远常客 转入 久远低值客户。",
    ]


def test_migration_of_the_first_period_has_only_new_customers() -> None:
    now = pd.DataFrame({"customer_id": ["a", "b"], "segment": ["Long Gone", "Champions"]})
    matrix = report.segment_migration(None, now, SEGMENTS)
    assert matrix.index.tolist() == [report.NEW_ROW] and matrix.loc[report.NEW_ROW].tolist() == [1, 1]
    assert report.biggest_moves(matrix) == []


def test_exports_quote_only_where_needed_and_excel_holds_the_first_rows(tmp_path: Path) -> None:
    table = pd.DataFrame(
        {
            "customer_id": ["a", "b,c", 'q"x'],
            "value_at_stake": [80.5, float("nan"), 3.0],
            "last_order_ts": pd.to_datetime(["2021-02-18 21:06:22", None, "2020-01-01"], format="mixed"),
        }
    )
    report.write_exports({"churn_warning": table}, tmp_path, xlsx=("churn_warning",), xlsx_max_rows=2)
    assert (tmp_path / "churn_warning.csv").read_text() == (
        "customer_id,value_at_stake,last_order_ts\na,80.5,2021-02-18 "
        '21:06:22\n"b,c",,\n"q""x",3.0,2020-01-01 00:00:00\n'
    )
    assert pd.read_excel(tmp_path / "churn_warning.xlsx")["customer_id"].tolist() == ["a", "b,c"]
    # Typed cells: numbers, dates, booleans and text come back as such; missing values as empty cells.
    typed = pd.DataFrame(
        {
            "customer_id": ["7", "x"],
            "clv": [1.5, float("nan")],
            "orders": [3, 4],
            "first_order_ts": pd.to_datetime(["2021-02-18 21:06:22", None]),
            "is_new": [True, False],
            "tier": ["A", None],
        }
    )
    report.write_xlsx(typed, tmp_path / "typed.xlsx", "typed")
    back = pd.read_excel(tmp_path / "typed.xlsx", dtype={"customer_id": str})
    assert back["customer_id"].tolist() == ["7", "x"] and back["orders"].tolist() == [3, 4]
    assert (
        back["clv"].iloc[0] == 1.5
        and pd.isna(back["clv"].iloc[1])
        and back["is_new"].tolist() == [True, False]
    )
    assert back["first_order_ts"].iloc[0] == pd.Timestamp("2021-02-18 21:06:22") and pd.isna(
        back["first_order_ts"].iloc[1]
    )
    assert back["tier"].iloc[0] == "A" and pd.isna(back["tier"].iloc[1])


def test_exports_and_their_dictionary(tmp_path: Path) -> None:
    tables = {"churn_warning": pd.DataFrame({"customer_id": ["a"], "score": [80.5]})}
    written = report.write_exports(tables, tmp_path, xlsx=("churn_warning",))
    assert [p.name for p in written] == ["churn_warning.csv", "churn_warning.xlsx"]
    assert (tmp_path / "churn_warning.csv").read_text() == "customer_id,score\na,80.5\n"
    assert pd.read_excel(tmp_path / "churn_warning.xlsx").to_dict("list") == {
        "customer_id": ["a"],
        "score": [80.5],
    }
    dictionary = report.data_dictionary(tables)
    assert dictionary.values.tolist() == [
        [
            "churn_warning.csv",
            "customer_id",
            "Customer",
            "str",
            "the customer's id as in the source (or its keyed hash when pseudonymisation is on)",
        ],
        [
            "churn_warning.csv",
            "score",
            "Score",
            "float64",
            "weighted customer score, 0 (worst) to 100 (best)",
        ],
    ]
    chinese = report.data_dictionary(tables, "zh")
    assert chinese["label"].tolist() == ["客户编号", "客户评分"]
    assert chinese["description"].tolist()[1] == "加权客户评分，0（最差）到 100（最好）"
    tables["churn_warning"]["kpi"] = 1  # a column the label dictionary does not know
    with pytest.raises(KeyError, match="export 'churn_warning' has column 'kpi' without a description"):
        report.data_dictionary(tables)


def test_largest_first_breaks_ties_by_id_and_puts_missing_values_last_in_id_order_or_not() -> None:
    from helpers.io import largest_first

    frame = pd.DataFrame(
        {"customer_id": ["a", "b", "c", "d", "e"], "clv": [5.0, float("nan"), 9.0, 5.0, 1.0]}
    )
    expected = ["c", "a", "d", "e", "b"]  # 9, then the tie 5/5 by id, then 1, then the missing value
    assert (
        largest_first(frame, "clv")["customer_id"].tolist() == expected
    )  # ids in order: the stable number sort
    shuffled = frame.iloc[[3, 1, 4, 0, 2]]
    assert (
        largest_first(shuffled, "clv")["customer_id"].tolist() == expected
    )  # not in id order: the two-key sort
    assert (
        largest_first(frame, "clv", 2)["customer_id"].tolist()
        == largest_first(shuffled, "clv", 2)["customer_id"].tolist()
        == ["c", "a"]
    )


@pytest.mark.parametrize("dtype", ["str", "object"])
def test_join_by_id_equals_the_merge_by_position_or_not(dtype: str) -> None:
    """Products list the same ids in id order: the columns are attached by position, and the result
    is the merge's; other id lists (missing, extra, unordered, repeated) go through the merge."""
    from helpers.io import ids_increasing, join_by_id

    def frame(ids: list, **columns) -> pd.DataFrame:
        return pd.DataFrame({"customer_id": pd.Series(ids, dtype=dtype), **columns})

    left = frame(["a", "b", "c"], spend=[1.0, 2.0, 3.0])
    cases = [
        frame(["a", "b", "c"], tier=["A", None, "C"], score=[9.0, 8.0, 7.0]),  # same ids: by position
        frame(["a", "c"], tier=["A", "C"], score=[9.0, 7.0]),  # one missing
        frame(["c", "b", "a"], tier=["C", None, "A"], score=[7.0, 8.0, 9.0]),
    ]  # another order
    for right in cases:
        joined = join_by_id(left, right, ["tier", "score"])
        pd.testing.assert_frame_equal(joined, left.merge(right, on="customer_id", how="left"))
        assert joined["score"].tolist()[::2] == [9.0, 7.0]
    if dtype == "str":  # Arrow-backed, as products are read: the same ids are joined without a merge
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(pd.DataFrame, "merge", lambda *args, **kwargs: pytest.fail("merged"))
            join_by_id(left, cases[0], ["tier", "score"])
    assert ids_increasing(pd.Series(["a", "b", "c"], dtype=dtype)) and ids_increasing(
        pd.Series([], dtype=dtype)
    )
    for ids in (["a", "a"], ["b", "a"], ["a", None, "b"]):
        assert not ids_increasing(pd.Series(ids, dtype=dtype))


def test_a_sentence_counting_one_customer_takes_its_singular_form() -> None:
    from helpers import labels

    assert labels.t("segment_size", "en", customers="1", share="2.6%") == "1 customer, 2.6% of all"
    assert labels.t("segment_size", "en", customers="12", share="31.6%") == "12 customers, 31.6% of all"
    assert labels.t("segment_size", "zh", customers="1", share="2.6%") == "1 位客户，占 2.6%"
    grew = dict(segment="Champions", now="5", before="4", label="1998-05")
    assert labels.t("segments_grew", "en", change="1", **grew).startswith("Champions grew by 1 customer to")
    assert report.returns_only_sentences({"returns_only_customers": 1}, "en")[0].startswith(
        "1 customer only returned goods"
    )
    assert report.returns_only_sentences({"returns_only_customers": 0}, "en") == []


def test_a_period_nobody_ordered_in_is_said_first_and_only_then() -> None:
    from helpers.config import load_params

    from conftest import REPO

    params = load_params("cdnow", "1998-06", REPO)
    quality = {"last_order_ts": "1998-05-27T00:00:00", "rejected_by_reason": {"after_as_of": 0}}
    assert report.no_orders_sentences({"orders": 0}, quality, params) == [
        "Nobody ordered from 1 June 1998 to 30 June 1998; the last order before was on 27 May 1998. The "
        "statuses, segments and lists below describe the customers as they stood at the end of the period."
    ]
    quality["rejected_by_reason"]["after_as_of"] = 1_200
    assert (
        "and the data holds 1,200 rows after the period."
        in report.no_orders_sentences({"orders": 0}, quality, params)[0]
    )
    assert report.no_orders_sentences({"orders": 3}, quality, params) == []


# ------------------------------------------------ the value at stake by status, as the churn warning has it


def stake_fixture(p_alive: float, churn_risk: list[float] | None = None) -> tuple[pd.DataFrame, ...]:
    """Three customers with orders and one potential customer, as the RFM, scores and CLV products hold
    them. Each one's year of spend at their pace, capped at their spend per year so far:
    a (at risk): min(50 x 365 / 73 = 250, 300 x 365 / 730 = 150) = 150;
    b (lapsed): min(20 x 365 / 100 = 73, 40, a tenure under a year) = 40;
    c (active): min(10 x 365 / 365 = 10, 30 x 365 / 400 = 27.375) = 10; p: potential, no order."""
    rfm = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "segment": ["At Risk", "Hibernating", "Loyal"],
            "recency_days": [100, 200, 10],
            "frequency_orders": [6, 2, 3],
            "monetary_total": [300.0, 40.0, 30.0],
            "avg_order_value": [50.0, 20.0, 10.0],
            "tenure_days": [730, 300, 400],
            "first_order_ts": pd.to_datetime(["2022-10-01", "2023-12-05", "2023-08-27"]),
            "last_order_ts": pd.to_datetime(["2024-06-22", "2024-03-14", "2024-09-20"]),
        }
    )
    scores = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "p"],
            "score": [40.0, 20.0, 60.0, float("nan")],
            "tier": ["B", "C", "A", None],
            "driver_1": ["orders"] * 3 + [None],
            "driver_2": ["spend"] * 3 + [None],
            "status": ["at risk", "lapsed", "active", "potential"],
            "typical_gap_days": [73.0, 100.0, 365.0, float("nan")],
        }
    )
    if churn_risk is not None:
        scores["churn_risk"] = churn_risk + [float("nan")]
    clv = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "p_alive": [p_alive] * 3,
            "expected_purchases": [2.0, 1.0, 1.0],
            "clv": [400.0, 90.0, 50.0],
        }
    )
    return rfm, scores, clv


def churn_warning_of(
    rfm: pd.DataFrame, scores: pd.DataFrame, clv: pd.DataFrame, use_model: bool
) -> pd.Series:
    """Stage 09's churn warning on the same customers: its value at stake summed by status."""
    from helpers import scoring

    scored = rfm.merge(scores, on="customer_id").merge(clv, on="customer_id")
    warned = scoring.churn_warning(scored, ["at risk", "lapsed"], use_model)
    return warned.groupby("status")["value_at_stake"].sum()


def test_a_degenerated_models_stakes_by_status_are_the_churn_warnings_not_zeros() -> None:
    """The kaffeehaus page of 2024-09: MBG/NBD ran to a bound, P(alive) 1 for everyone; its caveat says
    P(alive) is not used for the value at stake, and stage 09 took a year of spend, yet the table by
    status took clv x (1 - P(alive)) = 0 for every status and showed 'chance still a customer 100%'."""
    from helpers import status
    from helpers.config import load_params

    from conftest import REPO

    rfm, scores, clv = stake_fixture(p_alive=1.0)
    degenerated = {"status": "ok", "purchase_model": {"label": "MBG/NBD", "at_bound": ["a"]}}
    trusted = status.p_alive_trusted(degenerated)
    assert not trusted
    customers = report.customer_list(rfm, scores, clv, trusted)
    assert customers["value_at_stake"].tolist()[:3] == [150.0, 40.0, 10.0]
    assert customers["p_alive"].tolist()[:3] == [1.0, 1.0, 1.0]  # the exports keep the model's figure
    table = report.clv_by_status(customers, trusted).set_index("status")
    assert "mean_p_alive" not in table.columns
    assert table.loc[["active", "at risk", "lapsed"], "value_at_stake"].tolist() == [10.0, 150.0, 40.0]
    assert (
        table.loc["at risk":"lapsed", "value_at_stake"].tolist()
        == churn_warning_of(rfm, scores, clv, use_model=False).loc[["at risk", "lapsed"]].tolist()
    )
    assert pd.isna(table.loc["potential", "value_at_stake"])  # no figure, not 0
    assert pd.isna(table.loc["churned", "value_at_stake"]) and table.loc["churned", "customers"] == 0
    # as the page had it: a trusted model's clv x (1 - 1) = 0 everywhere
    before = report.clv_by_status(report.customer_list(rfm, scores, clv)).set_index("status")
    assert before.loc[["active", "at risk", "lapsed"], "value_at_stake"].tolist() == [0.0, 0.0, 0.0]
    assert before.loc["at risk", "mean_p_alive"] == 1.0
    # the lists and the cluster table leave the P(alive) out as well
    assert "p_alive" not in report.top_clv_list(customers, 2, trusted).columns
    assert "p_alive" in report.top_clv_list(customers, 2).columns
    assert "p_alive" not in report.churn_list(customers, trusted).columns
    groups = pd.DataFrame({"customer_id": ["a", "b", "c"], "cluster_name": ["x", "x", "y"]})
    by_cluster = report.clv_by_group(clv, groups, "cluster_name")
    assert "mean_p_alive" not in report.clv_groups_for_page(by_cluster, "en", trusted).columns
    # the method note says what was done: a model was fitted, and degenerated
    params = load_params("cdnow", "1998-06", REPO)
    stake_note = report.method_notes(degenerated, params, {}, True)[-1]
    assert stake_note == (
        "Value at stake is a year of spend at the customer's usual pace, capped at what the customer has "
        "spent per year so far: MBG/NBD has degenerated this period (see the caveat under Lifetime value), "
        "so neither its expected value nor its chance that a customer is still one is used for it."
    )
    assert "no purchase model was fitted" in report.method_notes(None, params, {}, True)[-1]
    with_risk = report.method_notes(degenerated, params, {}, True, churn_risk=True)[-1]
    assert "times the churn risk; MBG/NBD has degenerated" in with_risk


def test_the_stakes_by_status_take_the_churn_risk_as_the_churn_warning_does() -> None:
    """With stage 09's churn risk the warning weighs the CLV by it; the table by status took
    clv x (1 - P(alive)) instead (the demo's at risk CN¥97,405 against the warning's CN¥203,243)."""
    rfm, scores, clv = stake_fixture(p_alive=0.5, churn_risk=[0.2, 0.5, 0.1])
    customers = report.customer_list(rfm, scores, clv)
    # a: 400 x 0.2 = 80; b: 90 x 0.5 = 45; c: 50 x 0.1 = 5 (not 200, 45, 25 from 1 - P(alive))
    assert customers["value_at_stake"].tolist()[:3] == [80.0, 45.0, 5.0]
    assert "churn_risk" not in customers.columns
    table = report.clv_by_status(customers).set_index("status")
    assert table.loc[["active", "at risk", "lapsed"], "value_at_stake"].tolist() == [5.0, 80.0, 45.0]
    assert table.loc["at risk", "mean_p_alive"] == 0.5
    assert churn_warning_of(rfm, scores, clv, use_model=True).loc[["at risk", "lapsed"]].tolist() == [
        80.0,
        45.0,
    ]
    # a degenerated model and a churn risk: the year of spend times the risk, 150 x 0.2 = 30, 40 x 0.5 = 20
    untrusted = report.customer_list(rfm, scores, clv, use_p_alive=False)
    assert untrusted["value_at_stake"].tolist()[:3] == [30.0, 20.0, 1.0]
    assert churn_warning_of(rfm, scores, clv, use_model=False).loc[["at risk", "lapsed"]].tolist() == [
        30.0,
        20.0,
    ]
