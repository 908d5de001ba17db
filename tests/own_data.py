"""Awkward order exports of the kind users bring, generated deterministically for the tests of
new-dataset and of whole runs on them: the widely used retail layout (US dates in two formats, C
cancellations, ids written as floats, a quarter of the rows without a customer, a broken quoted line),
ISO timestamps with UTC offsets, a Latin-1 semicolon file with day-first dates and decimal commas, and
a shop with a month in which nobody ordered.
Each generator returns the rows it wrote as a frame, the oracle the tests compute their answers from."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pandas as pd

RETAIL_HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
PRODUCTS = [
    ("85123A", "WHITE HANGING HEART T-LIGHT HOLDER", 2.55),
    ("71053", "WHITE METAL LANTERN", 3.39),
    ("84406B", "CREAM CUPID HEARTS COAT HANGER", 2.75),
    ("22633", "HAND WARMER UNION JACK", 1.85),
    ("21730", "GLASS STAR FROSTED T-LIGHT HOLDER", 4.25),
    ("22752", "SET 7 BABUSHKA NESTING BOXES", 7.65),
]
COUNTRIES = ["United Kingdom", "France", "Germany", "EIRE"]


def _us_date(moment: dt.datetime, two_digit_year: bool) -> str:
    """12/1/2010 8:26 or 12/1/10 8:26, as the retail export writes them (no leading zeros)."""
    year = moment.strftime("%y") if two_digit_year else str(moment.year)
    return f"{moment.month}/{moment.day}/{year} {moment.hour}:{moment.minute:02d}"


def write_retail(path: Path, seed: int = 7, customers: int = 120) -> pd.DataFrame:
    """Five months (August to December 2011) of invoices in the retail layout. Returns one row per data
    line: invoice, customer ('' when missing), when, quantity, unit price, amount, and ``kind`` (order,
    cancellation, no_customer, broken)."""
    rng = random.Random(seed)
    lines, oracle = [RETAIL_HEADER], []
    invoice = 560000
    start = dt.datetime(2011, 8, 1, 8, 0)
    for number in range(customers):
        customer = 12346 + number
        visits = 1 + (number % 4) + (rng.random() < 0.2) * 3
        for _ in range(visits):
            invoice += 1
            moment = start + dt.timedelta(days=rng.randrange(0, 153), minutes=rng.randrange(0, 600))
            for code, description, price in rng.sample(PRODUCTS, rng.randint(1, 3)):
                quantity = rng.choice([1, 2, 3, 6, 12])
                when = _us_date(moment, two_digit_year=rng.random() < 0.3)
                country = COUNTRIES[number % 4]
                lines.append(
                    f'{invoice},{code},"{description}",{quantity},{when},{price},{customer}.0,{country}'
                )
                amount = round(quantity * price, 2)
                oracle.append((str(invoice), str(customer), moment, quantity, price, amount, "order"))
        if number % 10 == 3:  # a cancellation of an earlier purchase: a C invoice with a negative quantity
            invoice += 1
            moment = start + dt.timedelta(days=rng.randrange(0, 153))
            code, description, price = PRODUCTS[number % len(PRODUCTS)]
            when, country = _us_date(moment, False), COUNTRIES[number % 4]
            lines.append(f'C{invoice},{code},"{description}",-1,{when},{price},{customer}.0,{country}')
            oracle.append((f"C{invoice}", str(customer), moment, -1, price, -price, "cancellation"))
    # A customer whose only row is a return (the purchase came before the data begins).
    invoice += 1
    lines.append(f'C{invoice},22752,"SET 7 BABUSHKA NESTING BOXES",-1,10/3/2011 11:00,7.65,18999.0,France')
    oracle.append((f"C{invoice}", "18999", dt.datetime(2011, 10, 3, 11), -1, 7.65, -7.65, "cancellation"))
    guests = len(oracle) // 3  # about a quarter of the rows come without a customer id
    for _ in range(guests):
        invoice += 1
        moment = start + dt.timedelta(days=rng.randrange(0, 153), minutes=rng.randrange(0, 600))
        code, description, price = rng.choice(PRODUCTS)
        lines.append(f'{invoice},{code},"{description}",2,{_us_date(moment, False)},{price},,United Kingdom')
        oracle.append((str(invoice), "", moment, 2, price, round(2 * price, 2), "no_customer"))
    # A quote that never closes: the line is malformed (its text, customer 99999 included, is never kept).
    lines.append('569999,22752,"SET 7 BABUSHKA NESTING BOXES,6,12/5/2011 9:00,7.65,99999.0,France')
    oracle.append(("569999", "99999", dt.datetime(2011, 12, 5, 9), 6, 7.65, 45.9, "broken"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return pd.DataFrame(
        oracle, columns=["invoice", "customer", "moment", "quantity", "price", "amount", "kind"]
    )


def write_offsets(path: Path, seed: int = 11, customers: int = 80) -> pd.DataFrame:
    """Orders with ISO timestamps carrying UTC offsets (+01:00, -05:00, Z) over four months of 2011.
    ``utc`` in the oracle is each order's instant in UTC."""
    rng = random.Random(seed)
    lines, oracle = ["order_id,customer_id,created_at,total"], []
    offsets = ["+01:00", "-05:00", "Z", "+08:00"]
    for number in range(customers):
        for visit in range(1 + number % 3):
            utc = dt.datetime(2011, 9, 1) + dt.timedelta(hours=rng.randrange(0, 24 * 120))
            offset = offsets[(number + visit) % 4]
            hours = {"+01:00": 1, "-05:00": -5, "Z": 0, "+08:00": 8}[offset]
            local = utc + dt.timedelta(hours=hours)
            amount = round(rng.uniform(5, 200), 2)
            lines.append(f"{number}-{visit},C{number:04d},{local:%Y-%m-%dT%H:%M:%S}{offset},{amount}")
            oracle.append((f"{number}-{visit}", f"C{number:04d}", utc, amount))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return pd.DataFrame(oracle, columns=["order", "customer", "utc", "amount"])


