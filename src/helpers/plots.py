"""One visual style for every chart on every page: seaborn theme, readable sizes, labelled axes with
units, and a fixed colour per segment so a segment looks the same in every chart and period. Charts
of the customer report take a ``width`` (inches): the page draws them wide for screens and narrow for
phones, and no text in them is smaller than :data:`MIN_POINTS`. Chinese charts need a CJK font
(:func:`cjk_font`)."""

from __future__ import annotations

import glob
import logging
import shutil
import subprocess
from typing import Callable

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib import font_manager
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import FuncFormatter

PALETTE = sns.color_palette("tab20", 20)
WIDE, NARROW = 9.0, 3.7  # inches at 96 dpi: 864 px for screens, 355 px for a 390 px phone
MIN_POINTS = 9.0  # no chart text of the report is smaller (12 px at 96 dpi)
# Fonts with Chinese glyphs, most wanted first: Debian's fonts-wqy-microhei, then fonts-noto-cjk.
CJK_FAMILIES = (
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Sans SC",
)
CJK_FONT_HINT = (
    "no font with Chinese characters is installed, which report.language: zh needs for its charts; "
    "install one with `make cjk-font` (Debian/Ubuntu: apt-get install fonts-wqy-microhei)"
)


def cjk_font() -> str | None:
    """The family name of an installed font with Chinese glyphs (see :data:`CJK_FAMILIES`), or None.
    A font installed after matplotlib cached its font list is found through fontconfig (or the usual
    Debian folders) and added."""
    names = {entry.name for entry in font_manager.fontManager.ttflist}
    found = next((family for family in CJK_FAMILIES if family in names), None)
    if found:
        return found
    files = []
    if shutil.which("fc-list"):
        listed = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True).stdout
        files = [line.split(":")[0].strip() for line in listed.splitlines() if line.strip()]
    files += glob.glob("/usr/share/fonts/truetype/wqy/*.tt[cf]") + glob.glob(
        "/usr/share/fonts/opentype/noto/*CJK*"
    )
    for path in files:
        try:
            font_manager.fontManager.addfont(path)
        except (OSError, RuntimeError, ValueError):  # an unreadable file: try the next
            continue
    names = {entry.name for entry in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FAMILIES if family in names), None)


def use_theme(language: str = "en") -> None:
    """Apply the project's chart style (call once per notebook); ``zh`` adds a CJK font behind the
    Latin one, or stops with one sentence saying how to install it."""
    sns.set_theme(style="whitegrid", context="notebook", font_scale=1.05)
    plt.rcParams.update(
        {
            "figure.figsize": (9, 4.5),
            "figure.dpi": 96,
            "savefig.bbox": "tight",
            "axes.titleweight": "bold",
            "axes.titlesize": 13,
        }
    )
    if language == "zh":
        family = cjk_font()
        if family is None:
            raise RuntimeError(CJK_FONT_HINT[:1].upper() + CJK_FONT_HINT[1:] + ".")
        fallback = [f for f in plt.rcParams["font.sans-serif"] if f != family]
        plt.rcParams["font.sans-serif"] = [fallback[0], family, *fallback[1:]]
        # The CJK fonts have no bold face: titles fall back to the regular one, which matplotlib would
        # announce on the page for every chart.
        logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    backend = plt.get_backend()
    if "inline" in backend:
        # The inline backend renders each figure to PNG at the end of its cell. pyplot's own
        # end-of-cell hook would first draw every new figure on a canvas nobody sees (a quarter of
        # the time spent on charts); without it each chart is drawn for its picture only. The
        # backend is loaded first, as loading it (at the first figure) would install the hook again.
        plt.switch_backend(backend)
        plt.uninstall_repl_displayhook()


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
    return (
        frame.style.hide(axis="index")
        .format(formats, na_rep="–")
        .set_table_styles(
            [{"selector": "td, th", "props": "text-align: left; white-space: normal; max-width: 38em;"}]
        )
    )


import numpy as np  # noqa: E402  (used by the charts below)


