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


def compile_validator(schema: dict, *, refuse_unknown: bool = False,
                      also_known: list[str] | None = None) -> Callable[[dict], dict]:
    """A function that returns the checked arguments (with defaults) or raises ValidationError. Raises for a bad schema.
    `refuse_unknown`: names the schema does not declare are refused (when it declares which names exist), but for
    `also_known` (a handler's named parameters an inferred schema leaves out, as `_ctx`)."""
    check = _compile(schema)
    names = argument_names(schema) if refuse_unknown else None
    return check if names is None else _refusing_unknown(check, names, also_known or [])


_OPAQUE_KEYWORDS = ("$ref", "$dynamicRef", "$recursiveRef", "if", "then", "else", "dependentSchemas", "dependencies",
                    "propertyNames", "patternProperties")
_MAX_COMBINATOR_DEPTH = 8
_MAX_UNKNOWN_REPORTED = 20
_MAX_SUGGESTED_LENGTH = 64
_MAX_ISSUES = 50


def argument_names(schema: Any) -> list[str] | None:
    """The argument names a schema declares, or None when it lets other names through or cannot say (as
    entry-validator.ts): `additionalProperties` / `unevaluatedProperties` other than false, `$ref`, `if`/`then`/`else`,
    `dependentSchemas`, `propertyNames`, `patternProperties` anywhere looked at, an `anyOf` / `oneOf` member that is
    true, or no `properties` at all. Names come from `properties`, `required` and `dependentRequired`, at the top and
    in `allOf` / `anyOf` / `oneOf` members at any depth (up to 8)."""
    if not isinstance(schema, dict):
        return None
    names: dict[str, None] = {}
    declared = False

    def visit(part: dict, depth: int) -> bool:
        nonlocal declared
        if depth > _MAX_COMBINATOR_DEPTH or any(k in part for k in _OPAQUE_KEYWORDS):
            return False
        if "additionalProperties" in part and part["additionalProperties"] is not False:
            return False
        if "unevaluatedProperties" in part and part["unevaluatedProperties"] is not False:
            return False
        if isinstance(part.get("properties"), dict):
            declared = True
            names.update(dict.fromkeys(part["properties"]))
        if isinstance(part.get("required"), list):
            names.update(dict.fromkeys(n for n in part["required"] if isinstance(n, str)))
        if isinstance(part.get("dependentRequired"), dict):
            for name, others in part["dependentRequired"].items():
                names[name] = None
                if isinstance(others, list):
                    names.update(dict.fromkeys(n for n in others if isinstance(n, str)))
        for key in ("allOf", "anyOf", "oneOf"):
            members = part.get(key)
            if not isinstance(members, list):
                continue
            for member in members:
                if member is True and key != "allOf":
                    return False
                if isinstance(member, dict) and not visit(member, depth + 1):
                    return False
        return True

    if not visit(schema, 0):
        return None
    return list(names) if declared else None


def _refusing_unknown(check: Callable[[dict], dict], names: list[str], also_known: list[str]) -> Callable[[dict], dict]:
    known = set(names) | set(also_known)

    def refusing(args: dict) -> dict:
        unknown = {key: None for key in args if key not in known}
        if not unknown:
            return check(args)
        try:
            check(args)
            others: list[dict] = []
        except ValidationError as error:
            details = error.details if isinstance(error.details, dict) else {}
            issues = getattr(error, "_all_issues", None) or details.get("issues") or []
            others = [i for i in issues if i.get("field") not in unknown]
        refused = []
        for key in unknown:
            if len(refused) == _MAX_UNKNOWN_REPORTED:
                break
            near = closest_name(str(key), names)
            issue = {"field": key, "message": "is not an allowed argument" + ("" if near is None else
                                                                           f"; did you mean '{near}'?")}
            if near is not None:
                issue["suggestion"] = near
            refused.append(issue)
        more = len(unknown) - len(refused)
        if more > 0:
            refused.append({"field": f"… and {more} more", "message": "are not allowed arguments either"})
        raise _validation_error([*refused, *others])

    return refusing


def _validation_error(issues: list[dict]) -> ValidationError:
    """At most 50 issues in the message and `details.issues` (as entry-validator.ts); the rest are counted."""
    shown = issues[:_MAX_ISSUES]
    if len(issues) > _MAX_ISSUES:
        shown.append({"field": f"… and {len(issues) - _MAX_ISSUES} more", "message": "issues not listed"})
    text = "; ".join(f"{i['field']}: {i['message']}" for i in shown)
    error = ValidationError(f"invalid arguments: {text}", details={"issues": shown})
    error._all_issues = issues  # type: ignore[attr-defined]
    return error


def closest_name(key: str, names: list[str]) -> str | None:
    """The declared name closest to `key`: the smallest Damerau–Levenshtein distance once case, `_` and `-` are set
    aside, at most a third of the longer name (and at least 1); ties go to the first; names longer than 64 characters
    are not compared (as entry-validator.ts)."""
    if len(key) > _MAX_SUGGESTED_LENGTH:
        return None

    def fold(text: str) -> str:
        return re.sub(r"[_-]", "", text.lower())

    folded = fold(key)
    best, best_distance = None, None
    for name in names:
        if len(name) > _MAX_SUGGESTED_LENGTH:
            continue
        other = fold(name)
        limit = max(1, max(len(folded), len(other)) // 3)
        if best_distance is not None:
            limit = min(limit, best_distance - 1)
        if limit < 0 or abs(len(folded) - len(other)) > limit:
            continue
        distance = _damerau_levenshtein(folded, other, limit)
        if distance <= limit:
            best, best_distance = name, distance
    return best


def _damerau_levenshtein(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance on three rolling rows; `limit + 1` as soon as a whole row is past `limit`."""
    before = [0] * (len(b) + 1)
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d = min(d, before[j - 2] + 1)
            current[j] = d
        if min(current) > limit:
            return limit + 1
        before, previous = previous, current
    return previous[len(b)]


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
            raise _validation_error(issues)
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
