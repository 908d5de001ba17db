"""Audiences: who reads which part of a period's report (``report.audiences``).

By default ``stakeholders`` get ``reports/<dataset>/<period>/index.html``: aggregates only (no customer
id, no per-customer row, the figures of groups smaller than ``privacy.min_group_size`` hidden), and
``crm`` gets ``reports/<dataset>/<period>/restricted/``: the same page with the customer lists, the
exports, every stage's page and executed notebook, readable by the owner only (or ``privacy.group``).

The report notebook runs once. Its cells that show individual customers carry the tag
``customer-level``; the stakeholders' copy of the page is exported without them (their headings
stay, followed by one sentence saying where the lists are). The report's tables hide the figures of
groups smaller than ``privacy.min_group_size`` (:func:`hide_small_groups`). The runner writes every
notebook, page and export into the customer-level audience's folder (the *work* folder) and adds the
aggregate pages before it publishes.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

CUSTOMER_LEVEL_TAG = "customer-level"
UNPUBLISHED = ".customer-level"  # the work folder when no audience may see customer-level content


@dataclass(frozen=True)
class Layout:
    """Where a run writes a period's report files: ``work`` (notebooks, exports, stage pages and the
    full report page), published to the customer-level audience, and the folders of the aggregate
    audiences, all under ``root`` (the run's staging folder)."""

    root: Path
    work: Path
    detailed: str | None  # the customer-level audience's name
    aggregate: dict[str, Path]  # audience name -> its folder

    @property
    def work_published(self) -> bool:
        return self.detailed is not None

    def depth(self, folder: Path) -> int:
        """How many folders ``folder`` is below the period's folder."""
        return len(folder.relative_to(self.root).parts)


def layout(params, root: Path) -> Layout:
    """The period's report layout under ``root`` from ``report.audiences``."""

    def folder(name: str) -> Path:
        return root if name == "." else root / name

    detailed = params.report.customer_level
    aggregate = {
        name: folder(audience.folder)
        for name, audience in params.report.audiences.items()
        if not audience.customer_level
    }
    if detailed is None:
        return Layout(root, root / UNPUBLISHED, None, aggregate)
    return Layout(root, folder(detailed[1].folder), detailed[0], aggregate)


def restricted_note(params) -> str:
    """The paragraph (HTML, in the report's language) that replaces a customer-level part of the page
    for an aggregate audience: where the lists are, or that they are not published."""
    import html

    from helpers import labels

    language = params.report.language
    detailed = params.report.customer_level
    if detailed is None:
        return f"<p class='ca-muted'>{html.escape(labels.t('restricted_unpublished', language))}</p>"
    href = "index.html" if detailed[1].folder == "." else f"{detailed[1].folder}/index.html"
    link = f"<a href='{html.escape(href)}'>{html.escape(labels.t('restricted_link', language))}</a>"
    before, _, after = labels.t("restricted_note", language, link="\x00").partition("\x00")
    return f"<p class='ca-muted'>{html.escape(before)}{link}{html.escape(after)}</p>"


HEADING = re.compile(r"<h([1-6])\b[^>]*>.*?</h\1>", re.S)


def _headings(cell) -> tuple[list[str], list[str]]:
    """The headings a cell shows: Markdown ones (its own source, or its Markdown outputs) and HTML
    ones (``<h2 id=...>`` in its HTML outputs), in order."""
    if cell.cell_type == "markdown":
        return [line for line in cell.source.splitlines() if line.lstrip().startswith("#")], []
    markdown, markup = [], []
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        text = data.get("text/markdown")
        if text:
            text = text if isinstance(text, str) else "".join(text)
            markdown += [line for line in text.splitlines() if line.lstrip().startswith("#")]
        page = data.get("text/html")
        if page:
            markup += [m.group(0) for m in HEADING.finditer(page if isinstance(page, str) else "".join(page))]
    return markdown, markup


def aggregate_notebook(node, note: str):
    """A copy of an executed notebook for an aggregate audience: every run of cells tagged
    ``customer-level`` gives way to the headings those cells show (so every link of the contents still
    leads somewhere) followed by ``note`` (HTML), once per run."""
    import nbformat

    def html_output(markup: str):
        return nbformat.v4.new_output("display_data", data={"text/html": markup})

    result = copy.deepcopy(node)
    cells, run = [], None
    for cell in result.cells:
        tagged = CUSTOMER_LEVEL_TAG in cell.get("metadata", {}).get("tags", [])
        if not tagged:
            if run is not None:
                run.outputs.append(html_output(note))
                run = None
            cells.append(cell)
            continue
        markdown, markup = _headings(cell)
        if markdown:
            cells.append(nbformat.v4.new_markdown_cell("\n\n".join(markdown)))
            run = None
        if run is None:
            run = nbformat.v4.new_code_cell("")
            cells.append(run)
        run.outputs += [html_output(m) for m in markup]
    if run is not None:
        run.outputs.append(html_output(note))
    result.cells = cells
    return result


def customer_level_cells(node) -> int:
    return sum(CUSTOMER_LEVEL_TAG in c.get("metadata", {}).get("tags", []) for c in node.cells)


# ---------------------------------------------------------------------------------- small groups

# Columns that count a group's members (shown whatever its size); every other figure of a small group
# (its spend, value, medians, averages) is hidden.
COUNTS = ("customers", "previous_customers", "change", "share_of_customers")


def hide_small_groups(table: pd.DataFrame, min_size: int, column: str = "customers") -> pd.DataFrame:
    """The table with every figure of a group of fewer than ``min_size`` customers (``column``) hidden
    (missing, which the page writes as "–") except its counts: a segment of three customers still says
    it has three, but not what they spend or are worth, which would be nearly one customer's own
    figures. Its name and text columns stay."""
    hidden = table[column].between(1, min_size - 1)
    shown = table.copy()
    for name in shown.select_dtypes("number").columns:
        if name not in COUNTS:
            shown[name] = shown[name].astype("float64").where(~hidden)
    return shown


def large_groups(
    table: pd.DataFrame, min_size: int, column: str = "customers", sizes: pd.Series | None = None
) -> pd.DataFrame:
    """The rows of the groups of no customer or at least ``min_size`` customers, their size in
    ``column`` or, row for row, in ``sizes`` (for a chart, which cannot show a figure as hidden)."""
    counts = table[column] if sizes is None else pd.Series(sizes.to_numpy(), index=table.index)
    return table[~counts.between(1, min_size - 1)]


def small_groups_note(min_size: int, language: str = "en") -> str:
    """The sentence that says which figures are hidden and why."""
    from helpers import labels

    if min_size <= 1:
        return labels.t("small_groups_none", language)
    return labels.t("small_groups", language, size=min_size)
