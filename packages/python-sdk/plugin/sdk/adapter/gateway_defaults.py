"""The default stages of the gateway (docs/adapters.md#stages), ported from the TypeScript SDK's
`packages/sdk/src/adapter/gateway/default-*.ts`: the same checks, decisions and error codes. Each answers `Ok(value)`
or `Err(GatewayError)`; a custom stage may also return a plain value or raise `GatewayErrorException`."""

from __future__ import annotations

import asyncio
import inspect
import json
import math
import re
import time
from collections import OrderedDict
from typing import Any, Callable

from ..errors import ValidationError
from ..result import Err, Ok
from .gateway_models import (
    GatewayError,
    GatewayErrorCode,
    GatewayRequest,
    GatewayResponse,
    RouteDecision,
    RouteMode,
    gateway_error,
)

MAX_GATEWAY_ID_LENGTH = 256
MAX_SECONDS = 2_147_483
DEFAULT_MAX_PARAM_BYTES = 256 * 1024
AUDIT_EVENT_TYPE = "adapter.audit"
PLUGIN_ID = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
MODES = ("gateway", "router", "bridge", "hybrid")
ROUTES = ("plugin", "self", "broadcast", "drop")
POLICY_KEYS = ("allow_plugins", "deny_plugins", "max_param_bytes", "rate_limit")
RETRYABLE = {"TIMEOUT", "PLUGIN_NOT_RUNNING", "PLUGIN_CRASHED", "PLUGIN_UNREACHABLE"}


def _invalid(message: str, **details: Any) -> Err:
    return Err(gateway_error(GatewayErrorCode.INVALID_REQUEST, message, details=details or None))


def read_target(value: Any) -> Ok | Err:
    """`"plugin:entry"` or `{pluginId, entryId}` (also `plugin_id` / `entry_id`) as `(plugin, entry)`; Ok(None) when
    there is none."""
    if value is None:
        return Ok(None)
    plugin_id = entry_id = None
    if isinstance(value, str):
        plugin_id, colon, entry_id = value.partition(":")
        if not colon or not plugin_id:
            plugin_id = entry_id = None
    elif isinstance(value, dict):
        plugin_id = value.get("pluginId", value.get("plugin_id"))
        entry_id = value.get("entryId", value.get("entry_id"))
    if (not isinstance(plugin_id, str) or not PLUGIN_ID.match(plugin_id) or not isinstance(entry_id, str)
            or not 0 < len(entry_id) <= MAX_GATEWAY_ID_LENGTH):
        shown = f" {json.dumps(value)}" if isinstance(value, str) else ""
        return _invalid(f'the target{shown} is not "<plugin>:<entry>" or {{ pluginId, entryId }}', field="target")
    return Ok((plugin_id, entry_id))


class DefaultRequestNormalizer:
    """Checks an `ExternalRequest` and makes it a `GatewayRequest` (docs/adapters.md#normalizer)."""

    def normalize(self, external: Any) -> Ok | Err:
        for name in ("protocol", "connection_id", "request_id", "action"):
            value = getattr(external, name, None)
            if not isinstance(value, str) or not 0 < len(value) <= MAX_GATEWAY_ID_LENGTH:
                camel = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)
                return _invalid(f"'{camel}' must be a string of 1–{MAX_GATEWAY_ID_LENGTH} characters", field=camel)
        payload = external.payload
        if payload is not None and not isinstance(payload, dict):
            return _invalid("the payload must be an object of arguments", field="payload")
        metadata = external.metadata if external.metadata is not None else {}
        if not isinstance(metadata, dict):
            return _invalid("'metadata' must be an object", field="metadata")
        target = read_target(metadata.get("target"))
        if target.is_err():
            return target
        plugin_id, entry_id = target.value or (None, None)
        return Ok(GatewayRequest(protocol=external.protocol, connection_id=external.connection_id,
                                 request_id=external.request_id, action=external.action, args=payload or {},
                                 target_plugin_id=plugin_id, target_entry_id=entry_id, metadata=metadata))


