"""The files as a shop would export them: raw column names, messy values and bad rows in documented
places, written with a manifest."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from helpers.synth_shop.rules import (
    CONSENT_WORDS,
    CONTACT_NAMES,
    END,
    EVENT_NAMES,
    FEEDBACK_KIND_NAMES,
    FIRST_EN,
    LAST_EN,
    START,
)
from helpers.synth_shop.world import days_to_ts, pick, product_table


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
        out[where] = pick(rng, options, where.size)
    return out


def text_times(ts: pd.Series, rng: np.random.Generator, iso_share: float = 0.0) -> np.ndarray:
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
        people["consent"], pick(rng, CONSENT_WORDS[True], n), pick(rng, CONSENT_WORDS[False], n)
    )
    consent[rng.random(n) < 0.01] = "unknown"
    frame = pd.DataFrame(
        {
            "customer_id": people["customer_id"],
            "name": people["name"],
            "email": people["email"],
            "phone": people["phone"],
            "address": people["address"],
            "signup_date": days_to_ts(start, people["signup_day"].to_numpy()).dt.strftime("%Y-%m-%d"),
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
            "order_date": days_to_ts(start, owner["day"].to_numpy()).dt.strftime("%Y-%m-%d %H:%M:%S"),
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
            "event_time": text_times(days_to_ts(start, events["day"].to_numpy()), rng, 0.05),
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
            "contact_time": text_times(days_to_ts(start, interactions["day"].to_numpy()), rng),
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
        days_to_ts(start, np.nan_to_num(resolved)).dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy(dtype=object)
    )
    resolved_text[np.isnan(resolved)] = ""
    frame = pd.DataFrame(
        {
            "feedback_id": np.char.add("F", np.char.zfill(np.arange(1, len(feedback) + 1).astype(str), 6)),
            "customer": people["customer_id"].to_numpy()[customer],
            "submitted_at": text_times(days_to_ts(start, feedback["day"].to_numpy()), rng),
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
    contact_first, contact_last = pick(rng, FIRST_EN, n_leads), pick(rng, LAST_EN, n_leads)
    contact_phone = np.char.add("+86 139", np.char.zfill(rng.integers(0, 10**8, n_leads).astype(str), 8))
    lead = leads["lead"].to_numpy()
    frame = pd.DataFrame(
        {
            "lead_id": np.char.add("L", np.char.zfill((lead + 1).astype(str), 5)),
            "created_at": days_to_ts(start, leads["created_day"].to_numpy()).dt.strftime("%Y-%m-%d"),
            "stage": np.char.title(leads["stage"].to_numpy().astype(str)),
            "entered_at": days_to_ts(start, leads["day"].to_numpy()).dt.strftime("%Y-%m-%d %H:%M:%S"),
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
