export * from "./codec.ts";
export * from "./error-codes.ts";
export * from "./json-value.ts";
export * from "./messages.ts";
export * from "./atomic-write.ts";
export * from "./frozen-state-file.ts";
export * from "./status-report.ts";
export * from "./memory-record.ts";
