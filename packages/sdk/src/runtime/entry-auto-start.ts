/**
 * `@pluginEntry({ autoStart: true })` (SPEC §3.1): the runtime calls such an entry once by itself, with `{}`, after
 * `startup` — once the plugin is ready, after the timers and auto events have started — through the path of a host's
 * call (validation and schema defaults, hooks, timeout, state saving). A dynamic entry registered with `autoStart`
 * after that runs once at registration. The result is logged and reported to the host, which records it like any
 * entry call; a failure is logged and the plugin runs on.
 */
import { ErrorCode, randomUUID, type WireResult } from "@neko/protocol";
import { SdkError } from "../errors.ts";
import { errResult } from "../wire-result.ts";
import type { RegisteredEntry } from "./entry-registry.ts";
import type { PluginRuntime } from "./plugin-runtime.ts";

export class EntryAutoStart {
  /** Each registration runs once: the same entry disabled and enabled again does not run again; one re-registered does. */
  private readonly handled = new WeakSet<RegisteredEntry>();
  private ready = false;
  private stopped = false;
  /** Auto-starts run one at a time, in registration order. */
  private queue: Promise<void> = Promise.resolve();

  /** Runs the autoStart entries once the plugin is ready, and those registered later at registration. */
  static install(runtime: PluginRuntime): EntryAutoStart {
    const autoStart = new EntryAutoStart(runtime);
    runtime.afterReady(() => {
      autoStart.ready = true;
      return autoStart.schedule();
    });
    runtime.entries.onChange(() => {
      if (autoStart.ready) void autoStart.schedule();
    });
    runtime.onShutdown(() => {
      autoStart.stopped = true;
    });
    return autoStart;
  }

  private constructor(private readonly runtime: PluginRuntime) {}

  private schedule(): Promise<void> {
    // A failure here must not stop later auto-starts: the chain goes on from a settled promise.
    this.queue = this.queue
      .then(() => this.runPending())
      .catch((error: unknown) => this.runtime.instance.logger.exception("auto-starting entries failed", error));
    return this.queue;
  }

  private async runPending(): Promise<void> {
    const { entries } = this.runtime;
    for (const { id } of entries.list({ includeDisabled: true })) {
      if (this.stopped || this.runtime.stopping) return;
      const entry = entries.get(id);
      if (!entry?.descriptor.autoStart || this.handled.has(entry)) continue;
      this.handled.add(entry);
      await this.run(entry);
    }
  }

  private async run(entry: RegisteredEntry): Promise<void> {
    const { id, timeout, enabled } = entry.descriptor;
    const { logger, ctx } = this.runtime.instance;
    if (!enabled) {
      logger.info(`auto-start entry '${id}' is disabled; it is not run`, { entry: id });
      return;
    }
    const started = performance.now();
    const result = await this.runtime.callEntry({
      id: randomUUID(),
      entryId: id,
      args: {},
      deadline: Date.now() + timeout * 1000,
      timeoutMs: timeout * 1000,
    });
    const durationMs = performance.now() - started;
    if (result.ok) {
      logger.info(`auto-start entry '${id}' returned`, { entry: id, value: result.value });
    } else {
      // It is called with {}: a required argument without a default can never pass.
      const hint =
        result.error.code === ErrorCode.Validation ? " (it is called with {}: give its arguments defaults)" : "";
      logger.error(`auto-start entry '${id}' failed: ${result.error.message}${hint}`, {
        entry: id,
        error: result.error,
      });
    }
    const report = (reported: WireResult) =>
      ctx.bridge.notify("entry.auto_called", { entryId: id, result: reported, durationMs });
    const sent = report(result);
    // A value the wire cannot carry fails a host's call too (runtime `reply`); the host records the same failure.
    if (!sent.ok) {
      const code = sent.error.code === ErrorCode.PayloadTooLarge ? ErrorCode.PayloadTooLarge : ErrorCode.EntryFailed;
      report(errResult(new SdkError(`the result cannot be sent to the host: ${sent.error.message}`, { code })));
    }
  }
}
