"""Numbers as a reader wants them, in the report's language and the dataset's currency: counts with
thousands separators, money with the currency's symbol, shares in percent, days, dates, and the
wording of every change between two periods (a previous value of 0, a missing one and an unknown
current one included), so that "nan%" can never reach a page, a headline or the reports index."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

# ISO 4217 code -> (symbol in English text, symbol in Chinese text). Any other code is written before
# the amount ("CHF 1,234"). The symbols never carry letters where the page's lists sort by them.
CURRENCY_SYMBOLS: dict[str, tuple[str, str]] = {
    "USD": ("$", "US$"),
    "EUR": ("€", "€"),
    "GBP": ("£", "£"),
    "CNY": ("CN¥", "¥"),
    "JPY": ("JP¥", "JP¥"),
    "HKD": ("HK$", "HK$"),
    "TWD": ("NT$", "NT$"),
    "CAD": ("CA$", "CA$"),
    "AUD": ("A$", "A$"),
    "INR": ("₹", "₹"),
    "KRW": ("₩", "₩"),
}
MISSING = "–"  # a value that is not known (no comparison, no model, no customer)
KINDS = ("count", "money", "share", "days", "number", "score", "probability", "delta", "signed")


def is_missing(value: object) -> bool:
    """None, NaN and pandas' NA are all 'not known'."""
    if value is None:
        return True
    try:
        return bool(math.isnan(value))  # type: ignore[arg-type]
    except TypeError:
        return str(value) in ("<NA>", "NaT")


def currency_symbol(currency: str, language: str = "en") -> str:
    """The symbol written before an amount ("$", "US$", "£"); unknown codes as "CHF "."""
    symbols = CURRENCY_SYMBOLS.get(currency)
    if symbols is None:
        return f"{currency} "
    return symbols[1] if language == "zh" else symbols[0]


# ISO 4217 currencies without a minor unit: their amounts never show decimals (JP¥980, not JP¥980.00).
ZERO_DECIMAL_CURRENCIES = frozenset(
    "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split()
)


def money(value: object, currency: str = "USD", language: str = "en", decimals: int | None = None) -> str:
    """An amount with its currency: $1,234 from a thousand up, $12.34 below (or ``decimals``); whole
    units always for a currency without a minor unit (JPY, KRW, ...)."""
    if is_missing(value):
        return MISSING
    amount = float(value)  # type: ignore[arg-type]
    places = decimals if decimals is not None else (0 if abs(amount) >= 1000 else 2)
    if currency in ZERO_DECIMAL_CURRENCIES:
        places = 0
    text = f"{currency_symbol(currency, language)}{abs(amount):,.{places}f}"
    return f"-{text}" if amount < 0 and round(abs(amount), places) else text


def count(value: object) -> str:
    """A whole number with thousands separators."""
    return MISSING if is_missing(value) else f"{float(value):,.0f}"  # type: ignore[arg-type]


def share(value: object, decimals: int = 1) -> str:
    """A share 0-1 as a percentage, e.g. 0.496 -> 49.6%."""
    return MISSING if is_missing(value) else f"{100 * float(value):.{decimals}f}%"  # type: ignore[arg-type]


def days(value: object, language: str = "en") -> str:
    """A number of days, e.g. "80 days" / "80 天"."""
    if is_missing(value):
        return MISSING
    number = f"{float(value):,.0f}"  # type: ignore[arg-type]
    if language == "zh":
        return f"{number} 天"
    return f"{number} day" if number == "1" else f"{number} days"


def number(value: object, decimals: int = 1) -> str:
    """A plain number with thousands separators and ``decimals`` places (none for a whole number)."""
    if is_missing(value):
        return MISSING
    amount = float(value)  # type: ignore[arg-type]
    return f"{amount:,.0f}" if amount.is_integer() else f"{amount:,.{decimals}f}"


def delta(value: object) -> str:
    """A change in a count with its sign: +136, -88, 0."""
    if is_missing(value):
        return MISSING
    amount = float(value)  # type: ignore[arg-type]
    return f"{amount:+,.0f}" if amount else "0"


def value(value: object, kind: str, currency: str = "USD", language: str = "en") -> str:
    """Any figure by its kind: count, money, share (0-1), days, number (1 place), score (0-100, one
    place), probability (0-1 as a percentage), delta (a change in a count, with its sign) or signed (a
    figure from -100 to +100 such as an NPS: its sign and always one place, so a column lines up)."""
    if kind == "money":
        return money(value, currency, language)
    if kind in ("share", "probability"):
        return share(value)
    if kind == "days":
        return days(value, language)
    if kind in ("number", "score"):
        return number(value)
    if kind == "count":
        return count(value)
    if kind == "delta":
        return delta(value)
    if kind == "signed":
        return MISSING if is_missing(value) else f"{float(value):+.1f}"  # type: ignore[arg-type]
    raise ValueError(f"unknown kind of figure {kind!r}; use one of {', '.join(KINDS)}")


MONTHS_EN = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def date(day: dt.date, language: str = "en") -> str:
    """A day as a reader writes it: 1 June 1998 / 1998年6月1日."""
    if language == "zh":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {MONTHS_EN[day.month - 1]} {day.year}"


# --------------------------------------------------------------------------------- changes

CHANGE_WORDS = {  # the words of a change that is not a number
    "en": {"from_zero": "up from 0", "same": "no change", "points": "pts"},
    "zh": {"from_zero": "从 0 增加", "same": "持平", "points": "个百分点"},
}


@dataclass(frozen=True)
class Change:
    """How a figure moved since the compared period: ``text`` as the page shows it ("+7.2%",
    "-3.6%", "+0.4 pts", "new", "no change", "–") and ``direction`` (+1 up, -1 down, 0 unchanged,
    None unknown)."""

    text: str
    direction: int | None


def change(current: object, previous: object, kind: str, language: str = "en") -> Change:
    """The change of a figure from ``previous`` to ``current``.

    - either value unknown (no compared period, no model, a rate without customers): "–";
    - equal: "no change";
    - a share (0-1): the difference in percentage points, "+0.4 pts";
    - from 0 to anything else: "up from 0" (a percentage of nothing is not a number; not "new", which
      is a customer status);
    - otherwise the relative change with its sign, one decimal: "+7.2%", "-3.6%" ("+0.0%" when it rounds
      to nothing but is not nothing).
    """
    words = CHANGE_WORDS[language]
    if is_missing(current) or is_missing(previous):
        return Change(MISSING, None)
    now, before = float(current), float(previous)  # type: ignore[arg-type]
    if now == before:
        return Change(words["same"], 0)
    direction = 1 if now > before else -1
    if kind in ("share", "probability"):
        points = 100 * (now - before)
        return Change(f"{points:+.1f} {words['points']}", direction)
    if before == 0:
        return Change(words["from_zero"], direction)
    relative = 100 * (now - before) / abs(before)
    text = f"{relative:+.1f}%"
    if text in ("+0.0%", "-0.0%"):
        text = "+0.0%" if direction > 0 else "-0.0%"
    return Change(text, direction)
