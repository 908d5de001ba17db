"""Parameters: ``params/defaults.yaml``, then ``params/<dataset>/dataset.yaml``, then
``params/<dataset>/<period>.yaml``, merged and validated by one model.

Every mistake (an unknown or misspelt key, a wrong type, an impossible value) becomes a
:class:`ParamsError` whose message is one sentence naming the file and the key.
"""

from __future__ import annotations

import calendar
import copy
import datetime as dt
import os
import re
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from helpers import paths
from helpers.schema import DEFAULT_LEAD_STAGES, EVENT_TYPES, SCALES, SCHEMAS

# A period label names a folder: letters, digits, '.', '_' and '-' (e.g. 1998-06, 2024-Q1, 2024-W05).
PERIOD_LABEL = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,39}$")
PERIOD_LABEL_RULE = "letters, digits, '.', '_' or '-', e.g. 1998-06"
CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")
MONTH_LABEL = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
# A dataset name is a folder under params/, data/raw/, data/processed/ and reports/.
DATASET_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
DATASET_NAME_RULE = "lower-case letters, digits, '_' or '-', e.g. cdnow"


# Settings merged into another one: the old name in a params file is an error that names the new one.
MOVED_SETTINGS = {"behaviour.churn_window_days": "churn.window_days"}


class ParamsError(ValueError):
    """A params file is wrong; the message says which file, which key and what to do."""


