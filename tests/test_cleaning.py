"""Cleaning: each rule on a small hand-built table, the precedence of reasons, and the accounting
identity rows in = kept + rejected (by reason), on hand-built data and on CDNOW."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest

from helpers import cleaning
from helpers.config import CleaningConfig, ColumnMap, TransactionSource, load_params
from helpers.engine import connect, try_parse_number
from helpers.ingest import ingest_transactions

from conftest import REPO, ingested

AS_OF = dt.datetime(2011, 1, 1)  # exclusive: orders on 2010-12-31 count, 2011-01-01 is the future
SOURCE = TransactionSource(
    format="csv",
    path="x.csv",
    columns=ColumnMap(customer_id="c", order_ts="t", amount="a", order_id="o"),
    timestamp_formats=["%m/%d/%Y %H:%M", "%m/%d/%y %H:%M"],
)


def mapped(rows: list[tuple]) -> ibis.Table:
    """An ingested (text) table from (customer_id, order_id, order_ts, amount) rows."""
    return ingested(rows, "x.csv")


def run(rows: list[tuple], source: TransactionSource = SOURCE, timezone: str = "UTC", **settings):
    con = connect()
    kept, rejected, quality = cleaning.clean_transactions(
        con, mapped(rows), source, CleaningConfig(**settings), AS_OF, timezone
    )
    return kept.to_pandas(), rejected.to_pandas(), quality


def reasons(rejected: pd.DataFrame) -> dict[int, str]:
    return dict(zip(rejected["source_row"], rejected["reject_reason"]))


GOOD = ("17850", "536365", "12/01/2010 08:26", "15.30")


def test_customer_ids_missing_tokens_and_float_formatting() -> None:
    kept, rejected, _ = run(
        [
            GOOD,
            ("", "2", "12/01/2010 08:26", "1"),
            ("NA", "3", "12/01/2010 08:26", "1"),
            (None, "4", "12/01/2010 08:26", "1"),
            ("17850.0", "5", "12/01/2010 08:26", "2"),
            ("  13047 ", "6", "12/01/2010 08:26", "3"),
            ("null", "7", "12/01/2010 08:26", "1"),
        ]
    )
    assert reasons(rejected) == {
        2: "missing_customer_id",
        3: "missing_customer_id",
        4: "missing_customer_id",
        7: "missing_customer_id",
    }
    assert kept["customer_id"].tolist() == ["17850", "17850", "13047"]


def test_mixed_date_formats_parse_and_garbage_is_quarantined() -> None:
    kept, rejected, _ = run(
        [
            ("1", "1", "12/06/2010 10:08", "1"),
            ("1", "2", "2/20/11 11:39", "1"),
            ("1", "3", "2010-12-05 09:00:00", "1"),
            ("1", "4", "yesterday", "1"),
            ("1", "5", "", "1"),
            ("1", "6", "13/45/2010 10:00", "1"),
        ],
        history_start=None,
    )
    assert kept["order_ts"].tolist() == [pd.Timestamp("2010-12-06 10:08"), pd.Timestamp("2010-12-05 09:00")]
    # 2/20/11 is in 2011: after as_of; "yesterday", "" and month 13 do not parse.
    assert reasons(rejected) == {
        2: "after_as_of",
        4: "unparseable_timestamp",
        5: "unparseable_timestamp",
        6: "unparseable_timestamp",
    }


OFFSET_ROWS = [
    ("1", "1", "2010-12-01T10:00:00+01:00", "1"),  # 09:00 UTC
    ("1", "2", "2010-12-31T23:30:00-05:00", "1"),  # 2011-01-01 04:30 UTC
    ("1", "3", "2010-12-01T10:00:00Z", "1"),
    ("1", "4", "2010-12-01 10:00:00.250+0530", "1"),  # 04:30:00.25 UTC
    ("1", "5", "12/01/2010 10:00", "1"),  # no offset: the dataset's own wall-clock time
]  # tests/test_spark.py reads them (and more) on Spark too


def test_offsets_are_converted_to_the_datasets_time_zone_and_naive_times_read_in_it() -> None:
    rows = OFFSET_ROWS
    kept, rejected, _ = run(rows, timezone="UTC")
    assert kept["order_ts"].tolist() == [
        pd.Timestamp("2010-12-01 09:00"), pd.Timestamp("2010-12-01 10:00"),
        pd.Timestamp("2010-12-01 04:30:00.25"), pd.Timestamp("2010-12-01 10:00"),
    ]  # fmt: skip
    assert reasons(rejected) == {2: "after_as_of"}  # in UTC it is already 2011
    kept, rejected, _ = run(rows, timezone="America/New_York")
    assert kept["order_ts"].tolist() == [
        pd.Timestamp("2010-12-01 04:00"), pd.Timestamp("2010-12-31 23:30"), pd.Timestamp("2010-12-01 05:00"),
        pd.Timestamp("2010-11-30 23:30:00.25"), pd.Timestamp("2010-12-01 10:00"),
    ]  # fmt: skip
    assert rejected.empty  # in New York the last order of the year is still in 2010


def parse_both_ways(texts: list[str | None], formats: list[str]) -> tuple[list, list]:
    """Timestamps parsed with DuckDB's cast as fast path and with strptime alone, in text order."""
    from helpers.engine import try_parse_timestamp, with_timestamp_cast

    table = with_timestamp_cast(ibis.memtable({"t": texts}, schema={"t": "string"}), "t", "c")
    frame = connect().execute(
        table.select(
            fast=try_parse_timestamp(table.t, formats, cast=table.c),
            slow=try_parse_timestamp(table.t, formats),
        )
    )
    return [None if pd.isna(v) else v for v in frame["fast"]], [
        None if pd.isna(v) else v for v in frame["slow"]
    ]


