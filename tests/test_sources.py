"""The customer 360 sources besides orders (customers, events, interactions, feedback, leads), one small
hand-built file each: mapping by params, reason codes in rule order, rows in = kept + rejected by
reason, values left empty, identity stitching with its counts, customer ids known to no other source,
pseudonyms equal across sources; and orders given as order lines counted as orders."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis
import pandas as pd
import pytest

from helpers import config, rfm
from helpers.config import (
    CleaningConfig,
    CustomerSource,
    EventSource,
    FeedbackSource,
    InteractionSource,
    LeadSource,
    ParamsError,
    PrivacyConfig,
)
from helpers.ingest import IngestError, hmac_ids
from helpers.schema import SCHEMAS
from helpers.sources import identity, ingest_source, rules

AS_OF = dt.date(2024, 6, 30)


def ingest_and_clean(
    con, tmp_path: Path, kind: str, text: str, cfg_class, cleaning=None, elsewhere=None, **cfg
):
    """Write ``text`` as the source's CSV, ingest it and clean it; the frames and the facts."""
    path = tmp_path / f"{kind}.csv"
    path.write_text(text, encoding="utf-8")
    source = cfg_class(format="csv", path=str(path), **cfg)
    table, ingest_facts = ingest_source(con, kind, source, PrivacyConfig(), root=tmp_path)
    kept, rejected, facts = rules.clean_source(
        con, kind, table, source, cleaning or CleaningConfig(), AS_OF, elsewhere
    )
    return table.to_pandas(), kept.to_pandas(), rejected.to_pandas(), {**ingest_facts, **facts}


def reasons(rejected: pd.DataFrame) -> dict[int, str]:
    return dict(zip(rejected["source_row"], rejected["reject_reason"]))


def test_customers_one_row_each_with_typed_attributes(con, tmp_path: Path) -> None:
    text = (
        "id,name,signup,born,sex,opt_in,tier\n"
        "C1,Ann Lee,2023-01-05,1990-07-01,F,yes,gold\n"  # 1 kept: 33 on 2024-06-30 (birthday not yet)
        "C2,Bo Li,2023-02-05,n/a,M,否,silver\n"  # 2 kept: birth date unreadable -> empty
        "C2,Bo Li,2023-02-05,n/a,M,否,silver\n"  # 3 exact repeat
        "C2,Bo Li,2023-03-01,,M,no,gold\n"  # 4 a second row of C2
        " NA ,Nobody,2023-02-06,,M,no,\n"  # 5 no id
        "C3,Cy,2024-07-01,1980-01-01,M,Y,\n"  # 6 signed up after the period
        "C4,Di,,2030-01-01,F,maybe,\n"  # 7 kept: no signup date; birth date in the future, consent unknown
    )
    ingested, kept, rejected, facts = ingest_and_clean(
        con,
        tmp_path,
        "customers",
        text,
        CustomerSource,
        columns={
            "customer_id": "id",
            "signup_ts": "signup",
            "birth_date": "born",
            "gender": "sex",
            "marketing_consent": "opt_in",
        },
        attributes={"tier": "tier"},
        identifier_columns=["name"],
    )
    assert "name" not in ingested.columns and "Ann Lee" not in ingested.to_string()
    assert facts["columns_not_copied"] == ["name"] and facts["identifier_columns_dropped"] == ["name"]
    assert kept["customer_id"].tolist() == ["C1", "C2", "C4"]
    assert kept["age"].tolist()[0] == 33 and pd.isna(kept["age"].tolist()[1])
    assert kept["marketing_consent"].tolist()[:2] == [True, False] and pd.isna(kept["marketing_consent"][2])
    assert kept["tier"].tolist()[:2] == ["gold", "silver"]
    assert reasons(rejected) == {
        3: "duplicate",
        4: "duplicate_customer",
        5: "missing_customer_id",
        6: "after_as_of",
    }
    assert rejected.loc[rejected["source_row"] == 4, "signup_ts"].item() == "2023-03-01"  # as received
    assert (facts["rows_in"], facts["rows_kept"], facts["rows_rejected"], facts["balanced"]) == (
        7,
        3,
        4,
        True,
    )
    assert facts["rejected_by_reason"] == {
        "missing_customer_id": 1,
        "after_as_of": 1,
        "duplicate": 1,
        "duplicate_customer": 1,
    }
    assert facts["values_left_empty"] == {"signup_ts": 0, "birth_date": 2, "marketing_consent": 1}


