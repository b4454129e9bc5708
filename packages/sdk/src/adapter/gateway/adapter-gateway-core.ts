/**
 * `AdapterGatewayCore` (SPEC §3.7, docs/adapters.md): runs an external request through the pipeline
 * normalize → policy → route → invoke → serialize, as the adapter's mode says: `gateway` runs every stage, `router`
 * skips the policy checks, `bridge` sends the normalized request straight to the configured target entry, `hybrid`
 * picks one of those per request. Every stage is timed; every failure becomes a `GatewayError` in the response,
 * never a throw; every request ends with one audit record (the policy engine's `audit`) and its timings in the metrics.
 */
import { performance } from "node:perf_hooks";
import { Err, Ok, type Result } from "../../result.ts";
import type { PluginLogger } from "../../plugin-logger.ts";
import type { CallProgress } from "../../plugins-client.ts";
import type { AdapterMode, NekoAdapterPlugin } from "../neko-adapter-plugin.ts";
import { DefaultPluginInvoker, type SelfHandler } from "./default-plugin-invoker.ts";
import { AUDIT_EVENT_TYPE, DefaultPolicyEngine } from "./default-policy-engine.ts";
import { DefaultRequestNormalizer } from "./default-request-normalizer.ts";
import { DefaultResponseSerializer } from "./default-response-serializer.ts";
import { DefaultRouteEngine } from "./default-route-engine.ts";
import { type GatewayError, GatewayErrorCode, gatewayError, isGatewayErrorCode } from "./gateway-error.ts";
import type {
  ExternalRequest,
  GatewayAuditRecord,
  GatewayRequest,
  GatewayResponse,
  GatewayStage,
  GatewayTarget,
  RouteDecision,
  StageTimings,
} from "./gateway-models.ts";
import { readGatewaySettings } from "./gateway-settings.ts";
import { type GatewayMetricsSink, GatewayStageReporter } from "./gateway-stage-reporter.ts";
import type {
  PluginInvoker,
  PolicyEngine,
  RequestNormalizer,
  ResponseSerializer,
  RouteEngine,
  StageResult,
} from "./gateway-stages.ts";

/** A mode a request runs in: `hybrid` resolves to one of these per request. */
export type PipelineMode = Exclude<AdapterMode, "hybrid">;

export interface GatewayCoreOptions {
  normalizer: RequestNormalizer;
  policyEngine: PolicyEngine;
  routeEngine: RouteEngine;
  invoker: PluginInvoker;
  serializer: ResponseSerializer;
  logger: PluginLogger;
  /** Default `gateway`. */
  mode?: AdapterMode;
  /** `bridge` mode's target entry (`[adapter] target`). */
  bridgeTarget?: GatewayTarget;
  /** Bounds each call when `process` gets no `timeoutMs` (`[adapter] timeout`); default the entry's own timeout. */
  timeoutMs?: number;
  /** Hears each request's stage timings and outcome (the host's metrics; see `GatewayStageReporter`). */
  metrics?: GatewayMetricsSink;
}

export interface ProcessOptions {
  /** Cancels the request: reaches the invoker, so the target entry's `ctx.signal` is aborted. */
  signal?: AbortSignal;
  /** The target entry's `runUpdate`s, as they happen (a `plugin` route; docs/cross-plugin-calls.md#progress). */
  onProgress?: (update: CallProgress) => void;
  /** Bounds the call to the target. */
  timeoutMs?: number;
}

/** The stage whose refusal a code stands for, and the code a stage's refusal without a known code gets. */
const STAGE_CODES: Record<GatewayStage, GatewayError["code"]> = {
  normalize: GatewayErrorCode.InvalidRequest,
  policy: GatewayErrorCode.PolicyDenied,
  route: GatewayErrorCode.RouteFailed,
  invoke: GatewayErrorCode.InvokeFailed,
  serialize: GatewayErrorCode.InternalError,
};
const PIPELINE_MODES: readonly PipelineMode[] = ["gateway", "router", "bridge"];

/** Where a request stands while it goes through the stages. */
interface Trip {
  external: ExternalRequest;
  started: number;
  receivedAt: number;
  timings: Partial<Record<GatewayStage, number>>;
  mode: PipelineMode;
  request?: GatewayRequest;
  route?: RouteDecision;
}

