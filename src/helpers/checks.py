"""What ``python -m helpers validate`` checks beyond the params model, without running anything: each
source is there and its header holds every mapped column (and every column a computed column reads),
and the score's indicators are columns the scoring stage has. (The status rules are numbers the params
model checks itself.)"""

from __future__ import annotations

from pathlib import Path

from helpers.config import Params, ParamsError, where_set
from helpers.ingest import check_columns, source_header
from helpers.rfm import CUSTOMER_COLUMNS
from helpers.scoring import CLV_INDICATORS

# The columns of the table the scoring stage scores.
RULE_COLUMNS = [
    *CUSTOMER_COLUMNS,
    *CLV_INDICATORS,
    "first_order_in_period",
    "typical_gap_days",
    "score",
    "tier",
    "driver_1",
    "driver_2",
]
TEXT_COLUMNS = {"customer_id", "rfm_code", "segment", "tier", "driver_1", "driver_2"}
NUMBER_COLUMNS = [c for c in RULE_COLUMNS if c not in TEXT_COLUMNS and not c.endswith("_ts")]


def check_sources(params: Params, root: Path | None = None, seen: dict | None = None) -> None:
    """Every configured source is there and its header holds the mapped columns (IngestError otherwise).
    ``seen`` caches headers across the periods of a dataset, which usually share their sources."""
    seen = {} if seen is None else seen
    for name, opts in params.sources.configured().items():
        key = (name, opts.model_dump_json(exclude={"columns"}))
        if key not in seen:
            seen[key] = source_header(opts, name, root)
        for setting in ("columns", "attributes", "stage_columns"):  # the last two: customers, leads
            wanted = opts.columns.mapped() if setting == "columns" else getattr(opts, setting, {})
            check_columns(opts, name, wanted, seen[key], root, setting)


def check_rules(params: Params, root: Path | None = None) -> None:
    """The score's indicators are columns the scoring stage has (ParamsError naming the file and the
    setting otherwise)."""
    unknown = [name for name in params.scoring.weights if name not in RULE_COLUMNS]
    if unknown:
        path = where_set(params.dataset, params.period, "scoring.weights", root)
        raise ParamsError(
            f"{path}: setting 'scoring.weights' names {unknown}, which the scoring stage does not have; use "
            f"some of {', '.join(NUMBER_COLUMNS)}."
        )


def check_period(params: Params, root: Path | None = None, seen: dict | None = None) -> None:
    """All of the above for one period."""
    check_rules(params, root)
    check_sources(params, root, seen)
