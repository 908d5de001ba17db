"""Stage 02 for every source kind but transactions: parse the ingested text by each canonical column's
role (helpers.schema) and sort every row into kept or rejected with one reason code, the first rule in
:func:`reasons_of` order that applies, so that rows in = kept + rejected by reason holds exactly.

The rules, in order (a kind has those that apply to its columns and settings):

1. a required id is missing: ``missing_customer_id``, ``missing_lead_id``; an event with neither a
   customer id nor an anonymous id: ``missing_identity``;
2. a vocabulary column is missing (when required) or holds a value that is neither canonical nor mapped
   under the source's ``values``: ``unknown_event_type``, ``unknown_channel``, ``unknown_kind``, ...
3. the row's time (event_ts, interaction_ts, feedback_ts, stage_ts) is missing or unreadable:
   ``unparseable_timestamp``;
4. feedback: a score that is not a number, has no scale, or lies outside its scale: ``invalid_score``;
5. before ``cleaning.history_start``: ``before_history_start``; after the period end:
   ``after_as_of`` (kept for a later period, not an error);
6. an exact repeat of an earlier row (every mapped column as received): ``duplicate``
   (``cleaning.duplicates``);
7. customers: a second row for a customer id (the first is kept): ``duplicate_customer``;
8. events and interactions whose customer id no other source knows, with
   ``cleaning.unknown_customers: reject``: ``unknown_customer`` (by default they are kept and counted:
   potential customers).

A value that is not needed to place or keep a row (a birth date, a signup date, a resolution date, a
duration, a yes/no) and cannot be read, or is impossible (an age above 120, a date after the period
end), is left empty and counted per column in ``values_left_empty``: the customer or the contact is
still real. Events are then stitched to customers (helpers.sources.identity).
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from helpers.cleaning import (
    ISO_FORMATS,
    REJECT_REASONS,
    accounting,
    increasing_as_stored,
    repeated_source_rows,
    single_source_file,
)
from helpers.config import CleaningConfig, MappedSource
from helpers.delimited import MALFORMED_COLUMN
from helpers.engine import (
    backend_name,
    materialise,
    strip_blanks,
    try_parse_number,
    try_parse_timestamp,
    with_timestamp_cast,
)
from helpers.schema import FALSE_WORDS, PROVENANCE_COLUMNS, SCALES, SCHEMAS, TRUE_WORDS, normalise_customer_id
from helpers.sources import identity
from helpers.sources.mapping import SOURCE_COLUMN, stage_position

RECEIVED = "__received"
ENTRY = "_entry"  # leads given as one column per stage: numbers the several rows of a source row
MAX_AGE = 120

DESCRIPTIONS = {
    "malformed_line": REJECT_REASONS["malformed_line"],
    "missing_customer_id": "no customer id (empty, NA or null)",
    "missing_identity": "neither a customer id nor an anonymous id",
    "missing_lead_id": "no lead id",
    "unparseable_timestamp": "date missing or in none of the configured formats",
    "invalid_score": "score not a number, without a scale, or outside its scale",
    "before_history_start": "dated before the configured start of history",
    "after_as_of": "dated after the end of the period (kept for a later period, not an error)",
    "duplicate": "exact repeat of an earlier row",
    "duplicate_customer": "a second row for a customer id already listed (the first row is kept)",
    "unknown_customer": "customer id found in no other source, rejected by cleaning.unknown_customers",
}


def vocabulary(kind: str, column: str, cfg: MappedSource) -> tuple[str, ...]:
    """The canonical values of a vocabulary column: the schema's, a leads source's own stages, plus any
    value the source's ``values`` map to (so a dataset may add its own, e.g. an event type)."""
    if (kind, column) == ("leads", "stage"):
        base = tuple(cfg.stages)  # type: ignore[attr-defined]
    else:
        base = SCHEMAS[kind].column(column).vocabulary
    added = [v for v in cfg.values.get(column, {}).values() if v.lower() not in {b.lower() for b in base}]
    return (*base, *dict.fromkeys(added))


def _must_have(kind: str, column: str) -> bool:
    """Whether a row without a value in this vocabulary column is rejected (a required column, and a
    lead's stage: an entry of no stage is no entry)."""
    return SCHEMAS[kind].column(column).required or (kind, column) == ("leads", "stage")


