"""The exported lists: spreadsheet formulas defused in the CSV files (and verbatim on request), the
Excel copies typed as text, encryption of the exports, marketing consent and suppression lists."""

from __future__ import annotations

import csv
import io as stdio
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pandas as pd
import pytest

from helpers import report
from helpers.config import CustomerSource, PrivacyConfig
from helpers.privacy import consent, encryption, keys
from helpers.privacy.encryption import Protection, protect

# The examples, the other starts OWASP names, and values that must stay as they are.
RISKY = ['=HYPERLINK("http://x","y")', "+1+1", "@SUM(A1)", "-2+3", "\tx", "\r=1+1"]
HARMLESS = ["CUST-1", "a=b", "x+1", "Can't Lose Them"]


def lists() -> dict[str, pd.DataFrame]:
    ids = RISKY + HARMLESS
    return {
        "churn_warning": pd.DataFrame(
            {
                "customer_id": ids,
                "segment": ["=cmd|' /C calc'!A0"] + ["Lost"] * (len(ids) - 1),
                "monetary_total": [-12.5 + i for i in range(len(ids))],
            }
        )
    }


def excel_text(value: str) -> str:
    """A cell's text as Excel shows it: the file stores a carriage return as _x000D_, which openpyxl
    leaves encoded."""
    return value.replace("_x000D_", "\r")


def cells(path: Path) -> list[list[str]]:
    return list(csv.reader(stdio.StringIO(path.read_bytes().decode("utf-8"), newline="")))


def test_csv_cells_a_spreadsheet_would_run_get_a_leading_quote(tmp_path: Path) -> None:
    written = report.write_exports(lists(), tmp_path, xlsx=("churn_warning",))
    assert [p.name for p in written] == ["churn_warning.csv", "churn_warning.xlsx"]
    rows = cells(tmp_path / "churn_warning.csv")
    assert rows[0] == ["customer_id", "segment", "monetary_total"]
    assert [r[0] for r in rows[1:]] == [
        '\'=HYPERLINK("http://x","y")',
        "'+1+1",
        "'@SUM(A1)",
        "'-2+3",
        "'\tx",
        "'\r=1+1",
        *HARMLESS,
    ]
    assert rows[1][1] == "'=cmd|' /C calc'!A0" and rows[2][1] == "Lost"
    # Numbers are numbers: a negative amount is not escaped.
    assert [r[2] for r in rows[1:3]] == ["-12.5", "-11.5"]
    # The Excel copy holds every value as typed text, exactly as it is (a formula cannot start there).
    sheet = openpyxl.load_workbook(tmp_path / "churn_warning.xlsx").active
    values = [row for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert [excel_text(v[0]) for v in values] == RISKY + HARMLESS
    assert all(cell.data_type == "s" for cell in sheet["A"][1:])
    assert values[0][2] == -12.5


def test_escaping_can_be_switched_off_for_a_crm_import(tmp_path: Path) -> None:
    report.write_exports(lists(), tmp_path, escape_formulas=False)
    assert [r[0] for r in cells(tmp_path / "churn_warning.csv")[1:]] == RISKY + HARMLESS
    assert PrivacyConfig().escape_formulas is True


def test_encrypted_exports_hold_the_same_files_and_no_id_in_clear(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CA_TEST_EXPORT_KEY", "export-key-0123456789")
    plain = tmp_path / "plain"
    report.write_exports(lists(), plain, xlsx=("churn_warning",))
    sealed_folder = protect(tmp_path / "sealed", Protection("CA_TEST_EXPORT_KEY", "privacy.encrypt_exports"))
    written = report.write_exports(lists(), sealed_folder, xlsx=("churn_warning",))
    assert [p.name for p in written] == ["churn_warning.csv.enc", "churn_warning.xlsx.enc"]
    for path in written:
        data = path.read_bytes()
        assert data.startswith(b"CA-ENCRYPTED fernet CA_TEST_EXPORT_KEY ")
        assert b"CUST-1" not in data and b"HYPERLINK" not in data
    csv_text = encryption.read_bytes(written[0])
    assert csv_text == (plain / "churn_warning.csv").read_bytes()
    book = openpyxl.load_workbook(stdio.BytesIO(encryption.read_bytes(written[1]))).active
    assert [excel_text(row[0]) for row in book.iter_rows(min_row=2, values_only=True)] == RISKY + HARMLESS


def test_only_a_clean_true_is_consent() -> None:
    """The clean customers' marketing_consent is a boolean: true is consent; false, missing (an
    answer cleaning could not read) and a customer kept twice with a false are not."""
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "d", "e"],
            "marketing_consent": pd.array([True, False, None, True, False, True], dtype="boolean"),
        }
    )
    assert consent.consented_customers(customers) == {"a", "e"}
    plain = pd.DataFrame({"customer_id": ["a", "b", "c"], "marketing_consent": [True, False, None]})
    assert consent.consented_customers(plain) == {"a"}
    with pytest.raises(consent.ConsentError, match="have no column 'opt_in'; map the source's consent"):
        consent.consented_customers(customers, "opt_in")
    words = pd.DataFrame({"customer_id": ["a", "b"], "marketing_consent": ["yes", "no"]})
    with pytest.raises(consent.ConsentError) as error:
        consent.consented_customers(words)
    assert str(error.value) == (
        "the clean customers' marketing_consent holds values that are not true or false ('yes', 'no'); "
        "rebuild the period from stage 02, which reads the source's answers as booleans."
    )


