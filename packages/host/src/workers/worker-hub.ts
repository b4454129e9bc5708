/**
 * The host's side of remote workers (SPEC §4.1, docs/workers.md): a ZeroMQ ROUTER on `tcp://` that only workers
 * holding an authorized CURVE key can connect to (checked by the process's ZAP handler before a single message), one
 * session per worker name, and the relay of each worker's plugin processes: a launch is sent to the worker, their
 * output lines and exit come back, and their frames travel both ways as they are, tagged with the peer id the host
 * admitted the launch under. The supervisor sees a remote plugin as it sees a local one — a `PluginChild` and a peer —
 * so calls, the bus, the store, hooks and restarts work the same.
 *
 * A worker that goes (its connection closes, or it says nothing for `timeoutMs`) is lost at once: each of its
 * processes "exits" as `unreachable`, which fails its pending calls with PLUGIN_UNREACHABLE and makes the plugin
 * `unreachable` instead of crashed; when the worker says hello again its plugins are started again.
 */
import { randomBytes, randomUUID } from "node:crypto";
import {
  type Disposable,
  Emitter,
  type Event,
  encodeFrame,
  type HostToPlugin,
  MAX_FRAME_BYTES,
  type PluginConnection,
  serialSend,
} from "@neko/protocol";
import { Router } from "zeromq";
import type { HostLogger } from "../host-logger.ts";
import { RateLimitedLog } from "../rate-limited-log.ts";
import type { ChildExit, ChildLine, LaunchRequest, PluginChild } from "../supervisor/plugin-launcher.ts";
import type { IncomingFrame, PeerAdmission } from "../transport/host-transport.ts";
import { PayloadFrame } from "../transport/memory-host-transport.ts";
import { z85Decode } from "../transport/z85.ts";
import { registerZapDomain, type ZapDecision, type ZapRequest } from "../transport/zap-handler.ts";
import { checkHelloProof } from "./worker-proof.ts";
import {
  checkHello,
  packBody,
  type RemoteExit,
  type RemotePluginInfo,
  type WorkerHello,
  unpackBody,
} from "./worker-wire.ts";

export interface WorkerHubOptions {
  /** Where workers connect: `tcp://0.0.0.0:5570`, `tcp://10.0.0.1:5570`, … */
  endpoint: string;
  /** The host's CURVE key pair (`neko-plugin keys`); workers are given its public key. */
  keys: { publicKey: string; secretKey: string };
  /** The public keys of the workers allowed to connect. */
  authorizedKeys: string[];
  logger: HostLogger;
  /** How often the host pings each worker (default 1 s). */
  pingIntervalMs?: number;
  /** A worker silent this long is lost (default 5 s). */
  timeoutMs?: number;
  /** How long a worker has to report the exit of a process the host killed (default 10 s). */
  killConfirmMs?: number;
}

export interface WorkerView {
  name: string;
  /** When its current session began. */
  connected_at: string;
  plugins: string[];
}

const DEFAULT_KILL_CONFIRM_MS = 10_000;

/** The peer ids of remote launches begin with this; a local one is 32 hex digits. */
const REMOTE_PEER_PREFIX = "w:";

export function isRemotePeer(peer: string): boolean {
  return peer.startsWith(REMOTE_PEER_PREFIX);
}

/** A process on a worker, as the supervisor sees it. */
class RemoteChild implements PluginChild {
  pid: number | undefined;
  private readonly lines = new Emitter<ChildLine>();
  private readonly exits = new Emitter<ChildExit>();
  readonly onLine: Event<ChildLine> = this.lines.event;
  readonly onExit: Event<ChildExit> = this.exits.event;
  exited = false;
  private readonly done: Promise<void>;
  private finish!: () => void;
  /** The worker prepares the launch first (its Python probe): started once it says `launched`, or the process ends. */
  readonly started: Promise<void>;
  private markStarted!: () => void;

  private unconfirmed: NodeJS.Timeout | undefined;

  constructor(
    readonly worker: string,
    private readonly killer: (signal: NodeJS.Signals) => void,
    private readonly killConfirmMs: number,
  ) {
    this.done = new Promise((resolve) => {
      this.finish = resolve;
    });
    this.started = new Promise((resolve) => {
      this.markStarted = resolve;
    });
  }

  launched(pid: number | undefined): void {
    if (pid !== undefined) this.pid = pid;
    this.markStarted();
  }

  /** Lines come over the same ordered connection as the exit, so all of them are in once it is. */
  outputDone(): Promise<void> {
    return this.done;
  }

