"""The people and what they buy: customers with their hidden segment, their orders (a Poisson process
to their churn), complaints that end some relationships, and order lines with the planted pair and the
region's taste."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from helpers.synth_shop.rules import (
    AREA_CODES,
    CATEGORIES,
    CHANNEL_SHARES,
    CHANNELS,
    CITIES,
    DAYS_BETWEEN_ORDERS,
    EFFECTS,
    FIRST_EN,
    GIVEN_ZH,
    LAST_EN,
    MONTHLY_CHURN,
    PRODUCTS_PER_CATEGORY,
    PROSPECT_SHARE,
    REGIONS,
    SEGMENT_SHARES,
    SEGMENTS,
    SURNAMES_ZH,
)


def days_to_ts(start: dt.date, days: np.ndarray) -> pd.Series:
    """Fractional days since ``start`` as timestamps to the second."""
    seconds = np.floor(np.asarray(days, dtype="float64") * 86_400).astype("int64")
    return pd.Series(np.datetime64(start.isoformat(), "s") + seconds.astype("timedelta64[s]"))


def pick(rng: np.random.Generator, options, n: int, p=None) -> np.ndarray:
    return np.asarray(options, dtype=object)[rng.choice(len(options), n, p=p)]


def id_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """Mainland China resident id numbers with a valid check digit (ISO 7064 MOD 11-2)."""
    area = pick(rng, AREA_CODES, n)
    born = pd.Timestamp("1950-01-01") + pd.to_timedelta(rng.integers(0, 20_000, n), "D")
    body = area + born.strftime("%Y%m%d").to_numpy() + np.char.zfill(rng.integers(0, 1000, n).astype(str), 3)
    weights = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
    digits = np.array([[int(c) for c in b] for b in body])
    check = np.array(list("10X98765432"))[(digits * weights).sum(axis=1) % 11]
    return np.char.add(body.astype(str), check)


def card_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    groups = [rng.integers(1000, 10_000, n).astype(str) for _ in range(3)]
    first = pick(rng, ("4571", "6222", "5187"), n)
    return np.array([f"{a} {b} {c} {d}" for a, b, c, d in zip(first, *groups)])


def draw_customers(n: int, rng: np.random.Generator, days: int) -> pd.DataFrame:
    """The people: hidden segment, buyer or prospect, signup, region, demographics, identifiers and
    their purchase process (rate, natural end)."""
    segment = pick(rng, SEGMENTS, n, SEGMENT_SHARES)
    region = pick(rng, REGIONS, n)
    chinese = rng.random(n) < 0.7
    surname, given = pick(rng, SURNAMES_ZH, n), pick(rng, GIVEN_ZH, n)
    given2 = np.where(rng.random(n) < 0.5, pick(rng, GIVEN_ZH, n), "")
    first, last = pick(rng, FIRST_EN, n), pick(rng, LAST_EN, n)
    number = np.arange(1, n + 1)
    name = np.where(chinese, surname + given + given2, first + " " + last)
    handle = np.where(  # Chinese customers: userNNNNN; others: first.lastNNNNN
        chinese, "user", np.char.lower((first + "." + last).astype(str))
    )
    email = np.char.add(
        np.char.add(handle.astype(str), np.char.zfill(number.astype(str), 5)), "@mail.example"
    )
    mobile = np.char.add("13", np.char.zfill(rng.integers(0, 10**9, n).astype(str), 9))
    phone = np.where(
        chinese,
        np.char.add("+86 ", mobile),
        np.char.add("+44 7700 9", np.char.zfill(rng.integers(0, 10**5, n).astype(str), 5)),
    )
    signup = rng.uniform(-365.0, days - 30.0, n)
    mean_gap = np.array([DAYS_BETWEEN_ORDERS[s] for s in segment])
    churn = np.array([MONTHLY_CHURN[s] for s in segment])
    active_from = np.maximum(signup, 0.0) + rng.exponential(10.0, n)
    lifetime = rng.exponential(30.0 / -np.log1p(-churn))
    born = pd.Timestamp("1950-01-01") + pd.to_timedelta(rng.integers(0, 365 * 55, n), "D")
    return pd.DataFrame(
        {
            "customer_id": np.char.add("C", np.char.zfill(number.astype(str), 6)),
            "segment": segment,
            "buyer": rng.random(n) >= PROSPECT_SHARE,
            "signup_day": signup,
            "active_from": active_from,
            "end_day": np.minimum(active_from + lifetime, days),
            "rate": rng.gamma(3.0, 1.0 / (3.0 * mean_gap)),
            "region": region,
            "city": [CITIES[r][i] for r, i in zip(region, rng.integers(0, 3, n))],
            "language": np.where(chinese, "zh", "en"),
            "gender": pick(rng, ("F", "M", "female", "male", "f", ""), n, (0.4, 0.4, 0.05, 0.05, 0.05, 0.05)),
            "income_band": pick(rng, ("<30k", "30-60k", "60-100k", ">100k"), n, (0.3, 0.35, 0.25, 0.1)),
            "acquisition_channel": pick(rng, ("search", "social", "referral", "store", "marketplace"), n),
            "consent": rng.random(n) < 0.65,
            "birth": born,
            "preferred_channel": pick(rng, CHANNELS, n, CHANNEL_SHARES),
            "name": name,
            "email": email,
            "phone": phone,
            "address": np.char.add(
                rng.integers(1, 300, n).astype(str), np.where(chinese, "号 人民路", " High Street")
            ),
        }
    )


def draw_orders(people: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Orders of every buyer: a Poisson process at the customer's rate from their first active day to
    the end of their natural life (or of the data)."""
    buyers = people[people["buyer"]]
    span = np.maximum(buyers["end_day"].to_numpy() - buyers["active_from"].to_numpy(), 0.0)
    counts = rng.poisson(buyers["rate"].to_numpy() * span)
    owner = np.repeat(buyers.index.to_numpy(), counts)
    day = np.repeat(buyers["active_from"].to_numpy(), counts) + rng.random(owner.size) * np.repeat(
        span, counts
    )
    preferred = people["preferred_channel"].to_numpy()[owner]
    channel = np.where(
        rng.random(owner.size) < 0.8, preferred, pick(rng, CHANNELS, owner.size, CHANNEL_SHARES)
    )
    orders = pd.DataFrame({"customer": owner, "day": day, "channel": channel})
    return orders.sort_values(["day", "customer"], kind="mergesort").reset_index(drop=True)