def test_the_cast_fast_path_gives_exactly_what_strptime_gives() -> None:
    # The cast reads more than the formats do (24:00, a trailing zone, 'T', one-digit fields): those
    # texts must fall through to strptime, which rejects or reads them as before; a UTC offset (or Z) is
    # read by the ISO formats with %z and converted to the time zone (UTC here).
    texts = [
        "2023-01-05 10:20:30",
        "2023-01-05",
        "2023-1-5 10:20:30",
        "2023-01-01 24:00:00",
        "2023-01-01 10:00:0Z",
        "2023-01-01 10:00:00+02",
        "1899-12-31 10:00:00",
        "2023-01-05T10:20:30",
        "2023-01-05 10:20:30.250000",
        "2023-02-30 10:00:00",
        "",
        None,
    ]
    fast, slow = parse_both_ways(texts, cleaning.ISO_FORMATS)
    assert (
        fast
        == slow
        == [
            pd.Timestamp("2023-01-05 10:20:30"),
            pd.Timestamp("2023-01-05"),
            pd.Timestamp("2023-01-05 10:20:30"),
            None,
            pd.Timestamp("2023-01-01 10:00:00"),
            pd.Timestamp("2023-01-01 08:00:00"),
            None,
            pd.Timestamp("2023-01-05 10:20:30"),
            pd.Timestamp("2023-01-05 10:20:30.25"),
            None,
            None,
            None,
        ]
    )


def test_a_configured_format_still_wins_over_the_cast_fast_path() -> None:
    # Day before month, listed first: "2023-01-05" is the 1st of May, not the 5th of January.
    fast, slow = parse_both_ways(
        ["2023-01-05 10:20:30", "2023-31-12 08:00:00"], ["%Y-%d-%m %H:%M:%S", *cleaning.ISO_FORMATS]
    )
    assert fast == slow == [pd.Timestamp("2023-05-01 10:20:30"), pd.Timestamp("2023-12-31 08:00")]


