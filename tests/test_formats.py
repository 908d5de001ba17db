"""Numbers and words of the report: money in the dataset's currency, the wording of every change
(from 0, from nothing, to nothing: never "nan%"), dates, and the label dictionary (every status,
segment, cluster word and sentence in both languages, with the same blanks to fill)."""

from __future__ import annotations

import datetime as dt
import math
import re
import string

import pandas as pd
import pytest

from helpers import clustering, formats, labels
from helpers.config import DEFAULT_SEGMENTS, STATUSES


def test_money_in_the_datasets_currency() -> None:
    assert formats.money(1_759_970.9) == "$1,759,971"
    assert formats.money(37.253) == "$37.25"
    assert formats.money(-12.5, "GBP") == "-£12.50"
    assert (
        formats.money(1234.5, "EUR") == "€1,234" and formats.money(1234.5, "EUR", decimals=2) == "€1,234.50"
    )
    assert formats.money(88.0, "CNY", "zh") == "¥88.00" and formats.money(88.0, "CNY") == "CN¥88.00"
    assert formats.money(1500, "USD", "zh") == "US$1,500"
    assert formats.money(1500, "CHF") == "CHF 1,500"  # a code without a symbol of its own
    assert formats.money(float("nan")) == formats.money(None) == "–"
    # Yen have no minor unit: never decimals, not even for 0 or when asked.
    assert (formats.money(0.0, "JPY"), formats.money(980, "JPY"), formats.money(12.5, "JPY", decimals=2)) == (
        "JP¥0",
        "JP¥980",
        "JP¥12",
    )


def test_counts_shares_days_numbers_and_dates() -> None:
    assert (formats.count(15024), formats.share(0.4961), formats.delta(-88), formats.delta(136)) == (
        "15,024",
        "49.6%",
        "-88",
        "+136",
    )
    assert (formats.days(1), formats.days(80.4), formats.days(80.4, "zh")) == ("1 day", "80 days", "80 天")
    assert (formats.number(8.0), formats.number(2.5), formats.number(None)) == ("8", "2.5", "–")
    assert formats.date(dt.date(1998, 6, 1)) == "1 June 1998"
    signed = [formats.value(v, "signed") for v in (-10.0, -14.2857, 31.0, 0.0, None)]
    assert signed == ["-10.0", "-14.3", "+31.0", "+0.0", "–"]  # an NPS column lines up
    assert formats.date(dt.date(1998, 6, 1), "zh") == "1998年6月1日"
    with pytest.raises(ValueError, match="unknown kind of figure 'percent'"):
        formats.value(1, "percent")


@pytest.mark.parametrize(
    ("current", "previous", "kind", "text", "direction"),
    [
        (76109.3, 70989.66, "money", "+7.2%", 1),
        (1655, 1759, "count", "-5.9%", -1),
        (12, 0, "count", "up from 0", 1),  # from nothing to something: a word, not a percentage
        (0, 0, "count", "no change", 0),
        (5, 5, "count", "no change", 0),
        (0.496, 0.492, "share", "+0.4 pts", 1),  # shares move in points
        (100.01, 100.0, "money", "+0.0%", 1),
        (10, None, "count", "–", None),  # no compared period
        (float("nan"), 3.0, "money", "–", None),  # an average of no orders
        (3.0, float("nan"), "money", "–", None),
        (None, None, "count", "–", None),
    ],
)
def test_every_change_has_words_and_never_nan(current, previous, kind, text, direction) -> None:
    change = formats.change(current, previous, kind)
    assert (change.text, change.direction) == (text, direction)
    assert "nan" not in formats.change(current, previous, kind, "zh").text.lower()


def test_chinese_change_words() -> None:
    assert formats.change(12, 0, "count", "zh").text == "从 0 增加"
    assert formats.change(5, 5, "count", "zh").text == "持平"
    assert formats.change(0.5, 0.4, "share", "zh").text == "+10.0 个百分点"


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_sentence_has_both_languages_with_the_same_blanks() -> None:
    """Both languages fill the same blanks (the Chinese sentence on pseudonymised ids leaves out the two
    English words naming how ids are kept)."""
    for key, (english, chinese) in labels.TEXT.items():
        assert english and chinese, key
        left_out = {"other", "this"} if key.startswith("comparison_") else set()
        assert fields(chinese) == fields(english) - left_out, key


def test_every_word_of_the_vocabulary_and_every_default_segment_has_its_chinese() -> None:
    assert tuple(labels.STATUS_WORDS) == STATUSES
    assert {row["name"] for row in DEFAULT_SEGMENTS} == set(labels.SEGMENTS_ZH)
    words = {word for triple in clustering.WORDS.values() for word in triple}
    assert words <= set(labels.CLUSTER_WORDS_ZH)
    assert not any(word in STATUSES for word in words), "cluster names never use a status word"
    assert labels.cluster("dormant, one-off, low spend (2)", "zh") == "久未购买、单次、低消费（2）"
    assert labels.segment("My Own Segment", "zh") == "My Own Segment"  # one's own segments keep their name


def test_every_outcome_of_a_source_row_has_words_in_both_languages() -> None:
    from helpers.cleaning import REJECT_REASONS

    assert set(REJECT_REASONS) | {"kept", "total"} == set(labels.REASONS)
    for english, chinese in labels.REASONS.values():
        assert "_" not in english and "." not in english.rstrip(".")  # no setting named on the page
        assert not re.search("[A-Za-z]{2,}", chinese)


def test_headings_come_from_the_dictionary_and_an_unknown_column_is_an_error() -> None:
    frame = pd.DataFrame({"customer_id": ["a"], "value_at_stake": [1.0], "share_of_customers": [0.5]})
    assert labels.headings(frame, "en").columns.tolist() == [
        "Customer",
        "Value at stake",
        "Share of customers",
    ]
    assert labels.headings(frame, "zh").columns.tolist() == ["客户编号", "潜在损失价值", "客户占比"]
    with pytest.raises(KeyError, match="column 'change_%' has no label; add it to COLUMNS"):
        labels.headings(frame.assign(**{"change_%": 1}), "en")


def test_a_template_fills_its_blanks() -> None:
    assert labels.t("kpi_vs", "en", label="1998-05") == "vs 1998-05"
    assert labels.join(["a", "b", "c"], "en") == "a, b and c" and labels.join(["甲", "乙"], "zh") == "甲和乙"
    assert math.isclose(1.0, 1.0)


def test_a_lone_one_counts_in_the_singular_in_english() -> None:
    nps = labels.t("persona_nps", "en", nps="100", answers="1")
    assert nps == "NPS 100 (1 answer)"
    assert labels.t("persona_sessions", "en", count="11") == "11 visits"
    assert labels.t("persona_nps", "en", nps="5", answers="21") == "NPS 5 (21 answers)"
    # Not a lone 1: 1.25, 0.1, 1,001 and 31 keep their plural.
    assert labels.ONE_OF_PLURAL.sub("x", "1.25 times, 0.1 days, 1,001 orders, 31 days") == (
        "1.25 times, 0.1 days, 1,001 orders, 31 days"
    )
    assert labels.ONE_OF_PLURAL.sub(lambda m: "hit", "of 1 searches and 1 reviews") == "of hit and hit"
    assert labels.t("persona_nps", "zh", nps="100", answers="1") == "NPS 100（1 份回答）"
