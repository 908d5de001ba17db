"""A real browser on the report: headless Chromium renders reports/index.html, the period page and
every stage page of a run on the tiny fixture period. Screenshots are kept in tests/artifacts/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from browser import CHROMIUM_ARGS, check_page, ensure_chromium
from conftest import REPO, report_folder

ARTIFACTS = REPO / "tests" / "artifacts"


@pytest.fixture(scope="module")
def built(built_tiny: Path) -> Path:
    return built_tiny


@pytest.fixture(scope="module")
def browser():
    executable = ensure_chromium()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def pages(root: Path) -> list[Path]:
    report = report_folder(root, "1998-06")
    return [root / "reports" / "index.html", report / "index.html", *sorted(report.glob("[0-9][0-9]_*.html"))]


def test_every_page_renders_cleanly_offline(built: Path, browser) -> None:
    checked = []
    for page in pages(built):
        name = "index" if page.parent.name == "reports" else f"{page.parent.name}_{page.stem}"
        result = check_page(browser, page, ARTIFACTS / f"{name}.png")
        checked.append(page.name)
        assert result.broken_images == [], f"{page}: images that did not load"
        assert result.failed_requests == [], f"{page}: requests that failed (must work offline)"
        assert result.script_errors == [], f"{page}: script errors"
        assert result.error_text == [], f"{page}: error text on the page"
        assert result.dead_links == [], f"{page}: links that lead nowhere"
        assert result.screenshot is not None and result.screenshot.stat().st_size > 5_000
    assert checked[:2] == ["index.html", "index.html"] and "02_cleaning.html" in checked


def test_the_period_page_is_the_stakeholder_report(built: Path, browser) -> None:
    report_dir = report_folder(built, "1998-06")
    page = report_dir / "index.html"
    assert page.read_text() == (report_dir / "10_report.html").read_text()
    result = check_page(browser, page)
    assert result.tables_initialised == 2  # churn warning and top customers by CLV: sortable, searchable
    # Segments, migration against 1998-05, cluster radar, CLV by segment: each chart once (the CLV chart
    # used to be drawn twice).
    assert result.images == 4 and not result.broken_images and not result.dead_links
    charts = re.findall(r'<img [^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page.read_text())
    assert len(charts) == len(set(charts)) == 4
    assert result.links >= 9 + 6  # the table of contents, the exports and the six stage pages
    text = page.read_text()
    for section in [
        "Headline numbers",
        "Segment migration",
        "Customers to act on",
        "How the numbers are made",
    ]:
        assert f'id="{section.replace(" ", "-")}"' in text
    exports = sorted(p.name for p in (report_dir / "exports").iterdir())
    assert {
        "churn_warning.csv",
        "churn_warning.xlsx",
        "priority_list.csv",
        "data_dictionary.csv",
        "segment_champions.csv",
    } <= set(exports)


def test_the_cleaning_page_shows_its_charts(built: Path, browser) -> None:
    result = check_page(browser, report_folder(built, "1998-06") / "02_cleaning.html")
    # The tiny extract has no rejected row, so the page says so in words and shows the monthly chart only.
    assert result.images == 1 and not result.broken_images
