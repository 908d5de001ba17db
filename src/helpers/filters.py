"""Customer filters written in params, e.g. ``segment == "At Risk" and clv > 100``: the rules of user
action lists.

The grammar is small on purpose: column names of the scored customer table, numbers, quoted text,
comparisons (``== != < <= > >=``, chained like ``10 <= recency_days < 90``), ``in`` / ``not in`` a
parenthesised list, arithmetic ``+ - * /`` on numbers, ``and``, ``or``, ``not`` and parentheses. A
column name with blanks is written in backticks. The text is parsed with Python's parser (never
evaluated), every node is checked against the grammar and every column against the table's columns and
their kinds (text or number), so a mistake is one sentence at ``validate`` time, before anything runs.
A customer whose value is missing passes no comparison (``not`` of it does).
"""

from __future__ import annotations

import ast
import operator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.expressions import parse_tree

ARITHMETIC = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
COMPARISONS = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


class FilterError(ValueError):
    """The filter is not in the grammar or names a column the table lacks; the message says which."""


@dataclass(frozen=True)
class Filter:
    """A parsed filter: its text, the tree and the column names it reads (in order of appearance)."""

    text: str
    tree: ast.expr
    names: dict[str, str]  # placeholder identifier -> column name (backticked names)
    columns: tuple[str, ...]


def parse_filter(text: str) -> Filter:
    """Parse and check a filter's grammar; :class:`FilterError` names the first thing not allowed."""
    tree, names = parse_tree(
        text, FilterError, "it is not a condition on the customers' columns (see the grammar in the README)"
    )
    columns: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BoolOp | ast.Compare | ast.Tuple | ast.List | ast.expr_context):
            if isinstance(node, ast.Compare):
                for op, right in zip(node.ops, node.comparators, strict=True):
                    allowed = (
                        (ast.In, ast.NotIn) if isinstance(right, ast.Tuple | ast.List) else tuple(COMPARISONS)
                    )
                    if isinstance(right, ast.Tuple | ast.List) and not all(
                        isinstance(item, ast.Constant) for item in right.elts
                    ):
                        raise FilterError(
                            f"the list after 'in' holds only numbers or quoted text: {ast.unparse(right)}"
                        )
                    if not isinstance(op, allowed):
                        raise FilterError(
                            "'in' needs a parenthesised list on its right"
                            if isinstance(op, ast.In | ast.NotIn)
                            else f"{type(op).__name__} is not a comparison this grammar knows"
                        )
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in ARITHMETIC:
                raise FilterError(f"only + - * / are allowed, not {type(node.op).__name__}")
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, ast.Not | ast.USub | ast.UAdd):
                raise FilterError(f"{type(node.op).__name__} is not allowed")
        elif isinstance(node, ast.Name):
            name = names.get(node.id, node.id)
            if name not in columns:
                columns.append(name)
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, int | float | str):
                raise FilterError(f"{node.value!r} is neither a number nor quoted text")
        elif not isinstance(node, ast.boolop | ast.cmpop | ast.operator | ast.unaryop):
            raise FilterError(
                f"'{ast.unparse(node)}' is not allowed (only columns, numbers, text and conditions)"
            )
    if kind_of(tree, None, names) != "condition":
        raise FilterError("it is not a condition (a comparison, or conditions joined by and / or / not)")
    return Filter(text=text, tree=tree, names=names, columns=tuple(columns))