EVENTS = (
    "ts,user,anon,name,platform\n"
    "2024-01-01 10:00:00,,a1,PageView,Web\n"  # 1 stitched to C1 through a1
    "2024-01-01 10:01:00,C1,a1,add_to_cart,web\n"  # 2 identified
    "2024-01-01 10:02:00,,a2,page_view,APP\n"  # 3 ambiguous: a2 is seen with C1 and C2
    "2024-01-01 10:03:00,C1,a2,PAGE_VIEW,app\n"  # 4 identified
    "2024-01-01 10:04:00,C2,a2,view_item,app\n"  # 5 identified
    "2024-01-01 10:05:00,,a3,page_view,app\n"  # 6 anonymous: a3 never signed in before the period end
    "2024-01-01 10:06:00,,,page_view,app\n"  # 7 no identity at all
    "2024-01-01 10:07:00,C7,a4,wishlist_ping,app\n"  # 8 unknown type
    "2024-07-02 09:00:00,C9,a3,page_view,app\n"  # 9 after the period: a3 signs in only then
    "not a time,C1,a1,page_view,web\n"  # 10
    "2024-01-01 10:01:00,C1,a1,add_to_cart,web\n"  # 11 exact repeat of 2
    "2024-01-02 08:00:00,C5,,store_visit,Store\n"  # 12 identified; C5 known to no other source
)
EVENT_COLUMNS = {"event_ts": "ts", "customer_id": "user", "anonymous_id": "anon", "event_type": "name"}


def test_events_are_stitched_deterministically_and_counted(con, tmp_path: Path) -> None:
    elsewhere = ibis.memtable({"customer_id": ["C1", "C2", "C7"]})
    _, kept, rejected, facts = ingest_and_clean(
        con,
        tmp_path,
        "events",
        EVENTS,
        EventSource,
        elsewhere=elsewhere,
        columns={**EVENT_COLUMNS, "channel": "platform"},
        values={"event_type": {"pageview": "page_view", " View_Item ": "product_view"}},
    )
    assert reasons(rejected) == {
        7: "missing_identity",
        8: "unknown_event_type",
        9: "after_as_of",
        10: "unparseable_timestamp",
        11: "duplicate",
    }
    assert kept["source_row"].tolist() == [1, 2, 3, 4, 5, 6, 12]
    assert kept["event_type"].tolist() == [
        "page_view", "add_to_cart", "page_view", "page_view", "product_view", "page_view", "store_visit",
    ]  # fmt: skip
    assert kept["channel"].tolist() == ["web", "web", "app", "app", "app", "app", "store"]
    assert kept["identity"].tolist() == [
        "stitched", "identified", "ambiguous", "identified", "identified", "anonymous", "identified",
    ]  # fmt: skip
    assert kept["customer_id"].fillna("-").tolist() == ["C1", "C1", "-", "C1", "C2", "-", "C5"]
    ident = facts["identity"]
    assert ident["events_by_identity"] == {"identified": 4, "stitched": 1, "ambiguous": 1, "anonymous": 1}
    assert ident["share_identified"] == pytest.approx(5 / 7)
    assert ident["share_identified_before_stitching"] == pytest.approx(4 / 7)
    assert (ident["anonymous_ids_linked"], ident["anonymous_ids_ambiguous"]) == (1, 1)
    assert (facts["rows_of_unknown_customers"], facts["unknown_customers"]) == (1, 1)  # C5's store visit
    assert facts["rows_in"] == 12 == facts["rows_kept"] + facts["rows_rejected"] and facts["balanced"]


def events_rejecting_unknown_customers(con, tmp_path: Path):
    """EVENTS cleaned with ``cleaning.unknown_customers: reject`` (C5 is known to no other source)."""
    return ingest_and_clean(
        con,
        tmp_path,
        "events",
        EVENTS,
        EventSource,
        cleaning=CleaningConfig(unknown_customers="reject"),
        elsewhere=ibis.memtable({"customer_id": ["C1", "C2", "C7"]}),
        columns=EVENT_COLUMNS,
        values={"event_type": {"pageview": "page_view", "view_item": "product_view"}},
    )


