/**
 * The WebSockets of one server (`/ws/admin`, `/ws/logs/{id}`; docs/http-api.md#websockets): registers
 * `@fastify/websocket`, so an upgrade runs the same hooks as any request (Host, Origin and token checks, before the
 * handshake); caps the clients; bounds what each may leave unread (a client past it is closed with 1013); refuses big
 * frames (1009) and answers any message with an error; and closes every socket when the server closes, so `close()`
 * never waits on one. A browser cannot set `Authorization` on a WebSocket: it offers the token as a subprotocol.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import websocket, { type WebSocket } from "@fastify/websocket";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { type Disposable, ErrorCode } from "@neko/protocol";
import { HttpError } from "./http-errors.ts";
import type { RouteDoc } from "./openapi/route-doc.ts";

export interface WebSocketLimits {
  /** Open WebSockets at most, all routes together; one more is refused `503 TOO_MANY_CLIENTS` before the upgrade. */
  maxClients: number;
  /** Bytes a client may leave unread; past it the socket is closed with 1013 and nothing more is queued for it. */
  maxBufferedBytes: number;
  /** The largest frame a client may send; a bigger one closes the socket with 1009. */
  maxPayloadBytes: number;
}

export const DEFAULT_WEBSOCKET_LIMITS: Readonly<WebSocketLimits> = {
  maxClients: 64,
  maxBufferedBytes: 1024 * 1024,
  maxPayloadBytes: 64 * 1024,
};

/** The subprotocol a client offers, followed by its token, to authenticate: `Sec-WebSocket-Protocol: neko.bearer, <token>`. */
export const BEARER_PROTOCOL = "neko.bearer";

/** Close codes: RFC 6455's, and 4xxx (the application's own) for the HTTP statuses a socket may end with. */
export const WS_CLOSE = {
  serverClosing: 1001,
  tooBig: 1009,
  tooSlow: 1013,
  notFound: 4404,
} as const;

/** How long a closed socket may wait for its peer's close frame before it is cut. */
const CLOSE_GRACE_MS = 1000;

/** One connected client: JSON messages out, bounded; what it holds is disposed when it closes. */
export interface WebSocketClient {
  /** Sends `message` as a JSON text frame; false (and nothing queued) once the client is closed or too far behind. */
  send(message: object): boolean;
  /** Disposed when the socket closes, whoever closes it. */
  own(resource: Disposable): void;
  close(code: number, reason: string): void;
  readonly closed: boolean;
}

export interface WebSocketRoute<Params> {
  url: string;
  doc: RouteDoc;
  schema?: { params?: object };
  /** Runs before the upgrade: throw an `HttpError` to refuse it with that status. */
  check?: (req: FastifyRequest<{ Params: Params }>) => void;
  open: (client: WebSocketClient, req: FastifyRequest<{ Params: Params }>) => void;
}

export class WebSocketHub {
  private closing = false;
  private readonly clients = new Set<WebSocketClient & { terminate(): void; done: Promise<void> }>();

  private constructor(
    private readonly app: FastifyInstance,
    private readonly limits: WebSocketLimits,
  ) {}

  static async register(app: FastifyInstance, limits: WebSocketLimits): Promise<WebSocketHub> {
    const hub = new WebSocketHub(app, limits);
    // An upgrade refused by a hook before @fastify/websocket's own (Host, Origin, token) is answered over a socket
    // that Node no longer reads HTTP from: it is closed once the answer is sent, or it would stay open for good.
    const upgrades = new WeakSet<IncomingMessage>();
    app.server.on("upgrade", (req: IncomingMessage, socket: Duplex) => {
      // While the server closes, no listener is left to answer an upgrade: it is cut.
      if (hub.closing) socket.destroy();
      else upgrades.add(req);
    });
    app.addHook("onResponse", async (req) => {
      if (upgrades.has(req.raw)) req.raw.socket.destroy();
    });
    await app.register(websocket, {
      options: {
        maxPayload: limits.maxPayloadBytes,
        // Answer only our own subprotocol, never the token offered after it.
        handleProtocols: (offered) => (offered.has(BEARER_PROTOCOL) ? BEARER_PROTOCOL : false),
      },
      preClose: async () => {
        hub.closing = true;
        await hub.closeAll();
        app.websocketServer.close();
      },
      errorHandler: (_error, socket) => socket.terminate(),
    });
    return hub;
  }

