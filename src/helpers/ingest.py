"""Stage 01: read the configured source through the engine and map it to the canonical schema.

Values stay as text here, exactly as received (parsing is cleaning's job, so that a value that does
not parse can be quarantined with its original text). The exception is a typed source (Parquet) whose
order timestamps or amounts already have a type cleaning can take as it is (:func:`keeps_native_type`):
those stay typed, and cleaning writes them as text only for a rejected row. Rendering them as text here
and parsing them back cost 10M orders 4 s in 01 and 3 s in 02, for the same values. Every row gets its
provenance
(``source_file``, ``source_row``); direct identifiers are never copied; customer ids can be
replaced by a keyed hash.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import ibis
import ibis.expr.types as ir
import pandas as pd

from helpers import paths
from helpers.config import (
    MEMORY_LIMIT_HINT,
    OUT_OF_MEMORY,
    ComputedColumn,
    FileOptions,
    PrivacyConfig,
    TransactionSource,
)
from helpers.delimited import (
    MALFORMED_COLUMN,
    DelimitedError,
    read_delimited,
    read_sample,
    records,
    sniff_delimiter,
)
from helpers.engine import backend_name, small_table, strip_blanks, try_parse_number
from helpers.expressions import compile_to
from helpers.privacy.forget import leave_out_erased
from helpers.privacy.keys import keyed_hash
from helpers.schema import (
    CANONICAL_TEXT_COLUMNS,
    NATIVE_TYPE_ROLES,
    PROVENANCE_COLUMNS,
    normalise_customer_id,
)


class IngestError(ValueError):
    """The source cannot be read as configured; the message names the file or column and the fix."""


@dataclass
class SourceTable:
    """A source read into the engine: its columns as text (or typed, see ``read_source``) plus a 1-based
    ``source_row``."""

    table: ir.Table
    label: str  # how the source is named in messages and in ``source_file``
    columns: list[str] = field(default_factory=list)
    malformed: list[int] = field(default_factory=list)  # physical lines of a text file that were malformed


def _label(opts: FileOptions, root: Path) -> str:
    if opts.path:
        resolved = paths.resolve(opts.path, root)
        try:
            return str(resolved.relative_to(root))
        except ValueError:
            return str(resolved)
    return f"{opts.url_env}:{opts.table or 'query'}"


def _check_file(path: Path, label: str, setting: str) -> None:
    if not path.is_file():
        raise IngestError(f"{label}: file not found; put the file there or fix '{setting}' in params.")
    if path.stat().st_size == 0:
        raise IngestError(f"{label}: the file is empty (0 bytes); export the data again.")


def _materialise(con: ibis.BaseBackend, name: str, select_sql: str, label: str, encoding: str) -> None:
    """Copy a file into an engine table (rowid then follows the file's row order)."""
    try:
        con.raw_sql(f"CREATE OR REPLACE TEMP TABLE {name} AS {select_sql}")
    except Exception as exc:  # duckdb raises InvalidInputException, ConversionException, IOException
        raise _read_error(exc, label, encoding) from None


def _read_error(exc: Exception, label: str, encoding: str) -> IngestError:
    """The engine's error on reading a file as one sentence naming the file and what to check."""
    text = str(exc)
    if "unicode" in text.lower() or "utf-8" in text.lower() or "encoding" in text.lower():
        return IngestError(encoding_message(label, encoding))
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    first = (
        (" ".join(lines[:2]) if lines[0].startswith("CSV Error on Line") else lines[0])
        if lines
        else type(exc).__name__
    )
    hint = (
        MEMORY_LIMIT_HINT
        if OUT_OF_MEMORY in text
        else "export it again as a complete Parquet file or fix the source's 'format'"
        if encoding == "parquet"
        else "check its format and delimiter settings"
    )
    return IngestError(f"{label}: cannot be read ({first}); {hint}.")


def _read_csv(
    con: ibis.BaseBackend, path: Path, name: str, opts: FileOptions, label: str, needed: list[str]
) -> tuple[ir.Table, list[int]]:
    """A delimited text source with its dialect fixed (the delimiter sniffed when ``auto``) and its
    malformed lines found (:mod:`helpers.delimited`): the table and the malformed lines' numbers."""
    try:
        sample = read_sample(path, opts.encoding)
        delimiter = opts.delimiter if opts.delimiter != "auto" else (sniff_delimiter(sample) or ",")
        spill = Path(con.raw_sql("SELECT current_setting('temp_directory')").fetchone()[0])
        table, _, malformed = read_delimited(
            con, path, name, delimiter, opts.encoding, opts.header, needed, spill
        )
    except UnicodeError:
        raise IngestError(encoding_message(label, opts.encoding)) from None
    except DelimitedError as exc:
        raise IngestError(f"{label}: {exc}; export the data again.") from None
    except IngestError:
        raise
    except Exception as exc:  # the engine's own errors
        raise _read_error(exc, label, opts.encoding) from None
    return table, malformed


def _read_whitespace(con: ibis.BaseBackend, path: Path, name: str, opts: FileOptions, label: str) -> ir.Table:
    """Columns separated by runs of blanks (fixed-width exports such as the CDNOW log)."""
    _materialise(
        con,
        f"{name}_lines",
        f"SELECT * FROM read_csv('{path}', columns = {{'line': 'VARCHAR'}}, header = false, "
        f"delim = '\\x1f', quote = '', escape = '', encoding = '{opts.encoding}')",
        label,
        opts.encoding,
    )
    lines = con.sql(f"SELECT rowid AS __rowid, line FROM {name}_lines WHERE trim(line) <> ''")
    first = lines.order_by("__rowid").limit(1).execute()
    if first.empty:
        raise IngestError(f"{label}: the file has no rows; export the data again.")
    width = len(str(first["line"].iloc[0]).split())
    if opts.header:
        names = str(first["line"].iloc[0]).split()
        lines = lines.filter(lines.__rowid > int(first["__rowid"].iloc[0]))
    else:
        names = [f"column{i}" for i in range(width)]
    fields = lines.line.strip().re_split(r"\s+")
    table = lines.select(
        source_row=ibis.row_number().over(order_by=lines.__rowid) + 1,
        **{n: fields[i] for i, n in enumerate(names)},
    )
    return table


def keeps_native_type(role: str, dtype) -> bool:
    """Whether a typed source column in ``role`` (``timestamp`` or ``number``) is kept as it is: a
    timestamp without zone at most to the microsecond or a date, or an integer, decimal or float64
    amount; exactly the values that parsing its text would give. Anything else (a zone, nanoseconds,
    float32, whose text is rounded) becomes text as before."""
    if role == "timestamp":
        return dtype.is_date() or (
            dtype.is_timestamp() and dtype.timezone is None and (dtype.scale or 6) <= 6
        )
    return dtype.is_integer() or dtype.is_decimal() or (dtype.is_floating() and dtype.nbytes == 8)


def typed_or_text(raw: ir.Table, native: dict[str, str], exclude: tuple[str, ...] = ()) -> dict:
    """A typed source's columns: those in ``native`` (source column -> role) as they are where
    :func:`keeps_native_type` allows, every other one as text."""
    return {
        c: raw[c] if c in native and keeps_native_type(native[c], raw[c].type()) else raw[c].cast("string")
        for c in raw.columns
        if c not in exclude
    }


def encoding_message(label: str, encoding: str) -> str:
    """The sentence for a file that is not text in its configured encoding."""
    return (
        f"{label}: the file is not valid {encoding} text; set the source's 'encoding' "
        "(utf-8, latin-1 or utf-16) to the file's encoding."
    )


def read_source(
    con: ibis.BaseBackend,
    opts: FileOptions,
    name: str,
    root: Path | None = None,
    native: dict[str, str] | None = None,
    needed: list[str] | None = None,
) -> SourceTable:
    """Read a configured source into the engine with every column as text and a ``source_row``;
    in a Parquet source, the columns in ``native`` (source column -> role) keep their own type
    where :func:`keeps_native_type` allows. In a delimited text file, a line that cannot be split
    into the columns (``needed``: the mapped ones) keeps its row and line number but no text."""
    native = native or {}
    malformed: list[int] = []
    root = root or paths.project_root()
    label = _label(opts, root)
    path = None
    if opts.format in ("csv", "parquet", "excel", "duckdb"):
        path = paths.resolve(opts.path, root)
        _check_file(path, label, f"sources.{name}.path")
    if backend_name(con) == "spark":
        from helpers import spark_sources

        table, malformed = spark_sources.read_source(con, opts, name, path, label, native, needed or [], root)
    elif opts.format == "csv" and opts.delimiter == "whitespace":
        table = _read_whitespace(con, path, name, opts, label)
    elif opts.format == "csv":
        table, malformed = _read_csv(con, path, name, opts, label, needed or [])
    elif opts.format == "parquet":
        _materialise(
            con, name, f"SELECT * FROM read_parquet('{path}', file_row_number = true)", label, "parquet"
        )
        raw = con.table(name)
        table = raw.select(
            source_row=raw.file_row_number + 1, **typed_or_text(raw, native, exclude=("file_row_number",))
        )
    elif opts.format == "excel":
        table = _read_excel(path, opts, label)
    elif opts.format == "duckdb":
        try:
            con.raw_sql(f"ATTACH '{path}' AS {name}_db (READ_ONLY)")
        except Exception:
            raise IngestError(
                f"{label}: is not a DuckDB database file; check sources.{name}.format."
            ) from None
        query = opts.query or f"SELECT * FROM {name}_db.{opts.table}"
        table = _numbered(con, name, query, label)
    else:  # sql
        table = _read_sql(con, opts, name, label)
    columns = [c for c in table.columns if c not in ("source_row", MALFORMED_COLUMN)]
    if table.count().execute() == 0:
        if opts.format in ("sql", "duckdb"):
            raise IngestError(
                f"{label}: the table or query returned no rows; check sources.{name}.table or query."
            )
        raise IngestError(f"{label}: the source has a header but no data rows; export the data again.")
    return SourceTable(table=table, label=label, columns=columns, malformed=malformed)


def _numbered(con: ibis.BaseBackend, name: str, query: str, label: str) -> ir.Table:
    """Materialise a query and number its rows in a deterministic order (all columns, as text)."""
    _materialise(con, name, f"SELECT * FROM ({query})", label, "database")
    raw = con.table(name)
    as_text = {c: raw[c].cast("string") for c in raw.columns}
    return raw.select(source_row=ibis.row_number().over(order_by=list(as_text.values())) + 1, **as_text)


def _read_excel(path: Path, opts: FileOptions, label: str) -> ir.Table:
    """Excel through pandas (sheets are at most about a million rows, so memory is bounded)."""
    sheet = 0 if opts.sheet is None else opts.sheet
    try:
        frame = pd.read_excel(path, sheet_name=sheet, dtype=str, header=0 if opts.header else None)
    except ValueError as exc:
        if "Worksheet" in str(exc) or "sheet" in str(exc).lower():
            sheets = pd.ExcelFile(path).sheet_names
            raise IngestError(f"{label}: has no sheet {sheet!r}; set 'sheet' to one of {sheets}.") from None
        raise IngestError(f"{label}: cannot be read as Excel ({exc}); check 'format'.") from None
    except Exception as exc:
        raise IngestError(
            f"{label}: cannot be read as Excel ({type(exc).__name__}); check 'format'."
        ) from None
    frame.columns = [str(c) for c in frame.columns]
    frame = frame.dropna(how="all")
    frame.insert(0, "source_row", range(1, len(frame) + 1))
    return ibis.memtable(frame)


def source_header(opts: FileOptions, name: str, root: Path | None = None) -> list[str] | None:
    """The column names of a file source, read from its header alone (no row is read), with the
    errors reading it would give; None for a database (not contacted here) whose URL variable is set."""
    root = root or paths.project_root()
    label = _label(opts, root)
    if opts.format == "sql":
        if not os.environ.get(opts.url_env or ""):
            raise IngestError(
                f"{label}: environment variable {opts.url_env} is not set; export it with the database URL "
                "(e.g. postgres://user:password@host:5432/db)."
            )
        return None
    path = paths.resolve(opts.path, root)
    _check_file(path, label, f"sources.{name}.path")
    try:
        if opts.format == "csv" and opts.delimiter == "whitespace":
            first = next((line for line in read_sample(path, opts.encoding).splitlines() if line.strip()), "")
            return first.split() if opts.header else [f"column{i}" for i in range(len(first.split()))]
        if opts.format == "csv":
            sample = read_sample(path, opts.encoding)
            delimiter = opts.delimiter if opts.delimiter != "auto" else (sniff_delimiter(sample) or ",")
            header = next(records(path, opts.encoding, delimiter, opts.header), None)
            if header is None:
                raise IngestError(f"{label}: the file has no rows; export the data again.")
            return header[1]
        if opts.format == "parquet":
            import pyarrow.parquet as pq

            return list(pq.ParquetFile(path).schema_arrow.names)
        if opts.format == "excel":
            sheet = 0 if opts.sheet is None else opts.sheet
            frame = pd.read_excel(path, sheet_name=sheet, nrows=0, header=0 if opts.header else None)
            return [str(c) for c in frame.columns]
        import duckdb

        with duckdb.connect(str(path), read_only=True) as con:
            query = opts.query or f"SELECT * FROM {opts.table}"
            return [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM ({query}) LIMIT 0").fetchall()]
    except UnicodeError:
        raise IngestError(encoding_message(label, opts.encoding)) from None
    except IngestError:
        raise
    except Exception as exc:
        raise IngestError(
            f"{label}: cannot be read ({_db_reason(exc, None)}); check its format settings."
        ) from None


def check_columns(
    opts: FileOptions,
    name: str,
    wanted: dict,
    columns: list[str] | None,
    root: Path | None = None,
    setting: str = "columns",
) -> None:
    """One sentence for the first mapped column the source's header lacks (``columns`` from
    :func:`source_header`; None: a database, not checked); ``setting``: where ``wanted`` is set under
    ``sources.<name>`` (columns, or a customers source's attributes, a leads source's stage_columns)."""
    if columns is not None:
        _missing_columns(
            SourceTable(None, _label(opts, root or paths.project_root()), columns),
            wanted,
            f"sources.{name}.{setting}",
        )


def _db_reason(exc: Exception, secret: str | None) -> str:
    """The first line of a driver error, with any password masked."""
    lines = [" ".join(line.split()) for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    text = re.sub(r"://[^@/\s]*@", "://***@", text)
    return text.replace(secret, "***") if secret else text


def _read_sql(con: ibis.BaseBackend, opts: FileOptions, name: str, label: str) -> ir.Table:
    """A table or query in a SQL database reached through Ibis; the URL comes from the environment."""
    url = os.environ.get(opts.url_env or "")
    if not url:
        raise IngestError(
            f"{label}: environment variable {opts.url_env} is not set; export it with the database URL "
            "(e.g. postgres://user:password@host:5432/db)."
        )
    secret = urlsplit(url).password  # never printed, even where a driver repeats it outside the URL
    try:
        remote = ibis.connect(url)
    except Exception as exc:
        raise IngestError(
            f"{label}: cannot connect to the database in {opts.url_env} ({_db_reason(exc, secret)}); "
            "check the host, port, user and password in it and that the server is running."
        ) from None
    setting = f"sources.{name}.{'query' if opts.query else 'table'}"
    what = "the query" if opts.query else f"table '{opts.table}'"
    try:
        expr = remote.sql(opts.query) if opts.query else remote.table(opts.table)
        frame = expr.to_pyarrow()
    except Exception as exc:
        reason = "it does not exist" if type(exc).__name__ == "TableNotFound" else _db_reason(exc, secret)
        raise IngestError(
            f"{label}: cannot read {what} from the database ({reason}); fix '{setting}' in params."
        ) from None
    finally:
        remote.disconnect()
    con.create_table(f"{name}_remote", frame, temp=True, overwrite=True)
    return _numbered(con, name, f"SELECT * FROM {name}_remote", label)


def _missing_columns(source: SourceTable, wanted: dict[str, str | ComputedColumn], section: str) -> None:
    """One sentence for the first mapped column (or column named in a computed column's expression)
    that the source does not have, with the likely cause when the header landed in one column."""
    pairs = [
        (
            f"in the expression for {canonical}"
            if isinstance(value, ComputedColumn)
            else f"mapped to {canonical}",
            canonical,
            column,
        )
        for canonical, value in wanted.items()
        for column in (value.source_columns if isinstance(value, ComputedColumn) else [value])
    ]
    for role, canonical, column in pairs:
        if column not in source.columns:
            only = source.columns[0] if len(source.columns) == 1 else ""
            separator = next(
                (c for c in (";", ",", "\t", "|") if c in only and column in only.split(c)), None
            )
            if separator is not None:  # the whole header landed in one column: the delimiter is wrong
                setting = ".".join(section.split(".")[:2]) + ".delimiter"
                shown = "\\t" if separator == "\t" else separator
                raise IngestError(
                    f"{source.label}: column '{column}' ({role}) is not in the source, whose only column is "
                    f"'{only}'; the file seems to be separated by '{shown}', so set '{setting}' to "
                    f"'{shown}' or 'auto' in params."
                )
            found = ", ".join(source.columns[:12]) + (" …" if len(source.columns) > 12 else "")
            raise IngestError(
                f"{source.label}: column '{column}' ({role}) is not in the source; "
                f"columns found: {found}. Fix '{section}.{canonical}' in params."
            )


def hmac_ids(ids: pd.Series, key: bytes) -> pd.Series:
    """HMAC-SHA256 of each id, hex, truncated to 32 characters (128 bits): stable, keyed, one-way."""
    return ids.map(lambda value: keyed_hash(key, str(value)))


def pseudonymisation_key(privacy: PrivacyConfig) -> bytes | None:
    """The HMAC key when pseudonymisation is on; a clear error when it is on and no key is set."""
    if not privacy.pseudonymise_customer_id:
        return None
    key = os.environ.get(privacy.key_env, "")
    if len(key) < 16:
        raise IngestError(
            f"privacy.pseudonymise_customer_id is on but environment variable {privacy.key_env} is "
            f"{'too short' if key else 'not set'}; export a secret of at least 16 characters."
        )
    return key.encode("utf-8")


def _pseudonymise(
    con: ibis.BaseBackend, table: ir.Table, key: bytes, name: str, column: str = "customer_id"
) -> ir.Table:
    """Replace ``column`` (the customer id, or another id of a person such as an events source's
    anonymous id) by its keyed hash (computed once per distinct id, joined back). The id is normalised
    first as cleaning does (blanks, NA-like tokens, "17850.0"), so one customer keeps one pseudonym in
    every source and a missing id stays missing instead of becoming the hash of "NA"."""
    table = table.mutate(**{column: normalise_customer_id(table[column].cast("string"))})
    distinct = table.select(column).distinct().filter(table[column].notnull()).to_pandas()
    mapping = pd.DataFrame(
        {
            column: distinct[column].astype(str),
            "_pseudonym": hmac_ids(distinct[column].astype(str), key),
        }
    )
    lookup = small_table(con, f"{name}_{column}_pseudonyms", mapping)
    joined = table.left_join(lookup, column)
    return joined.mutate(**{column: joined._pseudonym}).drop(
        "_pseudonym", *[c for c in joined.columns if c.endswith("_right")]
    )


def map_transactions(
    source: SourceTable, columns: dict[str, str | ComputedColumn], decimal_separator: str = "."
) -> ir.Table:
    """Rename mapped source columns to canonical names (text, or the typed values ``read_source`` kept
    for :data:`NATIVE_TYPE_ROLES`), compute the computed ones (a number, null where a value it reads
    is not one), add provenance, drop everything else."""
    _missing_columns(source, columns, "sources.transactions.columns")
    t = source.table
    selected = {
        canonical: computed_column(t, column, decimal_separator)
        if isinstance(column, ComputedColumn)
        else t[column]
        if canonical in NATIVE_TYPE_ROLES and not t[column].type().is_string()
        else t[column].cast("string")
        for canonical, column in columns.items()
    }
    if "order_id" not in selected:
        selected["order_id"] = t.source_row.cast("string")
    ordered = {c: selected[c] for c in CANONICAL_TEXT_COLUMNS if c in selected}
    malformed = {MALFORMED_COLUMN: t[MALFORMED_COLUMN]} if MALFORMED_COLUMN in t.columns else {}
    return t.select(
        **ordered, source_file=ibis.literal(source.label), source_row=t.source_row.cast("int64"), **malformed
    )


def computed_column(table: ir.Table, column: ComputedColumn, decimal_separator: str) -> ir.FloatingValue:
    """A computed column's value per row: its expression over the numbers in the source columns it
    names (text parsed as cleaning parses amounts); null where one of them is not a number."""
    expression = column.parsed
    values = {
        name: try_parse_number(strip_blanks(table[name]), decimal_separator)
        if table[name].type().is_string()
        else table[name].cast("float64")
        for name in expression.columns
    }
    return compile_to(expression, values).cast("float64")


def ingest_transactions(
    con: ibis.BaseBackend,
    source_cfg: TransactionSource,
    privacy: PrivacyConfig,
    root: Path | None = None,
    dataset: str | None = None,
) -> tuple[ir.Table, dict]:
    """Read and map the transaction source; return the canonical table and facts for the page. With
    ``dataset``, the rows of customers on its erasure list (``python -m helpers forget``) are left out
    and counted."""
    key = pseudonymisation_key(privacy)
    mapping = source_cfg.columns.mapped()
    native = {mapping[c]: role for c, role in NATIVE_TYPE_ROLES.items() if isinstance(mapping.get(c), str)}
    source = read_source(con, source_cfg, "transactions", root, native, source_cfg.columns.source_columns())
    mapped = map_transactions(source, mapping, source_cfg.decimal_separator)
    erased_rows = 0
    if dataset is not None:
        mapped, erased_rows = leave_out_erased(mapped, dataset, privacy, root)
    if key is not None:
        # The join does not keep the file's order: sort again. Without it no sort is needed (the
        # connection preserves insertion order, and rows are read in source_row order); sorting
        # 10M rows doubles the peak memory of this stage (1.5 GB -> 3 GB).
        mapped = _pseudonymise(con, mapped, key, "transactions").order_by("source_row")
    unmapped = [c for c in source.columns if c not in source_cfg.columns.source_columns()]
    facts = {
        "source": source.label,
        "format": source_cfg.format,
        "rows_read": int(mapped.count().execute()),
        "columns_in_source": source.columns,
        "column_mapping": source_cfg.columns.described(),
        "columns_not_copied": unmapped,
        "identifier_columns_dropped": [c for c in source_cfg.identifier_columns if c in source.columns],
        "customer_id_pseudonymised": key is not None,
        "rows_erased": erased_rows,  # rows of erased customers, left out (not in rows_read)
        "malformed_lines": len(source.malformed),
        "malformed_line_numbers": source.malformed[:100],  # the first hundred, for the page
    }
    return mapped, facts


def erased_sentence(facts: dict) -> str:
    """What ingest left out for erasure requests, in one sentence (empty when nothing)."""
    rows = facts.get("rows_erased", 0)
    if not rows:
        return ""
    if rows == 1:
        return "1 more row of the source belongs to a customer erased on request and was left out."
    return f"{rows:,} more rows of the source belong to customers erased on request and were left out."


def malformed_sentence(facts: dict) -> str:
    """What ingest found of lines it could not split into columns, in one sentence."""
    count, lines = facts.get("malformed_lines", 0), facts.get("malformed_line_numbers", [])
    if not count:
        return "Every line could be split into the source's columns."
    shown = ", ".join(str(n) for n in lines[:20]) + (" and more" if count > 20 else "")
    return (
        f"{count:,} line{'s' if count > 1 else ''} could not be split into the source's columns (line "
        f"{shown}): kept as rows without text, rejected by cleaning as malformed."
    )


def mapping_table(facts: dict) -> pd.DataFrame:
    """Canonical column, the source column it came from, for the page."""
    rows = [{"canonical column": c, "source column": s} for c, s in facts["column_mapping"].items()]
    if "order_id" not in facts["column_mapping"]:
        rows.append({"canonical column": "order_id", "source column": "(none: the row number)"})
    rows += [{"canonical column": p, "source column": "(provenance)"} for p in PROVENANCE_COLUMNS]
    return pd.DataFrame(rows)
