/** A real host and a real HTTP server on a free port, for end-to-end tests; `close()` stops both. */
import type { FastifyInstance } from "fastify";
import { createSilentLogger, type LogRecord, PluginHost, type PluginHostOptions } from "@neko/host";
import { createPluginServer, type PluginServerOptions } from "@neko/server";

export interface TestHost {
  host: PluginHost;
  server: FastifyInstance;
  url: string;
  request(method: string, route: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** `POST /plugin/trigger` for `pluginId:entryId` with `args`: the HTTP status and the parsed answer. */
  trigger(pluginId: string, entryId: string, args?: object): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export interface TestHostHooks {
  /** Every line a plugin process writes, from the first start on. */
  onLog?: (pluginId: string, record: LogRecord) => void;
  /** Options of the server besides its host (a token, WebSocket limits, …). */
  server?: Omit<PluginServerOptions, "host">;
}

export async function startTestHost(
  options: Partial<PluginHostOptions> & { roots: string[] },
  hooks: TestHostHooks = {},
): Promise<TestHost> {
  const host = await PluginHost.create({ logger: createSilentLogger(), ...options });
  const { onLog } = hooks;
  if (onLog) host.events.onLog(({ pluginId, record }) => onLog(pluginId, record));
  const server = await createPluginServer({ ...hooks.server, host });
  try {
    await server.listen({ port: 0, host: "127.0.0.1" });
    await host.startAll();
  } catch (error) {
    // Nothing a failed start-up began may outlive it.
    await server.close().catch(() => undefined);
    await host.stop();
    throw error;
  }
  const url = server.listeningOrigin;
  let closed: Promise<void> | undefined;
  const request: TestHost["request"] = async (method, route, body) => {
    const res = await fetch(url + route, {
      method,
      // Every state-changing request says JSON, with a body or without (docs/http-api.md#cross-site-requests).
      headers: method === "GET" || method === "HEAD" ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  return {
    host,
    server,
    url,
    request,
    trigger: (pluginId, entryId, args = {}) =>
      request("POST", "/plugin/trigger", { plugin_id: pluginId, entry_id: entryId, args }),
    /** Safe to call twice (a test's own close, then its `finally`). */
    async close() {
      closed ??= (async () => {
        await server.close();
        await host.stop();
      })();
      await closed;
    },
  };
}
