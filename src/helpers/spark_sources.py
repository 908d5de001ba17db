"""Sources read by Spark itself (``engine.backend: spark``): one reader per source format, each giving
what ingest's DuckDB readers give: every column as text (a Parquet source's typed columns where
:func:`helpers.ingest.keeps_native_type` allows) and a 1-based ``source_row`` in the file's order.

- ``csv`` with a delimiter: Spark's CSV reader with the dialect fixed as on DuckDB (the delimiter
  given or sniffed from a sample, quote and escape ``"``, the header's names, every column text,
  quoted values may span lines, so a file is one Spark task). When Spark flags a record whose fields
  do not match the header, or a value holds a line break, a byte-order mark or the replacement
  character (bytes that are not text in the encoding), the file is parsed record by record by the
  parser DuckDB falls back to as well (:func:`helpers.delimited.write_records`): malformed lines and
  encoding errors then come out exactly as on DuckDB. A clean file is read by Spark alone.
- ``csv`` with ``delimiter: whitespace``: Spark's text lines, split on runs of blanks.
- ``parquet``: Spark's Parquet reader; ``source_row`` from the row index Spark gives each row of a file.
- ``excel``, ``duckdb`` and ``sql``: staged through DuckDB. The source is read as on the DuckDB engine
  (pandas for a workbook, DuckDB for a database file, Ibis for a SQL database) and written to a
  Parquet file in the engine's scratch folder, which Spark reads: no JDBC driver to install, and a
  database is queried once, from the driver. On a cluster the scratch folder (``engine.temp_directory``)
  must be storage every executor reads.

A new source format is one more reader here and one more branch in :func:`read_source`.
"""

from __future__ import annotations

import atexit
import os
from pathlib import Path

import ibis
import ibis.expr.types as ir

from helpers.config import FileOptions
from helpers.delimited import (
    header_names,
    read_sample,
    records,
    sniff_delimiter,
    write_records,
)

SPARK_ENCODINGS = {"utf-8": "UTF-8", "latin-1": "ISO-8859-1", "utf-16": "UTF-16"}
CORRUPT = "_corrupt_record"  # Spark's column for a record whose fields do not match the schema
# In a value: a line break (a quoted value spanning lines, or a quote that never closes), a byte-order
# mark, or the replacement character Spark puts for bytes that are not text in the encoding.
SUSPECT = "[\r\n\ufeff\ufffd]"
ROW_BITS = 33  # monotonically_increasing_id(): partition index above bit 33, row within it below


def read_source(
    con: ibis.BaseBackend,
    opts: FileOptions,
    name: str,
    path: Path | None,
    label: str,
    native: dict[str, str],
    needed: list[str],
    root: Path,
) -> tuple[ir.Table, list[int]]:
    """The source as a Spark-backed Ibis table (text columns, or the typed ones kept, and
    ``source_row``) and the line numbers of malformed lines (delimited text only)."""
    from helpers import ingest

    session = con._session
    try:
        if opts.format == "csv" and opts.delimiter == "whitespace":
            return _whitespace(con, session, path, opts, name, label), []
        if opts.format == "csv":
            return _delimited(con, session, path, opts, name, label, needed)
        if opts.format == "parquet":
            _check_parquet(path)
            frame = _instants_as_text(session.read.parquet(str(path)))
            frame = frame.select("*", frame["_metadata.row_index"].alias("_row_index"))
            raw = _view(con, frame, name)
            return raw.select(
                source_row=raw._row_index + 1, **ingest.typed_or_text(raw, native, exclude=("_row_index",))
            ), []
    except ingest.IngestError:
        raise
    except UnicodeError:
        raise ingest.IngestError(ingest.encoding_message(label, opts.encoding)) from None
    except Exception as exc:  # DuckDB's footer check, or Spark's own errors (Py4J or analysis errors)
        kind = "parquet" if opts.format == "parquet" else opts.encoding
        raise ingest._read_error(_plain_error(exc), label, kind) from None
    return _staged(con, opts, name, native, needed, root)


