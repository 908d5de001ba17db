"""Stage 02: parse the ingested text into typed columns and sort every row into kept or rejected.

Each row gets at most one reason code, the first rule in :data:`REJECT_REASONS` order that applies,
so that ``rows_in == rows_kept + sum(rows rejected by reason)`` holds exactly.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir
import pandas as pd

from helpers.config import CleaningConfig, TransactionSource
from helpers.delimited import MALFORMED_COLUMN
from helpers.engine import (
    MONEY_LIMIT,
    backend_name,
    exact_sum,
    materialise,
    plausible_timestamp,
    strip_blanks,
    try_parse_number,
    try_parse_timestamp,
    with_timestamp_cast,
)
from helpers.schema import (
    CANONICAL_TEXT_COLUMNS,
    PROVENANCE_COLUMNS,
    normalise_customer_id,
)

# Code -> plain-language description, in the order the rules are applied.
REJECT_REASONS: dict[str, str] = {
    "malformed_line": "a line that cannot be split into its columns (a quote that never closes, or too many "
    "or too few fields): none of its text is kept, only its line number",
    "after_as_of": "order after the end of the period (kept for a later period, not an error; its other "
    "problems, if any, are counted in its own period)",
    "missing_customer_id": "no customer id (empty, NA or null)",
    "unparseable_timestamp": "order date missing or in none of the configured formats",
    "invalid_amount": "amount missing, not a number, or implausibly large (10^14 or more)",
    "zero_amount": "amount is exactly zero",
    "before_history_start": "order before the configured start of history",
    "other_currency": "amount in a currency other than the reporting currency",
    "return": "a return or cancellation, quarantined by the returns setting",
    "duplicate": "exact repeat of an earlier row",
    "implausible_amount": "amount far beyond every other (more than cleaning.implausible_amount_factor times "
    "the 90th percentile of amounts): a typing error, not an order",
    "extreme_amount": "amount above the extreme-value threshold, rejected by setting",
}
# Formats every source may use besides its own: what typed (Parquet, database) timestamps become as text,
# and ISO 8601 with a UTC offset (converted to the dataset's time zone), tried last.
ISO_FORMATS = [
    "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d",
    "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%d %H:%M:%S.%f%z",
]  # fmt: skip
OPTIONAL_TEXT_COLUMNS = ["product_id", "product_name", "category", "channel", "region", "currency"]
OPTIONAL_NUMBER_COLUMNS = ["quantity", "unit_price"]


def parse_columns(
    mapped: ir.Table, source: TransactionSource, backend: str = "duckdb", timezone: str = "UTC"
) -> ir.Table:
    """Typed versions of the canonical columns next to the values as received (``*_text``). Timestamps
    and amounts that ingest kept typed (a Parquet source) are taken as they are, with the same
    plausible-year rule as parsed text; their ``*_text`` stays typed until :func:`narrow_for_storage`
    writes it as text, for the rejected rows only."""
    formats = list(dict.fromkeys([*source.timestamp_formats, *ISO_FORMATS]))
    ts_typed = not mapped.order_ts.type().is_string()
    t = mapped
    cast = None
    if ts_typed:
        order_ts = plausible_timestamp(t.order_ts.cast("timestamp"))
    else:
        # The trimmed timestamp text (and on DuckDB its fast cast) in subqueries of their own, so each
        # is computed once per row although the CASE of formats refers to it in every branch.
        t = t.mutate(_ts_text=strip_blanks(t.order_ts)).view()
        if backend == "duckdb":
            t = with_timestamp_cast(t, "_ts_text", "_ts_cast")
            cast = t._ts_cast
        order_ts = try_parse_timestamp(t._ts_text, formats, backend, cast, timezone)

    def number(column: ir.Value) -> ir.FloatingValue:
        return (
            try_parse_number(column, source.decimal_separator)
            if column.type().is_string()
            else column.cast("float64")
        )

    typed = {
        "customer_id": normalise_customer_id(t.customer_id),
        "order_id": strip_blanks(t.order_id),
        "order_ts": order_ts,
        "amount": number(t.amount),
    }
    for column in OPTIONAL_NUMBER_COLUMNS:
        if column in t.columns:
            typed[column] = number(t[column])
    for column in OPTIONAL_TEXT_COLUMNS:
        if column in t.columns:
            typed[column] = strip_blanks(t[column])
    text = {f"{c}_text": t[c] for c in CANONICAL_TEXT_COLUMNS if c in t.columns}
    malformed = {MALFORMED_COLUMN: t[MALFORMED_COLUMN]} if MALFORMED_COLUMN in t.columns else {}
    return t.select(**typed, **text, **{c: t[c] for c in PROVENANCE_COLUMNS}, **malformed)


def classify_rows(
    parsed: ir.Table,
    cleaning: CleaningConfig,
    as_of_exclusive: dt.datetime | None,
    repeats: ir.Table | None,
    extreme_threshold: float | None = None,
) -> ir.Table:
    """Add ``reject_reason`` (null when kept), ``is_return`` and ``is_extreme_amount``; ``repeats``
    holds the ``source_row`` of each exact repeat (:func:`repeated_source_rows`; None: there is none).
    ``as_of_exclusive`` None: no row is after the as-of date, and ``settled`` says where a rule before
    after_as_of gave the reason (the history, see :func:`slice_as_of`).

    Cancellations marked by an order-id prefix become negative amounts; with ``returns: net`` they
    stay and reduce the customer's value, with ``returns: quarantine`` they are rejected.
    """
    t = parsed
    is_cancellation = (
        t.order_id.startswith(cleaning.cancellation_prefix).fill_null(False)
        if cleaning.cancellation_prefix
        else ibis.literal(False)
    )
    amount = ibis.ifelse(is_cancellation, -t.amount.abs(), t.amount)
    t = t.mutate(amount=amount, is_return=(is_cancellation | (amount < 0)).fill_null(False))
    t = t.mutate(
        _repeat=t.source_row.isin(repeats.source_row) if repeats is not None else ibis.literal(False)
    )
    # A malformed line is rejected first; then a row of a later period belongs to it, whatever else is
    # wrong with it: its missing id counts there, not in every earlier month's accounting (where it once
    # tripped the rejected-share stop). ``settled``: a rule before after_as_of gave the reason.
    malformed = t[MALFORMED_COLUMN].notnull() if MALFORMED_COLUMN in t.columns else None
    settled = malformed.fill_null(False) if malformed is not None else ibis.literal(False)
    rules: list[tuple[ir.BooleanValue, str]] = [
        *([(malformed, "malformed_line")] if malformed is not None else []),
        *([(t.order_ts >= as_of_exclusive, "after_as_of")] if as_of_exclusive is not None else []),
        (t.customer_id.isnull(), "missing_customer_id"),
        (t.order_ts.isnull(), "unparseable_timestamp"),
        (
            t.amount.isnull() | t.amount.isnan() | t.amount.isinf() | (t.amount.abs() >= MONEY_LIMIT),
            "invalid_amount",
        ),
    ]
    if cleaning.zero_amount == "reject":
        rules.append((t.amount == 0, "zero_amount"))
    if cleaning.history_start is not None:
        start = dt.datetime.combine(cleaning.history_start, dt.time())
        rules.append((t.order_ts < start, "before_history_start"))
    if cleaning.currency is not None:
        rules.append((t.currency.upper().fill_null("") != cleaning.currency.upper(), "other_currency"))
    if cleaning.returns == "quarantine":
        rules.append((t.is_return, "return"))
    if cleaning.duplicates == "reject":
        rules.append((t._repeat, "duplicate"))
    reason = ibis.cases(*[(cond.fill_null(False), code) for cond, code in rules], else_=ibis.null("string"))
    classified = t.mutate(reject_reason=reason).drop("_repeat")
    if as_of_exclusive is None:
        classified = classified.mutate(**{SETTLED: settled})
    return apply_extreme_rule(classified, cleaning, extreme_threshold)


def duplicate_key(mapped: ir.Table, order_id_mapped: bool) -> list[str]:
    """The columns two rows must agree on, as received, to be exact duplicates: every mapped
    canonical column (a generated order id is not a source value)."""
    return [c for c in CANONICAL_TEXT_COLUMNS if c in mapped.columns and (c != "order_id" or order_id_mapped)]


def repeated_source_rows(
    con: ibis.BaseBackend, mapped: ir.Table, key: list[str], row_column: str = "source_row"
) -> ir.Table | None:
    """The ``row_column`` (``source_row``, or another column naming each row once) of every copy of a
    row after its first (by that column) with the same ``key`` values, computed now and kept: None when
    no row repeats. Rows are first grouped by a hash
    of the key, and only rows whose hash occurs more than once are compared exactly (a hash collision
    costs an exact comparison, never a wrong answer). On 10M rows without repeats this is one grouping
    of hashes, 2.5 s; as part of the classifying query it had cost 5 s (the rows were read and hashed
    twice)."""
    hashed = mapped.mutate(_key_hash=ibis.struct({k: mapped[k] for k in key}).hash())
    shared = hashed.group_by("_key_hash").agg(_copies=hashed.count())
    shared = materialise(con, "cleaning_shared_hashes", shared.filter(shared._copies > 1).select("_key_hash"))
    if int(shared.count().execute()) == 0:
        return None
    candidates = hashed.semi_join(shared, "_key_hash")
    # ibis.row_number() counts from 0: the first copy of a row is 0, later copies are repeats.
    candidates = candidates.mutate(
        _copy=ibis.row_number().over(group_by=[candidates[k] for k in key], order_by=candidates[row_column])
    )
    return materialise(con, "cleaning_repeats", candidates.filter(candidates._copy > 0).select(row_column))


SETTLED = "settled"  # in the classified history: a rule before after_as_of rejected the row
LATE_REASONS = ("implausible_amount", "extreme_amount")  # need the kept amounts' quantiles first
# Implausible = more than implausible_amount_factor times this quantile of the kept amounts: the 90th, which
# a typo cannot move unless a tenth of the rows are typos (the 99th of a first month's 92 rows was the
# typo itself, and 1e12 passed).
IMPLAUSIBLE_BASE_QUANTILE = 0.9


def apply_extreme_rule(
    classified: ir.Table,
    cleaning: CleaningConfig,
    extreme_threshold: float | None,
    implausible_threshold: float | None = None,
) -> ir.Table:
    """Reject implausible amounts (beyond ``implausible_threshold``) that no other rule rejected; add
    ``is_extreme_amount`` and, with ``extreme_amount_action: reject``, reject extreme rows left. These
    are the last rules, so the first matching reason of every other row is unchanged."""
    t = classified
    if implausible_threshold is not None:
        implausible = (t.amount.abs() > implausible_threshold).fill_null(False)
        t = t.mutate(
            reject_reason=ibis.ifelse(
                t.reject_reason.isnull() & implausible, "implausible_amount", t.reject_reason
            )
        )
    extreme = (
        (t.amount.abs() > extreme_threshold) if extreme_threshold is not None else ibis.literal(False)
    ).fill_null(False)
    if cleaning.extreme_amount_action == "reject":
        t = t.mutate(
            reject_reason=ibis.ifelse(t.reject_reason.isnull() & extreme, "extreme_amount", t.reject_reason)
        )
    return t.mutate(is_extreme_amount=extreme)


def amount_thresholds(classified: ir.Table, cleaning: CleaningConfig) -> tuple[float | None, float | None]:
    """The absolute amounts above which an order is extreme (a high quantile of the amounts of the
    rows every other rule keeps, the implausible ones left out) and implausible
    (``implausible_amount_factor`` times the 90th percentile of those amounts, a percentile the few
    typos it is there to catch cannot move); None where there is no kept amount (or the factor is
    null, or the percentile 0)."""

    def quantile(table: ir.Table, q: float) -> float | None:
        value = table.amount.abs().quantile(q).execute()
        return None if value is None or value != value else float(value)

    kept = classified.filter(classified.reject_reason.isnull())
    factor = cleaning.implausible_amount_factor
    base = quantile(kept, IMPLAUSIBLE_BASE_QUANTILE) if factor is not None else None
    implausible = base * factor if base else None
    plausible = kept.filter(kept.amount.abs() <= implausible) if implausible is not None else kept
    return quantile(plausible, cleaning.extreme_amount_quantile), implausible


def extreme_amount_threshold(classified: ir.Table, cleaning: CleaningConfig) -> float | None:
    """The absolute amount above which an order is extreme (see :func:`amount_thresholds`)."""
    return amount_thresholds(classified, cleaning)[0]


def clean_transactions(
    con: ibis.BaseBackend,
    mapped: ir.Table,
    source: TransactionSource,
    cleaning: CleaningConfig,
    as_of_exclusive: dt.datetime,
    timezone: str = "UTC",
) -> tuple[ir.Table, ir.Table, dict]:
    """Split the ingested rows into the clean table and the rejected table; return both and the
    data-quality facts (rows in, kept, rejected by reason, flags). Timestamps come out as wall-clock
    times in ``timezone`` (the dataset's). The two steps of :func:`classify_history` (every rule but
    the period's; what the history cache keeps) and :func:`clean_as_of` (the period's rules)."""
    history = materialise(
        con,
        "cleaning_provisional",
        classify_history(con, mapped, source, cleaning, timezone),
        on_disk=True,
    )
    return clean_as_of(con, history, mapped, cleaning, as_of_exclusive)


def classify_history(
    con: ibis.BaseBackend,
    mapped: ir.Table,
    source: TransactionSource,
    cleaning: CleaningConfig,
    timezone: str = "UTC",
) -> ir.Table:
    """The ingested rows parsed and classified by every rule that does not depend on the period (all
    but after_as_of and the amount thresholds), narrowed for storage (:func:`narrow_for_storage`):
    the costly part of cleaning (every timestamp and amount parsed, exact repeats found), the same for
    every period of a dataset, so the history cache keeps it (helpers.cache)."""
    if cleaning.currency is not None and "currency" not in mapped.columns:
        raise ValueError(
            "cleaning.currency is set but sources.transactions.columns.currency is not mapped; "
            "map the currency column or set cleaning.currency to null."
        )
    repeats = (
        repeated_source_rows(con, mapped, duplicate_key(mapped, source.columns.order_id is not None))
        if cleaning.duplicates == "reject"
        else None
    )
    parsed = parse_columns(mapped, source, backend_name(con), timezone)
    classified = classify_rows(
        parsed, cleaning.model_copy(update={"extreme_amount_action": "flag"}), None, repeats
    )
    return narrow_for_storage(classified.drop("is_extreme_amount"), single_source_file(mapped))


PERIOD_REASONS = ("after_as_of", *LATE_REASONS)  # decided per period: their text is read back


def slice_as_of(history: ir.Table, as_of_exclusive: dt.datetime) -> ir.Table:
    """The period's reason for each row of the history: what :func:`classify_rows` gives with the
    period's as-of date, from the history's reasons (rule order kept: a rule before after_as_of, which
    ``settled`` marks, wins). A flag rather than a test of the reason's name: DuckDB turns a long IN
    list into a join, which does not keep the rows' order."""
    t = history
    after = (t.order_ts >= as_of_exclusive).fill_null(False)
    reason = ibis.cases(
        (t[SETTLED], t.reject_reason), (after, ibis.literal("after_as_of")), else_=t.reject_reason
    )
    return t.mutate(reject_reason=reason).drop(SETTLED)


