/**
 * What a remote worker and its host say to each other (docs/workers.md). One ZeroMQ connection per worker — the
 * worker's DEALER to the host's ROUTER, over `tcp://` with CURVE — carries multipart messages whose first frame is
 * the kind. The frames of the worker's plugin processes travel inside it as they are (`frame`), tagged with the peer
 * id the host gave that launch, so the host decodes them exactly as it decodes a local plugin's frames.
 *
 * worker → host: `hello {protocol, name, sdkVersion, plugins}`, `launched <peer> {pid}`, `line <peer> {stream, line}`,
 *                `exit <peer> {code, signal, launchFailure?}`, `frame <peer> <bytes>`, `pong`
 * host → worker: `welcome {pingIntervalMs, timeoutMs}`, `refused {reason}`, `launch <peer> {pluginId, secret,
 *                context, maxHeapMb}`, `kill <peer> <signal>`, `frame <peer> <bytes>`, `ping`
 */
import { pack, unpack } from "msgpackr";

export const WORKER_PROTOCOL_VERSION = 1;

/** One plugin folder on the worker, as the worker found it (its own discovery, its own SDK check). */
export interface RemotePluginInfo {
  id: string;
  /** The folder's name under its plugin root. */
  folder: string;
  /** plugin.toml as it is on the worker. */
  manifest: string;
  status: "ok" | "refused";
  problems: string[];
  warnings: string[];
}

export interface WorkerHello {
  protocol: number;
  name: string;
  sdkVersion: string;
  plugins: RemotePluginInfo[];
}

export interface WorkerWelcome {
  pingIntervalMs: number;
  timeoutMs: number;
}

export interface RemoteLaunch {
  pluginId: string;
  secret: string;
  context: Record<string, unknown>;
  maxHeapMb: number;
}

export interface RemoteExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  launchFailure?: string;
}

export const MAX_WORKER_NAME_LENGTH = 64;
/** A worker's name is shown in /plugins and used in peer ids: letters, digits, `.`, `_`, `-`. */
export const WORKER_NAME = /^[A-Za-z0-9._-]{1,64}$/;

export function packBody(value: unknown): Buffer {
  return pack(value);
}

/** The body of a message, or undefined when it is not msgpack or not an object. */
export function unpackBody<T extends object>(bytes: Buffer | undefined): T | undefined {
  if (!bytes) return undefined;
  try {
    const value = unpack(bytes) as unknown;
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as T) : undefined;
  } catch {
    return undefined;
  }
}

/** A hello's fields checked one by one: a worker is trusted with its key, not with the shape of what it sends. */
export function checkHello(body: Partial<WorkerHello> | undefined): WorkerHello | string {
  if (!body) return "the hello is not a msgpack map";
  if (body.protocol !== WORKER_PROTOCOL_VERSION) {
    return `worker protocol ${String(body.protocol)} is not ${WORKER_PROTOCOL_VERSION}`;
  }
  if (typeof body.name !== "string" || !WORKER_NAME.test(body.name)) {
    return "the worker's name must be 1 to 64 letters, digits, '.', '_' or '-'";
  }
  if (typeof body.sdkVersion !== "string") return "sdkVersion is not a string";
  if (!Array.isArray(body.plugins) || body.plugins.length > 1000) return "plugins is not a list (of at most 1000)";
  for (const p of body.plugins as unknown[]) {
    const plugin = p as Partial<RemotePluginInfo>;
    if (
      typeof plugin !== "object" ||
      plugin === null ||
      typeof plugin.id !== "string" ||
      typeof plugin.folder !== "string" ||
      typeof plugin.manifest !== "string" ||
      (plugin.status !== "ok" && plugin.status !== "refused") ||
      !isStrings(plugin.problems) ||
      !isStrings(plugin.warnings)
    ) {
      return "a plugin in the hello is not { id, folder, manifest, status, problems, warnings }";
    }
    if (!/^[A-Za-z0-9._-]{1,128}$/.test(plugin.folder) || plugin.folder === "." || plugin.folder === "..") {
      return `plugin folder name '${plugin.folder.slice(0, 130)}' is not a plain folder name`;
    }
  }
  return body as WorkerHello;
}

function isStrings(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === "string");
}
