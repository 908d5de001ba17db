"""Seeded synthetic order logs for tests and benchmarks, drawn from the models the project fits.

Each customer has a purchase rate ``lambda ~ Gamma(r, alpha)`` and a dropout probability
``p ~ Beta(a, b)`` (BG/NBD: after every purchase the customer leaves with probability p), and a mean
spend ``nu ~ Gamma(q, gamma)`` with order values ``~ Gamma(p_spend, nu)`` (Gamma-Gamma). Defaults are the
published CDNOW estimates (daily rates), so generated data behaves like the bundled data at any size.
Everything is vectorised numpy: about 10M orders in 10-15 s.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

CHANNELS = np.array(["web", "store", "app", "phone"])
CHANNEL_WEIGHTS = np.array([0.55, 0.25, 0.15, 0.05])
REGIONS = np.array(["north", "south", "east", "west", "central"])
CATEGORIES = np.array(["music", "books", "video", "games", "electronics", "home", "toys", "garden"])
FIRST_NAMES = np.array(["Ann", "Bob", "Chloé", "Dmitri", "Eve", "Farid", "Greta", "Hiro", "Ines", "José"])
LAST_NAMES = np.array(
    ["Smith", "Jones", "Müller", "Rossi", "Dubois", "Tanaka", "Nowak", "Silva", "Kim", "Okafor"]
)


@dataclass(frozen=True)
class Population:
    """BG/NBD and Gamma-Gamma parameters; rates are per day (CDNOW's weekly r, alpha scaled by 7)."""

    r: float = 0.243
    alpha: float = 4.414 * 7
    a: float = 0.793
    b: float = 2.426
    p_spend: float = 6.25
    q_spend: float = 3.74
    gamma_spend: float = 15.44


POPULATIONS = {
    "cdnow": Population(),  # about 2.6 orders per customer over two years, like the bundled data
    "busy": Population(alpha=4.414 * 7 / 6, b=6.0),  # about 10 orders per customer over three years
}


def draw_customers(
    n: int,
    start: dt.date,
    end: dt.date,
    rng: np.random.Generator,
    population: Population = Population(),
    acquisition_share: float = 0.5,
) -> pd.DataFrame:
    """Per customer: first-purchase day (uniform over the first ``acquisition_share`` of the window),
    purchase rate per day, dropout probability and mean spend."""
    days = (end - start).days + 1
    acquisition_days = max(1, int(days * acquisition_share))
    return pd.DataFrame(
        {
            "first_day": rng.integers(0, acquisition_days, n),
            "rate_per_day": rng.gamma(population.r, 1.0 / population.alpha, n),
            "dropout": rng.beta(population.a, population.b, n),
            "spend_scale": rng.gamma(population.q_spend, 1.0 / population.gamma_spend, n),
        }
    )


def draw_orders(
    customers: pd.DataFrame, days: int, rng: np.random.Generator, population: Population = Population()
) -> pd.DataFrame:
    """Orders of every customer: the first, then repeat purchases of a Poisson process that stops at
    the first purchase after which the customer drops out (BG/NBD), cut at the end of the window."""
    n = len(customers)
    # The first purchase happens at a random time on its day; repeats follow within the window.
    first_time = customers["first_day"].to_numpy() + rng.random(n) * 0.999
    horizon = days - first_time  # days left after the first purchase
    # Poisson events in the remaining window, and the repeat purchases made before dropping out.
    events = rng.poisson(customers["rate_per_day"].to_numpy() * horizon)
    # BG/NBD: a customer can leave only right after a repeat purchase (with x = 0 repeats they are
    # alive for sure), so the repeat purchases up to and including the last one are Geometric(p) >= 1.
    before_dropout = rng.geometric(customers["dropout"].to_numpy())
    repeats = np.minimum(events, before_dropout)
    owner = np.repeat(np.arange(n), events)
    # Given the count, Poisson event times are uniform; the first `repeats` in time order are kept.
    offsets = rng.random(owner.size) * np.repeat(horizon, events)
    order = np.lexsort((offsets, owner))
    owner, offsets = owner[order], offsets[order]
    rank = np.arange(owner.size) - np.repeat(np.cumsum(events) - events, events)
    keep = rank < repeats[owner]
    owner = np.concatenate([np.arange(n), owner[keep]])
    day_float = np.concatenate([first_time, first_time[owner[n:]] + offsets[keep]])
    spend_scale = customers["spend_scale"].to_numpy()[owner]
    amount = np.round(rng.gamma(population.p_spend, 1.0, owner.size) / spend_scale, 2)
    return pd.DataFrame({"customer": owner, "day": day_float, "amount": np.maximum(amount, 0.01)})


def generate(
    customers: int,
    seed: int,
    start: dt.date = dt.date(2022, 1, 1),
    end: dt.date = dt.date(2023, 12, 31),
    returns_share: float = 0.0,
    with_details: bool = False,
    population: Population = Population(),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An order log and a customer table. ``with_details`` adds products, categories, channels,
    regions and customer attributes including name, e-mail, phone and address (for privacy tests)."""
    rng = np.random.default_rng(seed)
    days = (end - start).days + 1
    people = draw_customers(customers, start, end, rng, population)
    orders = draw_orders(people, days, rng, population)
    seconds = np.floor(orders["day"].to_numpy() * 86_400).astype("int64")
    base = np.datetime64(start.isoformat(), "s")
    orders = orders.assign(ts=base + seconds.astype("timedelta64[s]")).sort_values(
        ["ts", "customer"], kind="mergesort"
    )
    ids = np.char.add("C", np.char.zfill(np.arange(1, customers + 1).astype(str), 8))
    log = pd.DataFrame(
        {
            "customer_id": ids[orders["customer"].to_numpy()],
            "order_id": np.char.add("O", np.char.zfill(np.arange(1, len(orders) + 1).astype(str), 10)),
            "order_ts": orders["ts"].to_numpy(),
            "amount": orders["amount"].to_numpy(),
        }
    )
    if returns_share > 0:
        returned = log.sample(frac=returns_share, random_state=seed)
        returns = returned.assign(
            order_id="R" + returned["order_id"].str[1:],
            order_ts=returned["order_ts"] + pd.to_timedelta(rng.integers(1, 30, len(returned)), "D"),
            amount=-returned["amount"],
        )
        returns = returns[returns["order_ts"] < pd.Timestamp(end + dt.timedelta(days=1))]
        log = pd.concat([log, returns]).sort_values(["order_ts", "order_id"], kind="mergesort")
    attributes = pd.DataFrame({"customer_id": ids})
    if with_details:
        m = len(log)
        log["quantity"] = rng.integers(1, 5, m)
        log["product_id"] = np.char.add("P", np.minimum(rng.zipf(1.6, m), 5000).astype(str))
        log["category"] = CATEGORIES[rng.integers(0, len(CATEGORIES), m)]
        log["channel"] = CHANNELS[rng.choice(len(CHANNELS), m, p=CHANNEL_WEIGHTS)]
        region_of = rng.integers(0, len(REGIONS), customers)
        log["region"] = REGIONS[region_of[np.searchsorted(ids, log["customer_id"].to_numpy())]]
        first, last = FIRST_NAMES[rng.integers(0, 10, customers)], LAST_NAMES[rng.integers(0, 10, customers)]
        attributes = attributes.assign(
            name=np.char.add(np.char.add(first, " "), last),
            email=np.char.add(np.char.add(np.char.lower(first), np.char.add(".", ids)), "@example.com"),
            phone=np.char.add("+44 20 7", np.char.zfill(rng.integers(0, 10**6, customers).astype(str), 6)),
            address=np.char.add(rng.integers(1, 200, customers).astype(str), " High Street"),
            country=np.array(["UK", "FR", "DE", "ES", "IT"])[region_of % 5],
            signup_channel=CHANNELS[rng.choice(len(CHANNELS), customers, p=CHANNEL_WEIGHTS)],
        )
    return log.reset_index(drop=True), attributes


CHUNK_CUSTOMERS = (
    1_000_000  # customers generated at a time by generate_to_file (about 10M busy orders, 1.5 GB)
)


def generate_to_file(
    path: Path,
    customers: int,
    seed: int,
    start: dt.date = dt.date(2022, 1, 1),
    end: dt.date = dt.date(2023, 12, 31),
    returns_share: float = 0.0,
    with_details: bool = False,
    population: Population = Population(),
    chunk_customers: int = CHUNK_CUSTOMERS,
) -> tuple[int, pd.DataFrame]:
    """``generate`` written straight to ``path`` (Parquet or CSV) in blocks of ``chunk_customers``, so
    that any size fits in memory (100M orders in one piece needed more than 12 GB). Block i is drawn
    with seed ``seed + i`` and its ids shifted past the previous blocks; each block is in time order.
    Up to ``chunk_customers`` customers the file is exactly ``generate``'s. Returns the number of
    orders and the customer table."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer, rows, attributes = None, 0, []
    try:
        for block, first in enumerate(range(0, customers, chunk_customers)):
            log, people = generate(
                min(chunk_customers, customers - first),
                seed + block,
                start,
                end,
                returns_share,
                with_details,
                population,
            )
            if block:
                log["customer_id"] = _shifted_ids(log["customer_id"], first, "C", 8)
                log["order_id"] = log["order_id"].str[0] + _shifted_ids(log["order_id"], rows, "", 10)
                people["customer_id"] = _shifted_ids(people["customer_id"], first, "C", 8)
            table = pa.Table.from_pandas(log, preserve_index=False)
            if writer is None:
                schema = table.schema
                writer = (
                    pacsv.CSVWriter(path, schema) if path.suffix == ".csv" else pq.ParquetWriter(path, schema)
                )
            writer.write_table(table.cast(schema))
            rows += len(log)
            attributes.append(people)
    finally:
        if writer is not None:
            writer.close()
    return rows, pd.concat(attributes, ignore_index=True)


def _shifted_ids(ids: pd.Series, shift: int, prefix: str, digits: int) -> pd.Series:
    """Ids like "C00000001" (a letter, then zero-padded numbers) moved up by ``shift``."""
    numbers = ids.str[1:].astype("int64") + shift
    return prefix + numbers.astype(str).str.zfill(digits)


def write(frame: pd.DataFrame, path: Path) -> Path:
    """Parquet or CSV by the file's suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if path.suffix == ".csv":
        pacsv.write_csv(table, path)
    else:
        pq.write_table(table, path)
    return path
