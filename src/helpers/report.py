"""Stage 07: the numbers behind the stakeholder page: headline KPIs of the period and their change
from the previous period, sentences written from those numbers, segment migration between periods,
and the CSV/XLSX exports with their data dictionary."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pandas as pd

NEW_ROW = "(new customer)"
GONE_COLUMN = "(not in this period)"


def period_kpis(transactions: ir.Table, period_start: dt.date, period_end: dt.date) -> dict[str, float]:
    """Headline numbers of one period from the clean transactions (history up to the period end).

    active customers bought in the window; new ones made their first purchase in it; revenue is net
    of returns; average order value is purchases only; the repeat-purchase rate is the share of all
    customers to date with two or more orders.
    """
    start = dt.datetime.combine(period_start, dt.time())
    end = dt.datetime.combine(period_end + dt.timedelta(days=1), dt.time())
    t = transactions
    purchases = t.filter(~t.is_return)
    first = purchases.group_by("customer_id").agg(first_ts=purchases.order_ts.min(),
                                                  orders=purchases.order_id.nunique())
    window = t.filter((t.order_ts >= start) & (t.order_ts < end))
    bought = window.filter(~window.is_return)
    active = bought.select("customer_id").distinct().join(first, "customer_id")
    totals = window.agg(revenue=window.amount.sum()).execute().iloc[0]
    sales = bought.agg(orders=bought.order_id.nunique(), gross=bought.amount.sum()).execute().iloc[0]
    people = active.agg(active=active.count(), new=(active.first_ts >= start).sum()).execute().iloc[0]
    history = first.agg(customers=first.count(), repeaters=(first.orders >= 2).sum()).execute().iloc[0]
    orders = int(sales["orders"] or 0)
    active_n, new_n = int(people["active"] or 0), int(people["new"] or 0)
    return {
        "active_customers": active_n,
        "new_customers": new_n,
        "returning_customers": active_n - new_n,
        "revenue": float(totals["revenue"] or 0.0),
        "orders": orders,
        "avg_order_value": float(sales["gross"]) / orders if orders else float("nan"),
        "repeat_purchase_rate": (float(history["repeaters"]) / int(history["customers"])
                                 if int(history["customers"] or 0) else float("nan")),
        "customers_to_date": int(history["customers"] or 0),
    }


KPI_LABELS = {
    "active_customers": ("Active customers", "count"),
    "new_customers": ("New customers", "count"),
    "returning_customers": ("Returning customers", "count"),
    "revenue": ("Revenue", "money"),
    "orders": ("Orders", "count"),
    "avg_order_value": ("Average order value", "money"),
    "repeat_purchase_rate": ("Repeat-purchase rate", "share"),
    "customers_at_risk": ("Customers at risk", "count"),
    "expected_clv": ("Total expected CLV", "money"),
}


def format_value(value: float | None, kind: str, currency: str = "$") -> str:
    """A number as a reader wants it: 12,345 / $1,234.56 / 23.4%; 'n/a' when unknown."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if kind == "money":
        return f"{currency}{value:,.0f}" if abs(value) >= 1000 else f"{currency}{value:,.2f}"
    if kind == "share":
        return f"{100 * value:.1f}%"
    return f"{value:,.0f}"


def describe_change(label: str, current: float | None, previous: float | None, kind: str,
                    previous_label: str | None, currency: str = "$") -> str:
    """One sentence from the numbers, e.g. "Revenue rose 12.0% to $1,234 (from $1,102 in 1998-05)."."""
    now = format_value(current, kind, currency)
    if previous_label is None:
        return f"{label}: {now} (no previous period to compare with)."
    if previous is None or current is None or (isinstance(previous, float) and math.isnan(previous)):
        return f"{label}: {now} (not available for {previous_label})."
    before = format_value(previous, kind, currency)
    if current == previous:
        return f"{label} was unchanged at {now} (as in {previous_label})."
    direction = "rose" if current > previous else "fell"
    if kind == "share":
        points = 100 * (current - previous)
        return f"{label} {direction} {abs(points):.1f} points to {now} (from {before} in {previous_label})."
    if previous == 0:
        return f"{label} {direction} to {now} (from {before} in {previous_label})."
    change = 100 * (current - previous) / abs(previous)
    return f"{label} {direction} {abs(change):.1f}% to {now} (from {before} in {previous_label})."