def test_suppression_lists_are_normalised_and_hashed_like_the_products_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "dnc.txt").write_text("# do not contact\n 17850.0 \n\nCUST-2\nNA\n")
    (tmp_path / "objections.txt").write_text("CUST-3\n")
    privacy = PrivacyConfig(suppression_lists=["dnc.txt", str(tmp_path / "objections.txt")])
    assert consent.suppressed_ids(privacy, tmp_path) == {"17850", "CUST-2", "CUST-3"}
    monkeypatch.setenv("CA_TEST_PSEUDONYM_KEY", "pseudonym-key-0123456789")
    hashed = privacy.model_copy(update={"pseudonymise_customer_id": True, "key_env": "CA_TEST_PSEUDONYM_KEY"})
    secret = b"pseudonym-key-0123456789"
    assert consent.suppressed_ids(hashed, tmp_path) == {
        keys.keyed_hash(secret, i) for i in ["17850", "CUST-2", "CUST-3"]
    }
    missing = PrivacyConfig(suppression_lists=["nowhere.txt"])
    with pytest.raises(consent.ConsentError) as error:
        consent.suppressed_ids(missing, tmp_path)
    assert str(error.value) == (
        f"{tmp_path / 'nowhere.txt'}: suppression list not found; privacy.suppression_lists names it: put "
        "the file there or remove it from the list."
    )


def test_exports_leave_out_suppressed_and_unconsenting_customers_and_count_them() -> None:
    tables = {
        "segment_lost": pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "x": [1, 2, 3, 4]}),
        "priority_list": pd.DataFrame({"customer_id": ["d", "a", "e"], "x": [4, 1, 5]}),
    }
    kept, left = consent.exportable(tables, suppressed={"b", "d"}, consented={"a", "b", "c"}, lists=1)
    assert kept["segment_lost"]["customer_id"].tolist() == ["a", "c"]
    assert kept["priority_list"]["customer_id"].tolist() == ["a"]
    assert left.suppressed == {"b", "d"} and left.without_consent == {"d", "e"}
    assert left.sentence() == (
        "3 customers are left out of the exports: 2 without marketing consent and 2 on a do-not-contact "
        "list (1 both)."
    )
    _, only_lists = consent.exportable(tables, suppressed={"e"}, lists=2)
    assert only_lists.sentence() == "1 customer is left out of the exports: 1 on a do-not-contact list."
    _, nothing = consent.exportable(tables, suppressed=set())
    assert nothing.sentence() == (
        "The exports hold every customer of their lists: no marketing consent or do-not-contact list is "
        "recorded for this data."
    )
    _, none_left = consent.exportable(tables, suppressed=set(), consented=set("abcde"), lists=1)
    assert none_left.sentence() == (
        "No customer of the lists is left out of the exports: every one has marketing consent and none is "
        "on a do-not-contact list."
    )


def consent_params(tmp_path: Path, consent_column: str | None) -> SimpleNamespace:
    """Params whose customers source maps ``consent_column`` to marketing_consent (None: not mapped)
    and whose do-not-contact list holds customer b."""
    (tmp_path / "dnc.txt").write_text("b\n")
    columns = {"customer_id": "id", **({"marketing_consent": consent_column} if consent_column else {})}
    customers = CustomerSource(format="csv", path="customers.csv", columns=columns)
    return SimpleNamespace(
        privacy=PrivacyConfig(suppression_lists=["dnc.txt"]), sources=SimpleNamespace(customers=customers)
    )


def test_the_clean_customers_consent_decides_who_is_exported(tmp_path: Path) -> None:
    """With sources.customers.columns.marketing_consent mapped, a customer without a true in the clean
    customers (false, missing, or no row at all) is left out too."""
    params = consent_params(tmp_path, "opt_in")
    tables = {
        "segment_lost": pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "x": [1, 2, 3, 4]}),
        "priority_list": pd.DataFrame({"customer_id": ["e", "a"], "x": [5, 1]}),
    }
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "country": ["X"] * 4,
            "marketing_consent": pd.array([True, False, None, True], dtype="boolean"),
        }
    )
    kept, left = consent.for_exports(tables, params, customers, root=tmp_path)
    assert kept["segment_lost"]["customer_id"].tolist() == ["a", "d"]
    assert kept["priority_list"]["customer_id"].tolist() == ["a"]
    assert (left.suppressed, left.without_consent) == ({"b"}, {"b", "c", "e"})
    assert left.sentence() == (
        "3 customers are left out of the exports: 3 without marketing consent and 1 on a do-not-contact "
        "list (1 both)."
    )
    # Consent mapped but no clean customers to read it from: one sentence, nobody exported by default.
    with pytest.raises(consent.ConsentError) as error:
        consent.for_exports(tables, params, None, root=tmp_path)
    assert str(error.value) == (
        "sources.customers.columns.marketing_consent is mapped but the clean customers "
        "(clean:customers) are missing; run stage 02 again before the report."
    )
    # Consent not mapped: not known, only the list applies (the clean customers' other columns aside).
    unmapped = consent_params(tmp_path, None)
    kept, left = consent.for_exports(tables, unmapped, customers.drop(columns="marketing_consent"), tmp_path)
    assert kept["segment_lost"]["customer_id"].tolist() == ["a", "c", "d"] and not left.consent_known
    assert left.sentence() == "1 customer is left out of the exports: 1 on a do-not-contact list."
    _, left = consent.for_exports(tables, unmapped, None, root=tmp_path)
    assert left.customers == {"b"} and not left.consent_known
