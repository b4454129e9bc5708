/**
 * The receiving end of a method map: handlers registered by method name, typed by the map, and a lookup that checks
 * untrusted params against the method's schema before any handler sees them. The host serves plugins' requests and
 * notifications with it; the SDK serves the host's control operations. How a handler's throw, a deadline or an
 * unknown method is answered stays with the side that dispatches (`lookup` never runs anything).
 */
import type { Disposable } from "../disposable.ts";
import { ErrorCode } from "../error-codes.ts";
import type { WireError } from "../messages.ts";
import {
  type Answer,
  checkMethodParams,
  type MethodMap,
  type MethodName,
  type ParamsOut,
  type ResultOf,
} from "./method-map.ts";

/** `answer`: the handler's value is the reply (requests, controls); `notify`: there is no reply. */
export type HandlerMode = "answer" | "notify";

export type MethodHandler<M extends MethodMap, K extends keyof M, Ctx, Mode extends HandlerMode = "answer"> = (
  params: ParamsOut<M, K>,
  ctx: Ctx,
) => Mode extends "notify" ? void : Answer<ResultOf<M, K>> | Promise<Answer<ResultOf<M, K>>>;

/** A call ready to run, `handler(params, ctx)`: its params passed their schema. */
export type Lookup<Ctx> =
  | { ok: true; handler: (params: unknown, ctx: Ctx) => unknown; params: unknown }
  | { ok: false; error: WireError; unknownMethod: boolean };

export class MethodRegistry<M extends MethodMap, Ctx, Mode extends HandlerMode = "answer"> {
  private readonly handlers = new Map<string, (params: any, ctx: Ctx) => unknown>();

  /** `what` names this side's methods in errors ("control operation"); `unknown` words the NOT_FOUND for one. */
  constructor(
    private readonly map: M,
    private readonly what: string,
    private readonly unknown: (method: string) => string = (method) => `unknown ${what} '${method}'`,
  ) {}

  /** Serves `method`; the returned disposable stops serving it. A method has one handler at a time. */
  handle<K extends MethodName<M>>(method: K, handler: MethodHandler<M, K, Ctx, Mode>): Disposable {
    if (this.handlers.has(method)) throw new Error(`${this.what} '${method}' is already registered`);
    this.handlers.set(method, handler);
    return { dispose: () => this.handlers.get(method) === handler && this.handlers.delete(method) };
  }

  has(method: string): boolean {
    return this.handlers.has(method);
  }

  /** How many methods are served now. */
  get size(): number {
    return this.handlers.size;
  }

  /** Finds the handler and checks the params: an unknown method is NOT_FOUND, bad params a VALIDATION_ERROR. */
  lookup(method: unknown, params: unknown): Lookup<Ctx> {
    const handler = typeof method === "string" ? this.handlers.get(method) : undefined;
    const spec = typeof method === "string" && Object.hasOwn(this.map, method) ? this.map[method] : undefined;
    if (!handler || !spec) {
      const name = typeof method === "string" ? method : String(method);
      return {
        ok: false,
        unknownMethod: true,
        error: { name: "NotFoundError", code: ErrorCode.NotFound, message: this.unknown(name) },
      };
    }
    const checked = checkMethodParams(spec, params, method as string);
    if (!checked.ok) return { ok: false, unknownMethod: false, error: checked.error };
    return { ok: true, handler, params: checked.value };
  }
}
