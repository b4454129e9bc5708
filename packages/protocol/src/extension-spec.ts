/**
 * Extensions on the wire (SPEC §3.6, docs/extensions.md): what the host tells a plugin process about an extension to
 * load into it (`ExtensionSpec`, in the bootstrap context and in the `extension.inject` control), and what the process
 * reports of each one it holds (`ExtensionStatus`, in its hello and in `entries_changed`).
 */
import { PLUGIN_ID_PATTERN } from "./plugin-id.ts";

/** Where an extension stands, as `/plugins` lists it. The process itself reports only `injected` and `failed`. */
export const EXTENSION_STATES = ["injected", "pending", "disabled", "failed"] as const;
export type ExtensionState = (typeof EXTENSION_STATES)[number];

/** Everything a plugin process needs to load one extension. */
export interface ExtensionSpec {
  /** The extension's own id (its `[plugin].id`). */
  id: string;
  /** Its folder: its `configDir`; its store and `dataPath` are under `<dir>/data`. */
  dir: string;
  /** Absolute path of its entry module, and the exported class. */
  entryModule: string;
  className: string;
  /** Put verbatim in front of each of its entry ids (`[plugin.host] prefix`). */
  prefix: string;
  /** Its parsed plugin.toml (`this.metadata`). */
  manifest: Record<string, unknown>;
  /** Its effective configuration (manifest + active profile): `this.config`. */
  config: Record<string, unknown>;
}

export interface ExtensionStatus {
  id: string;
  state: ExtensionState;
  /** Why it is not injected (the load error, the id clash, …); null when it is. */
  reason: string | null;
}

/** The most extension statuses one process may report, and the longest reason the host keeps. */
export const MAX_EXTENSION_STATUSES = 1024;
export const MAX_EXTENSION_REASON_LENGTH = 4096;

/** What a plugin process's hello or `entries_changed` may say of an extension, checked by the host before use. */
export function extensionStatusProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "must be an object";
  const { id, state, reason } = value as Record<string, unknown>;
  if (typeof id !== "string" || !PLUGIN_ID_PATTERN.test(id)) return "has no 'id' that is a plugin id";
  if (state !== "injected" && state !== "failed") return `has state ${JSON.stringify(state)} (injected or failed)`;
  if (reason !== null && typeof reason !== "string") return "has a 'reason' that is neither a string nor null";
  if (typeof reason === "string" && reason.length > MAX_EXTENSION_REASON_LENGTH) {
    return `has a 'reason' longer than ${MAX_EXTENSION_REASON_LENGTH} characters`;
  }
  return undefined;
}
