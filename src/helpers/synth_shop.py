"""The demo shop: a seeded synthetic world in every source kind (customers, order lines, behaviour
events, interactions, feedback, sales leads), coherent across sources and messy in documented ways, with
planted effects that the analysis stages must find. ``docs/demo_data.md`` states every generating rule
and every planted effect with the strength measured on the bundled data; the tests measure them on the
generator's output with their own pandas code.

``python -m helpers synth-shop --customers N --seed S --out data/raw/demo/ [--params params/demo/]``
writes the files (and, with ``--params``, the dataset's params: dataset.yaml and one file per month).

Everything is drawn from one ``numpy`` generator seeded by ``seed``, in a fixed order, so the same
arguments give the same files byte for byte. Vectorised throughout: 20,000 customers take a few seconds.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

START, END = dt.date(2023, 1, 1), dt.date(2024, 12, 31)  # `make data`: 20,000 customers, seed 20240101

# ------------------------------------------------------------------------------ the generating rules

SEGMENTS = ("loyal", "regular", "occasional")  # hidden: drives purchase rate, churn and satisfaction
SEGMENT_SHARES = (0.15, 0.35, 0.50)
DAYS_BETWEEN_ORDERS = {"loyal": 25.0, "regular": 70.0, "occasional": 180.0}  # mean; Gamma(3) spread
MONTHLY_CHURN = {"loyal": 0.01, "regular": 0.025, "occasional": 0.05}
PROSPECT_SHARE = 0.10  # customers in the customers file who never buy
REGIONS = ("North", "South", "East", "West", "Central")
CITIES = {
    "North": ("Beijing", "Tianjin", "Shenyang"),
    "South": ("Guangzhou", "Shenzhen", "Xiamen"),
    "East": ("Shanghai", "Hangzhou", "Nanjing"),
    "West": ("Chengdu", "Chongqing", "Xi'an"),
    "Central": ("Wuhan", "Changsha", "Zhengzhou"),
}
CATEGORIES = ("Outdoor", "Kitchen", "Electronics", "Books", "Beauty", "Toys")
PRODUCTS_PER_CATEGORY = 10
CHANNELS = ("web", "app", "store")
CHANNEL_SHARES = (0.5, 0.3, 0.2)


@dataclass(frozen=True)
class Effects:
    """The planted effects (docs/demo_data.md gives each with what it does to the data)."""

    # 1. Market basket: when an order holds the coffee grinder, the coffee beans are added with this
    # probability (if not there already): lift of the pair about 3.
    pair: tuple[str, str] = ("P011", "P012")
    pair_add_probability: float = 0.13
    # 2. Funnel: of the sessions that reach checkout, this share ends in a purchase, by channel: the app
    # loses about 40% of its carts at checkout, the web about 10%.
    checkout_conversion: dict[str, float] = field(default_factory=lambda: {"web": 0.90, "app": 0.60})
    # 3. Complaints: a customer's first complaint left unresolved makes them stop buying with this
    # probability (a resolved one: no effect): they lapse about twice as often.
    complaint_share_of_orders: float = 0.05
    complaint_resolved_share: float = 0.6
    unresolved_complaint_leave: float = 0.41
    # 4. Satisfaction: survey answers (promoter 9-10, passive 7-8, detractor 0-6) by hidden segment.
    nps_mix: dict[str, tuple[float, float, float]] = field(
        default_factory=lambda: {
            "loyal": (0.70, 0.20, 0.10),
            "regular": (0.40, 0.40, 0.20),
            "occasional": (0.15, 0.40, 0.45),
        }
    )
    # 5. Sales pipeline: probability of reaching the next stage and median days before it, per stage;
    # "needs analysis" is the bottleneck (lowest conversion, longest wait).
    stage_conversion: dict[str, tuple[float, float]] = field(
        default_factory=lambda: {
            "lead": (0.80, 2.0),
            "contacted": (0.70, 4.0),
            "needs analysis": (0.35, 21.0),
            "proposal": (0.60, 7.0),
        }
    )
    # 6. Region x category: West customers weight Outdoor products this many times more.
    region_category: tuple[str, str, float] = ("West", "Outdoor", 5.0)


EFFECTS = Effects()
STAGES = ("lead", "contacted", "needs analysis", "proposal", "contract")

# Messy raw names: the canonical event type -> the names the source uses (chosen at random).
EVENT_NAMES = {
    "page_view": ("page_view", "PageView", "PAGE_VIEW"),
    "product_view": ("view_item", "product_view"),
    "search": ("search", "Search"),
    "add_to_cart": ("add_to_cart", "AddToCart"),
    "checkout": ("begin_checkout",),
    "purchase": ("purchase", "Purchase"),
    "store_visit": ("store_visit",),
    "app_open": ("app_open", "APP_OPEN"),
}
EVENT_VALUES = {"pageview": "page_view", "view_item": "product_view", "addtocart": "add_to_cart"}
EVENT_VALUES["begin_checkout"] = "checkout"
CONTACT_NAMES = {"phone": ("Phone", "phone"), "email": ("E-mail", "email"), "chat": ("chat",)}
CONTACT_NAMES |= {"social": ("WeChat",), "visit": ("store visit",), "event": ("event",)}
CONTACT_VALUES = {"e-mail": "email", "wechat": "social", "store visit": "visit"}
FEEDBACK_KIND_NAMES = {
    "survey": ("Survey", "survey"),
    "complaint": ("complaint", "投诉"),
    "review": ("Review",),
}
FEEDBACK_VALUES = {"投诉": "complaint"}
CONSENT_WORDS = {True: ("yes", "Y", "true", "1", "是"), False: ("no", "N", "false", "0", "否")}

SURNAMES_ZH = list("王李张刘陈杨黄赵吴周")
GIVEN_ZH = list("伟芳娜敏静丽强磊洋艳勇军杰娟涛")
FIRST_EN = ["Ann", "Ben", "Chloe", "David", "Emma", "Frank", "Grace", "Henry", "Iris", "Jack", "Kate", "Leo"]
LAST_EN = ["Smith", "Brown", "Taylor", "Wilson", "Evans", "Walker", "Wright", "Hughes", "Green", "Hall"]
AREA_CODES = ("110105", "310104", "440106", "510107", "420102")

COMPLAINT_TEXTS = {
    "en": [
        ("delivery", "The parcel for order {order} arrived damaged. Please call me on {phone}."),
        ("billing", "I was charged twice for order {order}, my card {card} shows two payments."),
        ("service", "Nobody answered my e-mail to support. Contact me at {email}. {name}"),
        ("product quality", "Wrong size delivered for order {order}, I want a refund."),
        ("delivery", "Delivery of order {order} was five days late."),
    ],
    "zh": [
        ("delivery", "订单{order}的包裹破损了，请打电话{phone}联系我。"),
        ("billing", "会员信息登记错误，我的身份证号是{id_number}，请更正。"),
        ("service", "客服一直没有回复，我的邮箱是{email}。{name}"),
        ("product quality", "订单{order}收到的商品尺码不对，要求退款。"),
        ("delivery", "订单{order}的快递晚了五天才到。"),
    ],
}
CONTACT_TOPICS = {
    "en": [
        "Question about delivery of order {order}",
        "Asked to update phone number to {phone}",
        "Return of an item from order {order}",
        "Loyalty points question",
    ],
    "zh": ["咨询订单{order}的物流", "要求把电话改成{phone}", "咨询退货流程", "会员积分问题"],
}
SEARCH_TERMS = ("tent", "coffee", "headphones", "novel", "lipstick", "lego", "kettle", "hiking boots")


@dataclass
class Shop:
    """The generated world: one frame per file (raw columns, as written) and the hidden truth the
    tests and docs compare with."""

    customers: pd.DataFrame
    orders: pd.DataFrame
    events: pd.DataFrame
    interactions: pd.DataFrame
    feedback: pd.DataFrame
    leads: pd.DataFrame
    truth: pd.DataFrame  # per customer: hidden segment, buyer, region (before messy rows)


FILES = {
    "customers": "customers.csv",
    "orders": "order_lines.csv",
    "events": "events.parquet",
    "interactions": "interactions.csv",
    "feedback": "feedback.csv",
    "leads": "leads.csv",
}
MANIFEST = "manifest.json"


def _days_to_ts(start: dt.date, days: np.ndarray) -> pd.Series:
    """Fractional days since ``start`` as timestamps to the second."""
    seconds = np.floor(np.asarray(days, dtype="float64") * 86_400).astype("int64")
    return pd.Series(np.datetime64(start.isoformat(), "s") + seconds.astype("timedelta64[s]"))


def _pick(rng: np.random.Generator, options, n: int, p=None) -> np.ndarray:
    return np.asarray(options, dtype=object)[rng.choice(len(options), n, p=p)]


def _id_number(rng: np.random.Generator, n: int) -> np.ndarray:
    """Mainland China resident id numbers with a valid check digit (ISO 7064 MOD 11-2)."""
    area = _pick(rng, AREA_CODES, n)
    born = pd.Timestamp("1950-01-01") + pd.to_timedelta(rng.integers(0, 20_000, n), "D")
    body = area + born.strftime("%Y%m%d").to_numpy() + np.char.zfill(rng.integers(0, 1000, n).astype(str), 3)
    weights = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
    digits = np.array([[int(c) for c in b] for b in body])
    check = np.array(list("10X98765432"))[(digits * weights).sum(axis=1) % 11]
    return np.char.add(body.astype(str), check)


def _card_number(rng: np.random.Generator, n: int) -> np.ndarray:
    groups = [rng.integers(1000, 10_000, n).astype(str) for _ in range(3)]
    first = _pick(rng, ("4571", "6222", "5187"), n)
    return np.array([f"{a} {b} {c} {d}" for a, b, c, d in zip(first, *groups)])


def draw_customers(n: int, rng: np.random.Generator, days: int) -> pd.DataFrame:
    """The people: hidden segment, buyer or prospect, signup, region, demographics, identifiers and
    their purchase process (rate, natural end)."""
    segment = _pick(rng, SEGMENTS, n, SEGMENT_SHARES)
    region = _pick(rng, REGIONS, n)
    chinese = rng.random(n) < 0.7
    surname, given = _pick(rng, SURNAMES_ZH, n), _pick(rng, GIVEN_ZH, n)
    given2 = np.where(rng.random(n) < 0.5, _pick(rng, GIVEN_ZH, n), "")
    first, last = _pick(rng, FIRST_EN, n), _pick(rng, LAST_EN, n)
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
            "gender": _pick(
                rng, ("F", "M", "female", "male", "f", ""), n, (0.4, 0.4, 0.05, 0.05, 0.05, 0.05)
            ),
            "income_band": _pick(rng, ("<30k", "30-60k", "60-100k", ">100k"), n, (0.3, 0.35, 0.25, 0.1)),
            "acquisition_channel": _pick(rng, ("search", "social", "referral", "store", "marketplace"), n),
            "consent": rng.random(n) < 0.65,
            "birth": born,
            "preferred_channel": _pick(rng, CHANNELS, n, CHANNEL_SHARES),
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
        rng.random(owner.size) < 0.8, preferred, _pick(rng, CHANNELS, owner.size, CHANNEL_SHARES)
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
    lines["quantity"] = _pick(rng, (1, 2, 3), len(lines), (0.85, 0.12, 0.03)).astype("int64")
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


# ------------------------------------------------------------------------------------ behaviour


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
                "channel": _pick(rng, ("web", "app"), owner.size, (0.6, 0.4)),
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
                "channel": _pick(rng, ("web", "app"), int(count.sum()), (0.7, 0.3)),
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
    terms = _pick(rng, SEARCH_TERMS, int(is_search.sum()))
    events.loc[is_search, "search_term"] = terms
    return events.sort_values(["day", "session"], kind="mergesort").reset_index(drop=True)


# ------------------------------------------------------------------- interactions, feedback, leads


def _order_ids(orders: pd.DataFrame) -> pd.Series:
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
        "card": _card_number(rng, customer.size),
        "id_number": _id_number(rng, customer.size),
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
    stars = _pick(rng, ("5", "4", "3", "2", "1"), len(reviewed), (0.45, 0.3, 0.12, 0.08, 0.05))
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
    contacts["channel"] = _pick(
        rng, ("phone", "email", "chat", "social"), len(contacts), (0.4, 0.3, 0.2, 0.1)
    )
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
    contacts["outcome"] = _pick(rng, ("answered", "follow-up", "resolved"), len(contacts), (0.5, 0.2, 0.3))
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
            "outcome": _pick(rng, ("no answer", "interested", "declined"), owner.size, (0.5, 0.2, 0.3)),
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
    leads["source"] = _pick(rng, ("web form", "trade fair", "referral", "cold call"), n)[
        leads["lead"].to_numpy()
    ]
    leads["campaign"] = np.where(created < days / 2, "spring-2023", "spring-2024")[leads["lead"].to_numpy()]
    leads["expected_value"] = np.round(np.exp(rng.normal(8.5, 0.8, n)), -1)[leads["lead"].to_numpy()]
    return leads.sort_values(["day", "lead"], kind="mergesort").reset_index(drop=True)


# ---------------------------------------------------------------------- the files, messy as received


def _insert(frame: pd.DataFrame, extra: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """``frame`` with the rows of ``extra`` inserted at random places (the file's other rows keep their
    order)."""
    if extra.empty:
        return frame.reset_index(drop=True)
    place = np.concatenate([np.arange(len(frame), dtype="float64"), rng.uniform(0, len(frame), len(extra))])
    both = pd.concat([frame, extra], ignore_index=True)
    return both.iloc[np.argsort(place, kind="mergesort")].reset_index(drop=True)


def _messy(frame: pd.DataFrame, rng: np.random.Generator, n: int, **changes) -> pd.DataFrame:
    """``n`` random rows of ``frame`` with some columns changed (a value, or a function of the rows)."""
    rows = frame.iloc[rng.integers(0, len(frame), n)].copy()
    for column, value in changes.items():
        rows[column] = value(rows) if callable(value) else value
    return rows


def _variants(values: np.ndarray, names: dict[str, tuple[str, ...]], rng: np.random.Generator) -> np.ndarray:
    """Each canonical value written as one of the source's names for it, at random."""
    out = np.empty(len(values), dtype=object)
    for canonical, options in names.items():
        where = np.flatnonzero(values == canonical)
        out[where] = _pick(rng, options, where.size)
    return out


