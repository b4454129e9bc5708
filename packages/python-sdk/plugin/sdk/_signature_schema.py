"""The `input_schema` of an entry declared without one, inferred from its handler's signature as the original does
(its `_infer_schema_from_func`): every parameter but `self`, `cls`, `args`, `kwargs`, `_ctx` and `*args` / `**kwargs`
is a property, typed from its annotation; one without a default is required; a default is the property's default.

Two choices of this SDK (docs/python-plugins.md#input-schemas-inferred-from-the-signature): only a default that is
exactly JSON (`is_exact_json`) goes in the schema (any other is left to Python, which applies it when the name is
not given), and a parameter annotated `T` whose default is `None` accepts `null` (the original writes
`"type": T` and then refuses its own default)."""

from __future__ import annotations

import copy
import inspect
import math
import sys
import typing
from typing import Any, Callable

from ._llm_result import schema_for_annotation

_SKIPPED = frozenset({"self", "cls", "kwargs", "_ctx", "args"})
_JSON_CHECK = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "object": dict, "array": list}


def _hints(fn: Callable, localns: dict | None = None) -> dict:
    """The parameters' annotations resolved one by one (an unresolvable one leaves that parameter untyped, not every
    one), in the handler's module and, when given, the class body it was declared in (as the original passes the
    class's locals); the return annotation is not looked at (under `from __future__ import annotations` it often
    names the class being defined)."""
    module = sys.modules.get(getattr(fn, "__module__", "") or "")
    globalns = vars(module) if module else {}
    raw = getattr(inspect.unwrap(fn), "__annotations__", None)
    hints: dict = {}
    for name, annotation in (raw.items() if isinstance(raw, dict) else ()):
        if name == "return":
            continue

        def holder() -> None:
            pass

        holder.__annotations__ = {name: annotation}
        try:
            hints[name] = typing.get_type_hints(holder, globalns=globalns, localns=localns, include_extras=True)[name]
        except Exception:  # noqa: BLE001 - a name the hint cannot resolve: untyped, as in the original
            continue
    return hints


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_MAX_DEFAULT_DEPTH = 32


def is_exact_json(value: Any, depth: int = 0) -> bool:
    """Whether `value` is JSON as it is: None, a bool, an int in the int64 range, a finite float, a str, and lists and
    dicts (with str keys) of those, of exactly these types (a tuple, a set, an Enum member or a str subclass is not)."""
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return True
    if kind is int:
        return _INT64_MIN <= value <= _INT64_MAX
    if kind is float:
        return math.isfinite(value)
    if depth >= _MAX_DEFAULT_DEPTH:
        return False
    if kind is list:
        return all(is_exact_json(item, depth + 1) for item in value)
    if kind is dict:
        return all(type(key) is str and is_exact_json(item, depth + 1) for key, item in value.items())
    return False


def _json_default(value: Any) -> tuple[bool, Any]:
    """(True, a copy of value) when `value` is exactly JSON; otherwise the schema carries no default, so the call
    leaves the name out and Python's own default applies (a tuple stays a tuple, `{1: "a"}` keeps its int key)."""
    if not is_exact_json(value):
        return False, None
    return True, copy.deepcopy(value)


def _fits(value: Any, kind: Any) -> bool:
    kinds = kind if isinstance(kind, list) else [kind]
    for k in kinds:
        if k == "null" and value is None:
            return True
        wanted = _JSON_CHECK.get(k)
        if wanted is not None and isinstance(value, wanted) and not (k in ("integer", "number") and isinstance(value, bool)):
            return True
    return False


def _bound_first(fn: Callable, signature: inspect.Signature) -> str | None:
    """The name of the parameter a method call binds (`self` / `cls` of a function defined in a class), if any."""
    if inspect.ismethod(fn):
        return None
    first = next(iter(signature.parameters.values()), None)
    return first.name if first is not None and first.name in ("self", "cls") else None


def positional_only(fn: Callable) -> list[str]:
    """The handler's positional-only parameters (`def f(self, x, /)`) but a bound `self` / `cls`: arguments are passed
    by name, so a call could never fill them."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return []
    bound = _bound_first(fn, signature)
    return [name for name, p in signature.parameters.items()
            if p.kind is inspect.Parameter.POSITIONAL_ONLY and name != bound]


def check_named_parameters(fn: Callable, what: str) -> None:
    """ValueError naming `what` (an entry, a tool) when its handler has positional-only parameters."""
    names = positional_only(fn)
    if names:
        listed = ", ".join(f"'{n}'" for n in names)
        raise ValueError(f"{what}: parameter(s) {listed} are positional-only (before '/'), but arguments are passed "
                         "by name; remove the '/'")


def unlisted_parameters(fn: Callable) -> list[str]:
    """Named parameters the inferred schema leaves out (`_ctx`, `args`, `kwargs`, a `cls` that is not bound) but the
    handler takes by name: callers may send them (the original's send `_ctx`), so they pass the unknown-name check."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return []
    bound = _bound_first(fn, signature)
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [name for name, p in signature.parameters.items()
            if name in _SKIPPED and name != bound and p.kind in named]


def infer_input_schema(fn: Callable, localns: dict | None = None) -> tuple[dict, bool]:
    """The inferred schema, and whether the handler takes `**kwargs` (then names the schema does not list are let
    through: the signature says it takes any name)."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return {"type": "object", "properties": {}}, True
    hints = _hints(fn, localns)
    properties: dict = {}
    required: list[str] = []
    any_name = False
    for name, parameter in signature.parameters.items():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            any_name = True
            continue
        if name in _SKIPPED or parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        annotation = hints.get(name, parameter.annotation)
        prop = {} if annotation is inspect.Parameter.empty else schema_for_annotation(annotation)
        if parameter.default is inspect.Parameter.empty:
            required.append(name)
        else:
            carried, default = _json_default(parameter.default)
            if carried:
                kind = prop.get("type")
                if default is None and isinstance(kind, str):
                    prop["type"] = [kind, "null"]
                elif kind is not None and not _fits(default, kind):
                    prop.pop("type")  # `x: int = "auto"`: the default is allowed, so any type is
                    prop.pop("items", None)
                prop["default"] = default
        properties[name] = prop
    schema: dict = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema, any_name
