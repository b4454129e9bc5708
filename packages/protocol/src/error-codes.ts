/** Stable error codes shared by the SDK, the host and the server (which maps them to HTTP statuses). */
export const ErrorCode = {
  SdkError: "SDK_ERROR",
  Transport: "TRANSPORT_ERROR",
  Validation: "VALIDATION_ERROR",
  NotFound: "NOT_FOUND",
  Timeout: "TIMEOUT",
  PluginCall: "PLUGIN_CALL_ERROR",
  CircularCall: "CIRCULAR_CALL",
  EntryFailed: "ENTRY_FAILED",
  EntryDisabled: "ENTRY_DISABLED",
  PluginCrashed: "PLUGIN_CRASHED",
  PluginNotRunning: "PLUGIN_NOT_RUNNING",
  PluginNotFound: "PLUGIN_NOT_FOUND",
  EntryNotFound: "ENTRY_NOT_FOUND",
  Canceled: "CANCELED",
  PluginLoadFailed: "PLUGIN_LOAD_FAILED",
  PluginRefused: "PLUGIN_REFUSED",
  HandshakeFailed: "HANDSHAKE_FAILED",
  HookFailed: "HOOK_FAILED",
  EventNotFound: "EVENT_NOT_FOUND",
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];
