/**
 * What plugins may ask of the host: the host services of the contract (`pluginToHostRequests`, answered by
 * `response`) and its notifications (`pluginToHostNotifications`, no answer). Each feature registers its handlers
 * here, typed by the contract; params are checked against the method's schema before a handler sees them. Requests
 * run concurrently, each bounded by its deadline; nothing here ever rejects or throws into the supervisor.
 */
import {
  type CancelToken,
  type Disposable,
  ErrorCode,
  type MethodHandler,
  type MethodMap,
  type MethodName,
  MethodRegistry,
  type PluginToHostNotifications,
  type PluginToHostRequests,
  pluginToHostNotifications,
  pluginToHostRequests,
  timerDelay,
  type WireResult,
} from "@neko/protocol";
import type { HostLogger } from "./host-logger.ts";
import { RateLimitedLog } from "./rate-limited-log.ts";
import { failure, validationFailure } from "./wire-result.ts";

/** How often the same plugin's bad notifications of one method are logged at most. */
const DROP_LOG_INTERVAL_MS = 10_000;

export interface ServiceContext {
  /** The calling plugin, from its socket identity (never from the message). */
  pluginId: string;
  /** Absolute deadline, ms since the epoch. */
  deadline: number;
  /**
   * Canceled when the plugin no longer wants the answer: it sent `request.cancel` (the entry call it made the request
   * from was canceled or timed out), or its process exited. A call made for the request is canceled with it.
   */
  cancel?: CancelToken;
}

/** A stand-in for a method's handler: answers from the checked params, or asks the handler with `next()`. */
export type Interceptor<Req extends MethodMap, K extends MethodName<Req>> = (
  params: Parameters<MethodHandler<Req, K, ServiceContext>>[0],
  ctx: ServiceContext,
  next: () => Promise<Awaited<ReturnType<MethodHandler<Req, K, ServiceContext>>>>,
) => ReturnType<MethodHandler<Req, K, ServiceContext>>;

export interface NotifyContext {
  pluginId: string;
}

/** The contract a `HostServices` serves: the real one, or a small one in a unit test. */
export interface ServiceMaps<Req extends MethodMap, Not extends MethodMap> {
  requests: Req;
  notifications: Not;
}

function answerTimedOut(resolve: (result: WireResult) => void, method: string): void {
  resolve(failure(ErrorCode.Timeout, `host request '${method}' timed out`, "TimeoutError"));
}

export class HostServices<
  Req extends MethodMap = PluginToHostRequests,
  Not extends MethodMap = PluginToHostNotifications,
