/**
 * The plugin's line to the host's services: `request` waits for a `response` (bounded by a deadline),
 * `notify` is fire-and-forget, `onPush` receives what the host pushes. Used by `this.plugins`, `this.bus`, …
 */
import { randomUUID } from "node:crypto";
import {
  decodeFrame,
  encodeFrame,
  ErrorCode,
  type PluginToHost,
  REQUEST_CANCEL_METHOD,
  unsendableError,
  type WireError,
  type WireResult,
} from "@neko/protocol";
import type { PluginTransport } from "./plugin-transport.ts";

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export interface RequestOptions {
  timeoutMs?: number;
  deadline?: number;
  /**
   * Aborting it answers the request at once with `CANCELED` and tells the host, which cancels the work it started
   * for it (a cross-plugin call's handler sees its signal aborted).
   */
  signal?: AbortSignal;
}

export interface HostBridge {
  request(method: string, params: unknown, options?: RequestOptions): Promise<WireResult>;
  /** Err when the params cannot be sent (they cannot be encoded); nothing was sent then. */
  notify(method: string, params: unknown): WireResult;
  onPush(topic: string, handler: (payload: unknown) => void): () => void;
}

export class HostClient implements HostBridge {
  private readonly pending = new Map<string, { resolve: (r: WireResult) => void; timer: NodeJS.Timeout }>();
  private readonly pushHandlers = new Map<string, Set<(payload: unknown) => void>>();
  /** Requests and notifications made before `open()`, in order; undefined once open. */
  private held: PluginToHost[] | undefined;

  /**
   * `waitForWelcome`: what the plugin sends before the host's `welcome` (from its constructor, say) waits for
   * `open()`, since the host drops every frame of a peer that has not completed the handshake.
   */
  constructor(
    private readonly transport: PluginTransport,
    options: { waitForWelcome?: boolean } = {},
  ) {
    if (options.waitForWelcome) this.held = [];
  }

  /** Sends what waited for the handshake, in order; from now on everything goes out at once. */
  open(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const message of held) {
      try {
        this.transport.send(message);
      } catch (error) {
        // Held messages are copies that were encodable when made, so this is not expected; answer rather than hang.
        if (message.type === "request")
          this.settle(message.id, { ok: false, error: unsendable(message.method, error) });
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

  request(method: string, params: unknown, options: RequestOptions = {}) {
    const id = randomUUID();
    const deadline = options.deadline ?? Date.now() + (options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
    const { signal } = options;
    if (signal?.aborted) return Promise.resolve(canceled(method));
    const answer = new Promise<WireResult>((resolve) => {
      const timer = setTimeout(
        () => {
          this.pending.delete(id);
          resolve({
            ok: false,
            error: { name: "TimeoutError", code: ErrorCode.Timeout, message: `host request '${method}' timed out` },
          });
        },
        Math.max(0, deadline - Date.now()) + 250,
      );
      this.pending.set(id, { resolve, timer });
      try {
        this.send({ type: "request", id, method, params, deadline });
      } catch (error) {
        // Params msgpack cannot encode (a cycle, a symbol, a BigInt past 64 bits): nothing was sent.
        clearTimeout(timer);
        this.pending.delete(id);
        resolve({ ok: false, error: unsendable(method, error) });
      }
    });
    if (!signal) return answer;
    const onAbort = () => {
      const call = this.pending.get(id);
      if (!call) return;
      this.pending.delete(id);
      clearTimeout(call.timer);
      this.notify(REQUEST_CANCEL_METHOD, { id });
      call.resolve(canceled(method));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    return answer.finally(() => signal.removeEventListener("abort", onAbort));
  }

  notify(method: string, params: unknown): WireResult {
    try {
      this.send({ type: "notify", method, params });
      return { ok: true, value: null };
    } catch (error) {
      return { ok: false, error: unsendable(method, error) };
    }
  }

  onPush(topic: string, handler: (payload: unknown) => void): () => void {
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
    const call = this.pending.get(id);
    if (!call) return;
    this.pending.delete(id);
    clearTimeout(call.timer);
    call.resolve(result);
  }

  /** A `push` from the host. */
  deliver(topic: string, payload: unknown): void {
    for (const handler of this.pushHandlers.get(topic) ?? []) handler(payload);
  }

  /** Fails every request still waiting (the process is shutting down). */
  failAll(message: string): void {
    for (const [id, call] of this.pending) {
      clearTimeout(call.timer);
      call.resolve({ ok: false, error: { name: "TransportError", code: ErrorCode.Transport, message } });
      this.pending.delete(id);
    }
  }
}

/** Stands in outside a plugin process (a class constructed by hand in a unit test): every request fails clearly. */
export const detachedBridge: HostBridge = {
  request: async (method) => ({
    ok: false,
    error: {
      name: "TransportError",
      code: ErrorCode.Transport,
      message: `'${method}' needs a host: this plugin instance is not running inside a plugin process`,
    },
  }),
  notify: () => ({ ok: true, value: null }),
  onPush: () => () => undefined,
};

function canceled(method: string): WireResult {
  return {
    ok: false,
    error: { name: "SdkError", code: ErrorCode.Canceled, message: `host request '${method}' was canceled` },
  };
}

function unsendable(method: string, error: unknown): WireError {
  return unsendableError(`'${method}' cannot be sent`, error);
}
