"""Stage 04, leads: the sales pipeline per stage (leads entering in the period, conversion to the next
stage, median days in the stage, open value weighted by the chance to win), its bottleneck, and win
rates by lead source, campaign and month of creation.

The stage entries (one row per lead and stage) are folded into one row per lead by the engine; the
per-stage figures are computed in pandas on that table (one row per lead: small by construction).

**Which leads a stage's conversion counts (the maturity rule).** A lead that entered a stage a few days
before the end of the data has not yet had the time to move on, and counting it as a failure would make
every stage look worse the more recent its leads are. So each stage has a *decision time*: the number
of days within which 95% of the leads that did move on from it did so (whole days, rounded up). The
stage's conversion counts only the leads that entered it at least that many days before the as-of date,
whether they moved on or not; the later entries are left out of the rate (they are counted as entering
and, while open, in the open value). A stage no lead has left yet has no decision time and no rate.

A lead moves on from a stage when it enters any later stage. Its days in the stage are the days from
its entry to its first later entry (leads that never moved on have no such time). A lead's outcome is
the source's ``outcome`` (its latest row's); without one, a lead that reached the last stage is won,
one still within its stage's decision time open, any other lost.
"""

from __future__ import annotations

import datetime as dt
import math

import ibis.expr.types as ir
import numpy as np
import pandas as pd

DECISION_QUANTILE = 0.95  # the share of the leads that moved on within a stage's decision time
SECONDS_PER_DAY = 86_400.0
OUTCOMES = ("won", "lost", "open")
GROUP_KINDS = ("source", "campaign", "cohort")  # the pipeline_groups table, in order
NONE_GIVEN = "(none given)"


def _day_after(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time())


def lead_table(leads: ir.Table, stages: list[str], as_of: dt.date) -> pd.DataFrame:
    """One row per lead from its stage entries up to ``as_of``: ``entered_<i>`` (the first entry into
    stage i, in the pipeline's order), ``top`` (the furthest stage reached, -1 for none), ``created_ts``
    (the source's, else the first entry), source, campaign, expected value and the source's outcome
    (of the lead's latest row)."""
    t = leads.filter(leads.stage_ts.isnull() | (leads.stage_ts < _day_after(as_of)))
    if "created_ts" in t.columns:
        t = t.filter(t.created_ts.isnull() | (t.created_ts < _day_after(as_of)))
    metrics: dict[str, ir.Value] = {
        f"entered_{i}": t.stage_ts.min(where=t.stage == stage) for i, stage in enumerate(stages)
    }
    metrics["first_entry_ts"] = t.stage_ts.min()
    for column in ("source", "campaign"):
        if column in t.columns:
            metrics[column] = t[column].max()
    if "created_ts" in t.columns:
        metrics["created_ts"] = t.created_ts.min()
    if "expected_value" in t.columns:
        metrics["expected_value"] = t.expected_value.max()
    if "outcome" in t.columns:
        metrics["outcome"] = t.outcome.argmax(t.stage_ts)
    frame = t.group_by("lead_id").agg(**metrics).order_by("lead_id").execute()
    for column in ("source", "campaign", "outcome"):
        if column not in frame.columns:
            frame[column] = None
    if "created_ts" not in frame.columns:
        frame["created_ts"] = frame["first_entry_ts"]
    frame["created_ts"] = frame["created_ts"].fillna(frame["first_entry_ts"])
    if "expected_value" not in frame.columns:
        frame["expected_value"] = np.nan
    entered = frame[[f"entered_{i}" for i in range(len(stages))]].notna().to_numpy()
    frame["top"] = np.where(entered.any(axis=1), len(stages) - 1 - np.argmax(entered[:, ::-1], axis=1), -1)
    return frame.drop(columns="first_entry_ts")


def _days(later: pd.Series, earlier: pd.Series) -> pd.Series:
    return (pd.to_datetime(later) - pd.to_datetime(earlier)).dt.total_seconds() / SECONDS_PER_DAY


def next_entry(lead_frame: pd.DataFrame, position: int, count: int) -> pd.Series:
    """Each lead's first entry into any stage after ``position`` (NaT when none)."""
    later = [f"entered_{j}" for j in range(position + 1, count)]
    if not later:
        return pd.Series(pd.NaT, index=lead_frame.index, dtype="datetime64[us]")
    return lead_frame[later].min(axis=1)


def decision_days(lead_frame: pd.DataFrame, stages: list[str]) -> dict[int, float | None]:
    """Each stage's decision time (module docstring): the whole days within which 95% of the leads that
    moved on from it did so; None for the last stage and for a stage no lead has left."""
    out: dict[int, float | None] = {}
    for i in range(len(stages)):
        entered = lead_frame[f"entered_{i}"]
        waits = _days(next_entry(lead_frame, i, len(stages)), entered).dropna()
        waits = waits[waits >= 0]
        out[i] = (
            None
            if i == len(stages) - 1 or waits.empty
            else float(math.ceil(waits.quantile(DECISION_QUANTILE)))
        )
    return out