def _text_time(ts: pd.Series, rng: np.random.Generator, iso_share: float = 0.0) -> np.ndarray:
    """Timestamps as text, most as "2024-03-05 14:22:10", a share with a T instead of the blank (numpy's
    ISO text: ten times faster than pandas' strftime on a million events)."""
    iso = np.datetime_as_string(ts.to_numpy().astype("datetime64[s]"), unit="s")
    text = np.char.replace(iso, "T", " ").astype(object)
    keep_t = rng.random(len(text)) < iso_share
    text[keep_t] = iso[keep_t]
    return text


def raw_customers(people: pd.DataFrame, start: dt.date, rng: np.random.Generator) -> pd.DataFrame:
    n = len(people)
    birth = people["birth"].dt.strftime("%Y-%m-%d").to_numpy(dtype=object)
    style = rng.random(n)
    birth[style < 0.05] = people["birth"][style < 0.05].dt.strftime("%Y/%m/%d").to_numpy()
    birth[(style >= 0.05) & (style < 0.15)] = ""
    birth[(style >= 0.15) & (style < 0.17)] = "n/a"
    consent = np.where(
        people["consent"], _pick(rng, CONSENT_WORDS[True], n), _pick(rng, CONSENT_WORDS[False], n)
    )
    consent[rng.random(n) < 0.01] = "unknown"
    frame = pd.DataFrame(
        {
            "customer_id": people["customer_id"],
            "name": people["name"],
            "email": people["email"],
            "phone": people["phone"],
            "address": people["address"],
            "signup_date": _days_to_ts(start, people["signup_day"].to_numpy()).dt.strftime("%Y-%m-%d"),
            "birth_date": birth,
            "gender": people["gender"],
            "income_band": people["income_band"],
            "region": people["region"],
            "city": people["city"],
            "acquisition_channel": people["acquisition_channel"],
            "marketing_opt_in": consent,
            "preferred_language": people["language"],
        }
    )
    messy = pd.concat(
        [
            _messy(frame, rng, 5),  # exact repeats
            _messy(frame, rng, 3, city=lambda rows: rows["city"] + " (old)"),  # a second row of an id
            _messy(frame, rng, 3, customer_id=""),
        ]
    )
    return _insert(frame, messy, rng)