export class AdapterGatewayCore {
  readonly mode: AdapterMode;

  constructor(private readonly options: GatewayCoreOptions) {
    this.mode = options.mode ?? "gateway";
  }

  /**
   * A core with every default stage, configured from the adapter's `[adapter]` table (docs/adapters.md#configuration):
   * route rules, policy, mode, bridge target, timeout; audit records on the adapter's bus; timings to the host's
   * metrics. `overrides` replaces any part. Throws a `ValidationError` naming the key when the table is wrong.
   */
  static forPlugin(plugin: NekoAdapterPlugin, overrides: Partial<GatewayCoreOptions> = {}): AdapterGatewayCore {
    const settings = readGatewaySettings(plugin.adapterSettings);
    const logger = overrides.logger ?? plugin.logger;
    const invoker =
      overrides.invoker ??
      new DefaultPluginInvoker({
        plugins: plugin.plugins,
        ...(settings.timeoutMs !== undefined && { timeoutMs: settings.timeoutMs }),
      });
    const handlers = invoker as Partial<Pick<DefaultPluginInvoker, "hasHandler">>;
    const publishAudit = (record: GatewayAuditRecord) => {
      const sent = plugin.bus.emit(AUDIT_EVENT_TYPE, record);
      if (!sent.ok) logger.warn("could not publish an audit record", { error: sent.error.message });
    };
    return new AdapterGatewayCore({
      normalizer: overrides.normalizer ?? new DefaultRequestNormalizer(),
      policyEngine:
        overrides.policyEngine ??
        new DefaultPolicyEngine({ ...settings.policy, ...(settings.audit && { publishAudit }) }),
      routeEngine:
        overrides.routeEngine ??
        new DefaultRouteEngine({
          rules: settings.routes,
          explicitTargets: settings.explicitTargets,
          hasSelfHandler: (action) => handlers.hasHandler?.(action) ?? false,
          plugins: plugin.plugins,
          selfId: plugin.pluginId,
        }),
      invoker,
      serializer: overrides.serializer ?? new DefaultResponseSerializer(),
      logger,
      mode: overrides.mode ?? settings.mode,
      ...((overrides.bridgeTarget ?? settings.target) && { bridgeTarget: overrides.bridgeTarget ?? settings.target }),
      ...((overrides.timeoutMs ?? settings.timeoutMs) !== undefined && {
        timeoutMs: overrides.timeoutMs ?? settings.timeoutMs,
      }),
      metrics:
        overrides.metrics ??
        new GatewayStageReporter((report) => {
          plugin.ctx.bridge.notify("adapter.stage_timings", report);
        }),
    });
  }

  /**
   * Registers the `self` handler of `action` with the invoker (the default one has them); returns what unregisters
   * it. Throws a `TypeError` when the invoker cannot take handlers.
   */
  handle(action: string, handler: SelfHandler): () => void {
    const invoker = this.options.invoker as Partial<Pick<DefaultPluginInvoker, "handle">>;
    if (typeof invoker.handle !== "function") throw new TypeError("this gateway's invoker takes no self handlers");
    return invoker.handle.call(this.options.invoker, action, handler);
  }

  /** Runs one request through the pipeline. Never throws: a failure is a response with `ok: false`. */
  async process(external: ExternalRequest, options: ProcessOptions = {}): Promise<GatewayResponse> {
    const trip: Trip = {
      external,
      started: performance.now(),
      receivedAt: Date.now(),
      timings: {},
      mode: this.mode === "hybrid" ? "gateway" : this.mode,
    };
    let outcome: Result<unknown, GatewayError>;
    try {
      outcome = await this.run(trip, options);
    } catch (error) {
      // Only a bug of the core itself gets here: each stage is already guarded.
      this.options.logger.exception("the gateway failed a request", error);
      outcome = Err(gatewayError(GatewayErrorCode.InternalError, "the gateway failed the request"));
    }
    const response = await this.serialize(trip, outcome);
    this.finish(trip, response);
    return response;
  }