def clean_as_of(
    con: ibis.BaseBackend,
    history: ir.Table,
    mapped: ir.Table,
    cleaning: CleaningConfig,
    as_of_exclusive: dt.datetime,
) -> tuple[ir.Table, ir.Table, dict]:
    """The period's clean and rejected tables and quality facts from the classified history (stored:
    the cache's file, or a table of the connection) and the ingested rows: the as-of date, then the
    implausible and extreme amounts among the rows up to it."""
    one_file = single_source_file(mapped)
    classified = slice_as_of(history, as_of_exclusive)
    if one_file is not None:
        classified = classified.mutate(source_file=ibis.literal(one_file, type="string"))
    threshold, implausible = amount_thresholds(classified, cleaning)
    classified = apply_extreme_rule(classified, cleaning, threshold, implausible)

    typed = ["customer_id", "order_id", "order_ts", "amount"] + [
        c for c in [*OPTIONAL_NUMBER_COLUMNS, *OPTIONAL_TEXT_COLUMNS] if c in classified.columns
    ]
    kept = classified.filter(classified.reject_reason.isnull()).select(
        *typed, "is_return", "is_extreme_amount", *PROVENANCE_COLUMNS
    )
    refilled = int(
        classified.filter(
            ibis.or_(*[classified.reject_reason == reason for reason in PERIOD_REASONS]).fill_null(False)
        )
        .count()
        .execute()
    )
    rejected = rejected_rows(classified, mapped, refilled > 0)
    # Both come out in source_row order without a sort when the history was stored in that order and
    # no join (the text of the period's rejections) came between: DuckDB keeps the order of a single
    # table through SELECT, WHERE and COPY (documented). 10M kept rows written: 5.4 s -> 3.3 s.
    if refilled or not increasing_as_stored(history, "source_row", backend_name(con)):
        kept, rejected = kept.order_by("source_row"), rejected.order_by("source_row")
    quality = quality_facts(classified, threshold, cleaning, backend_name(con), implausible)
    return kept, rejected, quality


