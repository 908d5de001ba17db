"""Headless Chromium (Debian's package, installed here if missing) driven by Playwright: opens a
report page from disk and reports what a reader would hit: broken images, failed requests, script
errors, error text, dead links, tables that did not initialise."""

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
    images: int = 0
    broken_images: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)
    error_text: list[str] = field(default_factory=list)
    dead_links: list[str] = field(default_factory=list)
    tables_initialised: int = 0
    links: int = 0
    screenshot: Path | None = None


def check_page(browser, path: Path, screenshot: Path | None = None) -> PageCheck:
    """Open ``path`` (file://), let scripts run, and record everything a reader could trip over."""
    result = PageCheck(path=path)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("pageerror", lambda exc: result.script_errors.append(str(exc)))
    page.on("requestfailed", lambda req: result.failed_requests.append(req.url))
    page.goto(path.resolve().as_uri(), wait_until="load")
    page.wait_for_timeout(800)  # interactive tables initialise after load
    images = page.evaluate(
        "Array.from(document.images).map(i => [i.currentSrc.slice(0, 60), i.complete && i.naturalWidth > 0])"
    )
    result.images = len(images)
    result.broken_images = [src for src, ok in images if not ok]
    text = page.evaluate("document.body.innerText")
    result.error_text = ERROR_TEXT.findall(text)
    result.tables_initialised = page.evaluate(
        "document.querySelectorAll('.dt-container, .dataTables_wrapper').length"
    )
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