def test_unknown_customers_are_kept_unless_params_say_otherwise(con, tmp_path: Path) -> None:
    _, kept, rejected, facts = events_rejecting_unknown_customers(con, tmp_path)
    assert reasons(rejected)[12] == "unknown_customer"
    assert facts["rejected_by_reason"]["unknown_customer"] == 1 and 12 not in kept["source_row"].tolist()


def test_interactions_channels_directions_and_durations(con, tmp_path: Path) -> None:
    text = (
        "when,cust,via,dir,topic,secs\n"
        "2024-03-01 09:00:00,C1,Phone,in,Where is order 123?,180\n"  # 1 kept
        "2024-03-02 09:00:00,C1,E-mail,out,Offer,\n"  # 2 kept (e-mail mapped)
        "2024-03-03 09:00:00,C1,fax,in,x,\n"  # 3 unknown channel
        "2024-03-04 09:00:00,C1,chat,sideways,x,-5\n"  # 4 unknown direction
        "2024-03-05 09:00:00,,chat,in,x,30\n"  # 5 no customer
        "2024-03-06 09:00:00,C8,chat,IN,x,-5\n"  # 6 kept: walk-in; a negative duration left empty
    )
    _, kept, rejected, facts = ingest_and_clean(
        con,
        tmp_path,
        "interactions",
        text,
        InteractionSource,
        elsewhere=ibis.memtable({"customer_id": ["C1"]}),
        columns={
            "interaction_ts": "when",
            "customer_id": "cust",
            "channel": "via",
            "direction": "dir",
            "topic": "topic",
            "duration_s": "secs",
        },
        values={"channel": {"e-mail": "email"}, "direction": {"in": "inbound", "out": "outbound"}},
    )
    assert reasons(rejected) == {3: "unknown_channel", 4: "unknown_direction", 5: "missing_customer_id"}
    assert kept["channel"].tolist() == ["phone", "email", "chat"]
    assert kept["direction"].tolist() == ["inbound", "outbound", "inbound"]
    assert kept["duration_s"].tolist()[0] == 180 and pd.isna(kept["duration_s"][2])
    assert facts["values_left_empty"] == {"duration_s": 1}
    assert (facts["unknown_customers"], facts["rows_of_unknown_customers"]) == (1, 1)


def test_feedback_scores_are_checked_against_their_scale(con, tmp_path: Path) -> None:
    text = (
        "at,cust,type,score,scale,comment,status,resolved\n"
        "2024-02-01,C1,Survey,9,,ok,,\n"  # 1 kept: NPS by the survey's default scale
        "2024-02-02,C1,survey,11,,,,\n"  # 2 outside 0-10
        "2024-02-03,C2,review,4.5,,,,\n"  # 3 stars are whole
        "2024-02-04,C2,review,3,CSAT_1_5,,,\n"  # 4 kept: its own scale
        "2024-02-05,C3,投诉,,,坏了,resolved,2024-07-15\n"  # 5 kept: resolution after the period -> empty
        "2024-02-06,C3,complaint,,,bad,resolved,2024-02-08 10:00:00\n"  # 6 kept
        "2024-02-07,C3,praise,,,,,\n"  # 7 unknown kind
        "2024-02-08,C3,complaint,5,,x,,\n"  # 8 a complaint has no scale for its score
    )
    _, kept, rejected, facts = ingest_and_clean(
        con,
        tmp_path,
        "feedback",
        text,
        FeedbackSource,
        columns={
            "feedback_ts": "at",
            "customer_id": "cust",
            "kind": "type",
            "score": "score",
            "scale": "scale",
            "text": "comment",
            "status": "status",
            "resolved_ts": "resolved",
        },
        values={"kind": {"投诉": "complaint"}},
    )
    assert reasons(rejected) == {
        2: "invalid_score",
        3: "invalid_score",
        7: "unknown_kind",
        8: "invalid_score",
    }
    assert kept["scale"].tolist()[:2] == ["nps_0_10", "csat_1_5"] and kept["kind"].tolist()[2] == "complaint"
    assert pd.isna(kept["resolved_ts"][2]) and kept["resolved_ts"][3] == pd.Timestamp("2024-02-08 10:00:00")
    assert facts["values_left_empty"] == {"resolved_ts": 1}
    assert facts["rejected_by_reason"] == {
        "missing_customer_id": 0,
        "unknown_kind": 1,
        "unknown_scale": 0,
        "unparseable_timestamp": 0,
        "invalid_score": 3,
        "after_as_of": 0,
        "duplicate": 0,
    }