def raw_orders(orders, lines, people, order_ids, start, days, rng) -> pd.DataFrame:
    products = product_table()
    owner = orders.loc[lines["order"].to_numpy()]
    frame = pd.DataFrame(
        {
            "order_id": order_ids.loc[lines["order"].to_numpy()].to_numpy(),
            "line_no": lines.groupby("order").cumcount().to_numpy() + 1,
            "customer_id": people["customer_id"].to_numpy()[owner["customer"].to_numpy()],
            "order_date": _days_to_ts(start, owner["day"].to_numpy()).dt.strftime("%Y-%m-%d %H:%M:%S"),
            "product_id": products["product_id"].to_numpy()[lines["product"].to_numpy() - 1],
            "product_name": products["product_name"].to_numpy()[lines["product"].to_numpy() - 1],
            "category": products["category"].to_numpy()[lines["product"].to_numpy() - 1],
            "quantity": lines["quantity"].to_numpy(),
            "unit_price": lines["unit_price"].map("{:.2f}".format).to_numpy(),
            "line_total": (lines["quantity"] * lines["unit_price"]).map("{:.2f}".format).to_numpy(),
            "channel": owner["channel"].to_numpy(),
        }
    )
    first_lines = frame.drop_duplicates("order_id")
    returned = first_lines[rng.random(len(first_lines)) < 0.01]
    later = pd.to_datetime(returned["order_date"]) + pd.to_timedelta(rng.uniform(3, 20, len(returned)), "D")
    returns = returned.assign(
        order_id="R" + returned["order_id"].str[1:],
        order_date=later.dt.strftime("%Y-%m-%d %H:%M:%S"),
        quantity=-1,
        line_total=("-" + returned["unit_price"]),
        line_no=1,
    )
    returns = returns[later < pd.Timestamp(start) + pd.Timedelta(days=days)]
    frame = pd.concat([frame, returns]).sort_values(["order_date", "order_id", "line_no"], kind="mergesort")
    messy = pd.concat(
        [
            _messy(frame, rng, 5, customer_id=""),
            _messy(frame, rng, 5, order_date="31/02/2024"),
            _messy(frame, rng, 5),
            _messy(frame, rng, 2, line_total="0.00"),
            _messy(frame, rng, 10, line_total=lambda rows: "¥" + rows["line_total"]),
        ]
    )
    return _insert(frame.reset_index(drop=True), messy, rng)


