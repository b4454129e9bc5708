/**
 * Server-Sent Event streams of one server: opens them (hijacking the reply), sends heartbeat comments, drops a
 * client that stops reading (it resumes with `Last-Event-ID`), and ends every stream when the server closes so
 * `close()` never waits on an open stream.
 */
import type { FastifyInstance, FastifyReply } from "fastify";

export const DEFAULT_SSE_HEARTBEAT_MS = 15_000;
/** Unsent bytes a client may fall behind by before its stream is closed. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

export interface SseStream {
  /** Writes one event; false when the stream has closed. */
  send(event: { id?: number | string; event?: string; data: unknown }): boolean;
  readonly closed: boolean;
  /** Runs once when the stream ends, whoever ends it. */
  onClose(fn: () => void): void;
  close(): void;
}

export class SseHub {
  private readonly streams = new Set<SseStream>();

  constructor(
    app: FastifyInstance,
    private readonly heartbeatMs = DEFAULT_SSE_HEARTBEAT_MS,
  ) {
    app.addHook("preClose", async () => {
      for (const stream of [...this.streams]) stream.close();
    });
  }

  get size(): number {
    return this.streams.size;
  }

  open(reply: FastifyReply): SseStream {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    res.write(": connected\n\n");
    const closers: Array<() => void> = [];
    let closed = false;
    const heartbeat = setInterval(() => write(": heartbeat\n\n"), this.heartbeatMs);
    heartbeat.unref();
    const finish = () => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      this.streams.delete(stream);
      for (const fn of closers.splice(0)) fn();
    };
    const write = (text: string): boolean => {
      if (closed) return false;
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        stream.close();
        return false;
      }
      res.write(text);
      return true;
    };
    const stream: SseStream = {
      send: ({ id, event, data }) => {
        let text = "";
        if (id !== undefined) text += `id: ${id}\n`;
        if (event) text += `event: ${event}\n`;
        text += `data: ${JSON.stringify(data)}\n\n`;
        return write(text);
      },
      get closed() {
        return closed;
      },
      onClose: (fn) => {
        if (closed) fn();
        else closers.push(fn);
      },
      close: () => {
        if (closed) return;
        finish();
        res.end();
      },
    };
    // The response closes when the client goes away (the request's own "close" fires as soon as it is read).
    res.on("close", finish);
    this.streams.add(stream);
    return stream;
  }
}
