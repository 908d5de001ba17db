"""Computed columns: a canonical column written as arithmetic over source columns in params, e.g.
``amount: {expression: "Quantity * UnitPrice"}``.

The grammar is small on purpose: source column names, numeric literals, ``+ - * /``, unary minus and
parentheses. A name with blanks or other characters is written in backticks (`` `Unit Price` ``). The text
is parsed with Python's parser (never evaluated) and every node checked against that grammar, then
compiled to an engine (Ibis) expression over the columns' parsed numbers; a value that does not parse
makes the result null, so cleaning rejects the row with a reason.
"""

from __future__ import annotations

import ast
import operator
import re
from dataclasses import dataclass

import ibis.expr.types as ir

BACKTICKED = re.compile(r"`([^`]+)`")
OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


class ExpressionError(ValueError):
    """The expression is not in the grammar; the message says what is wrong."""


@dataclass(frozen=True)
class Expression:
    """A parsed computed column: its text, the tree, and the source columns it reads (in order)."""

    text: str
    tree: ast.expr
    names: dict[str, str]  # placeholder identifier -> source column name
    columns: tuple[str, ...]


def parse_tree(text: str, error: type[ValueError], not_parsed: str) -> tuple[ast.expr, dict[str, str]]:
    """Python's parse of ``text`` (never evaluated) with each backticked name replaced by a placeholder
    identifier, and placeholder -> name; ``error(not_parsed)`` when it is not an expression, or a
    backtick is not closed. Shared by computed columns and action-list filters."""
    names: dict[str, str] = {}

    def placeholder(match: re.Match) -> str:
        name = f"__col{len(names)}"
        names[name] = match.group(1)
        return name

    source = BACKTICKED.sub(placeholder, text)
    if "`" in source:
        raise error("a backtick is not closed")
    try:
        return ast.parse(source.strip(), mode="eval").body, names
    except SyntaxError:
        raise error(not_parsed) from None


def parse(text: str) -> Expression:
    """Parse and check an expression; :class:`ExpressionError` names the first thing not allowed."""
    tree, names = parse_tree(text, ExpressionError, "it is not arithmetic over column names and numbers")
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp):
            if type(node.op) not in OPERATORS:
                raise ExpressionError(f"only + - * / are allowed, not {type(node.op).__name__}")
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise ExpressionError("only a leading minus or plus is allowed")
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise ExpressionError(f"{node.value!r} is not a number; write column names without quotes")
        elif isinstance(node, ast.Name):
            found.append((node.col_offset, names.get(node.id, node.id)))
        elif not isinstance(node, (ast.operator, ast.unaryop, ast.Load)):
            raise ExpressionError(
                f"{type(node).__name__} is not allowed (column names, numbers, + - * / only)"
            )
    columns = list(dict.fromkeys(column for _, column in sorted(found)))  # in the order they are written
    if not columns:
        raise ExpressionError("it names no source column")
    return Expression(text, tree, names, tuple(columns))


def compile_to(expression: Expression, values: dict[str, ir.NumericValue]) -> ir.NumericValue:
    """The expression as an engine expression, each source column given by ``values`` (its parsed number)."""

    def build(node: ast.expr) -> ir.NumericValue | float:
        if isinstance(node, ast.BinOp):
            return OPERATORS[type(node.op)](build(node.left), build(node.right))
        if isinstance(node, ast.UnaryOp):
            inner = build(node.operand)
            return -inner if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.Constant):
            return float(node.value)
        return values[expression.names.get(node.id, node.id)]

    return build(expression.tree)
