/**
 * `DefaultPluginInvoker` (docs/adapters.md#invoker): runs a route decision. `plugin` is one
 * `this.plugins.callEntry("p:e", args, { timeout, signal })`; `broadcast` calls the entry on each of the decision's
 * plugins at once and answers `{ results: { <pluginId>: { ok, data | error } } }` (an `invoke_failed` only when every
 * one failed); `self` runs the handler the adapter registered for the action with `handle()`; `drop` answers null.
 * The caller's signal reaches every call, so a protocol's cancel aborts the entry's `ctx.signal`.
 */
import { ErrorCode } from "@neko/protocol";
import type { SdkError } from "../../errors.ts";
import type { CallOptions } from "../../plugins-client.ts";
import { Err, isResult, Ok, type Result } from "../../result.ts";
import { type GatewayError, GatewayErrorCode, gatewayError } from "./gateway-error.ts";
import type { BroadcastOutcome, GatewayRequest, RouteDecision } from "./gateway-models.ts";
import type { InvokeOptions, PluginInvoker } from "./gateway-stages.ts";

/** A handler the adapter runs in its own process for an action (`self` routes). May return a `Result`. */
export type SelfHandler = (
  args: Record<string, unknown>,
  context: { request: GatewayRequest; signal: AbortSignal | undefined },
) => unknown;

export interface PluginInvokerOptions {
  /** The adapter's `this.plugins`. */
  plugins: {
    callEntry(ref: string, args: Record<string, unknown>, options: CallOptions): Promise<Result<unknown, SdkError>>;
  };
  /** Bounds a call when the request gives no `timeoutMs` (default: the target entry's own timeout). */
  timeoutMs?: number;
}

/** Target errors worth a retry: the target may be back, or less busy, later. */
const RETRYABLE = new Set<string>([
  ErrorCode.Timeout,
  ErrorCode.PluginNotRunning,
  ErrorCode.PluginCrashed,
  ErrorCode.PluginUnreachable,
]);

export class DefaultPluginInvoker implements PluginInvoker {
  private readonly handlers = new Map<string, SelfHandler>();

  constructor(private readonly options: PluginInvokerOptions) {}

  /** Registers the `self` handler of `action` (replacing any); returns what unregisters it. */
  handle(action: string, handler: SelfHandler): () => void {
    this.handlers.set(action, handler);
    return () => {
      if (this.handlers.get(action) === handler) this.handlers.delete(action);
    };
  }

  hasHandler(action: string): boolean {
    return this.handlers.has(action);
  }

  async invoke(
    request: GatewayRequest,
    decision: RouteDecision,
    options: InvokeOptions,
  ): Promise<Result<unknown, GatewayError>> {
    if (options.signal?.aborted) return Err(canceled());
    const args = decision.args ?? request.args;
    switch (decision.mode) {
      case "drop":
        return Ok(null);
      case "self":
        return this.runSelf(decision.entryId ?? request.action, args, request, options.signal);
      case "plugin": {
        if (decision.pluginId === undefined || decision.entryId === undefined) {
          return Err(gatewayError(GatewayErrorCode.InternalError, "a plugin route without a plugin or entry"));
        }
        const result = await this.call(decision.pluginId, decision.entryId, args, options);
        return result.ok ? result : Err(callFailed(decision.pluginId, decision.entryId, result.error));
      }
      case "broadcast":
        return this.broadcast(decision, args, options);
    }
  }

  private async runSelf(
    action: string,
    args: Record<string, unknown>,
    request: GatewayRequest,
    signal: AbortSignal | undefined,
  ): Promise<Result<unknown, GatewayError>> {
    const handler = this.handlers.get(action);
    if (!handler) {
      return Err(
        gatewayError(GatewayErrorCode.InvokeFailed, `no handler for action '${action}'`, { details: { action } }),
      );
    }
    try {
      const value = await handler(args, { request, signal });
      if (!isResult(value)) return Ok(value);
      if (value.ok) return Ok(value.value);
      const { code, message } = describe(value.error);
      return Err(gatewayError(GatewayErrorCode.InvokeFailed, message, { details: { action, code } }));
    } catch (error) {
      const { code, message } = describe(error);
      return Err(gatewayError(GatewayErrorCode.InvokeFailed, message, { details: { action, code } }));
    }
  }

  private async broadcast(
    decision: RouteDecision,
    args: Record<string, unknown>,
    options: InvokeOptions,
  ): Promise<Result<unknown, GatewayError>> {
    const { entryId, pluginIds = [] } = decision;
    if (entryId === undefined) {
      return Err(gatewayError(GatewayErrorCode.InternalError, "a broadcast route without an entry"));
    }
    const answers = await Promise.all(pluginIds.map((id) => this.call(id, entryId, args, options)));
    // fromEntries defines each key as its own property, whatever the plugin id.
    const results: Record<string, BroadcastOutcome> = Object.fromEntries(
      answers.map((answer, i): [string, BroadcastOutcome] => [
        pluginIds[i] as string,
        answer.ok
          ? { ok: true, data: answer.value }
          : { ok: false, error: { code: answer.error.code, message: answer.error.message } },
      ]),
    );
    if (pluginIds.length > 0 && answers.every((answer) => !answer.ok)) {
      return Err(
        gatewayError(GatewayErrorCode.InvokeFailed, `every plugin failed the broadcast of '${entryId}'`, {
          retryable: answers.some((answer) => !answer.ok && RETRYABLE.has(answer.error.code)),
          details: { entryId, results },
        }),
      );
    }
    return Ok({ results });
  }

  private call(pluginId: string, entryId: string, args: Record<string, unknown>, options: InvokeOptions) {
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs;
    const callOptions: CallOptions = {};
    if (timeoutMs !== undefined) callOptions.timeout = timeoutMs / 1000;
    if (options.signal) callOptions.signal = options.signal;
    if (options.onProgress) callOptions.onProgress = options.onProgress;
    return this.options.plugins.callEntry(`${pluginId}:${entryId}`, args, callOptions);
  }
}

function callFailed(pluginId: string, entryId: string, error: SdkError): GatewayError {
  const details: Record<string, unknown> = { pluginId, entryId, code: error.code };
  if (error.details !== undefined) details.details = error.details;
  return gatewayError(GatewayErrorCode.InvokeFailed, error.message, {
    retryable: RETRYABLE.has(error.code),
    details,
  });
}

function canceled(): GatewayError {
  return gatewayError(GatewayErrorCode.InvokeFailed, "the request was canceled", {
    details: { code: ErrorCode.Canceled },
  });
}

function describe(error: unknown): { code: string; message: string } {
  if (typeof error === "object" && error !== null) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    return {
      code: typeof code === "string" ? code : ErrorCode.EntryFailed,
      message: typeof message === "string" ? message : String(error),
    };
  }
  return { code: ErrorCode.EntryFailed, message: String(error) };
}
