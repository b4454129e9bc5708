"""`AdapterGatewayCore` (docs/adapters.md#the-pipeline), the Python port of the TypeScript SDK's
`adapter-gateway-core.ts`: normalize → policy → route → policy on the route → invoke → serialize, by the adapter's
mode; every stage timed; every failure a `GatewayError` in the response, never a raise; one audit record per request
(the policy engine's `audit`, published on the bus as `adapter.audit`) and its timings to the host's metrics
(`adapter.stage_timings`)."""

from __future__ import annotations

import asyncio
import inspect
import time
from typing import Any, Callable

from ..result import Err, Ok
from .gateway_defaults import (
    AUDIT_EVENT_TYPE,
    DefaultPluginInvoker,
    DefaultPolicyEngine,
    DefaultRequestNormalizer,
    DefaultResponseSerializer,
    DefaultRouteEngine,
    read_gateway_settings,
)
from .gateway_models import (
    CODES,
    STAGE_CODES,
    ExternalRequest,
    GatewayError,
    GatewayErrorCode,
    GatewayErrorException,
    GatewayRequest,
    GatewayResponse,
    RouteDecision,
    gateway_error,
)

PIPELINE_MODES = ("gateway", "router", "bridge")
STAGES = ("normalize", "policy", "route", "invoke", "serialize")
MAX_PENDING = 256
FLUSH_S = 0.25


