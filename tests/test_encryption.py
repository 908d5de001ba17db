"""Encryption at rest: products written through helpers.io to a path the catalog marked for encryption
are Parquet modular encryption (footer and columns) or Fernet, read back transparently, hold no
plaintext id in any byte, and a missing, wrong or damaged key is one sentence."""

from __future__ import annotations

from pathlib import Path

import ibis
import pandas as pd
import pytest

from helpers import catalog, engine, io
from helpers.config import PrivacyConfig
from helpers.privacy import encryption, keys
from helpers.privacy.encryption import EncryptionError, Protection, protect

ENV, KEY, OTHER = "CA_TEST_ENCRYPTION_KEY", "encryption-test-key-5b0c77e1", "another-key-of-twenty-chars"
IDS = [f"CUST-{n:06d}" for n in range(1, 301)]


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> Protection:
    monkeypatch.setenv(ENV, KEY)
    return Protection(ENV)


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": IDS,
            "segment": ["Champions", "Lost", "At Risk"] * 100,
            "monetary_total": [round(1.25 * n, 2) for n in range(300)],
        }
    )


def test_a_parquet_product_is_encrypted_footer_and_columns_and_reads_back(tmp_path: Path, key) -> None:
    path = io.write_parquet(frame(), protect(tmp_path / "03_rfm.parquet", key), sort_by=["customer_id"])
    data = path.read_bytes()
    assert data[:4] == data[-4:] == b"PARE"  # encrypted footer: not even the schema is readable
    for needle in [b"CUST-", b"customer_id", b"Champions", KEY.encode()]:
        assert needle not in data
    assert encryption.encrypted_kind(path) == "parquet"
    pd.testing.assert_frame_equal(io.read_parquet(path), frame())
    assert encryption.parquet_metadata(path).num_rows == 300
    # The same frame written plain holds the ids in clear (the control of the byte scan above).
    plain = io.write_parquet(frame(), tmp_path / "plain.parquet")
    assert b"CUST-000001" in plain.read_bytes() and encryption.encrypted_kind(plain) is None


def test_an_engine_table_is_streamed_encrypted_and_read_back_into_the_engine(tmp_path: Path, key) -> None:
    con = engine.connect()
    orders = ibis.memtable(
        pd.DataFrame({"customer_id": IDS * 2, "amount": [float(n) for n in range(600)]})
    ).order_by("amount")
    path = io.write_table(orders, protect(tmp_path / "02_transactions.parquet", key))
    assert b"CUST-" not in path.read_bytes() and path.read_bytes()[:4] == b"PARE"
    table = io.read_table(con, path)
    # It joins with a table of the same connection like any product read from a file.
    rfm = io.read_table(con, io.write_parquet(frame(), tmp_path / "rfm.parquet"))
    joined = table.join(rfm, "customer_id").group_by("segment").agg(total=table.amount.sum()).to_pandas()
    segment = frame()["segment"]
    expected = {s: sum(float(n) for n in range(600) if segment[n % 300] == s) for s in ["Champions", "Lost"]}
    got = dict(zip(joined["segment"], joined["total"]))
    assert got["Champions"] == expected["Champions"] and got["Lost"] == expected["Lost"]
    assert table.count().execute() == 600


def test_a_json_product_with_personal_data_is_fernet_encrypted(tmp_path: Path, key) -> None:
    facts = {"examples": {"invalid_amount": {"source_row": 17, "value": "12,3x"}}, "rows_in": 3}
    path = io.write_json(facts, protect(tmp_path / "02_quality.json", key))
    data = path.read_bytes()
    assert data.startswith(b"CA-ENCRYPTED fernet CA_TEST_ENCRYPTION_KEY ") and b"12,3x" not in data
    assert io.read_json(path) == facts


