"""Persona cards (helpers.personas) from hand-made products: each part from the product that has it,
nothing said of what the period lacks, small clusters left out."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from helpers import catalog, personas
from helpers.config import RfmConfig

from conftest import DEMO, DEMO_PERIOD
from conftest import products as product_folder

AS_OF = dt.date(2024, 12, 31)


def products():
    clusters = pd.DataFrame(
        {
            "customer_id": list("abcdef"),
            "cluster": [0, 0, 0, 0, 1, 1],
            "cluster_name": ["n0"] * 4 + ["n1"] * 2,
        }
    )
    rfm = pd.DataFrame(
        {
            "customer_id": list("abcdef"),
            "frequency_orders": [1, 1, 1, 3, 10, 12],
            "recency_days": [300, 200, 100, 250, 5, 15],
            "monetary_total": [10.0, 20.0, 30.0, 40.0, 500.0, 400.0],
            "avg_order_value": [10.0, 20.0, 30.0, 13.0, 50.0, 33.0],
            "segment": ["Long Gone", "Long Gone", "Hibernating", "Long Gone", "Champions", "Champions"],
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": list("abcdef"),
            "birth_date": ["1990-06-01", "1991-01-01", None, "1950-01-01", "1980-01-01", "1985-01-01"],
            "region": ["West", "West", "East", "West", "North", "North"],
        }
    )
    engagement = pd.DataFrame(
        {
            "customer_id": ["a", "b", "e"],
            "sessions": [4, 2, 30],
            "share_web": [1.0, 0.0, 0.2],
            "share_app": [0.0, 1.0, 0.8],
            "share_store": [0.0, 0.0, 0.0],
            "top_category": ["Outdoor", "Outdoor", "Books"],
        }
    )
    voice = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "e"],
            "latest_nps": [10, 3, None, 9],
            "complaints": [1, 0, 0, 0],
            "open_complaints": [1, 0, 0, 0],
        }
    )
    return clusters, rfm, customers, engagement, voice


def test_the_profile_of_each_cluster_by_hand() -> None:
    clusters, rfm, customers, engagement, voice = products()
    profile = personas.persona_profile(clusters, rfm, AS_OF, None, customers, engagement, voice).set_index(
        "cluster"
    )
    small = profile.loc[0]
    assert small["customers"] == 4 and small["share_of_spend"] == 100 / 1000
    assert small["median_orders"] == 1 and small["median_recency_days"] == 225
    # Ages at the end of 2024: 34, 33, unknown, 74: the 25-34 band holds 2 of the 3 known.
    assert small["age_band"] == "25-34" and small["age_band_share"] == 2 / 3
    assert small["region"] == "West" and small["region_share"] == 3 / 4
    # Visits: a 4, b 2, c and d none (0): median 1; a's 4 on the web, b's 2 in the app: web 4 of 6 visits.
    assert (
        small["median_sessions"] == 1
        and small["main_channel"] == "web"
        and small["main_channel_share"] == 4 / 6
        and small["top_category"] == "Outdoor"
    )
    # Latest NPS answers 10 and 3: one promoter, one detractor: 0 from 2 answers; a has an open complaint.
    assert small["nps"] == 0 and small["nps_answers"] == 2 and small["open_complaint_share"] == 1 / 4
    assert small["segment"] == "Long Gone" and small["segment_share"] == 3 / 4


def test_cards_say_only_what_the_period_has_and_leave_small_clusters_out() -> None:
    clusters, rfm, customers, engagement, voice = products()
    profile = personas.persona_profile(clusters, rfm, AS_OF, None, customers, engagement, voice)
    cards = personas.persona_cards(
        profile, RfmConfig().segments, "en", "USD", min_group_size=3, min_answers=2
    )
    assert [title for title, _ in cards] == ["n0: 4 customers (66.7% of customers, 10.0% of spend)"]
    lines = cards[0][1]
    # Ages 34, 33, 74 known in n0 (25-34: 2 of 3) and 34, 33, 74, 44, 39 in all (2 of 5); West 3 of 4
    # against 3 of 6 and East 1 of 4 against 1 of 6: both 1.5 times, West named for its larger share.
    assert lines[0] == (
        "Who they are: aged 25-34 (67%, against 40% of all customers) and from the West region (75%, "
        "against 50% of all customers)."
    )
    assert (
        lines[1]
        == "How they behave: 1 order, 225 days ago, 1 visit, mostly by the web (67% of visits) and most "
        "interested in Outdoor (100%, against 67% of all customers)."
    )
    assert lines[2] == "What they are worth: $25.00 spent in all, $16.50 an order."
    assert lines[3] == "What they say: NPS 0 (2 answers) and 25.0% with an open complaint."
    assert lines[4].startswith("What to do: most are Long Gone (75%): ")
    # Feedback without a single complaint: nothing said of open complaints.
    voice["complaints"] = voice["open_complaints"] = 0
    quiet = personas.persona_profile(clusters, rfm, AS_OF, None, customers, engagement, voice)
    assert "open_complaint_share" not in quiet.columns and quiet.loc[0, "nps_answers"] == 2
    # Orders only: no who, no visits, no voice.
    bare = personas.persona_cards(
        personas.persona_profile(clusters, rfm, AS_OF), RfmConfig().segments, "en", "USD", 1
    )
    assert [line.split(":")[0] for line in bare[0][1]] == [
        "How they behave",
        "What they are worth",
        "What to do",
    ]


def test_a_trait_is_named_only_where_it_stands_out_and_the_action_says_how_many_it_fits() -> None:
    clusters, rfm, customers, engagement, voice = products()
    customers["region"] = "West"  # everyone: the region sets no cluster apart
    rfm["segment"] = ["Hibernating", "Long Gone", "Long Gone", "Champions", "Champions", "Champions"]
    profile = personas.persona_profile(clusters, rfm, AS_OF, None, customers, engagement, voice)
    assert profile.loc[0, "region_share"] == 1.0 and profile.loc[0, "region_overall"] == 1.0
    assert "region_standout" not in profile.columns and profile.loc[0, "age_band_standout"] == "25-34"
    # One-letter genders in any case are one value: n0 holds m, M, F, m (M 3 of 4), everyone 4 of 6.
    customers["gender"] = ["m", "M", "F", "m", " m", "w"]
    with_gender = personas.persona_profile(clusters, rfm, AS_OF, None, customers, None, None)
    assert (with_gender.loc[0, "gender"], with_gender.loc[0, "gender_share"]) == ("M", 0.75)
    assert with_gender.loc[0, "gender_overall"] == 4 / 6 and with_gender.loc[1, "gender"] == "M"
    # n1 (e, f): aged 44 and 39: 35-44 for both, against 2 of the 5 known ages.
    assert (
        profile.loc[1, "age_band_standout"] == "35-44" and profile.loc[1, "age_band_standout_overall"] == 0.4
    )
    cards = personas.persona_cards(profile, RfmConfig().segments, "en", "USD", min_group_size=2)
    lines = dict(cards)["n0: 4 customers (66.7% of customers, 10.0% of spend)"]
    assert lines[0] == (
        "Who they are: aged 25-34 (67%, against 40% of all customers); like customers overall in region."
    )
    # Long Gone holds 2 of 4: the largest group, not "most".
    assert lines[-1].startswith("What to do: the largest group (50%) are Long Gone: ")
    assert dict(cards)["n1: 2 customers (33.3% of customers, 90.0% of spend)"][-1].startswith(
        "What to do: most are Champions (100%): "
    )
    assert personas.intro("en").endswith(
        "a trait held by at least 20% of the cluster and by at least 1.25 times as large a share as among "
        "all customers:"
    )


def test_the_demo_shops_west_persona_is_most_interested_in_outdoor(demo_planted) -> None:
    """Planted effect 6 (West customers weight Outdoor x 5) as a persona: the demo clusters on the region
    too, and the West's cluster names Outdoor as its interest, well above everyone's share; its page
    prints the card."""
    folder = product_folder(demo_planted, DEMO_PERIOD, DEMO)
    read = {key: pd.read_parquet(folder / catalog.file_of(key)) for key in ("clusters", "rfm", "engagement")}
    customers = pd.read_parquet(folder / catalog.file_of("clean:customers"))
    profile = personas.persona_profile(
        read["clusters"], read["rfm"], AS_OF, None, customers, read["engagement"]
    ).set_index("region")
    assert sorted(profile.index) == ["Central", "East", "North", "South", "West"]
    assert (profile["region_share"] == 1.0).all()
    west = profile.loc["West"]
    assert west["top_category_standout"] == "Outdoor"
    assert west["top_category_standout_share"] > 0.45 and west["top_category_standout_overall"] < 0.3
    others = profile.drop(index="West")
    assert (others["top_category"] != "Outdoor").all()
    page = (demo_planted / "reports" / DEMO / DEMO_PERIOD / "index.html").read_text()
    share = f"{west['top_category_standout_share']:.0%}"
    assert f"most interested in Outdoor ({share}, against" in page


def test_a_cluster_whose_members_mostly_never_visited_says_so_without_a_channel() -> None:
    clusters, rfm, customers, engagement, voice = products()
    profile = personas.persona_profile(clusters, rfm, AS_OF, None, None, engagement.iloc[:1], None)
    # n0: a made 4 visits on the web, b, c and d none: median 0.
    assert profile.loc[0, "median_sessions"] == 0 and profile.loc[0, "main_channel"] == "web"
    cards = dict(personas.persona_cards(profile, RfmConfig().segments, "en", "USD", min_group_size=1))
    behave = cards["n0: 4 customers (66.7% of customers, 10.0% of spend)"][0]
    assert behave.startswith("How they behave: 1 order, 225 days ago, most made no visit and most interested")
    assert "by the web" not in behave
