"""Entry arguments against the entry's JSON Schema (draft 2020-12, with jsonschema), worded as the TypeScript SDK
words them (Ajv's messages), so a caller sees the same `VALIDATION_ERROR` whatever the plugin's language:
`{ issues: [{ field, message }] }`. Defaults of the schema's top-level properties are filled in first."""

from __future__ import annotations

import ast
import copy
import re
from typing import Any, Callable

import jsonschema

from .errors import ValidationError

_REQUIRED = re.compile(r"^(.*) is a required property$")


def compile_validator(schema: dict) -> Callable[[dict], dict]:
    """A function that returns the checked arguments (with defaults) or raises ValidationError. Raises for a bad schema."""
    body = {k: v for k, v in schema.items() if k != "$schema"}
    cls = jsonschema.validators.validator_for(body, default=jsonschema.Draft202012Validator)
    cls.check_schema(body)
    validator = cls(body, format_checker=cls.FORMAT_CHECKER)

    def check(args: dict) -> dict:
        checked = copy.deepcopy(args)
        properties = body.get("properties")
        if isinstance(properties, dict):
            for key, sub in properties.items():
                if key not in checked and isinstance(sub, dict) and "default" in sub:
                    checked[key] = copy.deepcopy(sub["default"])
        issues = [issue for error in validator.iter_errors(checked) for issue in _issues(error, body)]
        if issues:
            text = "; ".join(f"{i['field']}: {i['message']}" for i in issues)
            raise ValidationError(f"invalid arguments: {text}", details={"issues": issues})
        return checked

    return check


def _issues(error: jsonschema.ValidationError, schema: dict) -> list[dict]:
    path = [str(p) for p in error.absolute_path]
    keyword = error.validator
    value = error.validator_value
    if keyword == "required":
        match = _REQUIRED.match(error.message)
        missing = ast.literal_eval(match.group(1)) if match else "?"
        return [{"field": ".".join([*path, str(missing)]), "message": "is required"}]
    if keyword == "additionalProperties" and isinstance(error.instance, dict):
        known = set((error.schema.get("properties") or {}).keys())
        patterns = [re.compile(p) for p in (error.schema.get("patternProperties") or {})]
        extras = [k for k in error.instance if k not in known and not any(p.search(k) for p in patterns)]
        return [{"field": ".".join([*path, k]), "message": "is not an allowed key"} for k in extras]
    return [{"field": ".".join(path) or "(args)", "message": _message(keyword, value, error)}]


def _message(keyword: str, value: Any, error: jsonschema.ValidationError) -> str:
    if keyword == "type":
        return f"must be {','.join(value) if isinstance(value, list) else value}"
    simple = {
        "minimum": f"must be >= {value}",
        "maximum": f"must be <= {value}",
        "exclusiveMinimum": f"must be > {value}",
        "exclusiveMaximum": f"must be < {value}",
        "minLength": f"must NOT have fewer than {value} characters",
        "maxLength": f"must NOT have more than {value} characters",
        "minItems": f"must NOT have fewer than {value} items",
        "maxItems": f"must NOT have more than {value} items",
        "enum": "must be equal to one of the allowed values",
        "const": "must be equal to constant",
        "pattern": f'must match pattern "{value}"',
        "format": f'must match format "{value}"',
        "multipleOf": f"must be multiple of {value}",
        "uniqueItems": "must NOT have duplicate items",
    }
    return simple.get(keyword, error.message)
