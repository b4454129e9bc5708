/**
 * `/mcp` (SPEC §3.7, docs/mcp.md): the MCP Streamable HTTP endpoint. The official SDK's transport speaks HTTP here,
 * one per session, and each session is relayed to the MCP adapter's process, where the MCP server runs. The server's
 * token rule applies as to every route; `Origin` is checked on every method, as the MCP spec asks against DNS rebinding.
 */
import { randomUUID } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { HostLogger, PluginHostApi } from "@neko/host";
import type { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/server";
import { type McpRelay, relayMcp } from "../mcp/mcp-relay.ts";
import type { RouteDoc } from "../openapi/route-doc.ts";

/** Sessions kept at most; a new one beyond it ends the one unused the longest. */
export const MAX_MCP_SESSIONS = 256;
/** A session with no request for this long ends (its client may come back with a new one). */
export const MCP_SESSION_IDLE_MS = 30 * 60_000;
const MCP_SESSION_SWEEP_MS = 60_000;

interface Session {
  transport: WebStandardStreamableHTTPServerTransport;
  relay: McpRelay;
  lastUsed: number;
}

const doc: RouteDoc = {
  tag: "mcp",
  summary: "MCP Streamable HTTP endpoint (POST messages, GET the server's stream, DELETE the session)",
  description:
    "Every exposed entry of every running plugin is an MCP tool `<plugin>__<entry>` (docs/mcp.md). Answers follow " +
    "the MCP specification (JSON-RPC, `mcp-session-id`); 503 when the `mcp_adapter` plugin is not running.",
  responses: { 200: { description: "an MCP answer: JSON or an event stream", schema: {} } },
};

/** A JSON-RPC error answered before a session exists (no id to answer to). */
function rpcError(reply: FastifyReply, status: number, code: number, message: string) {
  return reply.code(status).send({ jsonrpc: "2.0", error: { code, message }, id: null });
}

function isInitialize(body: unknown): boolean {
  const messages = Array.isArray(body) ? body : [body];
  return messages.some((m) => (m as { method?: unknown } | null)?.method === "initialize");
}

export function registerMcpRoutes(app: FastifyInstance, host: PluginHostApi, logger?: HostLogger): void {
  /** The open sessions, the one used least recently first. */
  const sessions = new Map<string, Session>();
  let sweeper: NodeJS.Timeout | undefined;
  const end = (id: string) => {
    const session = sessions.get(id);
    sessions.delete(id);
    void session?.relay.close().catch(() => undefined);
  };
  /** Sessions a client left without a DELETE (the SDK's client does not send one) end after a while. */
  const sweep = () => {
    const idleSince = Date.now() - MCP_SESSION_IDLE_MS;
    for (const [id, session] of sessions) if (session.lastUsed < idleSince) end(id);
  };

  app.route({
    method: ["GET", "POST", "DELETE"],
    url: "/mcp",
    config: { doc, checkOriginAlways: true, bodilessDeleteHeader: "mcp-session-id" },
    handler: async (req, reply) => {
      // Made before anything is opened: a request it cannot be made of leaves nothing behind.
      const request = webRequest(req);
      const sessionId = req.headers["mcp-session-id"];
      let session = typeof sessionId === "string" ? sessions.get(sessionId) : undefined;
      if (sessionId !== undefined && !session) return rpcError(reply, 404, -32001, "Session not found");
      if (session && typeof sessionId === "string") {
        // Most recently used last: the first one is the one a full table lets go.
        sessions.delete(sessionId);
        sessions.set(sessionId, session);
        session.lastUsed = Date.now();
      }
      let fresh = false;
      if (!session) {
        if (req.method !== "POST" || !isInitialize(req.body)) {
          return rpcError(reply, 400, -32000, "Bad Request: no mcp-session-id; a session starts with initialize");
        }
        // The MCP SDK (and zod under it) loads on the first session, not with the server: ~0.8 s of CPU at every
        // start-up for a route most servers never see (issue 15).
        const { WebStandardStreamableHTTPServerTransport } = await import("@modelcontextprotocol/server");
        const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => {
            // Only a session that really began takes a place (and may push the oldest out).
            if (sessions.size >= MAX_MCP_SESSIONS) end(sessions.keys().next().value as string);
            if (made) sessions.set(id, made);
            sweeper ??= setInterval(sweep, MCP_SESSION_SWEEP_MS).unref();
          },
          onsessionclosed: (id) => {
            sessions.delete(id);
          },
        });
        const opened = relayMcp(host.channels, transport, {
          onError: (error) => logger?.warn({ err: error }, "an MCP session failed"),
        });
        if (!opened.ok || !opened.relay) {
          const why = opened.ok ? "the MCP adapter cannot be reached" : opened.error.message;
          return rpcError(reply, 503, -32000, `MCP is unavailable: ${why}`);
        }
        const made: Session = { transport, relay: opened.relay, lastUsed: Date.now() };
        const onclose = transport.onclose;
        transport.onclose = () => {
          if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
          onclose?.();
        };
        session = made;
        fresh = true;
      }
      let response: Response;
      try {
        response = await session.transport.handleRequest(request, {
          parsedBody: req.method === "POST" ? req.body : undefined,
        });
      } finally {
        // An initialize that failed (or threw) made no session: nothing of it is kept.
        if (fresh && session.transport.sessionId === undefined) void session.relay.close().catch(() => undefined);
      }
      return sendWebResponse(req, reply, response);
    },
  });

  // Open event streams would keep the server from closing: every session ends first, its calls answered.
  app.addHook("preClose", async () => {
    clearInterval(sweeper);
    const open = [...sessions.values()];
    sessions.clear();
    await Promise.all(open.map((s) => s.relay.close().catch(() => undefined)));
  });
}

/** The request as the SDK's web-standard transport reads it (the body, already parsed, goes beside it). */
function webRequest(req: FastifyRequest): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  // The path only, on a fixed origin: the Host was checked already, and an absolute-form target must not reach here.
  const target = req.url.startsWith("/") ? req.url : "/mcp";
  return new Request(new URL(target, "http://localhost"), { method: req.method, headers });
}

/** Writes a web `Response` (JSON, or an event stream that lasts) to the Node response, until either side ends. */
async function sendWebResponse(req: FastifyRequest, reply: FastifyReply, response: Response): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  res.writeHead(response.status, headers);
  if (!response.body) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  const stop = () => void reader.cancel().catch(() => undefined);
  req.raw.socket.once("close", stop);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      res.write(value);
    }
  } catch {
    // The client went away, or the session closed: the stream simply ends.
  } finally {
    req.raw.socket.off("close", stop);
    res.end();
  }
}
