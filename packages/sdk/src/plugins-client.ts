/**
 * `this.plugins` (SPEC §3.4, §4.3): the other plugins of the host, and calls into them. A call goes plugin → host →
 * target and back; the host checks `allow_calls`, the call chain (cycles, depth) and shrinks the deadline along it.
 * Docs: docs/cross-plugin-calls.md.
 */
import {
  ErrorCode,
  findJsonProblem,
  type JsonObject,
  type JsonValue,
  type ParamsIn,
  PLUGIN_ID_PATTERN,
  type PluginEntryInfo,
  type PluginInfo,
  type PluginToHostRequests,
  randomUUID,
  timeoutError,
  type WireResult,
} from "@neko/protocol";
import { NotFoundError, SdkError, ValidationError } from "./errors.ts";
import { Err, Ok, type Result } from "./result.ts";
import { currentCallScope } from "./runtime/call-scope.ts";
import { type HostBridge, isCallerTimeout } from "./runtime/host-client.ts";
import { toResult } from "./wire-result.ts";
import { secondsProblem } from "./seconds-limit.ts";

/** Without a timeout and outside an entry, the target entry's own timeout bounds the call; this only caps it. */
const UNSCOPED_CEILING_MS = 24 * 60 * 60 * 1000;

export type { PluginEntryInfo, PluginInfo };

export interface CallOptions {
  /** Seconds. Default: the target entry's own timeout. Never past the deadline of the entry the caller runs in. */
  timeout?: number;
  /**
   * Cancels the call: it answers `CANCELED` at once and the target's handler sees its own signal aborted. A call made
   * inside an entry call is also canceled with it (timeout, cancel, run cancel), with or without this option.
   */
  signal?: AbortSignal;
  /**
   * `callEntry` only: the call runs as a run on the host, and each `runUpdate` of the target entry (progress, stage,
   * message) is passed here as it happens.
   */
  onProgress?: (update: CallProgress) => void;
}

/** What a target entry reported with `runUpdate`, as `onProgress` gets it. */
export interface CallProgress {
  runId: string;
  progress: number | null;
  stage: string | null;
  message: string | null;
}

/** The progress listeners of the calls in flight, per bridge (one push listener per process). */
const progressListeners = new WeakMap<HostBridge, Map<string, (update: CallProgress) => void>>();

function progressListenersOf(bridge: HostBridge): Map<string, (update: CallProgress) => void> {
  let listeners = progressListeners.get(bridge);
  if (!listeners) {
    const made = new Map<string, (update: CallProgress) => void>();
    bridge.onPush("call.progress", ({ progressId, ...update }) => made.get(progressId)?.(update));
    progressListeners.set(bridge, made);
    listeners = made;
  }
  return listeners;
}

export class PluginsClient {
  constructor(
    private readonly bridge: HostBridge,
    private readonly selfId: string,
  ) {}

  /** Every plugin the host knows; `{ enabled: true }` keeps the enabled ones, `{ enabled: false }` the others. */
  async list(options: { enabled?: boolean } = {}): Promise<Result<PluginInfo[], SdkError>> {
    const result = toResult<PluginInfo[]>(await this.bridge.request("plugins.list", {}));
    if (!result.ok || options.enabled === undefined) return result;
    return Ok(result.value.filter((p) => p.enabled === options.enabled));
  }

  async listIds(options: { enabled?: boolean } = {}): Promise<Result<string[], SdkError>> {
    const result = await this.list(options);
    return result.ok ? Ok(result.value.map((p) => p.id)) : result;
  }

  async exists(id: string): Promise<Result<boolean, SdkError>> {
    const result = await this.get(id);
    return result.ok ? Ok(result.value !== null) : result;
  }

  /** The plugin, or null when there is none with that id. */
  async get(id: string): Promise<Result<PluginInfo | null, SdkError>> {
    if (typeof id !== "string" || !PLUGIN_ID_PATTERN.test(id)) return Err(badId(id));
    return toResult<PluginInfo | null>(await this.bridge.request("plugins.get", { id }));
  }

  /** The plugin, or `Err(NotFoundError)` with code `PLUGIN_NOT_FOUND`. */
  async require(id: string): Promise<Result<PluginInfo, SdkError>> {
    const result = await this.get(id);
    if (!result.ok) return result;
    if (result.value === null) {
      return Err(new NotFoundError(`no plugin with id '${id}'`, { code: ErrorCode.PluginNotFound, details: { id } }));
    }
    return Ok(result.value);
  }

  /** The plugin if it exists and is enabled; otherwise an Err saying which of the two it is not. */
  async requireEnabled(id: string): Promise<Result<PluginInfo, SdkError>> {
    const result = await this.require(id);
    if (!result.ok || result.value.enabled) return result;
    return Err(
      new SdkError(`plugin '${id}' is not enabled (state: ${result.value.status})`, {
        code: ErrorCode.PluginNotRunning,
        details: { id, state: result.value.status },
      }),
    );
  }

