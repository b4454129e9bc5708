/**
 * The calling half of the one request/response engine: each call gets an id and a deadline and waits in the pending
 * map for the peer's answer. The engine answers it itself when the deadline passes (plus a grace period for the
 * peer's own answer), when its caller cancels it, when it cannot be sent, or when the peer is gone — a call never
 * rejects and never hangs. The host calls plugins with it (`call`, `control`, `shutdown`, answered by `result`); the
 * SDK calls the host's services with it (`request`, answered by `response`).
 */
import type { CancelToken } from "../cancel-token.ts";
import type { Disposable } from "../disposable.ts";
import type { WireError, WireResult } from "../messages.ts";
import { timerDelay } from "../timer-delay.ts";

export interface PendingCallsOptions<Out> {
  /** Sends one message to the peer; throws, sending nothing, for a message that cannot be encoded or is too large. */
  send(message: Out): void;
  /** Tells the peer that the answer to call `id` is no longer wanted, so it can stop the work. */
  sendCancel(id: string): void;
  /** How long past a call's deadline to wait for the peer's own answer (its TIMEOUT) before answering it here. */
  graceMs: number;
  /** A canceled call is answered CANCELED at once (`answer`), or waits for the peer to confirm the cancel (`await`). */
  onCancel: "answer" | "await";
  errors: {
    timedOut(label: string, budgetMs: number): WireError;
    unsendable(label: string, error: unknown): WireError;
    /** `sent`: the call was canceled before it was sent (nothing was); `answered`: canceled while it waited. */
    canceled(label: string, when: "sent" | "answered"): WireError;
  };
  /** Makes the id of each call; by default `callIds()`. */
  newId?: () => string;
}

/**
 * Ids for calls, unique for as long as this process runs and across its restarts: a prefix made once (the time,
 * the process id and eight random base-36 digits) and a counter. Not a `randomUUID()` per call: that costs a few
 * hundred bytes of strings and a µs on every call's path; and no `node:crypto` at all, whose load is 3 ms of a plugin
 * process's start. An id names a call to the one peer it is sent to; it is no secret and no capability (an answer or
 * a cancel is only taken from the peer the call was sent to).
 */
export function callIds(): () => string {
  const random = Math.random().toString(36).slice(2, 10).padEnd(8, "0");
  const prefix = `${Date.now().toString(36)}${process.pid.toString(36)}${random}.`;
  let next = 0;
  return () => prefix + (next++).toString(36);
}

export interface RpcCall<Out> {
  /** The message to send, for this call's id and absolute deadline (ms since the epoch). */
  build(id: string, deadline: number): Out;
  /** The time budget in ms; the deadline is now plus that, unless `deadline` is given. */
  timeoutMs?: number;
  /** Absolute deadline, ms since the epoch. */
  deadline?: number;
  /** Names the call in the errors the engine answers with. */
  label: string;
  cancel?: CancelToken;
}

interface Pending {
  resolve(result: WireResult): void;
  timer: NodeJS.Timeout;
  label: string;
  cancelListener: Disposable | undefined;
  /** The peer was told to stop already: it is not told twice. */
  cancelSent: boolean;
}

/** A call's timer: no closure per call (setTimeout passes the arguments). */
function expireCall(calls: PendingCalls<unknown>, id: string, budgetMs: number): void {
  calls.expire(id, budgetMs);
}

export class PendingCalls<Out> {
  private readonly pending = new Map<string, Pending>();
  private closedWith: ((id: string) => WireResult) | undefined;
  private readonly newId: () => string;

  constructor(private readonly options: PendingCallsOptions<Out>) {
    this.newId = options.newId ?? callIds();
  }

  /** Calls still waiting for an answer. */
  get size(): number {
    return this.pending.size;
  }

  /** Sends a call and resolves with its answer. Never rejects: every way it can end is a `WireResult`. */
  call(call: RpcCall<Out>): Promise<WireResult> {
    const { label, cancel } = call;
    if (cancel?.canceled) return Promise.resolve(fail(this.options.errors.canceled(label, "sent")));
    const id = this.newId();
    if (this.closedWith) return Promise.resolve(this.closedWith(id));
    const now = Date.now();
    // A deadline that is not a finite number (NaN, ±Infinity) is no deadline: the budget (cut to what a timer can
    // wait) decides, and the peer gets the deadline that budget gives.
    const given = call.deadline !== undefined && Number.isFinite(call.deadline) ? call.deadline : undefined;
    const budgetMs = timerDelay(given === undefined ? (call.timeoutMs ?? 0) : given - now);
    const deadline = given ?? now + budgetMs;
    return new Promise<WireResult>((resolve) => {
      // The peer enforces the deadline itself; this timer is for a peer that cannot answer at all.
      const timer = setTimeout(expireCall, timerDelay(budgetMs + this.options.graceMs), this, id, budgetMs);
      const pending: Pending = { resolve, timer, label, cancelListener: undefined, cancelSent: false };
      this.pending.set(id, pending);
      try {
        this.options.send(call.build(id, deadline));
      } catch (error) {
        // Nothing was sent (a value msgpack cannot encode, a frame over the limit): answer now, not at the deadline.
        this.finish(id, fail(this.options.errors.unsendable(label, error)));
        return;
      }
      // The send may have been answered already (a transport that answers in the same turn): nothing to listen for.
      if (cancel && this.pending.has(id)) pending.cancelListener = cancel.onCancel(() => this.cancel(id));
    });
  }

  /** The peer's answer to call `id`; false when no call waits for it (answered already, or given up: dropped). */
  settle(id: string, result: WireResult): boolean {
    return this.finish(id, result);
  }

  /** Whether call `id` still waits for its answer. */
  has(id: string): boolean {
    return this.pending.has(id);
  }

  /** Answers every waiting call with `answer(id)`; calls made later are sent as usual. */
  failAll(answer: (id: string) => WireResult): void {
    for (const id of [...this.pending.keys()]) this.finish(id, answer(id));
  }

  /** The peer is gone for good: waiting calls, and every later one, are answered with `answer`. */
  close(answer: (id: string) => WireResult): void {
    if (this.closedWith) return;
    this.closedWith = answer;
    this.failAll(answer);
  }

  private cancel(id: string): void {
    const call = this.pending.get(id);
    if (!call) return;
    call.cancelSent = true;
    this.options.sendCancel(id);
    if (this.options.onCancel === "answer") this.finish(id, fail(this.options.errors.canceled(call.label, "answered")));
  }

  /** @internal The call's deadline and grace passed with no answer from the peer. */
  expire(id: string, budgetMs: number): void {
    const call = this.pending.get(id);
    if (!call) return;
    if (!call.cancelSent) this.options.sendCancel(id);
    this.finish(id, fail(this.options.errors.timedOut(call.label, budgetMs)));
  }

  private finish(id: string, result: WireResult): boolean {
    const call = this.pending.get(id);
    if (!call) return false;
    this.pending.delete(id);
    clearTimeout(call.timer);
    call.cancelListener?.dispose();
    call.resolve(result);
    return true;
  }
}

function fail(error: WireError): WireResult {
  return { ok: false, error };
}