def raw_events(
    events: pd.DataFrame, people: pd.DataFrame, start: dt.date, rng: np.random.Generator
) -> pd.DataFrame:
    n = len(events)
    channel = events["channel"].to_numpy(dtype=object).copy()
    upper = rng.random(n) < 0.1
    channel[upper] = np.char.capitalize(channel[upper].astype(str))
    search = events["search_term"].to_numpy(dtype=object).copy()
    planted = np.flatnonzero(pd.notna(search) & (rng.random(n) < 0.01))
    who = rng.integers(0, len(people), planted.size)
    search[planted] = np.where(
        rng.random(planted.size) < 0.5,
        "order status " + people["email"].to_numpy()[who],
        "call back " + people["phone"].to_numpy()[who],
    )
    frame = pd.DataFrame(
        {
            "event_time": _text_time(_days_to_ts(start, events["day"].to_numpy()), rng, 0.05),
            "user_id": events["customer_id"].to_numpy(),
            "anon_id": events["anonymous_id"].to_numpy(),
            "event_name": _variants(events["event_type"].to_numpy(), EVENT_NAMES, rng),
            "page_url": events["page"].to_numpy(),
            "product_sku": events["product_id"].to_numpy(),
            "product_category": events["category"].to_numpy(),
            "search_query": search,
            "platform": channel,
            "session": events["session_id"].to_numpy(),
        }
    )
    messy = pd.concat(
        [
            _messy(frame, rng, 20, event_name="debug_ping"),
            _messy(frame, rng, 20, user_id=None, anon_id=None),
            _messy(frame, rng, 20, event_time="not a time"),
            _messy(frame, rng, 20),
        ]
    )
    return _insert(frame, messy, rng)