class GatewayStageReporter:
    """Sends the stage timings to the host in one `adapter.stage_timings` notification when 256 requests are waiting
    or 250 ms after the first one, and on `dispose()` (as the TypeScript `GatewayStageReporter`)."""

    def __init__(self, send: Callable[[dict], Any]) -> None:
        self.send = send
        self._reset()
        self.handle: asyncio.TimerHandle | None = None

    def _reset(self) -> None:
        self.samples: dict[str, list[float]] = {stage: [] for stage in (*STAGES, "total")}
        self.outcomes: dict[str, int] = {}
        self.pending = 0

    def record(self, timings: dict, code: str | None) -> None:
        for stage in (*STAGES, "total"):
            if stage in timings:
                self.samples[stage].append(timings[stage])
        outcome = code or "ok"
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        self.pending += 1
        if self.pending >= MAX_PENDING:
            self.flush()
        elif self.handle is None:
            try:
                self.handle = asyncio.get_running_loop().call_later(FLUSH_S, self.flush)
            except RuntimeError:  # no loop here (a sync caller): send at once
                self.flush()

    def flush(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None
        if self.pending == 0:
            return
        report = {"stages": {k: v for k, v in self.samples.items() if v}, "outcomes": self.outcomes}
        self._reset()
        self.send(report)

    def dispose(self) -> None:
        self.flush()


def _value(mode: Any) -> str:
    return str(getattr(mode, "value", mode))


class AdapterGatewayCore:
    """The pipeline. Stages may be the defaults or your own; a stage's method may be sync or `async`, answer
    `Ok`/`Err(GatewayError)` or a plain value, or raise `GatewayErrorException` (the original's style)."""

    def __init__(self, normalizer: Any = None, policy_engine: Any = None, route_engine: Any = None,
                 invoker: Any = None, serializer: Any = None, logger: Any = None, *, mode: str = "gateway",
                 bridge_target: tuple | str | None = None, timeout_s: float | None = None, metrics: Any = None,
                 policy: Any = None, router: Any = None, transport: Any = None) -> None:
        # `policy` / `router` / `transport`: the original's keywords.
        self.normalizer = normalizer or DefaultRequestNormalizer()
        self.policy_engine = policy_engine or policy or DefaultPolicyEngine()
        self.route_engine = route_engine or router or DefaultRouteEngine()
        self.invoker = invoker
        self.serializer = serializer or DefaultResponseSerializer()
        self.logger = logger
        self.mode = _value(mode) if _value(mode) in (*PIPELINE_MODES, "hybrid") else "gateway"
        if isinstance(bridge_target, str):
            plugin_id, _, entry_id = bridge_target.partition(":")
            bridge_target = (plugin_id, entry_id)
        self.bridge_target = bridge_target
        self.timeout_s = timeout_s
        self.metrics = metrics
        self.transport = transport
        self.running = False

    @classmethod
    def for_plugin(cls, plugin: Any, **overrides: Any) -> "AdapterGatewayCore":
        """Every default stage, configured from the adapter's `[adapter]` table (docs/adapters.md#configuration);
        audit records on its bus, timings to the host. Raises `ValidationError` naming a wrong key."""
        settings = read_gateway_settings(plugin.adapter_settings)
        logger = overrides.pop("logger", None) or plugin.logger
        invoker = overrides.pop("invoker", None) or DefaultPluginInvoker(plugin.plugins, settings["timeout_s"])

        def publish(record: dict) -> None:
            sent = plugin.bus.emit(AUDIT_EVENT_TYPE, record)
            if sent.is_err():
                logger.warning("could not publish an audit record: {}", sent.error)

        policy = overrides.pop("policy_engine", None) or DefaultPolicyEngine(
            **settings["policy"], publish_audit=publish if settings["audit"] else None)
        has_handler = getattr(invoker, "has_handler", None)
        route = overrides.pop("route_engine", None) or DefaultRouteEngine(
            rules=settings["routes"], explicit_targets=settings["explicit_targets"],
            has_self_handler=has_handler if callable(has_handler) else None, plugins=plugin.plugins,
            self_id=plugin.plugin_id)
        runtime = plugin.ctx._runtime
        metrics = overrides.pop("metrics", None) or GatewayStageReporter(
            lambda report: runtime.notify("adapter.stage_timings", report))
        return cls(normalizer=overrides.pop("normalizer", None), policy_engine=policy, route_engine=route,
                   invoker=invoker, serializer=overrides.pop("serializer", None), logger=logger,
                   mode=overrides.pop("mode", settings["mode"]),
                   bridge_target=overrides.pop("bridge_target", settings["target"]),
                   timeout_s=overrides.pop("timeout_s", settings["timeout_s"]), metrics=metrics, **overrides)

    def handle(self, action: str, handler: Callable) -> Callable[[], None]:
        """A `self` handler for `action`: `handler(args, request)`, sync or async, a value or a Result."""
        register = getattr(self.invoker, "handle", None)
        if not callable(register):
            raise TypeError("this gateway's invoker takes no self handlers")
        return register(action, handler)

    # -- the original's transport loop ---------------------------------------------------------------------------

    async def start(self) -> Ok:
        if self.transport is not None and not self.running:
            await _maybe(self.transport.start())
        self.running = True
        return Ok(None)

    async def stop(self) -> Ok:
        if self.transport is not None and self.running:
            await _maybe(self.transport.stop())
        self.running = False
        self.dispose()
        return Ok(None)

    async def run_once(self) -> Ok | Err:
        if self.transport is None:
            return Err(gateway_error(GatewayErrorCode.INTERNAL_ERROR, "this gateway has no transport"))
        received = await _maybe(self.transport.recv())
        external = received.value if isinstance(received, Ok) else received
        response = await self.process(external)
        await _maybe(self.transport.send(response))
        return Ok(response)

    # -- one request -----------------------------------------------------------------------------------------------

    async def process(self, external: ExternalRequest, timeout_s: float | None = None) -> GatewayResponse:
        """Runs one request through the pipeline. Never raises: a failure is a response with `ok = False`."""
        trip = {"external": external, "started": time.perf_counter(), "received_at": time.time(), "timings": {},
                "mode": "gateway" if self.mode == "hybrid" else self.mode, "request": None, "route": None}
        try:
            outcome = await self._run(trip, timeout_s)
        except asyncio.CancelledError:
            # The task awaiting it was canceled (its entry's cancel): the call it made was canceled at the host
            # (`request.cancel`), as a `signal` does in TypeScript. It still has its audit record and timings.
            outcome = Err(gateway_error(GatewayErrorCode.INVOKE_FAILED, "the request was canceled",
                                        details={"code": "CANCELED"}))
            self._finish(trip, self._unserialized(trip, outcome))
            raise
        except Exception as error:  # noqa: BLE001 - only a bug of the core itself gets here
            self._log_exception("the gateway failed a request", error)
            outcome = Err(gateway_error(GatewayErrorCode.INTERNAL_ERROR, "the gateway failed the request"))
        response = await self._serialize(trip, outcome)
        self._finish(trip, response)
        return response

    def _unserialized(self, trip: dict, outcome: Err) -> GatewayResponse:
        request_id = getattr(trip["external"], "request_id", "")
        response = GatewayResponse(request_id=request_id if isinstance(request_id, str) else "", ok=False,
                                   error=outcome.error, mode=trip["mode"], route=trip["route"])
        total = (time.perf_counter() - trip["started"]) * 1000.0
        response.timings = {"total": round(total, 3), **{k: round(v, 3) for k, v in trip["timings"].items()}}
        return response

    handle_envelope = process

    async def _run(self, trip: dict, timeout_s: float | None) -> Ok | Err:
        request = await self._stage(trip, "normalize", lambda: self.normalizer.normalize(trip["external"]))
        if request.is_err():
            return request
        if not isinstance(request.value, GatewayRequest):
            self._log_error("the gateway's normalize stage answered no GatewayRequest")
            return Err(_threw("normalize"))
        req: GatewayRequest = request.value
        trip["request"] = req
        mode = self._mode_of(req)
        if mode.is_err():
            return mode
        trip["mode"] = mode.value
        if trip["mode"] == "bridge":
            if not self.bridge_target:
                return Err(gateway_error(GatewayErrorCode.ROUTE_FAILED,
                                         'bridge mode needs [adapter] target = "<plugin>:<entry>"'))
            trip["route"] = RouteDecision(mode="plugin", plugin_id=self.bridge_target[0],
                                          entry_id=self.bridge_target[1], reason="bridge")
        else:
            authorize_route = getattr(self.policy_engine, "authorize_route", None)
            if trip["mode"] == "gateway":
                allowed = await self._stage(trip, "policy", lambda: self.policy_engine.authorize(req))
                if allowed.is_err():
                    return allowed
            elif req.target_plugin_id is not None and req.target_entry_id is not None and callable(authorize_route):
                # `router` skips the policy for where the configuration sends a request, not for a plugin the request
                # names itself: an explicit target is checked against the allow and deny lists in every mode.
                asked = RouteDecision(mode="plugin", plugin_id=req.target_plugin_id, entry_id=req.target_entry_id,
                                      reason="explicit target")
                allowed = await self._stage(trip, "policy", lambda: authorize_route(req, asked))
                if allowed.is_err():
                    return allowed
            decide = getattr(self.route_engine, "route", None) or getattr(self.route_engine, "decide")
            route = await self._stage(trip, "route", lambda: decide(req))
            if route.is_err():
                return route
            if not isinstance(route.value, RouteDecision):
                self._log_error("the gateway's route stage answered no RouteDecision")
                return Err(_threw("route"))
            trip["route"] = route.value
            if trip["mode"] == "gateway" and callable(authorize_route):
                decision = route.value
                allowed = await self._stage(trip, "policy", lambda: authorize_route(req, decision))
                if allowed.is_err():
                    return allowed
                trip["route"] = allowed.value if isinstance(allowed.value, RouteDecision) else decision
        decision = trip["route"]
        timeout = timeout_s if timeout_s is not None else self.timeout_s
        if self.invoker is None:
            return Err(gateway_error(GatewayErrorCode.INTERNAL_ERROR, "this gateway has no invoker"))
        invoke = self.invoker.invoke
        takes_timeout = _takes(invoke, "timeout_s")
        return await self._stage(trip, "invoke", lambda: invoke(req, decision, timeout_s=timeout) if takes_timeout
                                 else invoke(req, decision))

    def _mode_of(self, request: GatewayRequest) -> Ok | Err:
        if self.mode != "hybrid":
            return Ok(self.mode)
        asked = (request.metadata or {}).get("mode")
        if asked is not None:
            if asked in PIPELINE_MODES:
                return Ok(asked)
            return Err(gateway_error(GatewayErrorCode.INVALID_REQUEST,
                                     f"metadata.mode must be one of {', '.join(PIPELINE_MODES)}",
                                     details={"field": "metadata.mode"}))
        mode_for = getattr(self.route_engine, "mode_for", None)
        try:
            ruled = mode_for(request) if callable(mode_for) else None
        except Exception as error:  # noqa: BLE001
            self._log_exception("the route engine failed to pick a mode", error)
            return Err(_threw("route"))
        return Ok("gateway" if ruled in (None, "hybrid") else ruled)

    async def _stage(self, trip: dict, stage: str, run: Callable[[], Any]) -> Ok | Err:
        """Runs a stage, timing it (the policy, run twice, adds up), turning a raise or a plain value into a Result."""
        started = time.perf_counter()
        try:
            result = await _maybe(run())
        except GatewayErrorException as refused:
            result = Err(refused.error)
        except asyncio.CancelledError:
            trip["timings"][stage] = trip["timings"].get(stage, 0.0) + (time.perf_counter() - started) * 1000.0
            raise
        except Exception as error:  # noqa: BLE001
            self._log_exception(f"the gateway's {stage} stage threw", error)
            result = Err(_threw(stage))
        trip["timings"][stage] = trip["timings"].get(stage, 0.0) + (time.perf_counter() - started) * 1000.0
        if isinstance(result, Err):
            return Err(_as_gateway_error(result.error, stage))
        if isinstance(result, Ok):
            return result
        return Ok(result)

    async def _serialize(self, trip: dict, outcome: Ok | Err) -> GatewayResponse:
        external = trip["external"]
        # The external request's id; a normalizer of the original's style that reads it from `raw` gives it here.
        request_id = getattr(external, "request_id", "") or getattr(trip["request"], "request_id", "")
        base = {"request_id": request_id if isinstance(request_id, str) else "", "mode": trip["mode"],
                "route": trip["route"]}
        draft = (GatewayResponse(ok=True, data=outcome.value, **base) if outcome.is_ok()
                 else GatewayResponse(ok=False, error=outcome.error, **base))
        serializer = self.serializer
        if hasattr(serializer, "serialize"):
            serialized = await self._stage(trip, "serialize", lambda: serializer.serialize(draft, trip["request"]))
        else:  # the original's serializer: ok(request=, result=, latency_ms=) / fail(request=, error=, latency_ms=)
            latency = (time.perf_counter() - trip["started"]) * 1000.0
            serialized = await self._stage(trip, "serialize", lambda: serializer.ok(
                request=trip["request"], result=draft.data, latency_ms=latency) if draft.ok else serializer.fail(
                request=trip["request"], error=draft.error, latency_ms=latency))
        if serialized.is_ok() and isinstance(serialized.value, GatewayResponse):
            response = serialized.value
        elif serialized.is_ok():
            self._log_error("the gateway's serialize stage answered no GatewayResponse")
            response = GatewayResponse(ok=False, error=_threw("serialize"), **base)
        else:
            response = GatewayResponse(ok=False, error=serialized.error, **base)
        total = (time.perf_counter() - trip["started"]) * 1000.0
        response.timings = {"total": round(total, 3), **{k: round(v, 3) for k, v in trip["timings"].items()}}
        return response

    def _finish(self, trip: dict, response: GatewayResponse) -> None:
        code = None if response.ok else response.error.code
        audit = getattr(self.policy_engine, "audit", None)
        if callable(audit):
            try:
                audit(_audit_record(trip, response))
            except Exception as error:  # noqa: BLE001
                self._log_exception("the policy engine's audit threw", error)
        if self.metrics is not None:
            try:
                self.metrics.record(response.timings, code)
            except Exception as error:  # noqa: BLE001
                self._log_exception("the gateway metrics threw", error)

    def dispose(self) -> None:
        """Sends what the metrics hold to the host now (call it from the adapter's shutdown)."""
        dispose = getattr(self.metrics, "dispose", None)
        if callable(dispose):
            dispose()

    def _log_exception(self, message: str, error: BaseException) -> None:
        if self.logger is not None:
            self.logger.error("{}: {}: {}", message, type(error).__name__, error)

    def _log_error(self, message: str) -> None:
        if self.logger is not None:
            self.logger.error(message)


async def _maybe(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _takes(fn: Callable, name: str) -> bool:
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def _threw(stage: str) -> GatewayError:
    return gateway_error(GatewayErrorCode.INTERNAL_ERROR, f"the gateway's {stage} stage failed",
                         details={"stage": stage})


def _as_gateway_error(error: Any, stage: str) -> GatewayError:
    """A stage's refusal: its own code when it is a stable one, else the stage's code with the original in details."""
    code = getattr(error, "code", None)
    code = getattr(code, "value", code)
    message = getattr(error, "message", None)
    if not isinstance(message, str):
        message = str(error) if error is not None else f"the {stage} stage refused the request"
    details = getattr(error, "details", None)
    result = gateway_error(code if code in CODES else STAGE_CODES[stage], message,
                           retryable=getattr(error, "retryable", False) is True,
                           details=dict(details) if isinstance(details, dict) else None)
    if code not in CODES and isinstance(code, str):
        result.details = {**(result.details or {}), "code": code}
    return result


def _audit_record(trip: dict, response: GatewayResponse) -> dict:
    external, route = trip["external"], trip["route"]

    def text(name: str) -> str:
        value = getattr(external, name, "")
        return value if isinstance(value, str) else ""

    if response.ok:
        decision = _value(route.mode) if route else "drop"
    elif response.error.code == GatewayErrorCode.POLICY_DENIED.value:
        decision = "denied"
    else:
        decision = _value(route.mode) if route else "failed"
    record = {"protocol": text("protocol"), "connectionId": text("connection_id"), "requestId": text("request_id"),
              "action": text("action"), "mode": trip["mode"], "decision": decision, "ok": response.ok,
              "code": None if response.ok else response.error.code, "durationMs": response.timings["total"],
              "at": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(trip["received_at"]))
              + f".{int(trip['received_at'] * 1000) % 1000:03d}Z"}
    if route is not None:
        for key, name in (("pluginId", "plugin_id"), ("entryId", "entry_id"), ("pluginIds", "plugin_ids")):
            if getattr(route, name) is not None:
                record[key] = getattr(route, name)
    return record


__all__ = ["AdapterGatewayCore", "GatewayStageReporter"]
