"""Behaviour events at any size for benchmarks, shaped like the demo shop's."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from helpers.synth_shop.files import text_times
from helpers.synth_shop.rules import CATEGORIES, END, EVENT_NAMES, PRODUCTS_PER_CATEGORY, SEARCH_TERMS, START
from helpers.synth_shop.world import days_to_ts, pick

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
                    "event_time": text_times(days_to_ts(start, day), rng, 0.05),
                    "user_id": user,
                    "anon_id": anonymous,
                    "event_name": raw,
                    "page_url": np.where(has_product, np.char.add("/product/", sku.astype(str)), "/"),
                    "product_sku": sku,
                    "product_category": np.where(
                        has_product, np.array(CATEGORIES)[(product - 1) // PRODUCTS_PER_CATEGORY], None
                    ),
                    "search_query": np.where(kind == "search", pick(rng, SEARCH_TERMS, n), None),
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
