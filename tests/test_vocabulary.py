"""One customer vocabulary on the built tiny fixture: every status word counts the same customers in the
scores product (the status table of the scoring stage), the headline product, the report's cards, its
status table, its lifetime-value table by status, the churn warning and the exports; the flow since
the compared period adds up to both periods. And the report in Chinese: no missing glyph, no English
left on the page but proper names."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from bs4 import BeautifulSoup

from helpers import labels, plots, runner, status
from helpers.config import STATUSES

from conftest import DATASET, REPO, params_project, products, report_folder, restricted_folder


def page_tables(page: Path) -> list[pd.DataFrame]:
    """Every table of the report's page (class ca-table) as text, with its headings."""
    soup = BeautifulSoup(page.read_text(), "html.parser")
    tables = []
    for box in soup.select("div.ca-table > table"):
        heads = [th.get_text(strip=True) for th in box.select("thead th")]
        rows = [[td.get_text(strip=True) for td in tr.select("td")] for tr in box.select("tbody tr")]
        tables.append(pd.DataFrame(rows, columns=heads))
    return tables


def cards(page: Path) -> dict[str, str]:
    """The KPI cards of the page: label -> value as written."""
    soup = BeautifulSoup(page.read_text(), "html.parser")
    return {
        card.select_one(".ca-card-label").get_text(strip=True): card.select_one(".ca-card-value").get_text(
            strip=True
        )
        for card in soup.select("div.ca-card")
    }


def number(text: str) -> int:
    return int(text.replace(",", ""))


def test_the_same_word_counts_the_same_customers_everywhere(built_tiny: Path) -> None:
    folder, report_dir = products(built_tiny, "1998-06"), restricted_folder(built_tiny, "1998-06")
    scores = pd.read_parquet(folder / "09_scores.parquet")
    truth = status.count_of(scores["status"])  # the scoring stage's status table counts these
    assert sum(truth.values()) == len(scores) and truth["churned"] > 0 and truth["at risk"] > 0
    headline = json.loads((folder / "10_headline.json").read_text())
    assert headline["status"] == truth
    page = report_dir / "index.html"
    shown = cards(page)
    for word in STATUSES:
        if word != "potential":
            label = labels.t("kpi_status", "en", status=labels.status(word, "en", capital=True))
            assert number(shown[label]) == truth[word], word
    tables = page_tables(page)
    status_table = next(t for t in tables if list(t.columns[:2]) == ["Status", "Customers"] and "Change" in t)
    by_status = next(t for t in tables if list(t.columns[:3]) == ["Status", "Customers", "Expected value"])
    for table in (status_table, by_status):
        assert {row.Status: number(row.Customers) for row in table.itertuples()} == {
            word: n for word, n in truth.items() if word != "potential"
        }
    warned = pd.read_parquet(folder / "09_churn_warning.parquet")
    listed = status.count_of(warned["status"])
    assert {w: n for w, n in listed.items() if n} == {w: truth[w] for w in ("at risk", "lapsed")}
    churn_csv = pd.read_csv(report_dir / "exports" / "churn_warning.csv", dtype={"customer_id": str})
    assert status.count_of(churn_csv["status"]) == listed
    per_segment = pd.concat(
        [pd.read_csv(p, dtype={"customer_id": str}) for p in (report_dir / "exports").glob("segment_*.csv")]
    )
    assert status.count_of(per_segment["status"]) == truth  # every customer in exactly one segment file
    text = BeautifulSoup(page.read_text(), "html.parser").get_text(" ")
    expected = f"all {truth['at risk'] + truth['lapsed']:,} customers who are at risk or lapsed"
    assert expected in text


def test_the_status_flow_adds_up_to_both_periods(built_tiny: Path) -> None:
    before = pd.read_parquet(products(built_tiny, "1998-05") / "09_scores.parquet")
    now = pd.read_parquet(products(built_tiny, "1998-06") / "09_scores.parquet")
    flow = status.flow(before, now)
    assert flow.sum(axis=1).drop(status.NOT_YET, errors="ignore").to_dict() == {
        word: n for word, n in status.count_of(before["status"]).items() if n
    }
    assert flow.sum(axis=0).drop(status.GONE, errors="ignore").to_dict() == {
        word: n for word, n in status.count_of(now["status"]).items() if n
    }
    page = (report_folder(built_tiny, "1998-06") / "index.html").read_text()
    moves = status.biggest_moves(flow)
    count, total, was, is_now = moves[0]
    assert f"{count:,} of the {total:,} customers who were {was} in 1998-05 are now {is_now}." in page