def test_blanks_tabs_and_line_breaks_are_trimmed_at_both_ends_only() -> None:
    from helpers.engine import strip_blanks

    texts = ["  a b ", "\ta\n", "a\r", "a", "", " ", None, "é ", "\u00a0a"]
    table = ibis.memtable({"t": texts}, schema={"t": "string"})
    trimmed = connect().execute(table.select(t=strip_blanks(table.t)))["t"].tolist()
    assert trimmed[:6] == ["a b", "a", "a", "a", "", ""] and pd.isna(trimmed[6])
    assert trimmed[7:] == ["é", "\u00a0a"]  # a no-break space is not a blank (as in Ibis's strip)


def test_rejected_rows_keep_their_text_and_kept_rows_their_source_label() -> None:
    # Kept rows lose their text between cleaning's queries (narrow_for_storage); the products must not.
    rows = [GOOD, (" 13047 ", "536366", "12/01/2010 09:00", " 20.00"), ("1", "7", "yesterday", "$5")]
    kept, rejected, quality = run(rows)
    assert kept["source_file"].tolist() == ["x.csv", "x.csv"] and kept["customer_id"].tolist() == [
        "17850",
        "13047",
    ]
    assert rejected[
        ["source_file", "source_row", "reject_reason", "customer_id", "order_id", "order_ts", "amount"]
    ].values.tolist() == [["x.csv", 3, "unparseable_timestamp", "1", "7", "yesterday", "$5"]]
    assert quality["rows_in"] == 3 == quality["rows_kept"] + quality["rows_rejected"]


def test_several_source_labels_are_kept_row_by_row() -> None:
    con = connect()
    later = ingested([("2", "8", "12/02/2010 10:00", "4")], "y.csv")
    two = ingested([GOOD, ("1", "7", "yesterday", "5")], "x.csv").union(
        later.mutate(source_row=later.source_row + 2)
    )
    assert cleaning.single_source_file(two) is None
    assert cleaning.single_source_file(ingested([GOOD], "x.csv")) == "x.csv"
    kept, rejected, _ = cleaning.clean_transactions(con, two, SOURCE, CleaningConfig(), AS_OF)
    assert kept.to_pandas()["source_file"].tolist() == ["x.csv", "y.csv"]
    assert rejected.to_pandas()["source_file"].tolist() == ["x.csv"]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("15.30", 15.30),
        ("$1,234.50", 1234.50),
        ("1 234.50", 1234.50),
        ("-27.5", -27.5),
        ("£7", 7.0),
        (" 3.0e2 ", 300.0),
        ("1,2", None),
        ("12abc", None),
        ("", None),
        ("1.234,50", None),
    ],
)
def test_amount_parsing_with_dot_decimals(text: str, value: float | None) -> None:
    table = ibis.memtable({"a": [text]}, schema={"a": "string"})
    got = connect().execute(table.select(v=try_parse_number(table.a, "."))).iloc[0]["v"]
    assert (pd.isna(got) and value is None) or got == pytest.approx(value)


@pytest.mark.parametrize(("text", "value"), [("1.234,50 €", 1234.50), ("15,3", 15.3), ("1,234.50", None)])
def test_amount_parsing_with_comma_decimals(text: str, value: float | None) -> None:
    table = ibis.memtable({"a": [text]}, schema={"a": "string"})
    got = connect().execute(table.select(v=try_parse_number(table.a, ","))).iloc[0]["v"]
    assert (pd.isna(got) and value is None) or got == pytest.approx(value)


def test_invalid_and_zero_amounts() -> None:
    rows = [
        GOOD,
        ("1", "2", "12/01/2010 08:26", "abc"),
        ("1", "3", "12/01/2010 08:26", None),
        ("1", "4", "12/01/2010 08:26", "0"),
        ("1", "5", "12/01/2010 08:26", "0.00"),
    ]
    _, rejected, _ = run(rows)
    assert reasons(rejected) == {2: "invalid_amount", 3: "invalid_amount", 4: "zero_amount", 5: "zero_amount"}
    kept, rejected, _ = run(rows, zero_amount="keep")
    assert reasons(rejected) == {2: "invalid_amount", 3: "invalid_amount"}
    assert kept["amount"].tolist() == [15.30, 0.0, 0.0]


