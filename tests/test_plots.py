"""Chart helpers: the heatmap grid drawn without seaborn's trial drawing keeps what a reader sees."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

from helpers import plots  # noqa: E402


def test_annotated_heatmap_writes_each_value_in_a_readable_colour_and_leaves_empty_cells_blank() -> None:
    matrix = pd.DataFrame([[0.0, 1000.0], [np.nan, 250.0]], index=["r1", "r2"], columns=["1", "2"])
    fig = plots.annotated_heatmap(matrix, "t", "x", "y", "customers")
    ax = fig.axes[0]
    texts = {t.get_text(): t for t in ax.texts}
    assert set(texts) == {"0", "1,000", "250"}  # the NaN cell has no text
    assert to_rgba(texts["1,000"].get_color()) == to_rgba("white")  # darkest blue: white text
    assert to_rgba(texts["0"].get_color()) == to_rgba("0.15")  # lightest: dark text
    assert texts["1,000"].get_position() == (1.5, 0.5)  # second column, first row on top
    assert ax.get_ylim() == (2.0, 0.0) and [t.get_text() for t in ax.get_yticklabels()] == ["r1", "r2"]
    assert [t.get_rotation() for t in ax.get_xticklabels()] == [0.0, 0.0]  # short labels stay flat
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "customers"  # the colour bar


def test_heatmap_turns_long_column_labels_upright_and_labels_every_nth_of_many() -> None:
    segments = ["Potential Loyalist", "Can't Lose Them", "About To Sleep"] * 4
    long = pd.DataFrame(np.arange(24.0).reshape(2, 12), columns=[f"{s} {i}" for i, s in enumerate(segments)])
    assert {t.get_rotation() for t in plots.heatmap(long, "t", "x", "y", "c").axes[0].get_xticklabels()} == {
        90.0
    }
    many = pd.DataFrame(np.ones((40, 31)), columns=range(31))
    labels = [t.get_text() for t in plots.heatmap(many, "t", "x", "y", "c").axes[0].get_xticklabels()]
    assert labels == [str(i) for i in range(0, 31, 2)]  # 31 columns: every second
    empty = plots.heatmap(pd.DataFrame(), "t", "x", "y", "c").axes[0]
    assert [t.get_text() for t in empty.texts] == ["no customers to show"]
