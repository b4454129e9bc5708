/**
 * The host's ZeroMQ ROUTER: binds `ipc://` under the run folder (or the `tcp://` address asked for), and lets in only
 * the processes it launched. It is a CURVE server with a key pair of its own for this run; each launch is admitted
 * with a key pair of its own (`admit`), and the process's ZAP handler (zap-handler.ts) admits one connection per key
 * pair — over `ipc://` only from the very process it was made for, as the kernel reports the peer's pid. A peer
 * without those credentials never completes ZeroMQ's handshake: it cannot send a frame, claim a routing id or fill a
 * queue. Each admitted process connects with a routing id the host drew for it, so ZeroMQ never names a peer from its
 * own counter (a peer able to claim the counter's next id could otherwise crash libzmq with an assertion).
 */
import { randomBytes, randomUUID } from "node:crypto";
import {
  type Disposable,
  decodeFrame,
  encodeFrame,
  type HostToPlugin,
  MAX_FRAME_BYTES,
  type PluginConnection,
  serialSend,
} from "@neko/protocol";
import { curveKeyPair, Router } from "zeromq";
import type { HostLogger } from "../host-logger.ts";
import type { HostTransport, IncomingFrame, PeerAdmission } from "./host-transport.ts";
import { z85Decode } from "./z85.ts";
import { ipcPeerPid, registerZapDomain, type ZapDecision, type ZapRequest } from "./zap-handler.ts";

// MAX_FRAME_BYTES (64 MiB): ZeroMQ drops the connection of a peer that sends more, before buffering it. The SDK
// checks its own frames against it, so only a broken or hostile plugin meets it.
export { MAX_FRAME_BYTES };

/** Messages ZeroMQ queues per peer before it stops reading that peer's connection (its sends then wait). */
export const DEFAULT_RECEIVE_HIGH_WATER_MARK = 1000;

export interface ZmqHostTransportOptions {
  logger: HostLogger;
  receiveHighWaterMark?: number;
}

/** Connections admitted, and handshakes refused (no CURVE, no admission, a used one, another process's). */
export interface AdmissionStats {
  admitted: number;
  refused: number;
}

class Admission implements PeerAdmission {
  readonly peer: string;
  readonly connection: PluginConnection;
  /** The client's public key as ZAP reports it (32 bytes), in hex. */
  readonly key: string;
  pid: number | undefined;
  used = false;

  constructor(
    readonly label: string,
    endpoint: string,
    serverKey: string,
    private readonly release: (admission: Admission) => void,
  ) {
    const pair = curveKeyPair();
    const routingId = randomBytes(16).toString("hex");
    this.peer = routingId;
    this.key = (z85Decode(pair.publicKey) as Buffer).toString("hex");
    this.connection = {
      endpoint,
      routingId,
      curve: { serverKey, publicKey: pair.publicKey, secretKey: pair.secretKey },
    };
  }

  bindProcess(pid: number | undefined): void {
    this.pid = pid;
  }

  dispose(): void {
    this.release(this);
  }
}

/** A frame as it arrived: decoded only when the host asks, which it does only for a peer it admitted. */
class ZmqFrame implements IncomingFrame {
  readonly peer: string;
  readonly bytes: number;

  constructor(private readonly parts: Buffer[]) {
    // A routing id is bytes; latin1 maps each byte to one character, so distinct ids stay distinct.
    this.peer = parts[0].toString("latin1");
    this.bytes = parts.length === 2 ? parts[1].length : parts.slice(1).reduce((sum, part) => sum + part.length, 0);
  }

  decode(): { type: string; [key: string]: unknown } | undefined {
    // Our frames are exactly [identity, payload]; anything else is not ours to decode.
    return this.parts.length === 2 ? decodeFrame(this.parts[1]) : undefined;
  }
}

export class ZmqHostTransport implements HostTransport {
  private handler: ((frame: IncomingFrame) => void) | undefined;
  private closed = false;
  private readonly loop: Promise<void>;
  private readonly sendFrames = serialSend((frames: Buffer[]) => this.socket.send(frames));
  /** Admissions by client key (hex). */
  private readonly admissions = new Map<string, Admission>();
  private zap: Disposable | undefined;
  readonly stats: AdmissionStats = { admitted: 0, refused: 0 };
  private lastRefusalLogAt = 0;
  private refusalsSinceLog = 0;

