/**
 * How long and how much the server waits for a client (SPEC §5: "header and body timeouts bound slow clients"), as
 * Fastify and Node options. A half-sent request is cut after its timeout whatever its token; connections past the cap
 * are closed as they arrive. docs/http-api.md#slow-clients-and-limits explains each default.
 */
import type { Server } from "node:http";
import type { FastifyHttpOptions } from "fastify";

export interface ClientLimits {
  /** The request line and every header must arrive within this (a slowloris trickle of headers). */
  headersTimeoutMs: number;
  /** The whole request, headers and body, must arrive within this (a body sent a byte at a time). */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** Open connections at most, idle and streaming ones included; more are closed as soon as they connect. */
  maxConnections: number;
  /** Request line plus headers at most, in bytes (more is 431). */
  maxHeaderBytes: number;
  /** How often Node looks for requests past the two timeouts: a timeout fires up to this much late. */
  timeoutCheckIntervalMs: number;
}

export const DEFAULT_CLIENT_LIMITS: Readonly<ClientLimits> = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 256,
  maxHeaderBytes: 16 * 1024,
  timeoutCheckIntervalMs: 1_000,
};

/** The defaults with `given` over them; throws for limits that cannot work together (a programmer error). */
export function clientLimits(given: Partial<ClientLimits> = {}): ClientLimits {
  const limits = { ...DEFAULT_CLIENT_LIMITS, ...given };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive whole number`);
  }
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new RangeError("headersTimeoutMs may not exceed requestTimeoutMs (the headers are part of the request)");
  }
  return limits;
}

/**
 * The Fastify options that apply `limits`. No socket idle timeout (`connectionTimeout`): an entry call or an SSE
 * stream may be quiet for longer than any sensible value, and the two request timeouts cover only the upload.
 */
export function clientLimitOptions(
  limits: ClientLimits,
): Pick<FastifyHttpOptions<Server>, "requestTimeout" | "keepAliveTimeout" | "http"> {
  return {
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      connectionsCheckingInterval: limits.timeoutCheckIntervalMs,
      maxHeaderSize: limits.maxHeaderBytes,
    },
  };
}