  /**
   * Calls `"<plugin>:<entry>"` with `args`. The target's `Err` comes back as is (class, code, message, details);
   * a cycle gives `CircularCallError`, a chain deeper than the host allows `PluginCallError`, a stopped target
   * `PLUGIN_NOT_RUNNING`, a target that dies mid-call `PLUGIN_CRASHED`, a refusal by `allow_calls` `PERMISSION_DENIED`.
   */
  callEntry<T = unknown>(
    ref: string,
    args: Record<string, unknown> = {},
    options: CallOptions = {},
  ): Promise<Result<T, SdkError>> {
    try {
      return this.startCall<T>(ref, args, options);
    } catch (error) {
      // What an async function would have done with a throw (a ref whose String() throws, a revoked Proxy…).
      return Promise.reject(error);
    }
  }

  private startCall<T>(ref: string, args: Record<string, unknown>, options: CallOptions) {
    const target = splitRef(ref, 2, '"<plugin>:<entry>"');
    if (!target.ok) return Promise.resolve(target);
    const [pluginId, entryId] = target.value;
    if (typeof args !== "object" || args === null || Array.isArray(args)) {
      return Promise.resolve(Err(new ValidationError(`callEntry('${ref}'): args must be an object`)));
    }
    return this.send<T>({ method: "plugins.call", params: { pluginId, entryId, args } }, options, ref);
  }

  /**
   * `callEntry` for plain data: `args` is a JSON object (or the JSON text of one) and the result is checked to be
   * JSON-compatible, so it can be stored or sent on as is. A value that is not gives `ValidationError` naming it.
   */
  async callEntryJson<T extends JsonValue = JsonValue>(
    ref: string,
    args: JsonObject | string = {},
    options: CallOptions = {},
  ): Promise<Result<T, SdkError>> {
    let value: unknown = args;
    if (typeof args === "string") {
      try {
        value = JSON.parse(args);
      } catch (error) {
        return Err(new ValidationError(`callEntryJson('${ref}'): args is not valid JSON: ${(error as Error).message}`));
      }
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return Err(new ValidationError(`callEntryJson('${ref}'): args must be a JSON object`));
    }
    const argsProblem = findJsonProblem(value);
    if (argsProblem) {
      const where = argsProblem.path.replace(/^\$/, "args");
      return Err(
        new ValidationError(`callEntryJson('${ref}'): ${where} is ${argsProblem.problem}`, {
          details: { path: argsProblem.path },
        }),
      );
    }
    const result = await this.callEntry<T>(ref, value as Record<string, unknown>, options);
    if (!result.ok) return result;
    const problem = findJsonProblem(result.value);
    if (problem) {
      const where = problem.path.replace(/^\$/, "result");
      return Err(
        new ValidationError(
          `callEntryJson('${ref}'): the result is not JSON-compatible: ${where} is ${problem.problem}`,
          {
            details: { path: problem.path },
          },
        ),
      );
    }
    return result;
  }

  /**
   * Runs the `@onEvent` / `@customEvent` handler `"<plugin>:<eventType>:<eventId>"` of another plugin, with the same
   * checks as `callEntry`. The event type may itself contain ':'; the id is what follows the last one.
   */
  async callEvent<T = unknown>(
    ref: string,
    args: Record<string, unknown> = {},
    options: CallOptions = {},
  ): Promise<Result<T, SdkError>> {
    const target = splitRef(ref, 3, '"<plugin>:<eventType>:<eventId>"');
    if (!target.ok) return target;
    const [pluginId, eventType, eventId] = target.value;
    if (typeof args !== "object" || args === null || Array.isArray(args)) {
      return Err(new ValidationError(`callEvent('${ref}'): args must be an object`));
    }
    return this.send<T>({ method: "plugins.callEvent", params: { pluginId, eventType, eventId, args } }, options, ref);
  }

  /** Sends a call with the caller's chain, and a deadline no later than the entry the caller runs in. */
  private async send<T>(call: TargetCall, options: CallOptions, ref: string): Promise<Result<T, SdkError>> {
    const { timeout } = options;
    const problem = timeout === undefined ? undefined : secondsProblem(`call to '${ref}': timeout`, timeout);
    if (problem) return Err(new ValidationError(problem));
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
      return Err(new ValidationError(`call to '${ref}': signal must be an AbortSignal`));
    }
    const scope = currentCallScope();
    const now = Date.now();
    const timeoutMs = timeout === undefined ? undefined : timeout * 1000;
    const deadline = Math.min(now + (timeoutMs ?? UNSCOPED_CEILING_MS), scope?.deadline ?? Number.POSITIVE_INFINITY);
    // The params as sent: what the call names, the chain and the budget (written into the call's own params object,
    // which no one else holds, rather than spread into a new one).
    const params = call.params as typeof call.params & { chain: string[]; timeoutMs?: number; progressId?: string };
    params.chain = scope?.chain ?? [this.selfId];
    if (timeoutMs !== undefined) params.timeoutMs = timeoutMs;
    const { onProgress } = options;
    if (onProgress !== undefined && typeof onProgress !== "function") {
      return Err(new ValidationError(`call to '${ref}': onProgress must be a function`));
    }
    // Canceled with the entry it is made from: by the scope's token, which (unlike its signal) costs nothing to
    // listen to; a signal of the caller's own is combined with the scope's.
    const own = options.signal;
    const cancel = own === undefined ? scope?.cancel : undefined;
    const { signal, release } =
      own !== undefined
        ? eitherSignal(scope?.signal, own)
        : cancel
          ? NO_SIGNAL
          : { signal: scope?.signal, release: nothing };
    const progressId = onProgress && call.method === "plugins.call" ? randomUUID() : undefined;
    const listeners = progressId === undefined ? undefined : progressListenersOf(this.bridge);
    if (progressId !== undefined && onProgress) {
      params.progressId = progressId;
      listeners?.set(progressId, onProgress);
    }
    try {
      const wire =
        call.method === "plugins.call"
          ? await this.bridge.request("plugins.call", call.params as ParamsIn<PluginToHostRequests, "plugins.call">, {
              deadline,
              signal,
              cancel,
            })
          : await this.bridge.request(
              "plugins.callEvent",
              call.params as ParamsIn<PluginToHostRequests, "plugins.callEvent">,
              { deadline, signal, cancel },
            );
      // The target's value is whatever its handler returned: the caller says what it expects.
      return toResult(callerTimeoutNamed(wire, call, deadline - now)) as Result<T, SdkError>;
    } finally {
      if (progressId !== undefined) listeners?.delete(progressId);
      release();
    }
  }
}

