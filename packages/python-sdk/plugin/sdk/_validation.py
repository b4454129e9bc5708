"""Entry arguments against the entry's JSON Schema (draft 2020-12, with jsonschema), worded as the TypeScript SDK
words them (Ajv's messages), so a caller sees the same `VALIDATION_ERROR` whatever the plugin's language:
`{ issues: [{ field, message }] }`. Defaults of the schema's top-level properties are filled in first. Argument names
the schema does not declare are refused with the closest declared one, as the TypeScript SDK's entry-validator.ts
does (docs/getting-started.md#unknown-argument-names)."""

from __future__ import annotations

import ast
import copy
import re
from typing import Any, Callable

import jsonschema

from .errors import ValidationError

_REQUIRED = re.compile(r"^(.*) is a required property$")


def compile_validator(schema: dict, *, refuse_unknown: bool = False) -> Callable[[dict], dict]:
    """A function that returns the checked arguments (with defaults) or raises ValidationError. Raises for a bad schema.
    `refuse_unknown`: names the schema does not declare are refused (when it declares which names exist)."""
    check = _compile(schema)
    names = argument_names(schema) if refuse_unknown else None
    return check if names is None else _refusing_unknown(check, names)


def argument_names(schema: Any) -> list[str] | None:
    """The argument names a schema declares, or None when it lets other names through or cannot say:
    `additionalProperties` other than false, `patternProperties`, `unevaluatedProperties` other than false, or no
    `properties` at all. Names from `allOf` / `anyOf` / `oneOf` members count too."""
    if not isinstance(schema, dict):
        return None
    names: dict[str, None] = {}
    declared = False
    parts = [schema]
    for key in ("allOf", "anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            parts.extend(p for p in schema[key] if isinstance(p, dict))
    for part in parts:
        if "additionalProperties" in part and part["additionalProperties"] is not False:
            return None
        if "patternProperties" in part:
            return None
        if "unevaluatedProperties" in part and part["unevaluatedProperties"] is not False:
            return None
        if isinstance(part.get("properties"), dict):
            declared = True
            names.update(dict.fromkeys(part["properties"]))
    return list(names) if declared else None


def _refusing_unknown(check: Callable[[dict], dict], names: list[str]) -> Callable[[dict], dict]:
    known = set(names)

    def refusing(args: dict) -> dict:
        unknown = [key for key in args if key not in known]
        if not unknown:
            return check(args)
        try:
            check(args)
            others: list[dict] = []
        except ValidationError as error:
            issues = (error.details or {}).get("issues") or [] if isinstance(error.details, dict) else []
            others = [i for i in issues if i.get("field") not in unknown]
        refused = []
        for key in unknown:
            near = closest_name(str(key), names)
            issue = {"field": key, "message": "is not an allowed argument" + ("" if near is None else
                                                                           f"; did you mean '{near}'?")}
            if near is not None:
                issue["suggestion"] = near
            refused.append(issue)
        issues = [*refused, *others]
        text = "; ".join(f"{i['field']}: {i['message']}" for i in issues)
        raise ValidationError(f"invalid arguments: {text}", details={"issues": issues})

    return refusing


def closest_name(key: str, names: list[str]) -> str | None:
    """The declared name closest to `key`: the smallest Damerau–Levenshtein distance once case, `_` and `-` are set
    aside, at most a third of the longer name (and at least 1); ties go to the first (as entry-validator.ts)."""

    def fold(text: str) -> str:
        return re.sub(r"[_-]", "", text.lower())

    folded = fold(key)
    best, best_distance = None, float("inf")
    for name in names:
        other = fold(name)
        limit = max(1, max(len(folded), len(other)) // 3)
        if abs(len(folded) - len(other)) > limit or len(folded) > 256 or len(other) > 256:
            continue
        distance = _damerau_levenshtein(folded, other)
        if distance <= limit and distance < best_distance:
            best, best_distance = name, distance
    return best


def _damerau_levenshtein(a: str, b: str) -> int:
    rows = [[j if i == 0 else (i if j == 0 else 0) for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d = min(d, rows[i - 2][j - 2] + 1)
            rows[i][j] = d
    return rows[len(a)][len(b)]


def _compile(schema: dict) -> Callable[[dict], dict]:
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