def reasons_of(kind: str, cfg: MappedSource, cleaning: CleaningConfig, columns: list[str]) -> dict[str, str]:
    """The reason codes of a source of ``kind`` with these ingested ``columns``, in rule order, with
    their descriptions."""
    schema = SCHEMAS[kind]
    reasons: dict[str, str] = {}
    if MALFORMED_COLUMN in columns:
        reasons["malformed_line"] = DESCRIPTIONS["malformed_line"]
    if kind == "events":
        reasons["missing_identity"] = DESCRIPTIONS["missing_identity"]
    for column in schema.columns:
        if column.required and column.role in ("customer_id", "id"):
            reasons[f"missing_{column.name}"] = DESCRIPTIONS[f"missing_{column.name}"]
    for column in schema.columns:
        if column.role == "vocabulary" and column.name in columns and (column.closed or column.required):
            missing = "missing or " if _must_have(kind, column.name) else ""
            reasons[f"unknown_{column.name}"] = f"{column.name.replace('_', ' ')} {missing}not a known value"
    time = schema.event_time
    if time in columns and schema.event_time_required:
        reasons["unparseable_timestamp"] = DESCRIPTIONS["unparseable_timestamp"]
    if kind == "feedback" and "score" in columns:
        reasons["invalid_score"] = DESCRIPTIONS["invalid_score"]
    if time in columns and cleaning.history_start is not None:
        reasons["before_history_start"] = DESCRIPTIONS["before_history_start"]
    if time in columns:
        reasons["after_as_of"] = DESCRIPTIONS["after_as_of"]
    if cleaning.duplicates == "reject":
        reasons["duplicate"] = DESCRIPTIONS["duplicate"]
    if kind == "customers":
        reasons["duplicate_customer"] = DESCRIPTIONS["duplicate_customer"]
    if (
        kind in ("events", "interactions")
        and cleaning.unknown_customers == "reject"
        and "customer_id" in columns
    ):
        reasons["unknown_customer"] = DESCRIPTIONS["unknown_customer"]
    return reasons


def _vocabulary_value(text: ir.StringValue, kind: str, column: str, cfg: MappedSource) -> ir.StringValue:
    """The canonical value of a vocabulary column: the source's value trimmed and lower-cased, mapped by
    ``values``; a closed vocabulary gives NULL for anything else (its rule rejects the row), an open one
    keeps it (lower-case)."""
    lowered = strip_blanks(text).lower()
    lowered = ibis.ifelse(lowered == "", ibis.null("string"), lowered)
    value_map = {k.strip().lower(): v for k, v in cfg.values.get(column, {}).items()}
    mapped = (
        ibis.cases(*[(lowered == k, v) for k, v in value_map.items()], else_=lowered)
        if value_map
        else lowered
    )
    spec = SCHEMAS[kind].column(column)
    if not spec.closed:
        return mapped
    allowed = vocabulary(kind, column, cfg)
    return ibis.cases(*[(mapped.lower() == v.lower(), v) for v in allowed], else_=ibis.null("string"))


def _bool_value(text: ir.StringValue, column: str, cfg: MappedSource) -> ir.BooleanValue:
    lowered = strip_blanks(text).lower()
    value_map = {k.strip().lower(): v.strip().lower() for k, v in cfg.values.get(column, {}).items()}
    if value_map:
        lowered = ibis.cases(*[(lowered == k, v) for k, v in value_map.items()], else_=lowered)
    return ibis.cases(
        (lowered.isin(list(TRUE_WORDS)), True),
        (lowered.isin(list(FALSE_WORDS)), False),
        else_=ibis.null("boolean"),
    )


def _whole_years(born: ir.DateValue, as_of: dt.date) -> ir.IntegerValue:
    """Completed years from ``born`` to ``as_of`` (a birthday later in the year not yet counted)."""
    before_birthday = (born.month() > as_of.month) | (
        (born.month() == as_of.month) & (born.day() > as_of.day)
    )
    return as_of.year - born.year() - before_birthday.cast("int64")


