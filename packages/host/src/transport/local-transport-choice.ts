/**
 * The host-wide default of the local transport (docs/wire-protocol.md#transports): `pipe` unless the host is told
 * otherwise (`PluginHostOptions.localTransport`, `neko-plugin serve --transport`, or `NEKO_PLUGIN_TRANSPORT`).
 */

/** The local transports a plugin process may use: `[plugin_runtime] transport` and `serve --transport`. */
export const TRANSPORT_KINDS = ["zmq", "pipe"] as const;
export type TransportKind = (typeof TRANSPORT_KINDS)[number];

/** What local Node plugins use when neither their manifest nor the host says. */
export const DEFAULT_LOCAL_TRANSPORT: TransportKind = "pipe";

/** The environment variable that sets the host-wide default (`zmq` or `pipe`). */
export const LOCAL_TRANSPORT_ENV = "NEKO_PLUGIN_TRANSPORT";

/** `$NEKO_PLUGIN_TRANSPORT` when it names a transport, else DEFAULT_LOCAL_TRANSPORT. */
export function localTransportFromEnv(env: NodeJS.ProcessEnv = process.env): TransportKind {
  const value = env[LOCAL_TRANSPORT_ENV]?.trim().toLowerCase();
  return isTransportKind(value) ? value : DEFAULT_LOCAL_TRANSPORT;
}

export function isTransportKind(value: unknown): value is TransportKind {
  return (TRANSPORT_KINDS as readonly unknown[]).includes(value);
}
