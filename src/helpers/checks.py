"""What ``python -m helpers validate`` checks beyond the params model, without running anything: each
source is there and its header holds every mapped column (and every column a computed column reads),
the score's indicators are columns the scoring stage has, and every action list's filter reads columns of
the scored customers with values of their kind. (The status rules are numbers the params model checks
itself.)"""

from __future__ import annotations

from pathlib import Path

from helpers.config import STATUSES, Params, ParamsError, where_set
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
# What an action list's filter may read: the scored customers' columns, by kind (helpers.filters).
FILTER_KINDS = {
    **{c: "date" for c in RULE_COLUMNS if c.endswith("_ts")},
    **{c: "number" for c in NUMBER_COLUMNS},
    **{c: "text" for c in TEXT_COLUMNS},
    "status": "text",
    "cluster_name": "text",
    "value_at_stake": "number",
}


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
    unknown = [name for name in params.scoring.weights if name not in RULE_COLUMNS]  # source_weights: at run
    if unknown:
        path = where_set(params.dataset, params.period, "scoring.weights", root)
        raise ParamsError(
            f"{path}: setting 'scoring.weights' names {unknown}, which the scoring stage does not have; use "
            f"some of {', '.join(NUMBER_COLUMNS)}."
        )


def check_action_filters(params: Params, root: Path | None = None) -> None:
    """Every action list's filter reads columns the scored customers have, text compared with text and
    numbers with numbers; and every file of contacts names a list (ParamsError naming file and setting)."""
    from helpers.filters import FilterError, check_filter, text_values

    for name, spec in params.actions.lists.items():
        if spec is None or not spec.filter:
            continue
        path = where_set(params.dataset, params.period, f"actions.lists.{name}", root)
        try:
            parsed = check_filter(spec.filter, FILTER_KINDS)
        except FilterError as error:
            raise ParamsError(
                f"{path}: setting 'actions.lists.{name}.filter' {spec.filter!r}: {error}."
            ) from None
        known = {
            "segment": [rule.name for rule in params.rfm.segments],
            "status": list(STATUSES),
            "tier": list(params.scoring.tiers),
        }
        for column, values in text_values(parsed).items():
            unknown = sorted(values - set(known.get(column, values)))
            if unknown:
                raise ParamsError(
                    f"{path}: setting 'actions.lists.{name}.filter' {spec.filter!r}: no customer has "
                    f"{column} "
                    f"{', '.join(map(repr, unknown))}; the {column} values are {', '.join(known[column])}."
                )
    unknown = [name for name in params.actions.contacted if name not in params.actions.lists]
    if unknown:
        path = where_set(params.dataset, params.period, "actions.contacted", root)
        raise ParamsError(
            f"{path}: setting 'actions.contacted' names {unknown}, which are not lists of actions.lists; use "
            f"some of {', '.join(params.actions.lists)}."
        )


def check_period(params: Params, root: Path | None = None, seen: dict | None = None) -> None:
    """All of the above for one period."""
    check_rules(params, root)
    check_action_filters(params, root)
    check_sources(params, root, seen)
