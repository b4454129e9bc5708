/**
 * The Python gateway pipeline (packages/python-sdk/plugin/sdk/adapter/) in one process with a fake `plugins`: the
 * modes (`router` skips the policy, `bridge` goes to the target, `hybrid` per request), a stage that raises or answers
 * a code of its own, a broadcast, and `[adapter]` keys refused by name — the cases of the TypeScript gateway's unit
 * tests. The e2e test (test/e2e/python-adapter-gateway.e2e.test.ts) covers the pipeline through real processes.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { PYTHON, PYTHON_SKIP } from "./support/python.ts";

const sdk = path.resolve(import.meta.dirname, "../packages/python-sdk");

const script = `
import asyncio, json, sys
sys.path.insert(0, ${JSON.stringify(sdk)})
from plugin.sdk.adapter import *
from plugin.sdk.adapter.gateway_models import ExternalRequest
from plugin.sdk.adapter.gateway_defaults import action_matcher
from plugin.sdk.errors import SdkError, ValidationError

class Plugins:
    def __init__(self):
        self.calls = []
    async def call_entry(self, ref, args, timeout=None):
        self.calls.append([ref, args, timeout])
        if ref.startswith("down:"):
            return Err(SdkError("not running", code="PLUGIN_NOT_RUNNING"))
        return Ok({"ref": ref})
    async def list(self):
        return Ok([
            {"id": "a", "running": True, "entries": [{"id": "on_news", "enabled": True}]},
            {"id": "b", "running": True, "entries": [{"id": "on_news", "enabled": False}]},
            {"id": "down", "running": True, "entries": [{"id": "on_news", "enabled": True}]},
            {"id": "me", "running": True, "entries": [{"id": "on_news", "enabled": True}]},
        ])

def core(adapter, **overrides):
    plugins = Plugins()
    settings = read_gateway_settings(adapter)
    invoker = DefaultPluginInvoker(plugins, settings["timeout_s"])
    gateway = AdapterGatewayCore(
        policy_engine=DefaultPolicyEngine(**settings["policy"]),
        route_engine=DefaultRouteEngine(rules=settings["routes"], plugins=plugins, self_id="me",
                                        has_self_handler=invoker.has_handler),
        invoker=invoker, mode=settings["mode"], bridge_target=settings["target"], timeout_s=settings["timeout_s"],
        **overrides)
    return gateway, plugins

def req(action, payload=None, metadata=None):
    return ExternalRequest(protocol="t", connection_id="c", request_id="r", action=action, payload=payload,
                           metadata=metadata)

def brief(response):
    d = response.to_dict()
    return {"ok": d["ok"], "mode": d["mode"], "route": d.get("route"), "data": d.get("data"), "error": d.get("error"),
            "stages": sorted(k for k in d["timings"] if k != "total")}

async def main():
    out = {}
    deny = {"policy": {"deny_plugins": ["x"]}, "routes": [{"action": "go", "plugin": "x", "entry": "e"}]}
    out["gateway"] = brief(await core({**deny, "mode": "gateway"})[0].process(req("go")))
    out["router"] = brief(await core({**deny, "mode": "router"})[0].process(req("go")))
    gw, plugins = core({"mode": "bridge", "target": "p:e", "timeout": 3})
    out["bridge"] = brief(await gw.process(req("whatever", {"k": 1})))
    out["bridge_calls"] = plugins.calls
    hybrid = {**deny, "mode": "hybrid", "target": "p:bridged",
              "routes": [*deny["routes"], {"action": "raw.*", "mode": "bridge"}]}
    gw, _ = core(hybrid)
    out["hybrid_rule"] = brief(await gw.process(req("raw.thing")))
    out["hybrid_default"] = brief(await gw.process(req("go")))
    out["hybrid_metadata"] = brief(await gw.process(req("go", metadata={"mode": "router"})))
    out["hybrid_bad"] = brief(await gw.process(req("go", metadata={"mode": "fast"})))
    # An explicit target is checked against the allow/deny lists in a mode that skips the policy.
    fast = {"policy": {"deny_plugins": ["x"]}, "routes": [{"action": "raw.*", "mode": "router", "plugin": "p", "entry": "raw"}]}
    gw, plugins = core({**fast, "mode": "hybrid"})
    out["explicit_rule_router"] = brief(await gw.process(req("raw.x", metadata={"target": "x:dump"})))
    out["explicit_metadata_router"] = brief(await gw.process(req("go", metadata={"mode": "router", "target": "x:dump"})))
    out["explicit_allowed"] = brief(await gw.process(req("raw.x", metadata={"target": "y:e"})))
    gw, plugins2 = core({**fast, "mode": "router"})
    out["explicit_router"] = brief(await gw.process(req("raw.x", metadata={"target": "x:dump"})))
    out["explicit_calls"] = [c[0] for c in plugins.calls + plugins2.calls]
    gw, _ = core({"routes": [{"action": "news", "route": "broadcast", "entry": "on_news"}]})
    out["broadcast"] = brief(await gw.process(req("news")))

    class Throws:
        def normalize(self, external):
            raise RuntimeError("boom")
    class OwnCode:
        async def authorize(self, request):
            return Err(SdkError("no", code="MY_CODE"))
    out["throws"] = brief(await AdapterGatewayCore(normalizer=Throws()).process(req("x")))
    out["own_code"] = brief(await AdapterGatewayCore(policy_engine=OwnCode()).process(req("x")))
    gw, _ = core({})
    gw.handle("fail", lambda args, request: Err(SdkError("bad input", code="BAD")))
    out["self_err"] = brief(await gw.process(req("fail")))
    problems = []
    for bad in ({"mode": "bridge"}, {"routes": [{"action": "a"}]}, {"routes": [{"action": "a*", "plugin": "p"}]},
                {"policy": {"rate_limit": {"burst": 0, "per_second": 1}}}, {"timeout": -1},
                {"routes": [{"action": "a", "mode": "bridge", "plugin": "p"}], "target": "p:e"}):
        try:
            read_gateway_settings(bad)
            problems.append(None)
        except ValidationError as error:
            problems.append([str(error), error.details["key"]])
    out["settings"] = problems
    limits = []
    for per_second in (0, -1, float("nan"), float("inf"), True):
        try:
            TokenBucketLimiter(1, per_second)
            limits.append(None)
        except ValueError as error:
            limits.append(str(error))
    slow = TokenBucketLimiter(1, 1e-300, now=lambda: 0.0)
    limits.append([slow.take("a"), slow.take("a")])
    for per_second in (float("inf"), 0):
        try:
            read_gateway_settings({"policy": {"rate_limit": {"burst": 1, "per_second": per_second}}})
            limits.append(None)
        except ValidationError as error:
            limits.append(error.details["key"])
    out["limits"] = limits
    import time
    cases = [("a*b*c", "a-b-c"), ("a*b*c", "a-c-b"), ("ab*ba", "aba"), ("a*a*a", "aaa"), ("a*a*a", "aa"),
             ("*x*", "abc"), ("notes.*", "notesXadd"), ("*", "")]
    out["patterns"] = [action_matcher(p)(a) for p, a in cases]
    hostile = action_matcher("*a" * 12 + "*b")
    began = time.perf_counter()
    out["hostile"] = [hostile("a" * 20000), time.perf_counter() - began]
    print(json.dumps(out))

asyncio.run(main())
`;

test("the Python gateway: modes, broadcast, stage failures and [adapter] checks", { skip: PYTHON_SKIP }, () => {
  const run = spawnSync(PYTHON as string, ["-B", "-c", script], { encoding: "utf8", timeout: 30_000 });
  assert.equal(run.status, 0, run.stderr);
  const out = JSON.parse(run.stdout);
  const denied = {
    code: "policy_denied",
    message: "plugin 'x' may not be reached through this adapter",
    retryable: false,
    details: { reason: "plugin_not_allowed", pluginId: "x" },
  };
  assert.deepEqual(out.gateway.error, denied);
  assert.deepEqual(out.gateway.stages, ["normalize", "policy", "route", "serialize"]);
  assert.deepEqual([out.router.ok, out.router.stages], [true, ["invoke", "normalize", "route", "serialize"]]);
  assert.deepEqual(out.bridge, {
    ok: true,
    mode: "bridge",
    route: { mode: "plugin", pluginId: "p", entryId: "e", reason: "bridge" },
    data: { ref: "p:e" },
    error: null,
    stages: ["invoke", "normalize", "serialize"],
  });
  assert.deepEqual(out.bridge_calls, [["p:e", { k: 1 }, 3]]);
  assert.deepEqual([out.hybrid_rule.mode, out.hybrid_rule.route.entryId], ["bridge", "bridged"]);
  assert.deepEqual([out.hybrid_default.mode, out.hybrid_default.error], ["gateway", denied]);
  assert.deepEqual([out.hybrid_metadata.mode, out.hybrid_metadata.ok], ["router", true]);
  assert.deepEqual(out.hybrid_bad.error, {
    code: "invalid_request",
    message: "metadata.mode must be one of gateway, router, bridge",
    retryable: false,
    details: { field: "metadata.mode" },
  });
  assert.deepEqual(out.explicit_rule_router, {
    ok: false,
    mode: "router",
    route: null,
    data: null,
    error: denied,
    stages: ["normalize", "policy", "serialize"],
  });
  assert.deepEqual([out.explicit_metadata_router.mode, out.explicit_metadata_router.error], ["router", denied]);
  assert.deepEqual(out.explicit_router.error, denied);
  assert.deepEqual([out.explicit_allowed.ok, out.explicit_allowed.data], [true, { ref: "y:e" }]);
  assert.deepEqual(out.explicit_calls, ["y:e"], "nothing reached the denied plugin");
  assert.deepEqual(out.broadcast.route.pluginIds, ["a", "down"], "running, enabled, not the adapter itself");
  assert.deepEqual(out.broadcast.data, {
    results: {
      a: { ok: true, data: { ref: "a:on_news" } },
      down: { ok: false, error: { code: "PLUGIN_NOT_RUNNING", message: "not running" } },
    },
  });
  assert.deepEqual(out.throws.error, {
    code: "internal_error",
    message: "the gateway's normalize stage failed",
    retryable: false,
    details: { stage: "normalize" },
  });
  assert.deepEqual(out.own_code.error, {
    code: "policy_denied",
    message: "no",
    retryable: false,
    details: { code: "MY_CODE" },
  });
  assert.deepEqual(out.self_err.error, {
    code: "invoke_failed",
    message: "bad input",
    retryable: false,
    details: { action: "fail", code: "BAD" },
  });
  const refused = "a token bucket needs burst ≥ 1 and per_second > 0 (finite numbers)";
  assert.deepEqual(out.limits, [
    refused,
    refused,
    refused,
    refused,
    refused,
    [null, 2_147_483_647],
    "adapter.policy.rate_limit.per_second",
    "adapter.policy.rate_limit.per_second",
  ]);
  assert.deepEqual(out.patterns, [true, false, false, true, false, false, false, true]);
  assert.equal(out.hostile[0], false);
  assert.ok(out.hostile[1] < 0.2, `many '*' against a long action stays fast (took ${out.hostile[1]}s)`);
  assert.deepEqual(out.settings, [
    ['[adapter] mode = "bridge" needs target = "<plugin>:<entry>"', "adapter.target"],
    [
      "adapter.routes[0].route must be one of plugin, self, broadcast, drop (default plugin when 'plugin' is set)",
      "adapter.routes[0].route",
    ],
    ["adapter.routes[0].entry is needed when the action is a pattern", "adapter.routes[0].entry"],
    ["adapter.policy.rate_limit.burst must be a whole number ≥ 1", "adapter.policy.rate_limit.burst"],
    ["adapter.timeout must be above 0 and at most 2147483 seconds (about 24 days); got -1", "adapter.timeout"],
    [
      'adapter.routes[0].plugin is not for a rule with mode = "bridge": it goes to [adapter] target',
      "adapter.routes[0].plugin",
    ],
  ]);
});
