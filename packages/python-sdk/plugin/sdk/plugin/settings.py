"""`PluginSettings` / `SettingsField`: a plugin's typed settings, as the original's (a Pydantic model there) without
needing Pydantic: fields are the class's annotations, with their defaults; `model_validate(section)` checks the
types (`str`, `int`, `float`, `bool`, `list`, `dict`, `X | None`, `list[X]`) and the constraints `ge`, `gt`, `le`,
`lt`, `min_length`, `max_length`; names it does not declare are ignored. `create_settings_safe(cls, section)` falls
back to a field's default when its value is bad (with a warning), as the original's. Nothing loads it by itself:
the original's plugins call `create_settings_safe` with a section of `await self.config.dump()` (docs/python-plugins.md)."""

from __future__ import annotations

import copy
import math
import sys
import types
import typing
from typing import Any, Union, get_args, get_origin

from .._llm_result import schema_for_annotation
from .._logger import PluginLogger

_UNSET: Any = type("PydanticUndefinedType", (), {"__repr__": lambda self: "PydanticUndefined"})()
PydanticUndefined = _UNSET
_CONSTRAINTS = ("ge", "gt", "le", "lt", "min_length", "max_length")
logger = PluginLogger("sdk.plugin.settings")


class SettingsValidationError(ValueError):
    """A section that does not fit the settings class: `errors()` lists `{ loc, msg }` as Pydantic's does."""

    def __init__(self, cls_name: str, issues: list[dict]) -> None:
        self._issues = issues
        text = "; ".join(f"{'.'.join(map(str, i['loc']))}: {i['msg']}" for i in issues)
        super().__init__(f"{len(issues)} validation error(s) for {cls_name}: {text}")

    def errors(self) -> list[dict]:
        return [dict(i) for i in self._issues]


class FieldInfo:
    """One field's declaration (`SettingsField(…)`, or a plain default)."""

    def __init__(self, default: Any = _UNSET, *, default_factory: Any = None, description: str = "",
                 hot: bool = False, json_schema_extra: Any = None, **constraints: Any) -> None:
        self.default = default
        self.default_factory = default_factory
        self.description = description
        self.annotation: Any = None
        self.constraints = {k: v for k, v in constraints.items() if k in _CONSTRAINTS and v is not None}
        extra = dict(json_schema_extra) if isinstance(json_schema_extra, dict) else {}
        extra["hot"] = bool(hot)
        self.json_schema_extra = extra
        self.metadata: list = [("__neko_hot__", bool(hot))]

    def is_required(self) -> bool:
        return self.default is _UNSET and self.default_factory is None

    def get_default(self, call_default_factory: bool = True, **_: Any) -> Any:
        if self.default_factory is not None and call_default_factory:
            return self.default_factory()
        return copy.deepcopy(self.default)


def SettingsField(default: Any = _UNSET, *, hot: bool = False, description: str = "",  # noqa: N802 - the original's
                  **kwargs: Any) -> Any:
    """A field with a `hot` mark (may change while the plugin runs), a description and constraints."""
    return FieldInfo(default, hot=hot, description=description, **kwargs)


def _type_error(value: Any, annotation: Any, path: str) -> str | None:
    origin, args = get_origin(annotation), get_args(annotation)
    if getattr(annotation, "__metadata__", None) is not None and args:
        return _type_error(value, args[0], path)
    if annotation is Any or annotation is None:
        return None
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        rest = [a for a in args if a is not type(None)]
        errors = [_type_error(value, a, path) for a in rest]
        return None if any(e is None for e in errors) else (errors[0] if errors else None)
    if origin is list or annotation is list:
        if not isinstance(value, list):
            return "Input should be a valid list"
        for index, item in enumerate(value):
            problem = _type_error(item, args[0], path) if args else None
            if problem:
                return f"[{index}] {problem}"
        return None
    if origin is dict or annotation is dict:
        return None if isinstance(value, dict) else "Input should be a valid dictionary"
    checks = {bool: (bool,), int: (int,), float: (int, float), str: (str,)}
    if annotation in checks:
        if annotation is not bool and isinstance(value, bool):
            return f"Input should be a valid {_NAMES[annotation]}"
        if not isinstance(value, checks[annotation]):
            return f"Input should be a valid {_NAMES[annotation]}"
        if annotation is float and not math.isfinite(float(value)):
            return "Input should be a finite number"
    return None


_NAMES = {bool: "boolean", int: "integer", float: "number", str: "string"}


