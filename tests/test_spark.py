"""The same Ibis expressions on a local Spark session and on DuckDB give the same answers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from test_bad_inputs import CASES, build_project, case_param, check_case

from helpers import cleaning, engine, ingest, io
from helpers.config import load_params

from conftest import make_project


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
