"""Ingest from a real PostgreSQL server through Ibis (``format: sql``), compared with the CSV path on
the same data, and the ways a database source goes wrong, each one clear sentence without the password.

How the two paths differ by definition (so they are compared on sorted content):
- ``source_row``: the CSV path numbers rows in file order; a database table has no row order, so the
  SQL path numbers rows after sorting them by every column (stable across reruns and servers).
- ``order_id``: CDNOW has no order id, so it is the row number as text on both paths (see above).
- ``source_file``: the file's path versus ``<url_env>:<table or query>``.
- The text as received: the database holds a DATE and a NUMERIC(10,2), so ``order_ts`` reads
  ``1997-01-01`` instead of ``19970101``; after cleaning both are the same timestamp.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from helpers import cleaning, engine
from helpers.config import ColumnMap, PrivacyConfig, TransactionSource, load_params
from helpers.ingest import IngestError, ingest_transactions

from conftest import CDNOW, REPO, cdnow_head

pytest.register_assert_rewrite("pg_server")
pytest_plugins = ["pg_server"]  # the session's PostgreSQL server (fixture ``postgres``)

from pg_server import READER_PASSWORD, PgServer, free_port, load_cdnow  # noqa: E402

URL_ENV = "CA_TEST_PG_URL"
PG_COLUMNS = ColumnMap(
    customer_id="customer_id", order_ts="order_date", amount="dollar_value", quantity="number_of_cds"
)
TYPED = ["customer_id", "order_ts", "amount", "quantity", "is_return", "is_extreme_amount"]


def pg_source(**options) -> TransactionSource:
    return TransactionSource(format="sql", url_env=URL_ENV, columns=PG_COLUMNS, **options)


def ingest_and_clean(source: TransactionSource, as_of: dt.datetime, root: Path = REPO):
    params = load_params("cdnow", "1998-06", REPO)
    con = engine.connect()
    table, facts = ingest_transactions(con, source, PrivacyConfig(), root)
    kept, rejected, quality = cleaning.clean_transactions(con, table, source, params.cleaning, as_of)
    return facts, kept.to_pandas(), rejected.to_pandas(), quality


def by_content(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return frame[columns].sort_values(columns, kind="mergesort").reset_index(drop=True)


@pytest.fixture(scope="module")
def cdnow_in_postgres(postgres: PgServer) -> PgServer:
    assert load_cdnow(postgres, CDNOW.read_text()) == 69_659
    return postgres


@pytest.fixture
def url(cdnow_in_postgres: PgServer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(URL_ENV, cdnow_in_postgres.url())
    return cdnow_in_postgres.url()


def test_postgres_table_gives_the_same_clean_data_as_the_csv_file(url: str) -> None:
    params = load_params("cdnow", "1998-06", REPO)
    as_of = params.as_of_exclusive
    csv_facts, csv_kept, csv_rejected, csv_quality = ingest_and_clean(params.sources.transactions, as_of)
    pg_facts, pg_kept, pg_rejected, pg_quality = ingest_and_clean(pg_source(table="orders"), as_of)

    assert pg_facts["source"] == f"{URL_ENV}:orders" and pg_facts["format"] == "sql"
    assert pg_facts["rows_read"] == csv_facts["rows_read"] == 69_659
    assert (pg_quality["rows_in"], pg_quality["rows_kept"], pg_quality["rows_rejected"]) == (
        69_659,
        69_579,
        80,
    )
    assert pg_quality["rejected_by_reason"] == csv_quality["rejected_by_reason"]
    for key in (
        "customers_kept",
        "orders_kept",
        "returns_kept",
        "extreme_amount_threshold",
        "extreme_amount_flagged",
        "first_order_ts",
        "last_order_ts",
    ):
        assert pg_quality[key] == csv_quality[key], key
    assert pg_quality["revenue_kept"] == pytest.approx(csv_quality["revenue_kept"], abs=1e-6)
    assert pg_quality["revenue_kept"] == pytest.approx(2_500_315.63, abs=0.01)
    # Same rows with the same typed values (sorted: source_row and the generated order_id differ by
    # definition).
    pd.testing.assert_frame_equal(by_content(pg_kept, TYPED), by_content(csv_kept, TYPED))
    assert pg_kept["customer_id"].str.len().eq(5).all()  # text ids keep their leading zeros
    assert sorted(pg_kept["source_row"].tolist() + pg_rejected["source_row"].tolist()) == list(
        range(1, 69_660)
    )
    # The rejected rows: the same 80 zero-dollar orders of the same customers with the same amount text.
    keys = ["reject_reason", "customer_id", "amount", "quantity"]
    pd.testing.assert_frame_equal(by_content(pg_rejected, keys), by_content(csv_rejected, keys))
    assert set(pg_rejected["amount"]) == {"0.00"}


def test_postgres_query_reads_what_it_selects(url: str, tmp_path: Path) -> None:
    """A query instead of a table; compared with a CSV extract of the same 100 customers."""
    head = cdnow_head(100)
    (tmp_path / "head.txt").write_text(head)
    csv = TransactionSource(
        format="csv",
        path=str(tmp_path / "head.txt"),
        delimiter="whitespace",
        columns=ColumnMap(
            customer_id="customer_id", order_ts="date", amount="dollar_value", quantity="number_of_cds"
        ),
        timestamp_formats=["%Y%m%d"],
    )
    query = "SELECT * FROM orders WHERE customer_id <= '00100'"
    as_of = dt.datetime(1998, 7, 1)
    _, csv_kept, _, csv_quality = ingest_and_clean(csv, as_of, tmp_path)
    facts, pg_kept, _, pg_quality = ingest_and_clean(pg_source(query=query), as_of)
    assert facts["source"] == f"{URL_ENV}:query"
    assert facts["rows_read"] == len(head.splitlines()) - 1 == pg_quality["rows_in"] == csv_quality["rows_in"]
    assert pg_kept["customer_id"].nunique() == 100
    pd.testing.assert_frame_equal(by_content(pg_kept, TYPED), by_content(csv_kept, TYPED))


def read_error(source: TransactionSource) -> str:
    with pytest.raises(IngestError) as caught:
        ingest_transactions(engine.connect(), source, PrivacyConfig(), REPO)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_wrong_password_is_one_sentence_without_the_password(
    cdnow_in_postgres: PgServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "Wrong-pw-93c1e0"
    monkeypatch.setenv(URL_ENV, cdnow_in_postgres.url(password=wrong))
    message = read_error(pg_source(table="orders"))
    assert message.startswith(f"{URL_ENV}:orders: cannot connect to the database in {URL_ENV} (")
    assert 'password authentication failed for user "ca_reader"' in message
    assert message.endswith(
        "); check the host, port, user and password in it and that the server is running."
    )
    assert wrong not in message and READER_PASSWORD not in message


@pytest.mark.parametrize("where", ["port", "host"])
def test_wrong_host_or_port_is_one_sentence_without_the_password(
    cdnow_in_postgres: PgServer, where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = (
        cdnow_in_postgres.url(port=free_port())
        if where == "port"
        else cdnow_in_postgres.url(host="db.invalid")
    )
    monkeypatch.setenv(URL_ENV, url)
    message = read_error(pg_source(table="orders"))
    assert message.startswith(f"{URL_ENV}:orders: cannot connect to the database in {URL_ENV} (")
    expected = "Connection refused" if where == "port" else "failed to resolve host 'db.invalid'"
    assert expected in message
    assert message.endswith(
        "); check the host, port, user and password in it and that the server is running."
    )
    assert READER_PASSWORD not in message


def test_missing_variable_missing_table_bad_query_and_no_rows(
    cdnow_in_postgres: PgServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(URL_ENV, raising=False)
    assert read_error(pg_source(table="orders")) == (
        f"{URL_ENV}:orders: environment variable {URL_ENV} is not set; export it with the database URL "
        "(e.g. postgres://user:password@host:5432/db)."
    )
    monkeypatch.setenv(URL_ENV, cdnow_in_postgres.url())
    assert read_error(pg_source(table="sales")) == (
        f"{URL_ENV}:sales: cannot read table 'sales' from the database (it does not exist); "
        "fix 'sources.transactions.table' in params."
    )
    assert read_error(pg_source(query="SELECT * FROM orders WHERE nope > 1")) == (
        f'{URL_ENV}:query: cannot read the query from the database (column "nope" does not exist); '
        "fix 'sources.transactions.query' in params."
    )
    assert read_error(pg_source(query="SELECT * FROM orders WHERE customer_id = 'none'")) == (
        f"{URL_ENV}:query: the table or query returned no rows; check sources.transactions.table or query."
    )
