"""The same Ibis expressions on a local Spark session and on DuckDB give the same answers."""

from __future__ import annotations

from pathlib import Path

import ibis
import pandas as pd
import pytest
from test_bad_inputs import CASES, build_project, case_param, check_case
from test_cleaning import AS_OF, OFFSET_ROWS, SOURCE
from test_sources import EVENT_COLUMNS, EVENTS, ingest_and_clean

from helpers import cleaning, engine, ingest, io
from helpers.config import CleaningConfig, CustomerSource, EventSource, FeedbackSource, load_params

from conftest import SPARK_TEST_CONFIG, make_project
from conftest import ingested as text_rows


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """The tiny CDNOW extract ingested to a Parquet file, as 01_ingest writes it."""
    root = make_project(tmp_path_factory.mktemp("spark") / "project")
    params = load_params("cdnow", "1998-06", root)
    duck = engine.connect()
    table, _ = ingest.ingest_transactions(duck, params.sources.transactions, params.privacy, root)
    path = io.write_table(table, root / "01_transactions.parquet")
    return path, params


@pytest.mark.parametrize(
    ("fmt", "pattern"),
    [
        ("%Y%m%d", "yyyyMMdd"),
        ("%m/%d/%Y %H:%M", "M/d/yyyy H:mm"),
        ("%Y-%m-%dT%H:%M:%S", "yyyy-M-d'T'H:mm:ss"),
        ("%d.%m.%y", "d.M.yy"),
        ("%Y-%m-%d %H:%M:%S.%f", "yyyy-M-d H:mm:ss.SSSSSS"),
    ],
)
def test_strftime_formats_become_spark_patterns(fmt: str, pattern: str) -> None:
    assert engine.java_pattern(fmt) == pattern


def clean_on(con, path: Path, params) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    kept, rejected, quality = cleaning.clean_transactions(
        con, con.read_parquet(str(path)), params.sources.transactions, params.cleaning, params.as_of_exclusive
    )
    order = ["source_row"]
    return (
        kept.to_pandas().sort_values(order).reset_index(drop=True),
        rejected.to_pandas().sort_values(order).reset_index(drop=True),
        quality,
    )


def test_cleaning_is_identical_on_spark_and_duckdb(spark, ingested) -> None:
    path, params = ingested
    kept_duck, rejected_duck, quality_duck = clean_on(engine.connect(), path, params)
    kept_spark, rejected_spark, quality_spark = clean_on(spark, path, params)
    pd.testing.assert_frame_equal(kept_duck, kept_spark, check_dtype=False)
    pd.testing.assert_frame_equal(rejected_duck, rejected_spark, check_dtype=False)
    for key in (
        "rows_in",
        "rows_kept",
        "rows_rejected",
        "rejected_by_reason",
        "customers_kept",
        "extreme_amount_flagged",
        "revenue_kept",
    ):  # money is added exactly (engine.exact_sum): the same bits on both engines
        assert quality_duck[key] == quality_spark[key], key
    assert quality_spark["extreme_amount_threshold"] == pytest.approx(
        quality_duck["extreme_amount_threshold"]
    )


def test_mixed_date_formats_parse_the_same_on_spark(spark) -> None:
    import ibis

    texts = ["12/06/2010 10:08", "2/20/11 11:39", "2010-12-05 09:00:00", "garbage", None]
    table = ibis.memtable({"t": texts}, schema={"t": "string"})
    formats = ["%m/%d/%Y %H:%M", "%m/%d/%y %H:%M", *cleaning.ISO_FORMATS]
    expr = table.select(ts=engine.try_parse_timestamp(table.t, formats, "spark"))
    parsed = spark.execute(expr)["ts"].tolist()
    duck = (
        engine.connect().execute(table.select(ts=engine.try_parse_timestamp(table.t, formats)))["ts"].tolist()
    )
    expected = [
        pd.Timestamp("2010-12-06 10:08"),
        pd.Timestamp("2011-02-20 11:39"),
        pd.Timestamp("2010-12-05 09:00"),
    ]
    assert parsed[:3] == expected == duck[:3]
    assert pd.isna(parsed[3]) and pd.isna(parsed[4]) and pd.isna(duck[3])