LEAD_COLUMNS = {"lead_id": "lead", "customer_id": "cust", "expected_value": "value"}


def test_leads_as_rows_of_stage_entries(con, tmp_path: Path) -> None:
    text = (
        "lead,stage,at,outcome,value\n"
        "L1,Lead,2024-01-01,open,100\n"
        "L1,Needs Analysis,2024-01-09,open,100\n"
        "L1,negotiation,2024-01-20,open,100\n"  # 3 not a stage of this pipeline
        ",Lead,2024-01-02,,\n"  # 4 no lead id
        "L2,contract,2024-02-01,WON,5000\n"
        "L2,contract,2024-02-01,WON,5000\n"  # 6 exact repeat
        "L3,proposal,2024-03-01,maybe,1\n"  # 7 unknown outcome
    )
    _, kept, rejected, facts = ingest_and_clean(
        con,
        tmp_path,
        "leads",
        text,
        LeadSource,
        columns={
            "lead_id": "lead",
            "stage": "stage",
            "stage_ts": "at",
            "outcome": "outcome",
            "expected_value": "value",
        },
    )
    assert reasons(rejected) == {
        3: "unknown_stage",
        4: "missing_lead_id",
        6: "duplicate",
        7: "unknown_outcome",
    }
    assert kept["stage"].tolist() == ["lead", "needs analysis", "contract"]  # spelt as the params' stages
    assert kept["outcome"].tolist() == ["open", "open", "won"]


def test_leads_as_one_column_per_stage(con, tmp_path: Path) -> None:
    text = (
        "lead,cust,created,contacted,proposal,value\n"
        "L1,,2024-01-01,2024-01-05,,100\n"  # two entries
        "L2,C1,2024-01-02,2024-01-03,2024-01-20,200\n"  # three
        "L3,,,,,50\n"  # no stage at all
        "L2,C1,2024-01-02,2024-01-03,2024-01-20,200\n"  # a repeat: its three entries repeat
        "L4,,2024-06-01,2024-07-09,,10\n"  # the second entry is after the period
    )
    ingested, kept, rejected, facts = ingest_and_clean(
        con,
        tmp_path,
        "leads",
        text,
        LeadSource,
        columns=LEAD_COLUMNS,
        stage_columns={"lead": "created", "contacted": "contacted", "proposal": "proposal"},
    )
    assert facts["source_rows"] == 5 and facts["rows_in"] == len(ingested) == 11
    assert ingested[["source_row", "stage"]].values.tolist()[:5] == [
        [1, "lead"], [1, "contacted"], [2, "lead"], [2, "contacted"], [2, "proposal"],
    ]  # fmt: skip
    assert kept[["lead_id", "stage", "source_column"]].values.tolist() == [
        ["L1", "lead", "created"], ["L1", "contacted", "contacted"], ["L2", "lead", "created"],
        ["L2", "contacted", "contacted"], ["L2", "proposal", "proposal"], ["L4", "lead", "created"],
    ]  # fmt: skip
    assert rejected[["source_row", "reject_reason"]].values.tolist() == [
        [3, "unknown_stage"], [4, "duplicate"], [4, "duplicate"], [4, "duplicate"], [5, "after_as_of"],
    ]  # fmt: skip
    assert facts["rows_kept"] + facts["rows_rejected"] == 11 and facts["balanced"]