def parse(
    ingested: ir.Table,
    kind: str,
    cfg: MappedSource,
    as_of: dt.date,
    backend: str = "duckdb",
    timezone: str = "UTC",
) -> ir.Table:
    """Typed canonical columns (and free attributes, trimmed) next to each mapped column's text as
    received (``<column>__received``), and provenance. Timestamps are wall-clock times in the dataset's
    ``timezone`` (text with a UTC offset converted to it), as the orders'."""
    schema = SCHEMAS[kind]
    formats = list(dict.fromkeys([*cfg.timestamp_formats, *ISO_FORMATS]))
    as_of_exclusive = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    canonical = [c for c in schema.names if c in ingested.columns]
    attributes = list(getattr(cfg, "attributes", {}))
    provenance = [*PROVENANCE_COLUMNS, *([SOURCE_COLUMN] if SOURCE_COLUMN in ingested.columns else [])]
    t = ingested
    time = schema.event_time if schema.event_time in canonical else None
    cast = None
    if time is not None:  # its trimmed text and (DuckDB) fast cast computed once per row
        t = t.mutate(_time_text=strip_blanks(t[time])).view()
        if backend == "duckdb":
            t = with_timestamp_cast(t, "_time_text", "_time_cast")
            cast = t._time_cast
    typed: dict[str, ir.Value] = {}
    for name in canonical:
        role, text = schema.column(name).role, t[name]
        if role == "customer_id":
            typed[name] = normalise_customer_id(text)
        elif role == "timestamp" or role == "date":
            value = (
                try_parse_timestamp(t._time_text, formats, backend, cast, timezone)
                if name == time
                else try_parse_timestamp(strip_blanks(text), formats, backend, None, timezone)
            )
            if name != time:  # a secondary date after the period end is not known yet
                value = ibis.ifelse(value < as_of_exclusive, value, ibis.null("timestamp"))
            typed[name] = value.date() if role == "date" else value
        elif role == "number":
            typed[name] = try_parse_number(strip_blanks(text), cfg.decimal_separator)
        elif role == "bool":
            typed[name] = _bool_value(text, name, cfg)
        elif role == "vocabulary":
            typed[name] = _vocabulary_value(text, kind, name, cfg)
        else:  # id, text, free text: trimmed, empty as missing
            stripped = strip_blanks(text)
            typed[name] = ibis.ifelse(stripped == "", ibis.null("string"), stripped)
    for name in attributes:
        stripped = strip_blanks(t[name])
        typed[name] = ibis.ifelse(stripped == "", ibis.null("string"), stripped)
    if kind == "customers":
        typed.update(_customer_ages(typed, as_of))
    if kind == "feedback":
        by_kind = ibis.cases(
            *[(typed["kind"] == k, s) for k, s in cfg.scales.items()], else_=ibis.null("string")
        )  # type: ignore[attr-defined]
        typed["scale"] = ibis.coalesce(typed["scale"], by_kind) if "scale" in typed else by_kind
    if kind == "interactions" and "duration_s" in typed:
        typed["duration_s"] = ibis.ifelse(typed["duration_s"] >= 0, typed["duration_s"], ibis.null("float64"))
    received = {f"{c}{RECEIVED}": t[c] for c in [*canonical, *attributes]}
    entry = [c for c in (ENTRY, MALFORMED_COLUMN) if c in t.columns]
    return t.select(**typed, **received, **{c: t[c] for c in [*provenance, *entry]})


def _customer_ages(typed: dict[str, ir.Value], as_of: dt.date) -> dict[str, ir.Value]:
    """A birth date after the period end is left empty; the age is the given age, or the completed
    years from the birth date to the period end; an age outside 0-120 is left empty."""
    out: dict[str, ir.Value] = {}
    born = typed.get("birth_date")
    if born is not None:
        born = ibis.ifelse(born <= as_of, born, ibis.null("date"))
        out["birth_date"] = born
    age = typed.get("age")
    if born is not None:
        age = (
            ibis.coalesce(age, _whole_years(born, as_of).cast("float64"))
            if age is not None
            else _whole_years(born, as_of).cast("float64")
        )
    if age is not None:
        out["age"] = ibis.ifelse((age >= 0) & (age <= MAX_AGE), age, ibis.null("float64"))
    return out


