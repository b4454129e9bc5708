/**
 * How a caller cancels a call it made: a `CancelToken` reports `canceled` and calls its listeners once. `Canceler`
 * makes one; `cancelTokenOf` wraps an `AbortSignal`. A plain object rather than an AbortSignal for the host's own
 * calls: on Node 20 an AbortSignal costs several µs to make and listen to, and every HTTP trigger is a cancellable run.
 */
import { type Disposable, toDisposable } from "./disposable.ts";

export interface CancelToken {
  readonly canceled: boolean;
  /** Called once when the token is canceled (at once, if it already is); dispose to stop listening. */
  onCancel(listener: () => void): Disposable;
}

export class Canceler implements CancelToken {
  /** Almost every canceler has one listener (the call it was made for): kept without an array. */
  private first: (() => void) | undefined;
  private more: Array<() => void> | undefined;
  private requested = false;

  get canceled(): boolean {
    return this.requested;
  }

  /** Cancels: every listener runs once; later calls do nothing. */
  cancel(): void {
    if (this.requested) return;
    this.requested = true;
    const listeners = [this.first, ...(this.more ?? [])];
    this.first = undefined;
    this.more = undefined;
    for (const listener of listeners) listener?.();
  }

  onCancel(listener: () => void): Disposable {
    if (this.requested) {
      listener();
      return NONE;
    }
    if (this.first === undefined) {
      this.first = listener;
    } else {
      this.more ??= [];
      this.more.push(listener);
    }
    return new CancelSubscription(this, listener);
  }

  /** @internal */
  remove(listener: () => void): void {
    if (this.first === listener) {
      this.first = undefined;
      return;
    }
    const at = this.more?.indexOf(listener) ?? -1;
    if (at >= 0) this.more?.splice(at, 1);
  }
}

const NONE: Disposable = { dispose: () => undefined };

/** A class, not a closure: one is made per cancellable call, and a named closure would cost a `defineProperty`. */
class CancelSubscription implements Disposable {
  constructor(
    private readonly canceler: Canceler,
    private readonly listener: () => void,
  ) {}

  dispose(): void {
    this.canceler.remove(this.listener);
  }
}

/** An AbortSignal as a token; undefined stays undefined. */
export function cancelTokenOf(signal: AbortSignal | undefined): CancelToken | undefined {
  if (!signal) return undefined;
  return {
    get canceled() {
      return signal.aborted;
    },
    onCancel(listener) {
      if (signal.aborted) {
        listener();
        return NONE;
      }
      signal.addEventListener("abort", listener, { once: true });
      return toDisposable(() => signal.removeEventListener("abort", listener));
    },
  };
}
