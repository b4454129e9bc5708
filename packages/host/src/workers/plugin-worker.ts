/**
 * A remote worker (`neko-plugin worker`, docs/workers.md): runs the plugins of its own plugin folders for a host on
 * another machine. It finds them as a host does, connects to the host once — a DEALER over `tcp://` with CURVE, its
 * own key pair and the host's public key — and says hello with their manifests. From then on the host decides: it
 * sends `launch`, and the worker starts the process here exactly as a host does (its own socket on `ipc://` with a
 * per-launch admission, the bootstrap on fd 4), relays the process's frames both ways as they are, and reports its
 * output lines and its exit.
 *
 * When the host goes quiet for its timeout (or tells the worker it has no session for it), the worker stops every
 * plugin process it runs for it — nobody can reach them — and says hello again until the host answers; the host then
 * starts them again. ZeroMQ reconnects the connection by itself.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { MAX_FRAME_BYTES, serialSend } from "@neko/protocol";
import { SDK_VERSION } from "@neko/plugin-sdk/version";
import { Dealer } from "zeromq";
import type { HostLogger } from "../host-logger.ts";
import { defaultCacheDir } from "@neko/plugin-sdk/ts-cache";
import { type DiscoveredPlugin, discoverPlugins } from "../manifest/plugin-discovery.ts";
import { refuseUnsafeWriteGrants } from "../manifest/write-grant-problems.ts";
import { LanguageLauncher } from "../supervisor/language-launcher.ts";
import { NodePluginLauncher } from "../supervisor/node-plugin-launcher.ts";
import { launchPermissions } from "../supervisor/permission-flags.ts";
import type { PluginChild, PluginLauncher } from "../supervisor/plugin-launcher.ts";
import { PythonPluginLauncher } from "../supervisor/python-plugin-launcher.ts";
import { realpathOrSelf, runnerPackagePaths } from "../supervisor/runtime-read-paths.ts";
import type { PeerAdmission } from "../transport/host-transport.ts";
import { ZmqHostTransport } from "../transport/zmq-host-transport.ts";
import { helloProof } from "./worker-proof.ts";
import {
  isPlainName,
  packBody,
  type RemoteLaunch,
  type RemotePluginInfo,
  unpackBody,
  WORKER_NAME,
  WORKER_PROTOCOL_VERSION,
  type WorkerHello,
  type WorkerWelcome,
} from "./worker-wire.ts";

export interface PluginWorkerOptions {
  /** The host's worker endpoint: `tcp://host:5570`. */
  connect: string;
  /** The host's public key. */
  serverKey: string;
  /** This worker's key pair (its public key must be authorized on the host). */
  keys: { publicKey: string; secretKey: string };
  /** Plugin roots on this machine. */
  roots: string[];
  /** How the host lists this machine (default: the hostname). */
  name?: string;
  logger: HostLogger;
  runnerPath: string;
  /** Prepares a plugin folder's sources before each launch (the TypeScript compile cache). */
  prepareSources?: (dir: string) => Promise<unknown>;
  /** How often hello is repeated until the host answers (default 1 s). */
  helloIntervalMs?: number;
  /** The host refused this worker for good (a key it does not know, a bad hello): the worker cannot go on. */
  onFatal?: (reason: string) => void;
}

interface Launched {
  pluginId: string;
  hostPeer: string;
  admission: PeerAdmission;
  child: PluginChild;
}

const FALLBACK_TIMEOUT_MS = 5000;

export class PluginWorker {
  private readonly sendParts = serialSend((parts: Buffer[]) => this.socket.send(parts));
  private readonly byHostPeer = new Map<string, Launched>();
  private readonly byLocalPeer = new Map<string, Launched>();
  private plugins = new Map<string, DiscoveredPlugin>();
  private found: DiscoveredPlugin[] = [];
  private welcomed: WorkerWelcome | undefined;
  private lastHeard = 0;
  private closed = false;
  private readonly timer: NodeJS.Timeout;
  private readonly loop: Promise<void>;
  private readonly welcomes: Array<() => void> = [];
  /** New each time the worker starts saying hello (worker-wire.ts). */
  private epoch = randomBytes(16).toString("hex");
  private readonly routingId: string;
  /** Launches still preparing, by host peer: a kill meanwhile cancels them. */
  private readonly preparing = new Map<string, { canceled: boolean }>();
  private refusalLogged = "";
  private constructor(
    private readonly socket: Dealer,
    private readonly local: ZmqHostTransport,
    private readonly launcher: PluginLauncher,
    private readonly runDir: string,
    readonly name: string,
    private readonly options: PluginWorkerOptions,
  ) {
    this.routingId = socket.routingId as string;
    local.onFrame((frame) => {
      const launched = this.byLocalPeer.get(frame.peer);
      const payload = frame.payload();
      // Only a process this worker launched has a connection (the local socket admits no one else).
      if (!launched || !payload) return;
      this.send("frame", launched.hostPeer, Buffer.from(payload.buffer, payload.byteOffset, payload.length));
    });
    this.timer = setInterval(() => this.tick(), options.helloIntervalMs ?? 1000);
    this.loop = this.receiveLoop();
  }

