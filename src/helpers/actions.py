"""Action lists for the next period, each with a hold-out group that is never contacted, so that the next
period's page can measure whether acting on the list worked (helpers.effects).

A list is a built-in rule (the churn warning, a birthday or an anniversary in the next period, valuable
customers not contacted for a while) and/or a filter over the scored customers (helpers.filters), as
``actions.lists`` in params say. Who is held out is decided per customer by a keyed hash of the seed and
the customer id, not by drawing from the list: the same customer is held out on rerun, in every list and
in every period, so a customer held out of one list is never contacted through another, and a list's
hold-out of one period is not contacted in the next while its effect is measured.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib

import numpy as np
import pandas as pd

from helpers import formats, labels
from helpers.config import ActionListConfig, ActionsConfig
from helpers.filters import apply_filter, check_filter, column_kinds

GROUPS = ("contact", "hold out")  # the group column's values
PRODUCT_COLUMNS = ["list", "customer_id", "group", "occasion_date", "offer", "offer_name"]


def holdout_draw(customer_ids: pd.Series, seed: int) -> np.ndarray:
    """A number in [0, 1) per customer, from a keyed hash (SipHash, keyed by the seed) of the customer id:
    the same id always draws the same number, whatever the list, the period or the other customers."""
    key = hashlib.sha256(f"holdout:{seed}".encode()).hexdigest()[:16]
    ids = pd.Series(customer_ids.astype(str).to_numpy(), dtype=object)
    hashed = pd.util.hash_pandas_object(ids, index=False, hash_key=key).to_numpy(dtype=np.uint64)
    return (hashed >> np.uint64(11)).astype(np.float64) / float(2**53)


def is_held_out(customer_ids: pd.Series, control_share: float, seed: int) -> np.ndarray:
    """Whether each customer is in the hold-out (a share ``control_share`` of all customers)."""
    if control_share <= 0 or len(customer_ids) == 0:
        return np.zeros(len(customer_ids), dtype=bool)
    return holdout_draw(customer_ids, seed) < control_share


def next_period(period_start: dt.date, period_end: dt.date) -> tuple[dt.date, dt.date]:
    """The period the lists are for: the next calendar month after a calendar month, else as many days
    as this period, starting the day after it."""
    after = period_end + dt.timedelta(days=1)
    whole_month = period_start.day == 1 and after.day == 1 and (after - period_start).days <= 31
    if whole_month:
        last = calendar.monthrange(after.year, after.month)[1]
        return after, after.replace(day=last)
    return after, after + (period_end - period_start)


def occasion_in(dates: pd.Series, start: dt.date, end: dt.date) -> pd.Series:
    """The day in ``start``..``end`` that has each date's month and day (its birthday or anniversary
    there; 29 February falls on 28 February in other years), or NaT. Only years after the date's own."""
    when = pd.to_datetime(dates, errors="coerce")
    found = pd.Series(pd.NaT, index=dates.index, dtype="datetime64[ns]")
    for year in range(start.year, end.year + 1):
        leap = calendar.isleap(year)
        day = when.dt.day.where(~((when.dt.month == 2) & (when.dt.day == 29)) | leap, 28)
        candidate = pd.to_datetime(
            pd.DataFrame({"year": year, "month": when.dt.month, "day": day}), errors="coerce"
        )
        inside = (candidate >= pd.Timestamp(start)) & (candidate <= pd.Timestamp(end)) & (when.dt.year < year)
        found = found.where(~inside | found.notna(), candidate)
    return found