def raw_interactions(interactions, people, start, rng) -> pd.DataFrame:
    customer = interactions["customer"].to_numpy()
    frame = pd.DataFrame(
        {
            "contact_time": _text_time(_days_to_ts(start, interactions["day"].to_numpy()), rng),
            "customer": people["customer_id"].to_numpy()[customer],
            "channel": _variants(interactions["channel"].to_numpy(), CONTACT_NAMES, rng),
            "direction": np.where(interactions["direction"] == "inbound", "in", "out"),
            "topic": interactions["topic"].to_numpy(),
            "duration_sec": interactions["duration_s"]
            .map(lambda v: "" if np.isnan(v) else f"{v:.0f}")
            .to_numpy(),
            "outcome": interactions["outcome"].to_numpy(),
            "phone_number": people["phone"].to_numpy()[customer],
        }
    )
    walk_ins = _messy(
        frame,
        rng,
        30,
        customer=lambda rows: (
            "C9" + pd.Series(rng.integers(0, 10**5, len(rows)), index=rows.index).astype(str).str.zfill(5)
        ),
        phone_number="",
    )
    messy = pd.concat(
        [
            _messy(frame, rng, 5, customer=""),
            _messy(frame, rng, 5, channel="fax"),
            _messy(frame, rng, 5, contact_time="yesterday"),
            walk_ins,  # potential customers: known to no other source, kept
        ]
    )
    return _insert(frame, messy, rng)


