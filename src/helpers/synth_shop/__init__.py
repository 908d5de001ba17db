"""The demo shop: a seeded synthetic world in every source kind (customers, order lines, behaviour
events, interactions, feedback, sales leads), coherent across sources and messy in documented ways, with
planted effects that the analysis stages must find. ``docs/demo_data.md`` states every generating rule
and every planted effect with the strength measured on the bundled data; the tests measure them on the
generator's output with their own pandas code.

``python -m helpers synth-shop --customers N --seed S --out data/raw/demo/ [--params params/demo/]``
writes the files (and, with ``--params``, the dataset's params: dataset.yaml and one file per month).

Everything is drawn from one ``numpy`` generator seeded by ``seed``, in a fixed order, so the same
arguments give the same files byte for byte. Vectorised throughout: 20,000 customers take about 10 s.
The modules: ``rules`` (every constant and planted effect), ``world`` (customers, orders, lines),
``behaviour`` (sessions and events), ``crm`` (contacts, feedback, leads), ``files`` (the messy files),
``params`` (the dataset's params), ``bulk`` (events at any size, for benchmarks).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from helpers.synth_shop.behaviour import draw_events
from helpers.synth_shop.bulk import bulk_events
from helpers.synth_shop.crm import draw_feedback, draw_interactions, draw_leads, order_ids_by_index
from helpers.synth_shop.files import (
    FILES,
    MANIFEST,
    Shop,
    raw_customers,
    raw_events,
    raw_feedback,
    raw_interactions,
    raw_leads,
    raw_orders,
    write,
)
from helpers.synth_shop.params import DESCRIPTION, dataset_yaml, months, write_params
from helpers.synth_shop.rules import EFFECTS, END, STAGES, START, Effects
from helpers.synth_shop.world import apply_complaints, draw_customers, draw_lines, draw_orders, product_table

__all__ = [
    "DESCRIPTION",
    "EFFECTS",
    "END",
    "FILES",
    "MANIFEST",
    "STAGES",
    "START",
    "Effects",
    "Shop",
    "bulk_events",
    "dataset_yaml",
    "generate",
    "months",
    "product_table",
    "write",
    "write_params",
]


def generate(customers: int, seed: int, start: dt.date = START, end: dt.date = END) -> Shop:
    """The whole shop: every source's rows as its file holds them, and the hidden truth per customer."""
    rng = np.random.default_rng(seed)
    days = (end - start).days + 1
    people = draw_customers(customers, rng, days)
    orders = draw_orders(people, rng)
    complaints = apply_complaints(orders, people, rng, days)
    lines = draw_lines(orders, people, rng)
    order_ids = order_ids_by_index(orders)
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
