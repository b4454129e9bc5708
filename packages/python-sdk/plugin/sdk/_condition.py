"""A hook's `condition` (docs/hooks.md#conditions): a small expression over `args` and `entryId`, compiled once when
the class is defined and evaluated on every call without `eval`.

This is a line-by-line port of the TypeScript SDK's packages/sdk/src/hook-condition.ts (tokenizer → recursive-descent
parser → tree evaluator): the same grammar, precedence, values and error messages. test/fixtures/hook-conditions.json
is checked against both. JavaScript's semantics are kept where Python's differ: `&&` / `||` give one of their operands
(`(args.a || 'x') == 'x'`), `!` binds tighter than a comparison (`!args.a == true` is `(!args.a) == true`), equality is
strict (`true == 1` is false; lists and objects are equal only to themselves), strings compare and count (`.length`)
in UTF-16 code units, a number key is the number written as JavaScript writes it (`args.m[1.5]` reads key "1.5"), and
positions in error messages count UTF-16 code units.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable

MAX_LENGTH = 1000
MAX_DEPTH = 32
_ROOTS = ("args", "entryId")
_KEYWORDS = {"true": True, "false": False, "null": None}

# Longest first, so `===` wins over `==` and `<=` over `<`.
_OPERATORS = ("===", "!==", "==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "-", ".", ",", "(", ")", "[", "]")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"'}
_COMPARISONS = frozenset(("==", "!=", "===", "!==", "<", "<=", ">", ">=", "in"))
_FORBIDDEN = {
    "=": "assignment is not allowed",
    "+": "arithmetic is not allowed",
    "*": "arithmetic is not allowed",
    "/": "arithmetic is not allowed",
    "%": "arithmetic is not allowed",
    "?": "the ?: operator is not allowed",
    "`": "template strings are not allowed",
    ";": "only one expression is allowed",
    "{": "object literals are not allowed",
}
# JavaScript's `\s` (WhiteSpace and LineTerminator), which is not Python's.
_SPACE = re.compile("[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]")
_DIGIT = re.compile("[0-9]")
_NUMBER = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NAME_START = re.compile(r"[A-Za-z_$]")
_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]*")


class HookConditionError(ValueError):
    """A condition that cannot be compiled; `position` is 1-based, in UTF-16 code units of the condition's text."""

    def __init__(self, reason: str, position: int, source: str) -> None:
        super().__init__(f'{reason} at position {position} of "{source}"')
        self.reason = reason
        self.position = position
        self.source = source


