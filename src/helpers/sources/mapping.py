"""Stage 01 for every source kind but transactions (customers, events, interactions, feedback, leads):
read the source (:func:`helpers.ingest.read_source`, the one reader of every format), keep exactly the
mapped canonical columns as text, add provenance, scrub free text, pseudonymise ids.

As for orders: values stay as received (cleaning parses them, so that a value that does not parse can be
quarantined with its text); a column that is not mapped, and in particular an identifier column, is
never copied; with ``privacy.pseudonymise_customer_id`` every customer id (and an events source's
anonymous ids) becomes the same keyed hash as in every other source. Free text is scrubbed here, before
any product (:mod:`helpers.sources.scrub`).

A leads source given as one row per lead with one date column per stage (``stage_columns``) becomes one
row per filled stage cell here, with the stage's column in ``source_column``; a lead row without any
filled stage becomes one row without a stage (cleaning rejects it as ``unknown_stage``).
"""

from __future__ import annotations

from pathlib import Path

import ibis
import ibis.expr.types as ir

from helpers.config import FileOptions, LeadSource, MappedSource, PrivacyConfig, Sources
from helpers.delimited import MALFORMED_COLUMN
from helpers.engine import backend_name, materialise
from helpers.ingest import (
    IngestError,
    _missing_columns,
    _pseudonymise,
    pseudonymisation_key,
    read_source,
)
from helpers.privacy.forget import leave_out_erased
from helpers.schema import IDENTIFIER_NAME, PROVENANCE_COLUMNS, SCHEMAS, normalise_customer_id
from helpers.sources.scrub import (
    MIN_IDENTIFIER_LENGTH,
    TAGS,
    Identifiers,
    escaped,
    row_identifiers,
    scrub,
)

SOURCE_COLUMN = "source_column"  # leads given as one column per stage: the column a row came from
PSEUDONYMISED_ROLES = ("customer_id",)  # and an events source's anonymous_id (a person's device)


def _customer_column(kind: str, cfg: FileOptions) -> str | None:
    """The source column a source kind maps to customer_id (None: not mapped)."""
    return cfg.columns.mapped().get("customer_id")  # type: ignore[attr-defined]


def identifier_lookup(con: ibis.BaseBackend, sources: Sources, root: Path | None = None) -> ir.Table | None:
    """Per customer id (normalised, as received), the regex alternation of every value the configured
    sources hold for them in their identifier columns (longest first, escaped), for scrubbing free text;
    None when no source lists an identifier column next to a customer id. Read from the raw sources
    and kept in the connection only: never written."""
    parts = []
    for kind, cfg in sources.configured().items():
        id_column = _customer_column(kind, cfg)
        if not cfg.identifier_columns or id_column is None:
            continue
        source = read_source(con, cfg, f"{kind}_identifiers", root)
        t = source.table
        for column in [c for c in cfg.identifier_columns if c in source.columns]:
            parts.append(
                t.select(
                    customer_id=normalise_customer_id(t[id_column].cast("string")),
                    value=t[column].cast("string").strip(),
                )
            )
    if not parts:
        return None
    values = ibis.union(*parts, distinct=True)
    values = values.filter(values.customer_id.notnull() & (values.value.length() >= MIN_IDENTIFIER_LENGTH))
    lookup = values.group_by("customer_id").agg(
        _alternation=escaped(values.value, backend_name(con)).group_concat(
            "|", order_by=values.value.length().desc()
        ),
        _values=values.value.lower().collect(),
    )
    return materialise(con, "identifier_lookup", lookup)


def _selected(kind: str, cfg: MappedSource, t: ir.Table) -> dict[str, ir.Value]:
    """The mapped canonical columns as text (and a customers source's free attributes)."""
    selected: dict[str, ir.Value] = {
        canonical: t[column].cast("string") for canonical, column in cfg.columns.mapped().items()
    }
    for name, column in getattr(cfg, "attributes", {}).items():
        selected[name] = t[column].cast("string")
    return selected