def increasing_as_stored(table: ir.Table, column: str, backend: str) -> bool:
    """True on DuckDB when every row has a ``column`` value greater than the row stored before it:
    each row is compared with the previous one in scan order, which a window without ORDER BY keeps
    (10M rows: 0.2-0.8 s). Cleaning asks it of ``source_row`` (rows stored in source order need no
    sort) and of the kept ``order_id`` (no id repeats, so orders are counted as rows instead of by a
    distinct count). Any other order only makes it False; always False on other engines (no scan order)."""
    if backend != "duckdb":
        return False
    pairs = table.select(value=table[column], previous=table[column].lag().over(ibis.window()))
    not_increasing = pairs.value.isnull() | (pairs.value <= pairs.previous).fill_null(False)
    return int(pairs.filter(not_increasing).count().execute()) == 0


def single_source_file(mapped: ir.Table) -> str | None:
    """The ``source_file`` of every ingested row when they all share one (the usual case: one source,
    one label), else None. Cheap: the engine answers from the file's statistics."""
    ends = mapped.agg(first=mapped.source_file.min(), last=mapped.source_file.max()).execute().iloc[0]
    return str(ends["first"]) if ends["first"] is not None and ends["first"] == ends["last"] else None


def rejected_rows(classified: ir.Table, mapped: ir.Table, any_late: bool = True) -> ir.Table:
    """The rejected rows with their provenance, reason and original text. Rows rejected by the
    period's rules (:data:`PERIOD_REASONS`: after the as-of date, and the late rules; ``any_late``
    False when there is none) had no text kept in the classified history: theirs is read back from
    the ingested rows by ``source_row``."""
    text_columns = [c for c in classified.columns if c.endswith("_text")]
    out = classified.filter(classified.reject_reason.notnull()).select(
        *PROVENANCE_COLUMNS,
        *([MALFORMED_COLUMN] if MALFORMED_COLUMN in classified.columns else []),
        "reject_reason",
        **{c.removesuffix("_text"): classified[c] for c in text_columns},
    )
    if not any_late:
        return out
    names = [c.removesuffix("_text") for c in text_columns]
    late = out.filter(out.reject_reason.isin(PERIOD_REASONS))
    source = mapped.select("source_row", **{f"_{n}": mapped[n].cast("string") for n in names})
    filled = (
        late.join(source, "source_row")
        .select(*[c for c in out.columns if c not in names], **{n: ibis._[f"_{n}"] for n in names})
        .select(*out.columns)
    )
    return out.filter(~out.reject_reason.isin(PERIOD_REASONS)).union(filled)