def ensure_cjk_font() -> str:
    """A font with Chinese characters, installed by the project's own script when missing."""
    if plots.cjk_font() is None:
        subprocess.run(["bash", str(REPO / "tests" / "system_deps.sh"), "cjk-font"], check=True)
    family = plots.cjk_font()
    assert family is not None, "tests/system_deps.sh cjk-font did not install a CJK font"
    return family


# Latin words a Chinese page keeps: proper names, the dataset's title, currency symbols.
ALLOWED_LATIN = {w for name in labels.PROPER_NAMES for w in re.findall(r"[A-Za-z]{2,}", name)} | {
    "CDNOW",
    "US",
}


def test_the_report_in_chinese(built_tiny: Path, tmp_path: Path) -> None:
    """The tiny fixture's 1998-06 report rebuilt with report.language: zh (compared with 1998-05, so
    every section is there): no missing-glyph or font warning anywhere in the notebook, and no English
    word left on the page (as a reader sees it in the browser) but proper names."""
    from playwright.sync_api import sync_playwright

    from browser import CHROMIUM_ARGS, check_page, ensure_chromium

    ensure_cjk_font()
    root = tmp_path / "project"
    shutil.copytree(built_tiny, root, symlinks=True)
    dataset = root / "params" / DATASET / "dataset.yaml"
    dataset.write_text(dataset.read_text() + "report:\n  language: zh\n")
    done = subprocess.run(
        [sys.executable, "-m", "helpers", "run", "--period", "1998-06", "--only", "10"],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "CA_PROJECT_ROOT": str(root)},
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report_dir = restricted_folder(root, "1998-06")  # the whole report; the stakeholders' page is checked too
    executed = json.loads((report_dir / "notebooks" / "10_report.ipynb").read_text())
    streams = [
        "".join(output.get("text", ""))
        for cell in executed["cells"]
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
    ]
    assert streams == [], f"the notebook printed: {streams}"  # no glyph, font or other warning
    headline = json.loads((products(root, "1998-06") / "10_headline.json").read_text())
    assert headline["language"] == "zh" and headline["facts"]["revenue"].startswith("US$")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=ensure_chromium(), args=CHROMIUM_ARGS)
        result = check_page(browser, report_dir / "index.html", width=390)
        stakeholders = check_page(browser, report_folder(root, "1998-06") / "index.html", width=390)
        browser.close()
    for checked in (result, stakeholders):
        assert checked.title == "客户报告 · CDNOW · 1998-06" and checked.overflow == 0
        assert not checked.script_errors and not checked.dead_links and len(checked.charts) == 9
        english = sorted(set(re.findall(r"[A-Za-z]{2,}", checked.text)) - ALLOWED_LATIN)
        assert english == [], f"English left on the Chinese page: {english}"
    assert "受限报告" in stakeholders.text
    for words in ["核心指标", "流失风险", "冠军客户", "同期群留存", "搜索客户"]:
        assert words in result.text or words in (report_dir / "index.html").read_text()
    assert '<html lang="zh">' in (report_dir / "index.html").read_text()


def test_a_chinese_report_without_a_font_stops_before_building(tmp_path: Path, monkeypatch) -> None:
    root = params_project(tmp_path, dataset_extra="report:\n  language: zh\n")
    monkeypatch.setattr(plots, "cjk_font", lambda: None)
    with pytest.raises(RuntimeError) as caught:
        runner.run_period(DATASET, "1998-06", root=root, log=lambda _: None)
    assert str(caught.value) == (
        "cdnow 1998-06: report.language is zh, but no font with Chinese characters is installed, which "
        "report.language: zh needs for its charts; install one with `make cjk-font` (Debian/Ubuntu: "
        "apt-get install fonts-wqy-microhei); nothing was built."
    )
    assert not (root / "reports").exists()
