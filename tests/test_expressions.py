"""Computed columns: the expression grammar (parsed, never evaluated), its compilation to the engine, and
an amount computed from quantity and unit price through ingest and cleaning, with hand-computed sums."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import ibis
import pytest

from helpers import cleaning, engine
from helpers.config import CleaningConfig, ParamsError, TransactionSource, load_params
from helpers.expressions import ExpressionError, compile_to, parse
from helpers.ingest import IngestError, ingest_transactions

from conftest import DATASET, params_project


@pytest.mark.parametrize(
    ("text", "columns"),
    [
        ("Quantity * UnitPrice", ("Quantity", "UnitPrice")),
        ("(net + tax) * 1.2 - discount / 100", ("net", "tax", "discount")),
        ("-refund", ("refund",)),
        ("`Unit Price` * `Qty (units)`", ("Unit Price", "Qty (units)")),
    ],
)
def test_the_grammar_reads_column_names_numbers_and_arithmetic(text: str, columns: tuple[str, ...]) -> None:
    assert parse(text).columns == columns


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("__import__('os').system('ls')", "Call is not allowed"),
        ("Quantity ** 2", "only + - * / are allowed, not Pow"),
        ("Quantity *", "it is not arithmetic over column names and numbers"),
        ("'3' * Price", "'3' is not a number; write column names without quotes"),
        ("2 * 3", "it names no source column"),
        ("a.b * 2", "Attribute is not allowed"),
        ("`Unit Price * 2", "a backtick is not closed"),
        ("not Price", "only a leading minus or plus is allowed"),
    ],
)
def test_anything_else_is_refused_with_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(message)):
        parse(text)


def test_the_expression_runs_in_the_engine() -> None:
    table = ibis.memtable({"q": [2.0, 3.0, None], "p": [1.5, 0.1, 4.0]})
    result = table.select(v=compile_to(parse("-(q * p) + 10 / 4"), {"q": table.q, "p": table.p})).to_pandas()
    assert result["v"].tolist()[:2] == pytest.approx([-0.5, 2.2]) and result["v"].isna().tolist()[2]


RETAIL = (
    "InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID\n"
    "536365,85123A,6,12/1/2010 8:26,2.55,17850.0\n"
    "536365,71053,6,12/1/2010 8:26,3.39,17850.0\n"
    "536366,22633,6,12/1/2010 8:28,1.85,17850.0\n"
    "C536379,D,-1,12/1/2010 9:41,27.50,14527.0\n"
    "536380,22961,x,12/1/2010 9:45,1.45,13047.0\n"
)


def test_an_amount_computed_from_quantity_and_unit_price_goes_through_cleaning(tmp_path: Path) -> None:
    path = tmp_path / "retail.csv"
    path.write_text(RETAIL)
    source = TransactionSource(
        format="csv",
        path=str(path),
        columns={
            "customer_id": "CustomerID",
            "order_id": "InvoiceNo",
            "order_ts": "InvoiceDate",
            "amount": {"expression": "Quantity * UnitPrice"},
            "quantity": "Quantity",
        },  # fmt: skip
        timestamp_formats=["%m/%d/%Y %H:%M"],
    )
    con = engine.connect()
    table, facts = ingest_transactions(con, source, load_params(root=None).privacy, tmp_path)
    assert facts["column_mapping"]["amount"] == "= Quantity * UnitPrice"
    assert facts["columns_not_copied"] == ["StockCode"]
    kept, rejected, quality = cleaning.clean_transactions(
        con, table, source, CleaningConfig(cancellation_prefix="C"), dt.datetime(2011, 1, 1)
    )
    kept, rejected = kept.to_pandas(), rejected.to_pandas()
    # 6 x 2.55 = 15.30, 6 x 3.39 = 20.34, 6 x 1.85 = 11.10; the cancellation -1 x 27.50 is a return
    assert kept["amount"].tolist() == pytest.approx([15.30, 20.34, 11.10, -27.50])
    assert kept["customer_id"].tolist() == ["17850", "17850", "17850", "14527"]  # "17850.0" normalised
    assert quality["orders_kept"] == 3 and quality["returns_kept"] == 1
    assert rejected["reject_reason"].tolist() == ["invalid_amount"]  # a quantity of "x" is no number
    assert quality["revenue_kept"] == pytest.approx(15.30 + 20.34 + 11.10 - 27.50)


def test_a_bad_expression_or_a_missing_column_is_one_sentence(tmp_path: Path) -> None:
    root = params_project(
        tmp_path, 'sources:\n  transactions:\n    columns:\n      amount: {expression: "Qty ^ 2"}\n'
    )
    with pytest.raises(ParamsError) as caught:
        load_params(DATASET, "1998-06", root)
    assert str(caught.value) == (
        f"{root}/params/cdnow/1998-06.yaml: setting 'sources.transactions.columns.amount.expression' is "
        "invalid (got 'Qty ^ 2'): the expression 'Qty ^ 2' cannot be used: only + - * / are allowed, not "
        "BitXor."
    )
    path = tmp_path / "retail.csv"
    path.write_text(RETAIL)
    source = TransactionSource(
        format="csv", path=str(path),
        columns={
            "customer_id": "CustomerID", "order_ts": "InvoiceDate",
            "amount": {"expression": "Qty * UnitPrice"},
        },
    )  # fmt: skip
    with pytest.raises(
        IngestError,
        match=r"column 'Qty' \(in the expression for amount\) is not in the source; "
        r"columns found: InvoiceNo, StockCode, Quantity",
    ):
        ingest_transactions(engine.connect(), source, load_params(root=None).privacy, tmp_path)