def raw_feedback(feedback, people, start, rng) -> pd.DataFrame:
    customer = feedback["customer"].to_numpy()
    resolved = feedback["resolved_day"].to_numpy()
    resolved_text = (
        _days_to_ts(start, np.nan_to_num(resolved)).dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy(dtype=object)
    )
    resolved_text[np.isnan(resolved)] = ""
    frame = pd.DataFrame(
        {
            "feedback_id": np.char.add("F", np.char.zfill(np.arange(1, len(feedback) + 1).astype(str), 6)),
            "customer": people["customer_id"].to_numpy()[customer],
            "submitted_at": _text_time(_days_to_ts(start, feedback["day"].to_numpy()), rng),
            "type": _variants(feedback["kind"].to_numpy(), FEEDBACK_KIND_NAMES, rng),
            "score": feedback["score"].to_numpy(),
            "category": feedback["category"].to_numpy(),
            "comment": feedback["text"].to_numpy(),
            "status": feedback["status"].to_numpy(),
            "resolved_at": resolved_text,
            "contact_email": people["email"].to_numpy()[customer],
        }
    )
    surveys = frame[frame["type"].str.lower() == "survey"]
    messy = pd.concat(
        [
            _messy(surveys, rng, 3, score="11"),
            _messy(frame, rng, 3, customer=""),
            _messy(frame, rng, 3, submitted_at="2024-13-45"),
            _messy(frame, rng, 3),
        ]
    )
    return _insert(frame, messy, rng)


def raw_leads(leads, start, rng) -> pd.DataFrame:
    n_leads = int(leads["lead"].max()) + 1
    contact_first, contact_last = _pick(rng, FIRST_EN, n_leads), _pick(rng, LAST_EN, n_leads)
    contact_phone = np.char.add("+86 139", np.char.zfill(rng.integers(0, 10**8, n_leads).astype(str), 8))
    lead = leads["lead"].to_numpy()
    frame = pd.DataFrame(
        {
            "lead_id": np.char.add("L", np.char.zfill((lead + 1).astype(str), 5)),
            "created_at": _days_to_ts(start, leads["created_day"].to_numpy()).dt.strftime("%Y-%m-%d"),
            "stage": np.char.title(leads["stage"].to_numpy().astype(str)),
            "entered_at": _days_to_ts(start, leads["day"].to_numpy()).dt.strftime("%Y-%m-%d %H:%M:%S"),
            "source": leads["source"].to_numpy(),
            "campaign": leads["campaign"].to_numpy(),
            "expected_value": leads["expected_value"].map("{:.0f}".format).to_numpy(),
            "outcome": leads["outcome"].to_numpy(),
            "customer_id": leads["customer_id"].to_numpy(),
            "contact_name": (contact_first + " " + contact_last)[lead],
            "contact_phone": contact_phone[lead],
        }
    )
    messy = pd.concat(
        [_messy(frame, rng, 3, stage="Negotiation"), _messy(frame, rng, 2, lead_id=""), _messy(frame, rng, 2)]
    )
    return _insert(frame, messy, rng)


def generate(customers: int, seed: int, start: dt.date = START, end: dt.date = END) -> Shop:
    """The whole shop: every source's rows as its file holds them, and the hidden truth per customer."""
    rng = np.random.default_rng(seed)
    days = (end - start).days + 1
    people = draw_customers(customers, rng, days)
    orders = draw_orders(people, rng)
    complaints = apply_complaints(orders, people, rng, days)
    lines = draw_lines(orders, people, rng)
    order_ids = _order_ids(orders)
    events = draw_events(orders, lines, people, rng, days)
    interactions = draw_interactions(orders, complaints, people, order_ids, rng, days)
    feedback = draw_feedback(orders, lines, complaints, people, order_ids, rng, days)
    leads = draw_leads(people, rng, days)
    return Shop(
        customers=raw_customers(people, start, rng),
        orders=raw_orders(orders, lines, people, order_ids, start, days, rng),
        events=raw_events(events, people, start, rng),
        interactions=raw_interactions(interactions, people, start, rng),
        feedback=raw_feedback(feedback, people, start, rng),
        leads=raw_leads(leads, start, rng),
        truth=people[["customer_id", "segment", "buyer", "region", "language"]].copy(),
    )