  static async start(options: PluginWorkerOptions): Promise<PluginWorker> {
    const name = options.name ?? os.hostname();
    if (!WORKER_NAME.test(name)) {
      throw new Error(`worker name '${name}' must be 1 to 64 letters, digits, '.', '_' or '-' (use --name)`);
    }
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), "neko-worker-"));
    let local: ZmqHostTransport;
    try {
      local = await ZmqHostTransport.bind(`ipc://${path.join(runDir, "host.sock")}`, { logger: options.logger });
    } catch (error) {
      fs.rmSync(runDir, { recursive: true, force: true });
      throw error;
    }
    const socket = new Dealer({
      linger: 0,
      routingId: randomBytes(16).toString("hex"),
      curveServerKey: options.serverKey,
      curvePublicKey: options.keys.publicKey,
      curveSecretKey: options.keys.secretKey,
      maxMessageSize: MAX_FRAME_BYTES + 1024,
      sendHighWaterMark: 10_000,
      receiveHighWaterMark: 10_000,
      // While the host is away a send fails at once instead of waiting: what cannot reach it is dropped.
      sendTimeout: 0,
      reconnectInterval: 200,
      reconnectMaxInterval: 2000,
      heartbeatInterval: 1000,
      heartbeatTimeout: 3000,
    });
    try {
      socket.connect(options.connect);
    } catch (error) {
      socket.close();
      await local.close();
      fs.rmSync(runDir, { recursive: true, force: true });
      throw new Error(`could not connect to ${options.connect}: ${(error as Error).message}`);
    }
    // The same launchers as a host's: a Python plugin runs with the Python this machine's probe finds.
    const launcher = new LanguageLauncher({
      node: new NodePluginLauncher({ runnerPath: options.runnerPath, logger: options.logger }),
      python: new PythonPluginLauncher({ logger: options.logger }),
    });
    const worker = new PluginWorker(socket, local, launcher, runDir, name, options);
    try {
      await worker.discover();
    } catch (error) {
      await worker.stop();
      throw error;
    }
    worker.hello();
    return worker;
  }

  /** Resolves once the host has welcomed this worker (again, after a loss). */
  whenWelcomed(): Promise<void> {
    if (this.welcomed) return Promise.resolve();
    return new Promise((resolve) => this.welcomes.push(resolve));
  }

  get connected(): boolean {
    return this.welcomed !== undefined;
  }

  /** The plugin processes running now, by plugin id (their pids). */
  running(): Record<string, number | undefined> {
    const out: Record<string, number | undefined> = {};
    for (const launched of this.byHostPeer.values()) out[launched.pluginId] = launched.child.pid;
    return out;
  }

  /** Stops every plugin process, closes the sockets and removes the run folder. */
  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.stopAll("the worker is stopping");
    this.launcher.dispose?.();
    this.socket.close();
    await this.loop;
    await this.local.close();
    fs.rmSync(this.runDir, { recursive: true, force: true });
  }

  private async discover(): Promise<void> {
    const found = await discoverPlugins({ roots: this.options.roots, sdkVersion: SDK_VERSION });
    // One folder per id (the first, as a host keeps), and ids a host can name a folder after.
    const offered = new Map<string, DiscoveredPlugin>();
    for (const d of found) {
      if (offered.has(d.id)) continue;
      if (!isPlainName(d.id) || !isPlainName(path.basename(d.dir))) {
        this.options.logger.warn(
          `not offering ${d.dir}: its id and folder must be plain names (letters, digits, . _ -)`,
        );
        continue;
      }
      offered.set(d.id, d);
    }
    this.found = [...offered.values()];
    this.refuseUnsafeWriteGrants();
    this.plugins = new Map(this.found.filter((d) => d.status === "ok").map((d) => [d.id, d]));
  }

  /**
   * The same rule as the host's (plugin-host.ts): on this machine no plugin may be granted to write where the SDK,
   * the compile cache, this worker's run folder or another plugin's folder is.
   */
  private refuseUnsafeWriteGrants(): void {
    const cacheDir = defaultCacheDir();
    const shared = [
      ...runnerPackagePaths(this.options.runnerPath).map((p) => ({
        path: p,
        what: "the SDK or a package it loads in every plugin",
      })),
      ...(cacheDir === undefined ? [] : [{ path: cacheDir, what: "the TypeScript compile cache every plugin loads" }]),
      { path: this.runDir, what: "the worker's run folder (the socket every plugin connects to)" },
    ];
    refuseUnsafeWriteGrants(this.found, shared, realpathOrSelf);
  }

  private hello(): void {
    const plugins: RemotePluginInfo[] = this.found.map((d) => ({
      id: d.id,
      folder: path.basename(d.dir),
      manifest: readText(d.manifestPath),
      status: d.status,
      problems: d.problems,
      warnings: d.warnings,
    }));
    const proof = helloProof(this.options.keys, this.options.serverKey, {
      name: this.name,
      routingId: this.routingId,
      epoch: this.epoch,
    });
    const hello: WorkerHello = {
      protocol: WORKER_PROTOCOL_VERSION,
      name: this.name,
      publicKey: this.options.keys.publicKey,
      epoch: this.epoch,
      proof,
      sdkVersion: SDK_VERSION,
      plugins,
    };
    this.send("hello", packBody(hello));
  }

  private tick(): void {
    if (this.closed) return;
    if (!this.welcomed) {
      this.hello();
      return;
    }
    const timeoutMs = this.welcomed.timeoutMs || FALLBACK_TIMEOUT_MS;
    if (Date.now() - this.lastHeard > timeoutMs) {
      void this.lost(`nothing heard from the host for ${((Date.now() - this.lastHeard) / 1000).toFixed(1)}s`);
    }
  }

  /** The host is gone, or has no session for us: what runs for it stops, and hello starts again. */
  private async lost(reason: string): Promise<void> {
    if (!this.welcomed) return;
    this.welcomed = undefined;
    this.options.logger.warn(`lost the host: ${reason}; stopping its plugins and saying hello until it answers`);
    for (const pending of this.preparing.values()) pending.canceled = true;
    await this.stopAll(reason);
    // A new epoch: the host knows from it that nothing it launched before runs any more.
    this.epoch = randomBytes(16).toString("hex");
    if (!this.closed) this.hello();
  }

  private async stopAll(reason: string): Promise<void> {
    const all = [...this.byHostPeer.values()];
    if (all.length === 0) return;
    this.options.logger.info(`stopping ${all.length} plugin processes: ${reason}`);
    const exits = all.map((l) => new Promise<void>((resolve) => l.child.onExit(() => resolve())));
    for (const launched of all) launched.child.kill("SIGKILL");
    await Promise.all(exits);
  }

  private send(kind: string, ...rest: Buffer[] | [string, Buffer] | [string, string]): void {
    if (this.closed && kind !== "exit") return;
    const parts = [Buffer.from(kind), ...rest.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : p))];
    // EAGAIN while the host is away: dropped (the host fails what waited on it when it loses this worker).
    this.sendParts(parts).catch(() => undefined);
  }

  private receiveLoop(): Promise<void> {
    return (async () => {
      try {
        for await (const parts of this.socket) {
          try {
            await this.handle(parts);
          } catch (error) {
            this.options.logger.error({ err: error }, "a message from the host could not be handled");
          }
        }
      } catch {
        // Closing the socket ends the iterator.
      }
    })();
  }

  private async handle(parts: Buffer[]): Promise<void> {
    const [kindBytes, first, second] = parts;
    const kind = kindBytes?.toString("latin1");
    if (kind === "refused") {
      const body = unpackBody<{ reason?: unknown; retry?: unknown }>(first);
      const reason = typeof body?.reason === "string" ? body.reason : "no reason given";
      if (body?.retry === false) {
        this.options.logger.error(`the host refused this worker: ${reason}`);
        this.options.onFatal?.(reason);
        return;
      }
      if (this.welcomed) await this.lost(`the host says: ${reason}`);
      else if (this.refusalLogged !== reason) {
        this.refusalLogged = reason;
        this.options.logger.warn(`the host does not take this worker yet: ${reason}; trying again every second`);
      }
      return;
    }
    if (kind === "welcome") {
      const body = unpackBody<Partial<WorkerWelcome>>(first);
      const fresh = !this.welcomed;
      this.welcomed = {
        pingIntervalMs: typeof body?.pingIntervalMs === "number" ? body.pingIntervalMs : 1000,
        timeoutMs: typeof body?.timeoutMs === "number" ? body.timeoutMs : FALLBACK_TIMEOUT_MS,
      };
      this.lastHeard = Date.now();
      if (fresh) this.options.logger.info(`connected to the host at ${this.options.connect} as '${this.name}'`);
      this.refusalLogged = "";
      for (const resolve of this.welcomes.splice(0)) resolve();
      return;
    }
    if (!this.welcomed) return;
    this.lastHeard = Date.now();
    const hostPeer = first?.toString("latin1");
    switch (kind) {
      case "ping":
        this.send("pong");
        return;
      case "frame": {
        if (hostPeer === undefined) return;
        const launched = this.byHostPeer.get(hostPeer);
        if (launched && second) this.local.sendRaw(launched.admission.peer, second);
        else if (!this.preparing.has(hostPeer)) this.notRunning(hostPeer);
        return;
      }
      case "kill": {
        if (hostPeer === undefined) return;
        const launched = this.byHostPeer.get(hostPeer);
        const pending = this.preparing.get(hostPeer);
        const signal = second?.toString("latin1");
        if (launched) launched.child.kill(signal === "SIGKILL" ? "SIGKILL" : "SIGTERM");
        else if (pending) pending.canceled = true;
        else this.notRunning(hostPeer);
        return;
      }
      case "launch":
        // Not awaited: a launch prepares the plugin's sources first, and pings and other plugins' frames go on.
        if (hostPeer !== undefined) void this.launch(hostPeer, unpackBody<Partial<RemoteLaunch>>(second));
        return;
    }
  }

  /** The host speaks of a process this worker does not run (it ended, or a loss cut its exit off): say so. */
  private notRunning(hostPeer: string): void {
    this.send("exit", hostPeer, packBody({ code: null, signal: null, launchFailure: "not running on this worker" }));
  }

  private async launch(hostPeer: string, body: Partial<RemoteLaunch> | undefined): Promise<void> {
    const fail = (launchFailure: string) => {
      this.options.logger.warn(`could not launch for the host: ${launchFailure}`);
      this.send("exit", hostPeer, packBody({ code: null, signal: null, launchFailure }));
    };
    if (this.byHostPeer.has(hostPeer) || this.preparing.has(hostPeer)) return;
    const plugin = typeof body?.pluginId === "string" ? this.plugins.get(body.pluginId) : undefined;
    if (!body || !plugin?.manifest || !plugin.entryModulePath) {
      return fail(`plugin '${String(body?.pluginId)}' is not one this worker runs`);
    }
    if (typeof body.secret !== "string" || typeof body.context !== "object" || body.context === null) {
      return fail("the launch has no secret or context");
    }
    const pending = { canceled: false };
    this.preparing.set(hostPeer, pending);
    const { language } = plugin.manifest.entry;
    try {
      await this.options.prepareSources?.(plugin.dir);
      // Which Python runs it, found here (asynchronously, one probe at a time); a refusal goes back with the exit.
      await this.launcher.prepare?.({ pluginId: plugin.id, ...(language && { language }) });
    } catch (error) {
      // Not launched, and said so: the launch is not awaited, so nothing else would catch it.
      return fail(`could not prepare the launch: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      this.preparing.delete(hostPeer);
    }
    if (pending.canceled || !this.welcomed || this.closed) return fail("canceled before the process was started");
    const admission = this.local.admit(plugin.id);
    let child: PluginChild;
    try {
      child = this.launcher.launch({
        pluginId: plugin.id,
        pluginDir: plugin.dir,
        entryModule: plugin.entryModulePath,
        className: plugin.manifest.entry.className,
        ...(language && { language }),
        secret: body.secret,
        connection: admission.connection,
        context: body.context,
        // A whole number of MiB, or this machine's manifest's: anything else would be a flag Node refuses, leaving
        // the process without a heap limit.
        maxHeapMb:
          Number.isSafeInteger(body.maxHeapMb) && (body.maxHeapMb as number) > 0
            ? (body.maxHeapMb as number)
            : plugin.manifest.permissions.maxHeapMb,
        // This machine's manifest decides what the process may touch here, as a host does for its own plugins.
        permissions: launchPermissions(plugin.manifest),
      });
    } catch (error) {
      admission.dispose();
      return fail(`could not launch the plugin process: ${(error as Error).message}`);
    }
    admission.bindProcess(child.pid);
    const launched: Launched = { pluginId: plugin.id, hostPeer, admission, child };
    this.byHostPeer.set(hostPeer, launched);
    this.byLocalPeer.set(admission.peer, launched);
    this.send("launched", hostPeer, packBody({ pid: child.pid ?? null }));
    child.onLine((line) => this.send("line", hostPeer, packBody(line)));
    child.onExit((exit) => {
      admission.dispose();
      this.byHostPeer.delete(hostPeer);
      this.byLocalPeer.delete(admission.peer);
      // Its last lines first: the host reads its output as complete once the exit is in.
      void child.outputDone().then(() => {
        const { code, signal, launchFailure, refusal } = exit;
        if (refusal !== undefined) this.options.logger.warn({ plugin: plugin.id }, `refused: ${refusal}`);
        this.send(
          "exit",
          hostPeer,
          packBody({
            code,
            signal,
            ...(launchFailure && { launchFailure }),
            ...(refusal !== undefined && { refusal }),
          }),
        );
      });
    });
  }
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return "";
  }
}
