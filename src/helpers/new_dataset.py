"""``python -m helpers new-dataset NAME --source FILE``: from a user's order export to a dataset that
builds. The file is inspected (encoding, delimiter, header, decimal separator, date formats), its columns
are matched to the canonical ones by common names in English and Chinese, columns that look like direct
identifiers are listed so they are never copied, and ``params/<name>/dataset.yaml`` is written with a
comment on every guess, plus one period file per calendar month of the data (the last is the default).
The files are then validated; what was guessed and what to check is returned for the command to print.

The widely used retail layout (InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice,
CustomerID, Country) needs no edit: the amount is computed as quantity x unit price, invoices starting
with C are cancellations, ids written as 17850.0 are read as 17850.
"""

from __future__ import annotations

import calendar
import codecs
import datetime as dt
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from helpers import paths
from helpers.config import (
    DATASET_NAME,
    DATASET_NAME_RULE,
    dataset_file,
    list_periods,
    load_params,
    period_file,
    period_text,
)
from helpers.delimited import read_sample, records, sniff_delimiter

SAMPLE_ROWS = 20_000  # rows read to guess formats and meanings
EXTENSIONS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".tab": "csv", ".parquet": "parquet",
              ".xlsx": "excel", ".xls": "excel", ".xlsm": "excel"}  # fmt: skip


def _key(name: str) -> str:
    """A column name reduced for matching: lower case, without blanks, '_', '-', '.' or '#'."""
    return re.sub(r"[\s_\-.#()（）]", "", str(name).lower())


# Canonical column -> the names it is commonly exported under (compared reduced, see _key).
SYNONYMS: dict[str, list[str]] = {
    "customer_id": [
        "customerid",
        "customer",
        "custid",
        "customerno",
        "customernumber",
        "clientid",
        "client",
        "memberid",
        "userid",
        "buyerid",
        "accountid",
        "客户id",
        "客户编号",
        "客户号",
        "会员id",
        "会员编号",
        "用户id",
        "顾客id",
    ],
    "order_id": [
        "invoiceno",
        "invoice",
        "invoiceid",
        "invoicenumber",
        "orderid",
        "order",
        "orderno",
        "ordernumber",
        "transactionid",
        "receiptno",
        "receiptid",
        "订单号",
        "订单编号",
        "单号",
        "订单id",
        "交易号",
    ],
    "order_ts": [
        "invoicedate",
        "orderdate",
        "orderts",
        "orderdatetime",
        "date",
        "datetime",
        "timestamp",
        "time",
        "purchasedate",
        "transactiondate",
        "createdat",
        "ordertime",
        "下单时间",
        "日期",
        "订单日期",
        "时间",
        "交易时间",
        "下单日期",
        "创建时间",
    ],
    "amount": [
        "amount",
        "total",
        "linetotal",
        "linetotalamount",
        "sales",
        "revenue",
        "value",
        "totalprice",
        "grandtotal",
        "ordertotal",
        "netamount",
        "金额",
        "总额",
        "销售额",
        "订单金额",
        "实付金额",
        "总金额",
        "成交金额",
    ],
    "quantity": ["quantity", "qty", "units", "count", "数量", "件数", "购买数量"],
    "product_id": [
        "stockcode",
        "productid",
        "product",
        "sku",
        "itemid",
        "productcode",
        "itemcode",
        "商品编号",
        "商品id",
        "产品编号",
        "商品编码",
    ],
    "category": ["category", "productcategory", "itemcategory", "品类", "类别", "分类", "商品类别"],
    "channel": ["channel", "saleschannel", "渠道", "销售渠道"],
    "region": ["country", "region", "state", "province", "market", "地区", "国家", "省份", "区域"],
    "currency": ["currency", "currencycode", "币种", "货币"],
}
PARTIAL_MATCHES = ("order_ts", "amount", "quantity")  # "Order Date (UTC)", "Total incl. VAT": not ids
UNIT_PRICE = ["unitprice", "price", "itemprice", "单价", "价格"]  # with a quantity: amount = quantity x price
IDENTIFIERS = re.compile(
    r"(name|email|e-?mail|mail|phone|mobile|tel|cell|address|street|zip|postcode|postal|ssn|passport|"
    r"birthday|姓名|名字|手机|电话|邮箱|地址|身份证)",
    re.I,
)
NAME_LIKE_ALLOWED = re.compile(r"(productname|itemname|storename|商品名称|产品名称|categoryname)", re.I)

