"""The dataset's params for the generated files: dataset.yaml mapping every column and messy name, and
one period file per month."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd

from helpers.synth_shop.files import FILES
from helpers.synth_shop.rules import CONTACT_VALUES, END, EVENT_VALUES, FEEDBACK_VALUES, STAGES, START

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
currency: CNY                  # prices in yuan (the report shows CN¥)

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

clustering:                    # the region as well as recency, frequency and spend: the personas show where
  features: [recency_days, frequency_orders, monetary_total, region]   # each region's interests differ
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
