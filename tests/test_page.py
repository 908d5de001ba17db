"""The report's building blocks: cohort retention, customer contribution and the headline by hand; the
sentences when nothing (or one thing) changed; the page's HTML pieces (every list row embedded, figures
stating their smallest text, headings in the page's language); and every chart of the report keeping
its text at 9 points or more at both widths."""

from __future__ import annotations

import datetime as dt
import json
import re

import ibis
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from helpers import formats, page, plots, report, trends  # noqa: E402
from helpers.config import STATUSES, load_params  # noqa: E402

AS_OF = dt.date(1998, 4, 30)


def orders(rows: list[tuple[str, str, float]]) -> ibis.Table:
    frame = pd.DataFrame(rows, columns=["customer_id", "order_ts", "amount"])
    frame["order_ts"] = pd.to_datetime(frame["order_ts"])
    frame["order_id"] = [str(i) for i in range(len(frame))]
    frame["is_return"] = frame["amount"] < 0
    return ibis.memtable(frame)


LOG = orders(
    [
        ("a", "1998-01-05", 10.0),
        ("a", "1998-02-10", 10.0),  # ordered again in month 1
        ("a", "1998-04-01", 10.0),  # and in month 3
        ("b", "1998-01-20", 10.0),
        ("b", "1998-01-25", 10.0),  # the same month: month 0
        ("c", "1998-02-02", 10.0),
        ("c", "1998-03-03", -10.0),  # a return is not ordering again
        ("d", "1998-02-28", 10.0),
        ("d", "1998-03-01", 10.0),  # month 1
        ("e", "1998-05-02", 10.0),  # after the as-of date
    ]
)


def test_cohort_retention_by_hand() -> None:
    table = trends.cohort_retention(LOG, AS_OF)
    # January: a, b; February: c, d. As of April, January has months 1-3 and February months 1-2.
    assert table.index.tolist() == ["1998-01", "1998-02"]
    assert table["customers"].tolist() == [2, 2]
    assert table.loc["1998-01", [1, 2, 3]].tolist() == [0.5, 0.0, 0.5]
    assert table.loc["1998-02", [1, 2]].tolist() == [0.5, 0.0] and pd.isna(table.loc["1998-02", 3])
    shown = report.cohort_for_page(table, "en")
    assert shown.index.tolist() == ["1998-01 (2)", "1998-02 (2)"] and shown.iloc[0, 0] == 50.0


def test_retention_by_acquisition_channel_by_hand() -> None:
    channels = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "channel": ["web", "web", "store", None]})
    table = trends.retention_by_group(LOG, channels, "channel", AS_OF)
    # web: a and b (January); month 1: a of 2; month 2: nobody; month 3: a of 2. store: c (February):
    # month 1 none, month 2 none; d has no channel; months beyond a cohort's reach are not counted.
    assert table.columns.tolist() == ["web", "store"]
    assert table["web"].tolist() == [0.5, 0.0, 0.5]
    assert table["store"].iloc[:2].tolist() == [0.0, 0.0] and pd.isna(table["store"].iloc[2])


def test_customer_contribution_by_hand() -> None:
    customers = pd.DataFrame(
        {
            "period_orders": [1, 2, 1, 1, 0] + [1] * 95,
            "period_revenue": [500.0, 300.0, 100.0, 50.0, -50.0] + [1.0] * 95,
        }
    )
    top, curve, revenue, buyers = trends.contribution(customers)
    # 99 customers ordered; revenue 995 (the return counts against it); top 1% = 1 customer (500),
    # top 5% = 5 customers (500+300+100+50+1), top 20% = 20 (951 + 15)
    assert (revenue, buyers) == (995.0, 99)
    assert top["customers"].tolist() == [1, 5, 20]
    assert top["revenue"].tolist() == [500.0, 951.0, 966.0]
    assert top["share_of_revenue"].tolist() == pytest.approx([500 / 995, 951 / 995, 966 / 995])
    assert curve["share_of_customers"].iloc[[0, -1]].tolist() == [0.0, 1.0]
    assert curve["share_of_revenue"].iloc[-1] == pytest.approx(1045 / 995)  # buyers' sum over all revenue
    # With groups of at least 5 customers: the top 1% (one customer) has no share, and each point of the
    # curve steps over at least 5 customers (99 // 5 = 19 steps).
    top, curve, _, _ = trends.contribution(customers, min_group_size=5)
    assert pd.isna(top["share_of_revenue"][0]) and top["share_of_revenue"][1] == pytest.approx(951 / 995)
    assert len(curve) == 20 and curve["share_of_customers"].diff().dropna().min() >= 5 / 99 - 1e-12
    params = load_params("cdnow", "1998-06")
    assert report.contribution_text(top, revenue, buyers, params) == (
        "The period's revenue ($995.00) came from 99 customers who ordered: too few to show the share of "
        "the best of them without telling single customers' spend."
    )
    nobody = trends.contribution(customers.assign(period_orders=0))
    assert nobody[3] == 0 and nobody[0]["customers"].tolist() == [0, 0, 0] and nobody[1].empty


