export * from "./method-map.ts";
export * from "./method-registry.ts";
export * from "./plugin-services.ts";
export * from "./plugin-notifications.ts";
export * from "./host-controls.ts";
export * from "./plugin-info.ts";
export * from "./system-info.ts";