/**
 * A timeout this process's own deadline fired, named as the host names one (`firedBy: "caller"`). Only one its
 * HostClient made: an answer from the wire that says `firedBy: "caller"` stays as it came (with its upstream token).
 * `budgetMs` is the time the call was given (its `timeout`, or what was left of the caller's own deadline), not what
 * was left when the request went out, which can be a millisecond less.
 */
function callerTimeoutNamed(wire: WireResult, call: TargetCall, budgetMs: number): WireResult {
  if (wire.ok || wire.error.code !== ErrorCode.Timeout || !isCallerTimeout(wire.error)) return wire;
  const details = wire.error.details as { firedBy?: unknown; timeoutMs?: unknown } | undefined;
  if (details?.firedBy !== "caller" || typeof details.timeoutMs !== "number") return wire;
  const { pluginId } = call.params;
  const entry =
    call.method === "plugins.call" ? call.params.entryId : `${call.params.eventType}:${call.params.eventId}`;
  const kind = call.method === "plugins.call" ? "entry" : "event";
  return {
    ok: false,
    error: timeoutError({ plugin: pluginId, entry, timeoutMs: budgetMs, firedBy: "caller" }, kind),
  };
}

/** A cross-plugin call without what `send` adds to every one (the chain, the time budget). */
type TargetCall =
  | { method: "plugins.call"; params: Omit<ParamsIn<PluginToHostRequests, "plugins.call">, "chain" | "timeoutMs"> }
  | {
      method: "plugins.callEvent";
      params: Omit<ParamsIn<PluginToHostRequests, "plugins.callEvent">, "chain" | "timeoutMs">;
    };

function nothing(): void {}

/** No signal of the caller's own: nothing to combine, nothing to let go of. */
const NO_SIGNAL: { signal: AbortSignal | undefined; release: () => void } = { signal: undefined, release: nothing };

/**
 * A signal aborted when either one is, and how to let go of them. Not `AbortSignal.any`: on Node 20 a long-lived
 * source signal keeps every signal made from it, so a plugin-wide signal passed to many calls would grow the heap.
 */
function eitherSignal(a: AbortSignal | undefined, b: AbortSignal | undefined) {
  if (!a || !b) return { signal: a ?? b, release: nothing };
  const controller = new AbortController();
  const abort = () => controller.abort();
  if (a.aborted || b.aborted) abort();
  a.addEventListener("abort", abort, { once: true });
  b.addEventListener("abort", abort, { once: true });
  const release = () => {
    a.removeEventListener("abort", abort);
    b.removeEventListener("abort", abort);
  };
  return { signal: controller.signal, release };
}

/** `"a:b:c"` into `parts` non-empty pieces: the first ':' ends the plugin id, the last starts an event id. */
function splitRef(ref: unknown, parts: 2 | 3, shape: string): Result<string[], SdkError> {
  if (typeof ref !== "string") return badRef(ref, shape);
  const first = ref.indexOf(":");
  if (first <= 0) return badRef(ref, shape);
  const pluginId = ref.slice(0, first);
  if (!PLUGIN_ID_PATTERN.test(pluginId)) return Err(badId(pluginId));
  const rest = ref.slice(first + 1);
  if (parts === 2) return rest ? Ok([pluginId, rest]) : badRef(ref, shape);
  const last = rest.lastIndexOf(":");
  if (last <= 0 || last === rest.length - 1) return badRef(ref, shape);
  return Ok([pluginId, rest.slice(0, last), rest.slice(last + 1)]);
}

function badRef(ref: unknown, shape: string): Result<string[], SdkError> {
  return Err(new ValidationError(`'${String(ref)}' is not a reference of the form ${shape}`));
}

function badId(id: unknown): ValidationError {
  return new ValidationError(`'${String(id)}' is not a plugin id (1 to 128 letters, digits, '_' or '-')`);
}