class StrictModel(BaseModel):
    """Unknown keys are errors: a typo must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------------------- sources


class ComputedColumn(StrictModel):
    """A canonical column computed from source columns: ``{expression: "Quantity * UnitPrice"}``
    (column names, numbers, + - * / and parentheses; a name with blanks in backticks)."""

    expression: str

    @field_validator("expression")
    @classmethod
    def _parses(cls, value: str) -> str:
        from helpers.expressions import ExpressionError, parse

        try:
            parse(value)
        except ExpressionError as exc:
            raise ValueError(f"the expression '{value}' cannot be used: {exc}") from None
        return value

    @property
    def parsed(self):
        """The checked expression (:class:`helpers.expressions.Expression`)."""
        from helpers.expressions import parse

        return parse(self.expression)

    @property
    def source_columns(self) -> list[str]:
        return list(self.parsed.columns)


class ColumnMap(StrictModel):
    """Canonical column name -> the column's name in the source, or for amounts and quantities an
    expression over source columns. Only mapped columns are read."""

    customer_id: str
    order_ts: str
    amount: str | ComputedColumn
    order_id: str | None = None  # None: every source row is an order of its own
    quantity: str | ComputedColumn | None = None
    unit_price: str | None = None
    product_id: str | None = None
    product_name: str | None = None
    category: str | None = None
    channel: str | None = None
    region: str | None = None
    currency: str | None = None

    def mapped(self) -> dict[str, str | ComputedColumn]:
        """Canonical name -> source name (or computed column), for the columns that are mapped."""
        return {
            name: getattr(self, name) for name in type(self).model_fields if getattr(self, name) is not None
        }

    def source_columns(self) -> list[str]:
        """Every source column the mapping reads, each once, in the order of the canonical columns."""
        found: list[str] = []
        for value in self.mapped().values():
            for column in value.source_columns if isinstance(value, ComputedColumn) else [value]:
                if column not in found:
                    found.append(column)
        return found

    def described(self) -> dict[str, str]:
        """Canonical name -> the source column, or ``= expression`` for a computed one (pages, facts)."""
        return {
            k: f"= {v.expression}" if isinstance(v, ComputedColumn) else v for k, v in self.mapped().items()
        }


class FileOptions(StrictModel):
    """How to read a file or table source."""

    format: Literal["csv", "parquet", "excel", "duckdb", "sql"]
    path: str | None = None  # csv, parquet, excel, duckdb: relative to the project root
    delimiter: str = "auto"  # "auto", "whitespace" or the character itself
    encoding: Literal["utf-8", "latin-1", "utf-16"] = "utf-8"
    header: bool = True
    sheet: str | int | None = None  # excel: sheet name or 0-based index (default: the first)
    table: str | None = None  # duckdb, sql: a table name
    query: str | None = None  # sql, duckdb: a SELECT instead of a table
    url_env: str | None = None  # sql: the environment variable holding the connection URL

    @model_validator(mode="after")
    def _source_is_complete(self) -> FileOptions:
        if self.format in ("csv", "parquet", "excel", "duckdb") and not self.path:
            raise ValueError(f"a {self.format} source needs 'path'")
        if self.format == "sql" and not self.url_env:
            raise ValueError("a sql source needs 'url_env', the environment variable holding the URL")
        if self.format in ("duckdb", "sql") and not (self.table or self.query):
            raise ValueError(f"a {self.format} source needs 'table' or 'query'")
        if self.delimiter not in ("auto", "whitespace") and len(self.delimiter) != 1:
            raise ValueError("'delimiter' must be 'auto', 'whitespace' or a single character")
        return self


class TransactionSource(FileOptions):
    columns: ColumnMap
    timestamp_formats: list[str] = Field(
        default_factory=lambda: ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]
    )
    decimal_separator: Literal[".", ","] = "."
    # Extra source columns that are direct identifiers (name, e-mail, ...): never copied. Listed so
    # that ingest can report them; any unmapped column is dropped anyway.
    identifier_columns: list[str] = Field(default_factory=list)


# ------------------------------------------------------------- the other sources (customer 360)


class SourceColumns(StrictModel):
    """Canonical column name -> the column's name in the source (helpers.schema.SCHEMAS lists each
    kind's canonical columns; only mapped columns are read)."""

    def mapped(self) -> dict[str, str]:
        """Canonical name -> source name, for the columns that are mapped."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


def _column_map(kind: str) -> type[SourceColumns]:
    """The column map of a source kind, built from its canonical schema: required columns must be
    mapped, the others may be."""
    fields: dict[str, Any] = {
        column.name: (str, ...) if column.required else (str | None, None) for column in SCHEMAS[kind].columns
    }
    return create_model(f"{kind.title()}Columns", __base__=SourceColumns, **fields)


class MappedSource(FileOptions):
    """What every source kind but transactions shares: how to read it (FileOptions), its column map,
    how its timestamps and numbers are written, its identifier columns, and value maps."""

    kind: ClassVar[str]
    timestamp_formats: list[str] = Field(
        default_factory=lambda: ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]
    )
    decimal_separator: Literal[".", ","] = "."
    # Source columns holding names, e-mails, phones, addresses: never copied; their values are also
    # replaced by a tag wherever they appear in free text (feedback text, interaction topics).
    identifier_columns: list[str] = Field(default_factory=list)
    # Canonical column -> {the source's value: the canonical value}, for vocabulary and yes/no columns
    # (e.g. events' event_type: {view_item: product_view}); matched ignoring case and blanks.
    values: dict[str, dict[str, str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _mapped_columns_are_sound(self) -> MappedSource:
        schema = SCHEMAS[self.kind]
        mapped = self.columns.mapped()  # type: ignore[attr-defined]
        for column in self.identifier_columns:
            if column in mapped.values():
                raise ValueError(
                    f"identifier column '{column}' is also mapped to a canonical column; an identifier is "
                    "never copied, so map another column or remove it from identifier_columns"
                )
        for name in self.values:
            if name not in schema.names or schema.column(name).role not in ("vocabulary", "bool"):
                choices = schema.with_role("vocabulary", "bool")
                raise ValueError(f"values names '{name}', which is not one of {self.kind}' columns {choices}")
            column = schema.column(name)
            if column.role == "vocabulary" and column.vocabulary and column.closed:
                for given, canonical in self.values[name].items():
                    if str(canonical).strip().lower() not in column.vocabulary:
                        raise ValueError(
                            f"values.{name} maps '{given}' to '{canonical}', which is not a {name} the "
                            f"stages know ({', '.join(column.vocabulary)}); every row with it would be set "
                            "aside, so map it to one of these"
                        )
        return self


class CustomerSource(MappedSource):
    """Customer attributes: one row per customer (a second row of a customer id is quarantined)."""

    kind: ClassVar[str] = "customers"
    columns: _column_map("customers")  # type: ignore[valid-type]
    attributes: dict[str, str] = Field(default_factory=dict)  # free attributes: name -> source column


class EventSource(MappedSource):
    """Behaviour events (web, app, store); a row needs a customer id or an anonymous id."""

    kind: ClassVar[str] = "events"
    columns: _column_map("events")  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _some_identity(self) -> EventSource:
        if self.columns.customer_id is None and self.columns.anonymous_id is None:
            raise ValueError("map columns.customer_id or columns.anonymous_id (or both)")
        return self


class InteractionSource(MappedSource):
    """Contacts: calls, e-mails, chats, social messages, visits, events."""

    kind: ClassVar[str] = "interactions"
    columns: _column_map("interactions")  # type: ignore[valid-type]


class FeedbackSource(MappedSource):
    """Survey answers, complaints and reviews."""

    kind: ClassVar[str] = "feedback"
    columns: _column_map("feedback")  # type: ignore[valid-type]
    # The scale of a row whose source gives none (no scale column, or an empty one), by feedback kind.
    scales: dict[str, str] = Field(default_factory=lambda: {"survey": "nps_0_10", "review": "stars_1_5"})

    @field_validator("scales")
    @classmethod
    def _known_scales(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value.values()) - set(SCALES))
        if unknown:
            raise ValueError(f"scales names {unknown}; the scales are {list(SCALES)}")
        return value


class LeadSource(MappedSource):
    """The sales pipeline: one row per stage entry (columns.stage and columns.stage_ts), or one row per
    lead with one date column per stage (stage_columns)."""

    kind: ClassVar[str] = "leads"
    columns: _column_map("leads")  # type: ignore[valid-type]
    stages: list[str] = Field(default_factory=lambda: list(DEFAULT_LEAD_STAGES))  # in pipeline order
    stage_columns: dict[str, str] = Field(default_factory=dict)  # stage -> the column of its entry date

    @model_validator(mode="after")
    def _one_form(self) -> LeadSource:
        if not self.stages or len(set(self.stages)) != len(self.stages):
            raise ValueError("stages must list at least one stage, each once")
        long_form = self.columns.stage is not None and self.columns.stage_ts is not None
        if long_form == bool(self.stage_columns):
            raise ValueError(
                "give the stage history either as rows (map columns.stage and columns.stage_ts) or as one "
                "date column per stage (stage_columns), not both and not neither"
            )
        unknown = [stage for stage in self.stage_columns if stage not in self.stages]
        if unknown:
            raise ValueError(f"stage_columns names {unknown}, which are not in stages {self.stages}")
        return self


class Sources(StrictModel):
    transactions: TransactionSource
    customers: CustomerSource | None = None
    events: EventSource | None = None
    interactions: InteractionSource | None = None
    feedback: FeedbackSource | None = None
    leads: LeadSource | None = None

    def configured(self) -> dict[str, FileOptions]:
        """Source kind -> its settings, for every configured source, in helpers.schema order."""
        return {kind: getattr(self, kind) for kind in SCHEMAS if getattr(self, kind) is not None}


# ----------------------------------------------------------------------------------- the stages


class EngineConfig(StrictModel):
    backend: Literal["duckdb", "spark"] = "duckdb"
    spark_master: str = "local[*]"  # spark: a cluster URL such as spark://host:7077 or yarn
    # spark: extra session settings (spark.sql.session.timeZone stays UTC: products hold wall-clock times)
    spark_config: dict[str, str] = Field(default_factory=dict)
    threads: int | None = Field(default=None, ge=1)
    # DuckDB syntax, e.g. "4GB"; it spills to temp_directory beyond it. null: DuckDB's own 80% of RAM.
    # "auto": 80 bytes per row of the largest source, at least 1GB, at most half the machine's
    # memory (resolved by load_params): 1GB kept 10M orders at a 2.1 GB peak (80% of RAM: 5.9 GB)
    # without being slower, and 100M orders need about 8GB (at 1GB the cleaning stage ran out).
    memory_limit: str | None = "auto"
    temp_directory: str | None = (
        None  # null: <system temp>/customer-analytics-duckdb/<pid>; relative: to the project root
    )


AUTO = "auto"
AUTO_BYTES_PER_ORDER = 80
AUTO_MIN_BYTES = 1_000_000_000
CSV_BYTES_PER_ROW = 40  # to estimate the orders of a text source from its size


def auto_memory_limit(source: FileOptions | None, root: Path | None = None) -> str:
    """engine.memory_limit ``auto`` for this transactions source: 80 bytes per order, at least 1GB, at
    most half the machine's memory. Orders are counted from a Parquet file's metadata and estimated
    from a text file's size (40 bytes a row); no source (a bare EngineConfig), a database source, or a
    file not there yet gets the minimum."""
    path = paths.resolve(source.path, root) if source is not None and source.path else None
    orders = 0
    if path is not None and path.is_file():
        if source.format == "parquet":
            import pyarrow.parquet as pq

            try:
                orders = pq.ParquetFile(path).metadata.num_rows
            except Exception:  # unreadable: ingest names the problem; the limit stays at the minimum
                orders = 0
        elif source.format in ("csv", "excel"):
            orders = path.stat().st_size // CSV_BYTES_PER_ROW
    half_memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    limit = min(max(AUTO_MIN_BYTES, orders * AUTO_BYTES_PER_ORDER), half_memory)
    return f"{limit / 1e9:.1f}GB"


# DuckDB's words when a query needs more memory than engine.memory_limit, and what to do about it.
OUT_OF_MEMORY = "Out of Memory Error"
MEMORY_LIMIT_HINT = (
    "DuckDB needed more memory than engine.memory_limit allows; raise it in the params file "
    "(e.g. memory_limit: 8GB, or null for 80% of RAM)"
)


ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")  # an environment variable's name
OTHERS_BITS = 0o007


def parse_file_mode(value: Any) -> str:
    """A file mode as four octal digits ("0640"), from text ("640", "0640", "0o640") or from the number
    YAML makes of an unquoted 0640 (416). The owner must be able to read and write; nothing may be
    executable, and no bit may be given to every user (a team reads through ``privacy.group``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        mode = value
    elif isinstance(value, str) and re.fullmatch(r"(0o?)?[0-7]{3}", value.strip()):
        mode = int(value.strip().removeprefix("0o"), 8)
    else:
        raise ValueError("write the mode as octal digits in quotes, e.g. '0600' or '0640'")
    if not 0 <= mode <= 0o777:
        raise ValueError("write the mode as octal digits in quotes, e.g. '0600' or '0640'")
    if mode & 0o600 != 0o600:
        raise ValueError("the owner must be able to read and write the files (e.g. '0600')")
    if mode & 0o111:
        raise ValueError("files are not programs: give no execute bit (folders get it where read is given)")
    if mode & OTHERS_BITS:
        raise ValueError(
            "customer-level files are never readable by every user; let a team read them through "
            "privacy.group and a mode such as '0640'"
        )
    return f"{mode:04o}"


class PrivacyConfig(StrictModel):
    """Pseudonymised ids, encryption at rest, who may read customer-level files, consent and
    suppression lists, retention and spreadsheet-safe exports. Keys come from environment variables
    named here, never from a params file."""

    pseudonymise_customer_id: bool = False  # replace ids by HMAC-SHA256(key, id)
    key_env: str = "CA_PSEUDONYM_KEY"  # also keys the erasure list (python -m helpers forget)
    # Customer-level products (Parquet: modular encryption, AES-GCM, encrypted footer; JSON: Fernet)
    # and, separately, the customer-level exports (Fernet, as <name>.csv.enc and <name>.xlsx.enc).
    encrypt_products: bool = False
    encrypt_exports: bool = False
    encryption_key_env: str = "CA_ENCRYPTION_KEY"
    # Files of customer-level data (products, restricted pages and exports): this mode, their folders
    # the same with search (x) where read is given: "0600" -> folders 0700; "0640" -> 0750.
    file_mode: str = "0600"
    group: str | None = None  # a group name: customer-level files and folders are given to it
    min_group_size: int = Field(default=5, ge=1)  # stakeholder page: smaller groups' figures hidden
    # Periods ending more than this many months before the latest period built lose their products and
    # restricted outputs on the next run (their aggregate page stays); null: kept.
    retention_months: int | None = Field(default=None, ge=1)
    suppression_lists: list[str] = Field(default_factory=list)  # files of customer ids never exported
    escape_formulas: bool = True  # CSV exports: a cell starting with = + - @ tab or CR gets a leading '

    @field_validator("key_env", "encryption_key_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if not ENV_NAME.match(value):
            raise ValueError(f"'{value}' is not the name of an environment variable (letters, digits, _)")
        return value

    @field_validator("file_mode", mode="before")
    @classmethod
    def _file_mode(cls, value: Any) -> str:
        return parse_file_mode(value)

    @property
    def file_mode_bits(self) -> int:
        return int(self.file_mode, 8)

    @property
    def folder_mode_bits(self) -> int:
        """The folders' mode: the files' mode plus search (x) wherever read is given."""
        mode = self.file_mode_bits
        return mode | ((mode & 0o444) >> 2)


AUDIENCE_FOLDER = re.compile(r"^(\.|[a-z0-9][a-z0-9_-]{0,39})$")
RESERVED_FOLDERS = ("notebooks", "exports")  # the report's own folders inside an audience's folder


class Audience(StrictModel):
    """Who reads one part of a period's report: its folder under reports/<dataset>/<period>/ ("." is
    the period's folder, where index.html is) and whether it may see customer-level content (ids,
    per-customer rows: the lists, the exports, every stage's page and executed notebook)."""

    folder: str = "."
    customer_level: bool = False

    @field_validator("folder")
    @classmethod
    def _folder_name(cls, value: str) -> str:
        if not AUDIENCE_FOLDER.match(value) or value in RESERVED_FOLDERS:
            raise ValueError(
                f"'{value}' is not an audience folder: '.' (the period's folder) or one plain name in lower "
                f"case (not {' or '.join(RESERVED_FOLDERS)}), e.g. restricted"
            )
        return value


def default_audiences() -> dict[str, Audience]:
    return {
        "stakeholders": Audience(folder=".", customer_level=False),
        "crm": Audience(folder="restricted", customer_level=True),
    }


class CleaningConfig(StrictModel):
    history_start: dt.date | None = None  # orders before it are rejected as before_history_start
    returns: Literal["net", "quarantine"] = "net"
    cancellation_prefix: str | None = None  # order ids starting with it are returns (e.g. "C")
    zero_amount: Literal["reject", "keep"] = "reject"
    duplicates: Literal["reject", "keep"] = "reject"
    currency: str | None = None  # keep only this currency (needs columns.currency)
    extreme_amount_quantile: float = Field(default=0.999, gt=0.5, lt=1.0)
    extreme_amount_action: Literal["flag", "reject"] = "flag"
    # An amount more than this many times the 90th percentile of the amounts is a typing error, not an
    # order: rejected as implausible_amount and listed on the cleaning page (null: never). A single
    # 1e12 then cannot own the revenue headline; genuine large orders (hundreds of times the typical
    # one) stay.
    implausible_amount_factor: float | None = Field(default=1000.0, gt=1.0)
    # More than this share of the rows up to the period's end rejected for one problem of the source (a
    # date format, a mapped column, the delimiter) stops the run with the reason and an example.
    max_rejected_share: float = Field(default=0.5, gt=0.0, le=1.0)
    # Events and interactions whose customer id appears in no other source: keep (potential customers,
    # counted on the quality page) or reject as unknown_customer.
    unknown_customers: Literal["keep", "reject"] = "keep"


class RunnerConfig(StrictModel):
    kernel_name: str = "python3"
    cell_timeout_seconds: int = Field(default=1800, ge=10)
    # One kernel for all notebooks of a period, its namespace cleared between notebooks: imports are
    # paid once (about 2 s a notebook). false: a fresh kernel per notebook.
    shared_kernel: bool = True
    # After 01, a stage whose inputs are ready (07_clv reads only 02) runs in a second kernel next to
    # 03 and 08 when the period has at most this many ingested rows; 0: always one stage at a time. Two
    # stages at once hold two working sets in memory, hence the limit (needs shared_kernel).
    parallel_max_rows: int = Field(default=20_000_000, ge=0)


SCORE_SOURCES = ("engagement", "voice", "customers")  # per-customer products a score may weigh


class ScoringConfig(StrictModel):
    """Weighted 0-100 score from percentile-ranked indicators and tiers (the customer statuses and the
    churn warning follow :class:`StatusConfig`)."""

    # Indicator (a column of the RFM table, or p_alive, expected_purchases, clv) -> weight; weights
    # sum to 1.
    weights: dict[str, float] = Field(
        default_factory=lambda: {
            "recency_days": 0.30,
            "frequency_orders": 0.25,
            "monetary_total": 0.25,
            "avg_order_value": 0.10,
            "tenure_days": 0.10,
        }
    )
    # Indicators of the other per-customer products (<product>.<column>, product: engagement (stage 04),
    # voice (05) or customers (the attributes)) -> weight, added when the dataset has the product: the
    # weights above then shrink in proportion to make room. Orders-only datasets keep the weights above.
    source_weights: dict[str, float] = Field(
        default_factory=lambda: {
            "engagement.active_days": 0.10,
            "engagement.days_since_last_visit": 0.05,
            "voice.latest_nps": 0.05,
            "voice.open_complaints": 0.05,
        }
    )
    lower_is_better: list[str] = Field(
        default_factory=lambda: ["recency_days", "engagement.days_since_last_visit", "voice.open_complaints"]
    )
    # A customer without a value of an indicator (no survey answer, no visit): "median" ranks them as the
    # dataset's median customer on it, "worst" as the worst.
    missing: Literal["median", "worst"] = "median"
    # Tier name -> lowest score that reaches it, best tier first; the last tier must start at 0.
    tiers: dict[str, float] = Field(default_factory=lambda: {"A": 75.0, "B": 50.0, "C": 25.0, "D": 0.0})
    top_n: int = Field(default=25, ge=1)  # rows shown on the page; the products hold every customer

    @model_validator(mode="after")
    def _consistent(self) -> ScoringConfig:
        if any(w < 0 for w in self.weights.values()):
            raise ValueError("weights must not be negative")
        total = sum(self.weights.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"weights must sum to 1, they sum to {total:g}")
        if any(w < 0 for w in self.source_weights.values()) or sum(self.source_weights.values()) >= 1:
            raise ValueError("source_weights must not be negative and must sum to less than 1")
        bad = [name for name in self.source_weights if name.partition(".")[0] not in SCORE_SOURCES]
        if bad or any(not name.partition(".")[2] for name in self.source_weights):
            raise ValueError(
                f"source_weights names {bad}; use <product>.<column> with product one of "
                f"{list(SCORE_SOURCES)}"
            )
        unknown = set(self.lower_is_better) - set(self.weights) - set(self.source_weights)
        if unknown:
            raise ValueError(f"lower_is_better names {sorted(unknown)}, which have no weight")
        cuts = list(self.tiers.values())
        if not cuts or cuts != sorted(cuts, reverse=True) or len(set(cuts)) != len(cuts) or cuts[-1] != 0:
            raise ValueError(
                "tiers must be listed best first with strictly decreasing minimum scores, the last at 0"
            )
        return self


# The one customer-status vocabulary, in the order a customer's life runs. Every stage, page, chart
# and export uses these words and only these, each counting the same customers everywhere.
STATUSES = ("potential", "new", "active", "at risk", "lapsed", "churned")


def status_word_in(name: str) -> str | None:
    """The status word a name uses as a whole word ("New Customers" -> "new"), or None."""
    words = name.lower().replace("-", " ").replace("_", " ").split()
    text = f" {' '.join(words)} "
    return next((word for word in STATUSES if f" {word} " in text), None)


class StatusConfig(StrictModel):
    """The rules of the customer statuses, checked in this order (the first that holds wins):
    potential: known from the customer attributes, never ordered; new: first order in the period;
    churned: no order for more than ``churned_after_days``, or, where a purchase model was fitted, a
    chance of still being a customer (P(alive)) below ``churned_below_p_alive``; active: last order
    within ``active_within_gaps`` times the customer's typical gap between orders; at risk: within
    ``at_risk_within_gaps`` times; lapsed: everyone else. A customer's typical gap is their own
    average gap between orders; a one-order customer's is the dataset's purchase cycle (the median
    typical gap of the customers with two or more orders)."""

    active_within_gaps: float = Field(default=1.5, gt=0)
    at_risk_within_gaps: float = Field(default=3.0, gt=0)
    churned_after_days: int = Field(default=365, ge=1)
    churned_below_p_alive: float | None = Field(default=0.1, ge=0.0, lt=1.0)  # null: days only
    min_gap_days: float = Field(default=7.0, gt=0)  # typical gaps shorter than this count as this long
    churn_warning: list[str] = Field(default_factory=lambda: ["at risk", "lapsed"])  # statuses listed

    @model_validator(mode="after")
    def _consistent(self) -> StatusConfig:
        if self.at_risk_within_gaps <= self.active_within_gaps:
            raise ValueError(
                f"at_risk_within_gaps ({self.at_risk_within_gaps:g}) must be above active_within_gaps "
                f"({self.active_within_gaps:g})"
            )
        unknown = [name for name in self.churn_warning if name not in STATUSES]
        if unknown or not self.churn_warning:
            raise ValueError(f"churn_warning must list statuses among {list(STATUSES)}, not {unknown}")
        return self


# Built-in rules of action lists (helpers.actions): who is on the list before its filter narrows it.
ACTION_RULES = ("churn_warning", "birthday", "anniversary", "no_recent_contact", "next_best_product")


class ActionListConfig(StrictModel):
    """One action list: a built-in ``rule`` (churn_warning: the statuses of ``status.churn_warning``;
    birthday / anniversary: a birthday, or a yearly anniversary of the signup or else the first order,
    falls in the next period; no_recent_contact: no contact recorded for ``actions.contact_gap_days``;
    next_best_product: customers stage 06 found a product to offer, with that product) and/or a ``filter``
    over the scored customers' columns (helpers.filters), e.g.
    ``segment == "At Risk" and clv > 100``; with both, the filter narrows the rule's customers."""

    rule: (
        Literal["churn_warning", "birthday", "anniversary", "no_recent_contact", "next_best_product"] | None
    ) = None
    filter: str | None = None
    description: str | None = None  # who is on the list, in words, for the page (default: from the rule)

    @model_validator(mode="after")
    def _rule_or_filter(self) -> ActionListConfig:
        if self.rule is None and not self.filter:
            raise ValueError("an action list needs a rule, a filter or both")
        if self.filter:
            from helpers.filters import FilterError, parse_filter

            try:
                parse_filter(self.filter)
            except FilterError as error:
                raise ValueError(f"filter {self.filter!r}: {error}") from None
        return self


def default_action_lists() -> dict[str, ActionListConfig | None]:
    return {
        "win_back": ActionListConfig(rule="churn_warning"),
        "birthday": ActionListConfig(rule="birthday"),
        "anniversary": ActionListConfig(rule="anniversary"),
        "no_recent_contact": ActionListConfig(rule="no_recent_contact", filter="tier in ('A', 'B')"),
        "cross_sell": ActionListConfig(rule="next_best_product"),
    }


class ActionsConfig(StrictModel):
    """The period's action lists, their hold-out groups and how their effect is measured next period."""

    # Share of customers held out of every list (never contacted, to measure the lists' effect); 0: none.
    control_share: float = Field(default=0.1, ge=0.0, lt=1.0)
    contact_gap_days: int = Field(default=90, ge=1)  # no_recent_contact: no contact for this many days
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)  # of the intervals of the effects
    permutations: int = Field(default=2000, ge=200)  # shuffles of the interval of revenue per customer
    lists: dict[str, ActionListConfig | None] = Field(default_factory=default_action_lists)
    # List name -> a file (CSV with a customer_id column) of the customers actually contacted from the
    # compared period's list: the effect is then contacted vs held out, and held-out customers found in
    # it are counted as contamination.
    contacted: dict[str, str] = Field(default_factory=dict)

    @field_validator("lists")
    @classmethod
    def _names(cls, lists: dict[str, ActionListConfig | None]) -> dict[str, ActionListConfig | None]:
        bad = [name for name in lists if not re.fullmatch(r"[a-z][a-z0-9_]*", name)]
        if bad:
            raise ValueError(f"list names are lower-case words joined by _, not {bad}")
        return {name: spec for name, spec in lists.items() if spec is not None}  # null removes a list


LANGUAGES = ("en", "zh")


class ReportConfig(StrictModel):
    """The stakeholder page: its language, how far its trends reach back, and who reads which part of a
    period's report (``audiences``)."""

    language: Literal["en", "zh"] = "en"  # every label, sentence, chart and number format of the page
    trend_periods: int = Field(default=12, ge=2, le=60)  # this period and the earlier ones in the trends
    list_rows: int = Field(default=100, ge=10)  # customers in the page's list of the highest expected value
    # The churn warning on the page holds every customer up to this many (its CSV export always does);
    # beyond, the page lists those with the largest value at stake and says how many it leaves out.
    list_max_rows: int = Field(default=20_000, ge=100)
    # Who reads what of reports/<dataset>/<period>/ (helpers.privacy.audiences). An audience set to null
    # in a dataset's or period's file is removed (the files merge key by key).
    audiences: dict[str, Audience | None] = Field(default_factory=default_audiences)

    @field_validator("audiences", mode="after")
    @classmethod
    def _without_removed(cls, value: dict[str, Audience | None]) -> dict[str, Audience]:
        return {name: audience for name, audience in value.items() if audience is not None}

    @field_validator("audiences")
    @classmethod
    def _one_landing_page(cls, value: dict[str, Audience]) -> dict[str, Audience]:
        at_root = [name for name, a in value.items() if a.folder == "."]
        if len(at_root) != 1:
            raise ValueError(
                "exactly one audience must have folder '.', the period's page "
                f"(now {', '.join(at_root) or 'none'})"
            )
        folders = [a.folder for a in value.values()]
        if len(set(folders)) != len(folders):
            raise ValueError("each audience needs a folder of its own")
        detailed = [name for name, a in value.items() if a.customer_level]
        if len(value) > 1 and any(value[name].folder == "." for name in detailed):
            raise ValueError(
                f"audience {detailed[0]} sees customer-level content in the period's folder, which is then "
                "closed to everyone else: it must be the only audience, or move it to a folder of its own"
            )
        if len(detailed) > 1:
            raise ValueError(
                f"at most one audience may be customer_level (now {', '.join(detailed)}); the lists, exports "
                "and stage pages are published once"
            )
        return value

    @property
    def customer_level(self) -> tuple[str, Audience] | None:
        """The audience that receives customer-level content (name, audience), if any."""
        return next(((n, a) for n, a in self.audiences.items() if a.customer_level), None)


class ClvConfig(StrictModel):
    """Customer lifetime value: purchase models (BG/NBD family) chosen on a holdout, Gamma-Gamma spend."""

    time_unit: Literal["days", "weeks"] = "weeks"  # model time: calendar days, or calendar weeks (Mon-Sun)
    holdout_days: int = Field(default=182, ge=7)  # the last days of history held out to choose the model
    # The holdout is shortened to at most a third of the history; below this many days the models are
    # not compared (the first listed is used) and the page says why.
    min_holdout_days: int = Field(default=28, ge=7)
    calibration_end: dt.date | None = (
        None  # set: the last calibration day exactly (moved to a Sunday in weeks)
    )
    # The chosen model's holdout total error (|expected / actual - 1|) above which the CLV section
    # carries a caveat with the figure.
    max_holdout_error: float = Field(default=0.25, gt=0.0)
    models: list[Literal["bgnbd", "pareto_nbd", "mbgnbd"]] = Field(
        default_factory=lambda: ["bgnbd", "pareto_nbd", "mbgnbd"]
    )
    selection_metric: Literal["mae", "rmse", "total_error"] = "mae"  # holdout error that picks the model
    horizon_months: int = Field(default=12, ge=1, le=120)
    monthly_discount_rate: float = Field(default=0.01, ge=0.0, lt=1.0)
    min_repeat_buyers: int = Field(default=50, ge=5)  # fewer customers with a repeat purchase: no fit
    penalizer_retry: float = Field(default=0.001, gt=0.0)  # L2 penalty of the retry when a fit fails
    pareto_starts: int = Field(default=4, ge=1)  # seeded starting points; the best log-likelihood wins
    fit_sample_above: int = Field(
        default=200_000, ge=1_000
    )  # more customers: fit on a seeded sample this size
    max_frequency_monetary_correlation: float = Field(default=0.3, gt=0.0, le=1.0)  # above: warning
    # Gamma-Gamma's mean spend p v / (q - 1) above this multiple of the repeat buyers' mean: not used
    max_spend_mean_ratio: float = Field(default=2.0, gt=1.0)
    high_churn_risk: float = Field(default=0.5, gt=0.0, lt=1.0)  # churn risk at or above it is high
    high_value_quantile: float = Field(default=0.8, gt=0.0, lt=1.0)  # CLV at or above it is high value
    top_n: int = Field(default=25, ge=1)  # rows shown on the page; the products hold every customer

    @field_validator("models")
    @classmethod
    def _models_listed_once(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("list at least one model (bgnbd, pareto_nbd, mbgnbd)")
        if len(set(value)) != len(value):
            raise ValueError("list each model once")
        return value


class SegmentRule(StrictModel):
    """One row of the RFM segment table: inclusive score ranges [lowest, highest] for R, F and M, and
    the two sentences the page shows for the segment."""

    name: str = Field(min_length=1)
    r_score: tuple[int, int]
    f_score: tuple[int, int]
    m_score: tuple[int, int]
    meaning: str = Field(min_length=1)  # one sentence: who these customers are
    action: str = Field(min_length=1)  # one sentence: what to do about them

    @field_validator("r_score", "f_score", "m_score")
    @classmethod
    def _score_range(cls, value: tuple[int, int]) -> tuple[int, int]:
        low, high = value
        if not 1 <= low <= high <= 5:
            raise ValueError("a score range is [lowest, highest] with 1 <= lowest <= highest <= 5")
        return value

    def matches(self, r_score: int, f_score: int, m_score: int) -> bool:
        """Whether the rule's three ranges all contain the given scores."""
        return (
            self.r_score[0] <= r_score <= self.r_score[1]
            and self.f_score[0] <= f_score <= self.f_score[1]
            and self.m_score[0] <= m_score <= self.m_score[1]
        )


RFM_CODES = [f"{r}{f}{m}" for r in range(1, 6) for f in range(1, 6) for m in range(1, 6)]
RFM_METRICS = ("recency_days", "frequency_orders", "monetary_total")  # what R, F and M are scored on

# The 11-segment scheme as a priority table (first matching rule wins; the last is a catch-all).
DEFAULT_SEGMENTS: list[dict[str, Any]] = [
    {
        "name": "Champions",
        "r_score": (4, 5),
        "f_score": (4, 5),
        "m_score": (4, 5),
        "meaning": "Bought recently, buy often and spend the most.",
        "action": "Reward them, give them early access to new products and ask for reviews and referrals.",
    },
    {
        "name": "Loyal Customers",
        "r_score": (3, 5),
        "f_score": (3, 5),
        "m_score": (3, 5),
        "meaning": "Buy regularly, spend well and have bought not long ago.",
        "action": "Offer a loyalty programme or membership and suggest higher-value products.",
    },
    {
        "name": "Budding Loyalists",
        "r_score": (4, 5),
        "f_score": (2, 5),
        "m_score": (1, 5),
        "meaning": "Recent customers who have bought more than once but do not yet spend much.",
        "action": "Recommend related products and offer membership to turn the habit into loyalty.",
    },
    {
        "name": "Recent First-Timers",
        "r_score": (4, 5),
        "f_score": (1, 1),
        "m_score": (1, 5),
        "meaning": "Bought recently, and only once so far.",
        "action": "Welcome them, help them get started and make a second purchase easy.",
    },
    {
        "name": "Promising",
        "r_score": (3, 3),
        "f_score": (1, 1),
        "m_score": (1, 5),
        "meaning": "Bought once, fairly recently.",
        "action": "Send a small, time-limited incentive to bring them back for a second purchase.",
    },
    {
        "name": "Need Attention",
        "r_score": (3, 3),
        "f_score": (2, 5),
        "m_score": (1, 5),
        "meaning": "Bought more than once but modestly, and not very recently.",
        "action": "Reach out with personalised offers based on what they bought before, before they drift "
        "away.",
    },
    {
        "name": "Can't Lose Them",
        "r_score": (1, 2),
        "f_score": (4, 5),
        "m_score": (4, 5),
        "meaning": (
            "Were among the best customers, buying often and spending the most, but have not bought "
            "for a long time."
        ),
        "action": "Win them back personally: ask what went wrong and make a strong, tailored offer.",
    },
    {
        "name": "Fading Regulars",
        "r_score": (1, 2),
        "f_score": (2, 5),
        "m_score": (2, 5),
        "meaning": "Bought several times and spent well, but long ago.",
        "action": "Send personalised reactivation messages and offers before they are lost.",
    },
    {
        "name": "About To Sleep",
        "r_score": (2, 2),
        "f_score": (1, 5),
        "m_score": (1, 5),
        "meaning": "Bought rarely or little, and their last purchase is getting old.",
        "action": "Remind them with popular products and a modest discount to renew their interest.",
    },
    {
        "name": "Hibernating",
        "r_score": (1, 1),
        "f_score": (1, 5),
        "m_score": (2, 5),
        "meaning": "Bought once, long ago, for a moderate or high amount.",
        "action": "Include them in low-cost campaigns with relevant offers; do not spend much on them.",
    },
    {
        "name": "Long Gone",
        "r_score": (1, 5),
        "f_score": (1, 5),
        "m_score": (1, 5),
        "meaning": "Bought long ago and spent the least.",
        "action": "Leave them out of paid campaigns; one low-cost win-back message at most.",
    },
]


def segment_of_each_code(rules: list[SegmentRule]) -> dict[str, str | None]:
    """Every R-F-M code ("111" ... "555") -> the name of the first rule that matches it (None: no rule)."""
    return {
        code: next((rule.name for rule in rules if rule.matches(*(int(c) for c in code))), None)
        for code in RFM_CODES
    }


RECENCY_SCALES = ("cycle", "days", "quintiles")


class RfmConfig(StrictModel):
    """R scores 1-5 on day bands, F and M scores 1-5 by quintile cut points, and the named segments.

    Recency is scored in days so that the segment names stay true as the customer base ages: by
    default its four cut points are multiples of the dataset's purchase cycle (the median typical
    gap between orders of the customers with two or more), ``recency: days`` takes fixed day bands,
    and ``recency: quintiles`` scores it like F and M (this period's quintiles, or the fixed scale)."""

    recency: Literal["cycle", "days", "quintiles"] = "cycle"
    recency_cycles: list[float] = Field(default_factory=lambda: [1.0, 2.0, 3.0, 5.0])  # R 5, 4, 3, 2 end
    recency_days: list[float] = Field(default_factory=lambda: [30.0, 90.0, 180.0, 365.0])  # R 5..2 end
    # quantiles: F and M cut points from this period's customers; fixed: the same scale as
    # fixed_cut_points or as the cut points written by the period named in cut_points_period.
    cut_points: Literal["quantiles", "fixed"] = "quantiles"
    fixed_cut_points: dict[str, list[float]] | None = None  # metric -> 4 ascending cut points
    cut_points_period: str | None = None  # e.g. "1998-03": reuse that period's cut points
    segments: list[SegmentRule] = Field(
        default_factory=lambda: [SegmentRule(**row) for row in DEFAULT_SEGMENTS]
    )

    @field_validator("segments")
    @classmethod
    def _every_code_one_segment(cls, rules: list[SegmentRule]) -> list[SegmentRule]:
        names = [rule.name for rule in rules]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"segment names must be unique, {repeated} appear more than once")
        for name in names:
            word = status_word_in(name)
            if word:
                raise ValueError(
                    f"segment '{name}' uses the status word '{word}', which counts other customers "
                    f"(the statuses {', '.join(STATUSES)} mean one thing everywhere); rename the segment"
                )
        owner = segment_of_each_code(rules)
        unassigned = [code for code, name in owner.items() if name is None]
        if unassigned:
            shown = ", ".join(unassigned[:5]) + (
                f" and {len(unassigned) - 5} more" if len(unassigned) > 5 else ""
            )
            raise ValueError(
                f"no rule matches the R-F-M codes {shown}; end the table with a catch-all rule "
                "(r_score, f_score and m_score all [1, 5])"
            )
        unreachable = [name for name in names if name not in owner.values()]
        if unreachable:
            raise ValueError(
                f"segment {unreachable} can never be reached because earlier rules take all of its "
                "codes; move it up or widen its ranges"
            )
        return rules

    @property
    def fixed_metrics(self) -> tuple[str, ...]:
        """The metrics scored on quintiles or on the fixed scale (recency only with recency: quintiles)."""
        return RFM_METRICS if self.recency == "quintiles" else RFM_METRICS[1:]

    @field_validator("recency_cycles", "recency_days")
    @classmethod
    def _four_increasing(cls, value: list[float]) -> list[float]:
        if len(value) != 4 or any(v <= 0 for v in value) or value != sorted(set(value)):
            raise ValueError("give 4 positive values in increasing order (where R 5, 4, 3 and 2 end)")
        return value

    @model_validator(mode="after")
    def _fixed_scale_is_given(self) -> RfmConfig:
        if self.cut_points == "fixed" and (self.fixed_cut_points is None) == (self.cut_points_period is None):
            raise ValueError("cut_points: fixed needs exactly one of fixed_cut_points or cut_points_period")
        if self.cut_points_period is not None and not PERIOD_LABEL.match(self.cut_points_period):
            raise ValueError(
                f"cut_points_period '{self.cut_points_period}' is not a period label ({PERIOD_LABEL_RULE})"
            )
        if self.fixed_cut_points is not None:
            scaled = self.fixed_metrics
            if set(self.fixed_cut_points) != set(scaled):
                raise ValueError(
                    f"fixed_cut_points must give exactly {list(scaled)} (recency_days only with recency: "
                    f"quintiles; with recency: {self.recency} it is scored on "
                    f"{'rfm.recency_days' if self.recency == 'days' else 'the purchase cycle'})"
                )
            for metric, cuts in self.fixed_cut_points.items():
                if len(cuts) != 4 or cuts != sorted(cuts):
                    raise ValueError(f"fixed_cut_points.{metric} must be 4 cut points in ascending order")
        return self


class ClusteringConfig(StrictModel):
    """k-means on scaled customer features: k chosen by silhouette (elbow shown), fit small, assign all."""

    # Columns of the RFM table or customer attributes, or <product>.<column> of engagement (04) or voice
    # (05); text columns become one 0/1 feature per value, missing values count as the average.
    features: list[str] = Field(default_factory=lambda: list(RFM_METRICS))
    log_features: list[str] = Field(default_factory=lambda: list(RFM_METRICS))  # sign(x)·ln(1 + |x|) first
    k_min: int = Field(default=3, ge=2)
    k_max: int = Field(default=8, ge=2)
    k: int | None = Field(default=None, ge=1)  # set: this k, no search
    silhouette_sample: int = Field(default=5_000, ge=100, le=10_000)  # silhouette cost grows with its square
    fit_sample_above: int = Field(default=200_000, ge=1_000)  # more customers: fit on a sample this size
    minibatch_above: int = Field(default=500_000, ge=1_000)  # more fitted rows: MiniBatchKMeans (n_init=10)
    stability_runs: int = Field(default=5, ge=2, le=20)  # runs with seeds seed, seed+1, ... compared by ARI
    projection_sample: int = Field(default=3_000, ge=100)  # customers drawn in the 2-D projection

    @model_validator(mode="after")
    def _consistent(self) -> ClusteringConfig:
        if not self.features or len(set(self.features)) != len(self.features):
            raise ValueError("features must list at least one column, each once")
        extra = [name for name in self.log_features if name not in self.features]
        if extra:
            raise ValueError(f"log_features names {extra}, which are not in features")
        if self.k_max < self.k_min:
            raise ValueError(f"k_max ({self.k_max}) must not be below k_min ({self.k_min})")
        return self


class BehaviourConfig(StrictModel):
    """Stage 04: sessions, the browse-to-buy funnel, search, heat maps and the sales pipeline."""

    session_gap_minutes: float = Field(default=30.0, gt=0)  # a longer pause starts a new session
    # The browse-to-buy steps in order (event types); a session reaches a step when it has its event.
    funnel_steps: list[str] = Field(
        default_factory=lambda: ["product_view", "add_to_cart", "checkout", "purchase"]
    )
    top_n: int = Field(default=20, ge=1)  # rows of the search-term and page tables
    min_searches: int = Field(default=20, ge=1)  # a term searched less often is never called low-converting

    @field_validator("funnel_steps")
    @classmethod
    def _known_steps(cls, steps: list[str]) -> list[str]:
        unknown = [step for step in steps if step not in EVENT_TYPES]
        if unknown:
            raise ValueError(
                f"funnel_steps names {unknown}, which are not event types ({', '.join(EVENT_TYPES)})"
            )
        if len(steps) < 2 or len(set(steps)) != len(steps):
            raise ValueError("funnel_steps must list at least two event types, each once")
        return steps


class VoiceConfig(StrictModel):
    """Stage 05: contacts, satisfaction (NPS, CSAT, stars), complaints and their link to churn."""

    # Complaints without a category: a TF-IDF model (character n-grams) trained on the labelled ones
    # when there are at least this many, else the keyword rules below.
    min_labelled_complaints: int = Field(default=100, ge=10)
    classifier_test_share: float = Field(
        default=0.2, gt=0, lt=1
    )  # labelled rows held out to measure accuracy
    # category: words or phrases; a complaint containing one (case-insensitive) gets the category, the
    # first category listed wins. Used when too few complaints carry a category.
    complaint_keywords: dict[str, list[str]] = Field(default_factory=dict)
    confidence: float = Field(default=0.95, gt=0.5, lt=1)  # of the NPS intervals and the churn tests


class BasketConfig(StrictModel):
    """Stage 06: association rules between products and between categories (FP-growth), per segment,
    and each customer's next best product."""

    min_support: float = Field(default=0.001, gt=0, le=1)  # share of all baskets holding the rule's items
    min_rule_baskets: int = Field(default=20, ge=1)  # and at least this many baskets (fewer: chance)
    min_confidence: float = Field(
        default=0.05, ge=0, le=1
    )  # share of the antecedent's baskets with the consequent
    min_lift: float = Field(default=1.2, ge=0)  # confidence / the consequent's share of all baskets
    max_len: int = Field(default=3, ge=2, le=5)  # most items in a rule (antecedent + consequent)
    min_baskets: int = Field(default=200, ge=10)  # fewer baskets (in all or in a segment): no rules
    by_segment: bool = True  # also mine the baskets of each RFM segment's customers
    fit_sample_above: int = Field(
        default=200_000, ge=1_000
    )  # more baskets: itemsets found on a sample this size
    top_n: int = Field(default=20, ge=1)  # rules shown per table on the pages


class ChurnConfig(StrictModel):
    """Stage 09's churn model (helpers.churn): which score predicts churn best, judged on a holdout."""

    # Churned: no order within this many days after a cut. Stage 09's churn model and stage 05's voice
    # and value comparison (its cut: the as-of date minus this window) share it.
    window_days: int = Field(default=180, ge=7)
    # auto: the best ROC AUC on the holdout; or one of the scores (used only if it beats recency there).
    model: Literal["auto", "gradient_boosting", "btyd_p_alive", "btyd_no_purchase", "recency"] = "auto"
    min_customers: int = Field(default=200, ge=10)  # fewer customers at either cut: no model fitted
    min_churners: int = Field(default=20, ge=5)  # fewer churners (or who ordered again) at either cut: same
    recent_days: int = Field(default=90, ge=1)  # events and orders counted in this many days before a cut
    top_drivers: int = Field(default=2, ge=1, le=3)  # per-customer drivers of the gradient-boosting risk
    fit_sample_above: int = Field(default=200_000, ge=1_000)  # more: compared and fitted on a seeded sample
    importance_sample: int = Field(default=5_000, ge=500)  # holdout customers of the permutation importance
    reliability_bins: int = Field(default=10, ge=2, le=50)  # bins of the reliability chart


# ------------------------------------------------------------------------------------ the whole

LATEST = "latest"  # compare_with: the latest earlier period of the same dataset that has been built
DEFAULTS_FILE = "defaults.yaml"
DATASET_FILE = "dataset.yaml"
# Which file may set which top-level key: project-wide keys only in defaults.yaml, a dataset's own keys
# only in its dataset.yaml, a period's window only in its period file; anything else anywhere.
PROJECT_KEYS = ("project_name", "default_dataset")
DATASET_KEYS = ("title", "description", "default_period")
PERIOD_KEYS = ("period", "period_start", "period_end")
DATASET_WIDE = ("currency",)  # the same for every period of a dataset: never in a period's file
DEFAULTS_FORBIDDEN = ("sources",)  # defaults name no source file and no source column


class Params(StrictModel):
    """Everything one period of one dataset runs with: defaults.yaml, then the dataset's
    dataset.yaml, then the period's file, merged key by key and validated here."""

    project_name: str = "Customer analytics"  # shown on reports/index.html
    default_dataset: str  # the dataset `make report` and `python -m helpers run` build when none is named
    dataset: str  # the folder name under params/ (set by the loader, never in a file)
    title: str | None = None  # the dataset's name on its pages (default: the folder name)
    # One or two sentences shown at the top of every report of the dataset (e.g. that it is synthetic).
    description: str | None = None
    default_period: str  # the dataset's period built when none is named
    period: str
    period_start: dt.date
    period_end: dt.date
    compare_with: str | None = LATEST  # latest | a period label of this dataset | null (no comparison)
    # The dataset's time zone (IANA name): timestamps with a UTC offset are converted to it, timestamps
    # without one are read as its wall-clock time; days, months and periods are counted in it.
    timezone: str = "UTC"
    currency: str = "USD"  # ISO 4217 code of the amounts: every money figure on the pages shows it
    seed: int = 42
    engine: EngineConfig = EngineConfig()
    sources: Sources
    privacy: PrivacyConfig = PrivacyConfig()
    cleaning: CleaningConfig = CleaningConfig()
    rfm: RfmConfig = RfmConfig()
    clustering: ClusteringConfig = ClusteringConfig()
    behaviour: BehaviourConfig = BehaviourConfig()
    voice: VoiceConfig = VoiceConfig()
    basket: BasketConfig = BasketConfig()
    churn: ChurnConfig = ChurnConfig()
    clv: ClvConfig = ClvConfig()
    scoring: ScoringConfig = ScoringConfig()
    status: StatusConfig = StatusConfig()
    actions: ActionsConfig = ActionsConfig()
    report: ReportConfig = ReportConfig()
    runner: RunnerConfig = RunnerConfig()

    @field_validator("period", "default_period")
    @classmethod
    def _period_label(cls, value: str) -> str:
        if not PERIOD_LABEL.match(value):
            raise ValueError(f"'{value}' is not a period label ({PERIOD_LABEL_RULE})")
        return value

    @field_validator("default_dataset", "dataset")
    @classmethod
    def _dataset_name(cls, value: str) -> str:
        if not DATASET_NAME.match(value):
            raise ValueError(f"'{value}' is not a dataset name ({DATASET_NAME_RULE})")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"'{value}' is not a time zone; use an IANA name such as Europe/London or Asia/Shanghai"
            ) from None
        return value

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, value: str) -> str:
        if not CURRENCY_CODE.match(value):
            raise ValueError(f"'{value}' is not an ISO 4217 currency code (three capital letters, e.g. USD)")
        return value

    @field_validator("compare_with")
    @classmethod
    def _compare_with_label(cls, value: str | None) -> str | None:
        if value is not None and value != LATEST and not PERIOD_LABEL.match(value):
            raise ValueError(
                f"'{value}' is neither '{LATEST}', null nor a period label ({PERIOD_LABEL_RULE})"
            )
        return value

    @model_validator(mode="after")
    def _window_is_possible(self) -> Params:
        if self.period_end < self.period_start:
            raise ValueError(f"period_end {self.period_end} is before period_start {self.period_start}")
        if self.compare_with == self.period:
            raise ValueError(f"compare_with names the period itself ({self.period}); name an earlier period")
        return self

    @property
    def as_of(self) -> dt.date:
        """The last day of history: every order up to the end of this day counts."""
        return self.period_end

    @property
    def as_of_exclusive(self) -> dt.datetime:
        """The first instant after the period: orders at or after it are in the future."""
        return dt.datetime.combine(self.period_end + dt.timedelta(days=1), dt.time())

    @property
    def dataset_title(self) -> str:
        """The dataset's name as pages show it."""
        return self.title or self.dataset


