"""The building blocks of the customer report's page, as HTML: section headings with stable anchors,
KPI cards with their change and a small trend line, charts drawn wide for screens and narrow for
phones, tables with human headings and formatted numbers, and searchable customer lists that hold
every row (paged in the browser from data embedded in the page; no row is dropped).

Everything a reader sees is in the page's language (helpers.labels) and currency (helpers.formats);
the page's style sheet (classes ``ca-*``) is in the report's nbconvert template.
"""

from __future__ import annotations

import base64
import html
import io
import json
import struct
from dataclasses import dataclass, field
from typing import Any, Callable

import pandas as pd

from helpers import formats, labels, plots

NARROW_SCREEN = 760  # CSS px: narrower screens get the narrow drawing of a chart (the wide one is 864 px)
PAGE_ROWS = 10  # rows a customer list shows at a time


def _html(markup: str):
    from IPython.display import HTML

    return HTML(markup)


def escape(text: object) -> str:
    return html.escape(str(text), quote=True)


# ------------------------------------------------------------------------------------ headings


def heading(anchor: str, text: str, level: int = 2):
    """A section heading with a fixed anchor (the table of contents links to it in every language)."""
    return _html(f"<h{level} id='{escape(anchor)}'>{escape(text)}</h{level}>")


def paragraph(*sentences: str, muted: bool = False):
    """One paragraph of sentences (plain text, escaped)."""
    style = " class='ca-muted'" if muted else ""
    return _html(f"<p{style}>{' '.join(escape(s) for s in sentences if s)}</p>")


def bullets(items: list[str]):
    """A list of sentences."""
    return _html("<ul>" + "".join(f"<li>{escape(item)}</li>" for item in items) + "</ul>")


def definitions(items: list[tuple[str, str]], separator: str = " "):
    """A list of (term in bold, its text), the two joined by ``separator``."""
    entries = "".join(
        f"<li><strong>{escape(term)}</strong>{escape(separator)}{escape(text)}</li>" for term, text in items
    )
    return _html(f"<ul class='ca-guide'>{entries}</ul>")


def links(items: list[tuple[str, str]], label: str = ""):
    """A list of relative links (text, href)."""
    entries = "".join(f"<li><a href='{escape(href)}'>{escape(text)}</a></li>" for text, href in items)
    return _html(f"<ul class='ca-links' aria-label='{escape(label)}'>{entries}</ul>")


def contents(items: list[tuple[str, str]], title: str):
    """The table of contents: (anchor, title) of every section on the page."""
    entries = " · ".join(f"<a href='#{escape(a)}'>{escape(t)}</a>" for a, t in items)
    return _html(f"<nav class='ca-contents'><strong>{escape(title)}:</strong> {entries}</nav>")


# --------------------------------------------------------------------------------------- cards


@dataclass
class Card:
    """One KPI card: its label, the value as the page writes it, the change since the compared period,
    which way is good (+1 up, -1 down, 0 neither), and the figures of the trend (oldest first, None
    where unknown) with their period labels."""

    label: str
    value: str
    change: formats.Change | None = None
    good: int = 1
    series: list[float | None] = field(default_factory=list)
    periods: list[str] = field(default_factory=list)
    series_text: list[str] = field(default_factory=list)


def sparkline(series: list[float | None], description: str = "") -> str:
    """A small trend line as inline SVG (no text in it: nothing to read at any size); '' when fewer
    than two figures are known."""
    known = [(i, float(v)) for i, v in enumerate(series) if v is not None and not formats.is_missing(v)]
    if len(known) < 2:
        return ""
    low, high = min(v for _, v in known), max(v for _, v in known)
    span = (high - low) or 1.0
    last = max(1, len(series) - 1)
    points = [(4 + 92 * i / last, 26 - 22 * (v - low) / span) for i, v in known]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    x, y = points[-1]
    return (
        "<svg class='ca-spark' viewBox='0 0 100 30' preserveAspectRatio='none' role='img' "
        f"aria-label='{escape(description)}'><polyline points='{line}' fill='none' "
        "stroke='currentColor' stroke-width='2' vector-effect='non-scaling-stroke'/>"
        f"<circle cx='{x:.1f}' cy='{y:.1f}' r='2.5' fill='currentColor'/></svg>"
    )