def narrow_for_storage(classified: ir.Table, one_file: str | None) -> ir.Table:
    """What cleaning keeps of the classified rows between its queries: the text as received only
    where the row is rejected (only the rejected table shows it; the late rules' rejections get theirs
    back in :func:`rejected_rows`), and no ``source_file`` when ``one_file`` holds it.
    On 10M rows at a 1GB limit, storing this instead of every column took 16.1 s instead of 21.3 s;
    the repeated source label alone cost 5.7 s. A typed value (a Parquet source's timestamp or
    amount) is written as text here, inside the condition, so only rejected rows pay for it (10M
    rows: 8.4-9.6 s -> 6.5-6.7 s)."""
    t = classified.view()  # the reject reason is computed once, not once per text column

    def as_text(column: str) -> ir.StringValue:
        return t[column] if t[column].type().is_string() else t[column].cast("string")

    texts = [c for c in t.columns if c.endswith("_text")]
    t = t.mutate(
        **{c: ibis.ifelse(t.reject_reason.notnull(), as_text(c), ibis.null("string")) for c in texts}
    )
    return t.drop("source_file") if one_file is not None else t


def accounting(classified: ir.Table, reasons: dict[str, str]) -> dict:
    """Counts that must add up, for any source: rows in = kept (no ``reject_reason``) + rejected, the
    rejected split by every code of ``reasons`` (zeros included, in that order), from one grouping of
    the classified rows."""
    counts = classified.group_by("reject_reason").agg(rows=classified.count()).execute()
    by_reason = {code: 0 for code in reasons}
    kept_rows = 0
    for reason, rows in zip(counts["reject_reason"], counts["rows"]):
        if reason is None or reason != reason:
            kept_rows = int(rows)
        else:
            by_reason[str(reason)] = int(rows)
    rows_in, rows_rejected = int(counts["rows"].sum()), sum(by_reason.values())
    return {
        "rows_in": rows_in,
        "rows_kept": kept_rows,
        "rows_rejected": rows_rejected,
        "balanced": rows_in == kept_rows + rows_rejected,
        "rejected_by_reason": by_reason,
        "reason_descriptions": reasons,
    }


