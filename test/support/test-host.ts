/** A real host and a real HTTP server on a free port, for end-to-end tests; `close()` stops both. */
import type { FastifyInstance } from "fastify";
import { createSilentLogger, PluginHost, type PluginHostOptions } from "@neko/host";
import { createPluginServer } from "@neko/server";

export interface TestHost {
  host: PluginHost;
  server: FastifyInstance;
  url: string;
  request(method: string, route: string, body?: unknown): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export async function startTestHost(
  options: Partial<PluginHostOptions> & { roots: string[] },
  hooks: Parameters<typeof PluginHost.create>[1] = {},
): Promise<TestHost> {
  const host = await PluginHost.create({ logger: createSilentLogger(), ...options }, hooks);
  const server = await createPluginServer({ host });
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
  return {
    host,
    server,
    url,
    async request(method, route, body) {
      const res = await fetch(url + route, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
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