# A case for each Spark reader and for the parsing rules whose expressions differ between the engines:
# the whole corpus passes on Spark too, but a Spark case costs seconds (the chain on Spark, in
# test_spark_chain.py, covers the whitespace reader). Params cases fail before any engine runs.
SPARK_CASES = {
    "wrong_delimiter",
    "latin1_read_as_utf8",
    "text_file_named_parquet",
    "excel_data_on_the_second_sheet",
    "utf16_with_encoding_setting",
    "mixed_date_formats",
    "amounts_with_thousands_separators_and_currency_symbols",
    "malformed_lines_keep_their_place_and_lose_their_text",
    "quoted_fields_with_delimiters_quotes_and_line_breaks",
    "every_row_rejected",
}


def test_the_spark_cases_are_in_the_corpus() -> None:
    assert SPARK_CASES <= {case["id"] for case in CASES if case.get("kind") != "params"}


@pytest.mark.parametrize("case", [case_param(case) for case in CASES if case["id"] in SPARK_CASES])
def test_bad_input_gives_the_same_outcome_on_spark(
    spark, case: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bad-input corpus read by Spark itself (its CSV, text and Parquet readers, the workbooks staged
    through DuckDB) and cleaned on Spark: the same sentence, or the same rows kept and rejected by
    reason, as on DuckDB (tests/data/bad/cases.yaml)."""
    for name, value in case.get("env", {}).items():
        monkeypatch.setenv(name, value)
    for name in case.get("env_unset", []):
        monkeypatch.delenv(name, raising=False)
    root, period = build_project(tmp_path, case)
    dataset = root / "params" / "bad" / "dataset.yaml"
    dataset.write_text(dataset.read_text() + "engine: {backend: spark}\n")
    check_case(case, root, period)


# Timestamps with a UTC offset (an instant) and without one (the dataset's wall-clock time), as
# tests/test_cleaning.py reads them on DuckDB, in three zones: one without daylight saving and a
# half-hour offset, one with it, and UTC.
SPARK_OFFSET_ROWS = [
    *OFFSET_ROWS,
    ("1", "6", "2010-03-01 10:00:00+05:30", "1"),  # 04:30 UTC
    ("1", "7", "2010-07-01 10:00:00-04:00", "1"),  # 14:00 UTC, in New York's summer time
    ("1", "8", "2010-12-01 10:00:00+0000", "1"),
    ("1", "9", "2010-12-01 10:00:00+02", "1"),  # 08:00 UTC
    ("1", "10", "2010-12-01 10:00:00-0330", "1"),  # 13:30 UTC
]


@pytest.mark.parametrize(
    ("timezone", "expected"),
    [
        ("Asia/Kolkata", {
            1: "2010-12-01 14:30", 2: None, 3: "2010-12-01 15:30", 4: "2010-12-01 10:00:00.25",
            5: "2010-12-01 10:00", 6: "2010-03-01 10:00", 7: "2010-07-01 19:30", 8: "2010-12-01 15:30",
            9: "2010-12-01 13:30", 10: "2010-12-01 19:00",
        }),
        ("America/New_York", {
            1: "2010-12-01 04:00", 2: "2010-12-31 23:30", 3: "2010-12-01 05:00", 4: "2010-11-30 23:30:00.25",
            5: "2010-12-01 10:00", 6: "2010-02-28 23:30", 7: "2010-07-01 10:00", 8: "2010-12-01 05:00",
            9: "2010-12-01 03:00", 10: "2010-12-01 08:30",
        }),
        ("UTC", {
            1: "2010-12-01 09:00", 2: None, 3: "2010-12-01 10:00", 4: "2010-12-01 04:30:00.25",
            5: "2010-12-01 10:00", 6: "2010-03-01 04:30", 7: "2010-07-01 14:00", 8: "2010-12-01 10:00",
            9: "2010-12-01 08:00", 10: "2010-12-01 13:30",
        }),
    ],
)  # fmt: skip
def test_offsets_give_the_same_rows_on_spark_as_on_duckdb(
    spark, timezone: str, expected: dict, tmp_path: Path
) -> None:
    """Each instant converted to the dataset's zone and each wall-clock time read in it, by both
    engines; row 2 is 2011 already (after the as-of date) everywhere but in New York."""
    rows = tmp_path / "rows.parquet"
    text_rows(SPARK_OFFSET_ROWS).to_parquet(rows)  # ingested text, as 01 writes it, for each engine to read
    outcome = {}
    for name, con in (("duckdb", engine.connect()), ("spark", spark)):
        kept, rejected, quality = cleaning.clean_transactions(
            con, con.read_parquet(str(rows)), SOURCE, CleaningConfig(), AS_OF, timezone
        )
        kept, rejected = kept.to_pandas(), rejected.to_pandas()
        times = dict(zip(kept["source_row"], kept["order_ts"]))
        outcome[name] = (times, dict(zip(rejected["source_row"], rejected["reject_reason"])), quality)
    times, reasons, quality = outcome["spark"]
    assert times == {row: pd.Timestamp(text) for row, text in expected.items() if text}
    assert reasons == {row: "after_as_of" for row, text in expected.items() if not text}
    assert outcome["duckdb"][:2] == (times, reasons)
    assert quality["rows_in"] == quality["rows_kept"] + quality["rows_rejected"] == len(SPARK_OFFSET_ROWS)


def test_a_parquet_sources_instants_and_wall_clock_times_give_the_same_rows_on_spark(
    spark, tmp_path: Path
) -> None:
    """A Parquet timestamp adjusted to UTC is an instant, converted to the dataset's time zone; one
    without a zone is already its wall-clock time. Both engines ingest the same text and clean to the
    same times."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from helpers.config import ColumnMap, PrivacyConfig, TransactionSource

    instants = pd.to_datetime(
        ["2010-12-01 09:00:00", "2010-07-01 14:00:00.25"], format="ISO8601"
    ).tz_localize("UTC")
    path = tmp_path / "orders.parquet"
    pq.write_table(
        pa.table({
            "c": ["1", "2"], "o": ["1", "2"], "a": [1.5, 2.5],
            "t": pa.array(instants, pa.timestamp("us", tz="UTC")),
            "w": pa.array(instants.tz_localize(None), pa.timestamp("us")),
        }),
        path,
    )  # fmt: skip
    outcome = {}
    for column in ("t", "w"):
        source = TransactionSource(
            format="parquet",
            path=str(path),
            columns=ColumnMap(customer_id="c", order_id="o", order_ts=column, amount="a"),
        )
        for name, con in (("duckdb", engine.connect()), ("spark", spark)):
            mapped, _ = ingest.ingest_transactions(con, source, PrivacyConfig())
            kept, rejected, _ = cleaning.clean_transactions(
                con, mapped, source, CleaningConfig(), AS_OF, "Asia/Kolkata"
            )
            assert rejected.count().execute() == 0
            ingested_ts = mapped.order_ts.execute().tolist()
            outcome[column, name] = (
                ingested_ts,
                kept.to_pandas().sort_values("source_row")["order_ts"].tolist(),
            )
    assert outcome["t", "spark"] == outcome["t", "duckdb"]
    assert outcome["t", "spark"][0] == ["2010-12-01 09:00:00+00", "2010-07-01 14:00:00.25+00"]
    assert outcome["t", "spark"][1] == [
        pd.Timestamp("2010-12-01 14:30"),
        pd.Timestamp("2010-07-01 19:30:00.25"),
    ]
    assert outcome["w", "spark"][1] == outcome["w", "duckdb"][1] == [
        pd.Timestamp("2010-12-01 09:00"), pd.Timestamp("2010-07-01 14:00:00.25")
    ]  # fmt: skip


FEEDBACK = (
    "at,cust,name,type,score,comment\n"
    "2024-02-01,C1,Ann (Lee),Survey,9,ann (lee) wrote: call 13812345678 or a@b.com\n"  # 1 kept
    "2024-02-02,C2,Bo,survey,11,id 11010519491231002X\n"  # 2 score outside 0-10
)
OTHER_SOURCES = {
    "customers": (
        "id,name,signup,sex\nC1,Ann Lee,2023-01-05,F\nC1,Ann Lee,2023-01-05,F\n NA ,x,2023-02-06,M\n"
        "C3,Cy,2024-07-01,M\n",
        CustomerSource,
        {
            "columns": {"customer_id": "id", "signup_ts": "signup", "gender": "sex"},
            "identifier_columns": ["name"],
        },
    ),
    "events": (
        EVENTS,
        EventSource,
        {
            "columns": {**EVENT_COLUMNS, "channel": "platform"},
            "values": {"event_type": {"pageview": "page_view"}},
        },
    ),
    "feedback": (
        FEEDBACK,
        FeedbackSource,
        {
            "columns": {
                "feedback_ts": "at",
                "customer_id": "cust",
                "kind": "type",
                "score": "score",
                "text": "comment",
            },
            "identifier_columns": ["name"],
        },
    ),
}


def same_frame(left: pd.DataFrame, right: pd.DataFrame) -> None:
    """Equal values, timestamps compared at one resolution (Spark's come back in ns, DuckDB's in us)."""
    left, right = left.copy(), right.copy()
    for frame in (left, right):
        for column in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[column]):
                frame[column] = frame[column].astype("datetime64[ns]")
    pd.testing.assert_frame_equal(left, right, check_dtype=False)