> {
  private readonly requests: MethodRegistry<Req, ServiceContext>;
  private readonly notifications: MethodRegistry<Not, NotifyContext, "notify">;
  /** At most one stand-in per method, run in place of its handler (`intercept`). */
  private readonly interceptors = new Map<string, Interceptor<Req, any>>();
  private readonly dropLog: RateLimitedLog;
  /** Notifications dropped so far for an unknown method or bad params (`GET /metrics`). */
  droppedNotifications = 0;

  constructor(
    private readonly logger: HostLogger,
    maps: ServiceMaps<Req, Not> = {
      requests: pluginToHostRequests,
      notifications: pluginToHostNotifications,
    } as unknown as ServiceMaps<Req, Not>,
  ) {
    this.requests = new MethodRegistry(maps.requests, "host service", (m) => `the host has no service '${m}'`);
    this.notifications = new MethodRegistry(maps.notifications, "host notification");
    this.dropLog = new RateLimitedLog(logger, DROP_LOG_INTERVAL_MS);
  }

  handle<K extends MethodName<Req>>(method: K, handler: MethodHandler<Req, K, ServiceContext>): Disposable {
    return this.requests.handle(method, handler);
  }

  /**
   * Puts `interceptor` in front of `method`'s handler: it sees the checked params first and answers itself or calls
   * `next()` for the handler's answer. The seam `@neko/plugin-sdk/testing` answers a plugin's calls with fakes through
   * (docs/testing.md); the returned disposable takes it out. One interceptor per method.
   */
  intercept<K extends MethodName<Req>>(method: K, interceptor: Interceptor<Req, K>): Disposable {
    if (this.interceptors.has(method)) throw new Error(`host service '${method}' is already intercepted`);
    this.interceptors.set(method, interceptor);
    return { dispose: () => this.interceptors.get(method) === interceptor && this.interceptors.delete(method) };
  }

  onNotify<K extends MethodName<Not>>(method: K, handler: MethodHandler<Not, K, NotifyContext, "notify">): Disposable {
    return this.notifications.handle(method, handler);
  }

  /** How many methods are served now (request and notification handlers). */
  get size(): number {
    return this.requests.size + this.notifications.size;
  }

  /**
   * Never rejects: an unknown method, a passed deadline, bad params or a throwing handler are each an Err, checked
   * in that order. The handler is answered by its deadline: past it, the request is answered TIMEOUT.
   */
  request(method: unknown, params: unknown, ctx: ServiceContext): Promise<WireResult> {
    if (typeof method !== "string") return Promise.resolve(validationFailure("a request needs a 'method' string"));
    if (!this.requests.has(method)) {
      return Promise.resolve(failure(ErrorCode.NotFound, `the host has no service '${method}'`, "NotFoundError"));
    }
    if (typeof ctx.deadline !== "number" || !Number.isFinite(ctx.deadline)) {
      return Promise.resolve(validationFailure(`request '${method}' needs a numeric 'deadline' (ms since the epoch)`));
    }
    const remaining = ctx.deadline - Date.now();
    if (remaining <= 0) {
      return Promise.resolve(
        failure(ErrorCode.Timeout, `host request '${method}' arrived after its deadline`, "TimeoutError"),
      );
    }
    let answer: Promise<WireResult>;
    try {
      const call = this.requests.lookup(method, params);
      if (!call.ok) return Promise.resolve({ ok: false, error: call.error });
      const interceptor = this.interceptors.get(method);
      const handled = interceptor
        ? interceptor(call.params as never, ctx, async () => (await call.handler(call.params, ctx)) as never)
        : call.handler(call.params, ctx);
      answer = Promise.resolve(handled as WireResult | Promise<WireResult>);
    } catch (error) {
      return Promise.resolve(this.failed(method, ctx, error));
    }
    // One promise and one timer per request (this is every cross-plugin call's path), not a race of two.
    return new Promise<WireResult>((resolve) => {
      const timer = setTimeout(answerTimedOut, timerDelay(remaining), resolve, method);
      answer.then(
        (result) => {
          clearTimeout(timer);
          resolve(result);
        },
        (error: unknown) => {
          clearTimeout(timer);
          resolve(this.failed(method, ctx, error));
        },
      );
    });
  }

  private failed(method: string, ctx: ServiceContext, error: unknown): WireResult {
    this.logger.error({ err: error, plugin: ctx.pluginId, method }, "host service failed");
    return failure(
      ErrorCode.Internal,
      `host service '${method}' failed: ${(error as Error)?.message ?? String(error)}`,
    );
  }

  /**
   * A notification with an unknown method or bad params is dropped with a warning naming why; a plugin that keeps
   * sending bad ones is warned about once per method every `DROP_LOG_INTERVAL_MS`, with the count in between.
   */
  notify(method: unknown, params: unknown, ctx: NotifyContext): void {
    let call: ReturnType<typeof this.notifications.lookup>;
    try {
      call = this.notifications.lookup(method, params);
    } catch (error) {
      this.logger.error({ err: error, plugin: ctx.pluginId, method }, "a host notification could not be checked");
      return;
    }
    if (!call.ok) {
      this.droppedNotifications += 1;
      const name = typeof method === "string" ? method.slice(0, 128) : typeof method;
      const why = call.unknownMethod
        ? "dropped a notification for an unknown method"
        : `dropped a '${name}' notification: ${call.error.message}`;
      this.dropLog.warn(
        `${ctx.pluginId}\u0000${call.unknownMethod ? "?" : name}`,
        { plugin: ctx.pluginId, method: name },
        why,
      );
      return;
    }
    try {
      call.handler(call.params, ctx);
    } catch (error) {
      this.logger.error({ err: error, plugin: ctx.pluginId, method }, "host notification handler failed");
    }
  }
}
