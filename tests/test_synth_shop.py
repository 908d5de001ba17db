"""The demo shop's generator: its planted effects measured on its raw output by this file's own pandas
code, at the strengths docs/demo_data.md states (with the tolerances below, about two standard errors
for 10,000 customers); the same arguments give the same bytes; the committed params/demo/ are what the
generator writes; the command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from helpers import config, synth_shop

from conftest import REPO

CUSTOMERS, SEED = 10_000, 20240101
END = pd.Timestamp("2025-01-01")  # the first instant after the data
EVENT_NAMES = {"pageview": "page_view", "view_item": "product_view", "addtocart": "add_to_cart"}
EVENT_NAMES["begin_checkout"] = "checkout"


@pytest.fixture(scope="module")
def shop() -> synth_shop.Shop:
    return synth_shop.generate(CUSTOMERS, SEED)


def valid_orders(shop: synth_shop.Shop) -> pd.DataFrame:
    """Order lines of real orders: an id, a readable date, not a return."""
    lines = shop.orders
    lines = lines[lines["order_id"].str.startswith("O") & (lines["customer_id"].fillna("") != "")]
    return lines.assign(ts=pd.to_datetime(lines["order_date"], errors="coerce")).dropna(subset=["ts"])


def test_a_product_pair_is_bought_together_with_lift_about_3(shop) -> None:
    """Lift = P(both in an order) / (P(first) P(second)). Baskets are small (1.7 lines on average), so
    unrelated products have a lift of about 0.7; the planted pair stands out at about 3."""
    baskets = valid_orders(shop).groupby("order_id")["product_id"].agg(set)
    popular = pd.Series([p for b in baskets for p in b]).value_counts().index[:12]
    holds = {p: baskets.map(lambda b, p=p: p in b) for p in popular}

    def lift(a: str, b: str) -> float:
        return (holds[a] & holds[b]).mean() / (holds[a].mean() * holds[b].mean())

    assert lift("P011", "P012") == pytest.approx(3.0, abs=0.5)
    others = [
        lift(a, b) for i, a in enumerate(popular) for b in popular[i + 1 :] if {a, b} != {"P011", "P012"}
    ]
    assert len(others) == 65 and max(others) < 1.3


def test_the_app_loses_about_40_percent_of_carts_at_checkout(shop) -> None:
    events = shop.events.dropna(subset=["session"])
    kind = events["event_name"].str.lower().replace(EVENT_NAMES)
    flags = pd.DataFrame(
        {
            "session": events["session"],
            "channel": events["platform"].str.lower(),
            "checkout": kind == "checkout",
            "purchase": kind == "purchase",
        }
    )
    per = flags.groupby("session").agg(
        channel=("channel", "first"), checkout=("checkout", "any"), purchase=("purchase", "any")
    )
    conversion = per[per["checkout"]].groupby("channel")["purchase"].mean()
    assert 1 - conversion["app"] == pytest.approx(0.40, abs=0.03)
    assert 1 - conversion["web"] == pytest.approx(0.10, abs=0.02)


def test_an_unresolved_complaint_makes_customers_lapse_about_twice_as_often(shop) -> None:
    """First complaint of each customer, filed at least 180 days before the end; lapsed: no order in
    the last 180 days of the data."""
    feedback = shop.feedback
    kind = feedback["type"].str.lower().replace({"投诉": "complaint"})
    complaints = feedback[(kind == "complaint") & (feedback["customer"].fillna("") != "")]
    complaints = complaints.assign(ts=pd.to_datetime(complaints["submitted_at"], errors="coerce")).dropna(
        subset=["ts"]
    )
    first = complaints.sort_values("ts").drop_duplicates("customer")
    cutoff = END - pd.Timedelta(days=180)
    first = first[first["ts"] < cutoff]
    orders = valid_orders(shop)
    recent = set(orders.loc[orders["ts"] >= cutoff, "customer_id"])
    lapsed = (~first["customer"].isin(recent)).groupby(first["status"]).mean()
    assert lapsed["open"] / lapsed["resolved"] == pytest.approx(2.0, abs=0.4)
    assert first["status"].value_counts().min() >= 400  # enough complaints on each side


def test_nps_differs_by_purchase_frequency(shop) -> None:
    """NPS (promoters 9-10 minus detractors 0-6, in points) of the survey answers of customers with
    five or more orders against those with one to four."""
    feedback = shop.feedback
    surveys = feedback[feedback["type"].str.lower() == "survey"].copy()
    surveys["score"] = pd.to_numeric(surveys["score"], errors="coerce")
    surveys = surveys[surveys["score"].between(0, 10)]
    orders = valid_orders(shop).groupby("customer_id")["order_id"].nunique()
    frequent = surveys["customer"].map(orders).fillna(0) >= 5

    def nps(scores: pd.Series) -> float:
        return 100 * ((scores >= 9).mean() - (scores <= 6).mean())

    high, low = nps(surveys.loc[frequent, "score"]), nps(surveys.loc[~frequent, "score"])
    assert high == pytest.approx(40, abs=8) and low == pytest.approx(-5, abs=10)
    assert high - low == pytest.approx(45, abs=12)


def test_needs_analysis_is_the_pipeline_bottleneck(shop) -> None:
    """Per stage, leads that entered it at least 120 days before the end: the share that reached the
    next stage, and the median days it took them."""
    leads = shop.leads[shop.leads["lead_id"].fillna("") != ""]
    leads = leads.assign(stage=leads["stage"].str.lower(), ts=pd.to_datetime(leads["entered_at"]))
    entered = leads.pivot_table(index="lead_id", columns="stage", values="ts", aggfunc="min")
    stages = list(synth_shop.STAGES)
    conversion, median_days = {}, {}
    for here, following in zip(stages, stages[1:]):
        mature = entered[entered[here] < END - pd.Timedelta(days=120)]
        conversion[here] = mature[following].notna().mean()
        median_days[here] = (mature[following] - mature[here]).dt.total_seconds().median() / 86_400
    assert min(conversion, key=conversion.get) == "needs analysis" == max(median_days, key=median_days.get)
    expected = {
        "lead": (0.80, 2),
        "contacted": (0.70, 4),
        "needs analysis": (0.35, 21),
        "proposal": (0.60, 7),
    }
    for stage, (share, days) in expected.items():
        assert conversion[stage] == pytest.approx(share, abs=0.07), stage
        assert median_days[stage] == pytest.approx(days, rel=0.25), stage


def test_west_customers_buy_outdoor_products_far_more(shop) -> None:
    lines = valid_orders(shop)
    region = lines["customer_id"].map(
        shop.customers.drop_duplicates("customer_id").set_index("customer_id")["region"]
    )
    share = (lines["category"] == "Outdoor").groupby(region).mean()
    others = share.drop("West")
    assert share["West"] == pytest.approx(0.50, abs=0.03)
    assert others.min() > 0.14 and others.max() < 0.19
    assert share["West"] / others.mean() == pytest.approx(3.0, abs=0.3)


def test_every_source_has_its_messy_bits(shop) -> None:
    assert (
        shop.customers["customer_id"].duplicated().sum() >= 8 and (shop.customers["customer_id"] == "").any()
    )
    assert {"name", "email", "phone", "address"} <= set(shop.customers.columns)  # identifiers as received
    names = set(shop.events["event_name"])
    assert {"PageView", "PAGE_VIEW", "page_view", "debug_ping"} <= names
    assert shop.events["platform"].str.contains("App|Web").any()
    texts = shop.feedback["comment"].dropna()
    assert texts.str.contains("[\u4e00-\u9fff]").any() and texts.str.contains("The parcel|Nobody").any()
    assert (shop.feedback["score"] == "11").any() and (shop.interactions["channel"] == "fax").any()
    assert (shop.leads["stage"] == "Negotiation").any() and (shop.orders["order_date"] == "31/02/2024").any()


def test_the_same_arguments_give_the_same_bytes(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        synth_shop.write(synth_shop.generate(200, 11), tmp_path / folder, 200, 11)
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == sorted([*synth_shop.FILES.values(), synth_shop.MANIFEST])
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)
    other = synth_shop.generate(200, 12)
    assert not other.orders.equals(synth_shop.generate(200, 11).orders)


def test_the_committed_demo_params_are_what_the_generator_writes(tmp_path: Path) -> None:
    written = synth_shop.write_params(tmp_path, "data/raw/demo")
    committed = REPO / "params" / "demo"
    assert sorted(p.name for p in written) == sorted(p.name for p in committed.glob("*.yaml"))
    for path in written:
        assert path.read_text() == (committed / path.name).read_text(), path.name
    params = config.load_params("demo", None, REPO)
    assert (params.period, params.description) == ("2024-12", synth_shop.DESCRIPTION)
    assert set(params.sources.configured()) == {
        "transactions",
        "customers",
        "events",
        "interactions",
        "feedback",
        "leads",
    }
    assert config.list_periods("demo", REPO) == synth_shop.months()
    assert len(synth_shop.months()) == 24


def test_the_command_line_writes_the_files_and_the_params(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "helpers", "synth-shop", "--customers", "150", "--seed", "3"]
    done = subprocess.run(
        [*command, "--out", str(tmp_path / "raw"), "--params", str(tmp_path / "params")],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    assert f"{tmp_path / 'raw' / 'events.parquet'}: " in done.stdout
    assert (tmp_path / "params" / "dataset.yaml").is_file() and (
        tmp_path / "params" / "2024-12.yaml"
    ).is_file()
    assert f"path: {tmp_path / 'raw'}/order_lines.csv" in (tmp_path / "params" / "dataset.yaml").read_text()
    small = subprocess.run(
        [*command[:-3], "50", "--out", str(tmp_path / "x")], capture_output=True, text=True
    )
    assert small.returncode == 2
    assert (
        small.stderr.strip()
        == "error: --customers must be at least 100 (the planted effects need people to show in)."
    )
