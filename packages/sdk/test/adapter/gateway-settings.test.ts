/** `[adapter]` as the gateway reads it (docs/adapters.md#configuration): the keys, their defaults, and clear refusals. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { actionMatcher, type AdapterSettings, readGatewaySettings } from "../../src/adapter.ts";
import { ValidationError } from "../../src/errors.ts";

const read = (table: Record<string, unknown>) =>
  readGatewaySettings({ mode: "gateway", priority: 0, ...table } as AdapterSettings);

function refuses(table: Record<string, unknown>, key: string, message: RegExp) {
  assert.throws(
    () => read(table),
    (error: unknown) =>
      error instanceof ValidationError && (error.details as { key: string }).key === key && message.test(error.message),
    `expected a refusal of ${key}`,
  );
}

test("defaults: no rules, no policy limits of its own, explicit targets and audit on", () => {
  assert.deepEqual(read({}), { mode: "gateway", explicitTargets: true, audit: true, policy: {}, routes: [] });
});

test("every key, read into the settings the default stages take", () => {
  const settings = read({
    mode: "hybrid",
    target: "echo:raw",
    timeout: 2.5,
    explicit_targets: false,
    audit: false,
    policy: {
      allow_plugins: ["hello_world", "notes"],
      deny_plugins: ["admin"],
      max_param_bytes: 4096,
      rate_limit: { burst: 10, per_second: 2.5 },
    },
    routes: [
      { action: "greet", plugin: "hello_world", entry: "greet", args: { name: "World" }, help: "says hello" },
      { action: "notes.*", plugin: "notes", entry: "add", mode: "router" },
      { action: "all", route: "broadcast", entry: "ping" },
      { action: "me", route: "self" },
      { action: "raw.*", mode: "bridge" },
      { action: "*", route: "drop" },
    ],
  });
  assert.deepEqual(settings, {
    mode: "hybrid",
    target: { pluginId: "echo", entryId: "raw" },
    timeoutMs: 2500,
    explicitTargets: false,
    audit: false,
    policy: {
      allowPlugins: ["hello_world", "notes"],
      denyPlugins: ["admin"],
      maxParamBytes: 4096,
      rateLimit: { burst: 10, perSecond: 2.5 },
    },
    routes: [
      { action: "greet", route: "plugin", plugin: "hello_world", entry: "greet", args: { name: "World" } },
      { action: "notes.*", route: "plugin", plugin: "notes", entry: "add", mode: "router" },
      { action: "all", route: "broadcast", entry: "ping" },
      { action: "me", route: "self" },
      { action: "raw.*", route: "plugin", plugin: "echo", entry: "raw", mode: "bridge" },
      { action: "*", route: "drop" },
    ],
  });
});

test("a wrong value is refused naming its key", () => {
  refuses({ mode: "bridge" }, "adapter.target", /needs target/);
  refuses({ target: "nocolon" }, "adapter.target", /"<plugin>:<entry>"/);
  refuses({ timeout: 0 }, "adapter.timeout", /above 0/);
  refuses({ explicit_targets: "yes" }, "adapter.explicit_targets", /true or false/);
  refuses({ policy: { allow_plugin: ["a"] } }, "adapter.policy.allow_plugin", /not a key of it/);
  refuses({ policy: { deny_plugins: "a" } }, "adapter.policy.deny_plugins", /list of plugin ids/);
  refuses({ policy: { max_param_bytes: -1 } }, "adapter.policy.max_param_bytes", /whole number/);
  refuses({ policy: { rate_limit: { burst: 0, per_second: 1 } } }, "adapter.policy.rate_limit.burst", /≥ 1/);
  refuses({ policy: { rate_limit: { burst: 1 } } }, "adapter.policy.rate_limit.per_second", /above 0/);
  refuses({ routes: { action: "a" } }, "adapter.routes", /list of tables/);
  refuses({ routes: [{ plugin: "a" }] }, "adapter.routes[0].action", /string/);
  refuses({ routes: [{ action: "a" }] }, "adapter.routes[0].route", /one of plugin, self, broadcast, drop/);
  refuses({ routes: [{ action: "a", route: "plugin" }] }, "adapter.routes[0].plugin", /needed/);
  refuses({ routes: [{ action: "a", plugin: "bad id!" }] }, "adapter.routes[0].plugin", /plugin id/);
  refuses({ routes: [{ action: "a.*", plugin: "p" }] }, "adapter.routes[0].entry", /pattern/);
  refuses({ routes: [{ action: "a", plugin: "p", args: [1] }] }, "adapter.routes[0].args", /table/);
  refuses({ routes: [{ action: "a", plugin: "p", mode: "fast" }] }, "adapter.routes[0].mode", /one of/);
  refuses({ routes: [{ action: "a", mode: "bridge" }] }, "adapter.target", /needed by adapter\.routes\[0\]/);
  refuses(
    { target: "echo:raw", routes: [{ action: "a", plugin: "p", mode: "bridge" }] },
    "adapter.routes[0].plugin",
    /goes to \[adapter\] target/,
  );
});

test("action patterns: exact, or '*' for any run of characters, matched against the whole action", () => {
  assert.equal(actionMatcher("greet")("greet"), true);
  assert.equal(actionMatcher("greet")("greeting"), false);
  assert.equal(actionMatcher("notes.*")("notes.add"), true);
  assert.equal(actionMatcher("notes.*")("notesXadd"), false, "the dot is literal");
  assert.equal(actionMatcher("*.get")("a.b.get"), true);
  assert.equal(actionMatcher("*")(""), true);
  assert.equal(actionMatcher("a*b")("a\nb"), true);
  assert.equal(actionMatcher("(x)*")("(x)y"), true, "other regex characters are literal");
});

test("action patterns: parts in order, none overlapping; many '*' against a long action stays fast (no backtracking)", () => {
  assert.equal(actionMatcher("a*b*c")("a-b-c"), true);
  assert.equal(actionMatcher("a*b*c")("a-c-b"), false, "the parts in order");
  assert.equal(actionMatcher("ab*ba")("aba"), false, "prefix and suffix may not share characters");
  assert.equal(actionMatcher("a*a*a")("aaa"), true);
  assert.equal(actionMatcher("a*a*a")("aa"), false);
  assert.equal(actionMatcher("*x*")("abc"), false);
  assert.equal(actionMatcher("**")("anything"), true);
  const hostile = actionMatcher(`${"*a".repeat(12)}*b`);
  const started = performance.now();
  assert.equal(hostile("a".repeat(20_000)), false);
  assert.ok(performance.now() - started < 200, `took ${performance.now() - started} ms`);
});