def test_amounts_too_large_to_add_exactly_are_invalid() -> None:
    """Money is added as DECIMAL(18,4) (engine.exact_sum), which holds amounts below 10^14: larger
    ones (data errors) are rejected as invalid amounts instead of stopping a later stage."""
    rows = [
        GOOD,
        ("1", "2", "12/01/2010 08:26", "123456789012.34"),
        ("1", "3", "12/01/2010 08:26", "99999999999999"),
        ("1", "4", "12/01/2010 08:26", "100000000000000"),
        ("1", "5", "12/01/2010 08:26", "-2e15"),
        ("1", "6", "12/01/2010 08:26", "1e300"),
    ]
    kept, rejected, quality = run(rows)
    assert reasons(rejected) == {4: "invalid_amount", 5: "invalid_amount", 6: "invalid_amount"}
    assert kept["amount"].tolist() == [15.30, 123456789012.34, 99999999999999.0]
    assert (
        quality["revenue_kept"] == 100_123_456_789_026.64
    )  # 15.30 + 123,456,789,012.34 + 99,999,999,999,999


def test_history_window() -> None:
    rows = [
        ("1", "1", "11/30/2009 23:59", "1"),
        ("1", "2", "12/01/2009 00:00", "1"),
        ("1", "3", "12/31/2010 23:59", "1"),
        ("1", "4", "01/01/2011 00:00", "1"),
    ]
    kept, rejected, _ = run(rows, history_start=dt.date(2009, 12, 1))
    assert reasons(rejected) == {1: "before_history_start", 4: "after_as_of"}
    assert kept["source_row"].tolist() == [2, 3]


def test_returns_are_netted_or_quarantined_and_cancellations_become_negative() -> None:
    rows = [
        GOOD,
        ("17850", "C536379", "12/01/2010 09:41", "27.50"),
        ("17850", "536380", "12/01/2010 09:45", "-5"),
    ]
    kept, rejected, quality = run(rows, cancellation_prefix="C")
    assert kept["amount"].tolist() == [15.30, -27.50, -5.0]
    assert kept["is_return"].tolist() == [False, True, True]
    assert quality["returns_kept"] == 2 and quality["revenue_kept"] == pytest.approx(-17.2)
    kept, rejected, quality = run(rows, cancellation_prefix="C", returns="quarantine")
    assert reasons(rejected) == {2: "return", 3: "return"}
    assert rejected["amount"].tolist() == ["27.50", "-5"]  # original text kept for the record


def test_exact_duplicates_keep_the_first() -> None:
    rows = [GOOD, GOOD, ("17850", "536365", "12/01/2010 08:26", "15.31"), GOOD]
    kept, rejected, _ = run(rows, duplicates="reject")
    assert reasons(rejected) == {2: "duplicate", 4: "duplicate"}
    assert kept["source_row"].tolist() == [1, 3]
    kept, rejected, _ = run(rows, duplicates="keep")
    assert rejected.empty and len(kept) == 4
    con = connect()
    key = cleaning.duplicate_key(mapped(rows), order_id_mapped=True)
    assert key == ["customer_id", "order_id", "order_ts", "amount"]
    assert sorted(cleaning.repeated_source_rows(con, mapped(rows), key).to_pandas()["source_row"]) == [2, 4]
    assert cleaning.repeated_source_rows(con, mapped(rows[1:3]), key) is None  # no repeat: nothing to join


