/**
 * The plugin's line to the host's services, typed by the contract: `request` waits for a `response` (through the
 * protocol's `PendingCalls`, bounded by a deadline), `notify` is fire-and-forget, `onPush` receives what the host
 * pushes (checked against the contract before a handler sees it). Used by `this.plugins`, `this.bus`, …
 */
import {
  type Answer,
  type CancelToken,
  cancelTokenOf,
  checkMethodParams,
  decodeFrame,
  encodeFrame,
  ErrorCode,
  type HostToPluginPushes,
  hostToPluginPushes,
  type MethodSpec,
  type ParamsIn,
  type ParamsOut,
  PendingCalls,
  type PluginNotifyMethod,
  type PluginRequestMethod,
  type PluginToHost,
  type PluginToHostNotifications,
  type PluginToHostRequests,
  type PushTopic,
  type ResultOf,
  unsendableError,
  type WireError,
  type WireResult,
} from "@neko/protocol";
import type { PluginTransport } from "./plugin-transport.ts";

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** How long past a request's deadline the SDK waits for the host's own TIMEOUT before answering it itself. */
const ANSWER_GRACE_MS = 250;

export interface RequestOptions {
  timeoutMs?: number;
  deadline?: number;
  /**
   * Aborting it answers the request at once with `CANCELED` and tells the host, which cancels the work it started
   * for it (a cross-plugin call's handler sees its signal aborted).
   */
  signal?: AbortSignal;
  /** Like `signal`, for a caller that has a token rather than a signal (the call scope's); `signal` wins. */
  cancel?: CancelToken;
}

export type RequestAnswer<K extends PluginRequestMethod> = Answer<ResultOf<PluginToHostRequests, K>>;

export interface HostBridge {
  request<K extends PluginRequestMethod>(
    method: K,
    params: ParamsIn<PluginToHostRequests, K>,
    options?: RequestOptions,
  ): Promise<RequestAnswer<K>>;
  /** Err when the params cannot be sent (they cannot be encoded); nothing was sent then. */
  notify<K extends PluginNotifyMethod>(method: K, params: ParamsIn<PluginToHostNotifications, K>): WireResult;
  onPush<K extends PushTopic>(topic: K, handler: (payload: ParamsOut<HostToPluginPushes, K>) => void): () => void;
}

/** The timeouts this process's own deadlines fired: only these are named as the caller's (plugins-client.ts). */
const callerTimeouts = new WeakSet<object>();

/** Whether `error` is a timeout a HostClient of this process made, not an answer that says `firedBy: "caller"`. */
export function isCallerTimeout(error: object): boolean {
  return callerTimeouts.has(error);
}

export class HostClient implements HostBridge {
  private readonly calls: PendingCalls<PluginToHost>;
  private readonly pushHandlers = new Map<string, Set<(payload: any) => void>>();
  /** Requests and notifications made before `open()`, in order; undefined once open. */
  private held: PluginToHost[] | undefined;

  /**
   * `waitForWelcome`: what the plugin sends before the host's `welcome` (from its constructor, say) waits for
   * `open()`, since the host drops every frame of a peer that has not completed the handshake. `onDropped` hears of
   * a push that broke the contract.
   */
  constructor(
    private readonly transport: PluginTransport,
    private readonly options: { waitForWelcome?: boolean; onDropped?: (problem: string) => void } = {},
  ) {
    if (options.waitForWelcome) this.held = [];
    this.calls = new PendingCalls<PluginToHost>({
      send: (message) => this.send(message),
      sendCancel: (id) => this.notify("request.cancel", { id }),
      graceMs: ANSWER_GRACE_MS,
      onCancel: "answer",
      errors: {
        timedOut: (label, budgetMs) => {
          const made = {
            ...error("TimeoutError", ErrorCode.Timeout, `host request '${label}' timed out`),
            // The caller's own deadline passed before the host answered (a cross-plugin call names its target).
            details: { method: label, timeoutMs: budgetMs, firedBy: "caller" },
          };
          callerTimeouts.add(made);
          return made;
        },
        unsendable: (label, cause) => unsendableError(`'${label}' cannot be sent`, cause),
        canceled: (label) => error("SdkError", ErrorCode.Canceled, `host request '${label}' was canceled`),
      },
    });
  }