@pytest.mark.parametrize("kind", sorted(OTHER_SOURCES))
def test_the_other_sources_give_the_same_rows_on_spark(spark, kind: str, tmp_path: Path) -> None:
    """A customers, events and feedback source read, scrubbed, cleaned and stitched on Spark as on
    DuckDB; the feedback text scrubbed by Java's regexes as by DuckDB's (an identifier with regex
    metacharacters, a phone number after a blank kept, an id number)."""
    text, cfg_class, cfg = OTHER_SOURCES[kind]
    elsewhere = {"customer_id": ["C1", "C2", "C7"]}
    results = {}
    for name, con in (("duckdb", engine.connect()), ("spark", spark)):
        (tmp_path / name).mkdir()
        results[name] = ingest_and_clean(
            con, tmp_path / name, kind, text, cfg_class, elsewhere=ibis.memtable(elsewhere), **cfg
        )
    for duck, on_spark in zip(results["duckdb"][:3], results["spark"][:3]):
        same_frame(duck.drop(columns="source_file"), on_spark.drop(columns="source_file"))
    facts = [
        {k: v for k, v in f.items() if k != "source"} for f in (results["duckdb"][3], results["spark"][3])
    ]
    assert facts[0] == facts[1] and facts[1]["balanced"]
    if kind == "feedback":
        assert results["spark"][0]["text"].tolist() == [
            "[IDENTIFIER] wrote: call [PHONE] or [EMAIL]",
            "id [ID_NUMBER]",
        ]


def test_the_sessions_time_zone_stays_utc_whatever_spark_config_says(spark) -> None:
    """Products hold wall-clock times converted explicitly: a session time zone from the params would
    shift every timestamp Spark reads or writes, so it is set back to UTC."""
    from helpers.config import EngineConfig

    key = "spark.sql.session.timeZone"
    con = engine.connect(
        EngineConfig(
            backend="spark",
            spark_master="local[2]",
            spark_config={**SPARK_TEST_CONFIG, key: "Asia/Shanghai"},
        )
    )
    assert con._session.conf.get(key) == "UTC" == spark._session.conf.get(key)
