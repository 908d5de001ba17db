"""Persona cards: each cluster of stage 08 described in words from every per-customer product the
period has: who they are (age band, gender, region, acquisition channel from the customer attributes),
how they behave (orders and recency; visits, main channel and category of interest from stage 04), what
they are worth (spend, average order, expected value from stage 07), what they say (NPS and open
complaints from stage 05), and what to do (the action of the RFM segment most of them are in). A part
whose product the period lacks is left out of the card, never guessed.

"Who they are" names what sets the cluster apart, not merely what is common: a trait (an age band, a
gender, a region, an acquisition channel) stands out when at least ``STANDS_OUT_SHARE`` of the cluster
has it and that share is at least ``STANDS_OUT_RATIO`` times its share among all customers; of an
attribute, the trait with the largest ratio is named beside its share among all customers, and the
attributes where nothing stands out are said to be like customers overall.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from helpers import formats, labels
from helpers.config import SegmentRule

AGE_BANDS = [(0, 25, "under 25"), (25, 35, "25-34"), (35, 45, "35-44"), (45, 55, "45-54"), (55, 65, "55-64")]
AGE_BANDS_ZH = {"under 25": "25 岁以下", "25-34": "25-34 岁", "35-44": "35-44 岁", "45-54": "45-54 岁"}
AGE_BANDS_ZH |= {"55-64": "55-64 岁", "65+": "65 岁及以上"}
CHANNELS = ("web", "app", "store")
TRAITS = ("age_band", "gender", "region", "acquisition_channel")  # the attributes of "who they are"
STANDS_OUT_SHARE = 0.2  # a trait stands out when at least this share of the cluster has it ...
STANDS_OUT_RATIO = 1.25  # ... and that share is at least this many times its share among all customers


def age_band(age: pd.Series) -> pd.Series:
    """Age in years -> its band (``under 25`` ... ``65+``); missing stays missing."""
    bands = pd.Series(pd.NA, index=age.index, dtype=object)
    for low, high, name in AGE_BANDS:
        bands[(age >= low) & (age < high)] = name
    bands[age >= 65] = "65+"
    return bands


def ages(customers: pd.DataFrame, as_of: dt.date) -> pd.Series:
    """Each customer's age at ``as_of``: the ``age`` column, else from ``birth_date``."""
    age = customers["age"].astype(float) if "age" in customers.columns else pd.Series(np.nan, customers.index)
    if "birth_date" in customers.columns:
        born = pd.to_datetime(customers["birth_date"], errors="coerce")
        from_birth = (pd.Timestamp(as_of) - born).dt.days / 365.25
        age = age.fillna(np.floor(from_birth))
    return age


def _top(values: pd.Series) -> tuple[object, float] | None:
    """The most common value (ties: the first by value) and its share of the known values."""
    known = values.dropna()
    if known.empty:
        return None
    counts = known.value_counts()
    best = sorted(counts.index[counts == counts.max()], key=str)[0]
    return best, counts[best] / len(known)


def _standing_out(values: pd.Series, overall: pd.Series) -> tuple[object, float, float] | None:
    """The trait of ``values`` (a cluster's) that stands out most against ``overall`` (every customer's
    share of each value, known values only): its value, its share in the cluster and among all
    customers; None when no trait reaches both ``STANDS_OUT_SHARE`` and ``STANDS_OUT_RATIO``."""
    known = values.dropna()
    if known.empty:
        return None
    shares = known.value_counts(normalize=True)
    ratios = shares / overall.reindex(shares.index)
    qualified = ratios[(shares >= STANDS_OUT_SHARE) & (ratios >= STANDS_OUT_RATIO)]
    if qualified.empty:
        return None
    # The largest ratio (rounded: 0.75 / 0.5 and 0.25 / (1/6) tie), then the larger share, then the name.
    best = min(qualified.index, key=lambda value: (-round(qualified[value], 9), -shares[value], str(value)))
    return best, shares[best], overall[best]


