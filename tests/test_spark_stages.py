"""The per-customer aggregations of stages 03 and 06 give the same answers on a local Spark session
and on DuckDB, read from the same clean-transactions Parquet file (as 02_cleaning writes it).

The file mixes a seeded synthetic log (with returns) and hand-made customers for the edges: several
rows of one order, a customer with nothing but returns, a return that nets a day below zero, rows
after the as-of date, a purchase at the last second of the as-of day, purchases on both sides of a
Sunday/Monday week boundary, and ids with leading zeros.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from helpers import clv, engine, io, rfm, synth

AS_OF = dt.date(2023, 12, 31)  # a Sunday: the last day of a calendar week
PERIOD_START = dt.date(2023, 12, 1)
CALIBRATION_END = clv.calibration_end(AS_OF, 182, "weeks")


def edge_rows() -> pd.DataFrame:
    ts = pd.Timestamp
    rows = [
        # one order in three rows, and a second order the same day: 2 orders, 1 purchase day
        ("E001", "EA1", ts("2023-03-06 10:00"), 10.0),
        ("E001", "EA1", ts("2023-03-06 10:00"), 5.5),
        ("E001", "EA1", ts("2023-03-06 10:00"), 1.25),
        ("E001", "EA2", ts("2023-03-06 18:30"), 7.0),
        ("E001", "EA3", ts("2023-12-31 23:59:59"), 20.0),  # last second of the as-of day: counted
        ("E001", "EA4", ts("2024-01-01 00:00:00"), 99.0),  # first second after it: ignored
        # nothing but returns: no order, first/last order from the returns, no purchase period
        ("E002", "RB1", ts("2023-05-02 09:00"), -12.0),
        ("E002", "RB2", ts("2023-12-15 09:00"), -3.0),
        # a day whose return outweighs the purchase (still a purchase day, negative value)
        ("E003", "EC1", ts("2022-06-01 12:00"), 40.0),
        ("E003", "EC2", ts("2023-07-04 08:00"), 15.0),
        ("E003", "RC1", ts("2023-07-04 17:00"), -30.0),
        ("E003", "RC2", ts("2023-12-20 17:00"), -40.0),
        # a day with only a return between two purchases: not a purchase period
        ("E004", "ED1", ts("2023-01-01 23:59:59"), 8.0),
        ("E004", "RD1", ts("2023-02-01 10:00"), -8.0),
        ("E004", "ED2", ts("2023-01-02 00:00:00"), 9.0),  # Sunday 23:59:59 then Monday 00:00: two weeks
        ("E004", "ED3", ts("2023-12-04 00:00:00"), 11.0),  # in the period
        # only after the as-of date: not a customer yet
        ("E005", "EE1", ts("2024-02-01 10:00"), 50.0),
        # leading zeros and a numeric-looking id; a purchase on the calibration end (a Sunday)
        ("00042", "EF1", ts("2023-01-15 00:00"), 3.0),
        ("00042", "EF2", ts(CALIBRATION_END.isoformat() + " 12:00"), 4.0),
        ("00042", "EF3", ts("2023-11-30 23:59:59"), 5.0),  # the second before the period starts
    ]
    return pd.DataFrame(rows, columns=["customer_id", "order_id", "order_ts", "amount"])


@pytest.fixture(scope="module")
def clean_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean-transactions file: 1,500 synthetic customers with 5% returns plus the edge customers,
    written by DuckDB through the pipeline's own writer (as 02_cleaning does)."""
    log, _ = synth.generate(
        1500,
        seed=7,
        start=dt.date(2021, 1, 1),
        end=dt.date(2024, 1, 31),
        returns_share=0.05,
        population=synth.POPULATIONS["busy"],
    )
    frame = pd.concat([log, edge_rows()], ignore_index=True)
    frame["is_return"] = frame["amount"] < 0
    frame["order_ts"] = frame["order_ts"].astype("datetime64[us]")
    duck = engine.connect()
    table = duck.create_table("clean", frame).order_by(["order_ts", "order_id"])
    return io.write_table(table, tmp_path_factory.mktemp("spark_stages") / "02_transactions.parquet")


def frame_of(table, key: list[str]) -> pd.DataFrame:
    """An engine result as pandas, sorted by ``key``, with dates and timestamps as datetime64[us]
    (DuckDB and Spark hand dates back as different Python types)."""
    frame = table.to_pandas().sort_values(key, kind="mergesort").reset_index(drop=True)
    for column in frame.columns:
        if frame[column].dtype == object and frame[column].map(lambda v: isinstance(v, dt.date)).any():
            frame[column] = pd.to_datetime(frame[column])
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            frame[column] = frame[column].dt.tz_localize(None) if frame[column].dt.tz else frame[column]
            frame[column] = frame[column].astype("datetime64[us]")
    return frame


