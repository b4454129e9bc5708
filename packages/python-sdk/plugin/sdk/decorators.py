"""The original's decorators. Each marks a method with what it is (`__neko_meta__`); the runner reads the marks of
the plugin's class when it loads it, and says them in its `hello` (docs/wire-protocol.md)."""

from __future__ import annotations

import re
import sys
from typing import Any, Callable, Literal

from ._llm_result import result_contract
from ._signature_schema import check_named_parameters, infer_input_schema, unlisted_parameters

EntryKind = Literal["service", "action", "hook", "custom", "lifecycle", "consumer", "timer", "chat_command"]
"""The original's entry kinds (`kind=` of `@plugin_entry` / `@on_event`), shown as the entry's `kind` in `/plugins`."""
NEKO_PLUGIN_META_ATTR = "__neko_plugin_meta__"
NEKO_PLUGIN_TAG = "__neko_plugin__"
QUICK_ACTION_ATTR = "__neko_quick_action__"
UI_ACTION_ATTR = "__neko_ui_action__"

LLM_TOOL_ENTRY_PREFIX = "__llm_tool__"  # as plugin/llm_tool.py's
ENTRY_ID = re.compile(r"^[a-zA-Z0-9_.:-]{1,128}$")
LIFECYCLE_IDS = ("startup", "shutdown", "reload", "freeze", "unfreeze", "config_change")
MAX_TIMEOUT_SECONDS = 2073600


def _mark(fn: Callable, meta: dict) -> Callable:
    marks = list(getattr(fn, "__neko_meta__", []))
    marks.append(meta)
    try:
        fn.__neko_meta__ = marks
    except AttributeError:  # a bound method or a builtin: mark its function
        fn.__func__.__neko_meta__ = marks
    return fn


def neko_plugin(cls: type) -> type:
    """Marks a class as a N.E.K.O. plugin (required on the original; kept as a mark here)."""
    setattr(cls, NEKO_PLUGIN_TAG, True)
    return cls


def _schema_of(input_schema: Any, params: Any) -> tuple[dict | None, Any]:
    """The entry's JSON Schema, and a Pydantic model to validate with (when `params` is one)."""
    if params is not None:
        if isinstance(params, dict):
            return params, None
        to_schema = getattr(params, "model_json_schema", None) or getattr(params, "schema", None)
        if callable(to_schema):
            return to_schema(), params
        raise TypeError(f"params must be a Pydantic model or a JSON Schema dict, not {params!r}")
    if input_schema is not None and not isinstance(input_schema, dict):
        raise TypeError(f"input_schema must be a dict (a JSON Schema), not {type(input_schema).__name__}")
    return input_schema, None


_META_FIELDS = ("name", "description", "inputSchema", "kind", "llmResultFields", "autoStart", "persist", "metadata")


def entry_problem(entry_id: str, meta: dict) -> str | None:
    """The first field of an entry's description (its decorator's metadata, `entryKind` for the wire's `kind`) the
    host would refuse, as a sentence naming it; None when none. The rules are the host's (_descriptor_rules.py)."""
    from ._descriptor_rules import entry_descriptor_problem

    return entry_descriptor_problem({**meta, "id": entry_id, "kind": meta.get("entryKind")}, fields=_META_FIELDS)


def _caller_locals() -> dict | None:
    """The locals of the code that applied the decorator (a class body, while the class is being defined), so the
    handler's annotations resolve against the names declared there, as in the original."""
    try:
        return dict(sys._getframe(2).f_locals)
    except (AttributeError, ValueError):
        return None


