/**
 * The plugin side of a plugin process: owns the plugin instance, answers the host's calls, runs entries
 * (validation, timeout, abort) and lifecycle handlers. Transport-agnostic so unit tests can drive it in memory.
 */
import {
  type CallMessage,
  type EntryDescriptor,
  ErrorCode,
  type HelloMessage,
  type HostToPlugin,
  PROTOCOL_VERSION,
  type WireResult,
} from "@neko/protocol";
import type { EntryContext } from "../entry-context.ts";
import { compileArgsValidator, describeArgsSchema, type ArgsValidator } from "../entry-validator.ts";
import { NotFoundError, SdkError, TimeoutError, toWireError } from "../errors.ts";
import type { NekoPluginBase } from "../plugin-base.ts";
import { collectPluginMetadata, type EntryMeta, type LifecycleId } from "../plugin-metadata.ts";
import type { PluginLogger } from "../plugin-logger.ts";
import { isResult } from "../result.ts";
import { SDK_VERSION } from "../version.ts";
import type { PluginTransport } from "./plugin-transport.ts";

export const DEFAULT_ENTRY_TIMEOUT_SECONDS = 30;

type Handler = (args: Record<string, unknown>, ctx: EntryContext) => unknown;

interface RuntimeEntry {
  descriptor: EntryDescriptor;
  validator: ArgsValidator | undefined;
  handler: Handler;
}

export class PluginRuntime {
  private readonly entries = new Map<string, RuntimeEntry>();
  private readonly lifecycles = new Map<LifecycleId, (arg?: unknown) => unknown>();
  private readonly inFlight = new Map<string, AbortController>();
  private shuttingDown = false;

  constructor(
    private readonly instance: NekoPluginBase,
    private readonly logger: PluginLogger,
  ) {
    const meta = collectPluginMetadata(instance.constructor as abstract new () => unknown);
    for (const entry of meta.entries) this.addEntry(entry, this.boundMethod(entry.methodName), false);
    for (const lc of meta.lifecycles) this.lifecycles.set(lc.id, this.boundMethod(lc.methodName));
  }

  describeEntries(): EntryDescriptor[] {
    return [...this.entries.values()].map((e) => e.descriptor);
  }

  hello(options: { pluginId: string; secret: string }): HelloMessage {
    return {
      type: "hello",
      protocol: PROTOCOL_VERSION,
      pluginId: options.pluginId,
      secret: options.secret,
      sdkVersion: SDK_VERSION,
      pid: process.pid,
      entries: this.describeEntries(),
      events: [],
      hooks: [],
      timers: [],
    };
  }

  /** Wires the runtime to a transport: every host message from now on is handled here. */
  attach(transport: PluginTransport, options: { onShutdown: () => void }): void {
    transport.onMessage((message) => {
      void this.handleMessage(message, transport, options.onShutdown);
    });
  }

  private async handleMessage(message: HostToPlugin, transport: PluginTransport, onShutdown: () => void) {
    switch (message.type) {
      case "call": {
        const result = await this.callEntry(message);
        transport.send({ type: "result", id: message.id, result });
        return;
      }
      case "cancel":
        this.inFlight.get(message.id)?.abort(new SdkError("the call was canceled", { code: ErrorCode.Canceled }));
        return;
      case "ping":
        transport.send({ type: "pong", id: message.id });
        return;
      case "shutdown": {
        const result = await this.shutdown();
        transport.send({ type: "result", id: message.id, result });
        onShutdown();
        return;
      }
      case "welcome": {
        const startup = await this.runLifecycle("startup");
        transport.send({ type: "ready", startup });
        return;
      }
    }
  }