def cards(items: list[Card], vs: str = ""):
    """The KPI cards as a grid: value, change (green when it goes the good way, red when the bad way)
    with ``vs`` after it ("vs 1998-05"), and the trend line."""
    out = []
    for card in items:
        change = ""
        if card.change is not None:
            tone = ""
            if card.change.direction not in (None, 0) and card.good:
                tone = " ca-good" if card.change.direction == card.good else " ca-bad"
            change = (
                f"<div class='ca-change{tone}'>{escape(card.change.text)}"
                + (f" <span class='ca-muted'>{escape(vs)}</span>" if vs else "")
                + "</div>"
            )
        description = " · ".join(f"{p}: {t}" for p, t in zip(card.periods, card.series_text))
        out.append(
            "<div class='ca-card'>"
            f"<div class='ca-card-label'>{escape(card.label)}</div>"
            f"<div class='ca-card-value'>{escape(card.value)}</div>{change}"
            f"{sparkline(card.series, description)}</div>"
        )
    return _html("<div class='ca-cards'>" + "".join(out) + "</div>")


# -------------------------------------------------------------------------------------- charts


def _png(fig) -> tuple[str, int, int, float]:
    """A figure as base64 PNG (96 dpi, tight box), its pixel size and its smallest text in pixels."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    plt.close(fig)
    data = buffer.getvalue()
    width, height = struct.unpack(">II", data[16:24])  # the PNG header's IHDR
    smallest = min(plots.text_points(fig), default=plots.MIN_POINTS) * 96 / 72
    return base64.b64encode(data).decode("ascii"), width, height, smallest


def chart(draw: Callable[..., Any], *args: Any, alt: str = "", layout: str = "responsive", **kwargs: Any):
    """A chart on the page. ``responsive``: ``draw(*args, width=..., **kwargs)`` is drawn wide and
    narrow, the browser shows the narrow one on screens narrower than :data:`NARROW_SCREEN`; ``scroll``:
    drawn once, never shrunk, in a box that scrolls sideways on a narrow screen (heat maps, whose cells
    cannot get smaller). The smallest text of each drawing (px) is stated on the figure
    (``data-min-text-px``) for the browser tests."""
    if layout == "scroll":
        source, width, height, smallest = _png(draw(*args, **kwargs))
        return _html(
            f"<figure class='ca-chart ca-scroll' data-min-text-px='{smallest:.2f}'>"
            f"<img class='ca-fixed' src='data:image/png;base64,{source}' width='{width}' height='{height}' "
            f"alt='{escape(alt)}'></figure>"
        )
    wide, wide_width, wide_height, wide_smallest = _png(draw(*args, width=plots.WIDE, **kwargs))
    narrow, narrow_width, narrow_height, narrow_smallest = _png(draw(*args, width=plots.NARROW, **kwargs))
    return _html(
        f"<figure class='ca-chart' data-min-text-px='{wide_smallest:.2f}' "
        f"data-min-text-px-narrow='{narrow_smallest:.2f}' data-narrow-width='{narrow_width}'><picture>"
        f"<source media='(max-width: {NARROW_SCREEN}px)' srcset='data:image/png;base64,{narrow}' "
        f"width='{narrow_width}' height='{narrow_height}'>"
        f"<img src='data:image/png;base64,{wide}' width='{wide_width}' height='{wide_height}' "
        f"alt='{escape(alt)}'></picture></figure>"
    )


# -------------------------------------------------------------------------------------- tables

NUMERIC_KINDS = set(formats.KINDS)


def cell_text(value: object, kind: str, language: str, currency: str) -> str:
    """One cell as the page writes it: a figure by its kind, a status or segment in the page's
    language, a change, a yes/no, or text."""
    if kind in NUMERIC_KINDS:
        return formats.value(value, kind, currency, language)
    if formats.is_missing(value):
        return formats.MISSING
    if kind == "status":
        return labels.status(str(value), language)
    if kind == "segment":
        return labels.segment(str(value), language)
    if kind == "cluster":
        return labels.cluster(str(value), language)
    if kind == "change":
        return value.text if isinstance(value, formats.Change) else str(value)
    if kind == "date":
        return pd.Timestamp(value).date().isoformat()
    return str(value)


def _kind(frame: pd.DataFrame, name: str, kinds: dict[str, str]) -> str:
    if name in kinds:
        return kinds[name]
    if pd.api.types.is_bool_dtype(frame[name]):
        return "text"
    if pd.api.types.is_integer_dtype(frame[name]):
        return "count"
    if pd.api.types.is_float_dtype(frame[name]):
        return "number"
    return "text"


def table(
    frame: pd.DataFrame,
    language: str,
    currency: str = "USD",
    kinds: dict[str, str] | None = None,
    tones: dict[str, list[int]] | None = None,
):
    """A table with human headings (helpers.labels; an unlabelled column is an error) and formatted
    cells, in a box that scrolls sideways when the screen is narrower than the table. ``tones``: per
    column, +1/-1/0 per row to colour a cell good, bad or not at all."""
    kinds = kinds or {}
    columns = list(frame.columns)
    heads = "".join(
        f"<th class='{'ca-num' if _kind(frame, c, kinds) in NUMERIC_KINDS else ''}'>"
        f"{escape(labels.column(c, language))}</th>"
        for c in columns
    )
    rows = []
    for position, record in enumerate(frame.itertuples(index=False)):
        cells = []
        for name, value in zip(columns, record):
            kind = _kind(frame, name, kinds)
            classes = ["ca-num"] if kind in NUMERIC_KINDS or kind == "change" else []
            tone = (tones or {}).get(name)
            if tone is not None and tone[position]:
                classes.append("ca-good" if tone[position] > 0 else "ca-bad")
            cells.append(
                f"<td class='{' '.join(classes)}'>{escape(cell_text(value, kind, language, currency))}</td>"
            )
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return _html(
        f"<div class='ca-table'><table><thead><tr>{heads}</tr></thead><tbody>{''.join(rows)}</tbody>"
        "</table></div>"
    )


LIST_SCRIPT = """
<script>
(function () {
  if (window.caLists) { window.caLists(); return; }
  window.caLists = function () {
    document.querySelectorAll('.ca-list:not([data-ready])').forEach(function (box) {
      var data = JSON.parse(box.querySelector('script.ca-data').textContent);
      var input = box.querySelector('input'), body = box.querySelector('tbody');
      var info = box.querySelector('.ca-info'), buttons = box.querySelectorAll('button');
      var heads = box.querySelectorAll('th');
      var rows = data.rows.map(function (r, i) { return {cells: r, keys: data.keys[i],
        text: r.join(' ').toLowerCase()}; });
      var shown = rows, page = 0, size = data.pageRows, sortBy = -1, up = true;
      function draw() {
        var pages = Math.max(1, Math.ceil(shown.length / size));
        page = Math.min(page, pages - 1);
        var part = shown.slice(page * size, page * size + size);
        body.innerHTML = '';
        part.forEach(function (row) {
          var tr = document.createElement('tr');
          row.cells.forEach(function (cell, c) {
            var td = document.createElement('td');
            td.textContent = cell;
            if (data.numeric[c]) td.className = 'ca-num';
            tr.appendChild(td);
          });
          body.appendChild(tr);
        });
        info.textContent = shown.length ? data.info.replace('{first}', (page * size + 1).toLocaleString('en'))
          .replace('{last}', (page * size + part.length).toLocaleString('en'))
          .replace('{total}', shown.length.toLocaleString('en')) : data.empty;
        buttons[0].disabled = page === 0;
        buttons[1].disabled = page >= pages - 1;
      }
      input.addEventListener('input', function () {
        var words = input.value.toLowerCase().trim().split(/\\s+/).filter(Boolean);
        shown = rows.filter(function (row) {
          return words.every(function (w) { return row.text.indexOf(w) >= 0; });
        });
        page = 0; draw();
      });
      buttons[0].addEventListener('click', function () { page -= 1; draw(); });
      buttons[1].addEventListener('click', function () { page += 1; draw(); });
      heads.forEach(function (th, c) {
        th.addEventListener('click', function () {
          up = sortBy === c ? !up : !data.numeric[c]; sortBy = c;
          var sign = up ? 1 : -1;
          rows.sort(function (a, b) {
            var x = a.keys[c], y = b.keys[c];
            if (x === null) return 1; if (y === null) return -1;
            return x < y ? -sign : x > y ? sign : 0;
          });
          input.dispatchEvent(new Event('input'));
        });
      });
      box.setAttribute('data-ready', '1');
      draw();
    });
  };
  window.caLists();
})();
</script>
"""


def customer_list(
    frame: pd.DataFrame,
    language: str,
    currency: str = "USD",
    kinds: dict[str, str] | None = None,
    page_rows: int = PAGE_ROWS,
):
    """Every row of ``frame`` as a searchable, sortable list paged in the browser (the rows are
    embedded in the page: search covers the whole list). Without scripts the first page shows."""
    kinds = kinds or {}
    columns = list(frame.columns)
    kind_of = [_kind(frame, c, kinds) for c in columns]
    numeric = [k in NUMERIC_KINDS for k in kind_of]
    display_rows, key_rows = [], []
    for record in frame.itertuples(index=False):
        display_rows.append([cell_text(v, k, language, currency) for v, k in zip(record, kind_of)])
        key_rows.append(
            [
                (None if formats.is_missing(v) else float(v)) if n else cell_text(v, k, language, currency)
                for v, k, n in zip(record, kind_of, numeric)
            ]
        )
    data = {
        "rows": display_rows,
        "keys": key_rows,
        "numeric": numeric,
        "pageRows": page_rows,
        "info": labels.t("list_info", language, first="{first}", last="{last}", total="{total}"),
        "empty": labels.t("list_empty", language),
    }
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    heads = "".join(
        f"<th class='{'ca-num' if n else ''}'>{escape(labels.column(c, language))}</th>"
        for c, n in zip(columns, numeric)
    )
    first = "".join(
        "<tr>"
        + "".join(f"<td class='{'ca-num' if n else ''}'>{escape(v)}</td>" for v, n in zip(row, numeric))
        + "</tr>"
        for row in display_rows[:page_rows]
    )
    total = formats.count(len(display_rows))
    info = labels.t(
        "list_info",
        language,
        first=1 if display_rows else 0,
        last=min(page_rows, len(display_rows)),
        total=total,
    )
    search = labels.t("list_search", language)
    return _html(
        f"<div class='ca-list' data-rows='{len(display_rows)}'>"
        f"<div class='ca-list-bar'><input type='search' placeholder='{escape(search)}…' "
        f"aria-label='{escape(search)}'><span class='ca-info'>{escape(info)}</span>"
        f"<button type='button'>‹ {escape(labels.t('list_previous', language))}</button>"
        f"<button type='button'>{escape(labels.t('list_next', language))} ›</button></div>"
        f"<div class='ca-table'><table><thead><tr>{heads}</tr></thead><tbody>{first}</tbody></table></div>"
        f"<script type='application/json' class='ca-data'>{payload}</script></div>{LIST_SCRIPT}"
    )
