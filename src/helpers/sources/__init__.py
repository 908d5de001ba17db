"""The customer 360 sources besides transactions (customers, events, interactions, feedback, leads):
ingest (:mod:`.mapping`), free-text scrubbing (:mod:`.scrub`), cleaning with reason codes
(:mod:`.rules`), identity stitching and unknown customers (:mod:`.identity`), and the tables the
ingest, cleaning and report pages show about them. Each kind's canonical columns are in
:mod:`helpers.schema`; its settings in :mod:`helpers.config` (``sources.<kind>``)."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd

from helpers.config import Params
from helpers.schema import SCHEMAS
from helpers.sources.mapping import ingest_source, ingest_sources
from helpers.sources.rules import clean_source
from helpers.sources.scrub import TAGS

__all__ = [
    "ACCOUNTING_KINDS",
    "accounting_for_page",
    "accounting_table",
    "clean_source",
    "clean_sources",
    "identity_line",
    "identity_sentence",
    "ingest_source",
    "ingest_sources",
    "ingest_summary",
    "left_empty_table",
    "quality_by_source",
    "read_ingested",
    "reason_table",
    "scrubbed_sample",
    "unknown_customer_sentences",
    "vocabulary_table",
]

ACCOUNTING_KEYS = (
    "rows_in",
    "rows_kept",
    "rows_rejected",
    "balanced",
    "rejected_by_reason",
    "reason_descriptions",
)


# ------------------------------------------------------------------------------------- stage 01


def ingest_summary(facts: dict[str, dict]) -> pd.DataFrame:
    """One row per ingested source: its file, rows, columns copied, identifier columns left behind,
    free-text columns scrubbed and the tags placed in them, the lines of a delimited file that could
    not be split into its columns (kept as rows without text; cleaning sets them aside), and the rows of
    customers erased on request that were left out (a column only when there are any)."""
    rows = []
    for kind, f in facts.items():
        tags = f.get("tags_placed", {})
        rows.append(
            {
                "source": SCHEMAS[kind].title,
                "file": f["source"],
                "rows": f["rows_read"],
                "columns copied": ", ".join(f["column_mapping"]),
                "identifier columns not copied": ", ".join(f["identifier_columns_dropped"]) or "-",
                "free text scrubbed": ", ".join(f["free_text_scrubbed"]) or "-",
                "tags placed": ", ".join(f"{TAGS[t]} {n:,}" for t, n in tags.items() if n) or "-",
                "lines not readable": f.get("malformed_lines", 0),
                "rows of erased customers left out": f.get("rows_erased", 0),
            }
        )
    frame = pd.DataFrame(rows)
    if not frame.empty and not frame["rows of erased customers left out"].any():
        frame = frame.drop(columns="rows of erased customers left out")  # nobody erased: no column
    return frame


def scrubbed_sample(tables: dict[str, ir.Table], per_source: int = 3) -> pd.DataFrame:
    """A few stored free texts in which a tag was placed, per source and column (the text only)."""
    rows = []
    for kind, table in tables.items():
        for column in SCHEMAS[kind].with_role("free_text"):
            if column not in table.columns:
                continue
            tagged = ibis.or_(*[table[column].contains(tag) for tag in TAGS.values()])
            sample = table.filter(tagged).order_by("source_row").limit(per_source).select(column).to_pandas()
            rows += [
                {"source": SCHEMAS[kind].title, "column": column, "text as stored": t} for t in sample[column]
            ]
    return pd.DataFrame(rows, columns=["source", "column", "text as stored"])


# ------------------------------------------------------------------------------------- stage 02


def read_ingested(con: ibis.BaseBackend, stage, params: Params) -> dict[str, ir.Table]:
    """The ingested products of the configured sources besides transactions (``stage``: 02's
    :class:`helpers.catalog.StageRun`)."""
    from helpers import io

    found = {}
    for kind in params.sources.configured():
        if kind != "transactions":
            path = stage.input(f"ingested:{kind}?")
            if path is not None:
                found[kind] = io.read_table(con, path)
    return found


def clean_sources(
    con: ibis.BaseBackend, ingested: dict[str, ir.Table], transactions: ir.Table, params: Params
) -> dict[str, tuple[ir.Table, ir.Table, dict]]:
    """Every ingested source besides transactions cleaned: kind -> (kept, rejected, facts). Events and
    interactions are checked against the customer ids of every other source (transactions included)."""
    from helpers.sources.identity import ids_elsewhere

    everything = {"transactions": transactions, **ingested}
    return {
        kind: clean_source(
            con,
            kind,
            table,
            getattr(params.sources, kind),
            params.cleaning,
            params.as_of,
            ids_elsewhere(kind, everything) if kind in ("events", "interactions") else None,
            params.timezone,
        )
        for kind, table in ingested.items()
    }


def quality_by_source(quality: dict, others: dict[str, dict]) -> dict[str, dict]:
    """The quality product's per-source accounting: transactions' rows in, kept and rejected by reason
    (from its own facts), then every other source's facts."""
    return {"transactions": {k: quality[k] for k in ACCOUNTING_KEYS}, **others}


def vocabulary_table(params: Params) -> pd.DataFrame:
    """Per configured source and vocabulary column: the known values, and the source's own names mapped
    to them under ``values`` in the dataset's params (a row with any other value is set aside)."""
    from helpers.sources.rules import vocabulary

    rows = []
    for kind, cfg in params.sources.configured().items():
        if kind == "transactions":
            continue
        for column in SCHEMAS[kind].columns:
            if column.role == "vocabulary" and column.name in cfg.columns.mapped():
                mapped = cfg.values.get(column.name, {})
                rows.append(
                    {
                        "source": SCHEMAS[kind].title,
                        "column": column.name,
                        "known values": ", ".join(vocabulary(kind, column.name, cfg)),
                        "mapped from the source's names": ", ".join(f"{k} → {v}" for k, v in mapped.items())
                        or "-",
                        "other values": "kept as given (lower case)" if not column.closed else "set aside",
                    }
                )
    return pd.DataFrame(rows)