class _Undefined:
    """JavaScript's `undefined`: what a missing property reads as. It equals `null` (None) and nothing else."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "undefined"


UNDEFINED = _Undefined()


def compile_condition(source: str) -> Callable[[Any, str], bool]:
    """A predicate over (args, entry_id); raises HookConditionError naming the problem and its position."""
    if not isinstance(source, str):
        raise TypeError("a hook condition must be a string")
    if _utf16_length(source) > MAX_LENGTH:
        raise HookConditionError(f"the condition is longer than {MAX_LENGTH} characters", MAX_LENGTH + 1, source)
    tree = _Parser(_tokenize(source), source).parse_condition()
    return lambda args, entry_id: _truthy(_evaluate(tree, args, entry_id))


# --- tokens: (kind, value, pos) with kind "number" | "string" | "name" | "op" | "end"; pos in code points ---


def _fail(reason: str, pos: int, source: str):
    raise HookConditionError(reason, _utf16_offset(source, pos) + 1, source)


def _tokenize(source: str) -> list[tuple[str, Any, int]]:
    tokens: list[tuple[str, Any, int]] = []
    i = 0
    n = len(source)
    while i < n:
        c = source[i]
        if _SPACE.match(c):
            i += 1
            continue
        if _DIGIT.match(c) or (c == "." and i + 1 < n and _DIGIT.match(source[i + 1])):
            match = _NUMBER.match(source, i)
            text = match.group(0) if match else c
            if i + len(text) < n and _NAME_START.match(source[i + len(text)]):
                _fail(f"malformed number '{text}…'", i, source)
            tokens.append(("number", float(text), i))
            i += len(text)
            continue
        if c in ("'", '"'):
            start = i
            value = []
            i += 1
            while True:
                if i >= n:
                    _fail("unterminated string", start, source)
                ch = source[i]
                if ch == c:
                    break
                if ch == "\\":
                    nxt = source[i + 1] if i + 1 < n else None
                    if nxt is None or nxt not in _ESCAPES:
                        _fail(f"unknown escape '\\{_js_char(nxt or '')}' in a string", i, source)
                    value.append(_ESCAPES[nxt])
                    i += 2
                    continue
                value.append(ch)
                i += 1
            i += 1
            tokens.append(("string", "".join(value), start))
            continue
        if _NAME_START.match(c):
            name = _NAME.match(source, i).group(0)
            tokens.append(("name", name, i))
            i += len(name)
            continue
        op = next((o for o in _OPERATORS if source.startswith(o, i)), None)
        if op is not None:
            tokens.append(("op", op, i))
            i += len(op)
            continue
        if c == "=":
            _fail("arrow functions are not allowed" if source[i + 1 : i + 2] == ">" else _FORBIDDEN["="], i, source)
        if c in ("&", "|"):
            _fail(f"'{c}' is not an operator here; use '{c}{c}'", i, source)
        _fail(_FORBIDDEN.get(c) or f"unexpected character '{_js_char(c)}'", i, source)
    tokens.append(("end", None, n))
    return tokens


# --- the tree: tuples ("literal", v) ("root", name) ("list", items) ("member", obj, key) ("not", x) ("negate", x)
# ("logical", op, left, right) ("compare", op, left, right) ---


class _Parser:
    def __init__(self, tokens: list[tuple[str, Any, int]], source: str) -> None:
        self.tokens = tokens
        self.source = source
        self.index = 0
        self.depth = 0

    def parse_condition(self) -> tuple:
        if self.peek()[0] == "end":
            self.fail("the condition is empty", self.peek())
        node = self.parse_or()
        nxt = self.peek()
        if nxt[0] != "end":
            if nxt[0] == "op" and nxt[1] == "(":
                self.fail("function calls are not allowed", nxt)
            self.fail(f"unexpected {_describe(nxt)}", nxt)
        return node

    def parse_or(self) -> tuple:
        left = self.parse_and()
        while self.take_op("||"):
            left = ("logical", "||", left, self.parse_and())
        return left

    def parse_and(self) -> tuple:
        left = self.parse_comparison()
        while self.take_op("&&"):
            left = ("logical", "&&", left, self.parse_comparison())
        return left

    def parse_comparison(self) -> tuple:
        left = self.parse_unary()
        nxt = self.peek()
        op = nxt[1] if nxt[0] == "op" or (nxt[0] == "name" and nxt[1] == "in") else None
        if op is None or op not in _COMPARISONS:
            return left
        self.index += 1
        right = self.parse_unary()
        after = self.peek()
        if after[0] in ("op", "name") and after[1] in _COMPARISONS:
            self.fail("comparisons cannot be chained; use && between them", after)
        return ("compare", op, left, right)

    def parse_unary(self) -> tuple:
        def parse() -> tuple:
            if self.take_op("!"):
                return ("not", self.parse_unary())
            if self.take_op("-"):
                return ("negate", self.parse_unary())
            return self.parse_postfix()

        return self.nested(parse)

    def parse_postfix(self) -> tuple:
        node = self.parse_primary()
        while True:
            nxt = self.peek()
            if self.take_op("."):
                name = self.peek()
                if name[0] != "name":
                    self.fail(f"expected a property name after '.', found {_describe(name)}", name)
                self.index += 1
                node = ("member", node, ("literal", name[1]))
            elif self.take_op("["):
                key = self.nested(self.parse_or)
                self.expect_op("]")
                node = ("member", node, key)
            elif nxt[0] == "op" and nxt[1] == "(":
                self.fail("function calls are not allowed", nxt)
            else:
                return node

    def parse_primary(self) -> tuple:
        token = self.peek()
        self.index += 1
        kind, value = token[0], token[1]
        if kind in ("number", "string"):
            return ("literal", value)
        if kind == "name":
            if value in _KEYWORDS:
                return ("literal", _KEYWORDS[value])
            if value in _ROOTS:
                return ("root", value)
            self.fail(f"unknown name '{value}' (only args and entryId can be used)", token)
        if kind == "op":
            if value == "(":
                inner = self.nested(self.parse_or)
                self.expect_op(")")
                return inner
            if value == "[":
                items = []
                if not self.take_op("]"):
                    while True:
                        items.append(self.nested(self.parse_or))
                        if not self.take_op(","):
                            break
                    self.expect_op("]")
                return ("list", items)
            self.fail(f"unexpected {_describe(token)}", token)
        self.fail("the condition ends too early", token)

    def nested(self, parse: Callable[[], tuple]) -> tuple:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail(f"the condition is nested more than {MAX_DEPTH} levels deep", self.peek())
        try:
            return parse()
        finally:
            self.depth -= 1

    def peek(self) -> tuple[str, Any, int]:
        return self.tokens[self.index]

    def take_op(self, value: str) -> bool:
        token = self.peek()
        if token[0] == "op" and token[1] == value:
            self.index += 1
            return True
        return False

    def expect_op(self, value: str) -> None:
        if not self.take_op(value):
            self.fail(f"expected '{value}', found {_describe(self.peek())}", self.peek())

    def fail(self, reason: str, token: tuple[str, Any, int]):
        _fail(reason, token[2], self.source)


def _describe(token: tuple[str, Any, int]) -> str:
    kind, value = token[0], token[1]
    if kind == "end":
        return "the end of the condition"
    if kind == "string":
        return f"string '{value}'"
    if kind == "number":
        return f"'{js_number_string(value)}'"
    return f"'{value}'"


# --- evaluation: never raises; a missing property is UNDEFINED, a comparison of mixed types is false ---


def _evaluate(node: tuple, args: Any, entry_id: str) -> Any:
    kind = node[0]
    if kind == "literal":
        return node[1]
    if kind == "root":
        return args if node[1] == "args" else entry_id
    if kind == "list":
        return [_evaluate(item, args, entry_id) for item in node[1]]
    if kind == "member":
        return _member(_evaluate(node[1], args, entry_id), _evaluate(node[2], args, entry_id))
    if kind == "not":
        return not _truthy(_evaluate(node[1], args, entry_id))
    if kind == "negate":
        value = _evaluate(node[1], args, entry_id)
        return -value if _is_number(value) else UNDEFINED
    if kind == "logical":
        left = _evaluate(node[2], args, entry_id)
        if node[1] == "&&":
            return _evaluate(node[3], args, entry_id) if _truthy(left) else left
        return left if _truthy(left) else _evaluate(node[3], args, entry_id)
    return _compare(node[1], _evaluate(node[2], args, entry_id), _evaluate(node[3], args, entry_id))


def _member(obj: Any, key: Any) -> Any:
    """Own properties only, as in JavaScript: a list's `length` and indexes, a string's `length`, a dict's keys."""
    if isinstance(key, bool) or not isinstance(key, (str, int, float)):
        return UNDEFINED
    if isinstance(obj, str):
        return _utf16_length(obj) if key == "length" else UNDEFINED
    name = key if isinstance(key, str) else js_number_string(key)
    if isinstance(obj, dict):
        return obj[name] if name in obj else UNDEFINED
    if isinstance(obj, (list, tuple)):
        if name == "length":
            return len(obj)
        index = _index(name, len(obj))
        return obj[index] if index is not None else UNDEFINED
    if isinstance(obj, (bytes, bytearray)):  # a Uint8Array in JavaScript: indexes, but `length` is inherited
        index = _index(name, len(obj))
        return obj[index] if index is not None else UNDEFINED
    return UNDEFINED


