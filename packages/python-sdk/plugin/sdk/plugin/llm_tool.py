"""`@llm_tool` and `LlmToolMeta`: methods an LLM may call. As in the original, each tool is a dynamic entry of the
plugin under the reserved id `__llm_tool__<name>`, so it is listed in `/plugins` (with `metadata.llm_tool`), called
through `POST /plugin/trigger` and offered as an MCP tool by the MCP adapter like any entry; the original's
registration with its `main_server` has no counterpart here (docs/python-plugins.md#llm-tools)."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import Any, Callable

LLM_TOOL_META_ATTR = "__neko_llm_tool_meta__"
LLM_TOOL_ENTRY_PREFIX = "__llm_tool__"
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


def entry_id_for_tool(tool_name: str) -> str:
    """The id of the dynamic entry that serves the tool `tool_name`."""
    return f"{LLM_TOOL_ENTRY_PREFIX}{tool_name}"


def validate_tool_name(name: Any) -> str:
    if not isinstance(name, str) or not _TOOL_NAME.fullmatch(name):
        raise ValueError(f"LLM tool name {name!r} must match {_TOOL_NAME.pattern}")
    return name


def checked_tool_fields(name: str, description: Any, parameters: Any, role: Any) -> None:
    """ValueError naming the tool for a field the host would refuse or could not carry: `description` a string,
    `role` a string or None, `parameters` exactly JSON (dicts with str keys, lists, str, numbers, bools, None)."""
    from .._signature_schema import is_exact_json

    if not isinstance(description, str):
        raise ValueError(f"LLM tool '{name}': description must be a string, not {type(description).__name__}")
    if role is not None and not isinstance(role, str):
        raise ValueError(f"LLM tool '{name}': role must be a string or None, not {type(role).__name__}")
    if not is_exact_json(parameters):
        raise ValueError(f"LLM tool '{name}': parameters must be JSON (dicts with str keys, lists, strings, numbers, "
                         "bools, None)")
    from .._validation import compile_validator

    try:
        compile_validator(parameters)
    except Exception as error:  # noqa: BLE001 - jsonschema's SchemaError (a dump of the whole schema) and the like
        reason = getattr(error, "message", None) or str(error).splitlines()[0]
        path = "/".join(str(p) for p in getattr(error, "path", None) or [])
        where = f" (at {path})" if path else ""
        raise ValueError(f"LLM tool '{name}': parameters is not a valid JSON Schema: {reason}{where}") from None


@dataclass
class LlmToolMeta:
    """What `@llm_tool` records on a method (and `register_llm_tool` builds)."""

    name: str
    description: str
    parameters: dict = field(default_factory=lambda: {"type": "object", "properties": {}})
    timeout_seconds: float = 30.0
    role: str | None = None
    reply_tail: bool = False

    def to_ipc_payload(self, *, plugin_id: str) -> dict:
        """The original's LLM_TOOL_REGISTER message, for a plugin that builds it itself (nothing sends it here)."""
        return {"type": "LLM_TOOL_REGISTER", "plugin_id": plugin_id, "name": self.name,
                "description": self.description, "parameters": dict(self.parameters),
                "timeout_seconds": float(self.timeout_seconds), "role": self.role}


def _checked_timeout(timeout: Any) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"@llm_tool timeout must be > 0, got {timeout!r}")
    return float(timeout)


def llm_tool(*, name: str | None = None, description: str = "", parameters: dict | None = None,
             timeout: float = 30.0, role: str | None = None, reply_tail: bool = False,
             **_: Any) -> Callable[[Callable], Callable]:
    """Marks a method as an LLM tool: `name` (default the method's name, `[A-Za-z0-9_.-]{1,64}`), `description`,
    `parameters` (a JSON Schema; default no arguments), `timeout` (seconds, default 30), `role`. The plugin's
    constructor registers it (`self.register_llm_tool`); stacking it with `@plugin_entry` gives both entries."""

    def decorate(fn: Callable) -> Callable:
        if not callable(fn):
            raise TypeError("@llm_tool may only decorate callables")
        resolved = name if isinstance(name, str) and name else fn.__name__
        validate_tool_name(resolved)
        params = parameters if parameters is not None else {"type": "object", "properties": {}}
        if not isinstance(params, dict):
            raise TypeError(f"@llm_tool parameters must be a dict, got {type(params).__name__}")
        checked_tool_fields(resolved, description if description is not None else "", params, role)
        from .._signature_schema import check_named_parameters

        check_named_parameters(fn, f"LLM tool '{resolved}'")
        meta = LlmToolMeta(name=resolved, description=description or "", parameters=params,
                           timeout_seconds=_checked_timeout(timeout), role=role, reply_tail=bool(reply_tail))
        setattr(fn, LLM_TOOL_META_ATTR, meta)
        return fn

    return decorate


def collect_llm_tool_methods(instance: Any) -> list[tuple[LlmToolMeta, Callable]]:
    """Every `@llm_tool` method of `instance`, bound, with its mark (an override inherits its parent's mark)."""
    found: list[tuple[LlmToolMeta, Callable]] = []
    seen: set[str] = set()
    for attr, member in inspect.getmembers(type(instance)):
        meta = getattr(member, LLM_TOOL_META_ATTR, None) if callable(member) else None
        if not isinstance(meta, LlmToolMeta) or meta.name in seen:
            continue
        bound = getattr(instance, attr, None)
        if callable(bound):
            seen.add(meta.name)
            found.append((meta, bound))
    return found


__all__ = ["LLM_TOOL_ENTRY_PREFIX", "LLM_TOOL_META_ATTR", "LlmToolMeta", "checked_tool_fields", "collect_llm_tool_methods",
           "entry_id_for_tool", "llm_tool", "validate_tool_name"]
