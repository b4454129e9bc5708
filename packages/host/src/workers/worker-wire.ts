/**
 * What a remote worker and its host say to each other (docs/workers.md). One ZeroMQ connection per worker — the
 * worker's DEALER to the host's ROUTER, over `tcp://` with CURVE — carries multipart messages whose first frame is
 * the kind. The frames of the worker's plugin processes travel inside it as they are (`frame`), tagged with the peer
 * id the host gave that launch, so the host decodes them exactly as it decodes a local plugin's frames.
 *
 * worker → host: `hello {protocol, name, publicKey, epoch, proof, sdkVersion, plugins}`, `launched <peer> {pid}`, `line <peer> {stream, line}`,
 *                `exit <peer> {code, signal, launchFailure?, refusal?}`, `frame <peer> <bytes>`, `pong`
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
  /** The worker's public key (Z85), which `proof` shows it holds the secret of (worker-proof.ts). */
  publicKey: string;
  /** New each time the worker starts saying hello: a hello with a new epoch means it runs nothing for the host. */
  epoch: string;
  proof: Uint8Array;
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
  /** The worker's machine cannot run the plugin (ChildExit.refusal: no usable Python there), with the reason. */
  refusal?: string;
}

/** A worker's name is shown in /plugins and names a folder on the host: a letter or digit, then `.`, `_`, `-` too. */
export const WORKER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Plugin ids and folder names in a hello: the same shape, up to 128 characters. */
const PLAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export function isPlainName(name: string): boolean {
  return PLAIN_NAME.test(name);
}
export const MAX_HELLO_PLUGINS = 1000;
/** One manifest, and all of a hello's manifests together. */
export const MAX_MANIFEST_BYTES = 64 * 1024;
export const MAX_HELLO_MANIFEST_BYTES = 4 * 1024 * 1024;

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
    return "the worker's name must be 1 to 64 letters, digits, '.', '_' or '-', beginning with a letter or digit";
  }
  if (typeof body.publicKey !== "string" || body.publicKey.length !== 40) return "publicKey is not a Z85 key";
  if (typeof body.epoch !== "string" || body.epoch.length < 8 || body.epoch.length > 64) return "epoch is not a string";
  if (!(body.proof instanceof Uint8Array) || body.proof.length !== 32) return "proof is not 32 bytes";
  if (typeof body.sdkVersion !== "string") return "sdkVersion is not a string";
  if (!Array.isArray(body.plugins) || body.plugins.length > MAX_HELLO_PLUGINS) {
    return `plugins is not a list (of at most ${MAX_HELLO_PLUGINS})`;
  }
  let manifestBytes = 0;
  const ids = new Set<string>();
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
    if (!PLAIN_NAME.test(plugin.folder)) {
      return `plugin folder name '${plugin.folder.slice(0, 130)}' is not a plain folder name`;
    }
    if (!PLAIN_NAME.test(plugin.id)) return `plugin id '${plugin.id.slice(0, 130)}' is not a plain name`;
    if (ids.has(plugin.id)) return `plugin id '${plugin.id}' is offered twice`;
    ids.add(plugin.id);
    const bytes = Buffer.byteLength(plugin.manifest);
    if (bytes > MAX_MANIFEST_BYTES) return `the manifest of '${plugin.id}' is over ${MAX_MANIFEST_BYTES} bytes`;
    manifestBytes += bytes;
    if (manifestBytes > MAX_HELLO_MANIFEST_BYTES) return `the manifests are over ${MAX_HELLO_MANIFEST_BYTES} bytes`;
  }
  return body as WorkerHello;
}

function isStrings(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === "string");
}
