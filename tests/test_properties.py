"""Properties of ingest and cleaning over generated transaction tables whose text columns mix valid
and invalid values (missing and float-formatted ids, dates in several formats and garbage, amounts
with currency symbols, separators, zeros, negatives and junk), under generated cleaning settings:

- rows in = kept + rejected, and the rejected rows by reason add up to the rejected count, always;
- every source row appears exactly once across the kept and the rejected table;
- the first rule wins: a row without a usable customer id is rejected as missing_customer_id;
- a rerun on the same input writes byte-identical Parquet products (helpers.io.write_table);
- money added by helpers.engine.exact_sum is the exact decimal total, whatever the row order and threads.

DuckDB's Parquet output is byte-identical across runs and connections for the same ordered table
(checked here on generated tables; by hand also on all of CDNOW with 1 thread versus all cores).
Whole runs: tests/test_faults.py (01-02 from PostgreSQL) and tests/test_privacy.py (stages 03+).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from pathlib import Path

import ibis
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import cleaning, engine, io, schema
from helpers.config import CleaningConfig, ColumnMap, EngineConfig, PrivacyConfig, TransactionSource
from helpers.ingest import ingest_transactions

from conftest import ingested

AS_OF = dt.datetime(2011, 1, 1)
SOURCE = TransactionSource(
    format="csv",
    path="orders.csv",
    delimiter=",",
    columns=ColumnMap(customer_id="Customer", order_ts="Date", amount="Total", order_id="Invoice"),
    timestamp_formats=["%m/%d/%Y %H:%M", "%m/%d/%y %H:%M"],
)
# Each example runs the real helpers (several engine queries, about 0.3 s): few examples, fixed seed
# (the same examples on every machine), no deadline.
PROFILE = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CSV_PROFILE = settings(PROFILE, max_examples=6)

junk = st.text(alphabet=st.sampled_from(list("aZ09 .,-/:$€;\"'\t\n")), max_size=12)
customer_ids = st.one_of(
    st.sampled_from(
        ["17850", "13047", "12583", "17850.0", " 13047 ", "00042"]
    ),  # valid, some padded or floated
    st.sampled_from(["", "NA", "n/a", "null", "None", "-", "nan", "  "]),  # missing
    st.none(),
    junk,
)
timestamps = st.one_of(
    st.sampled_from(
        [
            "12/01/2010 08:26",
            "12/06/2010 10:08",
            "2/20/10 11:39",
            "2010-12-05 09:00:00",
            "12/31/2010 23:59",
            "01/01/2011 00:00",
            "06/30/2031 12:00",
            "13/45/2010 10:00",
            "yesterday",
        ]
    ),
    st.none(),
    junk,
)
amounts = st.one_of(
    st.decimals(min_value=-500, max_value=5000, places=2, allow_nan=False).map(str),
    st.sampled_from(
        ["0", "0.00", "-0.00", "$1,234.50", "£7", "1 234.50", "1,2", "12abc", "1.234,50", "€3,000"]
    ),
    st.none(),
    junk,
)
order_ids = st.one_of(st.sampled_from(["536365", "536366", "C536379", "C1", "A1"]), st.none(), junk)
rows = st.lists(st.tuples(customer_ids, order_ids, timestamps, amounts), min_size=1, max_size=40)
configs = st.builds(
    CleaningConfig,
    history_start=st.sampled_from([None, dt.date(2010, 12, 2)]),
    returns=st.sampled_from(["net", "quarantine"]),
    cancellation_prefix=st.sampled_from([None, "C"]),
    zero_amount=st.sampled_from(["reject", "keep"]),
    duplicates=st.sampled_from(["reject", "keep"]),
    extreme_amount_quantile=st.sampled_from([0.9, 0.999]),
    extreme_amount_action=st.sampled_from(["flag", "reject"]),
)


def mapped(data: list[tuple]) -> ibis.Table:
    return ingested(data, "generated")


def is_missing_id(value: str | None) -> bool:
    return value is None or value.strip().lower() in schema.MISSING_ID_TOKENS


def assert_every_row_accounted(n: int, kept: pd.DataFrame, rejected: pd.DataFrame, quality: dict) -> None:
    assert quality["rows_in"] == n
    assert quality["rows_kept"] == len(kept) and quality["rows_rejected"] == len(rejected)
    assert quality["rows_kept"] + quality["rows_rejected"] == n and quality["balanced"]
    assert sum(quality["rejected_by_reason"].values()) == quality["rows_rejected"]
    assert quality["rejected_by_reason"] == {
        code: int((rejected["reject_reason"] == code).sum()) for code in cleaning.REJECT_REASONS
    }
    rows = kept["source_row"].tolist() + rejected["source_row"].tolist()
    assert sorted(rows) == list(range(1, n + 1)), "every source row exactly once"
    assert (
        kept["customer_id"].notna().all() and kept["order_ts"].notna().all() and kept["amount"].notna().all()
    )


@PROFILE
@given(data=rows, config=configs)
def test_cleaning_accounts_for_every_row(data: list[tuple], config: CleaningConfig) -> None:
    con = engine.connect()
    kept, rejected, quality = cleaning.clean_transactions(con, mapped(data), SOURCE, config, AS_OF)
    kept, rejected = kept.to_pandas(), rejected.to_pandas()
    assert_every_row_accounted(len(data), kept, rejected, quality)
    reasons = dict(zip(rejected["source_row"], rejected["reject_reason"]))
    for row, (customer, *_rest) in enumerate(data, start=1):
        # a missing id is the reason unless the row belongs to a later period (counted there)
        expected = {"missing_customer_id", "after_as_of"} if is_missing_id(customer) else None
        assert (reasons.get(row) in expected) if expected else reasons.get(row) != "missing_customer_id", row
    assert (kept["order_ts"] < AS_OF).all()
    if config.zero_amount == "reject":
        assert (kept["amount"] != 0).all()
    if config.returns == "quarantine":
        assert not kept["is_return"].any() and (kept["amount"] >= 0).all()


@CSV_PROFILE
@given(data=rows, config=configs)
def test_csv_ingest_and_cleaning_account_for_every_row_and_rerun_identically(
    data: list[tuple], config: CleaningConfig, tmp_path_factory
) -> None:
    """Through the real CSV reader (quoted fields with commas, quotes and line breaks included), twice,
    in fresh engines: the same accounting and byte-identical Parquet products."""
    folder = tmp_path_factory.mktemp("csv")
    frame = pd.DataFrame(data, columns=["Customer", "Invoice", "Date", "Total"], dtype=object)
    frame.to_csv(folder / "orders.csv", index=False)  # None -> empty field; quoting as needed
    digests = []
    for attempt in range(2):
        con = engine.connect()
        table, facts = ingest_transactions(con, SOURCE, PrivacyConfig(), root=folder)
        kept, rejected, quality = cleaning.clean_transactions(con, table, SOURCE, config, AS_OF)
        kept_path = io.write_table(kept, folder / f"run{attempt}" / "02_transactions.parquet")
        rejected_path = io.write_table(rejected, folder / f"run{attempt}" / "02_rejected.parquet")
        assert facts["rows_read"] == len(data)
        assert_every_row_accounted(
            len(data), pd.read_parquet(kept_path), pd.read_parquet(rejected_path), quality
        )
        digests.append([hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in (kept_path, rejected_path)])
    assert digests[0] == digests[1]


money = st.decimals(min_value=-(10**9), max_value=10**9, places=4, allow_nan=False, allow_infinity=False)


@PROFILE
@given(
    amounts=st.lists(st.tuples(st.integers(0, 3), money), min_size=1, max_size=300),
    rows_per_group=st.integers(1, 7),
)
def test_exact_sums_do_not_depend_on_row_order_or_threads(
    amounts: list[tuple], rows_per_group: int, tmp_path_factory
) -> None:
    """Money added by engine.exact_sum is the exact decimal total rounded once to float64, so the result
    is the same whatever the order rows arrive in: read from a Parquet file cut into row groups of a
    few rows, which 4 DuckDB threads add in parallel (float SUMs differ in their last bits there)."""
    frame = pd.DataFrame({"c": [c for c, _ in amounts], "amount": [float(a) for _, a in amounts]})
    path = tmp_path_factory.mktemp("money") / "amounts.parquet"
    frame.to_parquet(path, row_group_size=rows_per_group, index=False)
    con = engine.connect(EngineConfig(threads=4))
    t = con.read_parquet(path)
    got = (
        t.group_by("c")
        .agg(
            total=engine.exact_sum(t.amount),
            mean=engine.exact_mean(t.amount),
            positive=engine.exact_sum(t.amount, where=t.amount > 0),
        )
        .order_by("c")
        .to_pandas()
        .set_index("c")
    )
    for c, group in frame.groupby("c"):
        exact = [Decimal(repr(a)).quantize(Decimal("0.0001")) for a in group["amount"]]
        total = float(sum(exact))
        assert got.loc[c, "total"] == total
        assert got.loc[c, "mean"] == total / len(exact)
        positive = [a for a in exact if a > 0]
        assert got.loc[c, "positive"] == float(sum(positive)) if positive else pd.isna(got.loc[c, "positive"])