def test_the_headline_has_words_for_every_change_and_no_nan() -> None:
    figures = {"buyers": 12, "revenue": 100.0, "orders": 12, "avg_order_value": float("nan")}
    counts = dict(zip(STATUSES, [0, 12, 0, 0, 0, 0]))
    first = report.headline(figures, counts, None, None, "en", "GBP")
    assert first["facts"] == {
        "buyers": "12",
        "revenue": "£100.00",
        "revenue_change": "–",
        "at_risk": "0",
        "expected_clv": "–",
    }
    assert first["values"]["avg_order_value"] is None and first["status"]["new"] == 12
    from_nothing = report.headline(figures, counts, {"revenue": 0.0}, "1998-05", "zh", "CNY")
    assert from_nothing["facts"]["revenue_change"] == "从 0 增加"
    assert from_nothing["facts"]["revenue"] == "¥100.00"
    assert "nan" not in json.dumps(first).lower() + json.dumps(from_nothing).lower()


def test_segment_sentences_when_nothing_or_one_segment_changed() -> None:
    table = pd.DataFrame(
        {
            "segment": ["Champions", "Long Gone", "Promising"],
            "customers": [10, 5, 3],
            "previous_customers": [10, 5, 3],
            "change": [0, 0, 0],
        }
    )
    assert report.segment_sentences(table, "1998-05", "en") == [
        "Every segment has as many customers as in 1998-05."
    ]
    one = table.assign(previous_customers=[10, 8, 3], change=[0, -3, 0])
    assert report.segment_sentences(one, "1998-05", "en") == [
        "Long Gone shrank by 3 customers to 5 (from 8 in 1998-05)."
    ]
    assert report.segment_sentences(one, None, "en") == []  # no compared period: said once at the top


def test_sections_vanish_with_their_stage_and_migration_needs_a_compared_period() -> None:
    everything = {key: object() for key in ("scores", "personas", "clv_model", "churn_warning", "clv")}
    anchors = [a for a, _ in report.shown_sections(everything, True, "en")]
    assert len(anchors) == 13 and "Segment-migration" in anchors
    alone = [a for a, _ in report.shown_sections({}, False, "zh")]
    assert "Segment-migration" not in alone and "Clusters" not in alone and "Customer-status" not in alone
    assert report.shown_sections({}, False, "zh")[0] == ("Headline-numbers", "核心指标")


def test_a_customer_list_embeds_every_row_with_its_sort_keys() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": [f"{i:05d}" for i in range(2500)],
            "status": ["at risk"] * 2500,
            "value_at_stake": np.linspace(1000.0, 0.5, 2500),
        }
    )
    html = page.customer_list(frame, "zh", "USD", report.LIST_KINDS).data
    payload = json.loads(re.search(r"class='ca-data'>(.*?)</script>", html).group(1))
    assert len(payload["rows"]) == 2500 and payload["rows"][-1] == ["02499", "流失风险", "US$0.50"]
    assert payload["keys"][0] == ["00000", "流失风险", 1000.0] and payload["numeric"] == [False, False, True]
    assert "搜索客户" in html and "第 1–10 条，共 2,500 条" in html and html.count("<tr>") == 11
    assert "maxBytes" not in html and "downsampl" not in html


def test_a_chart_states_its_smallest_text_for_each_drawing() -> None:
    frame = pd.DataFrame({"segment": ["a", "b"], "customers": [3, 1]})
    html = page.chart(plots.labelled_bars, frame, "customers", {}, "t", "customers").data
    assert re.search(r"data-min-text-px='13\.33' data-min-text-px-narrow='13\.33'", html)
    assert "media='(max-width: 760px)'" in html and html.count("data:image/png;base64,") == 2
    scrolled = page.chart(plots.annotated_heatmap, pd.DataFrame([[1.0]]), "t", "x", "y", "c", layout="scroll")
    assert "ca-scroll" in scrolled.data and scrolled.data.count("data:image/png") == 1


def report_charts(width: float) -> list:
    """Every chart the report draws, on small made-up data."""
    periods = pd.DataFrame(
        {"period": ["1998-04", "1998-05", "1998-06"], "revenue": [1.0, 2.0, 3.0], "orders": [1, 2, 3]}
    )
    panels = [("revenue", "Revenue", formats.money), ("orders", "Orders", formats.count)]
    radar = pd.DataFrame([[10.0, 50.0, 90.0], [80.0, 20.0, 40.0]], columns=["recent", "orders", "spend"])
    curve = pd.DataFrame({"share_of_customers": [0.0, 0.5, 1.0], "share_of_revenue": [0.0, 0.8, 1.0]})
    bars = pd.DataFrame({"segment": ["Champions", "Can't Lose Them"], "customers": [4064, 1651]})
    return [
        plots.trend_panels(periods, panels, "Per period", "period", width=width),
        plots.labelled_bars(bars, "customers", {}, "t", "customers", width=width),
        plots.percentile_radar(radar, "Cluster profiles", "percentile", width=width),
        plots.pareto_curve(curve, [(0.5, 0.8, "top 50%: 80%")], "t", "x", "y", width=width),
        plots.retention_lines(pd.DataFrame({"web": [0.2, 0.1]}, index=[1, 2]), "t", "x", "y", width=width),
    ]


@pytest.mark.parametrize("width", [plots.WIDE, plots.NARROW])
def test_no_chart_of_the_report_writes_smaller_than_nine_points(width: float) -> None:
    import matplotlib.pyplot as plt

    plots.use_theme()
    for fig in report_charts(width):
        assert min(plots.text_points(fig)) >= plots.MIN_POINTS
        plt.close(fig)
    wide_matrix = pd.DataFrame(np.arange(121.0).reshape(11, 11) * 150)
    heat = plots.annotated_heatmap(wide_matrix, "t", "x", "y", "c", min_text=plots.MIN_POINTS)
    assert min(plots.text_points(heat)) >= plots.MIN_POINTS  # the figure grew instead
    plt.close(heat)
