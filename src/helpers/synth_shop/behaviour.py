"""Web, app and store behaviour: the sessions around every order and the ones that stop earlier (the
planted checkout loss), with signed-in and anonymous events on each customer's devices."""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.synth_shop.rules import EFFECTS, SEARCH_TERMS
from helpers.synth_shop.world import pick, product_table

LOGGED_IN = {"web": 0.35, "app": 0.9}  # a session is signed in from its start with this probability
CHECKOUT_RANK, PURCHASE_RANK = 100, 101


def _device_ids(people: pd.DataFrame, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's web cookie and app device id; 2% share their web cookie with another customer (a
    household computer: the events of that cookie cannot be linked to one person)."""
    n = len(people)
    web = np.char.add("w-", np.char.zfill(np.char.mod("%x", rng.integers(0, 2**40, n)), 10))
    app = np.char.add("a-", np.char.zfill(np.char.mod("%x", rng.integers(0, 2**40, n)), 10))
    shared = np.flatnonzero(rng.random(n) < 0.02)
    web[shared] = web[rng.integers(0, n, shared.size)]
    return web, app


def _sessions(
    orders: pd.DataFrame, people: pd.DataFrame, rng: np.random.Generator, days: int
) -> pd.DataFrame:
    """One row per session: the purchase session of every web and app order, sessions that stop at
    checkout (the planted loss: their number per purchase is (1 - conversion) / conversion by channel),
    at the cart or after browsing, browsing prospects, and anonymous visitors."""
    online = orders[orders["channel"] != "store"]
    parts = [
        pd.DataFrame(
            {
                "customer": online["customer"].to_numpy(),
                "channel": online["channel"].to_numpy(),
                "day": online["day"].to_numpy(),
                "kind": "purchase",
                "order": online.index.to_numpy(),
            }
        )
    ]
    conversion = np.array([EFFECTS.checkout_conversion[c] for c in online["channel"]])
    for kind, mean in (("checkout", (1 - conversion) / conversion), ("cart", 0.5), ("browse", 0.8)):
        count = rng.poisson(np.broadcast_to(mean, len(online)))
        base = np.repeat(np.arange(len(online)), count)
        day = np.maximum(online["day"].to_numpy()[base] - rng.uniform(0.0, 60.0, base.size), 0.0)
        parts.append(
            pd.DataFrame(
                {
                    "customer": online["customer"].to_numpy()[base],
                    "channel": online["channel"].to_numpy()[base],
                    "day": day,
                    "kind": kind,
                    "order": -1,
                }
            )
        )
    prospects = people.index[~people["buyer"]].to_numpy()
    count = rng.poisson(2.0, prospects.size)
    owner = np.repeat(prospects, count)
    start = np.maximum(people["signup_day"].to_numpy()[owner], 0.0)
    parts.append(
        pd.DataFrame(
            {
                "customer": owner,
                "channel": pick(rng, ("web", "app"), owner.size, (0.6, 0.4)),
                "day": start + rng.random(owner.size) * (days - start),
                "kind": "browse",
                "order": -1,
            }
        )
    )
    visitors = len(people) // 2
    count = 1 + rng.poisson(0.5, visitors)
    parts.append(
        pd.DataFrame(
            {
                "customer": -1 - np.repeat(np.arange(visitors), count),  # negative: never a customer
                "channel": pick(rng, ("web", "app"), int(count.sum()), (0.7, 0.3)),
                "day": rng.uniform(0.0, days, int(count.sum())),
                "kind": "browse",
                "order": -1,
            }
        )
    )
    sessions = pd.concat(parts, ignore_index=True)
    sessions["signed_in"] = rng.random(len(sessions)) < sessions["channel"].map(LOGGED_IN).to_numpy()
    return sessions


def draw_events(
    orders: pd.DataFrame, lines: pd.DataFrame, people: pd.DataFrame, rng: np.random.Generator, days: int
) -> pd.DataFrame:
    """Behaviour events of every session, in order: app_open (app), page views, product views and adds
    to cart, checkout and purchase (a purchase session ends at its order's time); a store order is one
    store visit. Signed-out events carry only the device's anonymous id; from checkout on every event
    carries the customer id."""
    products = product_table()
    sessions = _sessions(orders, people, rng, days)
    n = len(sessions)
    steps = []  # (session, rank, event type, product number or 0)
    app = np.flatnonzero(sessions["channel"].to_numpy() == "app")
    steps.append((app, np.zeros(app.size), "app_open", np.zeros(app.size)))
    views = 1 + rng.poisson(0.6, n)
    owner = np.repeat(np.arange(n), views)
    steps.append(
        (
            owner,
            1 + np.arange(owner.size) - np.repeat(np.cumsum(views) - views, views),
            "page_view",
            np.zeros(owner.size),
        )
    )
    kind = sessions["kind"].to_numpy()
    purchase = np.flatnonzero(kind == "purchase")
    session_of_order = pd.Series(purchase, index=sessions["order"].to_numpy()[purchase])
    bought = lines[lines["order"].isin(session_of_order.index)]
    session = session_of_order.loc[bought["order"].to_numpy()].to_numpy()
    position = bought.groupby("order").cumcount().to_numpy()
    steps.append((session, 10 + 2 * position, "product_view", bought["product"].to_numpy()))
    steps.append((session, 11 + 2 * position, "add_to_cart", bought["product"].to_numpy()))
    browsing = np.flatnonzero(kind != "purchase")
    picks = 1 + (rng.random(browsing.size) < 0.4)
    owner = np.repeat(browsing, picks)
    product = rng.integers(1, len(products) + 1, owner.size)
    rank = 10 + 2 * (np.arange(owner.size) - np.repeat(np.cumsum(picks) - picks, picks))
    steps.append((owner, rank, "product_view", product))
    carting = np.isin(kind[owner], ("checkout", "cart"))
    steps.append((owner[carting], rank[carting] + 1, "add_to_cart", product[carting]))
    searching = browsing[kind[browsing] == "browse"]
    steps.append((searching, np.full(searching.size, 5), "search", np.zeros(searching.size)))
    ending = np.flatnonzero(np.isin(kind, ("purchase", "checkout")))
    steps.append((ending, np.full(ending.size, CHECKOUT_RANK), "checkout", np.zeros(ending.size)))
    steps.append((purchase, np.full(purchase.size, PURCHASE_RANK), "purchase", np.zeros(purchase.size)))
    events = pd.DataFrame(
        {
            "session": np.concatenate([s[0] for s in steps]).astype("int64"),
            "rank": np.concatenate([s[1] for s in steps]).astype("int64"),
            "event_type": np.concatenate([np.full(len(s[0]), s[2], dtype=object) for s in steps]),
            "product": np.concatenate([s[3] for s in steps]).astype("int64"),
        }
    ).sort_values(["session", "rank"], kind="mergesort")
    size = events.groupby("session").size().reindex(range(n), fill_value=0).to_numpy()
    position = events.groupby("session").cumcount().to_numpy()
    gap = 40.0 / 86_400  # 40 seconds between two events of a session
    # A purchase lands just before its order; no session starts before the data do.
    session_start = np.maximum(sessions["day"].to_numpy() - size * gap, 0.0)
    s = events["session"].to_numpy()
    events["day"] = session_start[s] + position * gap
    customer = sessions["customer"].to_numpy()[s]
    channel = sessions["channel"].to_numpy()[s]
    web_id, app_id = _device_ids(people, rng)
    known = customer >= 0
    device = np.where(
        channel == "app", app_id[np.where(known, customer, 0)], web_id[np.where(known, customer, 0)]
    )
    visitor = np.char.add("v-", np.char.zfill(np.char.mod("%x", (-customer - 1) * 7919 + 104_729), 10))
    events["anonymous_id"] = np.where(known, device, visitor)
    signed = known & (sessions["signed_in"].to_numpy()[s] | (events["rank"].to_numpy() >= CHECKOUT_RANK))
    ids = people["customer_id"].to_numpy()
    events["customer_id"] = np.where(signed, ids[np.where(known, customer, 0)], None)
    events["channel"] = channel
    events["session_id"] = np.char.add("S", np.char.zfill(s.astype(str), 8))
    store = orders[orders["channel"] == "store"]
    visits = pd.DataFrame(
        {
            "session": -1,
            "rank": 0,
            "event_type": "store_visit",
            "product": 0,
            "day": store["day"].to_numpy(),
            "anonymous_id": None,
            "customer_id": ids[store["customer"].to_numpy()],
            "channel": "store",
            "session_id": None,
        }
    )
    events = pd.concat([events, visits], ignore_index=True)
    catalog = product_table().set_index(np.arange(1, len(products) + 1))
    has_product = events["product"].to_numpy() > 0
    product_index = np.where(has_product, events["product"].to_numpy(), 1)
    events["product_id"] = np.where(has_product, catalog["product_id"].to_numpy()[product_index - 1], None)
    events["category"] = np.where(has_product, catalog["category"].to_numpy()[product_index - 1], None)
    pages = {"page_view": "/", "add_to_cart": "/cart", "checkout": "/checkout", "purchase": "/checkout/done"}
    pages |= {"search": "/search", "app_open": None, "store_visit": None}
    events["page"] = events["event_type"].map(pages)
    is_view = events["event_type"].to_numpy() == "product_view"
    events.loc[is_view, "page"] = "/product/" + events.loc[is_view, "product_id"]
    is_search = events["event_type"].to_numpy() == "search"
    terms = pick(rng, SEARCH_TERMS, int(is_search.sum()))
    events.loc[is_search, "search_term"] = terms
    return events.sort_values(["day", "session"], kind="mergesort").reset_index(drop=True)