def classify(
    parsed: ir.Table,
    kind: str,
    cfg: MappedSource,
    cleaning: CleaningConfig,
    as_of: dt.date,
    reasons: dict[str, str],
    repeats: ir.Table | None,
    row_column: str,
    elsewhere: ir.Table | None,
) -> ir.Table:
    """``parsed`` with ``reject_reason`` (null when kept): the first of ``reasons`` that applies."""
    schema = SCHEMAS[kind]
    t = parsed
    as_of_exclusive = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    conditions: dict[str, ir.BooleanValue] = {}
    if "malformed_line" in reasons:
        conditions["malformed_line"] = t[MALFORMED_COLUMN].notnull()
    if "missing_identity" in reasons:
        present = [t[c].notnull() for c in ("customer_id", "anonymous_id") if c in t.columns]
        conditions["missing_identity"] = ~ibis.or_(*present) if len(present) > 1 else ~present[0]
    for code in reasons:
        if code.startswith("missing_") and code != "missing_identity":
            conditions[code] = t[code.removeprefix("missing_")].isnull()
        if code.startswith("unknown_") and code != "unknown_customer":
            column = code.removeprefix("unknown_")
            must = _must_have(kind, column)
            conditions[code] = t[column].isnull() & (ibis.literal(True) if must else _given(t, column))
    time = t[schema.event_time] if schema.event_time in t.columns else None
    if "unparseable_timestamp" in reasons:
        conditions["unparseable_timestamp"] = time.isnull()
    if "invalid_score" in reasons:
        conditions["invalid_score"] = _invalid_score(t)
    if "before_history_start" in reasons:
        conditions["before_history_start"] = time < dt.datetime.combine(cleaning.history_start, dt.time())
    if "after_as_of" in reasons:
        conditions["after_as_of"] = time >= as_of_exclusive
    if "duplicate" in reasons:
        conditions["duplicate"] = (
            t[row_column].isin(repeats[row_column]) if repeats is not None else ibis.literal(False)
        )
    if "unknown_customer" in reasons:
        conditions["unknown_customer"] = (
            t.customer_id.notnull() & ~t.customer_id.isin(elsewhere.customer_id)
            if elsewhere is not None
            else t.customer_id.notnull()
        )
    ordered = [(conditions[code].fill_null(False), code) for code in reasons if code in conditions]
    t = t.mutate(
        reject_reason=ibis.cases(*ordered, else_=ibis.null("string")) if ordered else ibis.null("string")
    )
    if "duplicate_customer" in reasons:
        t = t.view()
        copy = ibis.row_number().over(
            group_by=[t.customer_id, t.reject_reason.isnull()], order_by=[t.source_row, t[row_column]]
        )
        later = t.reject_reason.isnull() & t.customer_id.notnull() & (copy > 0)
        t = t.mutate(reject_reason=ibis.ifelse(later, "duplicate_customer", t.reject_reason))
    return t


def _given(t: ir.Table, column: str) -> ir.BooleanValue:
    """Whether the row's text for ``column`` was not empty."""
    return strip_blanks(t[f"{column}{RECEIVED}"]).fill_null("") != ""


def _invalid_score(t: ir.Table) -> ir.BooleanValue:
    """A score given (text not empty) that is not a number, has no scale, or is outside its scale or
    not whole where the scale counts in whole points."""
    given = _given(t, "score")
    score = t.score
    valid = ibis.literal(False)
    for scale, (low, high, whole) in SCALES.items():
        fits = (t.scale == scale) & (score >= low) & (score <= high)
        if whole:
            fits = fits & (score == score.round(0))
        valid = valid | fits.fill_null(False)
    return given & ~valid


def checked_columns(kind: str, columns: list[str]) -> list[str]:
    """The typed columns whose unreadable values are left empty (and counted) rather than rejected:
    dates, numbers and yes/no values that do not place or keep a row."""
    schema = SCHEMAS[kind]
    checked = [
        c.name
        for c in schema.columns
        if c.name in columns
        and c.role in ("timestamp", "date", "number", "bool")
        and not (c.name == schema.event_time and schema.event_time_required)
        and not (kind == "feedback" and c.name == "score")  # its own rule: invalid_score
    ]
    return checked


def left_empty(kept: ir.Table, kind: str, checked: list[str]) -> dict[str, int]:
    """Per column of :func:`checked_columns`: kept rows whose value was given but could not be read or
    was impossible, and so was left empty."""
    if not checked:
        return {}
    counts = kept.agg(**{c: (_given(kept, c) & kept[c].isnull()).sum() for c in checked}).execute().iloc[0]
    return {c: int(counts[c] or 0) for c in checked}