def both(spark, path: Path, build, key: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    duck = engine.connect()
    return frame_of(build(duck.read_parquet(str(path))), key), frame_of(
        build(spark.read_parquet(str(path))), key
    )


def test_customer_metrics_are_identical_on_spark_and_duckdb(spark, clean_file: Path) -> None:
    duck, on_spark = both(
        spark, clean_file, lambda t: rfm.customer_metrics(t, PERIOD_START, AS_OF), ["customer_id"]
    )
    assert list(on_spark.columns) == list(duck.columns)
    pd.testing.assert_frame_equal(duck, on_spark, check_dtype=False, check_exact=True)
    edges = duck.set_index("customer_id")
    assert "E005" not in edges.index and len(duck) == 1500 + 5  # E001-E004 and 00042
    assert edges.loc[
        "E001", ["frequency_orders", "monetary_total", "recency_days", "period_orders"]
    ].tolist() == [3, 43.75, 0, 1]
    assert edges.loc["E002", "frequency_orders"] == 0 and pd.isna(edges.loc["E002", "avg_order_value"])
    assert edges.loc["E002", "recency_days"] == 16 and edges.loc["E002", "period_revenue"] == -3.0
    counted = both(
        spark,
        clean_file,
        lambda t: rfm.customer_metrics(t, PERIOD_START, AS_OF, one_row_per_order=True),
        ["customer_id"],
    )  # orders counted as rows (the file has multi-row orders: the counts differ)
    pd.testing.assert_frame_equal(*counted, check_dtype=False, check_exact=True)
    assert edges.loc["00042", ["period_orders", "period_revenue"]].tolist() == [0, 0.0]


@pytest.mark.parametrize("unit", ["weeks", "days"])
def test_clv_model_inputs_are_identical_on_spark_and_duckdb(spark, clean_file: Path, unit: str) -> None:
    duck, on_spark = both(spark, clean_file, lambda t: clv.model_inputs(t, AS_OF, unit), ["customer_id"])
    assert list(on_spark.columns) == list(duck.columns)
    pd.testing.assert_frame_equal(duck, on_spark, check_dtype=False, check_exact=True)
    edges = duck.set_index("customer_id")
    assert "E002" not in edges.index  # no purchase at all: not in the model
    if unit == "days":
        assert edges.loc["E001", ["repeat_periods", "recency_periods", "age_periods"]].tolist() == [
            1,
            300.0,
            300.0,
        ]
        assert edges.loc["E003", "repeat_mean_value"] == pytest.approx(-15.0)
        assert edges.loc["E004", ["repeat_periods", "recency_periods"]].tolist() == [2, 337.0]
    else:
        assert edges.loc["E004", ["repeat_periods", "recency_periods"]].tolist() == [
            2,
            49.0,
        ]  # weeks of 2022-12-26 .. 2023-12-04


def test_calibration_and_holdout_are_identical_on_spark_and_duckdb(spark, clean_file: Path) -> None:
    duck, on_spark = both(
        spark,
        clean_file,
        lambda t: clv.calibration_and_holdout(t, CALIBRATION_END, AS_OF, "weeks"),
        ["customer_id"],
    )
    pd.testing.assert_frame_equal(duck, on_spark, check_dtype=False, check_exact=True)
    assert duck["holdout_periods"].sum() > 0


@pytest.mark.parametrize(
    ("fmt", "marks"),
    [
        ("%Y-%m-%d %H:%M:%S.%f", ["-", ":", "."]),
        ("%Y%m%d", []),
        ("%d/%m/%Y %I%p", ["/"]),
        ("%Y-%m-%dT%H:%M", ["-", ":"]),
        ("%d.%m.%y 100%%", [".", "%"]),
    ],
)
def test_a_format_is_tried_only_on_text_with_its_punctuation(fmt: str, marks: list[str]) -> None:
    assert engine.format_punctuation(fmt) == marks


def test_amounts_written_by_people_parse_the_same_on_spark(spark) -> None:
    import ibis

    texts = ["1,234.50", "$1,234.50", " 12.5 ", "1,2", "-7", "1e3", "12 €", "abc", "", None]
    table = ibis.memtable({"t": texts}, schema={"t": "string"})
    expr = table.select(v=engine.try_parse_number(table.t))
    duck, on_spark = engine.connect().execute(expr)["v"].tolist(), spark.execute(expr)["v"].tolist()
    expected = [1234.5, 1234.5, 12.5, None, -7.0, 1000.0, 12.0, None, None, None]
    assert [None if pd.isna(v) else v for v in duck] == expected
    assert [None if pd.isna(v) else v for v in on_spark] == expected
