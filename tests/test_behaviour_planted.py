"""The demo shop's planted effects that stage 04 measures, recovered by the stage's helpers on the clean
sources of ``demo_planted`` (6,000 customers, the bundled seed, built by the runner) and checked against
the generating rules of docs/demo_data.md and against independent pandas counts:

- effect 2, the app loses about 40% of its checkouts, the web about 10%: the funnel's checkout ->
  purchase drop-off over every visit up to the period end, within 4 points (app) and 3 points (web):
  about two standard errors at this size;
- effect 5, "needs analysis" is the pipeline's bottleneck: the lowest conversion and the longest median
  wait, each stage's conversion within 0.07 of its pass rate and its median within 25% of the planted one;
- effect 6, West customers buy Outdoor far more: the ratio of the West's Outdoor share of order lines to
  the other regions' 3.0 ± 0.4; in product views (which also hold browsing of random products) the ratio
  is smaller and is checked against an independent count.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from helpers import behaviour, catalog, engine, io, pipeline
from helpers.synth_shop.rules import EFFECTS

from conftest import DEMO, DEMO_PERIOD


@pytest.fixture(scope="module")
def stage(demo_planted: Path):
    return catalog.open_stage("04", DEMO, DEMO_PERIOD, root=demo_planted)


@pytest.fixture(scope="module")
def clean(stage) -> dict[str, Path]:
    return {
        kind: stage.folder / catalog.file_of(f"clean:{kind}")
        for kind in ("events", "transactions", "leads", "customers")
    }


def test_the_app_loses_about_40_percent_of_checkouts_and_the_web_about_10(stage, clean) -> None:
    params = stage.params
    con = engine.connect()
    events = behaviour.until(io.read_table(con, clean["events"]), params.as_of)
    sessionised = behaviour.sessionise(events, params.behaviour.session_gap_minutes)
    sessions = behaviour.sessions(sessionised, params.behaviour.funnel_steps)
    funnel = behaviour.funnel(behaviour.with_groups(sessions, None), params.behaviour.funnel_steps)
    by_channel = funnel[(funnel["group_kind"] == "channel") & (funnel["step"] == "purchase")].set_index(
        "group"
    )
    # Independent count on the clean events (pandas): visits (the source's session ids) with a
    # checkout and without a purchase, by platform.
    raw = pd.read_parquet(clean["events"], columns=["event_ts", "event_type", "channel", "session_id"])
    raw = raw[raw["event_ts"] < pd.Timestamp(params.as_of + dt.timedelta(days=1))]
    kinds = raw.groupby(["channel", "session_id"])["event_type"].agg(set)
    for channel, planted, tolerance in (("app", 0.40, 0.04), ("web", 0.10, 0.03)):
        assert 1 - EFFECTS.checkout_conversion[channel] == pytest.approx(planted)
        checkout = kinds.loc[channel].map(lambda k: "checkout" in k)
        lost = kinds.loc[channel].map(lambda k: "checkout" in k and "purchase" not in k)
        assert by_channel.loc[channel, "drop_off"] == pytest.approx(lost.sum() / checkout.sum(), abs=1e-12)
        assert by_channel.loc[channel, "drop_off"] == pytest.approx(planted, abs=tolerance)
    # and the stage's own product names the checkout as the app's largest drop over the period...
    facts = io.read_json(stage.folder / catalog.file_of("behaviour_facts"))
    assert facts["has_events"] and facts["funnel_steps"] == params.behaviour.funnel_steps


def test_needs_analysis_is_the_pipelines_bottleneck(stage, clean) -> None:
    params = stage.params
    stages = params.sources.leads.stages
    con = engine.connect()
    leads = pipeline.lead_table(io.read_table(con, clean["leads"]), stages, params.as_of)
    table = pipeline.stage_table(leads, stages, params.period_start, params.as_of).set_index("stage")
    found = pipeline.bottleneck(table.reset_index())
    assert found["lowest_stage"] == found["slowest_stage"] == "needs analysis" and found["same"]
    for name, (rate, median) in EFFECTS.stage_conversion.items():
        assert table.loc[name, "conversion"] == pytest.approx(rate, abs=0.07)
        assert table.loc[name, "median_days"] == pytest.approx(median, rel=0.25)
    written = io.read_json(stage.folder / catalog.file_of("behaviour_facts"))["bottleneck"]
    assert written["lowest_stage"] == "needs analysis" and written["same"]
    product = io.read_parquet(stage.folder / catalog.file_of("pipeline")).set_index("stage")
    assert product.loc["needs analysis", "conversion"] == pytest.approx(
        table.loc["needs analysis", "conversion"]
    )


def test_west_customers_buy_outdoor_about_three_times_as_much(stage, clean) -> None:
    params = stage.params
    con = engine.connect()
    regions = behaviour.region_interest(
        io.read_table(con, clean["events"]),
        io.read_table(con, clean["transactions"]),
        io.read_table(con, clean["customers"]),
        params.as_of,
    ).set_index(["region", "category"])
    west, category, _ = EFFECTS.region_category
    assert regions.loc[(west, category), "line_ratio"] == pytest.approx(3.0, abs=0.4)
    others = regions.xs(category, level="category").drop(index=west)
    assert (others["line_ratio"] < 1).all()
    # Independent pandas count of the views ratio.
    people = pd.read_parquet(clean["customers"], columns=["customer_id", "region"]).dropna()
    views = pd.read_parquet(clean["events"], columns=["event_ts", "customer_id", "event_type", "category"])
    views = views[(views["event_type"] == "product_view") & views["category"].notna()]
    views = views[views["event_ts"] < pd.Timestamp(params.as_of + dt.timedelta(days=1))].merge(
        people, on="customer_id"
    )
    in_west = views["region"] == west
    ratio = (views.loc[in_west, "category"] == category).mean() / (
        views.loc[~in_west, "category"] == category
    ).mean()
    assert regions.loc[(west, category), "view_ratio"] == pytest.approx(ratio, rel=1e-12)
    assert 1.5 < ratio < regions.loc[(west, category), "line_ratio"]
    facts = io.read_json(stage.folder / catalog.file_of("behaviour_facts"))
    assert facts["region_top"]["region"] == west and facts["region_top"]["category"] == category