  kill(signal: NodeJS.Signals = "SIGTERM"): void {
    if (this.exited) return;
    this.killer(signal);
    // A worker that stays connected but never reports the exit must not hold a stop (or the host's) forever.
    this.unconfirmed ??= setTimeout(() => {
      this.exit({
        code: null,
        signal: null,
        unreachable: `worker '${this.worker}' did not confirm that the process stopped`,
      });
    }, this.killConfirmMs);
    this.unconfirmed.unref();
  }

  line(line: ChildLine): void {
    if (!this.exited) this.lines.fire(line);
  }

  exit(exit: ChildExit): void {
    if (this.exited) return;
    this.exited = true;
    clearTimeout(this.unconfirmed);
    this.exits.fire(exit);
    this.finish();
    this.markStarted();
    this.lines.dispose();
    this.exits.dispose();
  }
}

interface WorkerSession {
  name: string;
  /** Its public key, in hex: the name belongs to it while it is connected. */
  key: string;
  epoch: string;
  /** The worker socket's routing id, as ZeroMQ gave it. */
  routingId: Buffer;
  lastSeen: number;
  connectedAt: number;
  plugins: RemotePluginInfo[];
  /** Its live launches, by peer id. */
  children: Map<string, RemoteChild>;
}

export class WorkerHub implements Disposable {
  private readonly sessions = new Map<string, WorkerSession>();
  /** Sessions by routing id (latin1). */
  private readonly byRoutingId = new Map<string, WorkerSession>();
  private frameHandler: ((frame: IncomingFrame) => void) | undefined;
  private readonly ups = new Emitter<{ name: string; plugins: RemotePluginInfo[] }>();
  private readonly downs = new Emitter<{ name: string; reason: string }>();
  private readonly retired = new Emitter<string>();
  /** A worker said hello (or hello again after it was lost): its plugins as it found them. */
  readonly onWorkerUp = this.ups.event;
  readonly onWorkerDown = this.downs.event;
  /**
   * A name no worker will come back under: its key said hello under another name. The host forgets its plugins,
   * so one key cannot pile up plugins under name after name.
   */
  readonly onWorkerRetired = this.retired.event;
  /** The names each key has said hello under and that are still known to the host. */
  private readonly namesByKey = new Map<string, Set<string>>();
  private probing = false;
  private lastTickAt = Date.now();
  private readonly sendFrames = serialSend((frames: Buffer[]) => this.socket.send(frames));
  private readonly timer: NodeJS.Timeout;
  private readonly loop: Promise<void>;
  private readonly badLog: RateLimitedLog;
  private closed = false;
  private zap: Disposable | undefined;
  private readonly pingIntervalMs: number;
  private readonly timeoutMs: number;
  /** Handshakes refused (no CURVE, a key not authorized). */
  refused = 0;
  /** Messages dropped: from a worker without a session, for a launch that is not its own, or malformed. */
  dropped = 0;

  private constructor(
    private readonly socket: Router,
    readonly endpoint: string,
    private readonly authorized: Set<string>,
    private readonly logger: HostLogger,
    private readonly options: WorkerHubOptions,
  ) {
    this.pingIntervalMs = options.pingIntervalMs ?? 1000;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.badLog = new RateLimitedLog(logger, 10_000);
    const refused = () => {
      this.refused += 1;
    };
    const events = socket.events;
    events.on("handshake:error:protocol", refused);
    events.on("handshake:error:auth", refused);
    events.on("handshake:error:other", refused);
    // A closed connection is noticed at once: a send to each worker tells which one went (ROUTER_MANDATORY).
    events.on("disconnect", () => this.probe());
    this.timer = setInterval(() => this.tick(), this.pingIntervalMs);
    this.timer.unref();
    this.loop = this.receiveLoop();
  }

  static async bind(options: WorkerHubOptions): Promise<WorkerHub> {
    const authorized = new Set<string>();
    for (const key of options.authorizedKeys) authorized.add(publicKeyHex(key, "a worker key"));
    publicKeyHex(options.keys.publicKey, "the host's public key");
    const domain = `neko-workers-${randomUUID()}`;
    let hub: WorkerHub | undefined;
    const zap = await registerZapDomain(domain, (request) =>
      hub ? hub.decide(request) : { ok: false, why: "not ready" },
    );
    const socket = new Router({
      linger: 0,
      mandatory: true,
      // A worker that reconnects after a cut link comes back under its routing id while the old, half-open
      // connection may still hold it: the new connection takes it over. ZeroMQ's heartbeat closes the dead one.
      handover: true,
      heartbeatInterval: 1000,
      heartbeatTimeout: 3000,
      sendHighWaterMark: 10_000,
      // Never wait on one worker: with ROUTER_MANDATORY a send to a connection that is closing (or full) would block
      // every later send behind it; it fails at once instead, and that worker is lost.
      sendTimeout: 0,
      receiveHighWaterMark: 10_000,
      // A relayed frame is a plugin's frame plus a few bytes of kind and peer id in parts of their own.
      maxMessageSize: MAX_FRAME_BYTES + 1024,
      curveServer: true,
      curveSecretKey: options.keys.secretKey,
      zapDomain: domain,
      zapEnforceDomain: true,
    });
    try {
      await socket.bind(options.endpoint);
    } catch (error) {
      socket.close();
      zap.dispose();
      throw new Error(`could not bind the worker endpoint ${options.endpoint}: ${(error as Error).message}`);
    }
    hub = new WorkerHub(socket, socket.lastEndpoint ?? options.endpoint, authorized, options.logger, options);
    hub.zap = zap;
    return hub;
  }

