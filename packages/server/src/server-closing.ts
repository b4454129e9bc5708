/**
 * While the server closes, a request that still arrives on an open connection is answered 503 `SHUTTING_DOWN` in the
 * JSON error body, and its connection is closed. (Fastify's own `return503OnClosing` answers with another body.)
 */
import type { FastifyInstance } from "fastify";
import { ErrorCode } from "@neko/protocol";
import { HttpError } from "./http-errors.ts";

export function refuseRequestsWhileClosing(app: FastifyInstance): void {
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onRequest", async (_req, reply) => {
    if (!closing) return;
    reply.header("connection", "close");
    throw new HttpError(ErrorCode.ShuttingDown, "the server is shutting down");
  });
}