def heatmap(
    matrix: pd.DataFrame, title: str, xlabel: str, ylabel: str, colour_label: str, cmap: str = "viridis"
) -> plt.Figure:
    """A matrix as a colour grid, row labels top to bottom as given; empty (NaN) cells stay blank."""
    fig, ax = plt.subplots(figsize=(9, 6))
    if matrix.empty or matrix.isna().all().all():
        _no_data(ax, title)
        return fig
    _colour_grid(
        ax,
        matrix,
        cmap,
        colour_label,
        label_every=(max(1, matrix.shape[1] // 15), max(1, matrix.shape[0] // 15)),
    )
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return fig


def _colour_grid(
    ax,
    matrix: pd.DataFrame,
    cmap: str,
    colour_label: str,
    cell_text: pd.DataFrame | None = None,
    label_every: tuple[int, int] = (1, 1),
    colour_format: Callable[[float], str] | None = None,
) -> None:
    """The grid of a heatmap as seaborn draws it (cells as a mesh, first row on top, a colour bar without
    frame, no spines, labels at the cell centres, dark text on light cells and white on dark ones),
    without its trial drawing of the whole figure to see whether column labels overlap (0.1 s a
    chart): they are turned upright when their estimated width exceeds their column's."""
    values = np.ma.masked_invalid(matrix.to_numpy(dtype=float))
    grid = ax.pcolormesh(
        values, cmap=cmap, **({"edgecolors": "white", "linewidth": 0.5} if cell_text is not None else {})
    )
    ax.set(xlim=(0, matrix.shape[1]), ylim=(matrix.shape[0], 0))
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    colour_bar = ax.figure.colorbar(grid, ax=ax, label=colour_label)
    colour_bar.outline.set_linewidth(0)
    if colour_format is not None:
        colour_bar.ax.yaxis.set_major_formatter(axis_formatter(colour_format))
    step_x, step_y = label_every
    columns = [str(c) for c in matrix.columns[::step_x]]
    ax.set_xticks(np.arange(0, matrix.shape[1], step_x) + 0.5, columns)
    ax.set_yticks(
        np.arange(0, matrix.shape[0], step_y) + 0.5,
        [str(i) for i in matrix.index[::step_y]],
        rotation=0,
        va="center",
    )
    font_points = FontProperties(size=plt.rcParams["xtick.labelsize"]).get_size_in_points()
    axes_points = ax.get_position().width * ax.figure.get_figwidth() * 72
    if columns and max(map(len, columns)) * 0.6 * font_points > axes_points * step_x / matrix.shape[1]:
        ax.tick_params(axis="x", rotation=90)
    if cell_text is not None:
        cell_points = axes_points / max(1, matrix.shape[1])
        longest = max((len(t) for t in cell_text.to_numpy().ravel()), default=1)
        size = min(plt.rcParams["font.size"], 0.9 * cell_points / (0.6 * max(1, longest)))
        for (row, column), value in np.ndenumerate(values.filled(np.nan)):
            if not np.isnan(value):
                red, green, blue, _ = grid.cmap(grid.norm(value))
                ax.text(
                    column + 0.5,
                    row + 0.5,
                    cell_text.iat[row, column],
                    ha="center",
                    va="center",
                    fontsize=size,
                    color="white" if _luminance(red, green, blue) < 0.408 else "0.15",
                )


def _luminance(red: float, green: float, blue: float) -> float:
    """Relative luminance of an sRGB colour (WCAG), which decides dark or white text on it."""
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (red, green, blue)]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def lines(
    frame: pd.DataFrame,
    x: str,
    columns: list[str],
    title: str,
    xlabel: str,
    ylabel: str,
    marker_at=None,
    marker_label: str = "",
) -> plt.Figure:
    """One line per column against ``x`` (the first column solid, the others dashed), with an optional
    vertical marker such as the end of a calibration period."""
    fig, ax = plt.subplots()
    for i, column in enumerate(columns):
        ax.plot(
            frame[x],
            frame[column],
            label=column,
            color=PALETTE[(2 * i) % len(PALETTE)],
            linestyle="-" if i == 0 else "--",
            linewidth=2 if i == 0 else 1.5,
        )
    if marker_at is not None:
        ax.axvline(marker_at, color="grey", linestyle=":", linewidth=1.5)
        ax.annotate(
            marker_label,
            (marker_at, 0.97),
            xycoords=("data", "axes fraction"),
            ha="right",
            va="top",
            fontsize=9,
            color="grey",
            rotation=90,
        )
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend()
    if not pd.api.types.is_numeric_dtype(frame[x]):
        fig.autofmt_xdate()  # dates: slanted labels that do not overlap
    return fig


def line_with_band(
    frame: pd.DataFrame,
    x: str,
    value: str,
    low: str,
    high: str,
    title: str,
    xlabel: str,
    ylabel: str,
    width: float = WIDE,
) -> plt.Figure:
    """One line of ``value`` against ``x`` with a shaded band from ``low`` to ``high`` where they are
    given (an interval), and a dotted line at zero when the values cross it."""
    wide = width >= WIDE
    fig, ax = plt.subplots(figsize=(width, 3.8 if wide else 3.2))
    positions = np.arange(len(frame))
    ax.fill_between(
        positions,
        frame[low].astype(float),
        frame[high].astype(float),
        color=PALETTE[0],
        alpha=0.2,
        linewidth=0,
    )
    values = frame[value].astype(float)
    ax.plot(positions, values, color=PALETTE[0], linewidth=2, marker="o", markersize=3)
    if len(values) and values.min() < 0 < values.max():
        ax.axhline(0, color="grey", linestyle=":", linewidth=1)
    step = max(1, int(np.ceil(len(frame) / (12 if wide else 4))))
    ax.set_xticks(positions[::step], [str(v) for v in frame[x].iloc[::step]])
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    fig.autofmt_xdate()
    return fig


def histogram(
    values: pd.Series, title: str, xlabel: str, ylabel: str = "customers", bins: int = 50, log_x: bool = False
) -> plt.Figure:
    """Distribution of one non-negative quantity; ``log_x`` spreads out a long right tail."""
    fig, ax = plt.subplots()
    data = values.dropna()
    if log_x:
        data = data[data > 0]
        edges = np.geomspace(data.min(), data.max(), bins + 1) if len(data) else bins
        ax.hist(data, bins=edges, color=PALETTE[0])
        ax.set_xscale("log")
    else:
        ax.hist(data, bins=bins, color=PALETTE[0])
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return fig


def grouped_bars(
    frame: pd.DataFrame, category: str, columns: list[str], title: str, xlabel: str, ylabel: str
) -> plt.Figure:
    """Side-by-side bars of several columns per category, in the frame's row order."""
    fig, ax = plt.subplots()
    width = 0.8 / max(1, len(columns))
    positions = np.arange(len(frame))
    for i, column in enumerate(columns):
        ax.bar(
            positions + (i - (len(columns) - 1) / 2) * width,
            frame[column],
            width,
            label=column,
            color=PALETTE[(2 * i) % len(PALETTE)],
        )
    ax.set_xticks(positions, frame[category].astype(str))
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend()
    return fig


def score_distribution(scores: pd.Series, tiers: dict[str, float], title: str) -> plt.Figure:
    """Histogram of 0-100 scores with a dashed line and a label at each tier's lowest score."""
    fig, ax = plt.subplots()
    ax.hist(scores.dropna(), bins=50, range=(0, 100), color=PALETTE[0])
    for name, minimum in tiers.items():
        if minimum > 0:
            ax.axvline(minimum, color="grey", linestyle="--", linewidth=1)
        ax.annotate(
            f"tier {name}",
            (minimum + 1, 0.95),
            xycoords=("data", "axes fraction"),
            fontsize=10,
            color="dimgrey",
        )
    ax.set(title=title, xlabel="score (0 = worst on every indicator, 100 = best)", ylabel="customers")
    return fig


def funnel(counts: pd.DataFrame, label: str, value: str, title: str) -> plt.Figure:
    """Horizontal bars in the given order, top to bottom, each labelled with its count and share."""
    fig, ax = plt.subplots(figsize=(9, max(2.0, 0.55 * len(counts) + 1)))
    total = max(int(counts[value].sum()), 1)
    positions = np.arange(len(counts))[::-1]
    ax.barh(positions, counts[value], color=[PALETTE[(2 * i) % len(PALETTE)] for i in range(len(counts))])
    for y, count in zip(positions, counts[value]):
        ax.text(count, y, f" {count:,} ({100 * count / total:.1f}%)", va="center", fontsize=10)
    ax.set_yticks(positions, counts[label])
    ax.set(title=title, xlabel="customers", ylabel="")
    ax.margins(x=0.2)
    return fig


def funnel_steps(steps: pd.DataFrame, title: str, xlabel: str = "visits", width: float = WIDE) -> plt.Figure:
    """A funnel (``step`` label, ``sessions``, ``drop_off`` 0-1 from the step before) as horizontal bars,
    first step on top, each bar labelled with its count and, from the second on, the share lost."""
    fig, ax = plt.subplots(figsize=(width, max(2.0, 0.6 * len(steps) + 1.2)))
    if steps.empty or steps["sessions"].sum() == 0:
        _no_data(ax, title, "no visits to show")
        return fig
    positions = np.arange(len(steps))[::-1]
    ax.barh(positions, steps["sessions"], color=[PALETTE[(2 * i) % len(PALETTE)] for i in range(len(steps))])
    for y, count, drop in zip(positions, steps["sessions"], steps["drop_off"]):
        lost = "" if pd.isna(drop) else f"  (−{100 * float(drop):.1f}%)"
        ax.text(count, y, f" {int(count):,}{lost}", va="center", fontsize=10)
    ax.set_yticks(positions, steps["step"])
    ax.set(title=title, xlabel=xlabel, ylabel="")
    ax.margins(x=0.25)
    return fig


# ------------------------------------------------------------------------ RFM and clustering charts

import numpy as np  # noqa: E402,F811


def _no_data(ax, title: str, message: str = "no customers to show") -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, fontsize=12, color="grey")
    ax.set(title=title, xticks=[], yticks=[])


