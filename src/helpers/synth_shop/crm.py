"""What customers say and how the sales team works: contacts, survey answers (the planted NPS by
segment), complaints written by people, reviews, and sales leads through the pipeline (the planted
bottleneck)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.synth_shop.rules import COMPLAINT_TEXTS, CONTACT_TOPICS, EFFECTS, STAGES
from helpers.synth_shop.world import card_numbers, id_numbers, pick, product_table


def order_ids_by_index(orders: pd.DataFrame) -> pd.Series:
    """Order id by order index: "O" and seven digits, numbered in time order."""
    return pd.Series(
        np.char.add("O", np.char.zfill(np.arange(1, len(orders) + 1).astype(str), 7)), index=orders.index
    )


def _person_values(people: pd.DataFrame, customer: np.ndarray, rng: np.random.Generator) -> dict:
    """What a text may name about each of these customers (their order ids are added by the caller):
    language, name, e-mail, phone (as the customers file writes it, or without its country prefix), an
    id number and a card number."""
    phone = people["phone"].to_numpy()[customer].astype(str)
    local = np.char.replace(np.char.replace(phone, "+86 ", ""), "+44 ", "0")
    return {
        "language": people["language"].to_numpy()[customer],
        "name": people["name"].to_numpy()[customer],
        "email": people["email"].to_numpy()[customer],
        "phone": np.where(rng.random(customer.size) < 0.5, phone, local),
        "card": card_numbers(rng, customer.size),
        "id_number": id_numbers(rng, customer.size),
    }


def _filled(templates: dict[str, list], values: dict, rng: np.random.Generator) -> list[tuple]:
    """For each row, a template of its language picked at random and filled with the row's values
    (a template is a text, or a (category, text) pair)."""
    out = []
    picks = rng.random(len(values["language"]))
    for i, language in enumerate(values["language"]):
        options = templates[language]
        chosen = options[int(picks[i] * len(options))]
        category, template = chosen if isinstance(chosen, tuple) else (None, chosen)
        out.append((category, template.format(**{k: v[i] for k, v in values.items() if k != "language"})))
    return out


def _complaint_texts(
    complaints: pd.DataFrame, people: pd.DataFrame, order_ids: pd.Series, rng: np.random.Generator
) -> pd.DataFrame:
    """Category and text of each complaint, in the customer's language."""
    values = _person_values(people, complaints["customer"].to_numpy(), rng)
    values["order"] = order_ids.loc[complaints.index].to_numpy()
    return pd.DataFrame(_filled(COMPLAINT_TEXTS, values, rng), columns=["category", "text"])