def quality_facts(
    classified: ir.Table,
    threshold: float | None,
    cleaning: CleaningConfig,
    backend: str,
    implausible_threshold: float | None = None,
) -> dict:
    """Counts that must add up: rows in = kept + rejected, with rejected split by every reason code;
    and the rows set aside as implausible (their source row and amount), for the page to list."""
    counted = accounting(classified, REJECT_REASONS)
    kept_rows, by_reason = counted["rows_kept"], counted["rejected_by_reason"]
    kept = classified.filter(classified.reject_reason.isnull())
    orders = (
        kept.count()
        if kept_rows and increasing_as_stored(kept, "order_id", backend)
        else kept.order_id.nunique()
    )
    summary = (
        kept.agg(
            customers=kept.customer_id.nunique(),
            orders=orders,
            revenue=exact_sum(kept.amount),
            returns=kept.is_return.sum(),
            extreme=kept.is_extreme_amount.sum(),
            first_order=kept.order_ts.min(),
            last_order=kept.order_ts.max(),
        )
        .execute()
        .iloc[0]
    )
    return {
        **counted,
        "customers_kept": _count(summary["customers"]),
        "orders_kept": _count(summary["orders"]),
        # Every kept row is an order of its own (distinct ids, none missing): later stages then count
        # orders by counting rows, not distinct ids (10M rows: the RFM summary 5.6 s -> 2.9 s).
        "one_row_per_order": kept_rows > 0 and _count(summary["orders"]) == kept_rows,
        "revenue_kept": float(summary["revenue"]) if pd.notna(summary["revenue"]) else 0.0,  # no kept rows: 0
        "returns_kept": _count(summary["returns"]),
        "extreme_amount_threshold": threshold,
        "extreme_amount_flagged": _count(summary["extreme"])
        if cleaning.extreme_amount_action == "flag"
        else 0,
        "first_order_ts": None if pd.isna(summary["first_order"]) else summary["first_order"],
        "last_order_ts": None if pd.isna(summary["last_order"]) else summary["last_order"],
        "implausible_amount_threshold": implausible_threshold,
        "implausible_rows": implausible_rows(classified) if by_reason.get("implausible_amount") else [],
        "examples": rejection_examples(classified, [r for r in SOURCE_PROBLEMS if by_reason.get(r)]),
    }