def test_one_row_per_order_is_a_quality_fact_and_counts_monthly_orders_as_rows() -> None:
    lines = [GOOD, ("17850", "536365", "12/01/2010 09:00", "3"), ("13047", "536366", "12/02/2010 08:26", "4")]
    kept, _, quality = run(lines)
    assert (quality["orders_kept"], quality["rows_kept"], quality["one_row_per_order"]) == (2, 3, False)
    _, _, quality = run([GOOD, ("13047", "536366", "12/02/2010 08:26", "4")])
    assert quality["one_row_per_order"]
    con = connect()
    table = con.create_table("kept_orders", kept.drop(columns=["order_id"]).assign(order_id=["a", "b", "c"]))
    assert cleaning.monthly_activity(table, one_row_per_order=True).equals(cleaning.monthly_activity(table))
    assert cleaning.monthly_activity(table).values.tolist() == [["2010-12", 3, 22.3]]  # 15.30 + 3 + 4


@pytest.mark.parametrize("date_type", ["timestamp", "date"])
def test_typed_parquet_values_clean_exactly_as_their_text_did(tmp_path, date_type: str) -> None:
    """Ingest keeps typed timestamps and amounts; cleaning them gives the same kept and rejected rows
    as the text route (every column cast to text, then parsed), rejected text included."""
    from helpers.ingest import NATIVE_TYPE_ROLES, map_transactions, read_source

    stamps = pd.to_datetime(
        [
            "2010-12-01 08:26:00",
            "1850-01-01",
            "2010-12-02 10:00:00.5",
            "2011-03-01",
            "2010-12-01 08:26:00",
            None,
            "2010-11-30 23:59:59",
        ],
        format="ISO8601",
    )
    frame = pd.DataFrame(
        {
            "c": ["1", "2", "3", "4", "1", "6", "7"],
            "o": ["a", "b", "c", "d", "a", "f", "g"],
            "t": stamps.normalize() if date_type == "date" else stamps,
            "a": [15.3, 2.0, float("nan"), 4.0, 15.3, 1e15, -3.25],
        }
    )
    if date_type == "date":
        frame["t"] = frame["t"].dt.date
    path = tmp_path / "orders.parquet"
    frame.to_parquet(path, index=False)
    source = TransactionSource(
        format="parquet",
        path=str(path),
        columns=ColumnMap(customer_id="c", order_id="o", order_ts="t", amount="a"),
        timestamp_formats=[],
    )
    con = connect()
    roles = {"t": NATIVE_TYPE_ROLES["order_ts"], "a": NATIVE_TYPE_ROLES["amount"]}
    typed = map_transactions(read_source(con, source, "typed", tmp_path, roles), source.columns.mapped())
    as_text = map_transactions(read_source(con, source, "text", tmp_path), source.columns.mapped())
    assert typed.order_ts.type().is_timestamp() or typed.order_ts.type().is_date()
    assert as_text.order_ts.type().is_string() and not typed.amount.type().is_string()
    results = [
        cleaning.clean_transactions(con, t, source, CleaningConfig(duplicates="reject"), AS_OF)
        for t in (typed, as_text)
    ]
    (kept, rejected, quality), (kept_text, rejected_text, quality_text) = results
    pd.testing.assert_frame_equal(kept.to_pandas(), kept_text.to_pandas())
    pd.testing.assert_frame_equal(rejected.to_pandas(), rejected_text.to_pandas())
    assert quality == quality_text
    assert set(reasons(rejected.to_pandas()).values()) >= {
        "unparseable_timestamp",
        "invalid_amount",
        "duplicate",
    }


def test_distinct_orders_are_counted_without_a_distinct_count_only_when_ids_increase() -> None:
    """The shortcut (stored order ids strictly increasing) says yes only when no id repeats or is
    missing; the facts are the same whichever way the orders were counted."""
    con = connect()

    def increasing(ids: list) -> bool:
        return cleaning.increasing_as_stored(
            con.create_table("ids", pd.DataFrame({"order_id": ids}), overwrite=True), "order_id", "duckdb"
        )

    assert increasing(["536365", "536366", "536370"])
    assert not increasing(["536366", "536365"])  # distinct but stored out of order: counted the slow way
    assert not increasing(["536365", "536365"]) and not increasing(["536365", None, "536366"])
    assert not cleaning.increasing_as_stored(
        con.create_table("one", pd.DataFrame({"order_id": ["a"]}), overwrite=True), "order_id", "spark"
    )
    later_first = [("13047", "536366", "12/02/2010 08:26", "4"), GOOD]
    _, _, quality = run(later_first)
    assert (quality["orders_kept"], quality["one_row_per_order"]) == (2, True)
    _, _, quality = run([GOOD, ("13047", "536365", "12/02/2010 08:26", "4")])  # increasing, then repeated
    assert (quality["orders_kept"], quality["rows_kept"], quality["one_row_per_order"]) == (1, 2, False)