def write_latin1_semicolons(path: Path, seed: int = 5, customers: int = 90) -> pd.DataFrame:
    """A Latin-1 export with ';' between columns, day-first dates (31.12.2011), decimal commas
    (1.234,50), and a name column that must never be copied."""
    rng = random.Random(seed)
    names = ["Zoë Müller", "François Gérard", "Jürgen Weiß", "Amélie Dupré"]
    lines, oracle = ["Order No;Customer No;Name;Order Date;Amount"], []
    for number in range(customers):
        for visit in range(1 + number % 3):
            day = dt.date(2011, 9, 1) + dt.timedelta(days=rng.randrange(0, 120))
            amount = round(rng.uniform(5, 2500), 2)
            written = f"{amount:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
            lines.append(f"B{number}{visit};K{number:03d};{names[number % 4]};{day:%d.%m.%Y};{written}")
            oracle.append((f"B{number}{visit}", f"K{number:03d}", day, amount))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    return pd.DataFrame(oracle, columns=["order", "customer", "day", "amount"])


def write_quiet_month(path: Path, seed: int = 3, customers: int = 40) -> pd.DataFrame:
    """Orders in January, February and April 2024 and none in March (a shop closed for a month)."""
    rng = random.Random(seed)
    lines, oracle = ["order_id,customer_id,order_date,amount"], []
    for month in (1, 2, 4):
        for number in range(60):
            customer = f"c{rng.randrange(customers)}"
            day = dt.date(2024, month, rng.randrange(1, 29))
            amount = rng.randrange(5, 90) + 0.5
            lines.append(f"o{month}-{number},{customer},{day.isoformat()},{amount}")
            oracle.append((f"o{month}-{number}", customer, day, amount))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return pd.DataFrame(oracle, columns=["order", "customer", "day", "amount"])