class TokenBucketLimiter:
    """One token bucket per key: `burst` tokens, `per_second` more a second; the least recently used goes first."""

    def __init__(self, burst: float, per_second: float, max_keys: int = 10_000,
                 now: Callable[[], float] | None = None) -> None:
        if not _is_number(burst) or not burst >= 1 or not _is_number(per_second) or not per_second > 0 \
                or not math.isfinite(per_second) or not math.isfinite(burst):
            raise ValueError("a token bucket needs burst ≥ 1 and per_second > 0 (finite numbers)")
        self.burst, self.per_second, self.max_keys = burst, per_second, max_keys
        self.now = now or (lambda: time.monotonic() * 1000.0)
        self.buckets: OrderedDict[str, list[float]] = OrderedDict()

    def take(self, key: str) -> int | None:
        """None when a token was taken; else the ms until one is there."""
        now = self.now()
        bucket = self.buckets.pop(key, None)
        if bucket is None:
            if len(self.buckets) >= self.max_keys:
                self.buckets.popitem(last=False)
            bucket = [float(self.burst), now]
        else:
            bucket[0] = min(self.burst, bucket[0] + max(0.0, now - bucket[1]) / 1000.0 * self.per_second)
            bucket[1] = now
        self.buckets[key] = bucket
        if bucket[0] >= 1:
            bucket[0] -= 1
            return None
        return math.ceil(min(MAX_RETRY_AFTER_MS, (1 - bucket[0]) / self.per_second * 1000))


MAX_RETRY_AFTER_MS = 2_147_483_647
"""The longest `retryAfterMs` said (about 24 days, the longest a timer waits): a tiny `per_second` says no more."""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def payload_bytes(value: Any) -> int:
    """About the JSON size of `value`, counted as the protocol's `payloadBytes` counts it (so the limit is the same
    number in both languages)."""
    total = 0
    seen: set[int] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item.encode("utf-8", "surrogatepass")) + 2
        elif isinstance(item, bool):
            total += 5
        elif isinstance(item, (int, float)):
            total += 8
        elif item is None:
            total += 4
        elif isinstance(item, (bytes, bytearray, memoryview)):
            total += len(item)
        elif isinstance(item, (list, tuple, dict)):
            if id(item) in seen:
                continue
            seen.add(id(item))
            if isinstance(item, dict):
                total += 2
                for key, element in item.items():
                    total += len(str(key).encode("utf-8", "surrogatepass")) + 4
                    stack.append(element)
            else:
                total += 2 + len(item)
                stack.extend(item)
        else:
            total += 4
    return total


class DefaultPolicyEngine:
    """Allow and deny lists (checked against the route), a size limit on args, a rate limit per connection, and the
    audit record of every request (docs/adapters.md#policy)."""

    def __init__(self, allow_plugins: list | None = None, deny_plugins: list | None = None,
                 max_param_bytes: int = DEFAULT_MAX_PARAM_BYTES, rate_limit: dict | None = None,
                 publish_audit: Callable[[dict], Any] | None = None, **original: Any) -> None:
        # The original's keywords: `allowed_plugin_ids`, `max_params_bytes`.
        allow = allow_plugins if allow_plugins is not None else original.get("allowed_plugin_ids")
        self.allow = set(allow) if allow else None
        self.deny = set(deny_plugins or [])
        self.max_param_bytes = original.get("max_params_bytes", max_param_bytes)
        self.limiter = TokenBucketLimiter(rate_limit["burst"], rate_limit["per_second"]) if rate_limit else None
        self.publish_audit = publish_audit

    def permits(self, plugin_id: str) -> bool:
        return plugin_id not in self.deny and (self.allow is None or plugin_id in self.allow)

    def authorize(self, request: GatewayRequest) -> Ok | Err:
        if self.max_param_bytes > 0:
            size = payload_bytes(request.args)
            if size > self.max_param_bytes:
                return Err(gateway_error(GatewayErrorCode.POLICY_DENIED,
                                         f"the arguments take {size} bytes; the limit is {self.max_param_bytes}",
                                         details={"reason": "max_param_bytes", "bytes": size,
                                                  "limit": self.max_param_bytes}))
        wait = self.limiter.take(request.connection_id) if self.limiter else None
        if wait is not None:
            return Err(gateway_error(GatewayErrorCode.POLICY_DENIED,
                                     f"rate limit of connection '{request.connection_id}' reached", retryable=True,
                                     details={"reason": "rate_limit", "retryAfterMs": wait}))
        return Ok(None)

    def authorize_route(self, request: GatewayRequest, decision: RouteDecision) -> Ok | Err:
        mode = getattr(decision.mode, "value", decision.mode)
        if mode == "plugin" and decision.plugin_id is not None and not self.permits(decision.plugin_id):
            return Err(gateway_error(GatewayErrorCode.POLICY_DENIED,
                                     f"plugin '{decision.plugin_id}' may not be reached through this adapter",
                                     details={"reason": "plugin_not_allowed", "pluginId": decision.plugin_id}))
        if mode == "broadcast" and decision.plugin_ids:
            permitted = [p for p in decision.plugin_ids if self.permits(p)]
            if not permitted:
                return Err(gateway_error(GatewayErrorCode.POLICY_DENIED,
                                         "none of the broadcast's plugins may be reached through this adapter",
                                         details={"reason": "plugin_not_allowed", "pluginIds": decision.plugin_ids}))
            if len(permitted) < len(decision.plugin_ids):
                return Ok(RouteDecision(mode=decision.mode, entry_id=decision.entry_id, plugin_ids=permitted,
                                        args=decision.args, reason=decision.reason))
        return Ok(decision)

    def audit(self, record: dict) -> None:
        if self.publish_audit is not None:
            self.publish_audit(record)


