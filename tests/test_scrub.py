"""Free text is scrubbed at ingest: each kind of personal data planted in feedback texts, contact topics
and search terms comes out as its tag, in the ingested product already; text without any keeps every
character. (The end-to-end scan of a whole built demo is in test_demo.py.)"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from helpers import config
from helpers.config import PrivacyConfig
from helpers.sources import ingest_sources, scrub

PLANTED = [  # (text as written, the text as stored)
    ("Mail me: zhang.wei+shop@qq.com thanks", "Mail me: [EMAIL] thanks"),
    ("邮箱Li_Na88@163.com谢谢", "邮箱[EMAIL]谢谢"),
    ("我的身份证号是11010519491231002X，请核实", "我的身份证号是[ID_NUMBER]，请核实"),
    ("id 440106198001010011 on file", "id [ID_NUMBER] on file"),
    ("card 4111 1111 1111 1111 charged twice", "card [CARD] charged twice"),
    ("卡号6222021234567890123被扣款", "卡号[CARD]被扣款"),
    ("电话13800138000或者+86 139-0013-9000", "电话[PHONE]或者[PHONE]"),
    ("call 86 138 0013 8000 or +8613800138000", "call [PHONE] or [PHONE]"),
    ("ring +44 7700 900123, (555) 123-4567 or +1 (555) 010-9999", "ring [PHONE], [PHONE] or [PHONE]"),
    (
        "UK 07700 900123, Beijing 010-88886666, London 020 7946 0958",
        "UK [PHONE], Beijing [PHONE], London [PHONE]",
    ),
]
UNTOUCHED = [
    "Order O0001234 of 2024-03-05 12:30 cost ¥1,299.00, 3 items",
    "Delivery took 5 days; rated 4/5",
    "订单O0000039的快递晚了五天才到。",
    "",
]


def project(tmp_path: Path) -> Path:
    """A project whose customers file names each customer (identifiers) and whose feedback texts,
    contact topics and search terms carry the planted values."""
    raw = tmp_path / "data" / "raw" / "shop"
    raw.mkdir(parents=True)
    pd.DataFrame(
        {
            "cid": ["C1", "C2", "C3"],
            "full_name": ["Zhang Wei", "王芳", "Ann O'Neil"],
            "mail": ["zw@example.org", "wf@example.org", "ann@example.org"],
            "tier": ["gold", "silver", "gold"],
        }
    ).to_csv(raw / "customers.csv", index=False)
    texts = [t for t, _ in PLANTED] + UNTOUCHED
    pd.DataFrame(
        {
            "at": "2024-01-02",
            "cust": ["C1"] * len(texts),
            "type": "complaint",
            "comment": texts,
            "reply_to": "someone.else@example.net",
        }
    ).to_csv(raw / "feedback.csv", index=False)
    pd.DataFrame(
        {
            "at": ["2024-01-02"] * 4,
            "cust": ["C1", "C2", "C3", "C9"],
            "via": "phone",
            "topic": [
                "zhang WEI asked about order O123",  # the customer's own name, another case
                "王芳要求退款",
                "Ann O'Neil (ann@example.org) called",
                "walk-in asked about Zhang Wei",  # another customer's name: not theirs, left
            ],
        }
    ).to_csv(raw / "contacts.csv", index=False)
    pd.DataFrame(
        {"ts": "2024-01-02 10:00:00", "anon": "a1", "name": "search", "q": ["tent", "status zw@example.org"]}
    ).to_csv(raw / "events.csv", index=False)
    (tmp_path / "params" / "shop").mkdir(parents=True)
    (tmp_path / "params" / "defaults.yaml").write_text(
        (Path(__file__).resolve().parents[1] / "params" / "defaults.yaml").read_text()
    )
    (tmp_path / "params" / "shop" / "dataset.yaml").write_text(
        """default_period: "2024-01"
sources:
  transactions:
    format: csv
    path: data/raw/shop/customers.csv
    columns: {customer_id: cid, order_ts: cid, amount: cid}
  customers:
    format: csv
    path: data/raw/shop/customers.csv
    columns: {customer_id: cid}
    attributes: {tier: tier}
    identifier_columns: [full_name, mail]
  feedback:
    format: csv
    path: data/raw/shop/feedback.csv
    columns: {feedback_ts: at, customer_id: cust, kind: type, text: comment}
    identifier_columns: [reply_to]
  interactions:
    format: csv
    path: data/raw/shop/contacts.csv
    columns: {interaction_ts: at, customer_id: cust, channel: via, topic: topic}
  events:
    format: csv
    path: data/raw/shop/events.csv
    columns: {event_ts: ts, anonymous_id: anon, event_type: name, search_term: q}
"""
    )
    (tmp_path / "params" / "shop" / "2024-01.yaml").write_text(
        config.period_text("2024-01", *config.month_window("2024-01"))
    )
    return tmp_path


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory):
    from helpers import engine

    root = project(tmp_path_factory.mktemp("scrub"))
    params = config.load_params("shop", "2024-01", root)
    found = ingest_sources(engine.connect(), params.sources, PrivacyConfig(), root)
    return {kind: (table.to_pandas(), facts) for kind, (table, facts) in found.items()}


def test_each_kind_of_personal_data_becomes_its_tag(ingested) -> None:
    stored, facts = ingested["feedback"]
    expected = [after for _, after in PLANTED] + UNTOUCHED
    assert stored["text"].fillna("").tolist() == expected
    assert facts["free_text_scrubbed"] == ["text"]
    assert facts["tags_placed"] == {"identifier": 0, "email": 2, "id_number": 2, "card": 2, "phone": 10}


def test_identifier_values_of_the_customer_are_replaced_ignoring_case(ingested) -> None:
    stored, facts = ingested["interactions"]
    assert stored["topic"].tolist() == [
        "[IDENTIFIER] asked about order O123",
        "[IDENTIFIER]要求退款",
        "[IDENTIFIER] ([IDENTIFIER]) called",
        "walk-in asked about Zhang Wei",  # C9 has no identifiers anywhere; another's name is only a name
    ]
    assert facts["tags_placed"]["identifier"] == 4
    events, _ = ingested["events"]
    assert events["search_term"].tolist() == ["tent", "status [EMAIL]"]  # events have no customer: patterns


def test_the_scrub_expression_leaves_text_without_personal_data_alone(con) -> None:
    import ibis

    texts = UNTOUCHED + ["2024-01-05", "call me", "12345", "price 1299.00 x 3", None]
    table = ibis.memtable({"t": texts}, schema={"t": "string"})
    out = con.execute(table.select(s=scrub.scrub(table.t)))["s"].tolist()
    assert out[:-1] == texts[:-1] and pd.isna(out[-1])
