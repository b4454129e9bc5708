/**
 * What the host hands a plugin process when it launches it: the secret of its handshake, the credentials of its one
 * connection, and its context (manifest, effective configuration). They travel through an inherited socket, the
 * process's file descriptor `NEKO_BOOTSTRAP_FD`, as one JSON document the host writes and closes — never through the
 * environment or argv, which any process of the same user can read in `/proc/<pid>/environ` and `/proc/<pid>/cmdline`
 * for as long as the process lives. A socket cannot be opened through `/proc/<pid>/fd/` by anyone else, and once the
 * plugin has read it, it is empty.
 */

/** The environment variable that names the bootstrap descriptor (the number is no secret). */
export const BOOTSTRAP_FD_ENV = "NEKO_BOOTSTRAP_FD";
/** The descriptor the Node launcher uses: stdio `[stdin, stdout, stderr, ipc, bootstrap]`. */
export const BOOTSTRAP_FD = 4;
/**
 * The descriptor of the pipe transport's private socket pair (stdio `[…, bootstrap, pipe]`); a connection whose
 * endpoint is `pipe:<fd>` is that descriptor, not a ZeroMQ address.
 */
export const PIPE_FD = 5;
export const PIPE_ENDPOINT_PREFIX = "pipe:";

/** The descriptor of a `pipe:<fd>` endpoint; undefined for any other (a ZeroMQ one). */
export function pipeEndpointFd(endpoint: string): number | undefined {
  const match = /^pipe:(\d{1,4})$/.exec(endpoint);
  return match ? Number(match[1]) : undefined;
}

/** The most a bootstrap document may take (a manifest and a configuration with no other size limit). */
export const MAX_BOOTSTRAP_BYTES = 64 * 1024 * 1024;

/** How a plugin process connects to the host: the socket to connect and what it must present there. */
export interface PluginConnection {
  /** A ZeroMQ endpoint: `ipc://<run folder>/host.sock`, or `tcp://…`; or `pipe:<fd>` for the pipe transport. */
  endpoint: string;
  /**
   * The routing id the DEALER must set (ZeroMQ `ZMQ_ROUTING_ID`): 32 hex characters the host drew for this launch.
   * The host routes by it and accepts a frame only from the id it expects, so no peer is ever named by ZeroMQ's
   * own counter (whose ids a peer could claim in advance to crash libzmq).
   */
  routingId: string;
  /**
   * CURVE keys (Z85, 40 characters each): the host's public key and this launch's own key pair. The host admits one
   * connection per key pair, and over `ipc://` only from this very process (the kernel tells it the peer's pid).
   * Null on a transport without sockets (tests in one process).
   */
  curve: { serverKey: string; publicKey: string; secretKey: string } | null;
}

export interface PluginBootstrap {
  /** `PROTOCOL_VERSION` of the host that wrote it. */
  protocol: number;
  pluginId: string;
  /** The one-time secret the process presents in its `hello` (or `load_failed`). */
  secret: string;
  connection: PluginConnection;
  /** The manifest (`manifest`), the effective configuration (`config`), and what later versions add. */
  context: Record<string, unknown>;
}

/** The bootstrap document read from the descriptor, checked field by field; a string names what is wrong. */
export function parseBootstrap(text: string): PluginBootstrap | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `the bootstrap is not JSON (${(error as Error).message})`;
  }
  if (!isRecord(value)) return "the bootstrap is not a JSON object";
  const { protocol, pluginId, secret, connection, context } = value;
  if (typeof protocol !== "number") return "the bootstrap has no numeric 'protocol'";
  if (typeof pluginId !== "string" || !pluginId) return "the bootstrap has no 'pluginId'";
  if (typeof secret !== "string" || !secret) return "the bootstrap has no 'secret'";
  if (!isRecord(context)) return "the bootstrap's 'context' is not an object";
  if (!isRecord(connection)) return "the bootstrap has no 'connection'";
  const { endpoint, routingId, curve } = connection;
  if (typeof endpoint !== "string" || !endpoint) return "the bootstrap's connection has no 'endpoint'";
  if (typeof routingId !== "string" || !/^[0-9a-f]{32}$/.test(routingId)) {
    return "the bootstrap's connection has no 'routingId' of 32 hex characters";
  }
  if (curve !== null) {
    if (!isRecord(curve)) return "the bootstrap's 'curve' is neither null nor an object";
    for (const key of ["serverKey", "publicKey", "secretKey"] as const) {
      if (typeof curve[key] !== "string" || (curve[key] as string).length !== 40) {
        return `the bootstrap's curve.${key} is not a Z85 key of 40 characters`;
      }
    }
  }
  return value as unknown as PluginBootstrap;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