def action_matcher(pattern: str) -> Callable[[str], bool]:
    """Exact match, or a `*` pattern (any run of characters) matched against the whole action: the literal parts in
    order, each found at its leftmost place (no regular expression, so no backtracking however many `*` it has)."""
    if "*" not in pattern:
        return lambda action: action == pattern
    parts = pattern.split("*")
    first, last = parts[0], parts[-1]
    middle = [part for part in parts[1:-1] if part]

    def matches(action: str) -> bool:
        if len(action) < len(first) + len(last) or not action.startswith(first) or not action.endswith(last):
            return False
        at, end = len(first), len(action) - len(last)
        for part in middle:
            found = action.find(part, at, end)
            if found < 0:
                return False
            at = found + len(part)
        return True

    return matches


class DefaultRouteEngine:
    """The explicit target, else the first matching `[[adapter.routes]]` rule, else a self handler, else
    `route_failed` (docs/adapters.md#routing)."""

    def __init__(self, rules: list | None = None, explicit_targets: bool = True,
                 has_self_handler: Callable[[str], bool] | None = None, plugins: Any = None,
                 self_id: str | None = None) -> None:
        self.rules = [(rule, action_matcher(rule["action"])) for rule in rules or []]
        self.explicit_targets = explicit_targets
        self.has_self_handler = has_self_handler
        self.plugins = plugins
        self.self_id = self_id

    def rule_for(self, action: str) -> dict | None:
        return next((rule for rule, matches in self.rules if matches(action)), None)

    def mode_for(self, request: GatewayRequest) -> str | None:
        rule = self.rule_for(request.action)
        return rule.get("mode") if rule else None

    async def route(self, request: GatewayRequest) -> Ok | Err:
        if request.target_plugin_id is not None and self.explicit_targets:
            return Ok(RouteDecision(mode="plugin", plugin_id=request.target_plugin_id,
                                    entry_id=request.target_entry_id, reason="explicit target"))
        rule = self.rule_for(request.action)
        if rule is not None:
            return await self._follow(rule, request)
        if self.has_self_handler is not None and self.has_self_handler(request.action):
            return Ok(RouteDecision(mode="self", entry_id=request.action, reason="self handler"))
        return _route_failed(f"no route for action '{request.action}'", action=request.action)

    async def _follow(self, rule: dict, request: GatewayRequest) -> Ok | Err:
        reason = f"route rule '{rule['action']}'"
        entry_id = rule.get("entry") or request.action
        args = {**rule["args"], **request.args} if rule.get("args") else None
        route = rule["route"]
        if route == "drop":
            return Ok(RouteDecision(mode="drop", reason=reason))
        if route == "self":
            return Ok(RouteDecision(mode="self", entry_id=entry_id, args=args, reason=reason))
        if route == "plugin":
            return Ok(RouteDecision(mode="plugin", plugin_id=rule["plugin"], entry_id=entry_id, args=args,
                                    reason=reason))
        if self.plugins is None:
            return _route_failed("this route engine cannot list plugins for a broadcast", entryId=entry_id)
        listed = await self.plugins.list()
        if listed.is_err():
            return Err(gateway_error(GatewayErrorCode.ROUTE_FAILED, f"could not list plugins: {listed.error}",
                                     retryable=True, details={"entryId": entry_id,
                                                              "code": getattr(listed.error, "code", None)}))
        ids = [p["id"] for p in listed.value
               if p.get("running") and p.get("id") != self.self_id
               and any(e.get("id") == entry_id and e.get("enabled", True) for e in p.get("entries") or [])]
        if not ids:
            return _route_failed(f"no running plugin has the entry '{entry_id}'", action=request.action,
                                 entryId=entry_id)
        return Ok(RouteDecision(mode="broadcast", entry_id=entry_id, plugin_ids=ids, args=args, reason=reason))