def _instants_as_text(frame):
    """``frame`` with each instant column (a Parquet timestamp adjusted to UTC, which Spark reads as
    TIMESTAMP and Ibis as a timestamp without zone) as the text DuckDB gives its TIMESTAMPTZ in UTC
    ("2010-12-01 09:00:00.25+00"): cleaning then converts it to the dataset's time zone, as on DuckDB.
    Wall-clock timestamps (TIMESTAMP_NTZ) are kept."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import TimestampType

    columns = []
    for field in frame.schema.fields:
        column = F.col(f"`{field.name}`")
        if isinstance(field.dataType, TimestampType):  # the session's time zone is UTC (engine.py)
            fraction = F.regexp_replace(F.date_format(column, "SSSSSS"), "0+$", "")
            dot = F.when(fraction != "", F.concat(F.lit("."), fraction)).otherwise(F.lit(""))
            text = F.concat(F.date_format(column, "yyyy-MM-dd HH:mm:ss"), dot, F.lit("+00"))
            column = text.alias(field.name)
        columns.append(column)
    return frame.select(*columns)


def _check_parquet(path: Path) -> None:
    """Read a Parquet file's footer with DuckDB (the footer only: milliseconds): a file that is not
    Parquet, or is cut short, fails here with the same words as on the DuckDB engine, instead of
    Spark's stack of Java exceptions."""
    import duckdb

    with duckdb.connect() as duck:
        duck.execute("SELECT count(*) FROM parquet_metadata(?)", [str(path)]).fetchone()


def _plain_error(exc: Exception) -> Exception:
    """A Py4J error as the Java exception's own message (its first line reads "An error occurred
    while calling o47.parquet"); other errors as they are."""
    java = getattr(exc, "java_exception", None)
    if java is None:
        return exc
    cause = java
    while cause.getCause() is not None:  # the innermost cause says what was wrong with the file
        cause = cause.getCause()
    return RuntimeError(str(cause.getMessage() or java.getMessage()))


def _view(con: ibis.BaseBackend, frame, name: str) -> ir.Table:
    """A Spark DataFrame as an Ibis table (a temporary view named after the source)."""
    view = f"ca_source_{name}"
    frame.createOrReplaceTempView(view)
    return con.table(view)


def _numbered(frame, first: int):
    """``frame`` with ``_row``: each row's position in the file, ``first`` for the first row. Spark's
    row ids count within each partition (a split of the file, in file order): each partition's
    count, summed over the partitions before it, gives the offsets. The frame is cached, so the ids
    are computed once."""
    from pyspark.sql import functions as F

    frame = frame.withColumn("_id", F.monotonically_increasing_id()).cache()
    part = F.shiftright(F.col("_id"), ROW_BITS)
    counts = dict(frame.groupBy(part.alias("part")).count().collect())
    offsets, total = [], first
    for index in range(max(counts, default=-1) + 1):
        offsets.append(total)
        total += counts.get(index, 0)
    within = F.col("_id") - F.shiftleft(part, ROW_BITS)
    offset = F.element_at(F.array(*[F.lit(o) for o in offsets or [first]]), (part + 1).cast("int"))
    return frame.withColumn("_row", (offset + within).cast("long")).drop("_id")


