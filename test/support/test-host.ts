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

export async function startTestHost(options: Partial<PluginHostOptions> & { roots: string[] }): Promise<TestHost> {
  const host = await PluginHost.create({ logger: createSilentLogger(), ...options });
  const server = await createPluginServer({ host });
  await server.listen({ port: 0, host: "127.0.0.1" });
  await host.startAll();
  const url = server.listeningOrigin;
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
    async close() {
      await server.close();
      await host.stop();
    },
  };
}