  private async run(trip: Trip, options: ProcessOptions): Promise<Result<unknown, GatewayError>> {
    const { normalizer, policyEngine, routeEngine, invoker } = this.options;
    const request = await this.stage(trip, "normalize", () => normalizer.normalize(trip.external));
    if (!request.ok) return request;
    trip.request = request.value;
    const mode = this.modeOf(request.value);
    if (!mode.ok) return mode;
    trip.mode = mode.value;

    if (trip.mode === "bridge") {
      const { bridgeTarget } = this.options;
      if (!bridgeTarget) {
        return Err(
          gatewayError(GatewayErrorCode.RouteFailed, `bridge mode needs [adapter] target = "<plugin>:<entry>"`),
        );
      }
      trip.route = { mode: "plugin", ...bridgeTarget, reason: "bridge" };
    } else {
      if (trip.mode === "gateway") {
        const allowed = await this.stage(trip, "policy", () => policyEngine.authorize(request.value));
        if (!allowed.ok) return allowed;
      } else if (request.value.target && policyEngine.authorizeRoute) {
        // `router` skips the policy for where the configuration sends a request, not for a plugin the request names
        // itself: an explicit target is checked against the allow and deny lists in every mode.
        const asked: RouteDecision = { mode: "plugin", ...request.value.target, reason: "explicit target" };
        const allowed = await this.stage(trip, "policy", () => policyEngine.authorizeRoute?.(request.value, asked));
        if (!allowed.ok) return allowed;
      }
      const route = await this.stage(trip, "route", () => routeEngine.route(request.value));
      if (!route.ok) return route;
      trip.route = route.value;
      if (trip.mode === "gateway" && policyEngine.authorizeRoute) {
        const decision = route.value;
        const allowed = await this.stage(trip, "policy", () => policyEngine.authorizeRoute?.(request.value, decision));
        if (!allowed.ok) return allowed;
        trip.route = allowed.value ?? decision;
      }
    }
    const decision = trip.route;
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs;
    const invokeOptions = {
      ...(options.signal && { signal: options.signal }),
      ...(options.onProgress && { onProgress: options.onProgress }),
      ...(timeoutMs !== undefined && { timeoutMs }),
    };
    return this.stage(trip, "invoke", () => invoker.invoke(request.value, decision, invokeOptions));
  }

  /** The request's mode: the core's, or in `hybrid` its metadata's `mode`, else its route rule's, else `gateway`. */
  private modeOf(request: GatewayRequest): Result<PipelineMode, GatewayError> {
    if (this.mode !== "hybrid") return Ok(this.mode);
    const asked = request.metadata.mode;
    if (asked !== undefined) {
      if (PIPELINE_MODES.includes(asked as PipelineMode)) return Ok(asked as PipelineMode);
      return Err(
        gatewayError(GatewayErrorCode.InvalidRequest, `metadata.mode must be one of ${PIPELINE_MODES.join(", ")}`, {
          details: { field: "metadata.mode" },
        }),
      );
    }
    let ruled: AdapterMode | undefined;
    try {
      ruled = this.options.routeEngine.modeFor?.(request);
    } catch (error) {
      this.options.logger.exception("the route engine failed to pick a mode", error);
      return Err(stageThrew("route"));
    }
    return Ok(ruled === undefined || ruled === "hybrid" ? "gateway" : ruled);
  }

  /** Runs a stage, timing it (a stage that runs twice, like the policy, adds up) and turning a throw into an Err. */
  private async stage<T>(
    trip: Trip,
    stage: GatewayStage,
    run: () => StageResult<T> | undefined,
  ): Promise<Result<T, GatewayError>> {
    const started = performance.now();
    let result: Result<T, GatewayError> | undefined;
    try {
      result = await run();
    } catch (error) {
      this.options.logger.exception(`the gateway's ${stage} stage threw`, error, {
        requestId: trip.external?.requestId,
      });
      result = Err(stageThrew(stage));
    }
    trip.timings[stage] = (trip.timings[stage] ?? 0) + (performance.now() - started);
    if (result === undefined || typeof result !== "object" || result === null || typeof result.ok !== "boolean") {
      this.options.logger.error(`the gateway's ${stage} stage answered no Result`, {
        requestId: trip.external?.requestId,
      });
      return Err(stageThrew(stage));
    }
    return result.ok ? result : Err(asGatewayError(result.error, stage));
  }

