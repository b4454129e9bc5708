export * from "./codec.ts";
export * from "./error-codes.ts";
export * from "./messages.ts";
export * from "./bus-record.ts";