def test_a_missing_key_is_one_sentence_when_writing_and_when_reading(
    tmp_path: Path, key, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = io.write_parquet(frame(), protect(tmp_path / "03_rfm.parquet", key))
    sealed = io.write_json({"a": 1}, protect(tmp_path / "x.json", key))
    monkeypatch.delenv(ENV)
    with pytest.raises(EncryptionError) as written:
        io.write_parquet(frame(), protect(tmp_path / "again.parquet", key))
    assert str(written.value) == (
        f"privacy.encrypt_products is on but environment variable {ENV} is not set; export a secret of "
        "at least 16 characters."
    )
    for product in (path, sealed):
        with pytest.raises(EncryptionError) as read:
            io.read_parquet(product) if product.suffix == ".parquet" else io.read_json(product)
        assert str(read.value) == (
            f"{product}: encrypted with the key in environment variable {ENV}, which is not set; export "
            "the key it was written with."
        )


def test_a_wrong_key_is_named_as_such_with_both_fingerprints(
    tmp_path: Path, key, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = io.write_parquet(frame(), protect(tmp_path / "03_rfm.parquet", key))
    sealed = io.write_json({"a": 1}, protect(tmp_path / "x.json", key))
    monkeypatch.setenv(ENV, OTHER)
    written, now = keys.fingerprint(KEY.encode()), keys.fingerprint(OTHER.encode())
    assert written != now and len(written) == 12
    for product in (path, sealed):
        with pytest.raises(EncryptionError) as read:
            io.read_parquet(product) if product.suffix == ".parquet" else io.read_json(product)
        assert str(read.value) == (
            f"{product}: encrypted with another key than the one now in {ENV} (fingerprint {written}, the "
            f"key set has {now}); export the key it was written with."
        )
    con = engine.connect()
    with pytest.raises(EncryptionError):
        io.read_table(con, path)


def test_a_damaged_encrypted_file_says_so(tmp_path: Path, key) -> None:
    sealed = io.write_json({"a": 1}, protect(tmp_path / "x.json", key))
    data = bytearray(sealed.read_bytes())
    data[-10] ^= 1
    sealed.write_bytes(bytes(data))
    with pytest.raises(EncryptionError, match="its key does not open it; the file is damaged"):
        io.read_json(sealed)


def test_the_catalog_marks_personal_products_for_encryption_as_the_params_say(tmp_path: Path) -> None:
    from helpers.config import Params

    def params(**privacy) -> Params:
        base = Params.model_validate(
            {
                "default_dataset": "x",
                "dataset": "x",
                "default_period": "p",
                "period": "p",
                "period_start": "2020-01-01",
                "period_end": "2020-01-31",
                "sources": {
                    "transactions": {
                        "format": "csv",
                        "path": "a.csv",
                        "columns": {"customer_id": "c", "order_ts": "t", "amount": "a"},
                    }
                },
            }
        )
        return base.model_copy(update={"privacy": PrivacyConfig(**privacy)})

    on = params(encrypt_products=True, encryption_key_env="K_ENV")
    personal = {key for key, p in catalog.PRODUCTS.items() if catalog.protection(p, on)}
    assert personal == {
        "ingested",
        "clean",
        "rejected",
        "quality",
        "rfm",
        "engagement",
        "voice",
        "next_best_product",
        "clv",
        "clusters",
        "scores",
        "churn_warning",
        "actions",
    }
    assert catalog.protection(catalog.PRODUCTS["rfm"], on) == Protection("K_ENV", "privacy.encrypt_products")
    assert not any(catalog.protection(p, params()) for p in catalog.PRODUCTS.values())
    exports = params(encrypt_exports=True)
    assert [k for k, p in catalog.PRODUCTS.items() if catalog.protection(p, exports)] == ["exports"]
    assert catalog.protection(catalog.PRODUCTS["exports"], exports).setting == "privacy.encrypt_exports"


def test_rotating_the_key_reencrypts_every_file_under_the_new_one(
    tmp_path: Path, key, monkeypatch: pytest.MonkeyPatch
) -> None:
    parquet = io.write_parquet(frame(), protect(tmp_path / "a" / "03_rfm.parquet", key))
    sealed = io.write_json({"a": 1}, protect(tmp_path / "b" / "02_quality.json", key))
    plain = io.write_parquet(frame(), tmp_path / "03_segments.parquet")
    monkeypatch.setenv(ENV, OTHER)  # the new key in the variable the files name
    with pytest.raises(EncryptionError):
        io.read_parquet(parquet)
    rewrapped, current = encryption.rotate([tmp_path], (KEY.encode(),))
    assert sorted(p.name for p in rewrapped) == ["02_quality.json", "03_rfm.parquet"] and current == []
    pd.testing.assert_frame_equal(io.read_parquet(parquet), frame())
    assert io.read_json(sealed) == {"a": 1} and encryption.encrypted_kind(plain) is None
    assert sealed.read_bytes().startswith(
        f"CA-ENCRYPTED fernet {ENV} {keys.fingerprint(OTHER.encode())}".encode()
    )
    assert encryption._parquet_identifier(parquet) == f"{ENV}:{keys.fingerprint(OTHER.encode())}"
    # Run again (an interrupted rotation resumed): nothing left to do.
    rewrapped, current = encryption.rotate([tmp_path], (KEY.encode(),))
    assert rewrapped == [] and sorted(current) == sorted([parquet, sealed])
    # The old key no longer opens anything: with it alone in the variable, reading fails.
    monkeypatch.setenv(ENV, KEY)
    with pytest.raises(EncryptionError, match="encrypted with another key"):
        io.read_json(sealed)