def write(
    shop: Shop, out: Path, customers: int, seed: int, start: dt.date = START, end: dt.date = END
) -> dict:
    """Every source file into ``out`` (CSV UTF-8; events as Parquet of text columns) and a manifest
    (rows per file, and the arguments that reproduce them)."""
    out.mkdir(parents=True, exist_ok=True)
    rows = {}
    for name, file in FILES.items():
        frame = getattr(shop, name)
        path = out / file
        if path.suffix == ".parquet":
            table = pa.Table.from_pandas(frame.astype("string"), preserve_index=False)
            pq.write_table(table, path)
        else:
            frame.to_csv(path, index=False)
        rows[file] = len(frame)
    manifest = {
        "generator": "python -m helpers synth-shop",
        "customers": customers,
        "seed": seed,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "rows": rows,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


# ----------------------------------------------------------------------------- the dataset's params

DESCRIPTION = (
    "Synthetic data: a generated demo shop with deliberately planted patterns; no real customer, order "
    "or conversation is in it."
)


def dataset_yaml(folder: str, start: dt.date = START, end: dt.date = END) -> str:
    """params/<dataset>/dataset.yaml for the files in ``folder`` (relative to the project root): every
    source mapped, its messy names mapped under ``values``, its identifier columns listed."""
    last = f"{end:%Y-%m}"
    return f"""# Dataset demo: a synthetic shop written by `python -m helpers synth-shop` (`make data`), with
# customers, order lines, web/app/store events, contacts, feedback and sales leads from {start} to {end}
# and the planted effects listed in docs/demo_data.md. Written by the generator with the data; anything
# set here overrides params/defaults.yaml for every period of the dataset.
title: "Demo shop"
description: "{DESCRIPTION}"
default_period: "{last}"

sources:
  transactions:                # one row per order line; orders are counted by order_id
    format: csv
    path: {folder}/{FILES["orders"]}
    delimiter: ","
    columns:
      customer_id: customer_id
      order_id: order_id
      order_ts: order_date
      amount: line_total       # quantity x unit price; negative for a returned line
      quantity: quantity
      unit_price: unit_price
      product_id: product_id
      product_name: product_name
      category: category
      channel: channel
    timestamp_formats: ["%Y-%m-%d %H:%M:%S"]
  customers:
    format: csv
    path: {folder}/{FILES["customers"]}
    delimiter: ","
    columns:
      customer_id: customer_id
      signup_ts: signup_date
      birth_date: birth_date
      gender: gender
      income_band: income_band
      region: region
      city: city
      acquisition_channel: acquisition_channel
      marketing_consent: marketing_opt_in
    attributes: {{preferred_language: preferred_language}}
    timestamp_formats: ["%Y-%m-%d", "%Y/%m/%d"]
    identifier_columns: [name, email, phone, address]
  events:
    format: parquet
    path: {folder}/{FILES["events"]}
    columns:
      event_ts: event_time
      customer_id: user_id
      anonymous_id: anon_id
      event_type: event_name
      page: page_url
      product_id: product_sku
      category: product_category
      search_term: search_query
      channel: platform
      session_id: session
    values:
      event_type: {json.dumps(EVENT_VALUES, ensure_ascii=False)}
  interactions:
    format: csv
    path: {folder}/{FILES["interactions"]}
    delimiter: ","
    columns:
      interaction_ts: contact_time
      customer_id: customer
      channel: channel
      direction: direction
      topic: topic
      duration_s: duration_sec
      outcome: outcome
    values:
      channel: {json.dumps(CONTACT_VALUES, ensure_ascii=False)}
      direction: {{in: inbound, out: outbound}}
    identifier_columns: [phone_number]
  feedback:
    format: csv
    path: {folder}/{FILES["feedback"]}
    delimiter: ","
    columns:
      feedback_ts: submitted_at
      customer_id: customer
      kind: type
      score: score
      category: category
      text: comment
      status: status
      resolved_ts: resolved_at
    values:
      kind: {json.dumps(FEEDBACK_VALUES, ensure_ascii=False)}
    scales: {{survey: nps_0_10, review: stars_1_5}}
    identifier_columns: [contact_email]
  leads:
    format: csv
    path: {folder}/{FILES["leads"]}
    delimiter: ","
    columns:
      lead_id: lead_id
      customer_id: customer_id
      created_ts: created_at
      stage: stage
      stage_ts: entered_at
      source: source
      campaign: campaign
      expected_value: expected_value
      outcome: outcome
    stages: {json.dumps(list(STAGES))}
    identifier_columns: [contact_name, contact_phone]
"""


def months(start: dt.date = START, end: dt.date = END) -> list[str]:
    """The calendar months from ``start`` to ``end`` as period labels (2023-01, ...)."""
    return [f"{p.year}-{p.month:02d}" for p in pd.period_range(start, end, freq="M")]


def write_params(folder: Path, data_folder: str, start: dt.date = START, end: dt.date = END) -> list[Path]:
    """The dataset's dataset.yaml and one period file per month into ``folder``."""
    from helpers.config import DATASET_FILE, month_window, period_text

    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / DATASET_FILE]
    written[0].write_text(dataset_yaml(data_folder, start, end), encoding="utf-8")
    for label in months(start, end):
        path = folder / f"{label}.yaml"
        path.write_text(period_text(label, *month_window(label)), encoding="utf-8")
        written.append(path)
    return written