def kind_of(node: ast.expr, kinds: dict[str, str] | None, names: dict[str, str]) -> str:
    """'condition', 'number' or 'text' for a node; with ``kinds`` (column -> 'number' | 'text') also
    checks that every column exists and that comparisons and arithmetic do not mix text and numbers."""
    if isinstance(node, ast.BoolOp):
        for value in node.values:
            if kind_of(value, kinds, names) != "condition":
                raise FilterError(
                    f"'{ast.unparse(value)}' is not a condition, so it cannot be joined by and / or"
                )
        return "condition"
    if isinstance(node, ast.UnaryOp):
        inner = kind_of(node.operand, kinds, names)
        if isinstance(node.op, ast.Not) != (inner == "condition"):
            raise FilterError(f"'{ast.unparse(node)}' mixes a condition and a number")
        if inner == "text":
            raise FilterError(f"'{ast.unparse(node)}' puts a sign before text")
        return inner
    if isinstance(node, ast.Compare):
        sides = [node.left, *node.comparators]
        for left, op, right in zip(sides, node.ops, sides[1:], strict=False):
            left_kind = kind_of(left, kinds, names)
            items = right.elts if isinstance(right, ast.Tuple | ast.List) else [right]
            for item in items:
                right_kind = kind_of(item, kinds, names)
                if "condition" in (left_kind, right_kind):
                    raise FilterError(f"'{ast.unparse(node)}' compares a condition")
                if kinds is not None and left_kind != right_kind:
                    raise FilterError(
                        f"'{ast.unparse(node)}' compares {left_kind} with {right_kind}"
                        + (" (text is written in quotes)" if right_kind == "number" else "")
                    )
            if (
                isinstance(op, ast.Lt | ast.LtE | ast.Gt | ast.GtE)
                and kinds is not None
                and left_kind == "text"
            ):
                raise FilterError(f"'{ast.unparse(node)}' orders text; use == or in (...) for text")
        return "condition"
    if isinstance(node, ast.BinOp):
        for side in (node.left, node.right):
            if kind_of(side, kinds, names) != "number" and kinds is not None:
                raise FilterError(f"'{ast.unparse(node)}' does arithmetic on something that is not a number")
        return "number"
    if isinstance(node, ast.Name):
        name = names.get(node.id, node.id)
        if kinds is None:
            return "number"
        if name not in kinds:
            raise FilterError(f"there is no column '{name}'; use one of {', '.join(sorted(kinds))}")
        return kinds[name]
    if isinstance(node, ast.Constant):
        return "text" if isinstance(node.value, str) else "number"
    raise FilterError(f"'{ast.unparse(node)}' is not allowed")


def check_filter(text: str, kinds: dict[str, str]) -> Filter:
    """Parse ``text`` and check it against the table's columns and kinds (column -> 'number' | 'text')."""
    parsed = parse_filter(text)
    kind_of(parsed.tree, kinds, parsed.names)
    return parsed


def text_values(parsed: Filter) -> dict[str, set[str]]:
    """The quoted text each column is compared with (``segment == 'Champions'``, ``tier in ('A', 'B')``),
    so that a value no customer can have (a misspelt segment) is caught before the list comes out empty."""
    found: dict[str, set[str]] = {}
    for node in ast.walk(parsed.tree):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        for left, right in zip(sides, sides[1:], strict=False):
            for name_side, value_side in ((left, right), (right, left)):
                if not isinstance(name_side, ast.Name):
                    continue
                column = parsed.names.get(name_side.id, name_side.id)
                items = value_side.elts if isinstance(value_side, ast.Tuple | ast.List) else [value_side]
                texts = {i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)}
                if texts:
                    found.setdefault(column, set()).update(texts)
    return found


def column_kinds(table: pd.DataFrame) -> dict[str, str]:
    """Each column of a table as 'number' (numeric or boolean) or 'text' (anything else)."""
    return {name: kind_of_dtype(dtype) for name, dtype in table.dtypes.items()}


def kind_of_dtype(dtype) -> str:
    """'number' for numeric and boolean columns, 'date' for timestamps (filter on ``recency_days`` or
    ``tenure_days`` instead), 'text' for the rest."""
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "date"
    return "number" if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype) else "text"


def apply_filter(parsed: Filter, table: pd.DataFrame) -> pd.Series:
    """A boolean Series over ``table``'s rows: which customers the filter keeps (missing values fail)."""

    def value(node: ast.expr):
        if isinstance(node, ast.BoolOp):
            parts = [value(v) for v in node.values]
            combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            out = parts[0]
            for part in parts[1:]:
                out = combine(out, part)
            return out
        if isinstance(node, ast.UnaryOp):
            inner = value(node.operand)
            return (
                ~inner
                if isinstance(node.op, ast.Not)
                else (-inner if isinstance(node.op, ast.USub) else inner)
            )
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            out = pd.Series(True, index=table.index)
            for left, op, right in zip(sides, node.ops, sides[1:], strict=False):
                left_value = value(left)
                if isinstance(op, ast.In | ast.NotIn):
                    members = [item.value for item in right.elts]  # type: ignore[attr-defined]
                    found = pd.Series(left_value, index=table.index).isin(members)
                    out &= (
                        found
                        if isinstance(op, ast.In)
                        else (~found & pd.Series(left_value).notna().to_numpy())
                    )
                else:
                    left_side = pd.Series(left_value, index=table.index)
                    right_side = pd.Series(value(right), index=table.index)
                    known = left_side.notna() & right_side.notna()  # a missing value passes no comparison
                    out &= COMPARISONS[type(op)](left_side, right_side).where(known, False).astype(bool)
            return out
        if isinstance(node, ast.BinOp):
            return ARITHMETIC[type(node.op)](value(node.left), value(node.right))
        if isinstance(node, ast.Name):
            return table[parsed.names.get(node.id, node.id)]
        return node.value  # type: ignore[attr-defined]

    return pd.Series(value(parsed.tree), index=table.index).fillna(False).astype(bool)