def persona_profile(
    clusters: pd.DataFrame,
    rfm: pd.DataFrame,
    as_of: dt.date,
    clv: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
    engagement: pd.DataFrame | None = None,
    voice: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per cluster: size, share of customers and of spend, medians of orders, recency, spend,
    average order and expected value, and, where the products exist, the top age band, gender, region
    and acquisition channel with their shares, the median visits, the channel of most of the members'
    visits with its share of them (none when they made no visit), the top category of
    interest, the NPS of the members' latest answers with its number of answers, the share with an open
    complaint, and the most common RFM segment. Each attribute and the top category also carry the
    value's share among all customers (``<column>_overall``) and the trait that stands out, if one does
    (``<column>_standout``, ``_standout_share``, ``_standout_overall``)."""
    table = clusters[["customer_id", "cluster", "cluster_name"]].merge(rfm, on="customer_id", how="left")
    if clv is not None and "clv" in clv.columns:
        table = table.merge(clv[["customer_id", "clv"]], on="customer_id", how="left")
    if customers is not None:
        attributes = customers.drop_duplicates("customer_id").assign(
            age_band=lambda c: age_band(ages(c, as_of))
        )
        if "gender" in attributes.columns:  # "m" and "M" are one gender: one-letter codes in capitals
            gender = attributes["gender"].astype("string").str.strip()
            attributes["gender"] = gender.where(gender.str.len() != 1, gender.str.upper())
        kept = [c for c in ("age_band", "gender", "region", "acquisition_channel") if c in attributes.columns]
        table = table.merge(attributes[["customer_id", *kept]], on="customer_id", how="left")
    if engagement is not None:
        shares = [f"share_{c}" for c in CHANNELS if f"share_{c}" in engagement.columns]
        kept = [c for c in ("sessions", "top_category") if c in engagement.columns]
        visits = engagement[["customer_id", *kept]].copy()
        if shares and "sessions" in kept:  # each customer's visits by channel, summed per cluster below
            for share in shares:
                visits[f"visits_{share.removeprefix('share_')}"] = engagement[share] * engagement["sessions"]
        table = table.merge(visits, on="customer_id", how="left")
    if voice is not None:
        # The share with an open complaint only where the period knows of complaints at all.
        complaints = "complaints" in voice.columns and voice["complaints"].fillna(0).sum() > 0
        kept = [c for c in ("latest_nps", "open_complaints") if c in voice.columns]
        kept = [c for c in kept if c != "open_complaints" or complaints]
        table = table.merge(voice[["customer_id", *kept]], on="customer_id", how="left")
    total_customers, total_spend = len(table), table["monetary_total"].clip(lower=0).sum()
    described = [c for c in (*TRAITS, "top_category") if c in table.columns]
    by_channel = [f"visits_{c}" for c in CHANNELS if f"visits_{c}" in table.columns]
    overall = {column: table[column].dropna().value_counts(normalize=True) for column in described}
    rows = []
    for (number, name), members in table.groupby(["cluster", "cluster_name"], sort=True):
        row = {
            "cluster": number,
            "cluster_name": name,
            "customers": len(members),
            "share_of_customers": len(members) / total_customers,
            "share_of_spend": members["monetary_total"].clip(lower=0).sum() / total_spend
            if total_spend
            else 0.0,
            "median_orders": members["frequency_orders"].median(),
            "median_recency_days": members["recency_days"].median(),
            "median_spend": members["monetary_total"].median(),
            "median_order_value": members["avg_order_value"].median(),
        }
        if "clv" in members.columns:
            row["median_clv"] = members["clv"].median()
        for column in described:
            if (top := _top(members[column])) is not None:
                row[column], row[f"{column}_share"] = top
                row[f"{column}_overall"] = overall[column][top[0]]
            if (out := _standing_out(members[column], overall[column])) is not None:
                (
                    row[f"{column}_standout"],
                    row[f"{column}_standout_share"],
                    row[f"{column}_standout_overall"],
                ) = out
        if "sessions" in members.columns:
            row["median_sessions"] = members["sessions"].fillna(0).median()
        visits = members[by_channel].sum()
        if by_channel and visits.sum() > 0:  # the channel of most of the members' visits, and its share
            row["main_channel"] = visits.idxmax().removeprefix("visits_")
            row["main_channel_share"] = visits.max() / visits.sum()
        if "latest_nps" in members.columns:
            answers = members["latest_nps"].dropna()
            row["nps_answers"] = len(answers)
            row["nps"] = 100 * ((answers >= 9).mean() - (answers <= 6).mean()) if len(answers) else np.nan
        if "open_complaints" in members.columns:
            row["open_complaint_share"] = (members["open_complaints"].fillna(0) > 0).mean()
        if "segment" in members.columns and (top := _top(members["segment"])) is not None:
            row["segment"], row["segment_share"] = top
        rows.append(row)
    return pd.DataFrame(rows)


def persona_cards(
    profile: pd.DataFrame,
    segments: list[SegmentRule],
    language: str,
    currency: str,
    min_group_size: int,
    min_answers: int = 10,
) -> list[tuple[str, list[str]]]:
    """(title, sentences) per cluster of at least ``min_group_size`` customers, largest share of spend
    first: who, how they behave, what they are worth, what they say (NPS from ``min_answers`` answers
    up), what to do."""
    actions = {
        rule.name: labels.segment_text(rule.name, rule.meaning, rule.action, language)[1] for rule in segments
    }
    cards = []
    for row in profile.sort_values(["share_of_spend", "cluster"], ascending=[False, True]).itertuples():
        if row.customers < min_group_size:
            continue
        got = row._asdict()

        def has(key: str) -> bool:
            return key in got and not formats.is_missing(got[key])

        title = labels.t(
            "persona_title",
            language,
            name=labels.cluster(row.cluster_name, language),
            customers=formats.count(row.customers),
            share=formats.share(row.share_of_customers),
            spend=formats.share(row.share_of_spend),
        )
        lines = []
        who, alike = [], []
        for column in TRAITS:
            if has(f"{column}_standout"):
                who.append(_trait(column, got, language))
            elif has(column):
                alike.append(labels.t(f"persona_trait_{column}", language))
        parts = [labels.join(who, language)] if who else []
        if alike:
            parts.append(labels.t("persona_alike", language, traits=labels.join(alike, language)))
        if parts:
            separator = "；" if language == "zh" else "; "
            lines.append(labels.t("persona_who", language, parts=separator.join(parts)))
        behave = [
            labels.t(
                "persona_orders",
                language,
                count=formats.number(row.median_orders, 0),
                days=formats.days(row.median_recency_days, language),
            )
        ]
        visited = has("median_sessions") and formats.number(row.median_sessions, 0) != "0"
        if has("median_sessions"):
            count = formats.number(row.median_sessions, 0)
            behave.append(
                labels.t("persona_sessions" if visited else "persona_no_visits", language, count=count)
            )
        if has("main_channel") and visited:  # the channel of the few who visited says little of them all
            channel = labels.t(f"persona_channel_{row.main_channel}", language)
            behave.append(
                labels.t(
                    "persona_channel",
                    language,
                    channel=channel,
                    share=formats.share(row.main_channel_share, 0),
                )
            )
        if has("top_category"):
            key = "top_category_standout" if has("top_category_standout") else "top_category"
            share = _against(got[f"{key}_share"], got[f"{key}_overall"], language)
            behave.append(labels.t("persona_category", language, category=got[key], share=share))
        lines.append(labels.t("persona_behave", language, parts=labels.join(behave, language)))
        clv = formats.money(got.get("median_clv"), currency, language)
        lines.append(
            labels.t(
                "persona_worth",
                language,
                spend=formats.money(row.median_spend, currency, language),
                order=formats.money(row.median_order_value, currency, language),
                clv=labels.t("persona_clv", language, clv=clv) if has("median_clv") else "",
            )
        )
        say = []
        if has("nps") and got.get("nps_answers", 0) >= min_answers:
            say.append(
                labels.t(
                    "persona_nps",
                    language,
                    nps=formats.number(row.nps, 0),
                    answers=formats.count(row.nps_answers),
                )
            )
        if has("open_complaint_share"):
            say.append(
                labels.t("persona_complaints", language, share=formats.share(row.open_complaint_share))
            )
        if say:
            lines.append(labels.t("persona_say", language, parts=labels.join(say, language)))
        if has("segment") and row.segment in actions:
            lines.append(
                labels.t(
                    "persona_action" if row.segment_share > 0.5 else "persona_action_largest",
                    language,
                    segment=labels.segment(row.segment, language),
                    share=formats.share(row.segment_share, 0),
                    action=actions[row.segment],
                )
            )
        cards.append((title, lines))
    return cards


def intro(language: str) -> str:
    """The sentence before the cards: where their figures come from and when a trait stands out."""
    share, ratio = formats.share(STANDS_OUT_SHARE, 0), formats.number(STANDS_OUT_RATIO, 2)
    return labels.t("personas_intro", language, share=share, ratio=ratio)


def _against(share: float, overall: float, language: str) -> str:
    """ "62%, against 18% of all customers": a cluster's share of a trait beside everyone's."""
    return labels.t(
        "persona_against", language, share=formats.share(share, 0), overall=formats.share(overall, 0)
    )


def _trait(column: str, got: dict, language: str) -> str:
    """The trait of ``column`` that stands out in a persona's profile row, in words with its shares."""
    value = got[f"{column}_standout"]
    share = _against(got[f"{column}_standout_share"], got[f"{column}_standout_overall"], language)
    if column == "age_band":
        band = AGE_BANDS_ZH.get(value, value) if language == "zh" else value
        return labels.t("persona_age", language, band=band, share=share)
    if column == "gender" and f"persona_gender_{value}" in labels.TEXT:  # M and F in words
        value = labels.t(f"persona_gender_{value}", language)
    return labels.t(f"persona_{column}", language, value=value, share=share)
