"""The canonical schema of the sources: for every source kind (transactions, customers, events,
interactions, feedback, leads) its canonical columns and what kind of value each holds, the provenance
columns, and the one rule that makes a customer id comparable wherever it appears (ingest pseudonymises
ids by it, cleaning keeps or rejects rows by it).

A dataset maps its own column names to these canonical names in ``params/<dataset>/dataset.yaml``
(``sources.<kind>.columns``); the params model builds each kind's column map from :data:`SCHEMAS`, ingest
copies exactly the mapped columns, and cleaning parses each by its role. This module is that one
statement.
"""

from __future__ import annotations

import functools
import operator
import re
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

# What a canonical column holds, and so how cleaning reads it.
ROLES = {
    "customer_id": "a customer id: trimmed, NA-like tokens missing, '17850.0' read as '17850'; "
    "pseudonymised like every other source's ids",
    "id": "another identifier (an order, a lead, a device or a session): trimmed text",
    "timestamp": "a date and time, parsed by the source's timestamp_formats",
    "date": "a calendar date, parsed by the source's timestamp_formats",
    "number": "a number, parsed with the source's decimal separator",
    "bool": "yes or no (true/false, yes/no, y/n, 1/0, 是/否, or the source's own words under 'values')",
    "text": "a label, kept as received (trimmed)",
    "vocabulary": "one of a fixed list of values; the source's own names are mapped under 'values'",
    "free_text": "text people wrote: e-mail addresses, phone numbers, id and card numbers and the values of "
    "identifier columns are replaced by tags at ingest, before any product",
}


@dataclass(frozen=True)
class Column:
    """One canonical column of a source kind."""

    name: str
    role: str
    required: bool = False  # the column must be mapped
    vocabulary: tuple[str, ...] = ()  # role vocabulary: the canonical values
    closed: bool = True  # vocabulary: a value outside it (after 'values') rejects the row; False: kept


@dataclass(frozen=True)
class SourceSchema:
    """A source kind: what one row is, its canonical columns, and the column that places a row in time
    (the rules 'after the period end' and 'before the start of history' read it)."""

    kind: str
    title: str  # how pages name the source
    row: str
    columns: tuple[Column, ...]
    event_time: str | None = None
    event_time_required: bool = True  # False: a row whose event time is missing or unreadable is kept

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def with_role(self, *roles: str) -> list[str]:
        return [c.name for c in self.columns if c.role in roles]


EVENT_TYPES = (
    "page_view",
    "product_view",
    "search",
    "add_to_cart",
    "remove_from_cart",
    "checkout",
    "purchase",
    "store_visit",
    "app_open",
    "login",
    "signup",
)
INTERACTION_CHANNELS = ("phone", "email", "chat", "social", "visit", "event")
DIRECTIONS = ("inbound", "outbound")
FEEDBACK_KINDS = ("survey", "complaint", "review")
# Score scale -> (lowest, highest, whole numbers only).
SCALES = {"nps_0_10": (0, 10, True), "csat_1_5": (1, 5, True), "stars_1_5": (1, 5, True)}
LEAD_OUTCOMES = ("won", "lost", "open")
DEFAULT_LEAD_STAGES = ("lead", "contacted", "needs analysis", "proposal", "contract")
TRUE_WORDS = ("true", "yes", "y", "1", "t", "是")
FALSE_WORDS = ("false", "no", "n", "0", "f", "否")

