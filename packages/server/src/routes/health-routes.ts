/** `GET /health` and `GET /server/info`. */
import type { FastifyInstance } from "fastify";
import type { PluginHostApi } from "@neko/host";

export function registerHealthRoutes(app: FastifyInstance, host: PluginHostApi, startedAt: number): void {
  app.get("/health", async () => ({ status: "ok", time: new Date().toISOString() }));

  app.get("/server/info", async () => {
    const info = host.info();
    return { ...info, server: { started_at: new Date(startedAt).toISOString() } };
  });
}