def kpi_table(current: dict[str, float], previous: dict[str, float] | None, previous_label: str | None,
              currency: str = "$") -> pd.DataFrame:
    """Every headline KPI with its value, the previous period's, the change and the sentence."""
    rows = []
    for key, (label, kind) in KPI_LABELS.items():
        if key not in current:
            continue
        now = current[key]
        before = previous.get(key) if previous else None
        change = (now - before) / abs(before) if before not in (None, 0) and now is not None \
            and not (isinstance(before, float) and math.isnan(before)) else None
        rows.append({"kpi": label, "value": format_value(now, kind, currency),
                     "previous": format_value(before, kind, currency) if previous else "n/a",
                     "change_%": None if change is None or kind == "share" else round(100 * change, 1),
                     "sentence": describe_change(label, now, before, kind, previous_label, currency)})
    return pd.DataFrame(rows)


def segment_migration(previous: pd.DataFrame | None, current: pd.DataFrame, segment_order: list[str]) -> pd.DataFrame:
    """Customers by previous segment (rows) and current segment (columns). Customers new this period
    form the row "(new customer)"; customers of the previous period missing now (their orders were
    removed from the data) form the column "(not in this period)"."""
    current = current[["customer_id", "segment"]]
    if previous is None:
        previous = pd.DataFrame({"customer_id": pd.Series(dtype=object), "segment": pd.Series(dtype=object)})
    merged = previous[["customer_id", "segment"]].merge(current, on="customer_id", how="outer",
                                                          suffixes=("_before", "_now"))
    merged["segment_before"] = merged["segment_before"].fillna(NEW_ROW)
    merged["segment_now"] = merged["segment_now"].fillna(GONE_COLUMN)
    table = pd.crosstab(merged["segment_before"], merged["segment_now"])
    rows = [s for s in segment_order if s in table.index] + ([NEW_ROW] if NEW_ROW in table.index else [])
    columns = [s for s in segment_order if s in table.columns] + ([GONE_COLUMN] if GONE_COLUMN in table.columns else [])
    return table.reindex(index=rows, columns=columns, fill_value=0)


def biggest_moves(migration: pd.DataFrame, how_many: int = 3) -> list[str]:
    """Sentences for the largest flows between two different segments ("412 Champions became At Risk.")."""
    flows = []
    for before in migration.index:
        for now in migration.columns:
            count = int(migration.loc[before, now])
            if count and before != now and before != NEW_ROW and now != GONE_COLUMN:
                flows.append((count, before, now))
    flows.sort(key=lambda f: (-f[0], f[1], f[2]))
    return [f"{count:,} {before} customers became {now}." for count, before, now in flows[:how_many]]


def write_exports(tables: dict[str, pd.DataFrame], folder: Path, xlsx: bool = True) -> list[Path]:
    """Each table as CSV (UTF-8, no index) and, if asked, as XLSX, for a CRM or an e-mail tool."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in tables.items():
        path = folder / f"{name}.csv"
        table.to_csv(path, index=False)
        written.append(path)
        if xlsx:
            book = folder / f"{name}.xlsx"
            table.to_excel(book, index=False, sheet_name=name[:31])
            written.append(book)
    return written


def data_dictionary(tables: dict[str, pd.DataFrame], descriptions: dict[str, str]) -> pd.DataFrame:
    """Every column of every export with its type and meaning; a column without a description is an error."""
    rows = []
    for name, table in tables.items():
        for column in table.columns:
            if column not in descriptions:
                raise KeyError(f"export '{name}' has column '{column}' without a description; add it to "
                               "COLUMN_DESCRIPTIONS in helpers/report.py.")
            rows.append({"file": f"{name}.csv", "column": column, "type": str(table[column].dtype),
                         "description": descriptions[column]})
    return pd.DataFrame(rows)
