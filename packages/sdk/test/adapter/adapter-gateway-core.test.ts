/**
 * `AdapterGatewayCore` with the default stages and a fake `this.plugins` (docs/adapters.md): what each mode runs, the
 * code each stage's failure gets, the rate limit, the audit record and timings of every request, and the caller's
 * signal reaching the call.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { PluginInfo } from "@neko/protocol";
import {
  AdapterGatewayCore,
  DefaultPluginInvoker,
  DefaultPolicyEngine,
  DefaultRequestNormalizer,
  DefaultResponseSerializer,
  DefaultRouteEngine,
  type ExternalRequest,
  type GatewayAuditRecord,
  type GatewayCoreOptions,
  type GatewayError,
  type GatewayResponse,
  type GatewayRouteRule,
  type PolicyOptions,
  type StageTimings,
} from "../../src/adapter.ts";
import { SdkError } from "../../src/errors.ts";
import type { CallOptions } from "../../src/plugins-client.ts";
import type { PluginLogger } from "../../src/plugin-logger.ts";
import { Err, Ok, type Result } from "../../src/result.ts";

interface Call {
  ref: string;
  args: Record<string, unknown>;
  options: CallOptions;
}

type Answer = (call: Call) => Promise<Result<unknown, SdkError>> | Result<unknown, SdkError>;

const info = (id: string, entries: string[], running = true): PluginInfo => ({
  id,
  name: id,
  description: "",
  version: "1.0.0",
  type: "plugin",
  status: running ? "running" : "stopped",
  enabled: true,
  running,
  entries: entries.map((e) => ({
    id: e,
    name: e,
    description: "",
    inputSchema: {},
    kind: "action",
    timeout: 30,
    enabled: true,
    llmResultFields: null,
  })),
});

const RULES: GatewayRouteRule[] = [
  { action: "greet", route: "plugin", plugin: "hello_world", entry: "greet", args: { name: "World", polite: true } },
  { action: "secret", route: "plugin", plugin: "vault", entry: "open" },
  { action: "notify", route: "broadcast", entry: "on_notify" },
  { action: "noise.*", route: "drop" },
  { action: "fast.*", route: "plugin", plugin: "hello_world", entry: "greet", mode: "router" },
  // As readGatewaySettings makes a bridge rule: to [adapter] target.
  { action: "raw.*", route: "plugin", plugin: "echo", entry: "raw", mode: "bridge" },
];

function setup(
  options: { answer?: Answer; policy?: PolicyOptions; plugins?: PluginInfo[]; core?: Partial<GatewayCoreOptions> } = {},
) {
  const calls: Call[] = [];
  const audits: GatewayAuditRecord[] = [];
  const metrics: Array<{ timings: StageTimings; code: string | null }> = [];
  const logged: string[] = [];
  const answer: Answer = options.answer ?? ((call) => Ok({ echoed: call.args, ref: call.ref }));
  const plugins = {
    callEntry: async (ref: string, args: Record<string, unknown>, callOptions: CallOptions = {}) => {
      const call = { ref, args, options: callOptions };
      calls.push(call);
      return answer(call);
    },
    list: async () => Ok(options.plugins ?? []),
  };
  const logger: PluginLogger = {
    debug: () => {},
    info: () => {},
    warn: (m) => logged.push(m),
    error: (m) => logged.push(m),
    exception: (m) => logged.push(m),
  };
  const invoker = new DefaultPluginInvoker({ plugins });
  const core = new AdapterGatewayCore({
    normalizer: new DefaultRequestNormalizer(),
    policyEngine: new DefaultPolicyEngine({
      denyPlugins: ["vault"],
      maxParamBytes: 1024,
      publishAudit: (record) => audits.push(record),
      ...options.policy,
    }),
    routeEngine: new DefaultRouteEngine({
      rules: RULES,
      plugins,
      selfId: "my_adapter",
      hasSelfHandler: (action) => invoker.hasHandler(action),
    }),
    invoker,
    serializer: new DefaultResponseSerializer(),
    logger,
    metrics: { record: (timings, code) => metrics.push({ timings, code }) },
    ...options.core,
  });
  return { core, calls, audits, metrics, logged };
}

let nextId = 0;
function request(action: string, payload?: unknown, more: Partial<ExternalRequest> = {}): ExternalRequest {
  nextId += 1;
  return { protocol: "test", connectionId: "conn-1", requestId: `r${nextId}`, action, payload, ...more };
}

function errorOf(response: GatewayResponse) {
  assert.equal(response.ok, false, `expected a failure, got ${JSON.stringify(response)}`);
  return (response as Extract<GatewayResponse, { ok: false }>).error;
}

function dataOf(response: GatewayResponse): unknown {
  assert.equal(response.ok, true, `expected a success, got ${JSON.stringify(response)}`);
  return (response as Extract<GatewayResponse, { ok: true }>).data;
}

describe("modes", () => {
  test("gateway runs every stage: the rule's target and args, the policy, one audit record and the timings", async () => {
    const { core, calls, audits, metrics } = setup();
    const response = await core.process(request("greet", { name: "Neko" }, { requestId: "req-7" }));
    assert.deepEqual(dataOf(response), { echoed: { name: "Neko", polite: true }, ref: "hello_world:greet" });
    assert.equal(response.requestId, "req-7");
    assert.equal(response.mode, "gateway");
    assert.deepEqual(response.route, {
      mode: "plugin",
      pluginId: "hello_world",
      entryId: "greet",
      args: { name: "Neko", polite: true },
      reason: "route rule 'greet'",
    });
    assert.deepEqual(Object.keys(response.timings).sort(), [
      "invoke",
      "normalize",
      "policy",
      "route",
      "serialize",
      "total",
    ]);
    for (const ms of Object.values(response.timings)) assert.ok(ms >= 0 && ms < 5000);
    assert.equal(calls.length, 1);
    assert.equal(audits.length, 1);
    const { at, durationMs, ...audit } = audits[0] as GatewayAuditRecord;
    assert.deepEqual(audit, {
      protocol: "test",
      connectionId: "conn-1",
      requestId: "req-7",
      action: "greet",
      mode: "gateway",
      decision: "plugin",
      pluginId: "hello_world",
      entryId: "greet",
      ok: true,
      code: null,
    });
    assert.equal(durationMs, response.timings.total);
    assert.ok(Math.abs(Date.parse(at) - Date.now()) < 5000);
    assert.deepEqual(metrics, [{ timings: response.timings, code: null }]);
  });

  test("gateway applies the policy: a denied plugin is refused before any call", async () => {
    const { core, calls, audits } = setup();
    const error = errorOf(await core.process(request("secret")));
    assert.equal(error.code, "policy_denied");
    assert.equal(error.details?.reason, "plugin_not_allowed");
    assert.equal(calls.length, 0);
    assert.equal(audits[0]?.decision, "denied");
    assert.equal(audits[0]?.code, "policy_denied");
  });

  test("router skips the policy: a denied plugin and oversized args go through, and the audit record still comes", async () => {
    const { core, calls, audits } = setup({ core: { mode: "router" } });
    const big = { blob: "x".repeat(4096) };
    const response = await core.process(request("secret", big));
    assert.equal(response.mode, "router");
    assert.deepEqual(dataOf(response), { echoed: big, ref: "vault:open" });
    assert.equal(response.timings.policy, undefined, "no policy stage ran");
    assert.ok(response.timings.route !== undefined);
    assert.equal(calls.length, 1);
    assert.equal(audits[0]?.mode, "router");
    assert.equal(audits[0]?.decision, "plugin");
  });

  test("bridge passes the payload straight to the configured target, without policy or route", async () => {
    const { core, calls } = setup({
      core: {
        mode: "bridge",
        bridgeTarget: { pluginId: "vault", entryId: "store" },
        routeEngine: { route: () => Err({ code: "route_failed", message: "must not run", retryable: false }) },
      },
    });
    const response = await core.process(request("anything at all", { a: [1, 2] }));
    assert.deepEqual(dataOf(response), { echoed: { a: [1, 2] }, ref: "vault:store" });
    assert.deepEqual(response.route, { mode: "plugin", pluginId: "vault", entryId: "store", reason: "bridge" });
    assert.equal(response.timings.policy, undefined);
    assert.equal(response.timings.route, undefined);
    assert.equal(calls.length, 1);

    const { core: untargeted } = setup({ core: { mode: "bridge" } });
    assert.equal(errorOf(await untargeted.process(request("x"))).code, "route_failed");
  });

  test("hybrid picks per request: the metadata's mode, else the rule's, else gateway", async () => {
    const { core, calls } = setup({ core: { mode: "hybrid", bridgeTarget: { pluginId: "echo", entryId: "raw" } } });

    const viaMetadata = await core.process(request("secret", {}, { metadata: { mode: "router" } }));
    assert.equal(viaMetadata.mode, "router");
    assert.equal(viaMetadata.ok, true, "router: the deny list does not apply");

    const viaRule = await core.process(request("fast.greet", { name: "A" }));
    assert.equal(viaRule.mode, "router");
    assert.equal(viaRule.timings.policy, undefined);

    const bridged = await core.process(request("raw.anything", { n: 1 }));
    assert.equal(bridged.mode, "bridge");
    assert.equal(calls.at(-1)?.ref, "echo:raw");

    const byDefault = await core.process(request("secret"));
    assert.equal(byDefault.mode, "gateway");
    assert.equal(errorOf(byDefault).code, "policy_denied");

    const wrong = await core.process(request("greet", {}, { metadata: { mode: "hybrid" } }));
    assert.equal(errorOf(wrong).code, "invalid_request");
    assert.equal(calls.length, 3, "the refused ones made no call");
  });
});

describe("an explicit target in a mode that skips the policy", () => {
  const toVault = { metadata: { target: { pluginId: "vault", entryId: "dump" } } };

  test("hybrid: a rule's router mode, or the request's own, does not let it name a denied plugin", async () => {
    const { core, calls } = setup({ core: { mode: "hybrid" } });
    const viaRule = await core.process(request("fast.greet", {}, toVault));
    assert.equal(viaRule.mode, "router");
    assert.deepEqual(errorOf(viaRule), {
      code: "policy_denied",
      message: "plugin 'vault' may not be reached through this adapter",
      retryable: false,
      details: { reason: "plugin_not_allowed", pluginId: "vault" },
    });
    const viaMetadata = await core.process(
      request("greet", {}, { metadata: { mode: "router", target: "vault:dump" } }),
    );
    assert.equal(errorOf(viaMetadata).code, "policy_denied");
    assert.equal(calls.length, 0, "nothing reached the denied plugin");

    const allowed = await core.process(request("fast.greet", { n: 1 }, { metadata: { target: "other:entry" } }));
    assert.deepEqual(dataOf(allowed), { echoed: { n: 1 }, ref: "other:entry" });
    assert.ok(allowed.timings.policy !== undefined, "the target was checked");
    const ruled = await core.process(request("fast.greet", { name: "A" }));
    assert.equal(ruled.ok, true);
    assert.equal(ruled.timings.policy, undefined, "a rule's own target is still not checked in router mode");
  });

  test("router: the allow and deny lists hold for a target the request names", async () => {
    const { core, calls } = setup({ core: { mode: "router" }, policy: { allowPlugins: ["hello_world"] } });
    assert.equal(errorOf(await core.process(request("greet", {}, toVault))).code, "policy_denied");
    const other = await core.process(request("greet", {}, { metadata: { target: "other:entry" } }));
    assert.equal(errorOf(other).code, "policy_denied", "not on the allow list");
    assert.equal(calls.length, 0);
    assert.equal((await core.process(request("secret"))).ok, true, "the rules still go where they say");
  });
});

describe("each stage's failure has its code, and nothing throws", () => {
  test("normalize: a payload that is not an object, or a missing action, is invalid_request", async () => {
    const { core, calls, audits } = setup();
    const error = errorOf(await core.process(request("greet", ["not", "an", "object"])));
    assert.equal(error.code, "invalid_request");
    assert.equal(error.details?.field, "payload");
    const noAction = errorOf(await core.process({ protocol: "p", connectionId: "c", requestId: "r", action: "" }));
    assert.equal(noAction.code, "invalid_request");
    const badTarget = errorOf(await core.process(request("x", {}, { metadata: { target: "no-colon" } })));
    assert.equal(badTarget.code, "invalid_request");
    const notEven = await core.process(null as unknown as ExternalRequest);
    assert.equal(errorOf(notEven).code, "invalid_request");
    assert.equal(calls.length, 0);
    assert.equal(audits.length, 4, "a refused request is audited too");
    assert.equal(audits[0]?.decision, "failed");
  });

  test("policy: args over the size limit are policy_denied", async () => {
    const { core, calls } = setup();
    const error = errorOf(await core.process(request("greet", { name: "x".repeat(2000) })));
    assert.equal(error.code, "policy_denied");
    assert.equal(error.details?.reason, "max_param_bytes");
    assert.equal(error.details?.limit, 1024);
    assert.ok((error.details?.bytes as number) > 2000);
    assert.equal(calls.length, 0);
  });

  test("route: an action no rule, target or handler matches is route_failed", async () => {
    const { core, audits } = setup();
    const response = await core.process(request("unknown"));
    const error = errorOf(response);
    assert.equal(error.code, "route_failed");
    assert.match(error.message, /no route for action 'unknown'/);
    assert.equal(response.route, undefined);
    assert.equal(response.timings.invoke, undefined);
    assert.equal(audits[0]?.code, "route_failed");
  });

  test("invoke: the entry's Err is invoke_failed with its code; a stopped target is retryable", async () => {
    const { core } = setup({
      answer: (call) =>
        call.args.name === "down"
          ? Err(new SdkError("plugin 'hello_world' is not running", { code: "PLUGIN_NOT_RUNNING" }))
          : Err(new SdkError("name cannot be empty", { code: "VALIDATION_ERROR", details: { field: "name" } })),
    });
    const error = errorOf(await core.process(request("greet", { name: "" })));
    assert.equal(error.code, "invoke_failed");
    assert.equal(error.message, "name cannot be empty");
    assert.equal(error.retryable, false);
    assert.deepEqual(error.details, {
      pluginId: "hello_world",
      entryId: "greet",
      code: "VALIDATION_ERROR",
      details: { field: "name" },
    });
    const down = errorOf(await core.process(request("greet", { name: "down" })));
    assert.equal(down.code, "invoke_failed");
    assert.equal(down.retryable, true);
  });

  test("serialize: a result that is not JSON-compatible is internal_error naming where", async () => {
    const { core } = setup({ answer: () => Ok({ when: new Date(0) }) });
    const error = errorOf(await core.process(request("greet")));
    assert.equal(error.code, "internal_error");
    assert.match(error.message, /data\.when is a Date/);
  });

  test("a stage that throws, or answers no Result, is internal_error naming the stage; the core goes on serving", async () => {
    const { core, logged } = setup({
      core: {
        routeEngine: {
          route: () => {
            throw new Error("bug in the route engine");
          },
        },
      },
    });
    const error = errorOf(await core.process(request("greet")));
    assert.deepEqual(error, {
      code: "internal_error",
      message: "the gateway's route stage failed",
      retryable: false,
      details: { stage: "route" },
    });
    assert.ok(logged.some((m) => /route stage threw/.test(m)));

    const { core: sloppy } = setup({ core: { normalizer: { normalize: () => undefined as never } } });
    assert.equal(errorOf(await sloppy.process(request("greet"))).code, "internal_error");
  });

  test("a stage's Err with a code of its own gets its stage's code, the original kept in details", async () => {
    const { core } = setup({
      core: {
        policyEngine: {
          // A custom stage written against a looser type than the interface.
          authorize: () => Err({ code: "FORBIDDEN", message: "nope", retryable: false } as unknown as GatewayError),
        },
      },
    });
    const error = errorOf(await core.process(request("greet")));
    assert.equal(error.code, "policy_denied");
    assert.equal(error.message, "nope");
    assert.equal(error.details?.code, "FORBIDDEN");
  });

  test("a throwing audit or metrics sink does not fail the request", async () => {
    const { core, logged } = setup({
      core: {
        policyEngine: {
          authorize: () => Ok(undefined),
          audit: () => {
            throw new Error("audit broke");
          },
        },
        metrics: {
          record: () => {
            throw new Error("metrics broke");
          },
        },
      },
    });
    assert.equal((await core.process(request("greet"))).ok, true);
    assert.equal(logged.length, 2);
  });
});

describe("rate limit", () => {
  test("a burst over the limit is policy_denied once the bucket is empty, per connection, and refills with time", async () => {
    let now = 1_000_000;
    const { core, calls } = setup({ policy: { rateLimit: { burst: 5, perSecond: 2 }, now: () => now } });
    const burst = await Promise.all(Array.from({ length: 8 }, () => core.process(request("greet"))));
    assert.deepEqual(
      burst.map((r) => r.ok),
      [true, true, true, true, true, false, false, false],
    );
    const denied = errorOf(burst[5] as GatewayResponse);
    assert.equal(denied.code, "policy_denied");
    assert.equal(denied.retryable, true);
    assert.equal(denied.details?.reason, "rate_limit");
    assert.equal(denied.details?.retryAfterMs, 500);
    assert.equal(calls.length, 5, "denied requests never reach a plugin");

    const other = await core.process(request("greet", {}, { connectionId: "conn-2" }));
    assert.equal(other.ok, true, "another connection has its own bucket");

    now += 500;
    assert.equal((await core.process(request("greet"))).ok, true, "one token back after 500 ms at 2/s");
    assert.equal((await core.process(request("greet"))).ok, false);
    now += 10_000;
    const refilled = await Promise.all(Array.from({ length: 6 }, () => core.process(request("greet"))));
    assert.equal(refilled.filter((r) => r.ok).length, 5, "a bucket never holds more than the burst");
  });
});

describe("cancellation and timeouts", () => {
  test("the caller's signal reaches callEntry, and aborting it cancels the call", async () => {
    let started!: () => void;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    const { core, calls } = setup({
      answer: (call) =>
        new Promise((resolve) => {
          started();
          call.options.signal?.addEventListener("abort", () =>
            resolve(Err(new SdkError("the call was canceled", { code: "CANCELED" }))),
          );
        }),
    });
    const controller = new AbortController();
    const pending = core.process(request("greet"), { signal: controller.signal, timeoutMs: 2500 });
    await running;
    assert.equal(calls[0]?.options.signal, controller.signal, "the very signal the caller passed");
    assert.equal(calls[0]?.options.timeout, 2.5, "timeoutMs becomes callEntry's timeout in seconds");
    controller.abort();
    const error = errorOf(await pending);
    assert.equal(error.code, "invoke_failed");
    assert.equal(error.details?.code, "CANCELED");
  });

  test("an already aborted signal fails the request without a call", async () => {
    const { core, calls } = setup();
    const error = errorOf(await core.process(request("greet"), { signal: AbortSignal.abort() }));
    assert.equal(error.code, "invoke_failed");
    assert.equal(error.details?.code, "CANCELED");
    assert.equal(calls.length, 0);
  });

  test("the core's default timeout applies when the request gives none", async () => {
    const { core, calls } = setup({ core: { timeoutMs: 750 } });
    await core.process(request("greet"));
    assert.equal(calls[0]?.options.timeout, 0.75);
  });
});

describe("routes", () => {
  test("an explicit target wins over the rules, and the policy still checks it", async () => {
    const { core, calls } = setup();
    const response = await core.process(request("greet", { x: 1 }, { metadata: { target: "other:entry" } }));
    assert.deepEqual(dataOf(response), { echoed: { x: 1 }, ref: "other:entry" });
    assert.equal(response.route?.reason, "explicit target");
    const denied = await core.process(
      request("greet", {}, { metadata: { target: { pluginId: "vault", entryId: "e" } } }),
    );
    assert.equal(errorOf(denied).code, "policy_denied");
    assert.equal(calls.length, 1);
  });

  test("self: a handler registered on the core answers its action, with the args and the signal", async () => {
    const { core, calls } = setup();
    const seen: unknown[] = [];
    const off = core.handle("ping", (args, { request, signal }) => {
      seen.push(args, request.action, signal);
      return args.fail ? Err(new SdkError("no pong", { code: "PONG_FAILED" })) : Ok({ pong: true });
    });
    const controller = new AbortController();
    const response = await core.process(request("ping", { n: 1 }), { signal: controller.signal });
    assert.deepEqual(dataOf(response), { pong: true });
    assert.equal(response.route?.mode, "self");
    assert.deepEqual(seen, [{ n: 1 }, "ping", controller.signal]);
    const failed = errorOf(await core.process(request("ping", { fail: true })));
    assert.equal(failed.code, "invoke_failed");
    assert.equal(failed.details?.code, "PONG_FAILED");
    off();
    assert.equal(errorOf(await core.process(request("ping"))).code, "route_failed");
    assert.equal(calls.length, 0);
  });

  test("broadcast: the entry on every running plugin that has it, narrowed by the policy, results per plugin", async () => {
    const { core, calls } = setup({
      plugins: [
        info("a", ["on_notify"]),
        info("b", ["on_notify", "other"]),
        info("vault", ["on_notify"]),
        info("stopped_one", ["on_notify"], false),
        info("my_adapter", ["on_notify"]),
        info("c", ["other"]),
      ],
      answer: (call) =>
        call.ref.startsWith("b:") ? Err(new SdkError("b is busy", { code: "TIMEOUT" })) : Ok({ got: call.args }),
    });
    const response = await core.process(request("notify", { text: "hi" }));
    assert.deepEqual(
      calls.map((c) => c.ref),
      ["a:on_notify", "b:on_notify"],
    );
    assert.deepEqual(
      response.route?.pluginIds,
      ["a", "b"],
      "vault is denied; stopped plugins and the adapter are left out",
    );
    assert.deepEqual(dataOf(response), {
      results: {
        a: { ok: true, data: { got: { text: "hi" } } },
        b: { ok: false, error: { code: "TIMEOUT", message: "b is busy" } },
      },
    });
  });

  test("broadcast: invoke_failed when every plugin failed, route_failed when none has the entry", async () => {
    const { core } = setup({
      plugins: [info("a", ["on_notify"])],
      answer: () => Err(new SdkError("down", { code: "PLUGIN_CRASHED" })),
    });
    const error = errorOf(await core.process(request("notify")));
    assert.equal(error.code, "invoke_failed");
    assert.equal(error.retryable, true);
    const { core: empty } = setup({ plugins: [info("a", ["other"])] });
    assert.equal(errorOf(await empty.process(request("notify"))).code, "route_failed");
  });

  test("drop: ok with null data and no call", async () => {
    const { core, calls, audits } = setup();
    const response = await core.process(request("noise.heartbeat"));
    assert.equal(dataOf(response), null);
    assert.equal(response.route?.mode, "drop");
    assert.equal(calls.length, 0);
    assert.equal(audits[0]?.decision, "drop");
  });
});