  /** Requests still waiting for the host's answer. */
  get pending(): number {
    return this.calls.size;
  }

  /** Sends what waited for the handshake, in order; from now on everything goes out at once. */
  open(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const message of held) {
      try {
        this.transport.send(message);
      } catch (cause) {
        // Held messages are copies that were encodable when made, so this is not expected; answer rather than hang.
        if (message.type === "request") {
          this.calls.settle(message.id, {
            ok: false,
            error: unsendableError(`'${message.method}' cannot be sent`, cause),
          });
        }
      }
    }
  }

  /** Throws, sending nothing, when the message cannot be encoded (as the transport does). */
  private send(message: PluginToHost): void {
    if (!this.held) {
      this.transport.send(message);
      return;
    }
    // A copy as it is now: the plugin may change (or break) the objects it passed before the handshake completes.
    const copy = decodeFrame(encodeFrame(message)) as PluginToHost | undefined;
    if (copy) this.held.push(copy);
  }

  request<K extends PluginRequestMethod>(
    method: K,
    params: ParamsIn<PluginToHostRequests, K>,
    options: RequestOptions = {},
  ): Promise<RequestAnswer<K>> {
    const deadline = options.deadline ?? Date.now() + (options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
    // The host's answer is trusted to follow the contract it shares with this SDK.
    return this.calls.call({
      build(id, at) {
        return { type: "request", id, method, params, deadline: at };
      },
      deadline,
      label: method,
      cancel: options.signal ? cancelTokenOf(options.signal) : options.cancel,
    }) as Promise<RequestAnswer<K>>;
  }

  notify<K extends PluginNotifyMethod>(method: K, params: ParamsIn<PluginToHostNotifications, K>): WireResult {
    try {
      this.send({ type: "notify", method, params });
      return { ok: true, value: null };
    } catch (cause) {
      return { ok: false, error: unsendableError(`'${method}' cannot be sent`, cause) };
    }
  }

  onPush<K extends PushTopic>(topic: K, handler: (payload: ParamsOut<HostToPluginPushes, K>) => void): () => void {
    let set = this.pushHandlers.get(topic);
    if (!set) {
      set = new Set();
      this.pushHandlers.set(topic, set);
    }
    set.add(handler);
    return () => set.delete(handler);
  }

  /** A `response` from the host. */
  settle(id: string, result: WireResult): void {
    this.calls.settle(id, result);
  }

  /** A `push` from the host, checked against the contract; one that breaks it is dropped. */
  deliver(topic: string, payload: unknown): void {
    const handlers = this.pushHandlers.get(topic);
    if (!handlers?.size || !Object.hasOwn(hostToPluginPushes, topic)) return;
    const spec: MethodSpec = hostToPluginPushes[topic as PushTopic];
    const checked = checkMethodParams(spec, payload, `push '${topic}'`);
    if (!checked.ok) {
      this.options.onDropped?.(`dropped a push that breaks the contract: ${checked.error.message}`);
      return;
    }
    for (const handler of handlers) handler(checked.value);
  }

  /** Fails every request still waiting (the process is shutting down). */
  failAll(message: string): void {
    this.calls.failAll(() => ({ ok: false, error: error("TransportError", ErrorCode.Transport, message) }));
  }
}

/** Stands in outside a plugin process (a class constructed by hand in a unit test): every request fails clearly. */
export const detachedBridge: HostBridge = {
  request: async (method) => ({
    ok: false,
    error: error(
      "TransportError",
      ErrorCode.Transport,
      `'${method}' needs a host: this plugin instance is not running inside a plugin process`,
    ),
  }),
  notify: () => ({ ok: true, value: null }),
  onPush: () => () => undefined,
};

function error(name: string, code: ErrorCode, message: string): WireError {
  return { name, code, message };
}
