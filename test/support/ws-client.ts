/** A WebSocket client over `ws`, for tests: collects JSON messages in order and says how the socket closed. */
import WebSocket, { type ClientOptions } from "ws";

export interface WsMessage {
  type: string;
  [field: string]: any;
}

export interface WsClient {
  socket: WebSocket;
  /** Every message received so far, oldest first. */
  messages: WsMessage[];
  /** Waits for the first message not yet taken by `next` that matches (skipping others), in order. */
  next(match?: (m: WsMessage) => boolean, timeoutMs?: number): Promise<WsMessage>;
  /** Resolves with the close code and reason once the socket has closed. */
  closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

export interface WsOptions {
  headers?: Record<string, string>;
  protocols?: string[];
  origin?: string;
}

function socketOf(url: string, options: WsOptions): WebSocket {
  const clientOptions: ClientOptions = { headers: options.headers, origin: options.origin };
  return new WebSocket(url, options.protocols ?? [], clientOptions);
}

/** Opens a socket; rejects when the server refuses the upgrade. */
export async function openWs(url: string, options: WsOptions = {}): Promise<WsClient> {
  const socket = socketOf(url, options);
  const messages: WsMessage[] = [];
  let cursor = 0;
  const waiters = new Set<() => void>();
  socket.on("message", (data) => {
    messages.push(JSON.parse(data.toString()));
    for (const wake of [...waiters]) wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.on("close", (code, reason) => {
      resolve({ code, reason: reason.toString() });
      for (const wake of [...waiters]) wake();
    });
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
    socket.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
  socket.on("error", () => undefined);
  const next: WsClient["next"] = (match = () => true, timeoutMs = 10_000) =>
    new Promise((resolve, reject) => {
      const look = () => {
        while (cursor < messages.length) {
          const message = messages[cursor++];
          if (match(message)) {
            done();
            resolve(message);
            return;
          }
        }
        if (socket.readyState === WebSocket.CLOSED) {
          done();
          reject(new Error(`the socket closed before the message came (${messages.length} received)`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for a message (${messages.length} received)`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(look);
      };
      waiters.add(look);
      look();
    });
  return {
    socket,
    messages,
    next,
    closed,
    async close() {
      if (socket.readyState !== WebSocket.CLOSED) socket.terminate();
      await closed;
    },
  };
}

/** An upgrade the server must refuse: its HTTP status and JSON body. */
export function refusedUpgrade(url: string, options: WsOptions = {}): Promise<{ status: number; body: any }> {
  const socket = socketOf(url, options);
  return new Promise((resolve, reject) => {
    socket.once("open", () => {
      socket.terminate();
      reject(new Error(`the upgrade to ${url} was accepted`));
    });
    socket.once("unexpected-response", (_req, res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => {
        text += chunk.toString();
      });
      res.on("end", () => {
        socket.terminate();
        resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null });
      });
    });
    socket.once("error", (error) => {
      if (socket.readyState !== WebSocket.CLOSED) reject(error);
    });
  });
}