def _count(value) -> int:
    """A count or a sum of flags from an engine's one-row result; 0 where there was no row to count
    (DuckDB hands back None, Spark through Arrow NaN)."""
    return 0 if value is None or value != value else int(value)


EXAMPLE_COLUMN = {"unparseable_timestamp": "order_ts_text", "invalid_amount": "amount_text"}


def rejection_examples(classified: ir.Table, reasons: list[str]) -> dict[str, dict]:
    """For each reason, the first rejected row: its source row and the value that failed (the text of
    the date or amount as received; none for a missing id or a malformed line, whose text is not kept)."""
    found = {}
    for reason in reasons:
        rows = classified.filter(classified.reject_reason == reason).order_by("source_row").limit(1)
        column = EXAMPLE_COLUMN.get(reason)
        frame = rows.select("source_row", *([column] if column in classified.columns else [])).execute()
        if len(frame):
            value = frame[column].iloc[0] if column in frame else None
            found[reason] = {
                "source_row": int(frame["source_row"].iloc[0]),
                "value": None if value is None or value != value else str(value),
            }
    return found


def implausible_sentence(quality: dict) -> str:
    """What the implausible-amount rule did, in one sentence for the page."""
    threshold, rows = (
        quality.get("implausible_amount_threshold"),
        quality["rejected_by_reason"].get("implausible_amount", 0),
    )
    if threshold is None:
        return "No amount was checked for typing errors (no kept amount, or the rule is switched off)."
    if not rows:
        return f"No amount was beyond {threshold:,.2f}, the limit for a typing error."
    shown = " (the first 20 below)" if rows > 20 else " (below)"
    return (
        f"{rows:,} row{'s' if rows > 1 else ''} with an amount beyond {threshold:,.2f} "
        f"{'were' if rows > 1 else 'was'} set aside as "
        f"{'typing errors' if rows > 1 else 'a typing error'}{shown}."
    )