def outcomes(lead_frame: pd.DataFrame, stages: list[str], as_of: dt.date) -> pd.Series:
    """Each lead's outcome: the source's when given, else won at the last stage, open while within the
    decision time of the stage it is in, lost otherwise."""
    decisions = decision_days(lead_frame, stages)
    end = pd.Timestamp(_day_after(as_of))
    top = lead_frame["top"].to_numpy()
    entries = lead_frame[[f"entered_{i}" for i in range(len(stages))]].apply(pd.to_datetime)
    at_top = entries.to_numpy()[np.arange(len(top)), np.clip(top, 0, None)] if len(top) else np.array([])
    age = (
        end - pd.to_datetime(pd.Series(at_top, index=lead_frame.index))
    ).dt.total_seconds() / SECONDS_PER_DAY
    wait = pd.Series(
        [decisions.get(int(i)) if i >= 0 else None for i in top], index=lead_frame.index, dtype=float
    )
    still_open = (top >= 0) & age.notna() & (wait.isna() | (age < wait))
    derived = pd.Series(np.where(top == len(stages) - 1, "won", np.where(still_open, "open", "lost")),
                        index=lead_frame.index)  # fmt: skip
    given = lead_frame["outcome"].where(lead_frame["outcome"].isin(OUTCOMES))
    return given.fillna(derived).astype(object)


def stage_table(
    lead_frame: pd.DataFrame, stages: list[str], period_start: dt.date, as_of: dt.date
) -> pd.DataFrame:
    """Per stage in pipeline order: leads entering it in the period and in all, the mature leads its
    conversion counts (maturity rule), how many of them moved on, the conversion and drop-off, the
    median days in the stage of the leads that moved on, the decision time, the chance that a lead in
    the stage is won in the end (the product of this and the later stages' conversions), and the open
    leads now in the stage with their expected and weighted value."""
    start, end = pd.Timestamp(period_start), pd.Timestamp(_day_after(as_of))
    decisions = decision_days(lead_frame, stages)
    outcome = outcomes(lead_frame, stages, as_of)
    rows = []
    for i, stage in enumerate(stages):
        entered = pd.to_datetime(lead_frame[f"entered_{i}"])
        nxt = next_entry(lead_frame, i, len(stages))
        waits = _days(nxt, entered)
        moved = nxt.notna() & entered.notna()
        wait = decisions[i]
        age = (end - entered).dt.total_seconds() / SECONDS_PER_DAY
        mature = (
            entered.notna() & (age >= wait) if wait is not None else pd.Series(False, index=entered.index)
        )
        last = i == len(stages) - 1
        conversion = float(moved[mature].mean()) if mature.any() and not last else np.nan
        open_here = (lead_frame["top"] == i) & (outcome == "open")
        rows.append(
            {
                "position": i + 1,
                "stage": stage,
                "entered_in_period": int(((entered >= start) & (entered < end)).sum()),
                "entered_total": int(entered.notna().sum()),
                "mature_leads": int(mature.sum()) if not last else 0,
                "moved_on": int((moved & mature).sum()) if not last else 0,
                "conversion": conversion,
                "drop_off": 1.0 - conversion if not np.isnan(conversion) else np.nan,
                "median_days": float(waits[moved].median()) if moved.any() and not last else np.nan,
                "decision_days": wait if wait is not None else np.nan,
                "open_leads": int(open_here.sum()),
                "open_value": float(lead_frame.loc[open_here, "expected_value"].fillna(0).sum()),
            }
        )
    table = pd.DataFrame(rows)
    chance = []
    for i in range(len(stages)):
        later = table["conversion"].iloc[i : len(stages) - 1]
        chance.append(
            1.0 if i == len(stages) - 1 else (float(later.prod()) if later.notna().all() else np.nan)
        )
    table["win_chance"] = chance
    table["weighted_open_value"] = table["open_value"] * table["win_chance"]
    return table


def bottleneck(table: pd.DataFrame, min_leads: int = 1) -> dict | None:
    """The stage with the lowest conversion and the one with the longest median days in stage (ties:
    the earlier stage), with their figures, among the stages whose conversion rests on at least
    ``min_leads`` mature leads (and whose median on as many leads that moved on); None unless two
    stages can be compared so."""
    rated = table[table["conversion"].notna() & (table["mature_leads"] >= min_leads)]
    if len(rated) < 2:
        return None
    lowest = rated.loc[rated["conversion"].idxmin()]
    timed = table[table["median_days"].notna() & (table["moved_on"] >= min_leads)]
    slowest = timed.loc[timed["median_days"].idxmax()] if not timed.empty else None
    return {
        "lowest_stage": str(lowest["stage"]),
        "lowest_conversion": float(lowest["conversion"]),
        "lowest_mature_leads": int(lowest["mature_leads"]),
        "slowest_stage": str(slowest["stage"]) if slowest is not None else None,
        "slowest_median_days": float(slowest["median_days"]) if slowest is not None else None,
        "same": slowest is not None and str(slowest["stage"]) == str(lowest["stage"]),
    }


