/**
 * How the client commands (`list`, `call`, `status`) reach a running server: the URL from `--url`, `$NEKO_URL` or
 * `$NEKO_PORT`, the token from `$NEKO_API_TOKEN`, and one request that answers `{ status, body }` or says in one line
 * why the server could not be reached.
 */
import { DEFAULT_PORT } from "@neko/server/defaults";

import { terminalSafe } from "./text-table.ts";

/** The largest answer read (a plugin list, a call's data). */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

export interface ServerAnswer {
  status: number;
  /** The parsed JSON body; undefined when the body was empty or not JSON. */
  body: unknown;
}

/** Thrown when no answer came: the server is not running, the URL is wrong, the connection broke. */
export class ServerUnreachable extends Error {}

export class ServerClient {
  readonly url: string;
  private readonly token: string | undefined;

  constructor(options: { url?: string; env?: NodeJS.ProcessEnv }) {
    const env = options.env ?? process.env;
    this.url = serverUrl(options.url, env);
    this.token = env.NEKO_API_TOKEN || undefined;
  }

  /** `timeoutMs`: how long to wait for the answer (default 30 s); a server that never answers is unreachable. */
  async request(method: "GET" | "POST", route: string, body?: unknown, timeoutMs = 30_000): Promise<ServerAnswer> {
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (method === "POST") headers["content-type"] = "application/json";
    let text: string;
    let status: number;
    try {
      const res = await fetch(this.url + route, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = res.status;
      if (Number(res.headers.get("content-length") ?? 0) > MAX_ANSWER_BYTES) {
        throw new Error(`its answer is larger than ${MAX_ANSWER_BYTES / 1024 / 1024} MiB`);
      }
      text = await res.text();
    } catch (error) {
      const why =
        (error as Error)?.name === "TimeoutError" ? `no answer within ${timeoutMs / 1000}s` : whyUnreachable(error);
      throw new ServerUnreachable(`cannot reach the server at ${this.url} (${why})`);
    }
    return { status, body: parseJson(text) };
  }
}

/** `--url`, else `$NEKO_URL`, else `http://127.0.0.1:$NEKO_PORT` (default port 48916); no trailing slash. */
export function serverUrl(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const url = flag || env.NEKO_URL || `http://127.0.0.1:${env.NEKO_PORT || DEFAULT_PORT}`;
  return url.replace(/\/+$/, "");
}

/** The code and message of an error answer (`{ error: { code, message } }`), whatever else the body holds. */
export function answerError(answer: ServerAnswer): { code: string; message: string } {
  const error = (answer.body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  return {
    code: terminalSafe(typeof error?.code === "string" ? error.code : `HTTP_${answer.status}`),
    message: terminalSafe(typeof error?.message === "string" ? error.message : "the server gave no error message"),
  };
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** fetch says only "fetch failed": the reason (ECONNREFUSED, ENOTFOUND, an invalid URL…) is in its cause. */
function whyUnreachable(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === "string") return cause.code;
  if (typeof cause?.message === "string") return cause.message;
  return (error as Error).message;
}