def _index(name: str, length: int) -> int | None:
    if not _ARRAY_INDEX.fullmatch(name):
        return None
    index = int(name)
    return index if index < length else None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _js_number(value: Any) -> float:
    """JavaScript's Number() of a Python number: an int past a float's range is ±Infinity, not OverflowError (a
    before hook may hand on `10**400`); a big int loses its last digits as a JavaScript number does."""
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    return value


def _is_nullish(value: Any) -> bool:
    return value is None or value is UNDEFINED


def _equal(a: Any, b: Any) -> bool:
    """Strict equality (`===`), except that a missing value (undefined) equals null."""
    if _is_nullish(a):
        return _is_nullish(b)
    if _is_nullish(b):
        return False
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return _js_number(a) == _js_number(b)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return a is b  # lists, dicts and bytes are objects: equal only to themselves


def _compare(op: str, left: Any, right: Any) -> bool:
    if op in ("==", "==="):
        return _equal(left, right)
    if op in ("!=", "!=="):
        return not _equal(left, right)
    if op == "in":
        if isinstance(right, (list, tuple)):
            return any(_equal(left, item) for item in right)
        if isinstance(right, str):
            return isinstance(left, str) and left in right
        if isinstance(right, (dict, bytes, bytearray)):
            return (isinstance(left, str) or _is_number(left)) and _member(right, left) is not UNDEFINED
        return False
    if _is_number(left) and _is_number(right):
        a, b = _js_number(left), _js_number(right)
    elif isinstance(left, str) and isinstance(right, str):
        a, b = _utf16(left), _utf16(right)
    else:
        return False
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


