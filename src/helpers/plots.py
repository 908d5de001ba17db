"""One visual style for every chart on every page: seaborn theme, readable sizes, labelled axes with
units, and a fixed colour per segment so a segment looks the same in every chart and period."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

PALETTE = sns.color_palette("tab20", 20)


def use_theme() -> None:
    """Apply the project's chart style (call once per notebook)."""
    sns.set_theme(style="whitegrid", context="notebook", font_scale=1.05)
    plt.rcParams.update({"figure.figsize": (9, 4.5), "figure.dpi": 96, "savefig.bbox": "tight",
                         "axes.titleweight": "bold", "axes.titlesize": 13})


def colour_map(names: list[str]) -> dict[str, tuple]:
    """A stable colour per name, by its position in a fixed list (e.g. the segment rule table)."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}


def bar_counts(counts: pd.Series, title: str, xlabel: str, ylabel: str = "") -> plt.Figure:
    """Horizontal bars of counts, largest on top, each labelled with its value."""
    fig, ax = plt.subplots(figsize=(9, max(2.0, 0.45 * len(counts) + 1)))
    ordered = counts.sort_values()
    ax.barh([str(i) for i in ordered.index], ordered.values, color=PALETTE[0])
    for y, value in enumerate(ordered.values):
        ax.text(value, y, f" {value:,.0f}", va="center", fontsize=10)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.margins(x=0.15)
    return fig


def monthly_activity(frame: pd.DataFrame, title: str, currency: str = "currency units") -> plt.Figure:
    """Orders and revenue per month (``month``, ``orders``, ``revenue`` columns) on twin axes."""
    fig, ax = plt.subplots()
    ax.bar(frame["month"].astype(str), frame["orders"], color=PALETTE[1], label="orders")
    ax.set(title=title, xlabel="month", ylabel="orders")
    ax.tick_params(axis="x", rotation=60)
    twin = ax.twinx()
    twin.plot(frame["month"].astype(str), frame["revenue"], color=PALETTE[6], marker="o", label="revenue")
    twin.set_ylabel(f"revenue ({currency})")
    twin.grid(False)
    fig.legend(loc="upper right", bbox_to_anchor=(0.9, 0.88))
    return fig


def table(frame: pd.DataFrame, decimals: int = 2):
    """A frame as a readable page table: no index column, full text, thousands separators."""
    numeric = frame.select_dtypes("number").columns
    formats = {c: (f"{{:,.{decimals}f}}" if frame[c].dtype.kind == "f" else "{:,}") for c in numeric}
    return frame.style.hide(axis="index").format(formats, na_rep="–").set_table_styles(
        [{"selector": "td, th", "props": "text-align: left; white-space: normal; max-width: 38em;"}])