def test_a_large_ingested_file_is_cleaned_in_source_row_order_without_a_sort(tmp_path) -> None:
    """300,000 typed rows in 30 row groups, ingested and written as 01 does: cleaning sees them in
    order, leaves out the sort, and the kept and rejected rows still come out in source_row order."""
    from helpers import io
    from helpers.config import PrivacyConfig

    rows = 300_000
    frame = pd.DataFrame(
        {
            "o": [f"o{i}" for i in range(rows)],
            "c": [str(i % 977) for i in range(rows)],
            "t": pd.Timestamp("2010-12-01 08:26:00") + pd.to_timedelta(range(rows), unit="s"),
            "a": [0.0 if i % 1000 == 0 else i % 50 + 0.25 for i in range(rows)],
        }
    )
    frame.to_parquet(tmp_path / "orders.parquet", index=False, row_group_size=10_000)
    source = TransactionSource(
        format="parquet",
        path="orders.parquet",
        columns=ColumnMap(customer_id="c", order_id="o", order_ts="t", amount="a"),
    )
    con = connect()
    table, _ = ingest_transactions(con, source, PrivacyConfig(), root=tmp_path)
    ingested_rows = con.read_parquet(io.write_table(table, tmp_path / "01_transactions.parquet"))
    assert cleaning.increasing_as_stored(ingested_rows, "source_row", "duckdb")
    assert not cleaning.increasing_as_stored(
        ingested_rows.order_by(ingested_rows.amount), "source_row", "duckdb"
    )
    kept, rejected, _ = cleaning.clean_transactions(con, ingested_rows, source, CleaningConfig(), AS_OF)
    assert "ORDER BY" not in ibis.to_sql(kept)
    kept_rows = con.read_parquet(io.write_table(kept, tmp_path / "02_transactions.parquet")).to_pandas()[
        "source_row"
    ]
    assert kept_rows.tolist() == [i + 1 for i in range(rows) if i % 1000]
    assert rejected.to_pandas()["source_row"].tolist() == list(range(1, rows + 1, 1000))  # zero amounts


def test_duplicates_ignore_a_generated_order_id() -> None:
    source = SOURCE.model_copy(update={"columns": ColumnMap(customer_id="c", order_ts="t", amount="a")})
    rows = [("1", "1", "12/01/2010 08:26", "5"), ("1", "2", "12/01/2010 08:26", "5")]  # ids are row numbers
    _, rejected, _ = run(rows, source=source, duplicates="reject")
    assert reasons(rejected) == {2: "duplicate"}


def test_currency_filter_needs_a_mapped_column() -> None:
    with pytest.raises(
        ValueError, match="cleaning.currency is set but sources.transactions.columns.currency is not mapped"
    ):
        run([GOOD], currency="GBP")


def test_extreme_amounts_are_flagged_not_dropped_by_default() -> None:
    rows = [("1", str(i), "12/01/2010 08:26", str(v)) for i, v in enumerate([10] * 9 + [1000], start=1)]
    kept, _, quality = run(rows, extreme_amount_quantile=0.9)
    # quantile 0.9 of [10 x9, 1000] with linear interpolation: 10 + 0.1 * 990 = 109
    assert quality["extreme_amount_threshold"] == pytest.approx(109.0)
    assert kept["is_extreme_amount"].tolist() == [False] * 9 + [True]
    kept, rejected, quality = run(rows, extreme_amount_quantile=0.9, extreme_amount_action="reject")
    assert reasons(rejected) == {10: "extreme_amount"} and len(kept) == 9
    assert rejected[["customer_id", "order_id", "order_ts", "amount"]].values.tolist() == [
        ["1", "10", "12/01/2010 08:26", "1000"]  # the text as received, read back for a late rejection
    ]


