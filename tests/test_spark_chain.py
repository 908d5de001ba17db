"""The whole chain on Spark: the tiny fixture period built by the runner with ``engine.backend:
spark`` (a local[2] session in one kernel: sources read by Spark, cleaning and per-customer work in
Spark, products written by Spark) publishes the same products as the DuckDB build of the same period.

Equal means the same files, the same columns with the same types, and the same values exactly:
money is added as decimals on both engines (helpers.engine.exact_sum), so even the sums and
everything fitted from them agree to the last bit.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from helpers import runner

from conftest import DATASET, make_project, products, restricted_folder, run_on_spark

PERIOD = "1998-05"  # built first in built_tiny too, so neither build has an earlier period to compare with


@pytest.fixture(scope="module")
def built_on_spark(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_project(tmp_path_factory.mktemp("spark_chain") / "project")
    run_on_spark(root)
    os.environ["CA_PROJECT_ROOT"] = str(root)
    lines: list[str] = []
    try:
        result = runner.run_period(DATASET, PERIOD, root=root, log=lines.append)
    finally:
        del os.environ["CA_PROJECT_ROOT"]
    assert result.ok, result.message
    assert {s.lane for s in result.stages} == {"lane-1"}  # one kernel: one Spark driver
    return root


def parquet_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix == ".parquet")


def test_spark_publishes_the_products_duckdb_publishes(built_tiny: Path, built_on_spark: Path) -> None:
    duck, spark = products(built_tiny, PERIOD), products(built_on_spark, PERIOD)
    assert sorted(p.name for p in duck.iterdir()) == sorted(p.name for p in spark.iterdir())
    assert len(parquet_files(duck)) >= 11
    for name in parquet_files(duck):
        expected, actual = pq.read_table(duck / name), pq.read_table(spark / name)
        assert [(f.name, f.type) for f in actual.schema] == [(f.name, f.type) for f in expected.schema], name
        # a period built without a compared one has no earlier action lists to measure
        empty_allowed = name == "09_action_effects.parquet"
        assert actual.num_rows == expected.num_rows and (actual.num_rows > 0 or empty_allowed), name
        assert actual.to_pylist() == expected.to_pylist(), name  # every value, exactly, in the same order
    for name in sorted(p.name for p in duck.iterdir() if p.suffix == ".json"):
        assert json.loads((spark / name).read_text()) == json.loads((duck / name).read_text()), name
    quality = json.loads((spark / "02_quality.json").read_text())
    assert quality["rows_in"] == quality["rows_kept"] + quality["rows_rejected"] > 1000
    assert quality["revenue_kept"] == json.loads((duck / "02_quality.json").read_text())["revenue_kept"]


def test_spark_exports_the_lists_duckdb_exports(built_tiny: Path, built_on_spark: Path) -> None:
    duck = restricted_folder(built_tiny, PERIOD) / "exports"
    spark = restricted_folder(built_on_spark, PERIOD) / "exports"
    names = sorted(p.name for p in duck.glob("*.csv"))
    assert names == sorted(p.name for p in spark.glob("*.csv")) and len(names) > 5
    for name in names:
        assert (spark / name).read_bytes() == (duck / name).read_bytes(), name