# Candidate timestamp formats, most specific first.
DATE_FORMATS = [
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d",
    "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z",
    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d",
    "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y", "%m/%d/%y %H:%M", "%m/%d/%y",
    "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%d/%m/%y %H:%M", "%d/%m/%y",
    "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y", "%d.%m.%y",
    "%d-%m-%Y %H:%M", "%d-%m-%Y", "%Y%m%d", "%Y%m%d%H%M%S", "%Y年%m月%d日", "%Y年%m月%d日 %H:%M",
]  # fmt: skip


class NewDatasetError(ValueError):
    """The dataset cannot be set up from this source; the message says why and what to do."""


@dataclass
class Guess:
    """What was found and decided, each with the reason, for the params comments and the printout."""

    name: str
    source: Path | None
    options: dict = field(default_factory=dict)  # the source's reading options
    columns: dict = field(default_factory=dict)  # canonical -> source column (or {expression: ...})
    notes: dict = field(default_factory=dict)  # setting -> why it was chosen
    checks: list[str] = field(default_factory=list)  # what the user should check
    identifiers: list[str] = field(default_factory=list)
    not_copied: list[str] = field(default_factory=list)
    cleaning: dict = field(default_factory=dict)
    timezone: str = "UTC"
    currency: str | None = None  # from a currency column; None: the user must say
    months: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)


# ----------------------------------------------------------------------------------- the file


def sniff_encoding(path: Path) -> tuple[str, str]:
    """The file's encoding among utf-8 (with or without BOM), utf-16 and latin-1, and why."""
    head = path.read_bytes()[:4]
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16", "a UTF-16 byte-order mark"
    try:
        read_sample(path, "utf-8")
        return "utf-8", "the text is valid UTF-8" + (
            " (with a byte-order mark)" if head.startswith(codecs.BOM_UTF8) else ""
        )
    except UnicodeDecodeError:
        return "latin-1", "the text is not valid UTF-8; Latin-1 reads every byte"


def sniff_delimited(path: Path, encoding: str) -> tuple[str, str]:
    """The delimiter (``whitespace`` for columns separated by runs of blanks) and why."""
    sample = read_sample(path, encoding)
    delimiter = sniff_delimiter(sample)
    if delimiter:
        shown = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}[delimiter]
        return delimiter, f"the {shown} splits the lines into the same number of fields"
    widths = {len(line.split()) for line in sample.splitlines()[:200] if line.strip()}
    if len(widths) == 1 and widths.pop() > 1:
        return "whitespace", "the columns are separated by runs of blanks"
    raise NewDatasetError(
        f"{path}: cannot tell how its columns are separated (no comma, semicolon, tab or pipe splits the "
        f"lines "
        "evenly); export it as CSV."
    )


def _numeric_like(value: str) -> bool:
    return bool(re.fullmatch(r"[\s$€£¥+-]*[\d.,]+\s*%?", value)) or _date_like(value)


def _date_like(value: str) -> bool:
    return bool(re.fullmatch(r"\d{1,4}[-/.年]\d{1,2}[-/.月]\d{1,4}.*", value.strip()))


def has_header(first: list[str], second: list[str] | None) -> bool:
    """Whether the first row names the columns: no field of it looks like a number or a date while
    the second row has such fields."""
    if any(_numeric_like(f) for f in first if f.strip()):
        return False
    return second is None or any(_numeric_like(f) for f in second if f.strip())