def rule_members(
    rule: str,
    scored: pd.DataFrame,
    churn_statuses: list[str],
    customers: pd.DataFrame | None,
    interactions: pd.DataFrame | None,
    window: tuple[dt.date, dt.date],
    as_of: dt.date,
    contact_gap_days: int,
    next_best: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame | None, str]:
    """The customers a built-in rule puts on a list (``customer_id``, ``occasion_date`` and, for
    next_best_product, ``offer``: the product to offer), or None and why the dataset cannot have this
    list (``no_birth_dates``, ``no_interactions``, ``no_basket_rules``: its data is not there)."""
    if rule == "next_best_product":
        if next_best is None or next_best.empty:
            return None, "no_basket_rules"
        offer = {"product_id": "offer", "product_name": "offer_name"}
        members = next_best[[c for c in ["customer_id", *offer] if c in next_best.columns]].rename(
            columns=offer
        )
        return members.assign(occasion_date=pd.NaT), ""
    if rule == "churn_warning":
        members = scored.loc[scored["status"].isin(churn_statuses), ["customer_id"]]
        return members.assign(occasion_date=pd.NaT), ""
    if rule == "birthday":
        if customers is None or "birth_date" not in customers.columns or customers["birth_date"].isna().all():
            return None, "no_birth_dates"
        dates = occasion_in(customers["birth_date"], *window)
        return _with_occasion(customers["customer_id"], dates), ""
    if rule == "anniversary":
        # The signup date where the customer attributes give one, else the first order.
        first = scored[["customer_id", "first_order_ts"]].dropna()
        since = pd.Series(pd.to_datetime(first["first_order_ts"]).to_numpy(), index=first["customer_id"])
        if customers is not None and "signup_ts" in customers.columns:
            signed = customers[["customer_id", "signup_ts"]].dropna().drop_duplicates("customer_id")
            signup = pd.Series(pd.to_datetime(signed["signup_ts"]).to_numpy(), index=signed["customer_id"])
            since = signup.combine_first(since)
        dates = occasion_in(pd.Series(since.to_numpy()), *window)
        return _with_occasion(pd.Series(since.index), dates), ""
    if rule == "no_recent_contact":
        if interactions is None:
            return None, "no_interactions"
        moments = pd.to_datetime(interactions["interaction_ts"])
        until = pd.Timestamp(as_of) + pd.Timedelta(days=1)  # contacts up to the end of the as-of day
        seen = moments < until
        last = moments[seen].groupby(interactions.loc[seen, "customer_id"]).max()
        recently = set(last.index[last >= until - pd.Timedelta(days=contact_gap_days)])
        known = scored.loc[scored["status"] != "potential", ["customer_id"]]
        return known[~known["customer_id"].isin(recently)].assign(occasion_date=pd.NaT), ""
    raise ValueError(f"unknown action rule {rule!r}")


def _with_occasion(customer_ids: pd.Series, dates: pd.Series) -> pd.DataFrame:
    found = pd.DataFrame({"customer_id": customer_ids.to_numpy(), "occasion_date": dates.to_numpy()})
    return found[found["occasion_date"].notna()].drop_duplicates("customer_id")


def list_members(
    spec: ActionListConfig,
    scored: pd.DataFrame,
    churn_statuses: list[str],
    customers: pd.DataFrame | None,
    interactions: pd.DataFrame | None,
    window: tuple[dt.date, dt.date],
    as_of: dt.date,
    contact_gap_days: int,
    next_best: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame | None, str]:
    """One list's customers (``customer_id``, ``occasion_date``): its rule's, narrowed by its filter (a
    customer the scored table does not hold passes no filter); or None and why it cannot be made."""
    if spec.rule is not None:
        members, why = rule_members(
            spec.rule,
            scored,
            churn_statuses,
            customers,
            interactions,
            window,
            as_of,
            contact_gap_days,
            next_best,
        )
        if members is None:
            return None, why
    else:
        members = scored[["customer_id"]].assign(occasion_date=pd.NaT)
    if spec.filter:
        parsed = check_filter(spec.filter, column_kinds(scored))
        kept = set(scored.loc[apply_filter(parsed, scored).to_numpy(), "customer_id"])
        members = members[members["customer_id"].isin(kept)]
    return members, ""


