/**
 * The page's way to the HTTP API (docs/http-api.md): JSON in and out, the API token from this tab's session storage
 * when the server needs one, and every error answer turned into an `ApiError` with the server's code and message.
 */

export interface ErrorBody {
  code: string;
  message: string;
  details?: unknown;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  /** The whole answer, for routes such as `/plugin/trigger` that put more than the error in it. */
  readonly body: unknown;

  constructor(status: number, error: ErrorBody, body: unknown) {
    super(error.message);
    this.status = status;
    this.code = error.code;
    this.details = error.details ?? null;
    this.body = body;
  }
}

const TOKEN_KEY = "neko.apiToken";
const unauthorizedListeners = new Set<(refusedToken: boolean) => void>();
/** What a WebSocket subprotocol may hold (RFC 6455: an HTTP token), so the page can offer the API token as one. */
const SUBPROTOCOL_SAFE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function apiToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

/**
 * Keeps `token` for this tab, or says why it cannot be used: a browser can offer it to a WebSocket only as a
 * subprotocol, which allows letters, digits and ``!#$%&'*+-.^_`|~`` (`openssl rand -hex 32` makes such a token).
 */
export function setApiToken(input: string): { ok: true } | { ok: false; reason: "empty" | "characters" } {
  const token = input.trim().replace(/^Bearer\s+/i, "");
  if (!token) return { ok: false, reason: "empty" };
  // The first subprotocol is `neko.bearer`: a browser refuses the same one twice.
  if (!SUBPROTOCOL_SAFE.test(token) || token === "neko.bearer") return { ok: false, reason: "characters" };
  sessionStorage.setItem(TOKEN_KEY, token);
  return { ok: true };
}

/** Called when the server answers 401 (`refusedToken`: the page had sent a token): the page asks for one. */
export function onUnauthorized(listener: (refusedToken: boolean) => void): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export function authHeaders(): Record<string, string> {
  const token = apiToken();
  return token ? { authorization: `Bearer ${token}` } : {};
}

export interface RequestOptions {
  /** A JSON body; state-changing requests always send one (the server's cross-site guard wants the type). */
  body?: unknown;
  /** A text body with its own type (plugin.toml). */
  text?: { body: string; type: string };
}

export async function api<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json", ...authHeaders() };
  let body: string | undefined;
  if (options.text) {
    headers["content-type"] = options.text.type;
    body = options.text.body;
  } else if (method !== "GET") {
    headers["content-type"] = "application/json";
    body = JSON.stringify(options.body ?? {});
  }
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body });
  } catch (error) {
    throw new ApiError(0, { code: "NETWORK", message: `the server cannot be reached (${String(error)})` }, null);
  }
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  if (response.ok) return parsed as T;
  if (response.status === 401) {
    const refused = apiToken() !== null;
    sessionStorage.removeItem(TOKEN_KEY);
    for (const listener of unauthorizedListeners) listener(refused);
  }
  throw new ApiError(response.status, errorOf(parsed, response), parsed);
}

function errorOf(body: unknown, response: Response): ErrorBody {
  const error = (body as { error?: unknown } | null)?.error;
  if (error && typeof error === "object" && typeof (error as ErrorBody).message === "string") {
    const e = error as ErrorBody;
    return { code: String(e.code ?? "ERROR"), message: e.message, details: e.details };
  }
  return { code: `HTTP_${response.status}`, message: `${response.status} ${response.statusText}` };
}

/** The server's error as one line: its code and message. */
export function errorText(error: unknown): string {
  return error instanceof ApiError ? `${error.code}: ${error.message}` : String(error);
}

/**
 * A WebSocket to this server, with the token offered as a subprotocol (browsers cannot set headers on one); `null`
 * when the browser refuses to open it (a stored token it cannot send), which callers treat as a lost connection.
 */
export function openSocket(path: string): WebSocket | null {
  const url = new URL(path, location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const token = apiToken();
  try {
    return token ? new WebSocket(url, ["neko.bearer", token]) : new WebSocket(url);
  } catch {
    return null;
  }
}