def read_rows(path: Path, fmt: str, options: dict) -> pd.DataFrame:
    """Up to :data:`SAMPLE_ROWS` rows of the source, every value as text."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        table = pq.ParquetFile(path).iter_batches(batch_size=SAMPLE_ROWS)
        frame = next(table).to_pandas()
        return frame.astype(str).where(frame.notna(), None)
    if fmt == "excel":
        frame = pd.read_excel(path, sheet_name=options.get("sheet", 0), dtype=str, nrows=SAMPLE_ROWS)
        frame.columns = [str(c) for c in frame.columns]
        return frame
    if options["delimiter"] == "whitespace":
        lines = [line.split() for line in read_sample(path, options["encoding"], 4_000_000).splitlines()
                 if line.strip()][: SAMPLE_ROWS + 1]  # fmt: skip
        names = lines[0] if options["header"] else [f"column{i}" for i in range(len(lines[0]))]
        body = lines[1:] if options["header"] else lines
        return pd.DataFrame(
            [row[: len(names)] + [None] * (len(names) - len(row)) for row in body], columns=names
        )
    rows = records(path, options["encoding"], options["delimiter"], options["header"])
    names = next(rows)[1]
    body = []
    for _, fields in rows:
        if fields is not None:
            body.append(fields)
        if len(body) >= SAMPLE_ROWS:
            break
    return pd.DataFrame(body, columns=names)


# ----------------------------------------------------------------------------------- the columns


def match_columns(columns: list[str]) -> tuple[dict[str, str], str | None, list[str]]:
    """Canonical column -> source column by common names (exact names first, then names that contain
    one: "Invoice Date" for order_ts), the unit price column if any, and the identifier-like columns."""
    reduced = {column: _key(column) for column in columns}
    mapping: dict[str, str] = {}
    for canonical, names in SYNONYMS.items():
        exact = [c for c in columns if reduced[c] in names and c not in mapping.values()]
        if exact:
            mapping[canonical] = sorted(exact, key=lambda c: names.index(reduced[c]))[0]
    for canonical, names in SYNONYMS.items():  # a second pass for names that only contain a synonym
        if canonical in mapping or canonical not in PARTIAL_MATCHES:
            continue
        partial = [
            c
            for c in columns
            if c not in mapping.values() and any(len(n) > 3 and n in reduced[c] for n in names)
        ]
        if partial:
            mapping[canonical] = partial[0]
    price = next((c for c in columns if reduced[c] in UNIT_PRICE and c not in mapping.values()), None)
    identifiers = [
        c for c in columns
        if c not in mapping.values() and c != price and IDENTIFIERS.search(reduced[c]) and not
        NAME_LIKE_ALLOWED.search(reduced[c])
    ]  # fmt: skip
    return mapping, price, identifiers


OFFSET = re.compile(r"(?:[+-]\d{2}:?\d{2}|Z)$")
# Fixed offsets that are not whole hours, by the zone that keeps them all year (Etc/ zones are whole hours).
HALF_HOUR_ZONES = {"+05:30": "Asia/Kolkata", "+05:45": "Asia/Kathmandu", "+06:30": "Asia/Yangon",
                   "+03:30": "Asia/Tehran", "+04:30": "Asia/Kabul", "+09:30": "Australia/Darwin"}  # fmt: skip


def guess_timezone(values: pd.Series) -> tuple[str, str, str | None]:
    """The dataset's time zone from the UTC offsets the timestamps carry: UTC when none carries one;
    the zone of the most frequent offset otherwise (``Etc/GMT-8`` is UTC+08:00: the sign of the Etc
    names is inverted), with the reason, and what to check when the offsets differ (summer time: only
    the region's zone, e.g. America/New_York, converts both halves of the year right)."""
    text = values.dropna().astype(str).str.strip()
    found = text.str.extract(f"({OFFSET.pattern})")[0].dropna()
    if found.empty:
        return "UTC", "no timestamp of the sample carries a UTC offset: they are read as UTC", None
    offsets = found.replace("Z", "+00:00").map(lambda o: o if ":" in o else f"{o[:3]}:{o[3:]}")
    counts = offsets.value_counts()
    common = str(counts.index[0])
    hours, minutes = int(common[1:3]), int(common[4:6])
    if minutes:
        zone = HALF_HOUR_ZONES.get(common, "UTC")
    else:
        zone = "UTC" if hours == 0 else f"Etc/GMT{'-' if common[0] == '+' else '+'}{hours}"
    why = (
        f"UTC{common}, the offset of {100 * counts.iloc[0] / len(text):.0f}% of the sample's timestamps "
        "(days and months are counted in it; a region's name such as Asia/Shanghai works too)"
    )
    check = None
    if len(counts) > 1:
        check = (
            f"the timestamps carry {len(counts)} different UTC offsets ({', '.join(counts.index[:4])}), as "
            "summer time does: set timezone to your region's zone (e.g. Europe/London, America/New_York)."
        )
    elif zone == "UTC" and minutes:
        check = f"the timestamps are at UTC{common}: set timezone to your region's zone."
    return zone, why, check


def _parses(values: pd.Series, fmt: str) -> pd.Series:
    return pd.to_datetime(values, format=fmt, errors="coerce", utc=True)  # offsets may differ row to row


def guess_timestamp_formats(values: pd.Series) -> tuple[list[str], float]:
    """The formats the dates are written in, in the order to try them (a format wins each value it
    parses; the year must be after 1900), and the share of non-empty values they read. Day-first and
    month-first are told apart by values whose first or second number is above 12."""
    text = values.dropna().astype(str).str.strip()
    text = text[text != ""]
    if text.empty:
        return [], 0.0
    left = text.copy()
    chosen: list[str] = []
    ambiguous_us_eu = text.str.match(r"^\d{1,2}[/.-]\d{1,2}[/.-]")
    first_over_12 = text[ambiguous_us_eu].str.extract(r"^(\d{1,2})")[0].astype(float).gt(12).any()
    second_over_12 = (
        text[ambiguous_us_eu].str.extract(r"^\d{1,2}[/.-](\d{1,2})")[0].astype(float).gt(12).any()
    )
    candidates = [
        f for f in DATE_FORMATS
        if not ((f.startswith("%d/") or f.startswith("%d-")) and second_over_12 and not first_over_12)
        and not (f.startswith("%m/") and first_over_12)
    ]  # fmt: skip
    while not left.empty:
        best, best_hits = None, 0
        for fmt in candidates:
            if fmt in chosen:
                continue
            parsed = _parses(left, fmt)
            hits = int((parsed.notna() & (parsed.dt.year > 1900)).sum())
            if hits > best_hits:
                best, best_hits = fmt, hits
        if best is None:
            break
        chosen.append(best)
        parsed = _parses(left, best)
        left = left[~(parsed.notna() & (parsed.dt.year > 1900))]
    return chosen, 1 - len(left) / len(text)


def guess_decimal_separator(values: pd.Series) -> str:
    """``,`` when amounts are written with a decimal comma (15,30; 1.234,50), else ``.``: the comma wins
    when more amounts use it than a decimal point and at least :data:`DECIMAL_COMMA_SHARE` of all do (a
    file of whole numbers with one 12,50 among them keeps the point; that row is then rejected)."""
    text = values.dropna().astype(str).str.strip()
    comma = text.str.match(r"^-?[\d.]*\d,\d{1,2}$").sum()
    dot = text.str.match(r"^-?[\d,]*\d\.\d{1,2}$").sum()
    return "," if comma > dot and comma >= DECIMAL_COMMA_SHARE * len(text) else "."


DECIMAL_COMMA_SHARE = 0.2  # of the amounts, written with a decimal comma, before the comma is the separator


def guess_currency(values: pd.Series) -> tuple[str | None, int]:
    """The ISO code most rows of a currency column give (None when no value is one) and how many rows
    give another."""
    codes = values.dropna().astype(str).str.strip().str.upper()
    codes = codes[codes.str.fullmatch(r"[A-Z]{3}")]
    if codes.empty:
        return None, 0
    counts = codes.value_counts()
    best = sorted(counts.index[counts == counts.max()])[0]
    return best, int(len(values.dropna()) - counts[best])


# ----------------------------------------------------------------------------------- the guess


def inspect(name: str, source: Path, root: Path | None = None) -> Guess:
    """Everything new-dataset decides about a file source, with the reasons."""
    guess = Guess(name, source)
    fmt = EXTENSIONS.get(source.suffix.lower())
    if fmt is None:
        raise NewDatasetError(
            f"{source}: cannot tell the file's format from its name; use a .csv, .txt, .parquet or .xlsx "
            f"file."
        )
    options: dict = {"format": fmt}
    if fmt == "csv":
        options["encoding"], guess.notes["encoding"] = sniff_encoding(source)
        options["delimiter"], guess.notes["delimiter"] = sniff_delimited(source, options["encoding"])
        if options["delimiter"] == "whitespace":
            sample = read_sample(source, options["encoding"])
            lines = [line.split() for line in sample.splitlines() if line.strip()][:2]
        else:
            rows_read = records(source, options["encoding"], options["delimiter"], False)
            next(rows_read)  # the numbered column names
            lines = [fields for _, fields in itertools.islice(rows_read, 2) if fields]
        options["header"] = has_header(lines[0], lines[1] if len(lines) > 1 else None)
        guess.notes["header"] = (
            "the first row names the columns"
            if options["header"]
            else ("the first row holds data: the columns are numbered column0, column1, ...")
        )
    guess.options = options
    rows = read_rows(source, fmt, options)
    if rows.empty:
        raise NewDatasetError(f"{source}: has no data rows; export the data again.")
    mapping, price, identifiers = match_columns(list(rows.columns))
    guess.identifiers = identifiers
    for needed in ("customer_id", "order_ts"):
        if needed not in mapping:
            raise NewDatasetError(
                f"{source}: no column looks like the {needed.replace('_', ' ')} (columns: "
                f"{', '.join(rows.columns[:15])}); rename it, or write params/{name}/dataset.yaml by hand "
                "(README: 'Your own dataset by hand')."
            )
    if "amount" not in mapping:
        if price and "quantity" in mapping:
            mapping["amount"] = {"expression": f"`{mapping['quantity']}` * `{price}`"}
            guess.notes["amount"] = f"no amount column: {mapping['quantity']} x {price}"
        else:
            raise NewDatasetError(
                f"{source}: no column looks like the order amount, nor a quantity and a unit price to "
                f"compute it "
                f"from (columns: {', '.join(rows.columns[:15])}); add one or write the dataset.yaml by hand."
            )
    guess.columns = {c: mapping[c] for c in ["customer_id", "order_id", "order_ts", "amount", "quantity",
                                             "product_id", "category", "channel", "region", "currency"]
                     if c in mapping}  # fmt: skip
    if "order_id" not in mapping:
        guess.columns["order_id"] = None
        guess.cleaning["duplicates"] = "keep"
        guess.notes["duplicates"] = "no order id: two identical rows are two orders"
    used = {v for v in mapping.values() if isinstance(v, str)} | ({price} if price else set())
    guess.not_copied = [c for c in rows.columns if c not in used]
    formats, share = guess_timestamp_formats(rows[mapping["order_ts"]])
    if not formats:
        raise NewDatasetError(
            f"{source}: the values of {mapping['order_ts']} (e.g. "
            f"{rows[mapping['order_ts']].dropna().iloc[0]!r}) "
            "are in no known date format; set sources.transactions.timestamp_formats by hand."
        )
    options["timestamp_formats"] = formats
    guess.notes["timestamp_formats"] = f"read {100 * share:.1f}% of the sample's dates"
    guess.timezone, guess.notes["timezone"], zone_check = guess_timezone(rows[mapping["order_ts"]])
    if zone_check:
        guess.checks.append(zone_check)
    if share < 0.99:
        guess.checks.append(
            f"{100 * (1 - share):.1f}% of the sample's values of {mapping['order_ts']} fit no date format: "
            f"they "
            "will be rejected as unparseable."
        )
    day_first = [f for f in formats if f.startswith(("%d/", "%d.", "%d-"))]
    if day_first and not any(f.startswith("%m/") for f in formats):
        example = dt.datetime(2011, 12, 31, 9, 30).strftime(day_first[0])
        guess.checks.append(
            f"dates are read day first ({example} is 31 December); check that none was meant month first."
        )
    amount_column = mapping["amount"] if isinstance(mapping["amount"], str) else price
    if isinstance(mapping.get("currency"), str):
        code, others = guess_currency(rows[mapping["currency"]])
        if code:
            guess.currency = code
            guess.notes["currency"] = f"most rows of {mapping['currency']} say {code}"
            if others:
                guess.cleaning["currency"] = code
                guess.notes["cleaning.currency"] = f"{others:,} rows of the sample in another currency"
                guess.checks.append(
                    f"{others:,} rows of the sample give a currency other than {code} in "
                    f"{mapping['currency']}: they will be set aside as other_currency."
                )
    options["decimal_separator"] = guess_decimal_separator(rows[amount_column])
    if options["decimal_separator"] == ",":
        guess.notes["decimal_separator"] = "amounts are written with a decimal comma"
    order_ids = (
        rows[mapping["order_id"]].dropna().astype(str) if "order_id" in mapping else pd.Series(dtype=str)
    )
    cancelled = order_ids.str.match(r"^[Cc]\d")
    if cancelled.any():
        guess.cleaning["cancellation_prefix"] = "C"
        guess.notes["cancellation_prefix"] = (
            f"{int(cancelled.sum()):,} order ids of the sample start with C, as cancellations do"
        )
    missing = rows[mapping["customer_id"]].isna() | rows[mapping["customer_id"]].astype(str).str.strip().isin(
        ["", "nan", "NaN", "NA", "null", "NULL", "None"])  # fmt: skip
    if missing.mean() > 0.01:
        guess.checks.append(
            f"{100 * missing.mean():.0f}% of the sample's rows have no {mapping['customer_id']}: they will "
            f"be set "
            "aside as missing_customer_id (guest orders, for instance)."
        )
        if missing.mean() > 0.4:
            guess.cleaning["max_rejected_share"] = round(min(1.0, missing.mean() + 0.1), 2)
    return guess


# ----------------------------------------------------------------------------------- the files


def _yaml(value) -> str:
    """A scalar, list or mapping as YAML flow text (JSON is valid YAML)."""
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    return json.dumps(value, ensure_ascii=False)


def _comment(text: str | None) -> str:
    return f"   # {text}" if text else ""


def dataset_text(guess: Guess, source_setting: str, command: str) -> str:
    """The commented dataset.yaml for a guess."""
    options, notes = guess.options, guess.notes
    lines = [
        f"# Dataset {guess.name}, written by `{command}` on {dt.date.today()}.",
        "# Every value below was guessed from the file; the comments say why. Check them, then build:",
        f"#   python -m helpers run --dataset {guess.name} --all",
        f"title: {_yaml(guess.name)}",
        f"default_period: {_yaml(guess.months[-1])}{_comment('the last month of the data')}",
        f"timezone: {guess.timezone}   # {guess.notes.get('timezone', '')}; timestamps without an offset are "
        "read in it",
        f"currency: {guess.currency}   # {notes['currency']}; the report writes it"
        if guess.currency
        else "currency: USD   # check: the ISO code of the amounts (GBP, EUR, CNY, ...); the report "
        "writes it",
        "sources:",
        "  transactions:",
        f"    format: {options['format']}",
        f"    path: {_yaml(source_setting)}",
    ]
    for key in ("delimiter", "encoding", "header"):
        if key in options:
            lines.append(f"    {key}: {_yaml(options[key])}{_comment(notes.get(key))}")
    lines.append("    columns:   # canonical name: the source's column (matched by its name)")
    for canonical, column in guess.columns.items():
        note = (
            notes.get(canonical)
            if canonical == "amount"
            else ("none: every row is an order" if column is None else None)
        )
        lines.append(f"      {canonical}: {_yaml(column)}{_comment(note)}")
    lines.append(
        f"    timestamp_formats: "
        f"{_yaml(options['timestamp_formats'])}{_comment(notes.get('timestamp_formats'))}"
    )
    lines.append(
        f"    decimal_separator: "
        f"{_yaml(options['decimal_separator'])}{_comment(notes.get('decimal_separator'))}"
    )
    lines.append(
        f"    identifier_columns: {_yaml(guess.identifiers)}   # look like names, e-mails, phones, "
        f"addresses: never copied"
    )
    if guess.cleaning:
        lines.append("cleaning:")
        for key, value in guess.cleaning.items():
            lines.append(f"  {key}: {_yaml(value)}{_comment(notes.get(key))}")
    return "\n".join(lines) + "\n"


def data_months(name: str, root: Path | None = None) -> list[str]:
    """The calendar months (YYYY-MM) from the first to the last parseable order date of the dataset's
    source, read through the engine with the params written (the whole file, not a sample)."""
    from helpers import engine
    from helpers.cleaning import ISO_FORMATS
    from helpers.engine import strip_blanks, try_parse_timestamp
    from helpers.ingest import read_source

    source = _source_settings(name, root)
    zone = _dataset_setting(name, "timezone", root) or "UTC"
    con = engine.connect()
    table = read_source(con, source, "transactions", root, needed=source.columns.source_columns()).table
    column = source.columns.order_ts
    formats = list(dict.fromkeys([*source.timestamp_formats, *ISO_FORMATS]))
    parsed = table.select(
        ts=try_parse_timestamp(strip_blanks(table[column].cast("string")), formats, timezone=zone)
    )  # months in the dataset's time zone, as the periods will count them
    bounds = parsed.agg(first=parsed.ts.min(), last=parsed.ts.max()).execute().iloc[0]
    if pd.isna(bounds["first"]):
        raise NewDatasetError(f"{source.path}: no value of {column} is a date in the guessed formats.")
    first, last = pd.Timestamp(bounds["first"]), pd.Timestamp(bounds["last"])
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _dataset_setting(name: str, key: str, root: Path | None):
    import yaml

    return (yaml.safe_load(dataset_file(name, root).read_text(encoding="utf-8")) or {}).get(key)


def _source_settings(name: str, root: Path | None):
    """The transactions source of a dataset.yaml as the params model reads it (periods not yet written)."""
    import yaml

    from helpers.config import TransactionSource

    data = yaml.safe_load(dataset_file(name, root).read_text(encoding="utf-8"))
    return TransactionSource.model_validate(data["sources"]["transactions"])


def create(name: str, source: str, root: Path | None = None, overwrite: bool = False) -> Guess:
    """Inspect ``source`` (a file path, absolute or relative to the project), write the dataset's
    params (dataset.yaml and one period file per month of the data), validate them, and return what
    was guessed. Files of an existing dataset are only replaced with ``overwrite``."""
    root = root or paths.project_root()
    if not DATASET_NAME.match(name):
        raise NewDatasetError(f"'{name}' is not a dataset name ({DATASET_NAME_RULE}).")
    folder = paths.dataset_params_dir(name, root)
    if folder.exists() and any(folder.iterdir()) and not overwrite:
        raise NewDatasetError(
            f"{folder}: already exists; pass --overwrite to replace its files, or pick another name."
        )
    path = paths.resolve(source, root)
    if not path.is_file():
        raise NewDatasetError(
            f"{source}: file not found; give the path of the export (e.g. data/raw/{name}/orders.csv)."
        )
    if path.stat().st_size == 0:
        raise NewDatasetError(f"{source}: the file is empty (0 bytes); export the data again.")
    guess = inspect(name, path, root)
    try:
        setting = str(path.relative_to(root))
    except ValueError:
        setting = str(path)
    folder.mkdir(parents=True, exist_ok=True)
    if overwrite:
        for old in folder.glob("*.yaml"):
            old.unlink()
    command = f"python -m helpers new-dataset {name} --source {source}"
    guess.months = ["0000-01"]  # written once without periods to read the dates through the engine
    dataset_file(name, root).write_text(dataset_text(guess, setting, command), encoding="utf-8")
    try:
        guess.months = data_months(name, root)
    except Exception:
        dataset_file(name, root).unlink()
        raise
    dataset_file(name, root).write_text(dataset_text(guess, setting, command), encoding="utf-8")
    guess.written = [dataset_file(name, root)]
    for month in guess.months:
        year, number = (int(x) for x in month.split("-"))
        start, end = dt.date(year, number, 1), dt.date(year, number, calendar.monthrange(year, number)[1])
        period_file(name, month, root).write_text(period_text(month, start, end), encoding="utf-8")
        guess.written.append(period_file(name, month, root))
    from helpers.checks import check_period

    for month in list_periods(name, root):
        check_period(load_params(name, month, root), root)
    return guess


def summary(guess: Guess) -> list[str]:
    """What new-dataset prints: the files, the guesses with their reasons, and what to check."""
    o = guess.options
    months = f"{guess.months[0]} to {guess.months[-1]}; the default is {guess.months[-1]}"
    written = guess.written[0]
    shown = (
        written.relative_to(written.parents[2]) if len(written.parents) > 2 else written
    )  # params/<name>/...
    lines = [f"Wrote {shown} and {len(guess.months)} period files ({months})."]
    if o["format"] == "csv":
        shown = {"\t": "tab"}.get(o["delimiter"], o["delimiter"])
        header = "with" if o["header"] else "without"
        lines.append(
            f"Read as {o['encoding']} text, columns separated by {shown!r} ({guess.notes['delimiter']}), "
            f"{header} a header row."
        )
    for canonical, column in guess.columns.items():
        shown = f"= {column['expression']}" if isinstance(column, dict) else (column or "(none)")
        lines.append(f"  {canonical:<12} <- {shown}")
    lines.append(
        f"Dates: {', '.join(o['timestamp_formats'])} ({guess.notes['timestamp_formats']}); "
        f"decimal separator {o['decimal_separator']!r}."
    )
    lines.append(f"Time zone: {guess.timezone} ({guess.notes['timezone']}).")
    if guess.cleaning.get("cancellation_prefix"):
        lines.append(f"Cancellations: {guess.notes['cancellation_prefix']}.")
    if guess.identifiers:
        lines.append(f"Never copied (look like direct identifiers): {', '.join(guess.identifiers)}.")
    others = [c for c in guess.not_copied if c not in guess.identifiers]
    if others:
        lines.append(f"Not used: {', '.join(others)}.")
    lines += [f"Check: {check}" for check in guess.checks]
    lines.append(f"Validated. Build every month with: python -m helpers run --dataset {guess.name} --all")
    return lines
