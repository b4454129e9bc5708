/**
 * The names the server answers to, against DNS rebinding (SPEC §5: "the `Host` header must name the bound address or
 * an allowed name"): a page of evil.example whose name was re-pointed at 127.0.0.1 reaches the server as
 * `Host: evil.example`, and is refused. docs/http-api.md#cross-site-requests has the rules.
 */
import { isIP } from "node:net";

/** A host as a request names it: `name` lower-case, an IPv6 address in brackets; `port` undefined when not given. */
export interface HostName {
  name: string;
  port: number | undefined;
}

const NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/;

/** Parses `host[:port]` or `[ipv6][:port]` (a Host header, an `--allowed-host`); `undefined` when malformed. */
export function parseHostName(text: string): HostName | undefined {
  const lower = text.trim().toLowerCase();
  let name: string;
  let port: string | undefined;
  if (lower.startsWith("[")) {
    const close = lower.indexOf("]");
    if (close < 0 || isIP(lower.slice(1, close)) !== 6) return undefined;
    name = lower.slice(0, close + 1);
    const rest = lower.slice(close + 1);
    if (rest !== "" && !rest.startsWith(":")) return undefined;
    port = rest === "" ? undefined : rest.slice(1);
  } else {
    const parts = lower.split(":");
    if (parts.length > 2) return undefined;
    [name, port] = parts;
    if (!NAME.test(name) || name.length > 253) return undefined;
  }
  if (port === undefined) return { name, port: undefined };
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) return undefined;
  return { name, port: Number(port) };
}

/** The names a user allows (`--allowed-host`, `NEKO_ALLOWED_HOSTS`); throws naming the first one that is no host. */
export function parseAllowedHosts(names: readonly string[]): HostName[] {
  return names.map((text) => {
    const host = parseHostName(text);
    if (!host) throw new Error(`'${text}' is not a host name, an IP address or either with a :port`);
    return host;
  });
}

/** The `name[:port]` text of a host, as a request would write it. */
export function hostText(host: HostName): string {
  return host.port === undefined ? host.name : `${host.name}:${host.port}`;
}

function isIpLiteral(name: string): boolean {
  return isIP(name.startsWith("[") ? name.slice(1, -1) : name) !== 0;
}

/** Whether `host` is one of the `allowed` names: one given without a port matches any port (a proxy's own). */
export function isAllowedName(allowed: readonly HostName[], host: { name: string; port: number }): boolean {
  return allowed.some((a) => a.name === host.name && (a.port === undefined || a.port === host.port));
}

export class AllowedHosts {
  private constructor(
    /** `name:port` pairs of this server's own addresses. */
    private readonly bound: ReadonlySet<string>,
    /** The names the user allowed. */
    private readonly allowed: readonly HostName[],
    /** With a wildcard bind, every IP address on this port is this server. */
    private readonly ipLiteralPort: number | undefined,
  ) {}

  /**
   * The hosts of a server bound to `address:port`: that address; on loopback also `localhost`, `127.0.0.1` and
   * `[::1]`; on a wildcard address (`0.0.0.0`, `::`) `localhost` and any IP address (a name can be rebound, an
   * address cannot) — always on the bound port — plus the names the user allows.
   */
  static forServer(options: { address: string; port: number; allowed: readonly HostName[] }): AllowedHosts {
    const { address, port } = options;
    const name = isIP(address) === 6 ? `[${address}]` : address.toLowerCase();
    const wildcard = address === "0.0.0.0" || address === "::";
    const loopback = name === "localhost" || name === "[::1]" || name.startsWith("127.");
    const names = [name, ...(loopback || wildcard ? ["localhost", "127.0.0.1", "[::1]"] : [])];
    return new AllowedHosts(new Set(names.map((n) => `${n}:${port}`)), options.allowed, wildcard ? port : undefined);
  }

  /** Whether a request whose `Host` header is `header` is for this server (no port given means port 80). */
  allows(header: string): boolean {
    const host = parseHostName(header);
    if (!host) return false;
    const port = host.port ?? 80;
    if (this.bound.has(`${host.name}:${port}`)) return true;
    if (isAllowedName(this.allowed, { name: host.name, port })) return true;
    return port === this.ipLiteralPort && isIpLiteral(host.name);
  }
}