def _timeout(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_TIMEOUT_SECONDS:
        raise ValueError(f"{what}: timeout must be a number of seconds above 0 and at most {MAX_TIMEOUT_SECONDS}")
    return float(value)


def plugin_entry(
    id: str | None = None,  # noqa: A002 - the original's keyword
    name: str | None = None,
    description: str = "",
    input_schema: dict | None = None,
    params: Any = None,
    kind: str = "action",
    auto_start: bool = False,
    persist: bool | None = None,
    model_validate: bool = True,
    timeout: float | None = None,
    llm_result_fields: list[str] | None = None,
    llm_result_model: Any = None,
    fields: Any = None,
    metadata: dict | None = None,
    allow_extra_args: bool = False,
    quick_action: bool = False,
    **_: Any,
) -> Callable[[Callable], Callable]:
    """An entry other code may call: `POST /plugin/trigger`, another plugin, an LLM tool. Argument names its schema
    does not declare are refused unless `allow_extra_args=True` (or the schema lets them through). Without
    `input_schema` or `params`, the schema is inferred from the handler's signature, as in the original."""
    if input_schema is not None and params is not None:
        raise ValueError("input_schema and params are mutually exclusive")

    tool_entry = _.get("_llm_tool_entry") is True  # this SDK's own use, for `__llm_tool__<name>`

    def decorate(fn: Callable) -> Callable:
        entry_id = id or fn.__name__
        if not ENTRY_ID.match(entry_id):
            raise ValueError(f"entry id '{entry_id}' must match {ENTRY_ID.pattern}")
        if entry_id.startswith(LLM_TOOL_ENTRY_PREFIX) and not tool_entry:
            raise ValueError(f"entry id '{entry_id}': the prefix {LLM_TOOL_ENTRY_PREFIX} is kept for LLM tools "
                             "(@llm_tool / register_llm_tool)")
        check_named_parameters(fn, f"entry '{entry_id}'")
        schema, model = _schema_of(input_schema, params)
        inferred = schema is None
        extra_args = bool(allow_extra_args)
        unlisted: list[str] = []
        if inferred:
            schema, any_name = infer_input_schema(fn, _caller_locals())
            extra_args = extra_args or any_name
            unlisted = unlisted_parameters(fn)
        entry_metadata = dict(metadata) if isinstance(metadata, dict) else metadata
        if quick_action and not hasattr(fn, QUICK_ACTION_ATTR):
            _set_attr(fn, QUICK_ACTION_ATTR, {"icon": None, "priority": 0})
        # `llm_result_model` (or its alias `fields`, as in the original) gives the result's schema, whose `required`
        # names become `llm_result_fields`; the three are mutually exclusive (docs/python-plugins.md).
        llm_fields, llm_schema = result_contract(fn, llm_result_fields, llm_result_model, fields)
        meta = {
            "kind": "entry",
            "id": entry_id,
            "name": name or entry_id,
            "description": description or "",
            "inputSchema": schema,
            "inputSchemaInferred": inferred,
            "model": model if model_validate else None,
            "modelValidate": bool(model_validate),
            "allowExtraArgs": extra_args,
            "unlistedArgs": unlisted,
            "entryKind": kind,
            "timeout": _timeout(timeout, f"entry '{entry_id}'"),
            "llmResultFields": llm_fields,
            "llmResultSchema": llm_schema,
            "autoStart": bool(auto_start),
            "persist": persist,
            "metadata": entry_metadata,
        }
        problem = entry_problem(entry_id, meta)
        if problem:
            raise ValueError(problem)
        return _mark(fn, meta)

    return decorate


def _set_attr(fn: Callable, name: str, value: Any) -> None:
    try:
        setattr(fn, name, value)
    except AttributeError:  # a bound method: mark its function
        setattr(fn.__func__, name, value)


def quick_action(icon: str | None = None, priority: int = 0, **_: Any) -> Callable[[Callable], Callable]:
    """Marks an entry as a quick action (the original's `@quick_action`, also `@plugin_entry(quick_action=True)`):
    above or below `@plugin_entry`, it puts `quick_action: { icon, priority }` in the entry's `metadata`, which
    `/plugins` shows. The host has no quick-action menu of its own (docs/python-plugins.md)."""
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise ValueError(f"quick_action priority must be a whole number, not {priority!r}")
    if icon is not None and not isinstance(icon, str):
        raise ValueError(f"quick_action icon must be a string, not {icon!r}")
    return lambda fn: (_set_attr(fn, QUICK_ACTION_ATTR, {"icon": icon, "priority": priority}), fn)[1]


def lifecycle(id: str, **_: Any) -> Callable[[Callable], Callable]:  # noqa: A002
    """A lifecycle handler: `startup`, `shutdown`, `reload`, `freeze`, `unfreeze`, `config_change`."""
    if id not in LIFECYCLE_IDS:
        raise ValueError(f"lifecycle id must be one of {', '.join(LIFECYCLE_IDS)}, not '{id}'")
    return lambda fn: _mark(fn, {"kind": "lifecycle", "id": id})


def timer_interval(
    id: str | None = None,  # noqa: A002
    seconds: float = 60,
    name: str | None = None,
    auto_start: bool = True,
    **_: Any,
) -> Callable[[Callable], Callable]:
    """A method run every `seconds` while the plugin runs."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0:
        raise ValueError("timer_interval: seconds must be a number above 0")

    def decorate(fn: Callable) -> Callable:
        timer_id = id or fn.__name__
        return _mark(
            fn,
            {"kind": "timer", "id": timer_id, "seconds": float(seconds), "name": name or timer_id, "autoStart": auto_start},
        )

    return decorate


def message(
    id: str | None = None,  # noqa: A002
    source: str | None = None,
    auto_start: bool = True,
    **_: Any,
) -> Callable[[Callable], Callable]:
    """A handler of messages delivered to the plugin (`POST /plugin/{id}/message`), optionally of one `source`."""
    return lambda fn: _mark(fn, {"kind": "message", "id": id or fn.__name__, "source": source, "autoStart": auto_start})


def on_event(
    event_type: str = "custom_event",
    id: str | None = None,  # noqa: A002
    kind: str = "action",
    name: str | None = None,
    description: str = "",
    input_schema: dict | None = None,
    timeout: float | None = None,
    trigger_method: str = "message",
    custom: bool = False,
    allow_extra_args: bool = False,
    **_: Any,
) -> Callable[[Callable], Callable]:
    """A handler of events of `event_type`, called as `POST /plugin/trigger` with an event reference."""

    def decorate(fn: Callable) -> Callable:
        event_id = id or fn.__name__
        check_named_parameters(fn, f"event '{event_id}'")
        schema, extra_args, unlisted = input_schema, bool(allow_extra_args), []
        if schema is None:
            schema, any_name = infer_input_schema(fn, _caller_locals())
            extra_args = extra_args or any_name
            unlisted = unlisted_parameters(fn)
        return _mark(
            fn,
            {
                "kind": "event",
                "id": event_id,
                "eventType": event_type,
                "eventKind": kind,
                "triggerMethod": trigger_method,
                "custom": custom,
                "name": name or event_id,
                "description": description,
                "inputSchema": schema,
                "timeout": _timeout(timeout, f"event '{event_id}'"),
                "allowExtraArgs": extra_args,
                "unlistedArgs": unlisted,
            },
        )

    return decorate


def custom_event(
    event_type: str,
    id: str | None = None,  # noqa: A002
    trigger_method: str = "message",
    auto_start: bool = False,
    **kwargs: Any,
) -> Callable[[Callable], Callable]:
    """An event handler of a custom event type, with its trigger method."""
    return on_event(event_type=event_type, id=id, trigger_method=trigger_method, custom=True, **kwargs)


def hook(
    target: str = "*",
    timing: str = "before",
    priority: int = 0,
    condition: str | None = None,
    id: str | None = None,  # noqa: A002
    **_: Any,
) -> Callable[[Callable], Callable]:
    """A hook around entry calls (`before`, `after`, `around`, `replace`) of `target` (an entry id, or `*`)."""
    if timing not in ("before", "after", "around", "replace"):
        raise ValueError(f"hook timing must be before, after, around or replace, not '{timing}'")
    if not isinstance(target, str) or not (target == "*" or ENTRY_ID.match(target)):
        raise ValueError(f"hook target must be an entry id or '*', not {target!r}")
    if isinstance(priority, bool) or not isinstance(priority, (int, float)):
        raise ValueError(f"hook priority must be a number, not {priority!r}")

    def decorate(fn: Callable) -> Callable:
        hook_id = id or fn.__name__
        if not isinstance(hook_id, str) or not ENTRY_ID.match(hook_id):
            raise ValueError(f"hook id {hook_id!r} must match {ENTRY_ID.pattern}")
        test = None
        if condition is not None:
            from ._condition import HookConditionError, compile_condition

            try:
                test = compile_condition(condition)
            except HookConditionError as error:  # worded as the TypeScript SDK's, raised as a ValueError
                where = f"@{timing}_entry '{hook_id}': invalid condition: {error.reason}"
                raise ValueError(str(HookConditionError(where, error.position, error.source))) from None
            except TypeError as error:
                raise ValueError(f"@{timing}_entry '{hook_id}': {error}") from None
        return _mark(
            fn,
            {
                "kind": "hook",
                "id": hook_id,
                "timing": timing,
                "target": target,
                "priority": priority,
                "condition": condition,
                "test": test,
            },
        )

    return decorate


def before_entry(target: str = "*", priority: int = 0, condition: str | None = None, **kw: Any):
    return hook(target=target, timing="before", priority=priority, condition=condition, **kw)


def after_entry(target: str = "*", priority: int = 0, condition: str | None = None, **kw: Any):
    return hook(target=target, timing="after", priority=priority, condition=condition, **kw)


def around_entry(target: str = "*", priority: int = 0, condition: str | None = None, **kw: Any):
    return hook(target=target, timing="around", priority=priority, condition=condition, **kw)


def replace_entry(target: str = "*", priority: int = 0, condition: str | None = None, **kw: Any):
    return hook(target=target, timing="replace", priority=priority, condition=condition, **kw)


class _PluginNamespace:
    """`plugin.entry`, `plugin.lifecycle`, …: the original's namespace-style spelling of the decorators."""

    entry = staticmethod(plugin_entry)
    lifecycle = staticmethod(lifecycle)
    timer = staticmethod(timer_interval)
    message = staticmethod(message)
    on_event = staticmethod(on_event)
    custom_event = staticmethod(custom_event)
    hook = staticmethod(hook)
    before_entry = staticmethod(before_entry)
    after_entry = staticmethod(after_entry)
    around_entry = staticmethod(around_entry)
    replace_entry = staticmethod(replace_entry)
    quick_action = staticmethod(quick_action)


plugin = _PluginNamespace()