  private constructor(
    private readonly socket: Router,
    readonly endpoint: string,
    private readonly serverKey: string,
    private readonly logger: HostLogger,
  ) {
    this.loop = this.receiveLoop();
    // Every handshake that fails, whatever failed (a peer without CURVE never even reaches the ZAP handler).
    const refused = () => {
      this.stats.refused += 1;
    };
    const events = socket.events;
    events.on("handshake:error:protocol", refused);
    events.on("handshake:error:auth", refused);
    events.on("handshake:error:other", refused);
  }

  static async bind(endpoint: string, options: ZmqHostTransportOptions): Promise<ZmqHostTransport> {
    const keys = curveKeyPair();
    const domain = `neko-${randomUUID()}`;
    let transport: ZmqHostTransport | undefined;
    const zap = await registerZapDomain(domain, (request) =>
      transport ? transport.decide(request) : { ok: false, why: "not ready" },
    );
    const socket = new Router({
      linger: 0,
      sendHighWaterMark: 0,
      receiveHighWaterMark: options.receiveHighWaterMark ?? DEFAULT_RECEIVE_HIGH_WATER_MARK,
      maxMessageSize: MAX_FRAME_BYTES,
      curveServer: true,
      curveSecretKey: keys.secretKey,
      zapDomain: domain,
      // Without a ZAP handler libzmq would let any CURVE client in: with this it refuses everyone instead.
      zapEnforceDomain: true,
    });
    try {
      await socket.bind(endpoint);
    } catch (error) {
      socket.close();
      zap.dispose();
      throw error;
    }
    // For tcp://host:0 the socket knows the real port.
    transport = new ZmqHostTransport(socket, socket.lastEndpoint ?? endpoint, keys.publicKey, options.logger);
    transport.zap = zap;
    return transport;
  }

  admit(label: string): PeerAdmission {
    const admission = new Admission(label, this.endpoint, this.serverKey, (a) => {
      if (this.admissions.get(a.key) === a) this.admissions.delete(a.key);
    });
    this.admissions.set(admission.key, admission);
    return admission;
  }

  get refusedConnections(): number {
    return this.stats.refused;
  }

  /** How many launches may still connect or are connected (admissions not yet disposed). */
  get admitted(): number {
    return this.admissions.size;
  }

  onFrame(handler: (frame: IncomingFrame) => void): void {
    this.handler = handler;
  }

  send(peer: string, message: HostToPlugin): void {
    if (this.closed) return;
    // A send to a peer that has gone is dropped by ROUTER; a failure here means the socket closed under us.
    this.sendFrames([Buffer.from(peer, "latin1"), encodeFrame(message)]).catch(() => undefined);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
    await this.loop;
    this.zap?.dispose();
    this.admissions.clear();
  }

  /** ZAP: one connection per admission, with its key, and over ipc:// only from the process it was made for. */
  private decide(request: ZapRequest): ZapDecision {
    const decision = this.judge(request);
    if (decision.ok) this.stats.admitted += 1;
    else this.logRefusal(request, decision.why);
    return decision;
  }

  private judge(request: ZapRequest): ZapDecision {
    if (this.closed) return { ok: false, why: "closing" };
    if (request.mechanism !== "CURVE") return { ok: false, why: "not CURVE" };
    const key = request.credentials[0];
    const admission = key?.length === 32 ? this.admissions.get(key.toString("hex")) : undefined;
    if (!admission) return { ok: false, why: "unknown key" };
    if (admission.used) return { ok: false, why: "key already used" };
    const pid = ipcPeerPid(request.address);
    if (admission.pid !== undefined && pid !== undefined && pid !== admission.pid) {
      return { ok: false, why: `key of process ${admission.pid} presented by process ${pid}` };
    }
    admission.used = true;
    return { ok: true, userId: admission.label };
  }

  /** Refusals are logged at most once a second, with how many there were in between. */
  private logRefusal(request: ZapRequest, why: string): void {
    this.refusalsSinceLog += 1;
    const now = Date.now();
    if (now - this.lastRefusalLogAt < 1000) return;
    this.lastRefusalLogAt = now;
    this.logger.warn(
      { address: request.address, mechanism: request.mechanism, refused: this.refusalsSinceLog },
      `refused a connection to the plugin socket: ${why}`,
    );
    this.refusalsSinceLog = 0;
  }

  private async receiveLoop(): Promise<void> {
    try {
      for await (const parts of this.socket) {
        try {
          this.handler?.(new ZmqFrame(parts));
        } catch (error) {
          // One frame that cannot be handled must not end this loop: the host would stop hearing every plugin.
          this.logger.error({ err: error }, "a frame from a plugin could not be handled");
        }
      }
    } catch {
      // Closing the socket ends the iterator with an error; nothing is pending on it.
    }
  }
}