def action_lists(
    scored: pd.DataFrame,
    settings: ActionsConfig,
    churn_statuses: list[str],
    customers: pd.DataFrame | None,
    interactions: pd.DataFrame | None,
    period: tuple[dt.date, dt.date],
    seed: int,
    next_best: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Every list of ``actions.lists`` for the period after ``period`` (start, end): one row per list and
    customer (``list``, ``customer_id``, ``group`` contact | hold out, ``occasion_date``, ``offer``: the
    product to offer on the cross-sell list, from ``next_best``, stage 06's next best products), sorted
    by list and customer; and, per list the dataset cannot have, why."""
    window = next_period(*period)
    made, skipped = [], {}
    for name, spec in settings.lists.items():
        if spec is None:
            continue
        members, why = list_members(
            spec,
            scored,
            churn_statuses,
            customers,
            interactions,
            window,
            period[1],
            settings.contact_gap_days,
            next_best,
        )
        if members is None:
            skipped[name] = why
            continue
        held = is_held_out(members["customer_id"], settings.control_share, seed)
        made.append(members.assign(list=name, group=np.where(held, GROUPS[1], GROUPS[0])))
    if not made:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in PRODUCT_COLUMNS}), skipped
    lists = pd.concat(made, ignore_index=True).reindex(columns=PRODUCT_COLUMNS)
    for column in ("offer", "offer_name"):
        lists[column] = lists[column].astype(object).where(lists[column].notna(), None)
    lists["occasion_date"] = pd.to_datetime(lists["occasion_date"]).dt.date
    return lists.sort_values(["list", "customer_id"], ignore_index=True), skipped


def list_summary(lists: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Per list (in params order): customers to contact and held out."""
    counts = pd.crosstab(lists["list"], lists["group"]).reindex(
        index=names, columns=list(GROUPS), fill_value=0
    )
    return pd.DataFrame(
        {
            "list": names,
            "to_contact": counts[GROUPS[0]].to_numpy(dtype="int64"),
            "held_out": counts[GROUPS[1]].to_numpy(dtype="int64"),
        }
    )


# ----------------------------------------------------------------------------------- on the page


def list_title(name: str, language: str) -> str:
    """A list's name on the page: the built-in lists' from the label dictionary, else its params name
    in words ("vip_at_risk" -> "Vip at risk")."""
    key = f"action_{name}"
    return labels.t(key, language) if key in labels.TEXT else name.replace("_", " ").capitalize()


def list_purpose(
    spec: ActionListConfig,
    churn_statuses: list[str],
    window: tuple[dt.date, dt.date],
    gap_days: int,
    language: str,
) -> str:
    """Who is on a list, in words: its rule's meaning (and that a filter narrows it), or its own
    ``description``, or that a rule of the settings chooses it."""
    if spec.description:
        return spec.description
    if spec.rule is None:
        return labels.t("rule_own", language)
    words = {
        "statuses": labels.join([labels.status(s, language) for s in churn_statuses], language).replace(
            labels.t("and", language), labels.t("or", language)
        ),
        "start": formats.date(window[0], language),
        "end": formats.date(window[1], language),
        "days": formats.count(gap_days),
    }
    rule = labels.t(f"rule_{spec.rule}", language, **words)
    return labels.t("rule_narrowed", language, rule=rule) if spec.filter else rule


def list_facts(
    lists: pd.DataFrame,
    settings: ActionsConfig,
    churn_statuses: list[str],
    period: tuple[dt.date, dt.date],
    skipped: dict[str, str],
) -> dict:
    """What the page says about the period's lists (the product ``action_facts``): the period they are
    for, the hold-out share, each list's customers to contact and held out and who is on it in both
    languages, and the lists the dataset cannot have with the reason."""
    window = next_period(*period)
    names = [name for name in settings.lists if name not in skipped]
    summary = list_summary(lists, names)
    return {
        "start": window[0].isoformat(),
        "end": window[1].isoformat(),
        "control_share": settings.control_share,
        "lists": [
            {
                "list": name,
                "to_contact": int(row.to_contact),
                "held_out": int(row.held_out),
                "purpose": {
                    language: list_purpose(
                        settings.lists[name], churn_statuses, window, settings.contact_gap_days, language
                    )
                    for language in ("en", "zh")
                },
            }
            for name, row in zip(names, summary.itertuples(index=False), strict=True)
        ],
        "skipped": skipped,
    }


def lists_for_page(facts: dict, language: str) -> pd.DataFrame:
    """The period's lists as the page shows them: name, who is on it, customers to contact, held out."""
    return pd.DataFrame(
        {
            "action_list": [list_title(entry["list"], language) for entry in facts["lists"]],
            "purpose": [entry["purpose"][language] for entry in facts["lists"]],
            "to_contact": [entry["to_contact"] for entry in facts["lists"]],
            "held_out": [entry["held_out"] for entry in facts["lists"]],
        }
    )


def lists_intro(facts: dict, language: str) -> list[str]:
    """The sentences before the lists' table: which period they are for, the hold-out, and the lists
    the dataset cannot have and why."""
    start, end = (formats.date(dt.date.fromisoformat(facts[key]), language) for key in ("start", "end"))
    share = facts["control_share"]
    key = "lists_intro" if share > 0 else "lists_intro_no_holdout"
    found = [labels.t(key, language, start=start, end=end, share=formats.share(share, 0))]
    skipped = facts["skipped"]
    return found + [
        labels.t(
            "lists_skipped", language, list=list_title(name, language), why=labels.t(f"why_{why}", language)
        )
        for name, why in skipped.items()
    ]


EXPORT_COLUMNS = [
    "customer_id",
    "group",
    "occasion_date",
    "status",
    "segment",
    "score",
    "clv",
    "value_at_stake",
]


def export_tables(lists: pd.DataFrame, customers: pd.DataFrame, language: str) -> dict[str, pd.DataFrame]:
    """One export per list (``action_<name>``) for a CRM: its customers, the group in words (the hold-out
    marked "do not contact"), the occasion, and the customer's status, segment, score and values."""
    words = {GROUPS[0]: labels.t("group_contact", language), GROUPS[1]: labels.t("group_hold_out", language)}
    extra = [c for c in EXPORT_COLUMNS[3:] if c in customers.columns]
    tables = {}
    for name, members in lists.groupby("list", sort=False):
        table = members.drop(columns="list").merge(
            customers[["customer_id", *extra]], on="customer_id", how="left"
        )
        table["group"] = table["group"].map(words)
        for optional in ("occasion_date", "offer", "offer_name"):
            if optional in table.columns and table[optional].isna().all():
                table = table.drop(columns=optional)
        tables[f"action_{name}"] = table.reset_index(drop=True)
    return tables
