"""Ingest: every source format maps to the same canonical text table with provenance, and each way a
source can be unreadable is one clear sentence."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from helpers.config import ColumnMap, CustomerSource, PrivacyConfig, TransactionSource
from helpers.ingest import IngestError, hmac_ids, ingest_transactions
from helpers.sources import ingest_source

COLUMNS = ColumnMap(customer_id="Customer", order_ts="Date", amount="Total", order_id="Invoice")
EXPECTED = pd.DataFrame(
    {
        "customer_id": ["17850", "13047", "17850"],
        "order_id": ["536365", "536366", "C536379"],
        "order_ts": ["2010-12-01 08:26:00", "2010-12-01 08:28:00", "2010-12-01 09:41:00"],
        "amount": ["15.30", "22.00", "-27.50"],
    }
)
CSV = (
    "Invoice,Customer,Date,Total,Name\n536365,17850,2010-12-01 08:26:00,15.30,Ann Smith\n"
    "536366,13047,2010-12-01 08:28:00,22.00,Bob Jones\nC536379,17850,2010-12-01 09:41:00,-27.50,Ann Smith\n"
)


def source(path: Path, fmt: str = "csv", **options) -> TransactionSource:
    return TransactionSource(format=fmt, path=str(path), columns=COLUMNS, **options)


def ingest(con, src: TransactionSource, privacy: PrivacyConfig | None = None) -> tuple[pd.DataFrame, dict]:
    table, facts = ingest_transactions(con, src, privacy or PrivacyConfig(), root=Path(src.path).parent)
    return table.to_pandas(), facts


def assert_canonical(frame: pd.DataFrame, label: str) -> None:
    assert list(frame.columns) == [
        "customer_id",
        "order_id",
        "order_ts",
        "amount",
        "source_file",
        "source_row",
    ]
    pd.testing.assert_frame_equal(frame[EXPECTED.columns].astype(object), EXPECTED.astype(object))
    assert frame["source_row"].tolist() == [1, 2, 3]
    assert set(frame["source_file"]) == {label}


def test_csv_maps_columns_adds_provenance_and_never_copies_other_columns(con, write) -> None:
    path = write("orders.csv", CSV)
    frame, facts = ingest(con, source(path, identifier_columns=["Name"]))
    assert_canonical(frame, path.name)
    assert "Ann Smith" not in frame.to_string()
    assert facts["rows_read"] == 3
    assert facts["columns_not_copied"] == ["Name"]
    assert facts["identifier_columns_dropped"] == ["Name"]


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_other_delimiters_are_detected_or_configured(con, write, delimiter: str) -> None:
    path = write("orders.csv", CSV.replace(",", delimiter))
    assert_canonical(ingest(con, source(path))[0], path.name)  # auto-detected
    assert_canonical(ingest(con, source(path, delimiter=delimiter))[0], path.name)


def test_utf8_with_bom(con, write) -> None:
    path = write("orders.csv", b"\xef\xbb\xbf" + CSV.encode("utf-8"))
    assert_canonical(ingest(con, source(path))[0], path.name)


def test_latin1_needs_the_encoding_setting(con, write) -> None:
    path = write("orders.csv", CSV.replace("Ann Smith", "Zoë Müller"), encoding="latin-1")
    with pytest.raises(IngestError) as caught:
        ingest(con, source(path))
    assert str(caught.value) == (
        f"{path.name}: the file is not valid utf-8 text; set the source's 'encoding' "
        "(utf-8, latin-1 or utf-16) to the file's encoding."
    )
    assert_canonical(ingest(con, source(path, encoding="latin-1"))[0], path.name)


def test_whitespace_separated_columns(con, write) -> None:
    text = (
        "  Invoice  Customer   Date        Total\n 536365  17850  2010-12-01 15.30\n"
        " 536366 13047 2010-12-01  22.00\n\n C536379 17850 2010-12-01 -27.50\n"
    )
    path = write("orders.txt", text)
    frame, _ = ingest(con, source(path, delimiter="whitespace"))
    assert frame["customer_id"].tolist() == ["17850", "13047", "17850"]
    assert frame["amount"].tolist() == ["15.30", "22.00", "-27.50"]
    assert frame["source_row"].tolist() == [1, 2, 3]


def test_parquet_keeps_typed_timestamps_and_amounts_and_the_rest_becomes_text(con, tmp_path: Path) -> None:
    typed = pd.DataFrame(
        {
            "Invoice": ["536365", "536366", "C536379"],
            "Customer": [17850, 13047, 17850],
            "Date": pd.to_datetime(EXPECTED["order_ts"]),
            "Total": [15.30, 22.0, -27.5],
        }
    )
    path = tmp_path / "orders.parquet"
    typed.to_parquet(path)
    frame, _ = ingest(con, source(path, "parquet"))
    assert frame["customer_id"].tolist() == ["17850", "13047", "17850"]  # ids are text whatever their type
    assert (
        frame["order_ts"].tolist() == pd.to_datetime(EXPECTED["order_ts"]).tolist()
    )  # typed: kept as they are
    assert frame["amount"].tolist() == [15.3, 22.0, -27.5]
    assert frame["source_row"].tolist() == [1, 2, 3]


def test_which_typed_columns_keep_their_type() -> None:
    from ibis import dtype

    from helpers.ingest import keeps_native_type

    kept = [
        ("timestamp", "timestamp"),
        ("timestamp", "timestamp(6)"),
        ("timestamp", "date"),
        ("number", "float64"),
        ("number", "decimal(18, 2)"),
        ("number", "int64"),
        ("number", "int32"),
    ]
    text = [
        ("timestamp", "timestamp('UTC')"),
        ("timestamp", "timestamp(9)"),
        ("timestamp", "int64"),
        ("number", "float32"),
        ("number", "string"),
        ("timestamp", "string"),
    ]
    assert all(keeps_native_type(role, dtype(t)) for role, t in kept)
    assert not any(keeps_native_type(role, dtype(t)) for role, t in text)  # their text is what 02 parses


def test_excel_data_on_the_second_sheet(con, tmp_path: Path) -> None:
    path = tmp_path / "orders.xlsx"
    with pd.ExcelWriter(path) as book:
        pd.DataFrame({"note": ["exported 2010-12-02"]}).to_excel(book, sheet_name="About", index=False)
        pd.read_csv(pd.io.common.StringIO(CSV), dtype=str).to_excel(book, sheet_name="Orders", index=False)
    with pytest.raises(
        IngestError,
        match=r"column 'Customer' \(mapped to customer_id\) is not in the source; "
        r"columns found: note\. Fix 'sources\.transactions\.columns\.customer_id'",
    ):
        ingest(con, source(path, "excel"))
    assert_canonical(ingest(con, source(path, "excel", sheet="Orders"))[0], path.name)
    with pytest.raises(
        IngestError, match=r"has no sheet 'Sales'; set 'sheet' to one of \['About', 'Orders'\]"
    ):
        ingest(con, source(path, "excel", sheet="Sales"))


def test_duckdb_file_table_and_query(con, tmp_path: Path) -> None:
    (tmp_path / "o.csv").write_text(CSV)
    path = tmp_path / "shop.duckdb"
    with duckdb.connect(str(path)) as db:
        db.execute(
            "CREATE TABLE orders AS SELECT * FROM read_csv(?, all_varchar = true)", [str(tmp_path / "o.csv")]
        )
    frame, _ = ingest(con, source(path, "duckdb", table="orders"))
    assert sorted(frame["order_id"]) == sorted(EXPECTED["order_id"])
    assert sorted(frame["source_row"]) == [1, 2, 3]


def test_duckdb_file_query(tmp_path: Path) -> None:
    from helpers.engine import connect

    (tmp_path / "o.csv").write_text(CSV)
    path = tmp_path / "shop.duckdb"
    with duckdb.connect(str(path)) as db:
        db.execute(
            "CREATE TABLE orders AS SELECT * FROM read_csv(?, all_varchar = true)", [str(tmp_path / "o.csv")]
        )
    query = "SELECT * FROM transactions_db.orders WHERE Customer = '17850'"
    frame, _ = ingest(connect(), source(path, "duckdb", query=query))
    assert sorted(frame["order_id"]) == ["536365", "C536379"]


@pytest.mark.parametrize(
    ("name", "content", "fmt", "expected"),
    [
        (
            "absent.csv",
            None,
            "csv",
            "absent.csv: file not found; put the file there or fix 'sources.transactions.path' in params.",
        ),
        ("empty.csv", "", "csv", "empty.csv: the file is empty (0 bytes); export the data again."),
        (
            "header.csv",
            "Invoice,Customer,Date,Total\n",
            "csv",
            "header.csv: the source has a header but no data rows; export the data again.",
        ),
        (
            "empty.parquet",
            "",
            "parquet",
            "empty.parquet: the file is empty (0 bytes); export the data again.",
        ),
        ("broken.parquet", "not parquet at all", "parquet", "broken.parquet: cannot be read ("),
        (
            "wrong.csv",
            "Invoice,Client,Date,Total\n1,2,2010-12-01,3\n",
            "csv",
            "wrong.csv: column 'Customer' (mapped to customer_id) is not in the source; columns found: "
            "Invoice, Client, "
            "Date, Total. Fix 'sources.transactions.columns.customer_id' in params.",
        ),
    ],
)
def test_unreadable_sources_give_one_sentence(
    con, write, tmp_path: Path, name, content, fmt, expected
) -> None:
    path = write(name, content) if content is not None else tmp_path / name
    with pytest.raises(IngestError) as caught:
        ingest(con, source(path, fmt))
    message = str(caught.value)
    assert message.startswith(name) and expected in message
    assert "\n" not in message


def test_rows_of_mixed_width_do_not_vanish(con, write) -> None:
    """A truncated last line keeps its row and line number but none of its text (a value cut short,
    such as an amount of 15.3 for 15.30, would otherwise pass as true): cleaning quarantines it."""
    path = write("cut.csv", CSV + "536380,12583,2010-12-0")
    frame, facts = ingest(con, source(path))
    assert len(frame) == 4
    assert frame.iloc[3][["customer_id", "order_ts", "amount"]].isna().all()
    assert frame.iloc[3]["malformed_line"] == 5 and frame["malformed_line"].iloc[:3].isna().all()
    assert (facts["malformed_lines"], facts["malformed_line_numbers"]) == (1, [5])


def test_order_id_defaults_to_the_row_number(con, write) -> None:
    path = write("orders.csv", CSV)
    src = TransactionSource(
        format="csv",
        path=str(path),
        columns=ColumnMap(customer_id="Customer", order_ts="Date", amount="Total"),
    )
    frame, _ = ingest(con, src)
    assert frame["order_id"].tolist() == ["1", "2", "3"]


def test_pseudonymised_ids_are_keyed_hashes(con, write, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write("orders.csv", CSV)
    privacy = PrivacyConfig(pseudonymise_customer_id=True, key_env="TEST_PSEUDONYM_KEY")
    monkeypatch.delenv("TEST_PSEUDONYM_KEY", raising=False)
    with pytest.raises(
        IngestError, match="environment variable TEST_PSEUDONYM_KEY is not set; export a secret"
    ):
        ingest(con, source(path), privacy)
    monkeypatch.setenv("TEST_PSEUDONYM_KEY", "a-test-key-of-32-characters-long")
    frame, facts = ingest(con, source(path), privacy)
    # HMAC-SHA256("a-test-key-of-32-characters-long", "17850"), first 32 hex digits (computed with hmac).
    expected = hmac_ids(pd.Series(["17850", "13047", "17850"]), b"a-test-key-of-32-characters-long").tolist()
    assert frame["customer_id"].tolist() == expected
    assert expected[0] == expected[2] != expected[1] and len(expected[0]) == 32
    assert "17850" not in frame.to_string()
    assert facts["customer_id_pseudonymised"] is True


def test_hmac_matches_the_rfc_4231_vector() -> None:
    # RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"
    digest = hmac_ids(pd.Series(["what do ya want for nothing?"]), b"Jefe").iloc[0]
    assert digest == "5bdcc146bf60754e6a042426089575c7"


def test_customer_attributes_never_carry_identifiers(con, write) -> None:
    path = write(
        "customers.csv",
        "id,email,country,segment_code\n17850,ann@example.com,UK,A\n13047,bob@example.com,FR,B\n",
    )
    src = CustomerSource(
        format="csv",
        path=str(path),
        columns={"customer_id": "id"},
        attributes={"country": "country", "segment_code": "segment_code"},
        identifier_columns=["email"],
    )
    table, facts = ingest_source(con, "customers", src, PrivacyConfig(), root=path.parent)
    frame = table.to_pandas()
    assert frame[["customer_id", "country", "segment_code"]].values.tolist() == [
        ["17850", "UK", "A"],
        ["13047", "FR", "B"],
    ]
    assert "example.com" not in frame.to_string()
    assert facts["identifier_columns_dropped"] == ["email"]
    bad = src.model_copy(update={"attributes": {"email_address": "email"}})
    with pytest.raises(
        IngestError,
        match="sources.customers.attributes.email_address: 'email' looks like a direct identifier",
    ):
        ingest_source(con, "customers", bad, PrivacyConfig(), root=path.parent)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_large_source_is_written_in_file_order_without_a_sort(con, tmp_path: Path, fmt: str) -> None:
    """300,000 rows read by several threads (Parquet in 30 row groups): the product keeps the file's
    order, row by row, though ingest does not sort (the connection preserves insertion order)."""
    import pyarrow.parquet as pq

    from helpers import io

    rows = 300_000
    frame = pd.DataFrame(
        {
            "Invoice": [f"o{i}" for i in range(rows)],
            "Customer": [str(i % 977) for i in range(rows)],
            "Date": "2010-12-01 08:26:00",
            "Total": [f"{i % 50}.25" for i in range(rows)],
        }
    )
    path = tmp_path / f"orders.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False, row_group_size=10_000)
    table, facts = ingest_transactions(con, source(path, fmt), PrivacyConfig(), root=tmp_path)
    written = pq.read_table(io.write_table(table, tmp_path / "01_transactions.parquet")).to_pandas()
    assert facts["rows_read"] == rows
    assert written["source_row"].tolist() == list(range(1, rows + 1))
    assert written["order_id"].tolist() == frame["Invoice"].tolist()


def test_the_malformed_lines_are_named_in_one_sentence() -> None:
    from helpers.ingest import malformed_sentence

    assert (
        malformed_sentence({"malformed_lines": 0}) == "Every line could be split into the source's columns."
    )
    assert malformed_sentence({"malformed_lines": 2, "malformed_line_numbers": [3, 5]}) == (
        "2 lines could not be split into the source's columns (line 3, 5): kept as rows without text, "
        "rejected by cleaning as malformed."
    )
