/** `@neko/plugin-sdk/adapter`: what an adapter author imports (SPEC §3.7, docs/adapters.md), besides the plugin SDK. */
import "./symbol-metadata.ts";

export { AdapterChannel, AdapterChannels } from "./adapter/adapter-channels.ts";
export {
  AdapterGatewayCore,
  type GatewayCoreOptions,
  type PipelineMode,
  type ProcessOptions,
} from "./adapter/gateway/adapter-gateway-core.ts";
export {
  DefaultPluginInvoker,
  type PluginInvokerOptions,
  type SelfHandler,
} from "./adapter/gateway/default-plugin-invoker.ts";
export {
  AUDIT_EVENT_TYPE,
  DEFAULT_MAX_PARAM_BYTES,
  DefaultPolicyEngine,
  type PolicyOptions,
} from "./adapter/gateway/default-policy-engine.ts";
export { DefaultRequestNormalizer } from "./adapter/gateway/default-request-normalizer.ts";
export { DefaultResponseSerializer } from "./adapter/gateway/default-response-serializer.ts";
export {
  actionMatcher,
  DefaultRouteEngine,
  type GatewayRouteRule,
  type RouteEngineOptions,
} from "./adapter/gateway/default-route-engine.ts";
export {
  type GatewayError,
  GatewayErrorCode,
  gatewayError,
  isGatewayErrorCode,
} from "./adapter/gateway/gateway-error.ts";
export {
  type BroadcastOutcome,
  type ExternalRequest,
  GATEWAY_STAGES,
  type GatewayAuditRecord,
  type GatewayRequest,
  type GatewayResponse,
  type GatewayStage,
  type GatewayTarget,
  type RouteDecision,
  type StageTimings,
} from "./adapter/gateway/gateway-models.ts";
export { type GatewaySettings, readGatewaySettings } from "./adapter/gateway/gateway-settings.ts";
export {
  type GatewayMetricsSink,
  type GatewayStageReport,
  GatewayStageReporter,
  type StageReporterOptions,
} from "./adapter/gateway/gateway-stage-reporter.ts";
export type {
  InvokeOptions,
  PluginInvoker,
  PolicyEngine,
  RequestNormalizer,
  ResponseSerializer,
  RouteEngine,
  StageResult,
} from "./adapter/gateway/gateway-stages.ts";
export { TokenBucketLimiter, type TokenBucketOptions } from "./adapter/gateway/token-bucket-limiter.ts";
export { type AdapterMode, type AdapterSettings, NekoAdapterPlugin } from "./adapter/neko-adapter-plugin.ts";