def test_a_mapped_column_missing_from_the_source_names_the_setting(con, tmp_path: Path) -> None:
    with pytest.raises(
        IngestError,
        match=r"column 'kind_of' \(mapped to event_type\) is not in the source.*"
        r"Fix 'sources\.events\.columns\.event_type' in params",
    ):
        ingest_and_clean(
            con, tmp_path, "events", EVENTS, EventSource, columns={**EVENT_COLUMNS, "event_type": "kind_of"}
        )


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"columns": {"lead_id": "l"}},
            "give the stage history either as rows .* or as one date column per stage",
        ),
        (
            {"columns": {"lead_id": "l", "stage": "s", "stage_ts": "t"}, "stage_columns": {"lead": "d"}},
            "not both and not neither",
        ),
        ({"columns": {"lead_id": "l"}, "stage_columns": {"won": "d"}}, r"stage_columns names \['won'\]"),
        (
            {"columns": {"lead_id": "l", "stage": "s", "stage_ts": "t"}, "values": {"source": {"a": "b"}}},
            "values names 'source'",
        ),
        (
            {"columns": {"lead_id": "l", "stage": "s", "stage_ts": "t"}, "identifier_columns": ["l"]},
            "identifier column 'l' is also mapped",
        ),
    ],
)
def test_lead_settings_that_cannot_work_are_params_errors(
    tmp_path: Path, settings: dict, message: str
) -> None:
    import yaml

    from conftest import params_project

    root = params_project(tmp_path)
    path = root / "params" / "cdnow" / "dataset.yaml"
    block = yaml.safe_dump({"leads": {"format": "csv", "path": "leads.csv", **settings}})
    indented = "".join(f"  {line}\n" for line in block.splitlines())
    path.write_text(path.read_text().replace("\ncleaning:", f"\n{indented}\ncleaning:", 1))
    with pytest.raises(ParamsError, match=r"dataset\.yaml: setting 'sources\.leads' is invalid.*" + message):
        config.load_params("cdnow", "1998-06", root)


def test_a_value_mapped_to_a_word_no_stage_knows_is_a_params_error() -> None:
    """A typo in ``values`` (Telefon -> fone) would set aside every such row as an unknown channel:
    the params are refused, naming the value and the known ones; a known value in any case passes."""
    columns = {"customer_id": "c", "interaction_ts": "t", "channel": "k"}
    with pytest.raises(ValueError, match=r"values\.channel maps 'Telefon' to 'fone', which is not a channel"):
        InteractionSource(
            format="csv", path="x.csv", columns=columns, values={"channel": {"Telefon": "fone"}}
        )
    kept = InteractionSource(
        format="csv", path="x.csv", columns=columns, values={"channel": {"Telefon": "Phone"}}
    )
    assert kept.values == {"channel": {"Telefon": "Phone"}}


def test_one_customer_has_one_pseudonym_in_every_source(con, tmp_path: Path, monkeypatch) -> None:
    """The same key and the same normalisation everywhere: " C1 " in the customers file, "C1" in the
    events and feedback give one pseudonym, HMAC-SHA256(key, "C1"); an anonymous id is hashed too and
    stitching still links it."""
    monkeypatch.setenv("CA_TEST_KEY", "a-test-key-of-enough-length")
    privacy = PrivacyConfig(pseudonymise_customer_id=True, key_env="CA_TEST_KEY")
    files = {
        "customers": ("id\n C1 \nC2\n", CustomerSource, {"columns": {"customer_id": "id"}}),
        "events": (
            EVENTS,
            EventSource,
            {
                "columns": EVENT_COLUMNS,
                "values": {"event_type": {"pageview": "page_view", "view_item": "product_view"}},
            },
        ),
        "feedback": (
            "at,cust,type\n2024-02-01,C1,complaint\n",
            FeedbackSource,
            {"columns": {"feedback_ts": "at", "customer_id": "cust", "kind": "type"}},
        ),
    }
    key = b"a-test-key-of-enough-length"
    expected = hmac_ids(pd.Series(["C1"]), key).item()
    found = {}
    for kind, (text, cls, cfg) in files.items():
        path = tmp_path / f"{kind}.csv"
        path.write_text(text)
        source = cls(format="csv", path=str(path), **cfg)
        table, facts = ingest_source(con, kind, source, privacy, root=tmp_path)
        kept, _, _ = rules.clean_source(con, kind, table, source, CleaningConfig(), AS_OF)
        found[kind] = kept.to_pandas()
        assert "customer_id" in facts["ids_pseudonymised"]
    assert found["customers"]["customer_id"].tolist()[0] == expected
    assert found["feedback"]["customer_id"].tolist() == [expected]
    events = found["events"]
    assert events.loc[events["source_row"] == 1, "customer_id"].item() == expected  # stitched, hashed
    assert events["anonymous_id"].iloc[0] == hmac_ids(pd.Series(["a1"]), key).item()
    assert "C1" not in events.to_string() and "a1" not in events["anonymous_id"].tolist()