def annotated_heatmap(
    matrix: pd.DataFrame,
    title: str,
    xlabel: str,
    ylabel: str,
    colour_label: str,
    value_format: str | Callable[[float], str] = "{:,.0f}",
    cmap: str = "Blues",
    min_text: float | None = None,
    colour_format: Callable[[float], str] | None = None,
) -> plt.Figure:
    """A small matrix as a colour grid with each cell's value written in it (empty cells blank).
    ``min_text`` (points): the figure grows so that no cell's text is smaller (the report's charts);
    ``colour_format`` writes the colour bar's numbers (e.g. with thousands separators)."""
    formatted = value_format.format if isinstance(value_format, str) else value_format
    labels = matrix.map(lambda v: "" if pd.isna(v) else formatted(v))
    width, height = 7.5, 5.5
    if min_text is not None and not matrix.empty:
        longest = max((len(t) for t in labels.to_numpy().ravel()), default=1)
        cells = 0.6 * min_text * max(1, longest) / 0.9 / 72  # inches a cell needs (see _colour_grid)
        label_room = 0.1 * max((len(str(i)) for i in matrix.index), default=1) + 2.2
        width = max(width, matrix.shape[1] * cells / 0.62 + label_room)
        height = max(3.0, min(12.0, 0.42 * matrix.shape[0] + 2.4))
    fig, ax = plt.subplots(figsize=(width, height))
    if matrix.empty or matrix.isna().all().all():
        _no_data(ax, title)
        return fig
    _colour_grid(ax, matrix, cmap, colour_label, cell_text=labels, colour_format=colour_format)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return fig


