"""Delimited text sources (CSV, semicolon, tab, pipe): the dialect, and every record with its number,
malformed lines included.

A line whose fields cannot be trusted is *malformed*: more fields than the header (values shifted by an
unquoted delimiter; extra empty fields, a trailing delimiter, are fine), fewer fields than a mapped
column needs (a truncated line), or a quote that never closes (which would otherwise swallow the lines
after it). Such a record keeps its place (``source_row``) and its physical line number
(``malformed_line``) but none of its text, which is never trusted and never stored; cleaning rejects it
as ``malformed_line``. Short rows that still hold every mapped column are padded, as before.

The fast path is DuckDB's reader with the dialect fixed (no sniffing on a broken file, which picked a
one-column dialect and stored whole lines in the first column) and its rejects table: a file with no
bad line is read as before. Only a file with a bad line is parsed again in Python, record by record,
with line numbers; the records go to the engine through a Parquet file in batches.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections import Counter
from pathlib import Path
from typing import Iterator

import ibis
import ibis.expr.types as ir

DELIMITERS = (",", ";", "\t", "|")
QUOTE = '"'
PYTHON_ENCODINGS = {"utf-8": "utf-8-sig", "latin-1": "latin-1", "utf-16": "utf-16"}
SAMPLE_BYTES = 256 * 1024
BATCH_ROWS = 100_000
MALFORMED_COLUMN = "malformed_line"  # physical line number of a malformed record, null otherwise


class DelimitedError(ValueError):
    """The file cannot be read as delimited text; the message says why."""


def read_sample(path: Path, encoding: str, size: int = SAMPLE_BYTES) -> str:
    """The first ``size`` bytes of a file as text (a character cut at the end is dropped)."""
    with open(path, "rb") as handle:
        raw = handle.read(size)
    return codecs.getincrementaldecoder(PYTHON_ENCODINGS.get(encoding, encoding))(errors="strict").decode(raw)


def _unquoted_counts(line: str) -> Counter:
    """How often each candidate delimiter occurs in a line outside double quotes."""
    counts: Counter = Counter()
    inside = False
    for char in line:
        if char == QUOTE:
            inside = not inside
        elif not inside and char in DELIMITERS:
            counts[char] += 1
    return counts


def sniff_delimiter(sample: str) -> str | None:
    """The delimiter among ``, ; tab |`` that splits the sample's lines most consistently (the same
    number of fields on most lines, at least two fields); None when none does."""
    lines = [line for line in sample.splitlines()[:200] if line.strip()]
    if len(lines) > 1:
        lines = lines[:-1]  # the last line of a sample may be cut
    best, best_score = None, 0.0
    for delimiter in DELIMITERS:
        counts = [_unquoted_counts(line)[delimiter] for line in lines]
        if not counts or max(counts) == 0:
            continue
        mode, agreeing = Counter(counts).most_common(1)[0]
        if mode == 0:
            continue
        score = agreeing / len(counts) + mode / 1000  # consistency first, then more fields
        if score > best_score:
            best, best_score = delimiter, score
    return best


def header_names(fields: list[str]) -> list[str]:
    """Column names as DuckDB gives them: blanks trimmed, empty names ``column<i>``, repeats ``_1``,
    ``_2``."""
    names: list[str] = []
    for i, field in enumerate(fields):
        name = field.strip() or f"column{i}"
        base, n = name, 0
        while name in names:
            n += 1
            name = f"{base}_{n}"
        names.append(name)
    return names


class _LineFeed:
    """Physical lines of a text file for :mod:`csv`, remembering those handed out since last asked."""

    def __init__(self, handle: io.TextIOBase) -> None:
        self.handle, self.taken = handle, []

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        line = self.handle.readline()
        if not line:
            raise StopIteration
        self.taken.append(line)
        return line

    def take(self) -> list[str]:
        taken, self.taken = self.taken, []
        return taken


def _strictly_one_record(raw: list[str], delimiter: str) -> bool:
    """Whether physical lines hold exactly one record by the strict rules of quoting (a quote opens a
    field and closes it right before a delimiter or the line's end): a stray quote that paired with one
    lines later reads as one long record by the lenient rules."""
    try:
        parsed = list(csv.reader(raw, delimiter=delimiter, quotechar=QUOTE, doublequote=True, strict=True))
    except csv.Error:
        return False
    return len([fields for fields in parsed if fields]) == 1


def _fits(fields: list[str], width: int, needed: int) -> bool:
    """A record's fields can be trusted: no non-empty field beyond the header, and at least the fields
    up to the last mapped column."""
    return len(fields) >= needed and all(not f.strip() for f in fields[width:])


def records(
    path: Path, encoding: str, delimiter: str, header: bool, needed_names: list[str] | None = None
) -> Iterator[tuple[int, list[str] | None]]:
    """(physical line number, fields) of every record after the header; fields None for a malformed
    record. The header itself comes first as (line, names). Blank lines are not records."""
    text_encoding = PYTHON_ENCODINGS.get(encoding, encoding)
    with open(path, encoding=text_encoding, newline="") as handle:
        feed = _LineFeed(handle)
        reader = csv.reader(feed, delimiter=delimiter, quotechar=QUOTE, doublequote=True, strict=False)
        line, width, needed = 1, None, 0
        for fields in reader:
            raw = feed.take()
            start, line = line, line + len(raw)
            if not fields or (len(fields) == 1 and not fields[0].strip() and len(raw) == 1):
                continue  # a blank line
            if width is None:
                width = len(fields)
                names = header_names(fields) if header else [f"column{i}" for i in range(width)]
                needed = max((names.index(n) + 1 for n in needed_names or [] if n in names), default=width)
                yield start, names
                if header:
                    continue
            if _fits(fields, width, needed) and _strictly_one_record(raw, delimiter):
                yield start, fields[:width] + [""] * (width - len(fields))
            elif len(raw) == 1:
                yield start, None
            else:  # a quote that never closed swallowed the next lines: take them one by one
                for offset, physical in enumerate(raw):
                    if not physical.strip():
                        continue
                    single = next(csv.reader([physical], delimiter=delimiter, quotechar=QUOTE, strict=False))
                    ok = _fits(single, width, needed) and _strictly_one_record([physical], delimiter)
                    yield start + offset, (single[:width] + [""] * (width - len(single))) if ok else None


def _duckdb_options(delimiter: str, names: list[str], encoding: str, header: bool, rejects: str) -> str:
    columns = "{" + ", ".join(f"'{n.replace(chr(39), chr(39) * 2)}': 'VARCHAR'" for n in names) + "}"
    delim = "E'\\t'" if delimiter == "\t" else f"'{delimiter}'"
    return (
        f"auto_detect = false, columns = {columns}, delim = {delim}, quote = '\"', escape = '\"', "
        f"header = {str(header).lower()}, encoding = '{encoding}', null_padding = false, "
        f"store_rejects = true, ignore_errors = true, rejects_table = '{rejects}_errors', "
        f"rejects_scan = '{rejects}_scans'"
    )


def read_delimited(
    con: ibis.BaseBackend,
    path: Path,
    name: str,
    delimiter: str,
    encoding: str,
    header: bool,
    needed: list[str],
    spill: Path,
) -> tuple[ir.Table, list[str], list[int]]:
    """The file as an engine table (every column text, ``source_row`` from 1, and ``malformed_line``
    when a line is malformed), its column names, and the malformed lines' numbers. ``needed``: the
    mapped source columns (a short line must still hold them)."""
    first = next(records(path, encoding, delimiter, header), None)
    if first is None:
        raise DelimitedError("the file has no rows")
    names = first[1]
    quoted = f"read_csv('{path}', {_duckdb_options(delimiter, names, encoding, header, name)})"
    con.raw_sql(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {quoted}")
    bad = con.raw_sql(f"SELECT count(*) FROM {name}_errors").fetchone()[0]
    if not bad:
        return con.sql(f"SELECT rowid + 1 AS source_row, * FROM {name}"), names, []
    return _recovered(con, path, name, delimiter, encoding, header, needed, names, spill)


def _batch_table(batch: list[tuple[int, int, list[str] | None]], names: list[str], schema):
    """Records (number, line, fields or None) as an Arrow table: a malformed record keeps its number
    and line, and no text."""
    import pyarrow as pa

    columns: dict[str, list] = {"source_row": [], MALFORMED_COLUMN: [], **{n: [] for n in names}}
    for number, line, fields in batch:
        columns["source_row"].append(number)
        columns[MALFORMED_COLUMN].append(None if fields is not None else line)
        for i, n in enumerate(names):
            columns[n].append(fields[i] if fields is not None else None)
    return pa.table(columns, schema=schema)


def _recovered(
    con: ibis.BaseBackend,
    path: Path,
    name: str,
    delimiter: str,
    encoding: str,
    header: bool,
    needed: list[str],
    names: list[str],
    spill: Path,
) -> tuple[ir.Table, list[str], list[int]]:
    """Every record parsed in Python with its line number, malformed ones without text, written to a
    Parquet file in batches and read back into the engine."""
    spill.mkdir(parents=True, exist_ok=True)
    target = spill / f"{name}-{os.getpid()}-records.parquet"
    malformed = write_records(path, encoding, delimiter, header, needed, names, target)
    con.raw_sql(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM read_parquet('{target}')")
    target.unlink()
    return con.table(name), names, malformed


def write_records(
    path: Path,
    encoding: str,
    delimiter: str,
    header: bool,
    needed: list[str],
    names: list[str],
    target: Path,
) -> list[int]:
    """Every record of the file as a row of the Parquet file ``target`` (``source_row``,
    ``malformed_line``, then ``names`` as text; a malformed record without text); returns the
    malformed records' line numbers. The parser every engine falls back to for a file with a bad line."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [("source_row", pa.int64()), (MALFORMED_COLUMN, pa.int64())] + [(n, pa.string()) for n in names]
    )
    malformed: list[int] = []
    rows = iter(records(path, encoding, delimiter, header, needed))
    next(rows)  # the header
    with pq.ParquetWriter(target, schema) as writer:
        batch: list[tuple[int, int, list[str] | None]] = []
        for number, (line, fields) in enumerate(rows, start=1):
            if fields is None:
                malformed.append(line)
            batch.append((number, line, fields))
            if len(batch) >= BATCH_ROWS:
                writer.write_table(_batch_table(batch, names, schema))
                batch = []
        if batch:
            writer.write_table(_batch_table(batch, names, schema))
    return malformed