def _route_failed(message: str, **details: Any) -> Err:
    return Err(gateway_error(GatewayErrorCode.ROUTE_FAILED, message, details=details))


class DefaultPluginInvoker:
    """Runs the decision: `plugin` through the host's cross-plugin call (`self.plugins.call_entry`), `broadcast` on
    each plugin at once, `self` with a handler registered by `handle()`, `drop` answering None
    (docs/adapters.md#invoker)."""

    def __init__(self, plugins: Any, timeout_s: float | None = None) -> None:
        self.plugins = plugins
        self.timeout_s = timeout_s
        self.handlers: dict[str, Callable] = {}

    def handle(self, action: str, handler: Callable) -> Callable[[], None]:
        self.handlers[action] = handler

        def unregister() -> None:
            if self.handlers.get(action) is handler:
                del self.handlers[action]

        return unregister

    def has_handler(self, action: str) -> bool:
        return action in self.handlers

    async def invoke(self, request: GatewayRequest, decision: RouteDecision, timeout_s: float | None = None) -> Ok | Err:
        args = decision.args if decision.args is not None else request.args
        mode = getattr(decision.mode, "value", decision.mode)
        timeout = timeout_s if timeout_s is not None else self.timeout_s
        if mode == "drop":
            return Ok(None)
        if mode == "self":
            return await self._run_self(decision.entry_id or request.action, args, request)
        if mode == "plugin":
            if decision.plugin_id is None or decision.entry_id is None:
                return Err(gateway_error(GatewayErrorCode.INTERNAL_ERROR, "a plugin route without a plugin or entry"))
            result = await self.plugins.call_entry(f"{decision.plugin_id}:{decision.entry_id}", args, timeout=timeout)
            return result if result.is_ok() else Err(_call_failed(decision.plugin_id, decision.entry_id, result.error))
        if mode == "broadcast":
            ids = list(decision.plugin_ids or [])
            answers = await asyncio.gather(*(self.plugins.call_entry(f"{p}:{decision.entry_id}", args,
                                                                     timeout=timeout) for p in ids))
            results = {p: ({"ok": True, "data": a.value} if a.is_ok() else
                           {"ok": False, "error": {"code": a.error.code, "message": a.error.message}})
                       for p, a in zip(ids, answers)}
            if ids and all(a.is_err() for a in answers):
                return Err(gateway_error(GatewayErrorCode.INVOKE_FAILED,
                                         f"every plugin failed the broadcast of '{decision.entry_id}'",
                                         retryable=any(a.error.code in RETRYABLE for a in answers),
                                         details={"entryId": decision.entry_id, "results": results}))
            return Ok({"results": results})
        return Err(gateway_error(GatewayErrorCode.INTERNAL_ERROR, f"unknown route mode '{mode}'"))

    async def _run_self(self, action: str, args: dict, request: GatewayRequest) -> Ok | Err:
        handler = self.handlers.get(action)
        if handler is None:
            return Err(gateway_error(GatewayErrorCode.INVOKE_FAILED, f"no handler for action '{action}'",
                                     details={"action": action}))
        try:
            value = handler(args, request)
            if inspect.isawaitable(value):
                value = await value
        except Exception as error:  # noqa: BLE001 - the handler's failure is the request's
            return Err(gateway_error(GatewayErrorCode.INVOKE_FAILED, str(error),
                                     details={"action": action, "code": getattr(error, "code", "ENTRY_FAILED")}))
        if isinstance(value, Err):
            error = value.error
            return Err(gateway_error(GatewayErrorCode.INVOKE_FAILED, getattr(error, "message", str(error)),
                                     details={"action": action, "code": getattr(error, "code", "ENTRY_FAILED")}))
        return Ok(value.value) if isinstance(value, Ok) else Ok(value)