def group_table(lead_frame: pd.DataFrame, stages: list[str], as_of: dt.date) -> pd.DataFrame:
    """Leads by source, campaign and month of creation (``cohort``, YYYY-MM): leads, won, lost, open,
    the win rate (won / (won + lost): open leads are not decided yet; NaN when none is decided) and
    the expected value of the open ones."""
    outcome = outcomes(lead_frame, stages, as_of)
    frame = lead_frame.assign(
        _outcome=outcome.to_numpy(),
        cohort=pd.to_datetime(lead_frame["created_ts"]).dt.strftime("%Y-%m"),
    )
    parts = []
    for kind in GROUP_KINDS:
        values = frame[kind].astype(object).where(frame[kind].notna(), NONE_GIVEN)
        for value, part in frame.groupby(values, sort=True):
            won = int((part["_outcome"] == "won").sum())
            lost = int((part["_outcome"] == "lost").sum())
            is_open = part["_outcome"] == "open"
            parts.append(
                {
                    "group_kind": kind,
                    "group": str(value),
                    "leads": len(part),
                    "won": won,
                    "lost": lost,
                    "open": int(is_open.sum()),
                    "win_rate": won / (won + lost) if won + lost else np.nan,
                    "open_value": float(part.loc[is_open, "expected_value"].fillna(0).sum()),
                }
            )
    columns = ["group_kind", "group", "leads", "won", "lost", "open", "win_rate", "open_value"]
    return pd.DataFrame(parts, columns=columns)


def pipeline_facts(table: pd.DataFrame, lead_frame: pd.DataFrame, min_leads: int = 1) -> dict:
    """The bottleneck (judged on stages with at least ``min_leads`` mature leads), the open leads and
    their weighted value, the leads in all, for the page."""
    return {
        "leads": len(lead_frame),
        "bottleneck": bottleneck(table, min_leads),
        "min_stage_leads": min_leads,
        "stages_with_conversion": int(table["conversion"].notna().sum()),
        "rated_stages": int((table["conversion"].notna() & (table["mature_leads"] >= min_leads)).sum()),
        "open_leads": int(table["open_leads"].sum()),
        "open_value": float(table["open_value"].sum()),
        "weighted_open_value": float(table["weighted_open_value"].fillna(0).sum()),
        "decision_quantile": DECISION_QUANTILE,
    }


def bottleneck_sentence(facts: dict, language: str) -> str:
    """The bottleneck named in words: one stage when it has both the lowest conversion and the longest
    wait, else the two stages; or why there is none."""
    from helpers import formats, labels

    found = facts.get("bottleneck")
    if not found and not facts.get("stages_with_conversion"):
        return labels.t("pipeline_no_rate", language)
    if not found:
        return labels.t(
            "pipeline_too_few",
            language,
            min=formats.count(facts["min_stage_leads"]),
            count=formats.count(facts["rated_stages"]),
        )
    if found["same"]:
        return labels.t(
            "pipeline_bottleneck_same",
            language,
            stage=f"“{found['lowest_stage']}”",
            share=formats.share(found["lowest_conversion"]),
            days=formats.days(found["slowest_median_days"], language),
        )
    return labels.t(
        "pipeline_bottleneck_split",
        language,
        stage=f"“{found['lowest_stage']}”",
        share=formats.share(found["lowest_conversion"]),
        slow_stage=f"“{found['slowest_stage']}”",
        days=formats.days(found["slowest_median_days"], language),
    )


REPORT_KINDS = {
    "entered_in_period": "count",
    "stage_conversion": "share",
    "median_days": "days",
    "open_leads": "count",
    "weighted_open_value": "money",
}


def for_report(table: pd.DataFrame, min_size: int) -> pd.DataFrame:
    """The pipeline per stage for the stakeholder page: stage, leads entering in the period, the share
    that moved on, the median days in stage, the open leads and their weighted value. The weighted
    value of a stage with fewer than ``min_size`` open leads is hidden (it would be nearly one deal's),
    as are a conversion from fewer mature leads and a median from fewer leads that moved on."""
    few = table["open_leads"].between(1, min_size - 1)
    return pd.DataFrame(
        {
            "pipeline_stage": table["stage"].to_numpy(),
            "entered_in_period": table["entered_in_period"].to_numpy(),
            "stage_conversion": table["conversion"].where(table["mature_leads"] >= min_size).to_numpy(),
            "median_days": table["median_days"].where(table["moved_on"] >= min_size).to_numpy(),
            "open_leads": table["open_leads"].to_numpy(),
            "weighted_open_value": table["weighted_open_value"].where(~few).to_numpy(),
        }
    )


def open_value_sentence(facts: dict, currency: str, language: str) -> str:
    """The open leads, their expected value and its weighted value in words."""
    from helpers import formats, labels

    return labels.t(
        "pipeline_open_value",
        language,
        count=formats.count(facts["open_leads"]),
        value=formats.money(facts["open_value"], currency, language),
        weighted=formats.money(facts["weighted_open_value"], currency, language),
    )
