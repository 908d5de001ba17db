"""Erasure without a build: the erasure list holds keyed hashes only, ingest leaves the listed customers'
rows out (whatever blanks or float formatting their id has in the source), and the search finds a
customer in every kind of file the project writes, encrypted ones included, without false hits on
numbers."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pandas as pd
import pytest

from helpers import engine, paths, report
from helpers.config import ColumnMap, PrivacyConfig, TransactionSource
from helpers.ingest import erased_sentence, ingest_transactions
from helpers.privacy import encryption, forget
from helpers.privacy.encryption import Protection, protect

KEY_ENV, KEY = "CA_TEST_FORGET_KEY", "forget-test-key-3a9e10d2"


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> bytes:
    monkeypatch.setenv(KEY_ENV, KEY)
    return KEY.encode()


def test_the_erasure_list_holds_keyed_hashes_that_are_not_the_pseudonyms(tmp_path: Path, key) -> None:
    expected = hmac.new(key, b"erasure\x00CUST-42", hashlib.sha256).hexdigest()[:32]
    assert forget.erasure_hash(key, "CUST-42") == expected
    pseudonym = hmac.new(key, b"CUST-42", hashlib.sha256).hexdigest()[:32]
    assert expected != pseudonym
    path = forget.add_to_list("shop", {expected}, tmp_path)
    forget.add_to_list("shop", {expected, "0" * 32}, tmp_path)
    assert path == paths.erasure_list("shop", tmp_path)
    assert forget.erased_hashes("shop", tmp_path) == {expected, "0" * 32}
    assert "CUST-42" not in path.read_text() and oct(path.stat().st_mode & 0o777) == "0o600"


def orders(tmp_path: Path) -> TransactionSource:
    source = tmp_path / "orders.csv"
    source.write_text(
        "customer,date,amount\n"
        "CUST-1,2020-01-01,10\n"
        " 17850.0 ,2020-01-02,20\n"  # customer 17850, as a spreadsheet wrote the id
        "CUST-2,2020-01-03,30\n"
        "17850,2020-01-04,40\n"
        ",2020-01-05,50\n"
    )
    return TransactionSource(
        format="csv",
        path=str(source),
        delimiter=",",
        columns=ColumnMap(customer_id="customer", order_ts="date", amount="amount"),
    )


def test_ingest_leaves_out_every_row_of_an_erased_customer_and_counts_them(tmp_path: Path, key) -> None:
    forget.add_to_list("shop", {forget.erasure_hash(key, "17850")}, tmp_path)
    privacy = PrivacyConfig(key_env=KEY_ENV)
    table, facts = ingest_transactions(engine.connect(), orders(tmp_path), privacy, tmp_path, dataset="shop")
    frame = table.to_pandas()
    assert frame["source_row"].tolist() == [1, 3, 5] and facts["rows_read"] == 3
    assert facts["rows_erased"] == 2
    assert erased_sentence(facts) == (
        "2 more rows of the source belong to customers erased on request and were left out."
    )
    # Pseudonymised, the same rows go (the hash is of the source's id, before pseudonymisation).
    hashed = PrivacyConfig(key_env=KEY_ENV, pseudonymise_customer_id=True)
    table, facts = ingest_transactions(engine.connect(), orders(tmp_path), hashed, tmp_path, dataset="shop")
    assert table.to_pandas()["source_row"].tolist() == [1, 3, 5] and facts["rows_erased"] == 2
    # Another dataset's list is not this one's.
    _, other = ingest_transactions(engine.connect(), orders(tmp_path), privacy, tmp_path, dataset="other")
    assert other["rows_erased"] == 0 and other["rows_read"] == 5


def test_an_erasure_list_without_its_key_stops_ingest_with_one_sentence(
    tmp_path: Path, key, monkeypatch: pytest.MonkeyPatch
) -> None:
    forget.add_to_list("shop", {forget.erasure_hash(key, "17850")}, tmp_path)
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(forget.ErasureError) as error:
        ingest_transactions(
            engine.connect(), orders(tmp_path), PrivacyConfig(key_env=KEY_ENV), tmp_path, dataset="shop"
        )
    assert str(error.value) == (
        "the erasure list of dataset shop holds 1 customer, whom ingest leaves out by their keyed hash, but "
        f"environment variable {KEY_ENV} (privacy.key_env) is not set or shorter than 16 characters; export "
        "the key they were erased with."
    )


def test_the_search_finds_a_customer_in_every_kind_of_file(tmp_path: Path, key, monkeypatch) -> None:
    monkeypatch.setenv("CA_TEST_ENC", "encryption-key-for-forget")
    sealed = Protection("CA_TEST_ENC")
    frame = pd.DataFrame({"customer_id": ["CUST-000042", "CUST-000043"], "value": [1.0, 2.0]})
    from helpers import io

    io.write_parquet(frame, protect(tmp_path / "03_rfm.parquet", sealed))
    io.write_parquet(frame.assign(customer_id=["x", "y"]), tmp_path / "09_scores.parquet")
    report.write_exports(
        {"churn_warning": frame}, protect(tmp_path / "exports", sealed), xlsx=("churn_warning",)
    )
    (tmp_path / "facts.json").write_text(json.dumps({"examples": [{"id": "CUST-000042"}]}))
    (tmp_path / "page.html").write_text("<td>CUST-000042</td>")
    (tmp_path / "other.html").write_text("<td>CUST-0000421</td> revenue 42")
    (tmp_path / "numbers.html").write_text("<td>42</td>")
    forms = {"CUST-000042"}
    found = sorted(p.name for p in forget.files_holding([tmp_path], forms))
    assert found == [
        "03_rfm.parquet",
        "churn_warning.csv.enc",
        "churn_warning.xlsx.enc",
        "facts.json",
        "page.html",
    ]
    # A short all-digit id is found in tables but not looked for in a page's text (it is any number there).
    pd.DataFrame({"customer_id": ["42"]}).to_parquet(tmp_path / "short.parquet")
    assert sorted(p.name for p in forget.files_holding([tmp_path], {"42"})) == ["short.parquet"]
    assert encryption.encrypted_kind(tmp_path / "03_rfm.parquet") == "parquet"


def test_a_customer_is_looked_for_by_id_pseudonym_and_escaped_id(
    tmp_path: Path, key, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import params_project

    root = params_project(
        tmp_path, period_extra=f"privacy:\n  pseudonymise_customer_id: true\n  key_env: {KEY_ENV}\n"
    )
    pseudonym = hmac.new(key, b"=CUST-42", hashlib.sha256).hexdigest()[:32]
    assert forget.customer_forms(["=CUST-42"], "cdnow", root) == {
        "=CUST-42",
        pseudonym,
        "'=CUST-42",
        "'" + pseudonym,
    }
    monkeypatch.delenv(KEY_ENV)  # without the key the pseudonym cannot be found, only the id
    assert forget.customer_forms(["=CUST-42"], "cdnow", root) == {"=CUST-42", "'=CUST-42"}


def test_forget_takes_ids_from_a_file_too_and_lists_their_keyed_hashes_only(
    tmp_path: Path, key, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """``--from-file`` (comments, blanks and a spreadsheet's float id as suppression lists allow) next
    to ``--customer-id``; nothing is built yet, so nothing is rebuilt and the list is all it changes."""
    from helpers import cli
    from helpers.privacy import audit

    from conftest import DATASET, params_project

    root = params_project(tmp_path / "project", period_extra=f"privacy:\n  key_env: {KEY_ENV}\n")
    monkeypatch.setenv("CA_PROJECT_ROOT", str(root))
    requests = tmp_path / "requests.txt"
    requests.write_text("# erasure requests of the week\n 17850.0 \n\nCUST-7\n")
    assert cli.main(["forget", "--customer-id", "CUST-9", "--from-file", str(requests)]) == 0
    expected = sorted(
        hmac.new(key, b"erasure\x00" + i.encode(), hashlib.sha256).hexdigest()[:32]
        for i in ["17850", "CUST-7", "CUST-9"]
    )
    assert forget.erased_hashes(DATASET, root) == set(expected)
    listed = paths.erasure_list(DATASET, root).read_text()
    assert not any(i in listed for i in ["17850", "CUST-7", "CUST-9"])
    (line,) = audit.read(root)
    assert (line["action"], line["customers"], line["periods_rebuilt"], line["files_held"]) == (
        "forget",
        expected,
        [],
        0,
    )
    assert capsys.readouterr().out.splitlines() == [
        f"Added the 3 customers to the erasure list of {DATASET} (erased.txt): every run leaves them out "
        "from now on.",
        f"No product, page, export or notebook of {DATASET} held the 3 customers.",
        "The raw source still holds the 3 customers (data/raw/cdnow/cdnow_transactions.txt): correct it "
        "there too; forget never edits data/raw, and until the source is corrected every run leaves them out "
        "by the erasure list.",
    ]


def test_every_customer_360_source_leaves_out_an_erased_customer_and_their_device(
    tmp_path: Path, key
) -> None:
    """Behaviour events: the customer's signed-in rows and the anonymous rows of a device they were
    seen on go; another device's anonymous rows stay. A leads source without the customer's id keeps
    every row; one with it loses theirs. Ids normalised as for orders (" 17850.0" is 17850)."""
    from helpers.config import EventSource, LeadSource
    from helpers.sources import ingest_sources
    from helpers.sources.mapping import ingest_source

    forget.add_to_list("shop", {forget.erasure_hash(key, "17850")}, tmp_path)
    privacy = PrivacyConfig(key_env=KEY_ENV)
    (tmp_path / "events.csv").write_text(
        "time,user,device,name\n"
        "2020-01-01 10:00:00, 17850.0 ,dev-a,page_view\n"  # row 1: the erased customer on device a
        "2020-01-01 10:01:00,,dev-a,product_view\n"  # row 2: device a, anonymous: theirs too
        "2020-01-01 10:02:00,CUST-2,dev-b,page_view\n"
        "2020-01-01 10:03:00,,dev-c,page_view\n"
        "2020-01-01 10:04:00,,,page_view\n"  # no id at all: stays (cleaning decides)
    )
    events = EventSource(
        format="csv",
        path=str(tmp_path / "events.csv"),
        delimiter=",",
        columns={"event_ts": "time", "customer_id": "user", "anonymous_id": "device", "event_type": "name"},
    )
    table, facts = ingest_source(engine.connect(), "events", events, privacy, tmp_path, dataset="shop")
    assert table.to_pandas()["source_row"].tolist() == [3, 4, 5]
    assert (facts["rows_read"], facts["rows_erased"]) == (3, 2)
    # Pseudonymised, the same rows go (hashed after the erasure list is applied).
    hashed = PrivacyConfig(key_env=KEY_ENV, pseudonymise_customer_id=True)
    table, facts = ingest_source(engine.connect(), "events", events, hashed, tmp_path, dataset="shop")
    assert table.to_pandas()["source_row"].tolist() == [3, 4, 5] and facts["rows_erased"] == 2
    (tmp_path / "leads.csv").write_text(
        "lead,customer,stage,at\nL-1,17850,lead,2020-01-01\nL-2,CUST-2,lead,2020-01-02\n"
    )
    leads = {"format": "csv", "path": str(tmp_path / "leads.csv"), "delimiter": ","}
    stages = {"lead_id": "lead", "stage": "stage", "stage_ts": "at"}
    with_ids = LeadSource(**leads, columns={**stages, "customer_id": "customer"})
    without = LeadSource(**leads, columns=stages)
    _, facts = ingest_source(engine.connect(), "leads", with_ids, privacy, tmp_path, dataset="shop")
    assert (facts["rows_read"], facts["rows_erased"]) == (1, 1)
    _, facts = ingest_source(engine.connect(), "leads", without, privacy, tmp_path, dataset="shop")
    assert (facts["rows_read"], facts["rows_erased"]) == (2, 0)
    # ingest_sources passes the dataset on to every source; without it nothing is left out.
    from helpers.config import Sources

    sources = Sources(transactions=orders(tmp_path), events=events, leads=with_ids)
    both = ingest_sources(engine.connect(), sources, privacy, tmp_path, dataset="shop")
    assert {kind: f["rows_erased"] for kind, (_, f) in both.items()} == {"events": 2, "leads": 1}
    plain = ingest_sources(engine.connect(), sources, privacy, tmp_path)
    assert {kind: f["rows_read"] for kind, (_, f) in plain.items()} == {"events": 5, "leads": 2}