def _truthy(value: Any) -> bool:
    """JavaScript's Boolean(): false for null, undefined, false, 0, NaN and ''; true for every list and object."""
    if _is_nullish(value) or value is False or value == "":
        return False
    if _is_number(value):
        value = _js_number(value)
        return value != 0 and not math.isnan(value)
    return True


# --- JavaScript's strings and numbers ---


def _utf16(text: str) -> bytes:
    """Big-endian UTF-16: comparing these bytes compares the strings by code unit, as JavaScript does."""
    return text.encode("utf-16-be", "surrogatepass")


def _utf16_length(text: str) -> int:
    return len(_utf16(text)) // 2


def _utf16_offset(text: str, index: int) -> int:
    return _utf16_length(text[:index])


def _js_char(c: str) -> str:
    """`source[i]` in JavaScript: a character past U+FFFF is two code units, and indexing gives the first one."""
    if c and ord(c) > 0xFFFF:
        return chr(0xD800 + ((ord(c) - 0x10000) >> 10))
    return c


def js_number_string(value: float) -> str:
    """`String(n)` of JavaScript (Number::toString), from the shortest round-trip digits Python's repr also uses."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = _js_number(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    if value < 0:
        return "-" + js_number_string(-value)
    mantissa, _, exponent = repr(value).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    point = len(whole) + (int(exponent) if exponent else 0)  # the decimal point sits after `point` digits
    if whole == "0":  # 0.00123 → digits "123", point = 1 - 2 leading zeros of the fraction
        point = 1 - (len(fraction) - len(fraction.lstrip("0"))) - 1 + (int(exponent) if exponent else 0)
    digits = digits.rstrip("0") or "0"
    k, n = len(digits), point
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    sign = "+" if n - 1 >= 0 else "-"
    if k == 1:
        return f"{digits}e{sign}{abs(n - 1)}"
    return f"{digits[0]}.{digits[1:]}e{sign}{abs(n - 1)}"
