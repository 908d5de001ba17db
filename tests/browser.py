"""Headless Chromium (Debian's package, installed here if missing) driven by Playwright: opens a
report page from disk at a given screen width and reports what a reader would hit: broken images,
failed requests, script errors, error text, dead links, a page wider than the screen, chart text
smaller than 10 CSS px, raw column names, and customer lists that did not start."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ERROR_TEXT = re.compile(r"Traceback \(most recent call last\)|\b[A-Z][a-zA-Z]+Error: |Exception: ")
MIN_TEXT_PX = 10.0  # the smallest chart text a reader gets, in CSS pixels, at any screen width

# What a chart's smallest text measures on screen: its drawn size (stated on the figure for the
# drawing the browser chose) times the displayed width over the drawn width.
CHART_TEXT = """
Array.from(document.querySelectorAll('figure.ca-chart img')).map(img => {
  const figure = img.closest('figure');
  const narrow = img.currentSrc !== img.src;
  const drawn = parseFloat(narrow ? figure.dataset.minTextPxNarrow : figure.dataset.minTextPx);
  return [img.alt, narrow, Math.round(drawn * img.clientWidth / img.naturalWidth * 100) / 100];
})
"""
# Elements whose own text (not their children's) shows a raw name: [tag, text].
RAW_TEXT = """
(names) => {
  const found = [];
  const pattern = new RegExp('(^|[^A-Za-z0-9_])(' + names.join('|') + ')($|[^A-Za-z0-9_])');
  for (const element of document.querySelectorAll('body *')) {
    if (['SCRIPT', 'STYLE'].includes(element.tagName)) continue;
    const own = Array.from(element.childNodes).filter(n => n.nodeType === 3)
      .map(n => n.textContent).join(' ');
    if (pattern.test(own) && element.offsetParent !== null) {
      found.push([element.tagName, own.trim().slice(0, 80)]);
    }
  }
  return found;
}
"""


def ensure_chromium() -> str:
    """Path of Debian's chromium, installing the package with apt-get when it is not there."""
    found = shutil.which("chromium")
    if found:
        return found
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"]
    if subprocess.run(install, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], check=True, capture_output=True)
        subprocess.run(install, check=True, capture_output=True)
    return shutil.which("chromium") or "/usr/bin/chromium"


@dataclass
class PageCheck:
    path: Path
    width: int = 1280
    title: str = ""
    images: int = 0
    broken_images: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)
    error_text: list[str] = field(default_factory=list)
    dead_links: list[str] = field(default_factory=list)
    overflow: int = 0  # CSS px the page is wider than the screen
    charts: list[list] = field(default_factory=list)  # [alt, narrow drawing shown, smallest text px]
    raw_names: list[list[str]] = field(default_factory=list)
    lists_ready: int = 0
    links: int = 0
    text: str = ""
    screenshot: Path | None = None

    @property
    def small_chart_text(self) -> list[list]:
        return [chart for chart in self.charts if chart[2] < MIN_TEXT_PX]


def check_page(
    browser,
    path: Path,
    screenshot: Path | None = None,
    width: int = 1280,
    raw_names: list[str] | None = None,
) -> PageCheck:
    """Open ``path`` (file://) in a window ``width`` CSS px wide, let scripts run, and record
    everything a reader could trip over (``raw_names``: column names no element may show)."""
    result = PageCheck(path=path, width=width)
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.on("pageerror", lambda exc: result.script_errors.append(str(exc)))
    page.on("requestfailed", lambda req: result.failed_requests.append(req.url))
    page.goto(path.resolve().as_uri(), wait_until="load")
    page.wait_for_timeout(500)  # lists start after load
    result.title = page.title()
    images = page.evaluate(
        "Array.from(document.images).map(i => [i.currentSrc.slice(0, 60), i.complete && i.naturalWidth > 0])"
    )
    result.images = len(images)
    result.broken_images = [src for src, ok in images if not ok]
    result.text = page.evaluate("document.body.innerText")
    result.error_text = ERROR_TEXT.findall(result.text)
    result.overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    result.charts = page.evaluate(CHART_TEXT)
    if raw_names:
        result.raw_names = page.evaluate(RAW_TEXT, [re.escape(n) for n in raw_names])
    result.lists_ready = page.evaluate("document.querySelectorAll('.ca-list[data-ready]').length")
    hrefs = page.evaluate("Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'))")
    result.links = len(hrefs)
    for href in hrefs:
        target = urlparse(href)
        if target.scheme in ("http", "https", "mailto"):
            continue
        if href.startswith("#"):
            # As browsers do (HTML spec): the raw fragment first, then the percent-decoded one.
            fragment = href[1:]
            exists = any(
                page.evaluate(
                    "(id) => !!(document.getElementById(id) || document.getElementsByName(id).length)", f
                )
                for f in (fragment, unquote(fragment))
            )
            if fragment and not exists:
                result.dead_links.append(href)
        elif target.path and not (path.parent / unquote(target.path)).exists():
            result.dead_links.append(href)
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot), full_page=True)
        result.screenshot = screenshot
    page.close()
    return result


def search_list(browser, path: Path, index: int, query: str, width: int = 1280) -> dict:
    """Type ``query`` into the search box of the page's ``index``-th customer list and return what it
    shows: the rows in its data, the first shown row's cells and the list's info line."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(path.resolve().as_uri(), wait_until="load")
    box = page.locator(".ca-list").nth(index)
    box.locator("input").fill(query)
    page.wait_for_timeout(100)
    shown = {
        "rows": int(box.get_attribute("data-rows")),
        "first": box.locator("tbody tr").first.locator("td").all_inner_texts(),
        "info": box.locator(".ca-info").inner_text(),
        "overflow": page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        ),
    }
    page.close()
    return shown
