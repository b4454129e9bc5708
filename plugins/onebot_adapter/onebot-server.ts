/**
 * The adapter's own OneBot v11 endpoint (docs/onebot.md#urls), on one port: HTTP POST, where the implementation posts
 * each event and takes the quick-operation answer (`{ "reply": … }`), and reverse WebSocket, where the implementation
 * connects as a client (`X-Self-ID`, `X-Client-Role`) and gets `send_msg` action frames back. This file owns the
 * sockets, the access checks and the OneBot shapes of answers; what to answer is `onMessage`'s business.
 */
import http from "node:http";
import type { Duplex } from "node:stream";
import { type RawData, type WebSocket, WebSocketServer } from "ws";
import type { OneBotAccess } from "./onebot-access.ts";
import { type OneBotMessageEvent, parseOneBotEvent } from "./onebot-event.ts";

/** Where the implementation posts events (NoneBot's paths, plus the bare root). */
export const HTTP_EVENT_PATH = "/onebot/v11/http";
const HTTP_PATHS = new Set(["", "/onebot/v11", HTTP_EVENT_PATH]);
/** Where it connects its reverse WebSocket; `/event` and `/api` for implementations that use two connections. */
export const WS_PATH = "/onebot/v11/ws";
const WS_PATHS = new Set(["", WS_PATH, `${WS_PATH}/event`, `${WS_PATH}/api`]);

/** Largest event body or frame taken. */
export const MAX_EVENT_BYTES = 1024 * 1024;
/** How long a closing WebSocket may take before it is cut. */
const CLOSE_GRACE_MS = 1000;

export type OneBotClientRole = "Universal" | "Event" | "API";

export interface OneBotConnectionInfo {
  selfId: number;
  role: OneBotClientRole;
  since: string;
}

export interface OneBotServerCounters {
  httpEvents: number;
  wsEvents: number;
  replies: number;
  /** Requests and upgrades refused for a missing or wrong access token or signature. */
  refused: number;
  /** Bodies and frames that were not OneBot events. */
  malformed: number;
}

interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface OneBotServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  access: OneBotAccess;
  logger: Logger;
  /** The reply to a message event, or undefined for none. Should not throw: a throw is logged and answers nothing. */
  onMessage: (event: OneBotMessageEvent) => Promise<string | undefined>;
  /** Told when a WebSocket connects or goes, and after each event (for the status report). */
  onActivity?: () => void;
}

interface Connection extends OneBotConnectionInfo {
  socket: WebSocket;
}