def implausible_rows(classified: ir.Table, limit: int = 20) -> list[dict]:
    """The first rows rejected as implausible amounts: source row and amount."""
    rows = (
        classified.filter(classified.reject_reason == "implausible_amount")
        .order_by("source_row")
        .limit(limit)
    )
    frame = rows.select("source_row", "amount").execute()
    return [{"source_row": int(r), "amount": float(a)} for r, a in zip(frame["source_row"], frame["amount"])]


def quality_table(quality: dict) -> list[dict]:
    """Rows for the data-quality table: kept, then each rejection reason, then the total."""
    rows = [
        {
            "outcome": "kept",
            "description": "clean rows used by every later stage",
            "rows": quality["rows_kept"],
        }
    ]
    for code in REJECT_REASONS:  # rule order (the JSON product stores its keys sorted)
        rows.append(
            {
                "outcome": code,
                "description": REJECT_REASONS[code],
                "rows": quality["rejected_by_reason"].get(code, 0),
            }
        )
    rows.append({"outcome": "total", "description": "rows in the source", "rows": quality["rows_in"]})
    for row in rows:
        row["share_%"] = round(100.0 * row["rows"] / quality["rows_in"], 2) if quality["rows_in"] else 0.0
    return rows


def monthly_activity(kept: ir.Table, one_row_per_order: bool = False) -> pd.DataFrame:
    """Orders and revenue per calendar month of the clean table (what the page's chart shows; the
    distinct customers of each month, which it did not show, had cost 2.3 of 3.2 s on 10M rows).
    ``one_row_per_order`` (the quality fact): orders are counted as rows (10M rows: 4.8 s -> 2.4 s)."""
    month = kept.order_ts.truncate("M").date().name("month")
    orders = kept.count() if one_row_per_order else kept.order_id.nunique()
    grouped = kept.group_by(month).agg(orders=orders, revenue=exact_sum(kept.amount))
    frame = grouped.order_by("month").execute()
    frame["month"] = frame["month"].astype(str).str[:7]
    return frame