def _call_failed(plugin_id: str, entry_id: str, error: Any) -> GatewayError:
    code = getattr(error, "code", "ENTRY_FAILED")
    details: dict = {"pluginId": plugin_id, "entryId": entry_id, "code": code}
    if getattr(error, "details", None) is not None:
        details["details"] = error.details
    return gateway_error(GatewayErrorCode.INVOKE_FAILED, getattr(error, "message", str(error)),
                         retryable=code in RETRYABLE, details=details)


class CallablePluginInvoker:
    """The original's invoker: `invoke_fn(request, decision)` (sync or async) answers the data."""

    def __init__(self, invoke_fn: Callable, logger: Any = None) -> None:
        self.invoke_fn = invoke_fn

    async def invoke(self, request: GatewayRequest, decision: RouteDecision) -> Any:
        if getattr(decision.mode, "value", decision.mode) == "drop":
            return Ok(None)
        value = self.invoke_fn(request, decision)
        return await value if inspect.isawaitable(value) else value


def json_problem(value: Any, path: str = "data", seen: tuple = ()) -> str | None:
    """Where `value` is not JSON (what every protocol can carry), in words; None when it is."""
    if value is None or isinstance(value, (str, bool)):
        return None
    if isinstance(value, int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{path} is {value}, not a finite number"
    if isinstance(value, (list, tuple, dict)):
        if any(value is s for s in seen):
            return f"{path} is a cycle"
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(value, dict) and not isinstance(key, str):
                return f"{path} has the key {key!r}, which is not a string"
            problem = json_problem(item, f"{path}.{key}" if isinstance(value, dict) else f"{path}[{key}]",
                                   (*seen, value))
            if problem:
                return problem
        return None
    return f"{path} is a {type(value).__name__}"


class DefaultResponseSerializer:
    """Keeps the response as the pipeline made it, checking its data is JSON (docs/adapters.md#serializer)."""

    def serialize(self, response: GatewayResponse, request: GatewayRequest | None = None) -> Ok | Err:
        if not response.ok:
            return Ok(response)
        problem = json_problem(response.data)
        if problem:
            return Err(gateway_error(GatewayErrorCode.INTERNAL_ERROR, f"the result is not JSON-compatible: {problem}",
                                     details={"path": problem.split(" ", 1)[0].replace("data", "$", 1)}))
        return Ok(response)


# -- [adapter] -----------------------------------------------------------------------------------------------------

def _bad(key: str, problem: str) -> ValidationError:
    return ValidationError(f"{key} {problem}", details={"key": key})


def _table(value: Any, where: str, keys: tuple | None = None) -> dict:
    if not isinstance(value, dict):
        raise _bad(where, "must be a table")
    unknown = next((k for k in value if keys is not None and k not in keys), None)
    if unknown is not None:
        raise _bad(f"{where}.{unknown}", f"is not a key of it (known: {', '.join(keys or ())})")
    return value


def read_gateway_settings(adapter: dict) -> dict:
    """The gateway's keys of `[adapter]`, checked as the TypeScript `readGatewaySettings` does: a wrong value raises
    `ValidationError` naming the key."""
    mode = adapter.get("mode", "gateway")
    if mode not in MODES:
        mode = "gateway"
    settings: dict = {"mode": mode, "explicit_targets": _bool(adapter.get("explicit_targets"), "adapter.explicit_targets"),
                      "audit": _bool(adapter.get("audit"), "adapter.audit"), "policy": {}, "routes": [],
                      "target": None, "timeout_s": None}
    policy = adapter.get("policy")
    if policy is not None:
        table = _table(policy, "adapter.policy", POLICY_KEYS)
        for key in ("allow_plugins", "deny_plugins"):
            if key in table:
                ids = table[key]
                if not isinstance(ids, list) or not all(isinstance(i, str) and PLUGIN_ID.match(i) for i in ids):
                    raise _bad(f"adapter.policy.{key}", "must be a list of plugin ids")
                settings["policy"][key] = ids
        if "max_param_bytes" in table:
            size = table["max_param_bytes"]
            if isinstance(size, bool) or not isinstance(size, int) or size < 0:
                raise _bad("adapter.policy.max_param_bytes", "must be a whole number of bytes (0: no limit)")
            settings["policy"]["max_param_bytes"] = size
        if "rate_limit" in table:
            rate = _table(table["rate_limit"], "adapter.policy.rate_limit", ("burst", "per_second"))
            burst, per_second = rate.get("burst"), rate.get("per_second")
            if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
                raise _bad("adapter.policy.rate_limit.burst", "must be a whole number ≥ 1")
            if not _is_number(per_second) or not per_second > 0 or not math.isfinite(per_second):
                raise _bad("adapter.policy.rate_limit.per_second", "must be a number above 0")
            settings["policy"]["rate_limit"] = {"burst": burst, "per_second": per_second}
    if adapter.get("target") is not None:
        target = read_target(adapter["target"])
        if target.is_err() or target.value is None:
            raise _bad("adapter.target", 'must be "<plugin>:<entry>"')
        settings["target"] = target.value
    routes = adapter.get("routes")
    if routes is not None:
        if not isinstance(routes, list):
            raise _bad("adapter.routes", "must be a list of tables ([[adapter.routes]])")
        settings["routes"] = [_rule(r, f"adapter.routes[{i}]", settings["target"]) for i, r in enumerate(routes)]
    if mode == "bridge" and settings["target"] is None:
        raise ValidationError('[adapter] mode = "bridge" needs target = "<plugin>:<entry>"',
                              details={"key": "adapter.target"})
    timeout = adapter.get("timeout")
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= MAX_SECONDS:
            raise ValidationError(f"adapter.timeout must be above 0 and at most {MAX_SECONDS} seconds (about 24 days); "
                                  f"got {timeout}", details={"key": "adapter.timeout"})
        settings["timeout_s"] = float(timeout)
    return settings


def _bool(value: Any, key: str) -> bool:
    if value is None:
        return True
    if not isinstance(value, bool):
        raise _bad(key, "must be true or false")
    return value


def _rule(value: Any, where: str, bridge: tuple | None) -> dict:
    table = _table(value, where)
    action = table.get("action")
    if not isinstance(action, str) or not 0 < len(action) <= MAX_GATEWAY_ID_LENGTH:
        raise _bad(f"{where}.action", f"must be a string of 1–{MAX_GATEWAY_ID_LENGTH} characters")
    mode = table.get("mode")
    if mode == "bridge":
        own = next((k for k in ("route", "plugin", "entry", "args") if table.get(k) is not None), None)
        if own:
            raise _bad(f"{where}.{own}", 'is not for a rule with mode = "bridge": it goes to [adapter] target')
        if bridge is None:
            raise _bad("adapter.target", f'is needed by {where} (mode = "bridge")')
        return {"action": action, "route": "plugin", "plugin": bridge[0], "entry": bridge[1], "mode": mode}
    plugin = table.get("plugin")
    route = table.get("route") or ("plugin" if plugin is not None else None)
    if route not in ROUTES:
        raise _bad(f"{where}.route", f"must be one of {', '.join(ROUTES)} (default plugin when 'plugin' is set)")
    rule: dict = {"action": action, "route": route}
    if plugin is not None:
        if not isinstance(plugin, str) or not PLUGIN_ID.match(plugin):
            raise _bad(f"{where}.plugin", "must be a plugin id")
        rule["plugin"] = plugin
    if route == "plugin" and plugin is None:
        raise _bad(f"{where}.plugin", "is needed by a plugin route")
    entry = table.get("entry")
    if entry is not None:
        if not isinstance(entry, str) or not 0 < len(entry) <= MAX_GATEWAY_ID_LENGTH:
            raise _bad(f"{where}.entry", f"must be a string of 1–{MAX_GATEWAY_ID_LENGTH} characters")
        rule["entry"] = entry
    elif "*" in action and route != "drop":
        raise _bad(f"{where}.entry", "is needed when the action is a pattern")
    if table.get("args") is not None:
        if not isinstance(table["args"], dict):
            raise _bad(f"{where}.args", "must be a table")
        rule["args"] = table["args"]
    if mode is not None:
        if mode not in MODES:
            raise _bad(f"{where}.mode", f"must be one of {', '.join(MODES)}")
        rule["mode"] = mode
    return rule


__all__ = [
    "AUDIT_EVENT_TYPE",
    "CallablePluginInvoker",
    "DefaultPluginInvoker",
    "DefaultPolicyEngine",
    "DefaultRequestNormalizer",
    "DefaultResponseSerializer",
    "DefaultRouteEngine",
    "TokenBucketLimiter",
    "read_gateway_settings",
    "read_target",
    "RouteMode",
]