# ------------------------------------------------------------------------------------- loading


def _read_yaml(path: Path, missing_hint: str) -> dict[str, Any]:
    if not path.is_file():
        raise ParamsError(f"{path}: file not found; {missing_hint}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ParamsError(f"{path}: not valid YAML{where}; fix the syntax there.") from None
    except ValueError as exc:  # PyYAML's date constructor, e.g. 1998-06-31
        raise ParamsError(f"{path}: a value is invalid ({exc}); use real dates such as 1998-06-30.") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: must hold a mapping of settings, not a {type(data).__name__}.")
    return data


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep merge: mappings merge key by key, anything else in ``override`` replaces."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _has_key(data: dict[str, Any], loc: tuple[Any, ...]) -> bool:
    node: Any = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return False
    return True


def _home_of(key: str, files: list[tuple[Path, dict[str, Any]]]) -> Path:
    """The file a missing top-level key belongs in: defaults, the dataset's file or the period's."""
    if key in PERIOD_KEYS:
        return files[-1][0]
    if key in (*DATASET_KEYS, *DEFAULTS_FORBIDDEN) and len(files) > 1:
        return files[1][0]
    return files[0][0]


def _settings_path(loc: tuple[Any, ...], data: dict[str, Any], missing: bool) -> tuple[Any, ...]:
    """The error's location as keys of the settings: the parts that name a key (or list index) there;
    the names pydantic gives the forms of a setting that takes several (``str``, ``ComputedColumn``)
    are left out. A missing key keeps its last part."""
    kept, node = [], data
    for i, part in enumerate(loc):
        if isinstance(node, dict) and part in node:
            kept.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            kept.append(part)
            node = node[part]
        elif missing and i == len(loc) - 1:
            kept.append(part)
        elif not (isinstance(part, str) and (part[0].isupper() or part in ("str", "int", "float", "bool"))):
            kept.append(part)
            node = None
    return tuple(kept)


def _describe(
    error: dict[str, Any], files: list[tuple[Path, dict[str, Any]]], data: dict[str, Any] | None = None
) -> str:
    """One sentence for the first validation error: the file, the dotted key and what is wrong."""
    loc = _settings_path(tuple(error["loc"]), data or {}, error["type"] == "missing")
    key = ".".join(str(p) for p in loc) or "(top level)"
    # Blame the most specific file that sets the key (or its parent, for a missing key).
    blamed = files[0][0]
    for path, data in files:
        probe = loc if error["type"] != "missing" else loc[:-1]
        if probe and _has_key(data, probe):
            blamed = path
    kind = error["type"]
    if not loc and "period_end" in error["msg"]:  # the model-level window check: a period-file mistake
        loc, blamed, key = ("period_end",), files[-1][0], "period_end"
    if not loc and "compare_with" in error["msg"]:
        loc, blamed, key = ("compare_with",), files[-1][0], "compare_with"
    if kind == "missing" and len(loc) == 1:
        blamed = _home_of(loc[0], files)
    if kind == "extra_forbidden" and key in MOVED_SETTINGS:
        new = MOVED_SETTINGS[key]
        return f"{blamed}: setting '{key}' is now '{new}' (one setting for both uses); rename it."
    if kind == "extra_forbidden":
        where = (
            "the source settings in README.md ('Your own dataset by hand')"
            if loc and loc[0] == "sources"
            else f"params/{DEFAULTS_FILE}"
            + (" (a dataset.yaml may also set title, default_period and sources)" if len(loc) == 1 else "")
        )
        return f"{blamed}: unknown setting '{key}'; check its spelling against {where}."
    if kind == "missing":
        return f"{blamed}: setting '{key}' is required; add it."
    msg = error["msg"].removeprefix("Value error, ")
    value = error.get("input")
    shown = "" if isinstance(value, (dict, list)) else f" (got {value!r})"
    return f"{blamed}: setting '{key}' is invalid{shown}: {msg}."


def _check_placement(files: list[tuple[Path, dict[str, Any]]]) -> None:
    """A top-level key in a file where it has no meaning is an error naming the file it belongs in."""
    defaults, dataset, period = files
    rules = [
        (defaults, (*DATASET_KEYS, *PERIOD_KEYS, *DEFAULTS_FORBIDDEN, "dataset"), None),
        (dataset, (*PROJECT_KEYS, *PERIOD_KEYS, "dataset"), defaults[0]),
        (period, (*PROJECT_KEYS, *DATASET_KEYS, *DATASET_WIDE, "dataset"), dataset[0]),
    ]
    for (path, data), forbidden, _ in rules:
        for key in forbidden:
            if key in data:
                if key == "dataset":
                    where = "the folder name under params/ (it is not a setting)"
                elif key in PROJECT_KEYS:
                    where = f"params/{DEFAULTS_FILE}"
                elif key in DATASET_KEYS or key in DEFAULTS_FORBIDDEN or key in DATASET_WIDE:
                    where = f"the dataset's {DATASET_FILE}"
                else:
                    where = "the period's own file"
                raise ParamsError(f"{path}: setting '{key}' does not belong here; it goes in {where}.")


MISMATCHED_TYPES = ("string_type", "model_type", "dict_type", "model_attributes_type")


def validate(data: dict[str, Any], files: list[tuple[Path, dict[str, Any]]]) -> Params:
    """Validate merged settings; raise :class:`ParamsError` naming file and key on the first error. A
    setting that may take several forms (a column name or a computed column) fails in each: the error
    of the form the value has is the one to tell, not that it is not another form."""
    try:
        return Params.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        telling = [e for e in errors if e["type"] not in MISMATCHED_TYPES] or errors
        # A misspelt key shows as that key unknown and the right one missing: the unknown one is the clue.
        telling.sort(key=lambda e: e["type"] != "extra_forbidden")
        raise ParamsError(_describe(telling[0], files, data)) from None


def defaults_path(root: Path | None = None) -> Path:
    return paths.params_dir(root) / DEFAULTS_FILE


def dataset_file(dataset: str, root: Path | None = None) -> Path:
    return paths.dataset_params_dir(dataset, root) / DATASET_FILE


def period_file(dataset: str, period: str, root: Path | None = None) -> Path:
    return paths.dataset_params_dir(dataset, root) / f"{period}.yaml"


def read_defaults(root: Path | None = None) -> dict[str, Any]:
    return _read_yaml(
        defaults_path(root), "it holds every setting's default; restore it from the repository."
    )


def default_dataset(root: Path | None = None) -> str:
    """The dataset built when none is named (``default_dataset`` in defaults.yaml)."""
    name = read_defaults(root).get("default_dataset")
    if not name:
        raise ParamsError(f"{defaults_path(root)}: setting 'default_dataset' is required; add it.")
    return str(name)


def _dataset_settings(dataset: str, root: Path | None) -> dict[str, Any]:
    if not DATASET_NAME.match(dataset):
        raise ParamsError(f"dataset '{dataset}' is not a dataset name ({DATASET_NAME_RULE}); use e.g. cdnow.")
    known = list_datasets(root)
    hint = (f"the datasets are {', '.join(known)}" if known else "there is no dataset yet") + (
        "; create it with `python -m helpers new-dataset`."
    )
    return _read_yaml(dataset_file(dataset, root), hint)


def default_period(dataset: str, root: Path | None = None) -> str:
    """The dataset's period built when none is named (``default_period`` in its dataset.yaml)."""
    period = _dataset_settings(dataset, root).get("default_period")
    if not period:
        raise ParamsError(f"{dataset_file(dataset, root)}: setting 'default_period' is required; add it.")
    return str(period)


def load_params(dataset: str | None = None, period: str | None = None, root: Path | None = None) -> Params:
    """defaults.yaml, the dataset's dataset.yaml and the period's file, merged and validated (the
    default dataset and its default period when not named)."""
    defaults = read_defaults(root)
    if dataset is None:
        dataset = default_dataset(root)
    dataset_settings = _dataset_settings(dataset, root)
    if period is None:
        period = default_period(dataset, root)
        if not period_file(dataset, period, root).is_file():
            raise ParamsError(
                f"{dataset_file(dataset, root)}: setting 'default_period' names '{period}', which is not a "
                f"period of dataset {dataset}; name one of its periods: "
                f"{', '.join(list_periods(dataset, root)) or 'there is none yet'}."
            )
    if not PERIOD_LABEL.match(str(period)):
        raise ParamsError(f"period '{period}' is not a period label ({PERIOD_LABEL_RULE}); use e.g. 1998-06.")
    path = period_file(dataset, period, root)
    override = _read_yaml(
        path, f"create it with `python -m helpers new-period {period} --dataset {dataset}`."
    )
    if "period" in override and str(override["period"]) != period:
        raise ParamsError(
            f"{path}: setting 'period' is '{override['period']}' but the file is for '{period}'; make them "
            f"agree."
        )
    files = [
        (defaults_path(root), defaults),
        (dataset_file(dataset, root), dataset_settings),
        (path, override),
    ]
    _check_placement(files)
    merged = _merge(_merge(defaults, dataset_settings), override)
    params = validate({**merged, "dataset": dataset}, files)
    periods = list_periods(dataset, root)
    if params.compare_with not in (None, LATEST) and params.compare_with not in periods:
        raise ParamsError(
            f"{path}: setting 'compare_with' names '{params.compare_with}', which is not a period of dataset "
            f"{dataset}; name one of its periods, '{LATEST}' or null."
        )
    if params.compare_with in periods and periods.index(params.compare_with) > periods.index(period):
        raise ParamsError(
            f"{path}: setting 'compare_with' names '{params.compare_with}', which ends after {period}; a "
            f"period "
            f"is compared with an earlier one: name an earlier period, '{LATEST}' or null."
        )
    if params.engine.memory_limit == AUTO:  # sized for the largest source (behaviour events, often)
        limits = [auto_memory_limit(source, root) for source in params.sources.configured().values()]
        engine = params.engine.model_copy(
            update={"memory_limit": max(limits, key=lambda limit: float(limit.removesuffix("GB")))}
        )
        params = params.model_copy(update={"engine": engine})
    return params


def where_set(dataset: str, period: str, key: str, root: Path | None = None) -> Path:
    """The most specific of a period's params files that sets a dotted ``key`` (defaults.yaml when
    none does), to name it in a message."""
    files = [defaults_path(root), dataset_file(dataset, root), period_file(dataset, period, root)]
    found = files[0]
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
        if isinstance(data, dict) and _has_key(data, tuple(key.split("."))):
            found = path
    return found


def list_datasets(root: Path | None = None) -> list[str]:
    """Every dataset: a folder under params/ with a dataset.yaml, by name."""
    folder = paths.params_dir(root)
    return sorted(
        p.parent.name for p in folder.glob(f"*/{DATASET_FILE}") if DATASET_NAME.match(p.parent.name)
    )


def _period_end(path: Path) -> str:
    """The period_end a period file states, as text for ordering (files are validated when loaded)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, ValueError):
        return ""
    return str(data.get("period_end", "")) if isinstance(data, dict) else ""


def list_periods(dataset: str, root: Path | None = None) -> list[str]:
    """Every period of a dataset (a file params/<dataset>/<label>.yaml), oldest first: by period_end,
    then by label."""
    folder = paths.dataset_params_dir(dataset, root)
    files = [p for p in folder.glob("*.yaml") if p.name != DATASET_FILE and PERIOD_LABEL.match(p.stem)]
    return [p.stem for p in sorted(files, key=lambda p: (_period_end(p), p.stem))]


def month_window(period: str) -> tuple[dt.date, dt.date]:
    """First and last day of a YYYY-MM period."""
    if not MONTH_LABEL.match(period):
        raise ParamsError(f"period '{period}' is not a calendar month of the form YYYY-MM; use e.g. 1998-07.")
    year, month = (int(x) for x in period.split("-"))
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def period_text(period: str, start: dt.date, end: dt.date) -> str:
    """A period file's text: the label and its window."""
    return (
        f"# The {period} report; anything set here overrides the dataset's dataset.yaml.\n"
        f'period: "{period}"\nperiod_start: {start.isoformat()}\nperiod_end: {end.isoformat()}\n'
    )


def new_period_file(
    period: str, dataset: str | None = None, root: Path | None = None, overwrite: bool = False
) -> Path:
    """Write ``params/<dataset>/<period>.yaml`` for a calendar month and check that it validates."""
    dataset = dataset or default_dataset(root)
    start, end = month_window(period)
    _dataset_settings(dataset, root)  # the dataset must exist
    path = period_file(dataset, period, root)
    if path.exists() and not overwrite:
        raise ParamsError(f"{path}: already exists; edit it, or pass --overwrite to replace it.")
    path.write_text(period_text(period, start, end), encoding="utf-8")
    try:
        load_params(dataset, period, root)
    except ParamsError:
        path.unlink()
        raise
    return path