def share_bars(
    frame: pd.DataFrame, category: str, columns: dict[str, str], title: str, xlabel: str
) -> plt.Figure:
    """Horizontal side-by-side bars (column -> legend label) per category, first row on top, each bar
    labelled with its value; for comparing shares such as customers vs revenue."""
    fig, ax = plt.subplots(figsize=(9, max(2.5, 0.55 * len(frame) + 1.2)))
    if frame.empty:
        _no_data(ax, title)
        return fig
    height = 0.8 / len(columns)
    positions = np.arange(len(frame))[::-1]
    for i, (column, label) in enumerate(columns.items()):
        offsets = positions + ((len(columns) - 1) / 2 - i) * height
        ax.barh(offsets, frame[column], height, label=label, color=PALETTE[(2 * i) % len(PALETTE)])
        for y, value in zip(offsets, frame[column]):
            ax.text(value, y, f" {value:,.1f}", va="center", fontsize=8)
    ax.set_yticks(positions, frame[category].astype(str))
    ax.set(title=title, xlabel=xlabel, ylabel="")
    ax.margins(x=0.12)
    ax.legend(loc="lower right")
    return fig


def lines_side_by_side(
    frame: pd.DataFrame,
    x: str,
    left: str,
    right: str,
    title: str,
    xlabel: str,
    left_label: str,
    right_label: str,
    marker_at=None,
    marker_label: str = "",
) -> plt.Figure:
    """Two line charts sharing the x axis side by side (e.g. silhouette and inertia against k), with an
    optional vertical marker on both (e.g. the chosen k)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    panels = ((axes[0], left, left_label, PALETTE[0]), (axes[1], right, right_label, PALETTE[2]))
    for ax, column, label, colour in panels:
        if frame.empty:
            _no_data(ax, label, "nothing was compared")
            continue
        ax.plot(frame[x], frame[column], marker="o", color=colour)
        if marker_at is not None:
            ax.axvline(marker_at, color="grey", linestyle=":", linewidth=1.5)
            ax.annotate(
                marker_label,
                (marker_at, 0.03),
                xycoords=("data", "axes fraction"),
                ha="left",
                va="bottom",
                fontsize=9,
                color="grey",
            )
        ax.set(title=label, xlabel=xlabel, ylabel=label)
        ax.set_xticks(frame[x])
    fig.suptitle(title, fontweight="bold")
    fig.subplots_adjust(
        top=0.84, wspace=0.36
    )  # room for the title and between the panels (tight_layout: +0.27 s)
    return fig


def radar(values: pd.DataFrame, title: str, value_label: str, zero_label: str | None = None) -> plt.Figure:
    """One closed line per row over the columns as spokes (e.g. cluster centres over features), with a
    dashed ring at 0 when ``zero_label`` names it; with fewer than three columns a radar has no area,
    so grouped bars are drawn instead."""
    if values.empty or values.shape[1] < 3:
        fig, ax = plt.subplots()
        if values.empty:
            _no_data(ax, title)
            return fig
        values.T.plot.bar(ax=ax, color=[PALETTE[(2 * i) % len(PALETTE)] for i in range(len(values))], rot=0)
        ax.set(title=title, xlabel="feature", ylabel=value_label)
        return fig
    angles = np.linspace(0, 2 * np.pi, values.shape[1], endpoint=False).tolist()
    fig, ax = plt.subplots(figsize=(8, 8), subplot_kw={"polar": True})
    low, high = float(np.nanmin(values.to_numpy())), float(np.nanmax(values.to_numpy()))
    margin = 0.1 * (high - low or 1.0)
    ax.set_ylim(min(low, 0.0) - margin, max(high, 0.0) + margin)
    if zero_label:
        ring = np.linspace(0, 2 * np.pi, 200)
        ax.plot(ring, np.zeros_like(ring), color="black", linestyle="--", linewidth=1, label=zero_label)
    for i, (name, row) in enumerate(values.iterrows()):
        points = row.to_list() + [row.iloc[0]]
        ax.plot(
            angles + angles[:1], points, color=PALETTE[(2 * i) % len(PALETTE)], linewidth=2, label=str(name)
        )
        ax.fill(angles + angles[:1], points, color=PALETTE[(2 * i) % len(PALETTE)], alpha=0.1)
    ax.set_xticks(angles, [str(c) for c in values.columns])
    ax.set_rlabel_position(90 + 180 / values.shape[1])
    ax.tick_params(axis="y", labelsize=8, labelcolor="grey")
    ax.set_title(f"{title}\n(radius: {value_label})", pad=28)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=2, frameon=False)
    return fig


def scatter_by_group(
    frame: pd.DataFrame,
    x: str,
    y: str,
    group: str,
    title: str,
    xlabel: str,
    ylabel: str,
    order: list[str] | None = None,
) -> plt.Figure:
    """Points coloured by group (in ``order``, which fixes the colours), for a 2-D projection."""
    fig, ax = plt.subplots(figsize=(9, 6))
    if frame.empty:
        _no_data(ax, title)
        return fig
    for i, name in enumerate(order or sorted(frame[group].unique())):
        part = frame[frame[group] == name]
        ax.scatter(part[x], part[y], s=9, alpha=0.55, color=PALETTE[(2 * i) % len(PALETTE)], label=str(name))
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(markerscale=2.5, fontsize=9, loc="best")
    return fig


def segment_bars(
    frame: pd.DataFrame, value: str, colours: dict[str, tuple], title: str, xlabel: str
) -> plt.Figure:
    """Horizontal bars per segment in the given order, each in the segment's own colour (the same
    colour in every chart and period), labelled with its value."""
    fig, ax = plt.subplots(figsize=(9, max(2.0, 0.45 * len(frame) + 1)))
    positions = np.arange(len(frame))[::-1]
    ax.barh(positions, frame[value], color=[colours.get(s, PALETTE[0]) for s in frame["segment"]])
    for y, amount in zip(positions, frame[value]):
        ax.text(amount, y, f" {amount:,.0f}", va="center", fontsize=10)
    ax.set_yticks(positions, frame["segment"])
    ax.set(title=title, xlabel=xlabel, ylabel="")
    ax.margins(x=0.18)
    return fig


def show(fig: plt.Figure) -> None:
    """Put a chart on the page now, in order with the cell's other outputs, and only once: the inline
    backend would otherwise add every open figure again at the end of the cell (a chart shown with
    ``display`` appeared twice)."""
    from IPython.display import display

    display(fig)
    plt.close(fig)


# --------------------------------------------------------------------- the customer report's charts


def text_points(fig: plt.Figure) -> list[float]:
    """The font size (points) of every visible, non-empty text of a figure (titles, labels, ticks,
    legends, annotations): what :func:`helpers.page.chart` states as the chart's smallest text."""
    from matplotlib.text import Text

    return [
        float(t.get_fontsize())
        for t in fig.findobj(Text)
        if t.get_visible() and t.get_text().strip() and t.figure is fig
    ]


