"""Inputs that carry direct identifiers, for the privacy tests: the tiny CDNOW orders with distinctive
ids (``CUST-000123``, which a byte scan cannot find by chance inside another number) and four
identifier columns, and a customers file with the same identifiers, two harmless attributes and a
marketing opt-in (mapped only where a test asks for it)."""

from __future__ import annotations

from pathlib import Path

from conftest import DATASET

FIRST_NAMES = ["Alice", "Bruno", "Chiara", "Dmitri", "Elif", "Farah", "Goran", "Hana"]


def person(n: int) -> dict[str, str]:
    first = FIRST_NAMES[n % len(FIRST_NAMES)]
    return {
        "name": f"{first} Quillfeather{n:03d}",
        "email": f"{first.lower()}.quillfeather{n:03d}@probe.example",
        "phone": f"+44 7700 9{n:05d}",
        "address": f"{n} Quokka Lane, Probeton PB{n:03d} 7QX",
    }


def customer_id(n: int) -> str:
    return f"CUST-{n:06d}"


def opt_in(n: int) -> str:
    """The customer's answer to marketing: a yes in two spellings, a no, or nothing recorded."""
    if n % 4 == 0:
        return "no"
    if n % 6 == 3:
        return ""
    return "Yes" if n % 2 else "TRUE"


def write_inputs(root: Path) -> tuple[list[str], list[str]]:
    """The tiny CDNOW orders with distinctive ids and four identifier columns, and a customers file
    with the same identifiers and two harmless attributes; returns (identifier values, ids)."""
    raw = root / "data" / "raw" / DATASET
    rows = [
        line.split() for line in (raw / "cdnow_transactions.txt").read_text().splitlines()[1:] if line.strip()
    ]
    numbers = sorted({int(r[0]) for r in rows})
    lines = ["customer,date,number_of_cds,dollar_value,name,email,phone,address"]
    for cid, day, cds, dollars in rows:
        p = person(int(cid))
        lines.append(
            f'{customer_id(int(cid))},{day},{cds},{dollars},{p["name"]},{p["email"]},{p["phone"]},"{p["address"]}"'
        )
    (raw / "orders_with_identifiers.csv").write_text("\n".join(lines) + "\n")
    customers = ["customer_id,full_name,email,phone,street_address,country,loyalty_tier,marketing_opt_in"]
    for n in numbers:
        p = person(n)
        customers.append(
            f'{customer_id(n)},{p["name"]},{p["email"]},{p["phone"]},"{p["address"]}",'
            f"{'Freedonia' if n % 2 else 'Sylvania'},{'gold' if n % 3 == 0 else 'silver'},{opt_in(n)}"
        )
    (raw / "customers_with_identifiers.csv").write_text("\n".join(customers) + "\n")
    identifiers = sorted({value for n in numbers for value in person(n).values()})
    return identifiers, [customer_id(n) for n in numbers]


SOURCES = """sources:
  transactions:
    format: csv
    path: data/raw/cdnow/orders_with_identifiers.csv
    delimiter: ","
    columns: {customer_id: customer, order_ts: date, amount: dollar_value, quantity: number_of_cds}
    identifier_columns: [name, email, phone, address]
  customers:
    format: csv
    path: data/raw/cdnow/customers_with_identifiers.csv
    columns: {customer_id: customer_id}
    attributes: {country: country, loyalty_tier: loyalty_tier}
    identifier_columns: [full_name, email, phone, street_address]
"""
