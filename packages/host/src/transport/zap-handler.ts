/**
 * The process's ZAP handler (ZeroMQ RFC 27): libzmq asks it, over `inproc://zeromq.zap.01`, whether to admit each
 * connection to a socket that authenticates (ours: CURVE servers with a ZAP domain), before the connection can send a
 * single message. There is one per ZeroMQ context, so it is shared: each host transport registers its own domain and
 * the function that decides for it; a request for a domain nobody registered is refused. The socket is bound while
 * any domain is registered.
 */
import { Router } from "zeromq";
import type { Disposable } from "@neko/protocol";

const ZAP_ENDPOINT = "inproc://zeromq.zap.01";

export interface ZapRequest {
  domain: string;
  /** The peer's address: `ip:port`-like for TCP; for IPC `localhost:<uid>:<gid>:<pid>` (the kernel's peer credentials). */
  address: string;
  mechanism: string;
  /** For CURVE, the client's long-term public key (32 bytes). */
  credentials: Buffer[];
}

export type ZapDecision = { ok: true; userId: string } | { ok: false; why: string };
export type ZapDecider = (request: ZapRequest) => ZapDecision;

const deciders = new Map<string, ZapDecider>();
let socket: Router | undefined;
let loop: Promise<void> | undefined;
/** Settles when the current socket is bound: every registration waits for it, the first one's and the later ones'. */
let bound: Promise<void> | undefined;

/** Registers `domain`; its decider answers every connection attempt to sockets with that ZAP domain. */
export async function registerZapDomain(domain: string, decide: ZapDecider): Promise<Disposable> {
  if (deciders.has(domain)) throw new Error(`the ZAP domain '${domain}' is taken`);
  deciders.set(domain, decide);
  try {
    await ensureBound();
  } catch (error) {
    deciders.delete(domain);
    throw error;
  }
  let disposed = false;
  return {
    dispose() {
      if (disposed) return;
      disposed = true;
      deciders.delete(domain);
      if (deciders.size === 0) unbind();
    },
  };
}

/** A handler just closed frees the endpoint a moment later (libzmq's reaper thread): binding again waits that out. */
const REBIND_ATTEMPTS = 100;
const REBIND_DELAY_MS = 10;

function ensureBound(): Promise<void> {
  bound ??= bindHandler().catch((error: unknown) => {
    bound = undefined;
    throw error;
  });
  return bound;
}

async function bindHandler(): Promise<void> {
  const next = new Router({ linger: 0 });
  socket = next;
  for (let attempt = 1; ; attempt++) {
    try {
      await next.bind(ZAP_ENDPOINT);
      break;
    } catch (error) {
      const busy = (error as NodeJS.ErrnoException).code === "EADDRINUSE";
      if (busy && attempt < REBIND_ATTEMPTS && socket === next) {
        await new Promise((resolve) => setTimeout(resolve, REBIND_DELAY_MS));
        continue;
      }
      if (socket === next) socket = undefined;
      next.close();
      throw new Error(`could not bind the ZAP handler at ${ZAP_ENDPOINT}: ${(error as Error).message}`);
    }
  }
  loop = serve(next);
}

function unbind(): void {
  const current = socket;
  socket = undefined;
  loop = undefined;
  bound = undefined;
  current?.close();
}

async function serve(zap: Router): Promise<void> {
  try {
    for await (const frames of zap) {
      // [peer, empty, version, requestId, domain, address, identity, mechanism, ...credentials]
      const [peer, empty, version, requestId, domain, address, _identity, mechanism, ...credentials] = frames;
      if (!peer || !requestId || !domain || !address || !mechanism) continue;
      let decision: ZapDecision;
      if (version?.toString() !== "1.0") decision = { ok: false, why: "unknown ZAP version" };
      else {
        const decide = deciders.get(domain.toString());
        try {
          decision = decide
            ? decide({
                domain: domain.toString(),
                address: address.toString(),
                mechanism: mechanism.toString(),
                credentials,
              })
            : { ok: false, why: "unknown domain" };
        } catch {
          decision = { ok: false, why: "the decider failed" };
        }
      }
      const reply = decision.ok
        ? [peer, empty ?? "", "1.0", requestId, "200", "OK", decision.userId, ""]
        : [peer, empty ?? "", "1.0", requestId, "400", decision.why, "", ""];
      await zap.send(reply).catch(() => undefined);
    }
  } catch {
    // The socket was closed (the last domain went away).
  }
}

/** The pid in an IPC peer's ZAP address (`localhost:<uid>:<gid>:<pid>`), or undefined for any other address. */
export function ipcPeerPid(address: string): number | undefined {
  const match = /^localhost:\d+:\d+:(\d+)$/.exec(address);
  return match ? Number(match[1]) : undefined;
}

/** For tests: whether the handler is bound now. */
export function zapHandlerBound(): boolean {
  return socket !== undefined && loop !== undefined;
}
