"""A hook's `condition` (docs/hooks.md#conditions): a small expression over `args` and `entryId`, the same language
as the TypeScript SDK's (`args.mode == 'fast' && !args.dryRun`). It is translated to a Python expression, parsed with
`ast` and checked against a whitelist when the class is defined, and evaluated by a tree walker — never `eval`."""

from __future__ import annotations

import ast
import re
from typing import Any, Callable

MAX_LENGTH = 1000
MAX_DEPTH = 32
_STRING = re.compile(r"""('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""")
_WORDS = {"null": "None", "true": "True", "false": "False"}
_MISSING = None


def _translate(text: str) -> str:
    parts = _STRING.split(text)
    out = []
    for index, part in enumerate(parts):
        if index % 2 == 1:  # a string literal, as written
            out.append(part)
            continue
        if "=" in re.sub(r"===|!==|==|!=|<=|>=", "", part):
            raise ValueError(f"invalid condition {text!r}: assignment is not allowed")
        part = part.replace("===", "==").replace("!==", "!=")
        part = part.replace("&&", " and ").replace("||", " or ")
        part = re.sub(r"!(?!=)", " not ", part)
        part = re.sub(r"\b(null|true|false)\b", lambda m: _WORDS[m.group(1)], part)
        out.append(part)
    return "".join(out)


_ALLOWED = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.Compare, ast.Eq, ast.NotEq,
    ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.Name, ast.Load, ast.Attribute, ast.Subscript, ast.Constant,
    ast.List,
)


def compile_condition(text: str) -> Callable[[dict, str], bool]:
    """A predicate over (args, entry_id); raises ValueError naming what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("a condition must be a non-empty string")
    if len(text) > MAX_LENGTH:
        raise ValueError(f"a condition may be at most {MAX_LENGTH} characters")
    try:
        tree = ast.parse(_translate(text).strip(), mode="eval")
    except SyntaxError as error:
        raise ValueError(f"invalid condition {text!r}: {error.msg}") from None

    def check(node: ast.AST, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise ValueError(f"invalid condition {text!r}: nested more than {MAX_DEPTH} levels")
        if not isinstance(node, _ALLOWED):
            raise ValueError(f"invalid condition {text!r}: {type(node).__name__} is not allowed")
        if isinstance(node, ast.Name) and node.id not in ("args", "entryId", "None", "True", "False"):
            raise ValueError(f"invalid condition {text!r}: unknown name '{node.id}' (only args and entryId)")
        if isinstance(node, ast.Compare) and len(node.ops) != 1:
            raise ValueError(f"invalid condition {text!r}: one comparison per operand pair")
        if isinstance(node, ast.Constant) and not isinstance(node.value, (str, int, float, bool, type(None))):
            raise ValueError(f"invalid condition {text!r}: {type(node.value).__name__} literals are not allowed")
        for child in ast.iter_child_nodes(node):
            check(child, depth + 1)

    check(tree, 0)
    return lambda args, entry_id: _truthy(_eval(tree.body, {"args": args, "entryId": entry_id}))


def _truthy(value: Any) -> bool:
    return value not in (None, False, 0, "") and value == value


def _member(value: Any, key: Any) -> Any:
    if isinstance(value, dict):
        return value.get(key) if isinstance(key, str) else None
    if key == "length" and isinstance(value, (str, list)):
        return len(value)
    if isinstance(value, list) and isinstance(key, int) and not isinstance(key, bool) and 0 <= key < len(value):
        return value[key]
    return None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    if _number(a) and _number(b):
        return a == b
    return type(a) is type(b) and a == b


def _eval(node: ast.AST, names: dict) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return names.get(node.id, {"None": None, "True": True, "False": False}.get(node.id))
    if isinstance(node, ast.List):
        return [_eval(e, names) for e in node.elts]
    if isinstance(node, ast.Attribute):
        return _member(_eval(node.value, names), node.attr)
    if isinstance(node, ast.Subscript):
        return _member(_eval(node.value, names), _eval(node.slice, names))
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, names)
        if isinstance(node.op, ast.Not):
            return not _truthy(value)
        return -value if _number(value) else None
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            return all(_truthy(_eval(v, names)) for v in node.values)
        return any(_truthy(_eval(v, names)) for v in node.values)
    if isinstance(node, ast.Compare):
        left, op, right = _eval(node.left, names), node.ops[0], _eval(node.comparators[0], names)
        if isinstance(op, ast.Eq):
            return _equal(left, right)
        if isinstance(op, ast.NotEq):
            return not _equal(left, right)
        if isinstance(op, ast.In):
            if isinstance(right, list):
                return any(_equal(left, item) for item in right)
            if isinstance(right, dict):
                return isinstance(left, str) and left in right
            if isinstance(right, str):
                return isinstance(left, str) and left in right
            return False
        if not ((_number(left) and _number(right)) or (isinstance(left, str) and isinstance(right, str))):
            return False
        return {ast.Lt: left < right, ast.LtE: left <= right, ast.Gt: left > right, ast.GtE: left >= right}[type(op)]
    raise ValueError(f"{type(node).__name__} is not allowed")
