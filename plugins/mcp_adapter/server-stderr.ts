/** The stderr of an external MCP server's process, as the adapter's log lines and the tail its errors quote. */
import type { Stream } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import type { PluginLogger } from "@neko/plugin-sdk/plugin";

const TAIL_LINES = 10;
/** Lines logged per server and window, so a chatty server cannot flood the adapter's log. */
const LOG_BURST = 50;
const LOG_WINDOW_MS = 10_000;

/** A server's stderr: each line logged (a bounded number per window), the last few kept for error messages. */
export class ServerStderr {
  readonly #lines: string[] = [];
  #partial = "";
  #windowStart = 0;
  #logged = 0;
  #dropped = 0;
  #stream: Stream | undefined;
  readonly #decoder = new StringDecoder("utf8");
  readonly #onData = (chunk: Buffer | string) =>
    this.#take(typeof chunk === "string" ? chunk : this.#decoder.write(chunk));

  constructor(
    readonly server: string,
    readonly logger: PluginLogger,
  ) {}

  follow(stream: Stream): void {
    this.#stream = stream;
    stream.on("data", this.#onData);
  }

  stop(): void {
    this.#stream?.off("data", this.#onData);
    this.#stream = undefined;
  }

  /** The last lines, joined, or "" when the server wrote nothing. */
  tail(): string {
    const partial = this.#partial.trim();
    return [...this.#lines, ...(partial ? [partial] : [])].slice(-3).join(" | ");
  }

  #take(text: string): void {
    const parts = (this.#partial + text).split(/\r?\n/);
    this.#partial = (parts.pop() ?? "").slice(-2000);
    for (const raw of parts) {
      const line = raw.trim().slice(0, 500);
      if (!line) continue;
      this.#lines.push(line);
      if (this.#lines.length > TAIL_LINES) this.#lines.shift();
      this.#log(line);
    }
  }

  #log(line: string): void {
    const now = Date.now();
    if (now - this.#windowStart >= LOG_WINDOW_MS) {
      if (this.#dropped > 0) {
        this.logger.warn(`MCP server '${this.server}': ${this.#dropped} stderr lines were not logged (too many)`);
      }
      this.#windowStart = now;
      this.#logged = 0;
      this.#dropped = 0;
    }
    if (this.#logged >= LOG_BURST) {
      this.#dropped += 1;
      return;
    }
    this.#logged += 1;
    this.logger.info(`MCP server '${this.server}' stderr: ${line}`, { server: this.server, stderr: true });
  }
}