# --------------------------------------------------------------------------- events at any size

BULK_CHUNK_ROWS = 2_000_000
BULK_EVENT_MIX = {  # canonical event type -> share of events
    "page_view": 0.38,
    "product_view": 0.25,
    "add_to_cart": 0.10,
    "search": 0.08,
    "checkout": 0.05,
    "purchase": 0.04,
    "app_open": 0.07,
    "store_visit": 0.03,
}


def bulk_events(
    rows: int, customers: int, seed: int, path: Path, start: dt.date = START, end: dt.date = END
) -> int:
    """An events file of ``rows`` rows shaped like the demo shop's (the same columns, raw names, mixed
    case, anonymous and signed-in rows, a few bad rows), for benchmarks: drawn row by row without the
    shop's coherence, in time order, ``BULK_CHUNK_ROWS`` at a time, so any size fits in memory. Customer
    ids are ``helpers.synth``'s ("C" and 8 digits, 1 to ``customers``). Returns the rows written."""
    rng = np.random.default_rng(seed)
    days = (end - start).days + 1
    chunks = max(1, -(-rows // BULK_CHUNK_ROWS))
    types = np.array(list(BULK_EVENT_MIX), dtype=object)
    shares = np.array(list(BULK_EVENT_MIX.values()))
    names = {t: np.array(EVENT_NAMES[t], dtype=object) for t in types}
    writer, written = None, 0
    try:
        for chunk in range(chunks):
            n = min(BULK_CHUNK_ROWS, rows - written)
            day = np.sort(rng.uniform(chunk * days / chunks, (chunk + 1) * days / chunks, n))
            kind = types[rng.choice(len(types), n, p=shares)]
            raw = np.empty(n, dtype=object)
            for t in types:
                where = np.flatnonzero(kind == t)
                raw[where] = names[t][rng.integers(0, len(names[t]), where.size)]
            customer = rng.integers(1, customers + 1, n)
            store = kind == "store_visit"
            channel = np.where(store, "store", np.where(rng.random(n) < 0.6, "web", "app")).astype(object)
            signed = store | (rng.random(n) < 0.6)
            user = np.where(signed, np.char.add("C", np.char.zfill(customer.astype(str), 8)), None)
            device = np.char.add(
                np.where(channel == "app", "a-", "w-"), np.char.mod("%010x", customer * 7919)
            )
            visitor = rng.random(n) < 0.15  # devices of people who never sign in
            device = np.where(
                visitor, np.char.add("v-", np.char.mod("%010x", rng.integers(0, 2**36, n))), device
            )
            anonymous = np.where(store, None, device)
            user = np.where(visitor & ~store, None, user)
            product = rng.integers(1, len(CATEGORIES) * PRODUCTS_PER_CATEGORY + 1, n)
            has_product = np.isin(kind, ("product_view", "add_to_cart"))
            sku = np.where(has_product, np.char.add("P", np.char.zfill(product.astype(str), 3)), None)
            session = np.char.add("S", np.char.zfill(((written + np.arange(n)) // 8).astype(str), 10))
            frame = pd.DataFrame(
                {
                    "event_time": _text_time(_days_to_ts(start, day), rng, 0.05),
                    "user_id": user,
                    "anon_id": anonymous,
                    "event_name": raw,
                    "page_url": np.where(has_product, np.char.add("/product/", sku.astype(str)), "/"),
                    "product_sku": sku,
                    "product_category": np.where(
                        has_product, np.array(CATEGORIES)[(product - 1) // PRODUCTS_PER_CATEGORY], None
                    ),
                    "search_query": np.where(kind == "search", _pick(rng, SEARCH_TERMS, n), None),
                    "platform": channel,
                    "session": session,
                }
            )
            bad = rng.random(n) < 1e-5  # about ten in a million of each kind of bad row
            frame.loc[bad, "event_name"] = "debug_ping"
            frame.loc[rng.random(n) < 1e-5, "event_time"] = "not a time"
            table = pa.Table.from_pandas(frame.astype("string"), preserve_index=False)
            if writer is None:
                path.parent.mkdir(parents=True, exist_ok=True)
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
            written += n
    finally:
        if writer is not None:
            writer.close()
    return written