  /** Runs one entry call: lookup, validation, the handler under its timeout; never throws. */
  async callEntry(call: Pick<CallMessage, "id" | "entryId" | "args" | "deadline" | "timeoutMs">): Promise<WireResult> {
    const entry = this.entries.get(call.entryId);
    if (!entry) {
      return errResult(
        new NotFoundError(`plugin '${this.instance.pluginId}' has no entry '${call.entryId}'`, {
          code: ErrorCode.EntryNotFound,
        }),
      );
    }
    let args = (call.args ?? {}) as Record<string, unknown>;
    if (typeof args !== "object" || Array.isArray(args)) {
      return errResult(new SdkError("args must be an object", { code: ErrorCode.Validation }));
    }
    if (entry.validator) {
      const checked = entry.validator(args);
      if (!checked.ok) return errResult(checked.error);
      args = checked.value;
    }
    const budgetMs = Math.min(entry.descriptor.timeout * 1000, call.timeoutMs);
    const timeoutMs = Math.min(budgetMs, Math.max(0, call.deadline - Date.now()));
    const controller = new AbortController();
    this.inFlight.set(call.id, controller);
    const ctx: EntryContext = {
      signal: controller.signal,
      entryId: call.entryId,
      callId: call.id,
      deadline: call.deadline,
    };
    let timer: NodeJS.Timeout | undefined;
    try {
      const expired = new Promise<WireResult>((resolve) => {
        timer = setTimeout(() => {
          const error = new TimeoutError(`entry '${call.entryId}' timed out after ${formatSeconds(budgetMs)}`);
          controller.abort(error);
          resolve(errResult(error));
        }, timeoutMs);
      });
      const aborted = new Promise<WireResult>((resolve) => {
        controller.signal.addEventListener("abort", () => resolve(errResult(controller.signal.reason)), { once: true });
      });
      const run = this.invoke(entry, args, ctx);
      return await Promise.race([run, expired, aborted]);
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(call.id);
    }
  }

  async runLifecycle(id: LifecycleId, arg?: unknown): Promise<WireResult> {
    const handler = this.lifecycles.get(id);
    if (!handler) return { ok: true, value: null };
    try {
      return normalizeResult(await handler(arg));
    } catch (error) {
      this.logger.exception(`lifecycle '${id}' threw`, error);
      return errResult(error);
    }
  }

  async shutdown(): Promise<WireResult> {
    if (this.shuttingDown) return { ok: true, value: null };
    this.shuttingDown = true;
    for (const controller of this.inFlight.values()) {
      controller.abort(new SdkError("the plugin is shutting down", { code: ErrorCode.Canceled }));
    }
    return this.runLifecycle("shutdown");
  }

  private async invoke(entry: RuntimeEntry, args: Record<string, unknown>, ctx: EntryContext): Promise<WireResult> {
    try {
      return normalizeResult(await entry.handler(args, ctx));
    } catch (error) {
      this.logger.exception(`entry '${entry.descriptor.id}' threw`, error);
      return errResult(error);
    }
  }

  private addEntry(meta: EntryMeta, handler: Handler, dynamic: boolean): void {
    const timeout = meta.timeout ?? DEFAULT_ENTRY_TIMEOUT_SECONDS;
    if (!(timeout > 0)) throw new TypeError(`entry '${meta.id}': timeout must be a positive number of seconds`);
    this.entries.set(meta.id, {
      descriptor: {
        id: meta.id,
        name: meta.name ?? meta.id,
        description: meta.description ?? "",
        inputSchema: describeArgsSchema(meta),
        kind: meta.kind ?? "action",
        timeout,
        llmResultFields: meta.llmResultFields ?? null,
        enabled: true,
        dynamic,
        metadata: meta.metadata ?? null,
      },
      validator: meta.modelValidate === false ? undefined : compileArgsValidator(meta),
      handler,
    });
  }

  private boundMethod(name: string | symbol): (...args: any[]) => unknown {
    const method = (this.instance as unknown as Record<string | symbol, unknown>)[name];
    if (typeof method !== "function") throw new TypeError(`'${String(name)}' is not a method`);
    return method.bind(this.instance) as (...args: any[]) => unknown;
  }
}

function normalizeResult(value: unknown): WireResult {
  if (isResult(value)) {
    return value.ok ? { ok: true, value: value.value ?? null } : { ok: false, error: toWireError(value.error) };
  }
  return { ok: true, value: value ?? null };
}

function errResult(error: unknown): WireResult {
  return { ok: false, error: toWireError(error) };
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))}s`;
}
