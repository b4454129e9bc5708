import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { WireResult } from "@neko/protocol";
import { NotFoundError, ValidationError } from "../src/errors.ts";
import { PluginConfig, replaceConfig } from "../src/plugin-config.ts";
import type { HostBridge } from "../src/runtime/host-client.ts";

function recordingBridge(answer: WireResult): HostBridge & { requests: Array<{ method: string; params: unknown }> } {
  const requests: Array<{ method: string; params: unknown }> = [];
  return {
    requests,
    request: async (method, params) => {
      requests.push({ method, params });
      return answer;
    },
    notify: () => ({ ok: true, value: null }),
    onPush: () => () => undefined,
  };
}

describe("this.config", () => {
  const initial = { plugin: { id: "p" }, server: { port: 80, "a.b": { c: 1 } } };

  test("getBool, getInt and getStr give the value of their type, the fallback when unset, and name a wrong type", () => {
    const config = new PluginConfig(
      { check: { on: true, interval: 30, ratio: 0.5, name: "disk", list: [1] } },
      recordingBridge({ ok: true, value: null }),
    );
    assert.equal(config.getBool("check.on"), true);
    assert.equal(config.getInt("check.interval"), 30);
    assert.equal(config.getStr("check.name"), "disk");
    assert.equal(config.getBool("check.missing", false), false);
    assert.equal(config.getInt("check.missing", 7), 7);
    assert.equal(config.getStr(["check", "missing"], "x"), "x");
    assert.throws(
      () => config.getInt("check.ratio"),
      (error: unknown) => {
        assert.ok(error instanceof ValidationError);
        assert.equal(error.code, "CONFIG_INVALID");
        assert.equal(error.message, "config key 'check.ratio' must be a whole number, but it holds number");
        return true;
      },
    );
    assert.throws(() => config.getStr("check.interval"), /'check.interval' must be a string, but it holds number/);
    assert.throws(() => config.getBool("check.list"), /'check.list' must be a boolean, but it holds an array/);
    assert.throws(
      () => config.getBool("check.missing"),
      (error: unknown) => error instanceof NotFoundError,
    );
  });

  test("get, has, require and dump read the effective configuration; results are copies", () => {
    const config = new PluginConfig(initial, recordingBridge({ ok: true, value: null }));
    assert.equal(config.get("server.port"), 80);
    assert.equal(config.get(["server", "a.b", "c"]), 1, "a key with a dot, by array path");
    assert.equal(config.get("server.missing", 5), 5);
    assert.equal(config.get("server.port.deeper", "x"), "x");
    assert.equal(config.has("server"), true);
    assert.deepEqual(config.dump(), initial);
    const server = config.get<{ port: number }>("server");
    server.port = 1;
    assert.equal(config.get("server.port"), 80, "changing a result changes nothing");
    assert.throws(
      () => config.require("server.tls.cert"),
      (error: unknown) =>
        error instanceof NotFoundError &&
        error.code === "CONFIG_KEY_MISSING" &&
        /config key 'server\.tls\.cert' is required but not set/.test(error.message) &&
        (error.details as { missing: string }).missing === "server.tls",
    );
    config[replaceConfig]({ server: { port: 81 } });
    assert.equal(config.require("server.port"), 81);
  });

  test("set and update go to the host as a patch and resolve with the new configuration", async () => {
    const bridge = recordingBridge({ ok: true, value: { config: { server: { port: 9 } } } });
    const config = new PluginConfig(initial, bridge);
    const result = await config.set("server.tls.cert", "c.pem", { mode: "temporary" });
    assert.deepEqual(result, { ok: true, value: { server: { port: 9 } } });
    assert.deepEqual(bridge.requests[0], {
      method: "config.update",
      params: { patch: { server: { tls: { cert: "c.pem" } } }, mode: "temporary" },
    });
    await config.update({ x: 1 });
    assert.deepEqual(bridge.requests[1].params, { patch: { x: 1 }, mode: "permanent" });

    const refused = new PluginConfig(
      initial,
      recordingBridge({ ok: false, error: { name: "ConfigError", code: "CONFIG_PROTECTED_FIELD", message: "no" } }),
    );
    const err = await refused.set("plugin.id", "q");
    assert.equal(err.ok, false);
    assert.equal(!err.ok && err.error.code, "CONFIG_PROTECTED_FIELD");
  });
});