def _whitespace(con, session, path: Path, opts: FileOptions, name: str, label: str) -> ir.Table:
    """Columns separated by runs of blanks (fixed-width exports such as the CDNOW log): the file's
    lines (read as one-column text in its encoding), blank ones left out, the first one the header
    when there is one."""
    from pyspark.sql import functions as F

    from helpers.ingest import IngestError

    sample = read_sample(path, opts.encoding)  # a file that is not text in the encoding stops here
    first = next((line for line in sample.splitlines() if line.strip()), None)
    if first is None:
        raise IngestError(f"{label}: the file has no rows; export the data again.")
    names = first.split() if opts.header else [f"column{i}" for i in range(len(first.split()))]
    lines = session.read.csv(
        str(path),
        schema="line string",
        sep="\x1f",
        quote="",
        header=False,
        encoding=SPARK_ENCODINGS[opts.encoding],
        multiLine=opts.encoding == "utf-16",
        ignoreLeadingWhiteSpace=False,
        ignoreTrailingWhiteSpace=False,
    )
    text = F.trim(F.regexp_replace(F.col("line"), "^\ufeff", ""))
    lines = _numbered(lines.select(text.alias("line")).filter(F.col("line") != ""), 0 if opts.header else 1)
    fields = F.split(F.col("line"), r"\s+")
    frame = lines.filter(F.col("_row") >= 1).select(
        F.col("_row").alias("source_row"), *[F.get(fields, i).alias(n) for i, n in enumerate(names)]
    )
    return _view(con, frame, name)


def _delimited(
    con, session, path: Path, opts: FileOptions, name: str, label: str, needed: list[str]
) -> tuple[ir.Table, list[int]]:
    """A delimited text file: Spark's CSV reader with the dialect fixed, or, when a record may be
    malformed, the record-by-record parser (see the module's docstring)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    from helpers.ingest import IngestError

    sample = read_sample(path, opts.encoding)
    delimiter = opts.delimiter if opts.delimiter != "auto" else (sniff_delimiter(sample) or ",")
    first = next(records(path, opts.encoding, delimiter, opts.header), None)
    if first is None:
        raise IngestError(f"{label}: the file has no rows; export the data again.")
    names = header_names(first[1]) if opts.header else first[1]
    schema = StructType([StructField(n, StringType()) for n in names] + [StructField(CORRUPT, StringType())])
    frame = session.read.csv(
        str(path),
        schema=schema,
        sep=delimiter,
        quote='"',
        escape='"',
        header=opts.header,
        encoding=SPARK_ENCODINGS[opts.encoding],
        multiLine=True,
        mode="PERMISSIVE",
        columnNameOfCorruptRecord=CORRUPT,
        ignoreLeadingWhiteSpace=False,
        ignoreTrailingWhiteSpace=False,
    ).cache()  # a query may not read Spark's corrupt-record column from the file itself
    suspect = F.col(CORRUPT).isNotNull()
    for column in names:
        suspect = suspect | F.col(f"`{column}`").rlike(SUSPECT)
    found = frame.agg(F.max(suspect.cast("int")).alias("suspect")).collect()[0]["suspect"]
    if found:
        frame.unpersist()
        target = scratch_file(con, f"{name}-records")
        malformed = write_records(path, opts.encoding, delimiter, opts.header, needed, names, target)
        return _view(con, session.read.parquet(str(target)), name), malformed
    numbered = _numbered(frame.drop(CORRUPT), 1)
    return _view(con, numbered.select(F.col("_row").alias("source_row"), *names), name), []


def _staged(con, opts: FileOptions, name: str, native, needed, root: Path):
    """A workbook or database read as on DuckDB, written to a Parquet file Spark reads."""
    from helpers import ingest

    duck = ibis.duckdb.connect()
    source = ingest.read_source(duck, opts, name, root, native, needed)
    target = scratch_file(con, f"{name}-staged")
    source.table.to_parquet(target)
    return _view(con, con._session.read.parquet(str(target)), name), source.malformed


def scratch_file(con: ibis.BaseBackend, stem: str) -> Path:
    """A Parquet file of this process in the engine's scratch folder, removed when the process ends
    (Spark reads it lazily, so it must outlive the notebook cell that writes it)."""
    from helpers.engine import scratch_directory

    path = scratch_directory(con) / f"{stem}-{os.getpid()}.parquet"
    if not path.exists():
        atexit.register(path.unlink, missing_ok=True)
    return path