  /** The workers connected now. */
  workers(): WorkerView[] {
    return [...this.sessions.values()].map((s) => ({
      name: s.name,
      connected_at: new Date(s.connectedAt).toISOString(),
      plugins: s.plugins.map((p) => p.id),
    }));
  }

  isConnected(worker: string): boolean {
    return this.sessions.has(worker);
  }

  /** A launch on `worker`: the peer id its frames will carry (the worker makes the process's own credentials). */
  admit(worker: string): PeerAdmission {
    const peer = `${REMOTE_PEER_PREFIX}${worker}:${randomBytes(16).toString("hex")}`;
    const connection: PluginConnection = { endpoint: this.endpoint, routingId: peer, curve: null };
    return { peer, connection, bindProcess: () => undefined, dispose: () => undefined };
  }

  /** Asks `worker` to start the process; a worker that is not connected gives a process that is unreachable. */
  launch(worker: string, request: LaunchRequest): PluginChild {
    const peer = request.connection.routingId;
    const session = this.sessions.get(worker);
    const child = new RemoteChild(
      worker,
      (signal) => {
        const live = this.sessions.get(worker);
        if (live?.children.has(peer)) this.sendTo(live, ["kill", peer, signal]);
      },
      this.options.killConfirmMs ?? DEFAULT_KILL_CONFIRM_MS,
    );
    if (!session) {
      setImmediate(() => child.exit({ code: null, signal: null, unreachable: `worker '${worker}' is not connected` }));
      return child;
    }
    session.children.set(peer, child);
    const { pluginId, secret, context, maxHeapMb } = request;
    this.sendTo(session, ["launch", peer, packBody({ pluginId, secret, context, maxHeapMb })]);
    return child;
  }

  onFrame(handler: (frame: IncomingFrame) => void): void {
    this.frameHandler = handler;
  }

