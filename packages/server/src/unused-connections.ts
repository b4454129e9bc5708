/**
 * Node's `server.close()` waits for connections that never carried a request: a client's spare keep-alive socket
 * (undici opens one right after a stream is aborted; browsers preconnect). On close they are destroyed, so
 * shutdown never waits on them; connections that carried a request are left to Node's own idle handling.
 */
import type { Socket } from "node:net";
import type { FastifyInstance } from "fastify";

export function dropUnusedConnectionsOnClose(app: FastifyInstance): void {
  const unused = new Set<Socket>();
  app.server.on("connection", (socket: Socket) => {
    unused.add(socket);
    socket.once("close", () => unused.delete(socket));
  });
  app.server.on("request", (req: { socket: Socket }) => unused.delete(req.socket));
  // An upgraded socket is a WebSocket's: the server closes it with a close frame (websocket-hub.ts).
  app.server.on("upgrade", (_req: unknown, socket: Socket) => unused.delete(socket));
  app.addHook("preClose", async () => {
    for (const socket of unused) socket.destroy();
    unused.clear();
  });
}