class NoOrdersError(ValueError):
    """No order is left to analyse for the period: a clear stop instead of empty pages downstream."""


class TooManyRejectedError(ValueError):
    """So many rows were rejected for a problem of the source or its settings that the report would
    mislead; the message names the reason, an example and the setting to fix."""


# Reasons that point at the source or its settings (a date format, a delimiter, a mapped column), and
# the setting to look at first.
SOURCE_PROBLEMS = {
    "malformed_line": "the source's delimiter and quoting",
    "missing_customer_id": "sources.transactions.columns.customer_id",
    "unparseable_timestamp": "sources.transactions.timestamp_formats",
    "invalid_amount": "sources.transactions.columns.amount and decimal_separator",
}


def require_usable_rows(quality: dict, max_share: float) -> None:
    """Stop with one sentence when more than ``max_share`` of the rows up to the period's end were
    rejected for one problem of the source (a wrong date format rejects most rows): built anyway, the
    report would rest on a fraction of the data without saying so."""
    window = (
        quality["rows_in"]
        - quality["rejected_by_reason"].get("after_as_of", 0)
        - quality["rejected_by_reason"].get("before_history_start", 0)
    )
    for reason, setting in SOURCE_PROBLEMS.items():
        rows = quality["rejected_by_reason"].get(reason, 0)
        if window and rows / window > max_share:
            example = quality.get("examples", {}).get(reason)
            shown = (
                f", for example {example['value']!r} (row {example['source_row']})"
                if example and example.get("value") is not None
                else ""
            )
            raise TooManyRejectedError(
                f"{100 * rows / window:.0f}% of the rows ({rows:,} of {window:,}) were rejected as {reason} "
                f"({quality['reason_descriptions'][reason]}){shown}: check {setting}, or raise "
                f"cleaning.max_rejected_share if that is expected."
            )


def require_orders(quality: dict, period: str, as_of: dt.date, period_start: dt.date | None = None) -> None:
    """Stop the run with one sentence when no row was kept (e.g. a period that ends before the data),
    or when the data ends before the period starts (a scheduled run before its data arrived: a page of
    zeros would read as a month without sales). A month without orders inside the data is built."""
    last = quality.get("last_order_ts")
    if (
        period_start is not None
        and quality["rows_kept"]
        and last is not None
        and pd.Timestamp(last) < pd.Timestamp(period_start)
        and not quality["rejected_by_reason"].get("after_as_of")
    ):
        raise NoOrdersError(
            f"period {period}: the source's last order is dated {pd.Timestamp(last):%Y-%m-%d}, before the "
            f"period starts ({period_start}), so its data has not arrived yet; build the period once the "
            "source holds its orders."
        )
    if quality["rows_kept"] == 0:
        later = quality["rejected_by_reason"].get("after_as_of", 0)
        if later == quality["rows_in"]:
            raise NoOrdersError(
                f"period {period}: no order is left to analyse because all {later:,} rows are dated "
                f"after {as_of}; check period_end in the period's params file and the source."
            )
        if later:
            raise NoOrdersError(
                f"period {period}: no order is left to analyse: {later:,} of the {quality['rows_in']:,} rows "
                f"are dated after {as_of} and the other {quality['rows_in'] - later:,} were rejected; the "
                "data-quality table above counts them by reason."
            )
        raise NoOrdersError(
            f"period {period}: no order is left to analyse because all {quality['rows_in']:,} rows "
            "were rejected; the data-quality table above counts them by reason."
        )