  send(peer: string, message: HostToPlugin): void {
    const worker = peer.slice(REMOTE_PEER_PREFIX.length, peer.lastIndexOf(":"));
    const session = this.sessions.get(worker);
    if (!session?.children.has(peer)) return;
    this.sendTo(session, ["frame", peer, encodeFrame(message)]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    for (const session of [...this.sessions.values()]) this.lose(session, "the host is stopping");
    this.socket.close();
    await this.loop;
    this.zap?.dispose();
    this.ups.dispose();
    this.downs.dispose();
    this.retired.dispose();
  }

  dispose(): void {
    void this.close();
  }

  private decide(request: ZapRequest): ZapDecision {
    if (this.closed) return { ok: false, why: "closing" };
    const key = request.credentials[0];
    if (request.mechanism !== "CURVE" || key?.length !== 32) return this.refuse(request, "not CURVE");
    if (!this.authorized.has(key.toString("hex"))) return this.refuse(request, "a key that is not authorized");
    return { ok: true, userId: key.toString("hex") };
  }

  private refuse(request: ZapRequest, why: string): ZapDecision {
    this.badLog.warn(`refused-${why}`, { address: request.address }, `refused a worker connection: ${why}`);
    return { ok: false, why };
  }

  private sendTo(session: WorkerSession, parts: (Buffer | string)[]): void {
    if (this.closed) return;
    const frames = [session.routingId, ...parts.map((p) => (typeof p === "string" ? Buffer.from(p) : p))];
    this.sendFrames(frames).catch((error: NodeJS.ErrnoException) => {
      if (this.sessions.get(session.name) !== session) return;
      // ROUTER_MANDATORY: the worker's connection is gone, or is closing, or it has not read 10 000 messages.
      if (error.code === "EHOSTUNREACH") this.lose(session, "its connection closed");
      else if (error.code === "EAGAIN") this.lose(session, "it is not reading (its connection is closing or full)");
    });
  }

  private probe(): void {
    // One round of probes at a time (a refused handshake fires the event too, and strangers can cause many).
    if (this.probing || this.sessions.size === 0) return;
    this.probing = true;
    // The connection may stay in the routing table for a moment after the event: ask again a little later.
    const delays = [0, 50, 200, 500, 1000];
    for (const [i, delay] of delays.entries()) {
      setTimeout(() => {
        for (const session of this.sessions.values()) this.sendTo(session, ["ping"]);
        if (i === delays.length - 1) this.probing = false;
      }, delay).unref();
    }
  }

  private tick(): void {
    const now = Date.now();
    // A tick that comes late means the host itself was stalled: what the workers said meanwhile is still unread, so
    // their silence is not theirs (as the plugins' heartbeat monitor judges).
    const stalled = now - this.lastTickAt > 2 * this.pingIntervalMs;
    this.lastTickAt = now;
    for (const session of [...this.sessions.values()]) {
      if (stalled) session.lastSeen = Math.max(session.lastSeen, now);
      if (now - session.lastSeen > this.timeoutMs) {
        this.lose(session, `nothing heard from it for ${((now - session.lastSeen) / 1000).toFixed(1)}s`);
      } else {
        this.sendTo(session, ["ping"]);
      }
    }
  }

  /** The worker is gone: each of its processes ends as unreachable (its calls fail now), and it is told so if it hears. */
  private lose(session: WorkerSession, reason: string): void {
    if (this.sessions.get(session.name) !== session) return;
    this.sessions.delete(session.name);
    this.byRoutingId.delete(session.routingId.toString("latin1"));
    this.logger.warn({ worker: session.name }, `worker '${session.name}' lost: ${reason}`);
    const unreachable = `worker '${session.name}' is unreachable (${reason})`;
    for (const child of session.children.values()) child.exit({ code: null, signal: null, unreachable });
    session.children.clear();
    // If it still hears us, it stops what it runs for us and says hello again.
    if (!this.closed) {
      const frames = [session.routingId, Buffer.from("refused"), packBody({ reason, retry: true })];
      this.sendFrames(frames).catch(() => undefined);
    }
    this.downs.fire({ name: session.name, reason });
  }

  private receiveLoop(): Promise<void> {
    return (async () => {
      try {
        for await (const parts of this.socket) {
          try {
            this.handle(parts);
          } catch (error) {
            this.logger.error({ err: error }, "a message from a worker could not be handled");
          }
        }
      } catch {
        // Closing the socket ends the iterator.
      }
    })();
  }

  private handle(parts: Buffer[]): void {
    const [routingId, kindBytes, first, second] = parts;
    const kind = kindBytes?.toString("latin1");
    const rid = routingId.toString("latin1");
    if (kind === "hello") {
      this.hello(routingId, first);
      return;
    }
    const session = this.byRoutingId.get(rid);
    if (!session) {
      this.dropped += 1;
      // A worker whose session the host does not know (a restarted host, a lost one): it is told to say hello.
      const frames = [routingId, Buffer.from("refused"), packBody({ reason: "no session: say hello", retry: true })];
      this.sendFrames(frames).catch(() => undefined);
      return;
    }
    session.lastSeen = Date.now();
    if (kind === "pong") return;
    const peer = first?.toString("latin1");
    const child = peer === undefined ? undefined : session.children.get(peer);
    if (peer === undefined || !child) {
      // A launch that has ended (its frames may trail its exit), or one that was never this worker's.
      this.dropped += 1;
      return;
    }
    switch (kind) {
      case "frame":
        if (second === undefined || parts.length !== 4) break;
        this.frameHandler?.(new PayloadFrame(peer, second));
        return;
      case "launched": {
        const pid = unpackBody<{ pid?: unknown }>(second)?.pid;
        child.launched(typeof pid === "number" && Number.isInteger(pid) ? pid : undefined);
        return;
      }
      case "line": {
        const body = unpackBody<{ stream?: unknown; line?: unknown }>(second);
        if (body && (body.stream === "stdout" || body.stream === "stderr") && typeof body.line === "string") {
          child.line({ stream: body.stream, line: body.line.slice(0, 64 * 1024) });
          return;
        }
        break;
      }
      case "exit": {
        const body = unpackBody<Partial<RemoteExit>>(second);
        if (!body) break;
        session.children.delete(peer);
        child.exit({
          code: typeof body.code === "number" ? body.code : null,
          signal: typeof body.signal === "string" ? (body.signal as NodeJS.Signals) : null,
          ...(typeof body.launchFailure === "string" && { launchFailure: body.launchFailure.slice(0, 2000) }),
          // This machine cannot run it (no usable Python there): refused, as a local plugin is, naming the worker.
          ...(typeof body.refusal === "string" && {
            refusal: `on worker '${session.name}': ${body.refusal.slice(0, 2000)}`,
          }),
        });
        return;
      }
    }
    this.dropped += 1;
    this.badLog.warn(
      `bad-${session.name}`,
      { worker: session.name, kind },
      "dropped a malformed message from a worker",
    );
  }

  /** The hello, checked, with the key it proved it holds; or why it is refused and whether trying again may help. */
  private checkWorker(
    rid: string,
    body: Buffer | undefined,
  ): { hello: WorkerHello; key: string } | { reason: string; retry: boolean } {
    const hello = checkHello(unpackBody<Partial<WorkerHello>>(body));
    if (typeof hello === "string") return { reason: hello, retry: false };
    let key: string;
    try {
      key = publicKeyHex(hello.publicKey, "publicKey");
    } catch {
      return { reason: "publicKey is not a CURVE key", retry: false };
    }
    if (!this.authorized.has(key))
      return { reason: "its publicKey is not one of the host's --worker-key", retry: false };
    const input = { name: hello.name, routingId: rid, epoch: hello.epoch };
    if (!checkHelloProof(this.options.keys, hello.publicKey, input, hello.proof)) {
      return { reason: "the proof does not match its publicKey", retry: false };
    }
    const existing = this.sessions.get(hello.name);
    // Never evicted by another key: the name is the connected worker's until it is lost.
    if (existing && existing.key !== key) {
      return { reason: `the name '${hello.name}' is in use by another connected worker`, retry: true };
    }
    return { hello, key };
  }

  private hello(routingId: Buffer, body: Buffer | undefined): void {
    const rid = routingId.toString("latin1");
    const verdict = this.checkWorker(rid, body);
    if ("reason" in verdict) {
      this.dropped += 1;
      const { reason, retry } = verdict;
      this.badLog.warn(`hello-${reason.slice(0, 40)}`, {}, `refused a worker's hello: ${reason}`);
      this.sendFrames([routingId, Buffer.from("refused"), packBody({ reason, retry })]).catch(() => undefined);
      return;
    }
    const { hello, key } = verdict;
    const existing = this.sessions.get(hello.name);
    if (existing?.routingId.equals(routingId) && existing.epoch === hello.epoch) {
      // It did not hear our welcome: say it again.
      existing.lastSeen = Date.now();
      this.welcome(existing);
      return;
    }
    // The same worker again (a new epoch: it stopped what it ran for us), or a restarted one with the same key.
    if (existing) this.lose(existing, "it said hello again");
    const earlier = this.byRoutingId.get(rid);
    if (earlier) this.lose(earlier, "it said hello again under another name");
    const now = Date.now();
    const session: WorkerSession = {
      name: hello.name,
      key,
      epoch: hello.epoch,
      routingId,
      lastSeen: now,
      connectedAt: now,
      plugins: hello.plugins,
      children: new Map(),
    };
    this.sessions.set(hello.name, session);
    this.byRoutingId.set(rid, session);
    this.retireOtherNames(key, hello.name);
    this.logger.info(
      { worker: hello.name, plugins: hello.plugins.map((p) => p.id) },
      `worker '${hello.name}' connected with ${hello.plugins.length} plugins`,
    );
    this.welcome(session);
    this.ups.fire({ name: hello.name, plugins: hello.plugins });
  }

  /** A key keeps at most the names it is connected under now, and the one it said hello under last. */
  private retireOtherNames(key: string, name: string): void {
    const names = this.namesByKey.get(key) ?? new Set<string>();
    for (const other of [...names]) {
      if (other === name || this.sessions.get(other)?.key === key) continue;
      names.delete(other);
      this.retired.fire(other);
    }
    names.add(name);
    this.namesByKey.set(key, names);
  }

  private welcome(session: WorkerSession): void {
    this.sendTo(session, ["welcome", packBody({ pingIntervalMs: this.pingIntervalMs, timeoutMs: this.timeoutMs })]);
  }
}

/** A Z85 public key as 64 hex digits; throws naming what it is for a key that is not one. */
export function publicKeyHex(key: string, what: string): string {
  const bytes = typeof key === "string" && key.length === 40 ? z85Decode(key) : undefined;
  if (bytes?.length !== 32) {
    throw new Error(`${what} is not a CURVE public key (40 Z85 characters, as neko-plugin keys prints)`);
  }
  return Buffer.from(bytes).toString("hex");
}