def test_order_lines_are_counted_as_orders(con) -> None:
    """Three lines of one order and two of another: two orders, not five, in RFM and in the KPIs."""
    from helpers import report

    lines = pd.DataFrame(
        {
            "customer_id": ["C1"] * 5,
            "order_id": ["O1", "O1", "O1", "O2", "O2"],
            "order_ts": pd.to_datetime(["2024-06-01 10:00"] * 3 + ["2024-06-20 12:00"] * 2),
            "amount": [10.0, 5.0, 2.5, 20.0, -5.0],
            "is_return": [False, False, False, False, True],
        }
    )
    table = ibis.memtable(lines)
    metrics = rfm.customer_metrics(table, dt.date(2024, 6, 1), AS_OF).to_pandas().iloc[0]
    assert (metrics["frequency_orders"], metrics["monetary_total"]) == (2, 32.5)
    assert metrics["avg_order_value"] == pytest.approx(16.25)
    kpis = report.period_kpis(table, dt.date(2024, 6, 1), AS_OF)
    assert kpis["orders"] == 2 and kpis["revenue"] == 32.5
    assert kpis["avg_order_value"] == pytest.approx(37.5 / 2)  # purchases only: 37.5 in two orders
    assert kpis["repeat_purchase_rate"] == 1.0


def test_ids_known_elsewhere_come_from_every_other_source() -> None:
    tables = {
        "transactions": ibis.memtable({"customer_id": ["1.0", "2", None]}),
        "customers": ibis.memtable({"customer_id": [" 3 ", "NA"]}),
        "events": ibis.memtable({"customer_id": ["9"]}),
    }
    con = ibis.duckdb.connect()
    ids = sorted(con.execute(identity.ids_elsewhere("events", tables))["customer_id"])
    assert ids == ["1", "2", "3"]


def test_a_malformed_line_is_kept_without_text_and_set_aside(con, tmp_path: Path) -> None:
    """A quote that never closes: that record keeps its row number (and its line, 3) but no text, and
    cleaning sets it aside first, as for orders; the reader resumes at the next line."""
    text = (
        "when,cust,via,topic\n"
        "2024-03-01 09:00:00,C1,phone,fine\n"
        '2024-03-02 09:00:00,C2,phone,"never closed\n'
        "2024-03-03 09:00:00,C3,chat,fine\n"
        "2024-03-04 09:00:00,C4,chat,fine\n"
    )
    ingested, kept, rejected, facts = ingest_and_clean(
        con,
        tmp_path,
        "interactions",
        text,
        InteractionSource,
        columns={"interaction_ts": "when", "customer_id": "cust", "channel": "via", "topic": "topic"},
    )
    assert (facts["malformed_lines"], facts["malformed_line_numbers"]) == (1, [3])
    assert facts["rejected_by_reason"]["malformed_line"] == 1 == facts["rows_rejected"]
    assert rejected[["source_row", "malformed_line", "reject_reason"]].values.tolist() == [
        [2, 3, "malformed_line"]
    ]
    assert rejected["topic"].isna().all()  # no text of a malformed line is stored
    assert kept["customer_id"].tolist() == ["C1", "C3", "C4"] and facts["balanced"]
    assert facts["rows_in"] == len(ingested) == facts["rows_kept"] + facts["rows_rejected"]


def test_times_with_an_offset_become_the_datasets_wall_clock_time(con, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "ts,user,name\n2024-03-01T01:30:00+00:00,C1,page_view\n2024-03-01 09:30:00,C1,page_view\n"
        "2024-06-30T23:30:00+00:00,C1,page_view\n"  # 07:30 on 1 July in Shanghai: after the period
    )
    source = EventSource(
        format="csv", path=str(path), columns={"event_ts": "ts", "customer_id": "user", "event_type": "name"}
    )
    table, _ = ingest_source(con, "events", source, PrivacyConfig(), root=tmp_path)
    kept, rejected, _ = rules.clean_source(
        con, "events", table, source, CleaningConfig(), AS_OF, timezone="Asia/Shanghai"
    )
    assert kept.to_pandas()["event_ts"].tolist() == [pd.Timestamp("2024-03-01 09:30")] * 2
    assert rejected.to_pandas()["reject_reason"].tolist() == ["after_as_of"]


