"""`@plugin_entry(llm_result_model=…)`: the shape of an entry's result an LLM should read, as the original derives it
(its result_contract.py): a schema from the model, and `llm_result_fields` = the schema's `required` names.

Without Pydantic, a model may be a dataclass, a class with annotations (a TypedDict too), a dict (a JSON Schema), or
any class with `model_json_schema()` / `schema()` (Pydantic's, when it is installed)."""

from __future__ import annotations

import dataclasses
import sys
import types
import typing
from typing import Any, Union, get_args, get_origin

_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object", list: "array"}
_UNDEFINED = frozenset({"PydanticUndefined", "Undefined"})
NO_SCHEMA = "llm_result_model/fields model must provide model_json_schema() or schema()"


def schema_for_annotation(annotation: Any) -> dict:
    """A JSON Schema for a type hint, as the original's `_schema_for_annotation`: str/int/float/bool/dict/list,
    `list[X]` with its items, `X | None` as `[type, "null"]`; anything else is `{}` (any value)."""
    if getattr(annotation, "__metadata__", None) is not None and getattr(annotation, "__args__", None):
        annotation = annotation.__args__[0]  # Annotated[X, …]
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) != 1:
            return {}
        inner = schema_for_annotation(rest[0])
        kind = inner.get("type")
        if isinstance(kind, str):
            inner["type"] = [kind, "null"]
        elif isinstance(kind, list) and "null" not in kind:
            inner["type"] = [*kind, "null"]
        return inner
    if origin is list:
        items = schema_for_annotation(args[0]) if args else {}
        return {"type": "array", **({"items": items} if items else {})}
    if origin is dict:
        return {"type": "object"}
    kind = _JSON_TYPES.get(annotation) if isinstance(annotation, type) else None
    return {"type": kind} if kind else {}


def _hints(cls: type) -> dict:
    try:
        module = sys.modules.get(cls.__module__)
        return typing.get_type_hints(cls, globalns=vars(module) if module else None, include_extras=True)
    except Exception:  # noqa: BLE001 - a name the hints cannot resolve: the raw annotations
        merged: dict = {}
        for klass in reversed(cls.__mro__):
            merged.update(getattr(klass, "__annotations__", {}) or {})
        return merged


def _object_schema(properties: dict, required: list[str]) -> dict | None:
    if not properties:
        return None
    schema: dict = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def _pydantic_schema(model: Any) -> dict | None:
    for name in ("model_json_schema", "schema"):
        method = getattr(model, name, None)
        if callable(method):
            try:
                schema = method()
            except Exception:  # noqa: BLE001 - as the original: try the next way
                continue
            if isinstance(schema, dict):
                return dict(schema)
    return None


def model_schema(model: Any) -> dict | None:
    """The result schema of `model`, or None when none can be derived."""
    if isinstance(model, dict):
        return dict(model)
    if not isinstance(model, type):
        return None
    if callable(getattr(model, "model_json_schema", None)):
        return _pydantic_schema(model)
    if dataclasses.is_dataclass(model):
        hints = _hints(model)
        properties, required = {}, []
        for field in dataclasses.fields(model):
            prop = schema_for_annotation(hints.get(field.name, field.type))
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                required.append(field.name)
            elif field.default is not dataclasses.MISSING:
                prop["default"] = field.default
            properties[field.name] = prop
        return _object_schema(properties, required)
    if callable(getattr(model, "schema", None)):
        return _pydantic_schema(model)
    hints = {k: v for k, v in _hints(model).items() if not k.startswith("_") and get_origin(v) is not typing.ClassVar}
    if hints:
        optional = getattr(model, "__optional_keys__", None)  # a TypedDict says which keys may be left out
        properties, required = {}, []
        for name, hint in hints.items():
            prop = schema_for_annotation(hint)
            if optional is not None:
                if name not in optional:
                    required.append(name)
            elif name in vars(model) or any(name in vars(k) for k in model.__mro__[1:] if k is not object):
                default = getattr(model, name)
                if type(default).__name__ not in _UNDEFINED and not callable(default):
                    prop["default"] = default
            else:
                required.append(name)
            properties[name] = prop
        return _object_schema(properties, required)
    return None


def fields_from_schema(schema: Any) -> list[str] | None:
    """The original's rule: the names in the schema's `required`, or None when it has no such list."""
    if not isinstance(schema, dict):
        return None
    required = schema.get("required")
    if not isinstance(required, (list, tuple)):
        return None
    return [name.strip() for name in required if isinstance(name, str) and name.strip()]


def normalize_fields(value: Any) -> list[str] | None:
    """`llm_result_fields` as the original reads it: names trimmed, empty and repeated ones dropped."""
    if value is None:
        return None
    if isinstance(value, (str, bytes, bytearray)) or not isinstance(value, (list, tuple)):
        raise ValueError("llm_result_fields must be a sequence of field names")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise ValueError("llm_result_fields must contain only strings")
        name = item.strip()
        if name and name not in out:
            out.append(name)
    return out


def return_model(fn: Any) -> Any:
    """The original infers the model from the return annotation when neither is given, for a type that has a schema
    of its own (Pydantic's `model_json_schema`). A dataclass or plain class is inferred only when given explicitly."""
    try:
        hint = typing.get_type_hints(fn, include_extras=True).get("return")
    except Exception:  # noqa: BLE001
        return None
    if getattr(hint, "__metadata__", None) is not None and getattr(hint, "__args__", None):
        hint = hint.__args__[0]
    if get_origin(hint) in (Union, types.UnionType):
        rest = [a for a in get_args(hint) if a is not type(None)]
        hint = rest[0] if len(rest) == 1 else None
    if isinstance(hint, type) and callable(getattr(hint, "model_json_schema", None)):
        return hint
    return None


def result_contract(fn: Any, llm_result_fields: Any, llm_result_model: Any, fields: Any) -> tuple[list[str] | None, dict | None]:
    """(llm_result_fields, llm_result_schema) of an entry, as the original's plugin_entry derives them."""
    if sum(1 for item in (llm_result_fields, llm_result_model, fields) if item is not None) > 1:
        raise ValueError("llm_result_fields, llm_result_model, and fields are mutually exclusive")
    model = llm_result_model if llm_result_model is not None else fields
    names = normalize_fields(llm_result_fields)
    schema = model_schema(model) if model is not None else None
    if model is None and names is None:
        model = return_model(fn)
        schema = model_schema(model) if model is not None else None
    if model is not None and schema is None:
        raise ValueError(NO_SCHEMA)
    if schema is None and names:
        schema = {"type": "object", "properties": {name: {} for name in names}, "required": list(names)}
    if names is None and schema is not None:
        names = fields_from_schema(schema)
    return (names or None), schema