  private async serialize(trip: Trip, outcome: Result<unknown, GatewayError>): Promise<GatewayResponse> {
    const base = {
      requestId: typeof trip.external?.requestId === "string" ? trip.external.requestId : "",
      mode: trip.mode,
      ...(trip.route && { route: trip.route }),
      timings: { total: 0 },
    };
    const draft: GatewayResponse = outcome.ok
      ? { ...base, ok: true, data: outcome.value }
      : { ...base, ok: false, error: outcome.error };
    const serialized = await this.stage(trip, "serialize", () =>
      this.options.serializer.serialize(draft, trip.request),
    );
    const response: GatewayResponse = serialized.ok
      ? serialized.value
      : { ...base, ok: false, error: serialized.error };
    response.timings = this.timingsOf(trip);
    return response;
  }

  /** The audit record and the metrics: once per request, whatever happened. */
  private finish(trip: Trip, response: GatewayResponse): void {
    const code = response.ok ? null : response.error.code;
    const { policyEngine, metrics, logger } = this.options;
    try {
      policyEngine.audit?.(auditRecord(trip, response));
    } catch (error) {
      logger.exception("the policy engine's audit threw", error);
    }
    try {
      metrics?.record(response.timings, code);
    } catch (error) {
      logger.exception("the gateway metrics threw", error);
    }
  }

  private timingsOf(trip: Trip): StageTimings {
    const timings: StageTimings = { total: round(performance.now() - trip.started) };
    for (const [stage, ms] of Object.entries(trip.timings)) timings[stage as GatewayStage] = round(ms);
    return timings;
  }

  /** Sends what the metrics hold to the host now (call it from the adapter's shutdown). */
  dispose(): void {
    const metrics = this.options.metrics as Partial<GatewayStageReporter> | undefined;
    metrics?.dispose?.();
  }
}

function auditRecord(trip: Trip, response: GatewayResponse): GatewayAuditRecord {
  const { external, route } = trip;
  const text = (value: unknown) => (typeof value === "string" ? value : "");
  const record: GatewayAuditRecord = {
    protocol: text(external?.protocol),
    connectionId: text(external?.connectionId),
    requestId: text(external?.requestId),
    action: text(external?.action),
    mode: trip.mode,
    decision: response.ok
      ? (route?.mode ?? "drop")
      : response.error.code === GatewayErrorCode.PolicyDenied
        ? "denied"
        : (route?.mode ?? "failed"),
    ok: response.ok,
    code: response.ok ? null : response.error.code,
    durationMs: response.timings.total,
    at: new Date(trip.receivedAt).toISOString(),
  };
  if (route?.pluginId !== undefined) record.pluginId = route.pluginId;
  if (route?.entryId !== undefined) record.entryId = route.entryId;
  if (route?.pluginIds !== undefined) record.pluginIds = route.pluginIds;
  return record;
}

/** A stage's refusal as a `GatewayError`: its own code when it is one of the stable ones, else the stage's code. */
function asGatewayError(error: unknown, stage: GatewayStage): GatewayError {
  const { code, message, retryable, details } = (typeof error === "object" && error !== null ? error : {}) as Partial<
    Record<keyof GatewayError, unknown>
  >;
  const result = gatewayError(
    isGatewayErrorCode(code) ? code : STAGE_CODES[stage],
    typeof message === "string" ? message : `the ${stage} stage refused the request`,
    { retryable: retryable === true },
  );
  if (typeof details === "object" && details !== null && !Array.isArray(details)) {
    result.details = details as Record<string, unknown>;
  }
  if (!isGatewayErrorCode(code) && typeof code === "string") result.details = { ...result.details, code };
  return result;
}

function stageThrew(stage: GatewayStage): GatewayError {
  return gatewayError(GatewayErrorCode.InternalError, `the gateway's ${stage} stage failed`, { details: { stage } });
}

/** Microseconds are plenty. */
function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