def axis_formatter(formatter: Callable[[float], str]) -> FuncFormatter:
    """Tick labels written by a helpers.formats function (money with its currency, counts)."""
    return FuncFormatter(lambda value, _: formatter(value))


def labelled_bars(
    frame: pd.DataFrame,
    value: str,
    colours: dict[str, tuple],
    title: str,
    xlabel: str,
    names: dict[str, str] | None = None,
    value_format: Callable[[float], str] = "{:,.0f}".format,
    width: float = WIDE,
    key: str = "segment",
) -> plt.Figure:
    """Horizontal bars per row of ``frame`` (``key`` names it; ``names`` gives its words on the page),
    in the frame's order top to bottom, each in its own colour and labelled with its value."""
    fig, ax = plt.subplots(figsize=(width, max(2.0, 0.42 * len(frame) + 1.1)))
    positions = np.arange(len(frame))[::-1]
    values = frame[value].astype(float).fillna(0.0)
    ax.barh(positions, values, color=[colours.get(k, PALETTE[0]) for k in frame[key]])
    for y, amount in zip(positions, values):
        ax.text(amount, y, f" {value_format(amount)}", va="center", fontsize=10)
    ax.set_yticks(positions, [(names or {}).get(k, k) for k in frame[key]])
    ax.set(title=title, xlabel=xlabel, ylabel="")
    ax.xaxis.set_major_formatter(axis_formatter(value_format))
    ax.xaxis.set_major_locator(plt.MaxNLocator(3 if width < WIDE else 6))
    ax.margins(x=0.3 if width < WIDE else 0.18)
    return fig


