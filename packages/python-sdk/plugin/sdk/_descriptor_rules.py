"""The host's rules for an entry's descriptor (packages/host/src/supervisor/plugin-frame-problems.ts, `ENTRY`), checked
here before a list of entries is sent: the host drops a whole `entries_changed` frame with one bad descriptor, so a
dynamic entry breaking them would take this and every later change of the list with it."""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DESCRIPTOR_TIMEOUT_SECONDS = 24 * 86_400
# As the host's MAX_DESCRIPTOR_JSON_BYTES / _DEPTH: `/plugins` echoes an entry's metadata and inputSchema.
MAX_DESCRIPTOR_JSON_BYTES = 64 * 1024
MAX_DESCRIPTOR_JSON_DEPTH = 64
_BOUNDED = ("metadata", "inputSchema")


def json_bound_problem(value: Any) -> str | None:
    """Whether `value` nests at most MAX_DESCRIPTOR_JSON_DEPTH levels (walked without recursion) and takes at most
    MAX_DESCRIPTOR_JSON_BYTES as JSON (as the host measures it: compact, UTF-8)."""
    if not isinstance(value, (dict, list, tuple)):
        return None
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > MAX_DESCRIPTOR_JSON_DEPTH:
            return f"nests deeper than {MAX_DESCRIPTOR_JSON_DEPTH} levels"
        children = node.values() if isinstance(node, dict) else node
        pending.extend((child, depth + 1) for child in children if isinstance(child, (dict, list, tuple)))
    try:
        size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8"))
    except (TypeError, ValueError):
        return None  # what JSON cannot write is left to packing, which names it
    if size > MAX_DESCRIPTOR_JSON_BYTES:
        return f"is {size} bytes as JSON: at most {MAX_DESCRIPTOR_JSON_BYTES} are allowed"
    return None


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool)


def _is_table_or_none(v: Any) -> bool:
    return v is None or isinstance(v, dict)


def _is_timeout(v: Any) -> bool:
    return (not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v)
            and 0 < v <= MAX_DESCRIPTOR_TIMEOUT_SECONDS)


def _is_names_or_none(v: Any) -> bool:
    return v is None or (isinstance(v, (list, tuple)) and all(isinstance(n, str) for n in v))


def _optional_bool(v: Any) -> bool:
    return v is None or isinstance(v, bool)


ENTRY_RULES = {
    "name": (_is_str, "a string"),
    "description": (_is_str, "a string"),
    "inputSchema": (_is_table_or_none, "a table (a dict: a JSON Schema) or None"),
    "kind": (_is_str, "a string"),
    "timeout": (_is_timeout, f"a number of seconds above 0 and at most {MAX_DESCRIPTOR_TIMEOUT_SECONDS}"),
    "llmResultFields": (_is_names_or_none, "a list of strings or None"),
    "autoStart": (_optional_bool, "a bool"),
    "persist": (_optional_bool, "a bool or None"),
    "enabled": (_is_bool, "a bool"),
    "dynamic": (_is_bool, "a bool"),
    "metadata": (_is_table_or_none, "a table (a dict) or None"),
}


def entry_descriptor_problem(descriptor: dict, fields: tuple[str, ...] | None = None) -> str | None:
    """The first field of an entry's descriptor the host would refuse, as a sentence naming the entry; or None.
    `fields` limits the check to those (a decorator's metadata has no `enabled` or `dynamic` yet)."""
    entry_id = descriptor.get("id")
    if not isinstance(entry_id, str) or not entry_id:
        return f"an entry id must be a non-empty string, not {entry_id!r}"
    for field, (check, rule) in ENTRY_RULES.items():
        if fields is not None and field not in fields:
            continue
        value = descriptor.get(field)
        if not check(value):
            return f"entry '{entry_id}': its {field} must be {rule}, not {type(value).__name__}"
    for field in _BOUNDED:
        problem = json_bound_problem(descriptor.get(field))
        if problem:
            return f"entry '{entry_id}': its {field} {problem}"
    return None
