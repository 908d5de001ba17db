"""Retention: ``privacy.retention_months`` keeps customer-level data only for the periods that ended
within that many months before the latest period of the dataset built (the one a run builds, or a
later one already built). On each run the older periods lose their products (all of
``data/processed/<dataset>/<period>/``), their restricted outputs (the customer-level audience's folder:
lists, exports, stage pages, executed notebooks), a failed run's notebooks and a hand run's exports;
their aggregate page (``index.html`` for stakeholders and ``run.json``) stays, marked with the date its
customer-level data was removed. A period that old cannot be built again while the setting holds.

The age is counted in data time (period ends), not from today, so that a schedule building each month
as it ends keeps a rolling window, and a historical dataset behaves the same whenever it is rebuilt.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import shutil
from pathlib import Path

from helpers import catalog, paths

RUN_FILE = "run.json"


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` calendar months earlier (the month's last day when it has no such day, or
    when ``day`` is the last of its month: 30 April -> 31 March)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    month_end = day.day == calendar.monthrange(day.year, day.month)[1]
    return dt.date(year, month, last if month_end else min(day.day, last))


def cutoff(params, root: Path | None = None) -> dt.date | None:
    """Periods ending before this day are past retention (None: retention is off)."""
    months = params.privacy.retention_months
    if months is None:
        return None
    from helpers.config import list_periods, load_params

    latest = params.period_end
    for period in list_periods(params.dataset, root):
        if period != params.period and catalog.is_built(params.dataset, period, root):
            latest = max(latest, load_params(params.dataset, period, root).period_end)
    return months_before(latest, months)


def refuse_expired(params, root: Path | None = None) -> str | None:
    """The sentence refusing to build a period that retention would remove at once, or None."""
    limit = cutoff(params, root)
    if limit is None or params.period_end >= limit:
        return None
    return (
        f"period {params.period} of {params.dataset} ended on {params.period_end}, before {limit}: "
        f"privacy.retention_months ({params.privacy.retention_months}) keeps no customer-level data that "
        "old, so it is not built; raise retention_months to build it."
    )


def customer_level_folders(dataset: str, period: str, params, root: Path | None = None) -> list[Path]:
    """What retention removes of a period: its products, its restricted report folder (or the whole
    report folder when its page itself lists customers), its failed run and its hand run."""
    report = paths.report_dir(dataset, period, root)
    detailed = params.report.customer_level
    at_root = (report / "notebooks").is_dir() or (detailed is not None and detailed[1].folder == ".")
    folders = [paths.processed_dir(dataset, period, root)]
    if at_root:
        folders.append(report)
    elif detailed is not None:
        folders.append(report / detailed[1].folder)
    folders += [paths.failed_dir(dataset, period, root), paths.interim_dir(dataset, period, root)]
    return [f for f in folders if f.exists()]


def apply(params, root: Path | None = None, log=print) -> list[dict]:
    """Remove the customer-level data of every period of the dataset past retention; returns one record
    per period purged (for the audit trail). A period being built by another run is left for later."""
    from helpers.config import list_periods, load_params
    from helpers.runner import period_lock

    limit = cutoff(params, root)
    if limit is None:
        return []
    done = []
    base = root or paths.project_root()
    for period in list_periods(params.dataset, root):
        if period == params.period:
            continue
        period_params = load_params(params.dataset, period, root)
        if period_params.period_end >= limit:
            continue
        folders = customer_level_folders(params.dataset, period, period_params, root)
        if not folders:
            continue
        try:
            with period_lock(params.dataset, period, root):
                for folder in folders:
                    shutil.rmtree(folder, ignore_errors=True)
                _mark(paths.report_dir(params.dataset, period, root), period_params.report.language)
        except RuntimeError as busy:  # being built right now: its own run or the next one removes it
            log(f"[{params.dataset} {params.period}] retention skipped {period}: {busy}")
            continue
        removed = [str(f.relative_to(base)) for f in folders]
        log(
            f"[{params.dataset} {params.period}] retention: removed the customer-level data of {period} "
            f"(ended {period_params.period_end}, before {limit})"
        )
        done.append(
            {
                "action": "retention",
                "dataset": params.dataset,
                "period": period,
                "period_end": str(period_params.period_end),
                "cutoff": str(limit),
                "retention_months": params.privacy.retention_months,
                "removed": removed,
            }
        )
    return done


def _mark(report: Path, language: str = "en") -> None:
    """Note in the period's run.json and on its page (kept) when its customer-level data went; the page's
    links into the removed folder become plain text."""
    today = dt.date.today()
    run_file = report / RUN_FILE
    if run_file.is_file():
        facts = json.loads(run_file.read_text())
        facts["customer_level_data_removed"] = today.isoformat()
        run_file.write_text(json.dumps(facts, indent=2, default=str) + "\n")
    page = report / "index.html"
    if page.is_file():
        page.write_text(marked_page(page.read_text(), today, language))


RETENTION_NOTICE_CLASS = "ca-retention"


def marked_page(text: str, removed: dt.date, language: str) -> str:
    """A period's page once retention removed its customer-level data: a notice under the title saying
    so and when, and no link into the restricted folder (its words stay as text). Marking twice adds
    nothing."""
    import re

    from helpers import formats, labels

    if RETENTION_NOTICE_CLASS in text:
        return text
    text = re.sub(r"<a href=[\"']restricted/[^\"']*[\"']>(.*?)</a>", r"\1", text)
    notice = labels.t("retention_notice", language, date=formats.date(removed, language))
    return re.sub(r"(</h1>)", rf"\1<p class='ca-muted {RETENTION_NOTICE_CLASS}'>{notice}</p>", text, count=1)