export class OneBotServer {
  readonly counters: OneBotServerCounters = { httpEvents: 0, wsEvents: 0, replies: 0, refused: 0, malformed: 0 };
  private readonly connections = new Map<string, Connection>();
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_EVENT_BYTES });
  private readonly server: http.Server;
  private echoes = 0;
  private origin = "";

  private constructor(private readonly options: OneBotServerOptions) {
    this.server = http.createServer((req, res) => void this.onRequest(req, res));
    this.server.on("upgrade", (req, socket, head) => this.onUpgrade(req, socket, head));
  }

  /** Listens on `host:port`; rejects (e.g. the port is taken) with nothing left open. */
  static async listen(options: OneBotServerOptions): Promise<OneBotServer> {
    const made = new OneBotServer(options);
    await new Promise<void>((resolve, reject) => {
      made.server.once("error", reject);
      made.server.listen(options.port, options.host, () => {
        made.server.off("error", reject);
        resolve();
      });
    }).catch((error) => {
      made.wss.close();
      throw error;
    });
    const address = made.server.address();
    if (address === null || typeof address === "string") throw new Error("the OneBot server has no TCP address");
    const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
    made.origin = `${host}:${address.port}`;
    return made;
  }

  get httpUrl(): string {
    return `http://${this.origin}${HTTP_EVENT_PATH}`;
  }

  get wsUrl(): string {
    return `ws://${this.origin}${WS_PATH}`;
  }

  /** The reverse WebSocket connections open now. */
  listConnections(): OneBotConnectionInfo[] {
    return [...this.connections.values()].map(({ selfId, role, since }) => ({ selfId, role, since }));
  }

  /** Closes every connection and the port. */
  async close(): Promise<void> {
    const sockets = [...this.connections.values()].map((c) => c.socket);
    this.connections.clear();
    await Promise.all(
      sockets.map(
        (socket) =>
          new Promise<void>((resolve) => {
            const cut = setTimeout(() => socket.terminate(), CLOSE_GRACE_MS);
            socket.once("close", () => {
              clearTimeout(cut);
              resolve();
            });
            socket.close(1001, "the adapter is stopping");
          }),
      ),
    );
    this.wss.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://onebot.invalid");
    if (!HTTP_PATHS.has(trimSlash(url.pathname))) {
      return answer(res, 404, problem("not_found", `no OneBot endpoint here; post events to ${HTTP_EVENT_PATH}`));
    }
    if (req.method !== "POST") {
      res.setHeader("allow", "POST");
      return answer(res, 405, problem("method_not_allowed", "post OneBot events here (POST)"));
    }
    const tokenRefusal = this.options.access.checkToken(req.headers, url);
    if (tokenRefusal) return this.refuse(res, tokenRefusal);
    const body = await readBody(req, MAX_EVENT_BYTES);
    if (body === "aborted") return;
    if (body === "too_large") {
      res.setHeader("connection", "close");
      return answer(res, 413, problem("payload_too_large", `an event may take at most ${MAX_EVENT_BYTES} bytes`));
    }
    const signatureRefusal = this.options.access.checkSignature(req.headers, body);
    if (signatureRefusal) return this.refuse(res, signatureRefusal);

    let value: unknown;
    try {
      value = JSON.parse(body.toString("utf8"));
    } catch (error) {
      this.counters.malformed += 1;
      return answer(res, 400, problem("invalid_json", `the body is not JSON: ${(error as Error).message}`));
    }
    const parsed = parseOneBotEvent(value);
    if (parsed.kind === "invalid") {
      this.counters.malformed += 1;
      return answer(res, 400, problem("invalid_event", `not a OneBot v11 event: ${parsed.problem}`));
    }
    this.counters.httpEvents += 1;
    if (parsed.kind === "ignored") return answer(res, 204);
    const reply = await this.replyTo(parsed.event);
    if (reply === undefined) return answer(res, 204);
    this.counters.replies += 1;
    // The v11 quick operation: the implementation sends `reply` to where the message came from.
    const quick: Record<string, unknown> = { reply, auto_escape: true };
    if (parsed.event.messageType === "group") quick.at_sender = false;
    return answer(res, 200, quick);
  }

  private onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => socket.destroy());
    const admitted = this.admit(req);
    if ("status" in admitted) {
      this.refuseUpgrade(socket, admitted.status, admitted.message);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, admitted.selfId, admitted.role));
  }

  /** Who is connecting, or why not: the path, the access token, `X-Self-ID` and `X-Client-Role`. */
  private admit(
    req: http.IncomingMessage,
  ): { selfId: number; role: OneBotClientRole } | { status: number; message: string } {
    const url = new URL(req.url ?? "/", "http://onebot.invalid");
    const path = trimSlash(url.pathname);
    if (!WS_PATHS.has(path)) return { status: 404, message: `connect the reverse WebSocket to ${WS_PATH}` };
    const refusal = this.options.access.checkToken(req.headers, url);
    if (refusal) {
      this.counters.refused += 1;
      this.options.logger.warn("refused a reverse WebSocket", { reason: refusal.message });
      return refusal;
    }
    const selfHeader = req.headers["x-self-id"];
    if (typeof selfHeader !== "string" || !/^\d{1,15}$/.test(selfHeader.trim())) {
      return { status: 400, message: "the X-Self-ID header (the bot's QQ id) is required" };
    }
    const role = roleOf(req.headers["x-client-role"], path);
    if (role === undefined) return { status: 400, message: "X-Client-Role must be Universal, Event or API" };
    return { selfId: Number(selfHeader.trim()), role };
  }

  private onConnection(socket: WebSocket, selfId: number, role: OneBotClientRole): void {
    const key = `${selfId}/${role}`;
    // A reconnect often comes before the old connection is seen to be gone: the newest one wins.
    this.connections.get(key)?.socket.close(1000, "replaced by a newer connection");
    const connection: Connection = { selfId, role, since: new Date().toISOString(), socket };
    this.connections.set(key, connection);
    this.options.logger.info("a OneBot implementation connected", { self_id: selfId, role });
    socket.on("message", (data) => void this.onFrame(connection, data));
    socket.on("error", (error) => this.options.logger.debug("reverse WebSocket error", { error: error.message }));
    socket.on("close", () => {
      if (this.connections.get(key) === connection) this.connections.delete(key);
      this.options.logger.info("a OneBot implementation disconnected", { self_id: selfId, role });
      this.options.onActivity?.();
    });
    this.options.onActivity?.();
  }

  private async onFrame(connection: Connection, data: RawData): Promise<void> {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const text = bytes.toString("utf8");
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return this.skip(connection, "a frame that is not JSON");
    }
    if (isActionResponse(value)) {
      if (value.retcode !== 0) {
        this.options.logger.warn("the OneBot implementation refused an action", {
          self_id: connection.selfId,
          echo: value.echo,
          retcode: value.retcode,
          message: value.message ?? value.wording ?? value.msg,
        });
      }
      return;
    }
    const parsed = parseOneBotEvent(value);
    if (parsed.kind === "invalid") return this.skip(connection, parsed.problem);
    this.counters.wsEvents += 1;
    if (parsed.kind === "ignored") return;
    const reply = await this.replyTo(parsed.event);
    if (reply !== undefined) this.sendReply(connection, parsed.event, reply);
  }

  private sendReply(from: Connection, event: OneBotMessageEvent, reply: string): void {
    // An Event-only connection cannot take actions: the reply goes on the bot's API (or Universal) connection.
    const to =
      from.role === "Event"
        ? (this.connections.get(`${event.selfId}/API`) ?? this.connections.get(`${event.selfId}/Universal`))
        : from;
    if (!to || to.socket.readyState !== to.socket.OPEN) {
      this.options.logger.warn("no open connection to send the reply on", { self_id: event.selfId });
      return;
    }
    const params: Record<string, unknown> =
      event.messageType === "group"
        ? { message_type: "group", group_id: event.groupId, message: reply, auto_escape: true }
        : { message_type: "private", user_id: event.userId, message: reply, auto_escape: true };
    this.echoes += 1;
    to.socket.send(JSON.stringify({ action: "send_msg", params, echo: `neko-${this.echoes}` }));
    this.counters.replies += 1;
  }

  private async replyTo(event: OneBotMessageEvent): Promise<string | undefined> {
    try {
      return await this.options.onMessage(event);
    } catch (error) {
      this.options.logger.warn("answering a message failed", { error: (error as Error).message });
      return undefined;
    } finally {
      this.options.onActivity?.();
    }
  }

  private skip(connection: Connection, why: string): void {
    this.counters.malformed += 1;
    this.options.logger.warn("skipped a reverse WebSocket frame that is not a OneBot v11 event", {
      self_id: connection.selfId,
      problem: why,
    });
  }

  private refuse(res: http.ServerResponse, refusal: { status: 401 | 403; message: string }): void {
    this.counters.refused += 1;
    this.options.logger.warn("refused an HTTP event", { reason: refusal.message });
    answer(res, refusal.status, problem(refusal.status === 401 ? "unauthorized" : "forbidden", refusal.message));
  }

  private refuseUpgrade(socket: Duplex, status: number, message: string): void {
    const body = JSON.stringify(
      problem(status === 401 ? "unauthorized" : status === 403 ? "forbidden" : "refused", message),
    );
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
}