def accounting_table(by_source: dict[str, dict]) -> pd.DataFrame:
    """One row per source, in the schema's order: rows in = kept + set aside, and why rows were set aside
    (in words, the most frequent reason first)."""
    rows = []
    for kind in [k for k in SCHEMAS if k in by_source]:
        q = by_source[kind]
        counts = sorted(q["rejected_by_reason"].items(), key=lambda item: (-item[1], item[0]))
        reasons = [f"{q['reason_descriptions'][code]} ({n:,})" for code, n in counts if n]
        rows.append(
            {
                "source": SCHEMAS[kind].title,
                "rows in": q["rows_in"],
                "kept": q["rows_kept"],
                "set aside": q["rows_rejected"],
                "adds up": "yes" if q["rows_in"] == q["rows_kept"] + q["rows_rejected"] else "NO",
                "why set aside": "; ".join(reasons) or "-",
            }
        )
    return pd.DataFrame(rows)


def accounting_for_page(by_source: dict[str, dict], language: str) -> pd.DataFrame:
    """:func:`accounting_table` for the stakeholder page: the sources and the reasons in the page's
    words (helpers.labels), the most frequent reason first."""
    from helpers import formats, labels

    rows = []
    for kind in [k for k in SCHEMAS if k in by_source]:
        q = by_source[kind]
        counts = sorted(q["rejected_by_reason"].items(), key=lambda item: (-item[1], item[0]))
        descriptions = q["reason_descriptions"]
        why = [
            f"{labels.source_reason(kind, code, descriptions[code], language)} ({formats.count(n)})"
            for code, n in counts
            if n
        ]
        rows.append(
            {
                "source": labels.source_title(kind, language),
                "rows_in": q["rows_in"],
                "rows_kept": q["rows_kept"],
                "rows_rejected": q["rows_rejected"],
                "why_set_aside": ("；" if language == "zh" else "; ").join(why) or "–",
            }
        )
    return pd.DataFrame(rows)


ACCOUNTING_KINDS = {"source": "text", "why_set_aside": "text"}


def identity_line(events: dict, language: str) -> str:
    """The share of kept events linked to a customer, before and after stitching, in the page's words."""
    from helpers import formats, labels

    counts = events["identity"]["events_by_identity"]
    total = sum(counts.values())
    if not total:
        return labels.t("identity_none", language)
    return labels.t(
        "identity_line",
        language,
        total=formats.count(total),
        identified=formats.share(counts["identified"] / total),
        stitched=formats.share(counts["stitched"] / total),
        share=formats.share(events["identity"]["share_identified"]),
    )


def reason_table(q: dict) -> pd.DataFrame:
    """One source's accounting by outcome: kept, every reason code (zeros included), total."""
    rows = [{"outcome": "kept", "description": "clean rows used by later stages", "rows": q["rows_kept"]}]
    rows += [
        {"outcome": code, "description": q["reason_descriptions"][code], "rows": n}
        for code, n in q["rejected_by_reason"].items()
    ]
    rows.append({"outcome": "total", "description": "rows in the source", "rows": q["rows_in"]})
    frame = pd.DataFrame(rows)
    frame["share_%"] = (100.0 * frame["rows"] / q["rows_in"]).round(2) if q["rows_in"] else 0.0
    return frame


def left_empty_table(by_source: dict[str, dict]) -> pd.DataFrame:
    """Values that were given but could not be read, were impossible or lay after the period end, and
    so were left empty (the rows are kept), per source and column."""
    rows = [
        {"source": SCHEMAS[kind].title, "column": column, "values left empty": n}
        for kind, q in by_source.items()
        for column, n in q.get("values_left_empty", {}).items()
        if n
    ]
    return pd.DataFrame(rows, columns=["source", "column", "values left empty"])


def identity_sentence(events: dict) -> str:
    """How many kept events are linked to a customer, before and after stitching (Markdown)."""
    facts = events["identity"]
    counts = facts["events_by_identity"]
    total = sum(counts.values())
    if not total:
        return "No behaviour event was kept, so none could be linked to a customer."

    def share(n: int) -> str:
        return f"{100 * n / total:.1f}%"

    sentence = (
        f"Of the {total:,} behaviour events kept, {share(counts['identified'])} came with a customer id and "
        f"{share(counts['stitched'])} more were linked to a customer through the device they came from "
        f"(an anonymous id seen with exactly one customer id), so **{100 * facts['share_identified']:.1f}%** "
        f"are identified."
    )
    if counts["ambiguous"]:
        sentence += (
            f" {share(counts['ambiguous'])} came from devices seen with several customers and are left "
            f"unlinked;"
        )
    sentence += f" {share(counts['anonymous'])} came from devices never signed in."
    return sentence


def unknown_customer_sentences(by_source: dict[str, dict]) -> list[str]:
    """For events and contacts: the rows kept whose customer id no other source knows (potential
    customers)."""
    out = []
    for kind in ("events", "interactions"):
        q = by_source.get(kind)
        if q and q.get("unknown_customers"):
            out.append(
                f"{SCHEMAS[kind].title}: {q['rows_of_unknown_customers']:,} rows of "
                f"{q['unknown_customers']:,} customer ids found in no other source, kept as potential "
                "customers."
            )
    return out