def draw_feedback(
    orders: pd.DataFrame,
    lines: pd.DataFrame,
    complaints: pd.DataFrame,
    people: pd.DataFrame,
    order_ids: pd.Series,
    rng: np.random.Generator,
    days: int,
) -> pd.DataFrame:
    """Survey answers after a share of orders (score by the customer's hidden segment: the planted NPS
    differences), the complaints (text in the customer's language, some naming the customer's e-mail,
    phone, name, an id number or a card number), and product reviews."""
    surveyed = orders[rng.random(len(orders)) < 0.08]
    day = surveyed["day"].to_numpy() + rng.uniform(2.0, 10.0, len(surveyed))
    segment = people["segment"].to_numpy()[surveyed["customer"].to_numpy()]
    draw = rng.random(len(surveyed))
    mix = np.array([EFFECTS.nps_mix[s] for s in segment])
    group = (draw[:, None] > mix.cumsum(axis=1)).sum(axis=1)  # 0 promoter, 1 passive, 2 detractor
    score = np.select(
        [group == 0, group == 1],
        [rng.integers(9, 11, group.size), rng.integers(7, 9, group.size)],
        rng.integers(0, 7, group.size),
    )
    surveys = pd.DataFrame(
        {
            "customer": surveyed["customer"].to_numpy(),
            "day": day,
            "kind": "survey",
            "score": score.astype(str),
            "category": None,
            "text": None,
            "status": None,
            "resolved_day": np.nan,
        }
    )
    resolved = complaints["resolved"] & (complaints["resolved_day"] < days)  # later: still open at the end
    complaint_rows = pd.DataFrame(
        {
            "customer": complaints["customer"].to_numpy(),
            "day": complaints["complaint_day"].to_numpy(),
            "kind": "complaint",
            "score": "",
            "status": np.where(resolved, "resolved", "open"),
            "resolved_day": np.where(resolved, complaints["resolved_day"], np.nan),
        }
    )
    complaint_rows[["category", "text"]] = _complaint_texts(complaints, people, order_ids, rng)
    reviewed = lines[rng.random(len(lines)) < 0.04]
    review_orders = orders.loc[reviewed["order"].to_numpy()]
    stars = pick(rng, ("5", "4", "3", "2", "1"), len(reviewed), (0.45, 0.3, 0.12, 0.08, 0.05))
    language = people["language"].to_numpy()[review_orders["customer"].to_numpy()]
    good = np.isin(stars, ("4", "5"))
    text = np.where(
        language == "zh",
        np.where(good, "很好用，推荐", "质量一般"),
        np.where(good, "Great product", "Not as described"),
    )
    reviews = pd.DataFrame(
        {
            "customer": review_orders["customer"].to_numpy(),
            "day": review_orders["day"].to_numpy() + rng.uniform(3.0, 20.0, len(reviewed)),
            "kind": "review",
            "score": stars,
            "category": product_table()["category"].to_numpy()[reviewed["product"].to_numpy() - 1],
            "text": text,
            "status": None,
            "resolved_day": np.nan,
        }
    )
    feedback = pd.concat([surveys, complaint_rows, reviews], ignore_index=True)
    feedback = feedback[feedback["day"] < days]
    return feedback.sort_values(["day", "customer"], kind="mergesort").reset_index(drop=True)


def draw_interactions(
    orders: pd.DataFrame,
    complaints: pd.DataFrame,
    people: pd.DataFrame,
    order_ids: pd.Series,
    rng: np.random.Generator,
    days: int,
) -> pd.DataFrame:
    """Service contacts after orders, a contact for every complaint, outbound offer calls and event
    visits; topics in the customer's language, some naming a phone number."""
    asked = orders[rng.random(len(orders)) < 0.12]
    contacts = pd.DataFrame(
        {
            "customer": np.concatenate([asked["customer"].to_numpy(), complaints["customer"].to_numpy()]),
            "day": np.concatenate(
                [
                    asked["day"].to_numpy() + rng.uniform(0.0, 20.0, len(asked)),
                    complaints["complaint_day"].to_numpy() + 0.01,
                ]
            ),
            "order": np.concatenate([asked.index.to_numpy(), complaints.index.to_numpy()]),
            "complaint": np.concatenate([np.zeros(len(asked), bool), np.ones(len(complaints), bool)]),
        }
    )
    contacts["channel"] = pick(rng, ("phone", "email", "chat", "social"), len(contacts), (0.4, 0.3, 0.2, 0.1))
    contacts["direction"] = "inbound"
    values = _person_values(people, contacts["customer"].to_numpy(), rng)
    values["order"] = order_ids.loc[contacts["order"].to_numpy()].to_numpy()
    topics = np.array([text for _, text in _filled(CONTACT_TOPICS, values, rng)], dtype=object)
    order = values["order"][contacts["complaint"].to_numpy()]
    english = values["language"][contacts["complaint"].to_numpy()] == "en"
    topics[contacts["complaint"].to_numpy()] = np.where(
        english,
        np.char.add("Complaint about order ", order.astype(str)),
        np.char.add("投诉订单", order.astype(str)),
    )
    contacts["topic"] = topics
    contacts["outcome"] = pick(rng, ("answered", "follow-up", "resolved"), len(contacts), (0.5, 0.2, 0.3))
    called = people.index[rng.random(len(people)) < 0.05].to_numpy()
    count = 1 + rng.poisson(0.5, called.size)
    owner = np.repeat(called, count)
    outbound = pd.DataFrame(
        {
            "customer": owner,
            "day": rng.uniform(0.0, days, owner.size),
            "channel": "phone",
            "direction": "outbound",
            "topic": np.where(people["language"].to_numpy()[owner] == "zh", "会员活动邀请", "Offer call"),
            "outcome": pick(rng, ("no answer", "interested", "declined"), owner.size, (0.5, 0.2, 0.3)),
        }
    )
    guests = people.index[rng.random(len(people)) < 0.03].to_numpy()
    visits = pd.DataFrame(
        {
            "customer": guests,
            "day": rng.uniform(0.0, days, guests.size),
            "channel": "event",
            "direction": "inbound",
            "topic": "Attended a product launch",
            "outcome": "attended",
        }
    )
    interactions = pd.concat(
        [contacts.drop(columns=["order", "complaint"]), outbound, visits], ignore_index=True
    )
    talking = interactions["channel"].isin(["phone", "chat"]).to_numpy()
    interactions["duration_s"] = np.where(talking, np.round(rng.gamma(2.0, 150.0, len(interactions))), np.nan)
    interactions = interactions[interactions["day"] < days]
    return interactions.sort_values(["day", "customer"], kind="mergesort").reset_index(drop=True)