def _lead_entries(cfg: LeadSource, t: ir.Table) -> ir.Table:
    """A leads source with one date column per stage as one row per filled stage cell (stage, stage_ts,
    source_column), and one row without a stage for a lead row with none filled."""
    common = {
        c: t[col].cast("string") for c, col in cfg.columns.mapped().items() if c not in ("stage", "stage_ts")
    }
    if MALFORMED_COLUMN in t.columns:
        common[MALFORMED_COLUMN] = t[MALFORMED_COLUMN]
    parts, filled = [], []
    for position, (stage, column) in enumerate(cfg.stage_columns.items()):
        value = t[column].cast("string")
        has_value = value.notnull() & (value.strip() != "")
        filled.append(has_value)
        parts.append(
            t.filter(has_value).select(
                source_row=t.source_row,
                **common,
                stage=ibis.literal(stage, type="string"),
                stage_ts=value,
                **{SOURCE_COLUMN: ibis.literal(column, type="string")},
                _position=ibis.literal(position, type="int64"),
            )
        )
    none_filled = ~ibis.or_(*filled) if len(filled) > 1 else ~filled[0]
    parts.append(
        t.filter(none_filled).select(
            source_row=t.source_row,
            **common,
            stage=ibis.null("string"),
            stage_ts=ibis.null("string"),
            **{SOURCE_COLUMN: ibis.null("string")},
            _position=ibis.literal(-1, type="int64"),
        )
    )
    return ibis.union(*parts).drop("_position")


def stage_position(table: ir.Table, cfg: LeadSource) -> ir.IntegerValue:
    """A lead row's place in its source row: the position of the stage column it came from (the
    stages in pipeline order), -1 for a row without any stage."""
    column = table[SOURCE_COLUMN]
    return ibis.cases(*[(column == c, i) for i, c in enumerate(cfg.stage_columns.values())], else_=-1)


def ingest_source(
    con: ibis.BaseBackend,
    kind: str,
    cfg: MappedSource,
    privacy: PrivacyConfig,
    root: Path | None = None,
    identifiers: ir.Table | None = None,
    dataset: str | None = None,
) -> tuple[ir.Table, dict]:
    """Read and map one source of ``kind``; return its canonical table (text as received, free text
    scrubbed, ids pseudonymised when asked, provenance) and the facts for the page. ``identifiers``: the
    :func:`identifier_lookup` of the dataset, whose values are scrubbed from free text. With ``dataset``,
    the rows of customers on its erasure list (``python -m helpers forget``) are left out and counted
    (an events source's anonymous rows of their devices too)."""
    schema = SCHEMAS[kind]
    attributes = getattr(cfg, "attributes", {})
    for attribute, column in attributes.items():
        if IDENTIFIER_NAME.search(attribute) or column in cfg.identifier_columns:
            raise IngestError(
                f"sources.{kind}.attributes.{attribute}: '{column}' looks like a direct identifier "
                "(name, e-mail, phone, address), which never leaves ingest; remove it from attributes."
            )
        if attribute in schema.names or attribute in PROVENANCE_COLUMNS:
            raise IngestError(
                f"sources.{kind}.attributes.{attribute}: '{attribute}' is a canonical column of {kind}; map "
                f"it under sources.{kind}.columns instead, or give the attribute another name."
            )
    key = pseudonymisation_key(privacy)
    stage_columns = getattr(cfg, "stage_columns", {})
    needed = list(
        dict.fromkeys([*cfg.columns.mapped().values(), *attributes.values(), *stage_columns.values()])
    )
    source = read_source(con, cfg, kind, root, needed=needed)
    _missing_columns(source, cfg.columns.mapped(), f"sources.{kind}.columns")
    _missing_columns(source, attributes, f"sources.{kind}.attributes")
    _missing_columns(source, stage_columns, f"sources.{kind}.stage_columns")
    t = source.table
    # A line of a delimited file that cannot be split keeps its row and line number, no text.
    malformed = {MALFORMED_COLUMN: t[MALFORMED_COLUMN]} if MALFORMED_COLUMN in t.columns else {}
    if stage_columns:
        entries = _lead_entries(cfg, t)  # type: ignore[arg-type]
        provenance = [SOURCE_COLUMN]
    else:
        entries = t.select(source_row=t.source_row, **_selected(kind, cfg, t), **malformed)
        provenance = []
    mapped = entries.mutate(
        source_file=ibis.literal(source.label), source_row=entries.source_row.cast("int64")
    )
    erased_rows = 0
    if dataset is not None and "customer_id" in mapped.columns:
        mapped, erased_rows = leave_out_erased(mapped, dataset, privacy, root)
    free_text = [c for c in schema.with_role("free_text") if c in mapped.columns]
    joined = bool(stage_columns)  # the union of the stage columns is not in the file's order either
    if free_text:
        mapped, joined_here = _scrubbed(
            mapped, free_text, cfg, source.columns, t, identifiers, backend_name(con)
        )
        joined = joined or joined_here
    hashed = []
    if key is not None:
        for column in [*PSEUDONYMISED_ROLES, *(["anonymous_id"] if kind == "events" else [])]:
            if column in mapped.columns:
                mapped = _pseudonymise(con, mapped, key, kind, column)
                hashed.append(column)
                joined = True
    canonical = [c for c in [*schema.names, *attributes] if c in mapped.columns]
    table = mapped.select(*canonical, "source_file", "source_row", *provenance, *malformed)
    if joined:  # a join (or a union) loses the file's order; a plain scan keeps it (as for orders)
        order = ["source_row", *([stage_position(table, cfg)] if stage_columns else [])]  # type: ignore[arg-type]
        table = table.order_by(order)
    # Computed once (a Parquet file in the spill folder) for the counts, the page's sample and the
    # product, which would each scrub and join again.
    table = materialise(con, f"{kind}_ingested", table, on_disk=True)
    facts = {
        "kind": kind,
        "row": schema.row,
        "source": source.label,
        "format": cfg.format,
        "rows_read": int(table.count().execute()),
        "columns_in_source": source.columns,
        "column_mapping": {**cfg.columns.mapped(), **attributes, **stage_columns},
        "columns_not_copied": [
            c
            for c in source.columns
            if c not in {*cfg.columns.mapped().values(), *attributes.values(), *stage_columns.values()}
        ],
        "identifier_columns_dropped": [c for c in cfg.identifier_columns if c in source.columns],
        "free_text_scrubbed": free_text,
        "ids_pseudonymised": hashed,
        "rows_erased": erased_rows,  # rows of erased customers, left out (not in rows_read)
        "malformed_lines": len(source.malformed),
        "malformed_line_numbers": source.malformed[:100],
    }
    if stage_columns:
        facts["source_rows"] = int(t.count().execute())
    if free_text:
        facts["tags_placed"] = tag_counts(table, free_text)
    return table, facts