def apply_complaints(
    orders: pd.DataFrame, people: pd.DataFrame, rng: np.random.Generator, days: int
) -> pd.DataFrame:
    """Complaints (a share of orders, 1-10 days later), each resolved or not; a customer's first
    complaint left unresolved ends their purchases with the planted probability. Returns the complaints;
    ``orders`` loses the orders after a customer left."""
    e = EFFECTS
    hit = rng.random(len(orders)) < e.complaint_share_of_orders
    complaints = orders[hit].assign(complaint_day=lambda f: f["day"] + rng.uniform(1.0, 10.0, len(f)))
    complaints = complaints[complaints["complaint_day"] < days]
    complaints = complaints.assign(
        resolved=rng.random(len(complaints)) < e.complaint_resolved_share,
        leaves=rng.random(len(complaints)) < e.unresolved_complaint_leave,
    )
    first = complaints.sort_values("complaint_day", kind="mergesort").drop_duplicates("customer")
    leaving = first[~first["resolved"] & first["leaves"]].set_index("customer")["complaint_day"]
    cutoff = orders["customer"].map(leaving)
    kept = cutoff.isna() | (orders["day"] <= cutoff)
    removed = orders.index[~kept]
    orders.drop(index=removed, inplace=True)
    complaints = complaints[complaints.index.isin(orders.index)]
    return complaints.assign(
        resolved_day=complaints["complaint_day"] + rng.uniform(0.5, 14.0, len(complaints))
    )