function roleOf(header: string | string[] | undefined, path: string): OneBotClientRole | undefined {
  if (header === undefined) return path.endsWith("/event") ? "Event" : path.endsWith("/api") ? "API" : "Universal";
  const value = (Array.isArray(header) ? header[0] : header)?.trim().toLowerCase();
  return value === "universal" ? "Universal" : value === "event" ? "Event" : value === "api" ? "API" : undefined;
}

/** The implementation's answer to an action frame: `{ status, retcode, data, echo }`. */
function isActionResponse(
  value: unknown,
): value is { retcode: unknown; echo?: unknown; message?: unknown; wording?: unknown; msg?: unknown } {
  return typeof value === "object" && value !== null && !("post_type" in value) && "retcode" in value;
}

function readBody(req: http.IncomingMessage, max: number): Promise<Buffer | "too_large" | "aborted"> {
  return new Promise((resolve) => {
    const declared = Number(req.headers["content-length"]);
    if (declared > max) {
      req.resume();
      return resolve("too_large");
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.removeAllListeners("data");
        req.resume();
        resolve("too_large");
      } else {
        chunks.push(chunk);
      }
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", () => resolve("aborted"));
  });
}

function answer(res: http.ServerResponse, status: number, body?: unknown): void {
  if (res.headersSent) return;
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const json = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" }).end(json);
}

function problem(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

function trimSlash(path: string): string {
  return path.replace(/\/+$/, "");
}
