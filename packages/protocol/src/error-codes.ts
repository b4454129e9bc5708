/**
 * Every error code the framework itself answers with, in one union shared by the SDK, the host and the server (which
 * keys its HTTP status table by it, so a code without a status does not compile). A plugin's own `Err` may carry any
 * other code: `WireError.code` stays a string on the wire.
 */
export const ErrorCode = {
  SdkError: "SDK_ERROR",
  Transport: "TRANSPORT_ERROR",
  Validation: "VALIDATION_ERROR",
  NotFound: "NOT_FOUND",
  Timeout: "TIMEOUT",
  PluginCall: "PLUGIN_CALL_ERROR",
  CircularCall: "CIRCULAR_CALL",
  /**
   * An entry answered with the failure of a call it made to another plugin, passed on as is: the host wraps it, and
   * `details.cause` says which plugin and entry failed and how (docs/cross-plugin-calls.md#errors-passed-on).
   */
  UpstreamError: "UPSTREAM_ERROR",
  EntryFailed: "ENTRY_FAILED",
  EntryDisabled: "ENTRY_DISABLED",
  PluginCrashed: "PLUGIN_CRASHED",
  PluginNotRunning: "PLUGIN_NOT_RUNNING",
  /** The plugin runs on a remote worker that is gone (docs/workers.md). */
  PluginUnreachable: "PLUGIN_UNREACHABLE",
  PluginNotFound: "PLUGIN_NOT_FOUND",
  EntryNotFound: "ENTRY_NOT_FOUND",
  Canceled: "CANCELED",
  PluginLoadFailed: "PLUGIN_LOAD_FAILED",
  PluginRefused: "PLUGIN_REFUSED",
  /** An extension runs inside its host plugin's process: it cannot be started on its own (SPEC §3.6). */
  ExtensionCannotStartIndependent: "EXTENSION_CANNOT_START_INDEPENDENT",
  /** An extension route called with the id of a plugin that is not an extension. */
  NotAnExtension: "NOT_AN_EXTENSION",
  HandshakeFailed: "HANDSHAKE_FAILED",
  PermissionDenied: "PERMISSION_DENIED",
  StoreDisabled: "STORE_DISABLED",
  StoreFailed: "STORE_ERROR",
  ConfigInvalid: "CONFIG_INVALID",
  ConfigProtectedField: "CONFIG_PROTECTED_FIELD",
  ConfigChangeRefused: "CONFIG_CHANGE_REFUSED",
  /** The active configuration profile cannot be deleted: another one (or none) must be switched to first. */
  ConfigProfileActive: "CONFIG_PROFILE_ACTIVE",
  FreezeRefused: "FREEZE_REFUSED",
  NotFrozen: "NOT_FROZEN",
  FreezeFailed: "FREEZE_FAILED",
  NotInRun: "NOT_IN_RUN",
  ConfigKeyMissing: "CONFIG_KEY_MISSING",
  HookFailed: "HOOK_FAILED",
  /** A lifecycle hook (`startup`) of the plugin failed: the start is undone; `details.hook` names it. */
  StartupFailed: "STARTUP_FAILED",
  EventNotFound: "EVENT_NOT_FOUND",
  PayloadTooLarge: "PAYLOAD_TOO_LARGE",
  /** A bug in the host or the server, or a file that could not be written. */
  Internal: "INTERNAL_ERROR",
  RunFinished: "RUN_FINISHED",
  RunExportLimit: "RUN_EXPORT_LIMIT",
  /** As many of one kind of work at once as the host takes (run uploads, upload reads): try again shortly. */
  Busy: "BUSY",
  // Answered by the HTTP server only.
  BadRequest: "BAD_REQUEST",
  /** `POST /runs` with an `idempotency_key` already used for that plugin's entry, but with other arguments. */
  IdempotencyConflict: "IDEMPOTENCY_CONFLICT",
  InvalidJson: "INVALID_JSON",
  Unauthorized: "UNAUTHORIZED",
  UnsupportedMediaType: "UNSUPPORTED_MEDIA_TYPE",
  RouteNotFound: "ROUTE_NOT_FOUND",
  UiPathRefused: "UI_PATH_REFUSED",
  UiNotRegistered: "UI_NOT_REGISTERED",
  UiFileNotFound: "UI_FILE_NOT_FOUND",
  PreconditionFailed: "PRECONDITION_FAILED",
  RangeNotSatisfiable: "RANGE_NOT_SATISFIABLE",
  /** The headers, or the whole request, did not arrive within the server's timeouts (a slow or stalled client). */
  RequestTimeout: "REQUEST_TIMEOUT",
  HeadersTooLarge: "HEADERS_TOO_LARGE",
  /** The server is closing: requests still arriving on open connections are turned away. */
  ShuttingDown: "SHUTTING_DOWN",
  /** The server has as many WebSocket clients as it accepts: the upgrade is refused. */
  TooManyClients: "TOO_MANY_CLIENTS",
  /** The manager page could not be built (docs/manager.md); the API is not affected. */
  PageUnavailable: "PAGE_UNAVAILABLE",
  /** The `Host` header names no address or name of this server (DNS rebinding). */
  HostNotAllowed: "HOST_NOT_ALLOWED",
  /** A state-changing request or a WebSocket upgrade from another site's page. */
  CrossOriginRefused: "CROSS_ORIGIN_REFUSED",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/** True for a code of the framework's own (as opposed to one a plugin made up). */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && KNOWN_CODES.has(code);
}