def draw_lines(orders: pd.DataFrame, people: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Order lines: 1-6 per order; the category by the customer's region (West weights Outdoor x5), the
    product within it by popularity; the planted pair; quantities and prices."""
    e = EFFECTS
    n_lines = 1 + np.minimum(rng.poisson(0.7, len(orders)), 5)
    order = np.repeat(orders.index.to_numpy(), n_lines)
    region = people["region"].to_numpy()[orders.loc[order, "customer"].to_numpy()]
    weights = np.ones((len(REGIONS), len(CATEGORIES)))
    region_name, category_name, factor = e.region_category
    weights[REGIONS.index(region_name), CATEGORIES.index(category_name)] = factor
    weights /= weights.sum(axis=1, keepdims=True)
    region_index = pd.Series(region).map({r: i for i, r in enumerate(REGIONS)}).to_numpy()
    cumulative = weights.cumsum(axis=1)[region_index]
    category = (rng.random(order.size)[:, None] > cumulative).sum(axis=1)
    popularity = 1.0 / np.arange(1, PRODUCTS_PER_CATEGORY + 1) ** 0.8
    popularity /= popularity.sum()
    rank = rng.choice(PRODUCTS_PER_CATEGORY, order.size, p=popularity)
    product = category * PRODUCTS_PER_CATEGORY + rank + 1
    lines = pd.DataFrame({"order": order, "product": product})
    lines = lines.drop_duplicates(["order", "product"])  # one line per product and order
    first, second = (int(p[1:]) for p in e.pair)
    has_first = lines.loc[lines["product"] == first, "order"].unique()
    has_second = set(lines.loc[lines["product"] == second, "order"])
    candidates = np.array([o for o in has_first if o not in has_second], dtype="int64")
    added = candidates[rng.random(candidates.size) < e.pair_add_probability]
    lines = pd.concat([lines, pd.DataFrame({"order": added, "product": second})], ignore_index=True)
    lines = lines.sort_values(["order", "product"], kind="mergesort").reset_index(drop=True)
    price = np.round(np.exp(rng.normal(3.3, 0.7, len(CATEGORIES) * PRODUCTS_PER_CATEGORY)), 0) - 0.01
    lines["quantity"] = pick(rng, (1, 2, 3), len(lines), (0.85, 0.12, 0.03)).astype("int64")
    lines["unit_price"] = price[lines["product"].to_numpy() - 1]
    return lines


def product_table() -> pd.DataFrame:
    """Product id, name and category (names are fixed; the pair is the coffee grinder and its beans)."""
    names = {
        "Outdoor": [
            "Tent",
            "Sleeping bag",
            "Hiking boots",
            "Backpack",
            "Camping stove",
            "Headlamp",
            "Trekking poles",
            "Water filter",
            "Rain jacket",
            "Folding chair",
        ],
        "Kitchen": [
            "Coffee grinder",
            "Coffee beans",
            "Kettle",
            "Chef knife",
            "Frying pan",
            "Rice cooker",
            "Tea set",
            "Blender",
            "Cutting board",
            "Spice rack",
        ],
        "Electronics": [
            "Headphones",
            "Phone charger",
            "Smart speaker",
            "Power bank",
            "E-reader",
            "Webcam",
            "Keyboard",
            "Mouse",
            "USB hub",
            "Fitness band",
        ],
        "Books": [
            "Novel",
            "Cookbook",
            "Travel guide",
            "Children's book",
            "Poetry",
            "Biography",
            "Comic",
            "Atlas",
            "Dictionary",
            "Puzzle book",
        ],
        "Beauty": [
            "Lipstick",
            "Face cream",
            "Shampoo",
            "Perfume",
            "Sunscreen",
            "Face mask",
            "Hair dryer",
            "Nail polish",
            "Body lotion",
            "Razor",
        ],
        "Toys": [
            "Lego set",
            "Plush bear",
            "Puzzle",
            "Toy car",
            "Board game",
            "Doll",
            "Kite",
            "Yo-yo",
            "Building blocks",
            "Drone",
        ],
    }
    rows = [
        (f"P{c * PRODUCTS_PER_CATEGORY + i + 1:03d}", name, category)
        for c, category in enumerate(CATEGORIES)
        for i, name in enumerate(names[category])
    ]
    return pd.DataFrame(rows, columns=["product_id", "product_name", "category"])
