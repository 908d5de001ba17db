"""Whole-chain edge cases: a period that ends before the data (a clear stop at cleaning) and a period
where every customer bought exactly once (no lifetime-value model can be fitted; the report says so)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from helpers import cleaning, config, runner

from conftest import DATASET, make_project, products, report_folder


def test_require_orders_explains_an_empty_period() -> None:
    quality = {"rows_in": 5, "rows_kept": 0, "rejected_by_reason": {"after_as_of": 5}}
    with pytest.raises(
        cleaning.NoOrdersError,
        match=r"^period 1996-12: no order is left to analyse because all 5 "
        r"rows are dated after 1996-12-31; check period_end",
    ):
        cleaning.require_orders(quality, "1996-12", pd.Timestamp("1996-12-31").date())
    cleaning.require_orders({**quality, "rows_kept": 1}, "1996-12", pd.Timestamp("1996-12-31").date())
    broken = {"rows_in": 6, "rows_kept": 0, "rejected_by_reason": {"after_as_of": 5, "malformed_line": 1}}
    with pytest.raises(
        cleaning.NoOrdersError,
        match=r"5 of the 6 rows are dated after 1996-12-31 and the other 1 were rejected",
    ):
        cleaning.require_orders(broken, "1996-12", pd.Timestamp("1996-12-31").date())


def test_a_period_before_the_data_stops_at_cleaning_with_one_sentence(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project")
    config.new_period_file("1996-12", DATASET, root)
    done = subprocess.run(
        [sys.executable, "-m", "helpers", "run", "--period", "1996-12"],
        capture_output=True,
        text=True,
        env={**os.environ, "CA_PROJECT_ROOT": str(root)},
        timeout=600,
    )
    assert done.returncode == 1
    assert (
        "02_cleaning.ipynb failed in cell 8 (cleaning.require_orders(quality, period, params.as_of, "
        "params.period_start)): "
        "NoOrdersError: period 1996-12: no order is left to analyse because all 1,395 rows are dated after "
        "1996-12-31; check period_end in the period's params file and the source."
    ) in done.stdout
    assert not report_folder(root, "1996-12").exists()


def test_a_period_where_everyone_bought_once_still_gets_a_report(tmp_path: Path, monkeypatch) -> None:
    root = make_project(tmp_path / "project")
    raw = root / "data" / "raw" / DATASET / "cdnow_transactions.txt"
    lines = raw.read_text().splitlines()
    first_orders, seen = [lines[0]], set()
    for line in lines[1:]:
        customer = line.split()[0]
        if customer not in seen:
            seen.add(customer)
            first_orders.append(line)
    raw.write_text("\n".join(first_orders) + "\n")
    config.new_period_file("1997-03", DATASET, root)  # first orders run to March 1997
    monkeypatch.setenv("CA_PROJECT_ROOT", str(root))
    result = runner.run_period(DATASET, "1997-03", root=root, log=lambda _: None)
    assert result.ok, result.message
    folder = products(root, "1997-03")
    model = json.loads((folder / "07_model.json").read_text())
    assert model["status"] != "fitted" and "repeat" in model["message"]
    clv = pd.read_parquet(folder / "07_clv.parquet")
    assert len(clv) == 400 and clv["clv"].isna().all()
    page = (report_folder(root, "1997-03") / "index.html").read_text()
    assert "Lifetime value could not be estimated this period" in page
    assert "Traceback" not in page


def test_a_source_problem_explains_an_empty_period_before_the_dates_do() -> None:
    """The newcomer's case: the amount mapped to an empty column rejects every row of the period but one
    dated later; the stop names invalid_amount and the setting, not the dates (02 checks the source's
    problems first)."""
    quality = {
        "rows_in": 99,
        "rows_kept": 0,
        "rejected_by_reason": {"after_as_of": 1, "invalid_amount": 98},
        "reason_descriptions": {"invalid_amount": "amount missing or not a number"},
        "examples": {"invalid_amount": {"value": "", "source_row": 2}},
    }
    with pytest.raises(cleaning.TooManyRejectedError, match=r"rejected as invalid_amount .*columns.amount"):
        cleaning.require_usable_rows(quality, 0.5)