def trend_panels(
    frame: pd.DataFrame,
    panels: list[tuple[str, str, Callable[[float], str]]],
    title: str,
    xlabel: str,
    width: float = WIDE,
) -> plt.Figure:
    """One small line chart per (column, title, tick formatter) of ``frame`` over its ``period``
    column: two a row when wide, one above the other when narrow. A period whose figure is not known
    leaves a gap."""
    wide = width >= WIDE
    count = len(panels)
    columns = min(2, count) if wide else 1
    rows = int(np.ceil(count / columns))
    fig, axes = plt.subplots(
        rows, columns, figsize=(width, (2.9 if wide else 2.5) * rows + 0.5), squeeze=False
    )
    periods = frame["period"].astype(str).tolist()
    step = max(1, int(np.ceil(len(periods) / (8 if wide else 4))))
    for i, (column, panel_title, formatter) in enumerate(panels):
        ax = axes[i // columns][i % columns]
        ax.plot(periods, frame[column].astype(float), marker="o", color=PALETTE[(2 * i) % len(PALETTE)])
        ax.set_title(panel_title)
        ax.yaxis.set_major_formatter(axis_formatter(formatter))
        ax.yaxis.set_major_locator(plt.MaxNLocator(4))
        ax.set_xticks(range(0, len(periods), step), periods[::step])
        ax.tick_params(axis="x", rotation=45 if len(periods) > 3 else 0)
        ax.margins(y=0.15)
        ax.set_xlabel(xlabel if i >= count - columns else "")
    for extra in range(count, rows * columns):
        axes[extra // columns][extra % columns].set_visible(False)
    fig.suptitle(title, fontweight="bold")
    fig.tight_layout()
    return fig


def percentile_radar(
    values: pd.DataFrame, title: str, value_label: str, width: float = WIDE, zero_name: str = ""
) -> plt.Figure:
    """One closed line per row (a cluster) over the columns as spokes, on a fixed 0-100 scale where
    further out is better; with fewer than three spokes, bars."""
    if values.empty or values.shape[1] < 3:
        fig, ax = plt.subplots(figsize=(width, 4))
        if values.empty:
            _no_data(ax, title, zero_name or "no customers to show")
            return fig
        values.T.plot.bar(ax=ax, color=[PALETTE[(2 * i) % len(PALETTE)] for i in range(len(values))], rot=0)
        ax.set(title=title, xlabel="", ylabel=value_label, ylim=(0, 100))
        return fig
    size = min(width, 8.0)
    fig, ax = plt.subplots(figsize=(size, size + 0.35 * len(values)), subplot_kw={"polar": True})
    angles = np.linspace(0, 2 * np.pi, values.shape[1], endpoint=False).tolist()
    ax.set_ylim(0, 100)
    ax.set_yticks([25, 50, 75], ["25", "50", "75"])
    for i, (name, row) in enumerate(values.iterrows()):
        points = row.to_list() + [row.iloc[0]]
        colour = PALETTE[(2 * i) % len(PALETTE)]
        ax.plot(angles + angles[:1], points, color=colour, linewidth=2, label=str(name))
        ax.fill(angles + angles[:1], points, color=colour, alpha=0.1)
    ax.set_xticks(angles, [str(c) for c in values.columns])
    ax.tick_params(axis="x", pad=8)
    ax.set_rlabel_position(90 + 180 / values.shape[1])
    ax.tick_params(axis="y", labelsize=MIN_POINTS + 1, labelcolor="grey")
    ax.set_title(f"{title}\n({value_label})", pad=24)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=1, frameon=False)
    return fig


def pareto_curve(
    curve: pd.DataFrame,
    marks: list[tuple[float, float, str]],
    title: str,
    xlabel: str,
    ylabel: str,
    width: float = WIDE,
) -> plt.Figure:
    """The Pareto curve of revenue over customers (``share_of_customers``, ``share_of_revenue``, 0-1,
    drawn in percent) with the diagonal of equal shares and a labelled point per (x, y, label) mark."""
    fig, ax = plt.subplots(figsize=(width, min(width * 0.62, 5.2)))
    if curve.empty:
        _no_data(ax, title)
        return fig
    ax.plot(100 * curve["share_of_customers"], 100 * curve["share_of_revenue"], color=PALETTE[0], linewidth=2)
    ax.plot([0, 100], [0, 100], color="grey", linestyle=":", linewidth=1)
    for x, y, label in marks:
        ax.plot([100 * x], [100 * y], marker="o", color=PALETTE[6])
        ax.annotate(
            label, (100 * x, 100 * y), xytext=(8, -4), textcoords="offset points", fontsize=10, va="top"
        )
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel, xlim=(0, 100), ylim=(0, 105))
    return fig


def retention_lines(
    table: pd.DataFrame, title: str, xlabel: str, ylabel: str, width: float = WIDE
) -> plt.Figure:
    """One line per column (a group, e.g. an acquisition channel) of shares (0-1, drawn in percent)
    over the rows (months after the first order)."""
    fig, ax = plt.subplots(figsize=(width, min(width * 0.55, 4.5)))
    if table.empty:
        _no_data(ax, title)
        return fig
    for i, column in enumerate(table.columns):
        ax.plot(
            table.index,
            100 * table[column].astype(float),
            marker="o",
            label=str(column),
            color=PALETTE[(2 * i) % len(PALETTE)],
        )
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.set_ylim(bottom=0)
    ax.legend(loc="best", fontsize=10)
    return fig
