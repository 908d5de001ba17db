"""Report numbers: KPIs of a period on a hand-built log, change sentences, the first period (nothing
to compare with), segment migration including customers present in only one period, exports."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis
import pandas as pd
import pytest

from helpers import report

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
    # active (purchases in June): a, c; new: c; revenue 30 + 50 + 20 - 40 = 60; orders 3; AOV 100 / 3;
    # to date 4 customers, 2 with two or more orders (a, c)
    assert kpis == {
        "active_customers": 2,
        "new_customers": 1,
        "returning_customers": 1,
        "revenue": 60.0,
        "orders": 3,
        "avg_order_value": pytest.approx(100 / 3),
        "repeat_purchase_rate": 0.5,
        "customers_to_date": 4,
    }


def test_kpis_of_may_from_a_later_log_ignore_later_orders() -> None:
    kpis = report.period_kpis(log(), *MAY)
    # active a, b (both new: first purchases in May); revenue 30; to date a, b, d: nobody repeats
    assert (
        kpis["active_customers"],
        kpis["new_customers"],
        kpis["revenue"],
        kpis["repeat_purchase_rate"],
    ) == (2, 2, 30.0, 0.0)


def test_kpis_of_several_periods_in_one_pass_equal_each_alone() -> None:
    both = report.periods_kpis(log(), [JUNE, MAY])
    assert both == [report.period_kpis(log(), *JUNE), report.period_kpis(log(), *MAY)]
    assert both[1]["customers_to_date"] == 3 and both[0]["customers_to_date"] == 4  # c first bought in June
    # c's two June orders make them a repeater in June's history only
    assert (both[0]["repeat_purchase_rate"], both[1]["repeat_purchase_rate"]) == (0.5, 0.0)


def test_change_sentences() -> None:
    assert (
        report.describe_change("Revenue", 1120.0, 1000.0, "money", "1998-05")
        == "Revenue rose 12.0% to $1,120 (from $1,000 in 1998-05)."
    )
    assert (
        report.describe_change("Orders", 90, 100, "count", "1998-05")
        == "Orders fell 10.0% to 90 (from 100 in 1998-05)."
    )
    assert (
        report.describe_change("Repeat-purchase rate", 0.25, 0.2, "share", "1998-05")
        == "Repeat-purchase rate rose 5.0 points to 25.0% (from 20.0% in 1998-05)."
    )
    assert report.describe_change("Orders", 5, 5, "count", "1998-05") == "Orders: 5, the same as in 1998-05."
    assert (
        report.describe_change("Revenue", 60.0, None, "money", None)
        == "Revenue: $60.00 (no previous period to compare with)."
    )


def test_kpi_table_with_and_without_a_previous_period() -> None:
    june = report.period_kpis(log(), *JUNE)
    may = report.period_kpis(log().filter(ibis._.order_ts < dt.datetime(1998, 6, 1)), *MAY)
    table = report.kpi_table(june, may, "1998-05").set_index("kpi")
    assert table.loc["Revenue", "change_%"] == 100.0  # 30 -> 60
    assert table.loc["Active customers", "sentence"] == "Active customers: 2, the same as in 1998-05."
    first = report.kpi_table(june, None, None)
    assert set(first["previous"]) == {"n/a"} and first["change_%"].isna().all()
    assert first["sentence"].str.endswith("(no previous period to compare with).").all()


SEGMENTS = ["Champions", "At Risk", "Lost"]


def test_migration_counts_moves_new_and_vanished_customers() -> None:
    before = pd.DataFrame(
        {"customer_id": ["a", "b", "c", "x"], "segment": ["Champions", "Champions", "At Risk", "Lost"]}
    )
    now = pd.DataFrame(
        {"customer_id": ["a", "b", "c", "n"], "segment": ["Champions", "At Risk", "Lost", "Champions"]}
    )
    matrix = report.segment_migration(before, now, SEGMENTS)
    assert matrix.index.tolist() == ["Champions", "At Risk", "Lost", report.NEW_ROW]
    assert matrix.columns.tolist() == ["Champions", "At Risk", "Lost", report.GONE_COLUMN]
    assert matrix.loc["Champions"].tolist() == [1, 1, 0, 0]
    assert matrix.loc["At Risk"].tolist() == [0, 0, 1, 0]
    assert matrix.loc["Lost"].tolist() == [0, 0, 0, 1]  # x is in May only
    assert matrix.loc[report.NEW_ROW].tolist() == [1, 0, 0, 0]  # n is in June only
    assert int(matrix.to_numpy().sum()) == 5
    assert report.biggest_moves(matrix) == [
        "1 customer moved from At Risk to Lost.",
        "1 customer moved from Champions to At Risk.",
    ]


def test_migration_of_the_first_period_has_only_new_customers() -> None:
    now = pd.DataFrame({"customer_id": ["a", "b"], "segment": ["Lost", "Champions"]})
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
    dictionary = report.data_dictionary(tables, {"customer_id": "id", "score": "0-100"})
    assert dictionary.values.tolist() == [
        ["churn_warning.csv", "customer_id", "str", "id"],
        ["churn_warning.csv", "score", "float64", "0-100"],
    ]
    with pytest.raises(KeyError, match="export 'churn_warning' has column 'score' without a description"):
        report.data_dictionary(tables, {"customer_id": "id"})


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
