/**
 * What a client gets when Node gives up on its request before Fastify sees it (the `clientError` event): headers
 * too large (431), a request that missed its timeout (408) or malformed HTTP (400), as the same JSON error body as
 * every other answer instead of Node's or Fastify's own, then the connection is closed.
 */
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import { ErrorCode } from "@neko/protocol";
import type { ClientLimits } from "./client-limits.ts";
import { errorBody, STATUS_BY_CODE } from "./http-errors.ts";

/** Time the answer gets to reach a client that reads slowly, before its connection is cut anyway. */
const CLOSE_GRACE_MS = 1_000;

type ClientError = Error & { code?: string };

export function answerClientError(limits: ClientLimits): (error: ClientError, socket: Socket) => void {
  return (error, socket) => {
    if (error.code === "ECONNRESET" || socket.destroyed) return;
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    // An answer already under way cannot be followed by another: only the connection can go.
    if (!socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const [code, message, details] = describe(error, limits);
    const status = STATUS_BY_CODE[code];
    const body = JSON.stringify(errorBody(code, message, details));
    const head = [
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}`,
      "Content-Type: application/json; charset=utf-8",
      `Content-Length: ${Buffer.byteLength(body)}`,
      "Connection: close",
    ];
    socket.end(`${head.join("\r\n")}\r\n\r\n${body}`, () => socket.destroy());
    setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
  };
}

function describe(error: ClientError, limits: ClientLimits): [ErrorCode, string, unknown] {
  switch (error.code) {
    case "HPE_HEADER_OVERFLOW":
      return [
        ErrorCode.HeadersTooLarge,
        `the request line and headers are larger than ${limits.maxHeaderBytes} bytes`,
        { limit: limits.maxHeaderBytes },
      ];
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return [
        ErrorCode.RequestTimeout,
        `the request did not arrive in time (its headers are due within ${limits.headersTimeoutMs} ms, ` +
          `all of it within ${limits.requestTimeoutMs} ms)`,
        { headers_timeout_ms: limits.headersTimeoutMs, request_timeout_ms: limits.requestTimeoutMs },
      ];
    default:
      return [ErrorCode.BadRequest, "the request is not valid HTTP/1.1", { reason: error.code ?? error.message }];
  }
}