def _scrubbed(
    mapped: ir.Table,
    free_text: list[str],
    cfg: MappedSource,
    source_columns: list[str],
    raw: ir.Table,
    identifiers: ir.Table | None,
    backend: str = "duckdb",
) -> tuple[ir.Table, bool]:
    """``mapped`` with its free-text columns scrubbed: the values of the row's own identifier columns
    and of the customer's identifiers in every source (``identifiers``), then the patterns; and whether
    a join came in (which loses the source's row order)."""
    own = [c for c in cfg.identifier_columns if c in source_columns]
    t, found, joined = mapped, None, False
    if own:  # the row's own identifier values, joined back by provenance (they are never copied)
        mine = row_identifiers([raw[c] for c in own], backend)
        values = raw.select(_row=raw.source_row.cast("int64"), _own=mine.alternation, _own_values=mine.values)
        t = t.left_join(values, t.source_row == values._row).drop("_row")
        found, joined = Identifiers(t._own, t._own_values), True
    if identifiers is not None and "customer_id" in t.columns:
        t = t.mutate(_id_key=normalise_customer_id(t.customer_id))
        t = t.left_join(identifiers, t._id_key == identifiers.customer_id).drop(
            "_id_key", "customer_id_right"
        )
        theirs = Identifiers(t._alternation, t._values)
        found, joined = (theirs if found is None else found + theirs), True
    t = t.mutate(**{c: scrub(t[c], found, backend) for c in free_text})
    helpers = ("_own", "_own_values", "_alternation", "_values")
    return t.drop(*[c for c in helpers if c in t.columns]), joined


def tag_counts(table: ir.Table, columns: list[str]) -> dict[str, int]:
    """How many times each tag stands in the scrubbed free-text columns (for the ingest page)."""
    counts = {}
    for name, tag in TAGS.items():
        total = sum(
            ((table[c].length() - table[c].replace(tag, "").length()) / len(tag)).sum() for c in columns
        )
        counts[name] = total
    values = table.agg(**{name: expr.cast("int64") for name, expr in counts.items()}).execute().iloc[0]
    return {name: int(values[name] or 0) for name in TAGS}


def ingest_sources(
    con: ibis.BaseBackend,
    sources: Sources,
    privacy: PrivacyConfig,
    root: Path | None = None,
    dataset: str | None = None,
) -> dict[str, tuple[ir.Table, dict]]:
    """Every configured source but transactions, ingested: kind -> (table, facts). The identifier
    lookup is built only when some source has free text. With ``dataset``, erased customers are left
    out of every source."""
    others = {kind: cfg for kind, cfg in sources.configured().items() if kind != "transactions"}
    has_text = any(
        set(SCHEMAS[kind].with_role("free_text")) & set(cfg.columns.mapped()) for kind, cfg in others.items()
    )
    identifiers = identifier_lookup(con, sources, root) if has_text else None
    return {
        kind: ingest_source(con, kind, cfg, privacy, root, identifiers, dataset)  # type: ignore[arg-type]
        for kind, cfg in others.items()
    }