def test_one_absurd_amount_cannot_own_the_revenue() -> None:
    """A typo of 1e12 among 200 orders of 10-59.99: beyond 1,000 times the 90th percentile of amounts
    (which the typo cannot move), it is rejected as implausible and listed; a genuine big order (500
    times the typical one) stays, flagged as extreme. Also in a first month of only 92 orders, whose
    99th percentile would have been the typo itself."""
    amounts = [f"{10 + i % 50}.99" if i % 2 else str(10 + i % 50) for i in range(200)]
    amounts[57] = "25000"  # big but possible
    amounts[123] = "1000000000000"  # a typing error
    rows = [("1", str(i + 1), "12/01/2010 08:26", a) for i, a in enumerate(amounts)]
    kept, rejected, quality = run(rows)
    values = sorted(float(a) for a in amounts)
    ninetieth = values[179] + 0.1 * (values[180] - values[179])  # interpolated at rank 0.9 x 199 = 179.1
    assert quality["implausible_amount_threshold"] == pytest.approx(1000 * ninetieth)
    assert reasons(rejected) == {124: "implausible_amount"}
    assert rejected["amount"].tolist() == ["1000000000000"]
    assert quality["implausible_rows"] == [{"source_row": 124, "amount": 1e12}]
    assert quality["revenue_kept"] == pytest.approx(sum(float(a) for i, a in enumerate(amounts) if i != 123))
    assert kept.loc[kept["source_row"] == 58, "is_extreme_amount"].tolist() == [True]
    _, rejected, few = run(rows[:91] + [rows[123]])
    assert reasons(rejected) == {92: "implausible_amount"} and few["implausible_amount_threshold"] < 1e6
    _, rejected, quality = run(rows, implausible_amount_factor=None)  # the rule switched off
    assert rejected.empty and quality["implausible_amount_threshold"] is None


def test_the_first_applicable_reason_wins_and_counts_add_up() -> None:
    rows = [
        ("", "1", "garbage", "abc"),  # missing id beats everything
        ("1", "2", "garbage", "abc"),  # then the timestamp
        ("1", "3", "12/05/2010 10:00", "0"),  # zero amount
        ("", "4", "01/05/2012 10:00", "0"),  # after_as_of beats all but a malformed line: a later period's
        GOOD,
        GOOD,
    ]
    kept, rejected, quality = run(rows, duplicates="reject")
    assert reasons(rejected) == {
        1: "missing_customer_id",
        2: "unparseable_timestamp",
        3: "zero_amount",
        4: "after_as_of",
        6: "duplicate",
    }
    assert quality["rows_in"] == 6 == quality["rows_kept"] + quality["rows_rejected"]
    assert quality["rejected_by_reason"] == {
        **{code: 0 for code in cleaning.REJECT_REASONS},
        "missing_customer_id": 1,
        "unparseable_timestamp": 1,
        "zero_amount": 1,
        "after_as_of": 1,
        "duplicate": 1,
    }
    table = pd.DataFrame(cleaning.quality_table(quality))
    assert table.iloc[0].tolist()[::2] == ["kept", 1] and table.iloc[-1]["rows"] == 6
    assert table["rows"].iloc[:-1].sum() == 6