def draw_leads(people: pd.DataFrame, rng: np.random.Generator, days: int) -> pd.DataFrame:
    """Sales leads (corporate gifts and bulk orders): each enters 'lead', moves on to each next stage
    with the stage's planted probability after a log-normal wait with the stage's median, and is won at
    'contract' (then linked to a customer). One row per stage entry reached before the end of the data."""
    n = max(20, len(people) // 10)
    created = rng.uniform(0.0, days - 1.0, n)
    rows = [(np.arange(n), np.zeros(n, dtype=int), created)]
    alive, day = np.ones(n, bool), created.copy()
    for position, stage in enumerate(STAGES[:-1]):
        probability, median = EFFECTS.stage_conversion[stage]
        moves = alive & (rng.random(n) < probability)
        day = day + np.exp(rng.normal(np.log(median), 0.6, n))
        alive = moves & (day < days)
        rows.append((np.flatnonzero(alive), np.full(int(alive.sum()), position + 1), day[alive]))
    lead = np.concatenate([r[0] for r in rows])
    stage = np.concatenate([r[1] for r in rows])
    entered = np.concatenate([r[2] for r in rows])
    leads = pd.DataFrame({"lead": lead, "stage": np.array(STAGES)[stage], "position": stage, "day": entered})
    last = leads.groupby("lead").agg(top=("position", "max"), last_day=("day", "max"))
    outcome = np.where(
        last["top"] == len(STAGES) - 1, "won", np.where(last["last_day"] + 30 < days, "lost", "open")
    )
    winners = people["customer_id"].to_numpy()[rng.integers(0, len(people), n)]
    leads["outcome"] = outcome[leads["lead"].to_numpy()]
    leads["customer_id"] = np.where(leads["outcome"] == "won", winners[leads["lead"].to_numpy()], None)
    leads["created_day"] = created[leads["lead"].to_numpy()]
    leads["source"] = pick(rng, ("web form", "trade fair", "referral", "cold call"), n)[
        leads["lead"].to_numpy()
    ]
    leads["campaign"] = np.where(created < days / 2, "spring-2023", "spring-2024")[leads["lead"].to_numpy()]
    leads["expected_value"] = np.round(np.exp(rng.normal(8.5, 0.8, n)), -1)[leads["lead"].to_numpy()]
    return leads.sort_values(["day", "lead"], kind="mergesort").reset_index(drop=True)