def clean_source(
    con: ibis.BaseBackend,
    kind: str,
    ingested: ir.Table,
    cfg: MappedSource,
    cleaning: CleaningConfig,
    as_of: dt.date,
    elsewhere: ir.Table | None = None,
    timezone: str = "UTC",
) -> tuple[ir.Table, ir.Table, dict]:
    """Split an ingested source into its clean table and its rejected table; return both and the
    quality facts (rows in, kept, rejected by reason, values left empty, and for events the identity
    counts). ``elsewhere``: the customer ids other sources know (:func:`identity.ids_elsewhere`);
    ``timezone``: the dataset's."""
    backend = backend_name(con)
    schema = SCHEMAS[kind]
    columns = [c for c in ingested.columns if c not in (*PROVENANCE_COLUMNS, SOURCE_COLUMN)]
    reasons = reasons_of(kind, cfg, cleaning, columns)
    row_column = "source_row"
    table = ingested
    order = ["source_row"]
    if SOURCE_COLUMN in ingested.columns:  # several rows per source row: number them
        row_column = ENTRY
        order = ["source_row", stage_position(ingested, cfg)]  # type: ignore[arg-type]
        table = materialise(
            con, f"{kind}_entries", ingested.mutate(**{ENTRY: ibis.row_number().over(order_by=order)})
        )
    repeats = (
        repeated_source_rows(
            con,
            table,
            [c for c in table.columns if c in (*columns, SOURCE_COLUMN) and c != MALFORMED_COLUMN],
            row_column,
        )
        if "duplicate" in reasons
        else None
    )
    parsed = parse(table, kind, cfg, as_of, backend, timezone)
    classified = classify(parsed, kind, cfg, cleaning, as_of, reasons, repeats, row_column, elsewhere)
    one_file = single_source_file(ingested)
    received = [c for c in classified.columns if c.endswith(RECEIVED)]
    checked = checked_columns(kind, columns)
    needed_when_kept = {f"{c}{RECEIVED}" for c in checked}
    stored = classified.view()  # the text as received only where a rejected row (or a count) needs it
    stored = stored.mutate(
        **{
            c: ibis.ifelse(stored.reject_reason.notnull(), stored[c], ibis.null("string"))
            for c in received
            if c not in needed_when_kept
        }
    )
    if one_file is not None:
        stored = stored.drop("source_file")
    classified = materialise(con, f"{kind}_classified", stored, on_disk=True)
    if one_file is not None:
        classified = classified.mutate(source_file=ibis.literal(one_file, type="string"))
    provenance = [*PROVENANCE_COLUMNS, *([SOURCE_COLUMN] if SOURCE_COLUMN in ingested.columns else [])]
    typed = [
        c
        for c in classified.columns
        if not c.endswith(RECEIVED) and c not in (*provenance, "reject_reason", ENTRY, MALFORMED_COLUMN)
    ]
    kept = classified.filter(classified.reject_reason.isnull())
    facts = accounting(classified, reasons)
    facts["values_left_empty"] = left_empty(kept, kind, checked)
    if kind == "events":  # stitched once, on disk: the product and the counts read it
        kept = materialise(con, "events_stitched", identity.stitch(kept), on_disk=True)
        typed = [*typed, *([] if "customer_id" in typed else ["customer_id"]), "identity"]
        facts["identity"] = identity.identity_facts(kept)
    entry = [ENTRY] if row_column == ENTRY else []
    malformed = [MALFORMED_COLUMN] if MALFORMED_COLUMN in classified.columns else []
    kept_out = in_row_order(kept.select(*typed, *provenance, *entry), row_column, backend).drop(*entry)
    rejected = classified.filter(classified.reject_reason.notnull())
    rejected_out = in_row_order(
        rejected.select(
            *provenance,
            *entry,
            *malformed,
            "reject_reason",
            **{c.removesuffix(RECEIVED): rejected[c] for c in received},
        ),
        row_column,
        backend,
    ).drop(*entry)
    if kind in ("events", "interactions") and "customer_id" in kept.columns:
        facts.update(identity.unknown_customer_facts(kept, elsewhere))
    summary = {}
    if "customer_id" in kept.columns:
        summary["customers"] = kept.customer_id.nunique()
    if schema.event_time in kept.columns:
        summary["first"] = kept[schema.event_time].min()
        summary["last"] = kept[schema.event_time].max()
    if summary:
        values = kept.agg(**summary).execute().iloc[0]
        if "customers" in summary:
            facts["customers_kept"] = int(values["customers"])
        if "first" in summary:
            facts["first_ts"], facts["last_ts"] = values["first"], values["last"]
    return kept_out, rejected_out, facts


def in_row_order(table: ir.Table, row_column: str, backend: str) -> ir.Table:
    """``table`` in source order: as it is when its rows are stored that way already (checked, as
    cleaning checks the orders: :func:`helpers.cleaning.increasing_as_stored`), sorted otherwise. The
    stored order survives the filters and, on DuckDB so far, the stitching join; a sort of 10M kept
    events and their writing had taken 14 s."""
    if increasing_as_stored(table, row_column, backend):
        return table
    return table.order_by(row_column)