SCHEMAS: dict[str, SourceSchema] = {
    s.kind: s
    for s in [
        SourceSchema(
            "transactions",
            "Orders",
            "an order, or one line of an order",
            (
                Column("customer_id", "customer_id", True),
                Column("order_id", "id"),  # None: every source row is an order of its own
                Column("order_ts", "timestamp", True),
                Column("amount", "number", True),
                Column("quantity", "number"),
                Column("unit_price", "number"),
                Column("product_id", "id"),
                Column("product_name", "text"),
                Column("category", "text"),
                Column("channel", "text"),
                Column("region", "text"),
                Column("currency", "text"),
            ),
            "order_ts",
        ),
        SourceSchema(
            "customers",
            "Customers",
            "a customer",
            (
                Column("customer_id", "customer_id", True),
                Column("signup_ts", "timestamp"),
                Column("birth_date", "date"),
                Column("age", "number"),
                Column("gender", "text"),
                Column("income_band", "text"),
                Column("region", "text"),
                Column("city", "text"),
                Column("acquisition_channel", "text"),
                Column("marketing_consent", "bool"),
            ),
            "signup_ts",
            event_time_required=False,  # a customer without a known signup date is still a customer
        ),
        SourceSchema(
            "events",
            "Behaviour events",
            "a behaviour event (web, app or store)",
            (
                Column("event_ts", "timestamp", True),
                Column("customer_id", "customer_id"),
                Column("anonymous_id", "id"),
                Column("event_type", "vocabulary", True, EVENT_TYPES),
                Column("page", "text"),
                Column("product_id", "id"),
                Column("category", "text"),
                Column("search_term", "free_text"),
                Column("channel", "vocabulary", False, ("web", "app", "store"), closed=False),
                Column("session_id", "id"),
            ),
            "event_ts",
        ),
        SourceSchema(
            "interactions",
            "Contacts",
            "a contact between the customer and the business",
            (
                Column("interaction_ts", "timestamp", True),
                Column("customer_id", "customer_id", True),
                Column("channel", "vocabulary", True, INTERACTION_CHANNELS),
                Column("direction", "vocabulary", False, DIRECTIONS),
                Column("topic", "free_text"),
                Column("duration_s", "number"),
                Column("outcome", "text"),
            ),
            "interaction_ts",
        ),
        SourceSchema(
            "feedback",
            "Feedback",
            "a survey answer, a complaint or a review",
            (
                Column("feedback_ts", "timestamp", True),
                Column("customer_id", "customer_id", True),
                Column("kind", "vocabulary", True, FEEDBACK_KINDS),
                Column("score", "number"),
                Column("scale", "vocabulary", False, tuple(SCALES)),
                Column("category", "text"),
                Column("text", "free_text"),
                Column("status", "text"),
                Column("resolved_ts", "timestamp"),
            ),
            "feedback_ts",
        ),
        SourceSchema(
            "leads",
            "Sales leads",
            "a lead's entry into a stage of the sales pipeline",
            (
                Column("lead_id", "id", True),
                Column("customer_id", "customer_id"),
                Column("created_ts", "timestamp"),
                Column("stage", "vocabulary"),  # the vocabulary is the source's 'stages' setting
                Column("stage_ts", "timestamp"),
                Column("source", "text"),
                Column("campaign", "text"),
                Column("expected_value", "number"),
                Column("outcome", "vocabulary", False, LEAD_OUTCOMES),
            ),
            "stage_ts",
        ),
    ]
}
SOURCE_KINDS = list(SCHEMAS)  # in the order ingest and cleaning handle them
OTHER_KINDS = [kind for kind in SOURCE_KINDS if kind != "transactions"]

# The transactions source's canonical columns, in the order ingest writes them (as text).
CANONICAL_TEXT_COLUMNS = SCHEMAS["transactions"].names
PROVENANCE_COLUMNS = ["source_file", "source_row"]
# Canonical columns a typed source may deliver typed, and the kind of value each must be.
NATIVE_TYPE_ROLES = {
    "order_ts": "timestamp",
    "amount": "number",
    "quantity": "number",
    "unit_price": "number",
}
# Names that look like direct identifiers: a mapped attribute with such a name is refused.
IDENTIFIER_NAME = re.compile(r"(^|_)(name|e-?mail|phone|mobile|address|street|zip|postcode)(_|$)", re.I)
MISSING_ID_TOKENS = ["", "na", "n/a", "nan", "null", "none", "-"]


def normalise_customer_id(raw: ir.StringValue) -> ir.StringValue:
    """Trim blanks, treat NA-like tokens as missing, and undo float formatting ("17850.0" -> "17850")."""
    from helpers.engine import strip_blanks  # the engine module imports the params model, which imports this

    trimmed = strip_blanks(raw)
    # Cheap tests first (the engine skips the rest for rows that fail them): a regex only on text with
    # a dot, the token comparison only on short text (an IN list runs as a join: 15% slower on 10M rows).
    unfloated = ibis.ifelse(
        trimmed.contains(".") & trimmed.re_search(r"^\d+\.0+$"), trimmed.re_replace(r"\.0+$", ""), trimmed
    )
    lowered = trimmed.lower()
    is_token = functools.reduce(operator.or_, [lowered == token for token in MISSING_ID_TOKENS])
    missing = (trimmed.length() <= max(map(len, MISSING_ID_TOKENS))) & is_token
    return ibis.ifelse(missing, ibis.null("string"), unfloated)


def normalised_ids(values: list[str]) -> list[str | None]:
    """Ids given by hand (a suppression list, an erasure request) normalised as ingest and cleaning
    normalise the source's ids, in order (None for a blank or NA-like one)."""
    if not values:
        return []
    import pandas as pd

    table = ibis.memtable(pd.DataFrame({"id": pd.Series(values, dtype="string")}))
    frame = table.select(id=normalise_customer_id(table.id)).to_pandas()
    return [None if pd.isna(v) else str(v) for v in frame["id"]]
