"""The small demo shop built end to end by the runner (the session's built_tiny project: 300 customers,
every source kind, customer ids pseudonymised), checked against its raw files by independent pandas
code: the catalog against what the notebooks opened, every source's accounting, the share of events
identified by stitching, one pseudonym per customer in every source, no planted identifier or number in
any product or page, orders counted as orders, and the page saying that the data are synthetic."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from test_privacy import scan

from helpers import catalog, synth_shop
from helpers.ingest import hmac_ids
from helpers.schema import OTHER_KINDS

from conftest import CATALOG_LOG, DEMO, DEMO_KEY, DEMO_PERIOD, products, report_folder

RAW = synth_shop.FILES


def raw(root: Path, name: str) -> pd.DataFrame:
    path = root / "data" / "raw" / DEMO / RAW[name]
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype=str, keep_default_na=False).replace("", None)


def quality(root: Path) -> dict:
    return json.loads((products(root, DEMO_PERIOD, DEMO) / catalog.file_of("quality")).read_text())


def pseudonym(ids: pd.Series) -> pd.Series:
    return hmac_ids(ids.astype(str), DEMO_KEY.encode())


def test_the_catalog_matches_what_the_demo_notebooks_open(built_tiny: Path) -> None:
    log = [json.loads(line) for line in (built_tiny / CATALOG_LOG).read_text().splitlines()]
    log = [a for a in log if (a["dataset"], a["period"]) == (DEMO, DEMO_PERIOD)]
    assert sorted({a["stage"] for a in log}) == ["01", "02", "03", "04", "05", "06", "07", "08", "09", "10"]
    for number in sorted({a["stage"] for a in log}):
        stage = catalog.stage(number)
        for mode, kind in (("read", "reads"), ("write", "writes")):
            asked = {a["product"] for a in log if a["stage"] == number and a["mode"] == mode}
            assert asked <= set(stage.refs(kind)), f"{stage.notebook} {mode}s undeclared products"
    writes = {(a["stage"], a["product"]) for a in log if a["mode"] == "write"}
    reads = {(a["stage"], a["product"]) for a in log if a["mode"] == "read"}
    for kind in OTHER_KINDS:
        assert ("01", f"ingested:{kind}") in writes
        assert ("02", f"clean:{kind}") in writes and ("02", f"rejected:{kind}") in writes
    assert ("08", "clean:customers") in reads and ("09", "clean:customers") in reads
    assert {("04", f"clean:{k}") for k in ("events", "leads", "customers")} <= reads
    assert {("04", p) for p in ("engagement", "funnel", "pipeline", "behaviour_facts")} <= writes
    run = json.loads((report_folder(built_tiny, DEMO_PERIOD, DEMO) / "run.json").read_text())
    assert run["skipped"] == {}  # every stage runs on the demo shop
    folder = products(built_tiny, DEMO_PERIOD, DEMO)
    assert {p.name for p in folder.iterdir()} >= {catalog.file_of(f"clean:{k}") for k in OTHER_KINDS}


def expected_event_reasons(events: pd.DataFrame) -> pd.Series:
    """The first rule each raw event row breaks (None: kept), computed here from the rules as documented."""
    known = {"page_view", "product_view", "search", "add_to_cart", "checkout", "purchase", "store_visit"}
    known |= {"app_open", "remove_from_cart", "login", "signup", "pageview", "view_item", "addtocart"}
    known |= {"begin_checkout"}
    when = pd.to_datetime(events["event_time"], format="ISO8601", errors="coerce")
    rules = [
        ("missing_identity", events["user_id"].isna() & events["anon_id"].isna()),
        ("unknown_event_type", ~events["event_name"].str.strip().str.lower().isin(known)),
        ("unparseable_timestamp", when.isna()),
        ("after_as_of", when >= pd.Timestamp("2025-01-01")),
        ("duplicate", events.duplicated(keep="first")),
    ]
    reason = pd.Series([None] * len(events), dtype=object)
    for code, broken in reversed(rules):  # the first rule wins: apply the last first
        reason[broken.to_numpy()] = code
    return reason


def test_every_source_is_accounted_for_row_by_row(built_tiny: Path) -> None:
    by_source = quality(built_tiny)["sources"]
    assert set(by_source) == {"transactions", *OTHER_KINDS}
    for kind, q in by_source.items():
        rows = len(raw(built_tiny, "orders" if kind == "transactions" else kind))
        assert q["rows_in"] == rows == q["rows_kept"] + sum(q["rejected_by_reason"].values()), kind
        assert q["balanced"] and q["rows_rejected"] > 0, kind  # the generator plants bad rows in every source
    events = raw(built_tiny, "events")
    expected = expected_event_reasons(events).value_counts().to_dict()
    found = {code: n for code, n in by_source["events"]["rejected_by_reason"].items() if n}
    assert found == expected
    customers = raw(built_tiny, "customers")
    missing = customers["customer_id"].isna()
    repeat = customers.duplicated() & ~missing
    second = customers["customer_id"].duplicated() & ~missing & ~repeat
    assert {k: v for k, v in by_source["customers"]["rejected_by_reason"].items() if v} == {
        k: int(v)
        for k, v in {
            "missing_customer_id": missing.sum(),
            "duplicate": repeat.sum(),
            "duplicate_customer": second.sum(),
        }.items()
        if v
    }
    clean = pd.read_parquet(products(built_tiny, DEMO_PERIOD, DEMO) / catalog.file_of("clean:customers"))
    assert clean["customer_id"].is_unique and len(clean) == customers["customer_id"].dropna().nunique()


def test_the_share_of_events_identified_by_stitching(built_tiny: Path) -> None:
    events = raw(built_tiny, "events")
    kept = events[expected_event_reasons(events).isna().to_numpy()]
    seen = kept.dropna(subset=["user_id", "anon_id"]).groupby("anon_id")["user_id"].nunique()
    linked = set(seen[seen == 1].index)
    anonymous = kept["user_id"].isna()
    stitched = anonymous & kept["anon_id"].isin(linked)
    ambiguous = anonymous & kept["anon_id"].isin(set(seen[seen > 1].index))
    identity = quality(built_tiny)["sources"]["events"]["identity"]
    assert identity["events_by_identity"] == {
        "identified": int((~anonymous).sum()),
        "stitched": int(stitched.sum()),
        "ambiguous": int(ambiguous.sum()),
        "anonymous": int((anonymous & ~stitched & ~ambiguous).sum()),
    }
    assert identity["share_identified"] == pytest.approx(((~anonymous) | stitched).mean())
    assert identity["share_identified"] > identity["share_identified_before_stitching"] + 0.1
    owner = kept.dropna(subset=["user_id", "anon_id"]).groupby("anon_id")["user_id"].first()[sorted(linked)]
    mapping = dict(zip(pseudonym(pd.Series(owner.index)), pseudonym(owner.reset_index(drop=True))))
    clean = pd.read_parquet(products(built_tiny, DEMO_PERIOD, DEMO) / catalog.file_of("clean:events"))
    found = clean[clean["identity"] == "stitched"]
    assert len(found) == stitched.sum() and (found["anonymous_id"].map(mapping) == found["customer_id"]).all()


def test_one_customer_has_one_pseudonym_in_every_source(built_tiny: Path) -> None:
    """Every stored id is the keyed hash of an id the source gave (none in clear), and customers found
    in orders, attributes, events, contacts and feedback carry the same pseudonym in each."""
    folder = products(built_tiny, DEMO_PERIOD, DEMO)
    id_column = {"transactions": "customer_id", "customers": "customer_id", "events": "user_id"}
    id_column |= {"interactions": "customer", "feedback": "customer", "leads": "customer_id"}
    stored_by_kind = {}
    for kind, column in id_column.items():
        received = set(raw(built_tiny, "orders" if kind == "transactions" else kind)[column].dropna())
        stored = set(pd.read_parquet(folder / catalog.file_of(f"clean:{kind}"))["customer_id"].dropna())
        assert stored and stored <= set(pseudonym(pd.Series(sorted(received)))), kind
        assert not stored & received, f"{kind}: an id in clear"
        stored_by_kind[kind] = stored
    shared = set.intersection(*[ids for kind, ids in stored_by_kind.items() if kind != "leads"])
    assert len(shared) >= 10


def planted_values(root: Path) -> list[str]:
    """Every identifier the raw files hold (the customers' names, e-mails, phones and addresses, contact
    phones and e-mails, leads' contacts) and every e-mail, phone, id and card number written in the raw
    free texts, found by this test's own patterns; and the raw customer ids (pseudonymised)."""
    customers = raw(root, "customers")
    values = set()
    for column in ("name", "email", "phone", "address"):
        values |= set(customers[column].dropna())
    values |= set(raw(root, "interactions")["phone_number"].dropna())
    values |= set(raw(root, "feedback")["contact_email"].dropna())
    leads = raw(root, "leads")
    values |= set(leads["contact_name"].dropna()) | set(leads["contact_phone"].dropna())
    texts = " ".join(
        [
            *raw(root, "feedback")["comment"].dropna(),
            *raw(root, "interactions")["topic"].dropna(),
            *raw(root, "events")["search_query"].dropna(),
        ]
    )
    patterns = [
        r"[\w.]+@mail\.example",  # e-mails
        r"\+86 1\d{10}|\b1[3-9]\d{9}\b|(?<!\d)1[3-9]\d{9}",  # China mobiles
        r"\+44 7700 9\d{5}|07700 9\d{5}",  # UK mobiles
        r"\d{17}[\dX]",  # resident id numbers
        r"\d{4} \d{4} \d{4} \d{4}",  # card numbers
    ]
    for pattern in patterns:
        values |= set(re.findall(pattern, texts))
    ids = set(customers["customer_id"].dropna())
    return sorted(v for v in values | ids if len(v) >= 2)


def test_no_planted_identifier_or_number_reaches_a_product_or_a_page(built_tiny: Path) -> None:
    values = planted_values(built_tiny)
    kinds = {
        "id numbers": [v for v in values if re.fullmatch(r"\d{17}[\dX]", v)],
        "cards": [v for v in values if re.fullmatch(r"\d{4} \d{4} \d{4} \d{4}", v)],
        "e-mails": [v for v in values if "@" in v],
        "phones": [v for v in values if v.startswith("+86") or v.startswith("+44")],
        "names": [v for v in values if any("\u4e00" <= ch <= "\u9fff" for ch in v)],
    }
    assert all(found for found in kinds.values()), {k: len(v) for k, v in kinds.items()}
    folders = [products(built_tiny, DEMO_PERIOD, DEMO), report_folder(built_tiny, DEMO_PERIOD, DEMO)]
    assert scan(folders, values) == {}
    # Positive control: the scan finds scrubbed tags where the texts were.
    assert any(p.endswith("01_feedback.parquet") for p in scan(folders[:1], ["[EMAIL]", "[ID_NUMBER]"]))


def test_orders_are_counted_by_order_not_by_line(built_tiny: Path) -> None:
    lines = raw(built_tiny, "orders")
    lines = lines[lines["customer_id"].notna() & lines["order_id"].str.startswith("O")]
    lines = lines[pd.to_datetime(lines["order_date"], errors="coerce").notna()]
    lines = lines[pd.to_numeric(lines["line_total"].str.lstrip("¥"), errors="coerce") != 0]
    orders = lines.drop_duplicates().groupby("customer_id")["order_id"].nunique()
    assert (lines.groupby("order_id").size() > 1).any()  # several lines per order
    rfm = pd.read_parquet(products(built_tiny, DEMO_PERIOD, DEMO) / catalog.file_of("rfm"))
    found = rfm.set_index("customer_id")["frequency_orders"]
    expected = pd.Series(orders.to_numpy(), index=pseudonym(pd.Series(orders.index)))
    assert found.sort_index().to_dict() == expected.sort_index().to_dict()


def test_the_report_says_the_demo_is_synthetic(built_tiny: Path) -> None:
    page = (report_folder(built_tiny, DEMO_PERIOD, DEMO) / "index.html").read_text()
    assert synth_shop.DESCRIPTION in page
    assert "Every source is accounted for the same way" in page
    assert "Behaviour events" in page and "are identified" in page
    index = (built_tiny / "reports" / "index.html").read_text()
    assert "Demo shop" in index and synth_shop.DESCRIPTION in index
    cdnow = (report_folder(built_tiny, "1998-06") / "index.html").read_text()
    assert "Synthetic" not in cdnow and "Every source is accounted for" not in cdnow