def test_the_auto_memory_limit_follows_the_largest_source(tmp_path: Path) -> None:
    """The tiny CDNOW orders and 20 million events (a Parquet file's metadata says so): the limit is
    the events' 80 bytes a row, 1.6GB (at most half the machine's memory)."""
    import os

    import pyarrow as pa
    import pyarrow.parquet as pq

    from conftest import params_project

    root = params_project(tmp_path)
    raw = root / "data" / "raw" / "cdnow"
    raw.mkdir(parents=True)
    rows = 20_000_000
    pq.write_table(pa.table({"ts": pa.array(["2024-01-01"] * rows)}), raw / "events.parquet")
    path = root / "params" / "cdnow" / "dataset.yaml"
    block = (
        "  events:\n    format: parquet\n    path: data/raw/cdnow/events.parquet\n"
        "    columns: {event_ts: ts, anonymous_id: ts, event_type: ts}\n"
    )
    path.write_text(path.read_text().replace("\ncleaning:", f"\n{block}\ncleaning:", 1))
    half = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    assert (
        config.load_params("cdnow", "1998-06", root).engine.memory_limit
        == f"{min(rows * 80, half) / 1e9:.1f}GB"
    )


def test_the_pages_accounting_and_identity_line_in_both_languages(con, tmp_path: Path) -> None:
    """The report's per-source table and stitching sentence from real cleaning facts: every source in
    the schema's order, its reasons in the page's words (orders in their own wording), the most frequent
    first; the shares of the kept events hand-computed from the file above."""
    from helpers import labels, sources

    *_, events = events_rejecting_unknown_customers(con, tmp_path)
    orders = {
        "rows_in": 1234,
        "rows_kept": 1231,
        "rows_rejected": 3,
        "rejected_by_reason": {"unparseable_timestamp": 1, "duplicate": 2, "zero_amount": 0},
        "reason_descriptions": {"unparseable_timestamp": "-", "duplicate": "-", "zero_amount": "-"},
    }
    customers = {**orders, "rows_in": 5, "rows_kept": 5, "rows_rejected": 0, "rejected_by_reason": {}}
    by_source = {"events": events, "customers": customers, "transactions": orders}
    english = sources.accounting_for_page(by_source, "en")
    assert english.columns.tolist() == ["source", "rows_in", "rows_kept", "rows_rejected", "why_set_aside"]
    assert english.drop(columns="why_set_aside").values.tolist() == [
        ["Orders", 1234, 1231, 3],
        ["Customers", 5, 5, 0],
        ["Behaviour events", 12, 6, 6],
    ]
    assert english["why_set_aside"].tolist() == [
        "Exact repeat of an earlier row (2); Order date missing or in none of the expected formats (1)",
        "–",
        "Dated after the end of the period (kept for a later period, not an error) (1); "
        "Exact repeat of an earlier row (1); Neither a customer id nor an anonymous id (1); "
        "Customer id found in no other source, set aside by the settings (1); "
        "Event type missing or not a known type (1); Date missing or in none of the expected formats (1)",
    ]
    chinese = sources.accounting_for_page(by_source, "zh")
    assert chinese["source"].tolist() == ["订单", "客户", "行为事件"]
    assert (
        chinese["why_set_aside"].tolist()[0]
        == "与之前某行完全重复 (2)；下单日期缺失，或不符合任何预期的格式 (1)"
    )
    # Kept: 3 signed in (rows 2, 4, 5), 1 stitched (row 1), 1 ambiguous (3), 1 anonymous (6).
    assert sources.identity_line(events, "en") == (
        "Of the 6 behaviour events kept, 50.0% came with a customer id and 16.7% more were linked to a "
        "customer through the device they came from: 66.7% are identified."
    )
    assert sources.identity_line(events, "zh") == (
        "在保留的 6 条行为事件中，50.0% 自带客户编号，另有 16.7% 通过其设备关联到客户：可识别的占 66.7%。"
    )
    nothing = {"identity": {"events_by_identity": dict.fromkeys(events["identity"]["events_by_identity"], 0)}}
    assert sources.identity_line(nothing, "en") == "No behaviour event was kept."
    # Every reason code a source's rules can give has its words in both languages (none falls back to
    # the cleaning stage's English description on a Chinese page).
    codes = set(rules.DESCRIPTIONS) | {
        f"unknown_{column.name}"
        for kind, schema in SCHEMAS.items()
        if kind != "transactions"
        for column in schema.columns
        if column.role == "vocabulary" and (column.closed or column.required)
    }
    assert {"unknown_event_type", "unknown_stage", "unknown_scale", "missing_lead_id"} <= codes
    assert [c for c in sorted(codes) if c not in labels.SOURCE_REASONS and c not in labels.REASONS] == []
