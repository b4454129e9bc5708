/**
 * A raw TCP connection that speaks HTTP/1.1 by hand, for tests of what happens before a route runs: half a request,
 * a trickled body, headers too large, malformed HTTP, pipelined requests. It records every byte received, every
 * socket error (an EPIPE included) and when the server closed the connection.
 */
import net from "node:net";

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  text: string;
  /** The body parsed as JSON, or `undefined` when it is not JSON. */
  json: any;
}

export class RawConnection {
  private received: Buffer[] = [];
  /** The first socket error (EPIPE, ECONNRESET, …), if any. */
  error: NodeJS.ErrnoException | undefined;
  closed = false;
  readonly whenClosed: Promise<void>;

  private constructor(private readonly socket: net.Socket) {
    socket.on("data", (chunk) => this.received.push(chunk));
    socket.on("error", (error) => {
      this.error ??= error;
    });
    this.whenClosed = new Promise((resolve) =>
      socket.once("close", () => {
        this.closed = true;
        resolve();
      }),
    );
  }

  static open(port: number, host = "127.0.0.1"): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, host);
      socket.once("connect", () => resolve(new RawConnection(socket)));
      socket.once("error", reject);
    });
  }

  /** Resolves when everything given is handed to the kernel (or the socket failed). */
  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.write(data, () => resolve());
    });
  }

  /** Whether the server closed the connection within `ms`. */
  async closesWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    });
    await Promise.race([this.whenClosed, timeout]);
    clearTimeout(timer);
    return this.closed;
  }

  /** Resolves once `count` whole answers have arrived, or the connection closed (then with what there is). */
  async answers(count = 1, ms = 10_000): Promise<RawAnswer[]> {
    const deadline = Date.now() + ms;
    for (;;) {
      const parsed = parseAnswers(Buffer.concat(this.received));
      if (parsed.length >= count || this.closed || Date.now() > deadline) return parsed;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  get bytesReceived(): number {
    return this.received.reduce((n, b) => n + b.length, 0);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Every whole HTTP/1.1 answer in `bytes`, in order. */
export function parseAnswers(bytes: Buffer): RawAnswer[] {
  const answers: RawAnswer[] = [];
  let rest = bytes;
  for (;;) {
    const end = rest.indexOf("\r\n\r\n");
    if (end < 0) return answers;
    const [statusLine, ...lines] = rest.subarray(0, end).toString("latin1").split("\r\n");
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(":");
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    let body: Buffer;
    let after = end + 4;
    if (headers["content-length"] !== undefined) {
      const length = Number(headers["content-length"]);
      if (rest.length < after + length) return answers;
      body = rest.subarray(after, after + length);
      after += length;
    } else if (headers["transfer-encoding"] === "chunked") {
      const chunks: Buffer[] = [];
      for (;;) {
        const lineEnd = rest.indexOf("\r\n", after);
        if (lineEnd < 0) return answers;
        const size = Number.parseInt(rest.subarray(after, lineEnd).toString(), 16);
        if (rest.length < lineEnd + 2 + size + 2) return answers;
        chunks.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
        after = lineEnd + 2 + size + 2;
        if (size === 0) break;
      }
      body = Buffer.concat(chunks);
    } else {
      body = rest.subarray(after);
      after = rest.length;
    }
    const text = body.toString("utf8");
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    answers.push({ status, headers, text, json });
    rest = rest.subarray(after);
  }
}
