"""The transaction-level engine: an Ibis connection (embedded DuckDB by default) and the few
functions whose name differs between backends, so every stage can stay a plain Ibis expression."""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.datatypes as dtypes
import ibis.expr.types as ir

from helpers.config import EngineConfig


def connect(engine: EngineConfig | None = None) -> ibis.BaseBackend:
    """A fresh Ibis connection for the configured backend (DuckDB in memory, spilling to disk)."""
    engine = engine or EngineConfig()
    con = ibis.duckdb.connect()
    settings = {
        "threads": engine.threads,
        "memory_limit": engine.memory_limit,
        "temp_directory": engine.temp_directory,
    }
    for name, value in settings.items():
        if value is not None:
            con.raw_sql(f"SET {name} = '{value}'")
    # Outputs are sorted explicitly; keeping insertion order makes row numbers follow the file.
    con.raw_sql("SET preserve_insertion_order = true")
    return con


@ibis.udf.scalar.builtin(name="try_strptime")
def _duckdb_try_strptime(value: str, formats: dtypes.Array(dtypes.string)) -> dt.datetime:  # type: ignore[valid-type]
    """DuckDB's try_strptime: the first format that parses, NULL when none does."""


EARLIEST_PLAUSIBLE_YEAR = 1900


def try_parse_timestamp(text: ir.StringValue, formats: list[str]) -> ir.TimestampValue:
    """Parse text with the first strftime format that matches and gives a plausible year; NULL where
    none does (never raises). The year check matters: ``%Y`` reads "2/20/11" as the year 11 AD."""
    parsed = []
    for fmt in formats:
        value = _duckdb_try_strptime(text, ibis.literal([fmt], type="array<string>"))
        parsed.append(ibis.ifelse(value.year() >= EARLIEST_PLAUSIBLE_YEAR, value, ibis.null("timestamp")))
    return ibis.coalesce(*parsed) if len(parsed) > 1 else parsed[0]


def try_parse_number(text: ir.StringValue, decimal_separator: str = ".") -> ir.FloatingValue:
    """Parse an amount written by people: blanks, currency symbols and the thousands separator are
    removed ("$1,234.50", "1.234,50 €"); anything else that is not a number gives NULL."""
    thousands = "," if decimal_separator == "." else "."
    cleaned = text.re_replace(r"[\s$€£¥]", "").replace(thousands, "")
    if decimal_separator == ",":
        cleaned = cleaned.replace(",", ".")
    # A thousands separator must sit between digit groups of three: "1,234" yes, "1,2" no.
    grouped_ok = text.re_search(r"^[^0-9]*-?\d{1,3}(" + "\\" + thousands + r"\d{3})*([" + "\\"
                                + decimal_separator + r"]\d*)?[^0-9]*$")
    has_thousands = text.contains(thousands)
    return ibis.ifelse(has_thousands & ~grouped_ok, ibis.null("float64"), cleaned.try_cast("float64"))
