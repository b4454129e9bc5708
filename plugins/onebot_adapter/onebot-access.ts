/**
 * Who may post events (docs/onebot.md#access-token): the OneBot v11 `access_token` — `Authorization: Bearer <token>`
 * (or the older `Token <token>`) or `?access_token=<token>`, on an HTTP POST and on the WebSocket upgrade alike —
 * and, for HTTP POST, the optional `secret`: an `X-Signature: sha1=<HMAC-SHA1 of the body>` header. A missing
 * credential is a 401, a wrong one a 403; either way the event never reaches routing.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

export interface AccessRefusal {
  status: 401 | 403;
  message: string;
}

export class OneBotAccess {
  private readonly accessToken: string | undefined;
  private readonly secret: string | undefined;

  /** An empty string is the same as none. */
  constructor(options: { accessToken?: string | undefined; secret?: string | undefined }) {
    this.accessToken = options.accessToken || undefined;
    this.secret = options.secret || undefined;
  }

  get tokenRequired(): boolean {
    return this.accessToken !== undefined;
  }

  get signatureRequired(): boolean {
    return this.secret !== undefined;
  }

  /** The refusal for a request whose access token is missing or wrong; undefined when it may go on. */
  checkToken(headers: IncomingHttpHeaders, url: URL): AccessRefusal | undefined {
    if (this.accessToken === undefined) return undefined;
    const given = tokenOf(headers.authorization) ?? url.searchParams.get("access_token") ?? undefined;
    if (given === undefined || given === "") {
      return { status: 401, message: "an access token is required (Authorization: Bearer <token>)" };
    }
    return sameText(given, this.accessToken) ? undefined : { status: 403, message: "the access token is wrong" };
  }

  /** The refusal for a body whose `X-Signature` is missing or wrong, when a secret is set. */
  checkSignature(headers: IncomingHttpHeaders, body: Buffer): AccessRefusal | undefined {
    if (this.secret === undefined) return undefined;
    const header = headers["x-signature"];
    const given = typeof header === "string" ? /^sha1=([0-9a-f]{40})$/i.exec(header.trim())?.[1] : undefined;
    if (given === undefined) return { status: 401, message: "an X-Signature header (sha1=<hmac>) is required" };
    const expected = createHmac("sha1", this.secret).update(body).digest("hex");
    return sameText(given.toLowerCase(), expected) ? undefined : { status: 403, message: "the X-Signature is wrong" };
  }
}

function tokenOf(authorization: string | undefined): string | undefined {
  const match = authorization === undefined ? null : /^(?:Bearer|Token)\s+(\S+)\s*$/i.exec(authorization);
  return match?.[1];
}

/** Compares in constant time (digests first, so the lengths match). */
function sameText(a: string, b: string): boolean {
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(a), digest(b));
}
