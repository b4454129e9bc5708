/**
 * The plugin end of configuration changes: the host pushes a new effective configuration (`config.apply` control),
 * `this.config` takes it, and the `config_change` or `reload` lifecycle runs; when that returns an `Err` the previous
 * configuration (and manifest) comes back and the `Err` goes to the host, which then keeps the old one too. The same
 * for an extension's own configuration (`extension` in the payload), with its own lifecycle handlers.
 */
import { type Answer, ErrorCode, type WireError } from "@neko/protocol";
import { ValidationError } from "../errors.ts";
import { errResult } from "../wire-result.ts";
import type { ConfigChangeEvent, ConfigChangeMode } from "../lifecycle-events.ts";
import type { ConfigRecord } from "../plugin-config.ts";
import { replaceConfig } from "../plugin-config.ts";
import type { PluginRuntime } from "./plugin-runtime.ts";

export function installConfigSync(runtime: PluginRuntime): void {
  runtime.registerControl("config.apply", async (payload): Promise<Answer<{ handled: boolean }>> => {
    if (payload.extension !== undefined) return runtime.extensions.applyConfig(payload.extension, payload);
    const plugin = runtime.instance;
    const oldConfig = plugin.config.dump();
    const oldManifest = { ...plugin.metadata };
    plugin.config[replaceConfig](payload.config);
    if (payload.manifest) replaceContents(plugin.metadata, payload.manifest);
    // A timer's configured interval must still be there: refused like a config_change that returns Err.
    const timerProblem = runtime.triggers.timers.configProblem();
    if (timerProblem) {
      plugin.config[replaceConfig](oldConfig);
      replaceContents(plugin.metadata, oldManifest);
      return timerConfigRefusal(timerProblem);
    }
    if (!payload.lifecycle) {
      applyTimers(runtime);
      return { ok: true, value: { handled: false } };
    }
    const result = await runtime.runLifecycle(
      payload.lifecycle,
      configChangeEvent(oldConfig, plugin.config.dump(), payload.mode),
    );
    if (!result.ok) {
      plugin.config[replaceConfig](oldConfig);
      replaceContents(plugin.metadata, oldManifest);
      return result;
    }
    applyTimers(runtime);
    return { ok: true, value: { handled: runtime.hasLifecycle(payload.lifecycle) } };
  });
}

/** The configured intervals read again; the host is told the timers' new intervals (`/plugins` shows them). */
function applyTimers(runtime: PluginRuntime): void {
  const before = JSON.stringify(runtime.triggers.timers.describe());
  runtime.triggers.timers.applyConfig();
  if (JSON.stringify(runtime.triggers.timers.describe()) !== before) runtime.announce();
}

/** The answer refusing a configuration that leaves a `"config:<key>"` timer without its interval. */
export function timerConfigRefusal(problem: string): { ok: false; error: WireError } {
  return {
    ok: false,
    error: errResult(
      new ValidationError(problem, { code: ErrorCode.ConfigInvalid, details: { field: "seconds", check: "timer" } }),
    ).error,
  };
}

/**
 * What `config_change` / `reload` receive. The mode is a plain string on the wire; the host sends `reload` with the
 * `reload` lifecycle and `temporary`, `permanent` or `profile` with `config_change` (host/config/plugin-config-service.ts).
 */
export function configChangeEvent(oldConfig: ConfigRecord, newConfig: ConfigRecord, mode: string): ConfigChangeEvent {
  return { oldConfig, newConfig, mode: mode as ConfigChangeMode };
}

/** `this.metadata` is a readonly reference the plugin may hold on to: it changes in place. */
export function replaceContents(target: ConfigRecord, source: ConfigRecord): void {
  for (const key of Object.keys(target)) delete target[key];
  Object.assign(target, source);
}