def _constraint_error(value: Any, constraints: dict) -> str | None:
    for key, limit in constraints.items():
        if key in ("ge", "gt", "le", "lt"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            bad = {"ge": value < limit, "gt": value <= limit, "le": value > limit, "lt": value >= limit}[key]
            if bad:
                words = {"ge": "greater than or equal to", "gt": "greater than", "le": "less than or equal to",
                         "lt": "less than"}[key]
                return f"Input should be {words} {limit}"
        elif hasattr(value, "__len__"):
            if key == "min_length" and len(value) < limit:
                return f"Input should have at least {limit} items or characters"
            if key == "max_length" and len(value) > limit:
                return f"Input should have at most {limit} items or characters"
    return None


class PluginSettings:
    """The base of a plugin's settings class. `model_config = {"toml_section": "settings"}` names the section of
    the configuration it reads (the original's convention; `create_settings_safe` takes the section itself)."""

    model_config: dict = {"extra": "ignore", "validate_default": True, "toml_section": "settings"}
    model_fields: dict = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        config = {}
        for klass in reversed(cls.__mro__):
            config.update(vars(klass).get("model_config") or {})
        cls.model_config = config
        try:
            module = sys.modules.get(cls.__module__)
            hints = typing.get_type_hints(cls, globalns=vars(module) if module else None, include_extras=True)
        except Exception:  # noqa: BLE001
            hints = {}
            for klass in reversed(cls.__mro__):
                hints.update(getattr(klass, "__annotations__", {}) or {})
        fields: dict = {}
        for name, annotation in hints.items():
            if name.startswith("_") or name in ("model_config", "model_fields") or get_origin(annotation) is typing.ClassVar:
                continue
            declared = getattr(cls, name, _UNSET)
            info = declared if isinstance(declared, FieldInfo) else FieldInfo(declared)
            info.annotation = annotation
            fields[name] = info
        cls.model_fields = fields

    def __init__(self, **data: Any) -> None:
        values: dict = {}
        issues: list[dict] = []
        for name, info in type(self).model_fields.items():
            if name in data:
                value = data[name]
            elif info.is_required():
                issues.append({"loc": (name,), "msg": "Field required", "type": "missing"})
                continue
            else:
                value = info.get_default()
            problem = _type_error(value, info.annotation, name) or _constraint_error(value, info.constraints)
            if problem:
                issues.append({"loc": (name,), "msg": problem, "input": value})
                continue
            if info.annotation is float and isinstance(value, int):
                value = float(value)
            values[name] = value
        if issues:
            raise SettingsValidationError(type(self).__name__, issues)
        self.__dict__.update(values)

    @classmethod
    def model_validate(cls, data: Any) -> PluginSettings:
        if isinstance(data, cls):
            return data
        if not isinstance(data, dict):
            raise SettingsValidationError(cls.__name__, [{"loc": (), "msg": "Input should be a valid dictionary"}])
        return cls(**{k: v for k, v in data.items() if isinstance(k, str)})

    def model_dump(self, **_: Any) -> dict:
        return {name: copy.deepcopy(getattr(self, name)) for name in type(self).model_fields}

    @classmethod
    def model_json_schema(cls, **_: Any) -> dict:
        properties: dict = {}
        required: list[str] = []
        for name, info in cls.model_fields.items():
            prop = schema_for_annotation(info.annotation)
            prop.update({"title": name.replace("_", " ").title()})
            if info.description:
                prop["description"] = info.description
            mapping = {"ge": "minimum", "gt": "exclusiveMinimum", "le": "maximum", "lt": "exclusiveMaximum"}
            for key, limit in info.constraints.items():
                if key in mapping:
                    prop[mapping[key]] = limit
                else:
                    text = prop.get("type") == "string"
                    prop[("minLength" if key == "min_length" else "maxLength") if text else
                         ("minItems" if key == "min_length" else "maxItems")] = limit
            if info.is_required():
                required.append(name)
            elif info.default_factory is None:
                prop["default"] = info.default
            prop.update(info.json_schema_extra)
            properties[name] = prop
        schema: dict = {"title": cls.__name__, "type": "object", "properties": properties}
        if required:
            schema["required"] = required
        return schema

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.model_dump() == self.model_dump()  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.model_dump().items())
        return f"{type(self).__name__}({inner})"


def get_hot_fields(settings_cls: type[PluginSettings]) -> set[str]:
    """The names of the fields marked `hot=True`."""
    return {name for name, info in settings_cls.model_fields.items() if info.json_schema_extra.get("hot") is True}


def create_settings_safe(settings_cls: type[PluginSettings], config_section: dict | None) -> PluginSettings:
    """An instance from `config_section`, a field whose value is bad taking its default (logged as a warning);
    all defaults as the last resort, as the original's."""
    data = dict(config_section) if config_section else {}
    try:
        return settings_cls.model_validate(data)
    except SettingsValidationError:
        pass
    safe: dict = {}
    for name, info in settings_cls.model_fields.items():
        if name not in data:
            continue
        try:
            defaults = {n: i.get_default() for n, i in settings_cls.model_fields.items() if not i.is_required()}
            settings_cls.model_validate({**defaults, name: data[name]})
            safe[name] = data[name]
        except SettingsValidationError as error:
            if info.is_required():
                safe[name] = data[name]
            else:
                logger.warning("PluginSettings field '{}' validation failed, using default ({}): {}", name,
                               "<factory>" if info.default_factory is not None else info.default, error)
    try:
        return settings_cls.model_validate(safe)
    except SettingsValidationError as error:
        logger.warning("PluginSettings full fallback to defaults after per-field recovery failed: {}", error)
        return settings_cls.model_validate({})


__all__ = ["FieldInfo", "PluginSettings", "SettingsField", "SettingsValidationError", "create_settings_safe",
           "get_hot_fields"]
