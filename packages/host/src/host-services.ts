/**
 * What plugins may ask of the host: a registry of named services answering `request` messages (with a deadline)
 * and `notify` messages (no answer). Each feature (cross-plugin calls, bus, memory, system info, …) registers its
 * methods here; the supervisor routes every plugin request through `request`. Requests run concurrently.
 */
import { ErrorCode, type WireResult } from "@neko/protocol";
import type { HostLogger } from "./host-logger.ts";
import type { CallCanceler } from "./supervisor/call-canceler.ts";
import { timerDelay } from "./timer-delay.ts";
import { failure, validationFailure } from "./wire-result.ts";

export interface ServiceContext {
  /** The calling plugin, from its socket identity (never from the message). */
  pluginId: string;
  /** Absolute deadline, ms since the epoch. */
  deadline: number;
  /**
   * Canceled when the plugin no longer wants the answer: it sent `request.cancel` (the entry call it made the request
   * from was canceled or timed out), or its process exited. A call made for the request is canceled with it.
   */
  canceler?: CallCanceler;
}

export type ServiceHandler = (params: any, ctx: ServiceContext) => Promise<WireResult> | WireResult;
export type NotifyHandler = (params: any, ctx: { pluginId: string }) => void;

export class HostServices {
  private readonly handlers = new Map<string, ServiceHandler>();
  private readonly notifyHandlers = new Map<string, NotifyHandler>();

  constructor(private readonly logger: HostLogger) {}

  handle(method: string, handler: ServiceHandler): void {
    if (this.handlers.has(method)) throw new Error(`host service '${method}' is already registered`);
    this.handlers.set(method, handler);
  }

  onNotify(method: string, handler: NotifyHandler): void {
    if (this.notifyHandlers.has(method)) throw new Error(`host notification '${method}' is already registered`);
    this.notifyHandlers.set(method, handler);
  }

  /** Never rejects: an unknown method, a throwing handler or a passed deadline are each an Err with a code. */
  async request(method: string, params: unknown, ctx: ServiceContext): Promise<WireResult> {
    if (typeof method !== "string") return validationFailure("a request needs a 'method' string");
    const handler = this.handlers.get(method);
    if (!handler) return failure(ErrorCode.NotFound, `the host has no service '${method}'`, "NotFoundError");
    if (typeof ctx.deadline !== "number" || !Number.isFinite(ctx.deadline)) {
      return validationFailure(`request '${method}' needs a numeric 'deadline' (ms since the epoch)`);
    }
    const remaining = ctx.deadline - Date.now();
    if (remaining <= 0)
      return failure(ErrorCode.Timeout, `host request '${method}' arrived after its deadline`, "TimeoutError");
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<WireResult>((resolve) => {
      timer = setTimeout(
        () => resolve(failure(ErrorCode.Timeout, `host request '${method}' timed out`, "TimeoutError")),
        timerDelay(remaining),
      );
    });
    try {
      return await Promise.race([Promise.resolve().then(() => handler(params, ctx)), expired]);
    } catch (error) {
      this.logger.error({ err: error, plugin: ctx.pluginId, method }, "host service failed");
      return failure(
        ErrorCode.Internal,
        `host service '${method}' failed: ${(error as Error)?.message ?? String(error)}`,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  notify(method: string, params: unknown, ctx: { pluginId: string }): void {
    const handler = this.notifyHandlers.get(method);
    if (!handler) {
      this.logger.warn({ plugin: ctx.pluginId, method }, "dropped a notification for an unknown method");
      return;
    }
    try {
      handler(params, ctx);
    } catch (error) {
      this.logger.error({ err: error, plugin: ctx.pluginId, method }, "host notification handler failed");
    }
  }
}
