"""Delimited text: the delimiter sniffed from a sample, header names, and records with their line numbers,
malformed ones without text (hand-made files with known answers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.delimited import header_names, records, sniff_delimiter


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("a,b,c\n1,2,3\n4,5,6\n", ","),
        ("Invoice;Customer;Total\n1;17850;1.234,50\n2;13047;15,30\n", ";"),  # decimal commas inside fields
        ("a\tb\tc\n1\t2\t3\n", "\t"),
        ("a|b\n1|2\n", "|"),
        ('name,note\n"Smith; John","a; b"\n"Doe; Jane","c; d"\n', ","),  # the semicolons are quoted
        ("just one column\nvalue\n", None),
    ],
)
def test_the_delimiter_is_the_one_that_splits_lines_consistently(sample: str, expected: str | None) -> None:
    assert sniff_delimiter(sample) == expected


def test_header_names_are_unique_and_never_empty() -> None:
    assert header_names([" Invoice ", "", "Total", "Total", "Total"]) == [
        "Invoice", "column1", "Total", "Total_1", "Total_2"
    ]  # fmt: skip


def test_records_carry_their_physical_line_and_a_quoted_line_break_is_one_record(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text('id,note,amount\n1,"two\nlines",5\n\n2,plain,6,\n3,"bad,7\n4,ok,8\n5,x\n')
    got = list(records(path, "utf-8", ",", True, ["id", "amount"]))
    assert got == [
        (1, ["id", "note", "amount"]),
        (2, ["1", "two\nlines", "5"]),  # a quoted line break: one record over lines 2-3
        (5, ["2", "plain", "6"]),  # a trailing delimiter (an empty extra field) is fine; line 4 was blank
        (6, None),  # a quote that never closes
        (7, ["4", "ok", "8"]),  # read on its own after the broken line
        (8, None),  # too few fields for the mapped amount
    ]


def test_without_a_header_the_columns_are_numbered_and_the_first_line_is_a_record(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("1;2\n3;4\n")
    assert list(records(path, "utf-8", ";", False)) == [
        (1, ["column0", "column1"]),
        (1, ["1", "2"]),
        (2, ["3", "4"]),
    ]