  get size(): number {
    return this.clients.size;
  }

  /** A GET route that upgrades; a plain GET of it is `400 BAD_REQUEST`. */
  route<Params>(route: WebSocketRoute<Params>): void {
    this.app.route<{ Params: Params }>({
      method: "GET",
      url: route.url,
      schema: route.schema,
      config: { doc: route.doc },
      preHandler: async (req) => {
        if (!req.ws) return;
        route.check?.(req);
        if (this.clients.size >= this.limits.maxClients) {
          throw new HttpError(
            ErrorCode.TooManyClients,
            `this server already has ${this.limits.maxClients} WebSocket clients, its limit: close one and retry`,
            { limit: this.limits.maxClients },
          );
        }
      },
      handler: async (req) => {
        throw new HttpError(
          ErrorCode.BadRequest,
          `${req.url.split("?")[0]} is a WebSocket: connect with an upgrade (docs/http-api.md#websockets)`,
        );
      },
      wsHandler: (socket, req) => route.open(this.adopt(socket), req),
    });
  }

  private adopt(socket: WebSocket): WebSocketClient {
    const owned: Disposable[] = [];
    const { maxBufferedBytes } = this.limits;
    let closed = false;
    let graceTimer: NodeJS.Timeout | undefined;
    let settle: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      settle = resolve;
    });
    const release = () => {
      closed = true;
      this.clients.delete(client);
      for (const resource of owned.splice(0)) resource.dispose();
    };
    const client = {
      get closed() {
        return closed;
      },
      done,
      own: (resource: Disposable) => {
        if (closed) resource.dispose();
        else owned.push(resource);
      },
      send: (message: object) => {
        if (closed) return false;
        if (socket.bufferedAmount > maxBufferedBytes) {
          client.close(WS_CLOSE.tooSlow, `the client reads too slowly: over ${maxBufferedBytes} bytes unread`);
          return false;
        }
        socket.send(JSON.stringify(message));
        return true;
      },
      close: (code: number, reason: string) => {
        if (closed) return;
        release();
        socket.close(code, reason);
        // A peer that never answers the close frame (it does not read) is cut after a grace.
        graceTimer = setTimeout(() => socket.terminate(), CLOSE_GRACE_MS);
        graceTimer.unref();
      },
      terminate: () => socket.terminate(),
    };
    socket.on("close", () => {
      clearTimeout(graceTimer);
      release();
      settle();
    });
    // The server only sends: a message from the client is answered with an error (pings are answered by ws itself).
    socket.on("message", () => {
      client.send({
        type: "error",
        error: { code: ErrorCode.BadRequest, message: "this WebSocket only sends; messages to it are not read" },
      });
    });
    this.clients.add(client);
    return client;
  }

  /** Closes every socket with 1001 and waits for them, at most the close grace. */
  private async closeAll(): Promise<void> {
    const clients = [...this.clients];
    const dones = clients.map((c) => c.done);
    for (const client of clients) client.close(WS_CLOSE.serverClosing, "the server is shutting down");
    await Promise.all(dones);
  }
}

/** True when a WebSocket upgrade offers `neko.bearer, <token>` with the server's token (compared in constant time). */
export function webSocketTokenGrants(req: FastifyRequest, apiToken: string): boolean {
  if (req.headers.upgrade === undefined) return false;
  const offered = (req.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim());
  const at = offered.indexOf(BEARER_PROTOCOL);
  if (at < 0 || at + 1 >= offered.length) return false;
  return sameSecret(offered[at + 1], apiToken);
}

/**
 * Whether `given` is `expected`, in a time that tells nothing of either, their lengths included: the SHA-256 digests
 * (always 32 bytes) are compared in constant time.
 */
export function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
