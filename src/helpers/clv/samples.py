"""What the models are fitted on, in pandas: the distinct histories with customer counts as weights
("fit small"), fixed-seed samples above a size, the spend sample, and the checks on them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

HISTORY_COLUMNS = ["repeat_periods", "recency_periods", "age_periods"]
# "Fit small, score big": above this many customers the models are fitted on a fixed-seed sample of
# this size (the estimates stop changing long before; fitting cost stops growing), every customer is scored.
FIT_SAMPLE_ABOVE = 200_000
FIT_SAMPLE_SEED = 42


def fitting_sample(
    inputs: pd.DataFrame, size: int | None = FIT_SAMPLE_ABOVE, seed: int = FIT_SAMPLE_SEED
) -> pd.DataFrame:
    """The customers a model is fitted on: all of them up to ``size``, else a fixed-seed sample of
    ``size`` (rows in their original order; ``attrs["sampled_from"]`` records how many there were).
    ``size`` None: always all."""
    if size is None or len(inputs) <= size:
        return inputs
    positions = np.sort(np.random.default_rng(seed).choice(len(inputs), size=size, replace=False))
    sample = inputs.iloc[positions]
    sample.attrs["sampled_from"] = len(inputs)
    return sample


def compress_histories(
    inputs: pd.DataFrame, sample_above: int | None = FIT_SAMPLE_ABOVE, seed: int = FIT_SAMPLE_SEED
) -> pd.DataFrame:
    """Unique (repeat_periods, recency_periods, age_periods) rows with ``customers`` sharing each:
    the purchase models' likelihood is the same with these counts as weights, on far fewer rows.
    Above ``sample_above`` customers, the histories of a fixed-seed sample of that many."""
    sample = fitting_sample(inputs, sample_above, seed)
    compressed = (
        sample.groupby(HISTORY_COLUMNS, as_index=False, sort=True)
        .size()
        .rename(columns={"size": "customers"})
    )
    if "sampled_from" in sample.attrs:
        compressed.attrs["sampled_from"] = sample.attrs["sampled_from"]
    return compressed


def repeat_buyer_status(inputs: pd.DataFrame, min_repeat_buyers: int) -> dict[str, Any]:
    """Whether there are enough customers with a repeat purchase for a meaningful fit, and a
    sentence saying so."""
    customers = len(inputs)
    repeat = int((inputs["repeat_periods"] > 0).sum())
    enough = repeat >= min_repeat_buyers
    message = (
        f"{repeat:,} of {customers:,} customers made a repeat purchase "
        f"({'enough' if enough else 'too few'}: the models need at least {min_repeat_buyers:,})."
    )
    return {
        "enough": enough,
        "customers": customers,
        "repeat_buyers": repeat,
        "min_repeat_buyers": min_repeat_buyers,
        "message": message,
    }


def spend_sample(
    inputs: pd.DataFrame, sample_above: int | None = FIT_SAMPLE_ABOVE, seed: int = FIT_SAMPLE_SEED
) -> pd.DataFrame:
    """The customers Gamma-Gamma can learn from: a repeat purchase and a positive mean repeat value
    (above ``sample_above`` of them, a fixed-seed sample of that many)."""
    return fitting_sample(
        inputs[(inputs["repeat_periods"] > 0) & (inputs["repeat_mean_value"] > 0)], sample_above, seed
    )


def frequency_monetary_correlation(inputs: pd.DataFrame) -> dict[str, Any]:
    """Pearson correlation of repeat_periods and repeat_mean_value among the spend sample:
    Gamma-Gamma assumes spend per purchase does not depend on how often a customer buys."""
    sample = spend_sample(inputs, sample_above=None)
    if len(sample) < 3 or sample["repeat_periods"].nunique() < 2 or sample["repeat_mean_value"].nunique() < 2:
        return {"customers": len(sample), "correlation": None}
    corr = float(np.corrcoef(sample["repeat_periods"], sample["repeat_mean_value"])[0, 1])
    return {"customers": len(sample), "correlation": corr}
