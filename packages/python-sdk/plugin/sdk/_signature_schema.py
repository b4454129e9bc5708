"""The `input_schema` of an entry declared without one, inferred from its handler's signature as the original does
(its `_infer_schema_from_func`): every parameter but `self`, `cls`, `args`, `kwargs`, `_ctx` and `*args` / `**kwargs`
is a property, typed from its annotation; one without a default is required; a default is the property's default.

Two choices of this SDK (docs/python-plugins.md#input-schemas-inferred-from-the-signature): only a default JSON can
carry goes in the schema, and a parameter annotated `T` whose default is `None` accepts `null` (the original writes
`"type": T` and then refuses its own default)."""

from __future__ import annotations

import inspect
import json
import math
import sys
import typing
from typing import Any, Callable

from ._llm_result import schema_for_annotation

_SKIPPED = frozenset({"self", "cls", "kwargs", "_ctx", "args"})
_JSON_CHECK = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "object": dict, "array": list}


def _hints(fn: Callable) -> dict:
    try:
        module = sys.modules.get(getattr(fn, "__module__", "") or "")
        return typing.get_type_hints(fn, globalns=vars(module) if module else None, include_extras=True)
    except Exception:  # noqa: BLE001 - a name the hints cannot resolve: untyped, as in the original
        return {}


def _json_default(value: Any) -> tuple[bool, Any]:
    """(True, value) when `value` is JSON (None, bool, a finite number, a string, lists and dicts of those)."""
    if isinstance(value, float) and not math.isfinite(value):
        return False, None
    try:
        return True, json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError):
        return False, None


def _fits(value: Any, kind: Any) -> bool:
    kinds = kind if isinstance(kind, list) else [kind]
    for k in kinds:
        if k == "null" and value is None:
            return True
        wanted = _JSON_CHECK.get(k)
        if wanted is not None and isinstance(value, wanted) and not (k in ("integer", "number") and isinstance(value, bool)):
            return True
    return False


def infer_input_schema(fn: Callable) -> tuple[dict, bool]:
    """The inferred schema, and whether the handler takes `**kwargs` (then names the schema does not list are let
    through: the signature says it takes any name)."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return {"type": "object", "properties": {}}, True
    hints = _hints(fn)
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
