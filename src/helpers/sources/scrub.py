"""Free text (feedback text, interaction topics, search terms) scrubbed at ingest, before any product:
the values of identifier columns and anything that looks like an e-mail address, a phone number, a
Chinese resident id number or a card number are replaced by a tag.

Why at ingest: every product under data/processed/ (01 included) and every page is then free of them;
the raw files in data/raw/ keep the text as received.

In this order, each one a pass of its own over what the previous left:

1. ``[IDENTIFIER]``: the values of the identifier columns (``identifier_columns``) of the row itself and
   of every source that lists the same customer (a complaint naming the customer's name, as the
   customers file writes it), ignoring case; values shorter than two characters are left alone.
2. ``[EMAIL]``: ``name@domain.tld``.
3. ``[ID_NUMBER]``: an 18-character mainland China resident id (6-digit area, a birth date 18xx-20xx,
   3 digits and a check digit or X).
4. ``[CARD]``: 13 to 19 digits in a row, or groups of four digits separated by single blanks or dashes
   (not after a +, which starts a phone number).
5. ``[PHONE]``: mainland China mobiles (11 digits from 13-19, optionally +86 or 86 first, blanks or dashes
   between groups), international numbers starting with +, national numbers written in groups
   ((555) 123-4567, 010-8888-6666, 020 7946 0958) and national numbers starting with 0 (07700 900123,
   010-88886666).

The patterns are RE2 (DuckDB's regex engine; Spark's Java regexes read them the same), which has no
look-behind: a pattern that must not start inside a longer digit run captures the character before it
(``(^|[^0-9])``) and writes it back. Text without ``@`` and without five digits in a row skips steps
2-5 (most search terms), which keeps the cost low on large event tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

TAGS = {
    "identifier": "[IDENTIFIER]",
    "email": "[EMAIL]",
    "id_number": "[ID_NUMBER]",
    "card": "[CARD]",
    "phone": "[PHONE]",
}
NOT_AFTER_DIGIT = r"(^|[^0-9])"
PATTERNS: list[tuple[str, str]] = [
    ("email", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
    (
        "id_number",
        NOT_AFTER_DIGIT
        + r"[1-9][0-9]{5}(18|19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]",
    ),
    ("card", r"(^|[^0-9+])([0-9]{13,19}|[0-9]{4}([ -][0-9]{4}){2,3}([ -][0-9]{1,4})?)"),
    (
        "phone",
        NOT_AFTER_DIGIT
        + r"("
        + r"(\+?86[ -]?)?1[3-9][0-9]([ -]?[0-9]{4}){2}"  # mainland China mobile
        + r"|\+[1-9][0-9]{0,2}[ .-]?(\([0-9]{1,4}\)[ .-]?)?[0-9]{1,4}([ .-]?[0-9]+){1,4}"  # +international
        + r"|\(?0?[0-9]{2,4}\)?[ .-][0-9]{3,4}[ .-][0-9]{4}"  # national, in groups
        + r"|0[1-9][0-9]{1,4}[ .-]?[0-9]{5,8}"  # national with a trunk 0: 07700 900123, 010-88886666
        + r")",
    ),
]
SKIP_UNLESS = r"@|[0-9]{5}|[0-9][ .-][0-9]"  # text without any of these holds none of the patterns
MIN_IDENTIFIER_LENGTH = 2


# How a replacement names the pattern's first group: RE2 (DuckDB) writes \1; Java (Spark) reads \1 as a
# plain "1" and writes $1.
GROUP_ONE = {"duckdb": r"\1", "spark": "$1"}
JAVA_METACHARACTER = r"([\\.^$|?*+()\[\]{}])"


@ibis.udf.scalar.builtin(name="regexp_escape")
def regexp_escape(value: str) -> str:  # type: ignore[empty-body]
    """DuckDB's regexp_escape: the text with every regex metacharacter escaped."""


def escaped(value: ir.StringValue, backend: str = "duckdb") -> ir.StringValue:
    """``value`` as a regex matching itself: DuckDB's regexp_escape; on Spark, which has none, a
    backslash before every metacharacter of Java's regexes."""
    if backend == "spark":
        return value.re_replace(JAVA_METACHARACTER, r"\\$1")
    return regexp_escape(value)


def scrub_patterns(text: ir.StringValue, backend: str = "duckdb") -> ir.StringValue:
    """Steps 2-5: e-mails, id numbers, card numbers and phone numbers replaced by their tags."""
    scrubbed = text
    for kind, pattern in PATTERNS:
        replacement = TAGS[kind] if kind == "email" else GROUP_ONE[backend] + TAGS[kind]
        scrubbed = scrubbed.re_replace(pattern, replacement)
    return ibis.ifelse(text.re_search(SKIP_UNLESS), scrubbed, text)


@dataclass(frozen=True)
class Identifiers:
    """The identifier values to scrub from one row's free text: as a regex alternation of the escaped
    values (longest first) and as an array of the values in lower case. The array tells cheaply which
    rows hold any value at all; only those pay for the regex, whose pattern differs from row to row
    (DuckDB compiles it per row: 16,000 contacts took 2.6 s when every row paid)."""

    alternation: ir.StringValue
    values: ir.ArrayValue

    def __add__(self, other: Identifiers) -> Identifiers:
        joined = ibis.literal("|").join([self.alternation, other.alternation])
        return Identifiers(
            ibis.ifelse(joined.length() > 0, joined, ibis.null("string")),
            self.values.fill_null([]).concat(other.values.fill_null([])),
        )


def row_identifiers(values: list[ir.StringValue], backend: str = "duckdb") -> Identifiers:
    """The identifiers of a row's own columns: blanks trimmed, values shorter than
    MIN_IDENTIFIER_LENGTH left out."""
    kept = []
    for value in values:
        trimmed = value.cast("string").strip()
        kept.append(ibis.ifelse(trimmed.length() >= MIN_IDENTIFIER_LENGTH, trimmed, ibis.null("string")))
    patterns = [escaped(v, backend) for v in kept]
    joined = ibis.literal("|").join(patterns) if len(patterns) > 1 else patterns[0]
    return Identifiers(
        ibis.ifelse(joined.length() > 0, joined, ibis.null("string")),
        ibis.array([v.lower() for v in kept]).filter(lambda v: v.notnull()),
    )


def scrub_identifiers(text: ir.StringValue, identifiers: Identifiers) -> ir.StringValue:
    """Step 1: every occurrence of the identifier values, ignoring case, replaced by the tag (the regex
    runs only on text that holds one of them)."""
    lowered = text.lower()
    present = identifiers.values.map(lambda value: lowered.contains(value)).anys().fill_null(False)
    return ibis.ifelse(
        identifiers.alternation.notnull() & text.notnull() & present,
        text.re_replace("(?i)(?:" + identifiers.alternation + ")", TAGS["identifier"]),
        text,
    )


def scrub(
    text: ir.StringValue, identifiers: Identifiers | None = None, backend: str = "duckdb"
) -> ir.StringValue:
    """The whole scrub of one free-text column: identifier values (when given), then the patterns
    (``backend``: the engine the expression runs on, "duckdb" or "spark")."""
    if identifiers is not None:
        text = scrub_identifiers(text, identifiers)
    return scrub_patterns(text, backend)