def test_the_history_sliced_by_an_as_of_date_gives_the_reasons_of_one_pass() -> None:
    """The history cache's route (every rule but the period's, then the as-of date) gives each row the
    reason that classifying with the as-of date in one pass gives, at as-of dates before, between and
    after the rows: a later row is after_as_of whatever else is wrong with it (a missing id, a zero
    amount, a repeat), the rules before it still win, and the same row gets another reason later."""
    rows = [
        ("", "1", "12/05/2010 10:00", "5"),  # missing id: after_as_of only for the earliest as-of date
        ("", "2", "01/05/2012 10:00", "0"),  # missing id and zero amount in 2012
        ("1", "3", "garbage", "1"),  # no timestamp: never after any as-of date
        ("1", "4", "06/01/2011 10:00", "0"),  # zero amount in mid-2011
        ("1", "4", "06/01/2011 10:00", "0"),  # its repeat
        GOOD,
    ]
    con = connect()
    config = CleaningConfig(zero_amount="reject", duplicates="reject")
    table = mapped(rows)
    repeats = cleaning.repeated_source_rows(con, table, cleaning.duplicate_key(table, True))
    parsed = cleaning.parse_columns(table, SOURCE)
    history = cleaning.classify_history(con, table, SOURCE, config)
    seen = []
    for as_of in (dt.datetime(2010, 1, 1), AS_OF, dt.datetime(2012, 1, 1), dt.datetime(2013, 1, 1)):
        direct = cleaning.classify_rows(parsed, config, as_of, repeats).order_by("source_row")
        sliced = cleaning.slice_as_of(history, as_of).order_by("source_row")
        expected = direct.reject_reason.fill_null("kept").to_pandas().tolist()
        assert sliced.reject_reason.fill_null("kept").to_pandas().tolist() == expected, as_of
        seen.append(expected)
    assert seen[0] == [*["after_as_of"] * 2, "unparseable_timestamp", *["after_as_of"] * 3]
    missing, after = "missing_customer_id", "after_as_of"
    assert seen[1] == [missing, after, "unparseable_timestamp", after, after, "kept"]
    assert seen[3] == [missing, missing, "unparseable_timestamp", "zero_amount", "zero_amount", "kept"]


def test_cdnow_accounting_is_exact() -> None:
    """The bundled data: 69,659 rows in; 80 zero-dollar rows rejected; 23,502 customers kept."""
    params = load_params("cdnow", "1998-06", REPO)
    con = connect()
    table, facts = ingest_transactions(con, params.sources.transactions, params.privacy, REPO)
    kept, rejected, quality = cleaning.clean_transactions(
        con, table, params.sources.transactions, params.cleaning, params.as_of_exclusive
    )
    assert facts["rows_read"] == 69_659
    assert (quality["rows_in"], quality["rows_kept"], quality["rows_rejected"]) == (69_659, 69_579, 80)
    assert quality["rejected_by_reason"]["zero_amount"] == 80
    assert quality["customers_kept"] == 23_502
    assert kept.count().execute() + rejected.count().execute() == 69_659
    assert quality["revenue_kept"] == pytest.approx(2_500_315.63, abs=0.01)
    # An earlier period: the rest of the log lies after its end and is accounted for, not lost.
    early = load_params("cdnow", "1997-04", REPO)
    _, _, quality = cleaning.clean_transactions(
        con, table, early.sources.transactions, early.cleaning, early.as_of_exclusive
    )
    # 34,153 rows lie after April 1997, 7 of them the later zero-dollar rows, counted in their own months.
    assert (quality["rows_kept"], quality["rejected_by_reason"]["after_as_of"]) == (35_506, 34_080)
    assert quality["rejected_by_reason"]["zero_amount"] == 73
    assert quality["rows_kept"] + quality["rows_rejected"] == 69_659


def test_the_implausible_amount_rule_is_told_in_one_sentence() -> None:
    quality = {"implausible_amount_threshold": 309390.1, "rejected_by_reason": {"implausible_amount": 1}}
    assert cleaning.implausible_sentence(quality) == (
        "1 row with an amount beyond 309,390.10 was set aside as a typing error (below)."
    )
    quality["rejected_by_reason"]["implausible_amount"] = 0
    assert (
        cleaning.implausible_sentence(quality)
        == "No amount was beyond 309,390.10, the limit for a typing error."
    )
