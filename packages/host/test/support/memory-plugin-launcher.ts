/**
 * Plugin "processes" that live in the test: a `PluginLauncher` whose children are scripted plugins speaking the wire
 * protocol over a `MemoryHostTransport`. A test decides what each plugin does (its hello, its startup, how each entry
 * answers, whether it answers pings or shutdown) and when it crashes, so supervision, handshake, deadlines, cancels and
 * restarts are tested in-process, beside the end-to-end tests through real processes.
 */
import { Emitter, type EntryDescriptor, type HostToPlugin, type PluginToHost, type WireResult } from "@neko/protocol";
import type {
  ChildExit,
  ChildLine,
  LaunchRequest,
  PluginChild,
  PluginLauncher,
} from "../../src/supervisor/plugin-launcher.ts";
import type { MemoryConnection, MemoryHostTransport } from "../../src/transport/memory-host-transport.ts";

export type EntryBehaviour = (args: unknown, call: { signal: AbortSignal; plugin: ScriptedChild }) => unknown;

export interface PluginScript {
  entries?: Record<string, EntryBehaviour>;
  /** Seconds, per entry (default 30). */
  timeouts?: Record<string, number>;
  /** Overrides of the hello's fields (a wrong secret, another protocol, …); `false`: never say hello. */
  hello?: Partial<Record<string, unknown>> | false;
  /** The startup result sent with `ready`; `false`: never ready. Default Ok. */
  ready?: WireResult | false;
  /** Answer pings (default true). */
  pong?: boolean;
  /** Answer `shutdown` and exit (default), or ignore it. */
  shutdown?: "answer" | "ignore";
  /**
   * Milliseconds its launch is prepared elsewhere before the process runs (a remote worker's probe): `started`
   * resolves then, and the hello comes right after. Default: it runs at once, with no `started`.
   */
  startsAfterMs?: number;
  /** Runs once the plugin is connected (to send requests, write lines, …). */
  onWelcome?: (plugin: ScriptedChild) => void;
}

let nextPid = 50_000;

export class MemoryPluginLauncher implements PluginLauncher {
  /** Every child launched, oldest first. */
  readonly launched: ScriptedChild[] = [];
  /** What each launch waits for first (a Python launcher's probe): set by a test, none by default. */
  prepare?: PluginLauncher["prepare"];

  constructor(
    private readonly transport: MemoryHostTransport,
    private readonly script: (request: LaunchRequest) => PluginScript,
  ) {}

  launch(request: LaunchRequest): PluginChild {
    const child = new ScriptedChild(request, this.transport.connect(request.connection), this.script(request));
    this.launched.push(child);
    return child;
  }

  /** The newest child of a plugin. */
  latest(pluginId: string): ScriptedChild | undefined {
    return this.launched.filter((c) => c.request.pluginId === pluginId).at(-1);
  }
}

export class ScriptedChild implements PluginChild {
  readonly pid = nextPid++;
  private readonly lines = new Emitter<ChildLine>();
  private readonly exits = new Emitter<ChildExit>();
  readonly onLine = this.lines.event;
  readonly onExit = this.exits.event;
  /** Everything the host sent this plugin, in order. */
  readonly received: HostToPlugin[] = [];
  exited: ChildExit | undefined;
  private readonly running = new Map<string, AbortController>();
  private readonly requests = new Map<string, (result: WireResult) => void>();
  private nextRequest = 1;
  readonly started: Promise<void> | undefined;

  constructor(
    readonly request: LaunchRequest,
    readonly connection: MemoryConnection,
    private readonly script: PluginScript,
  ) {
    connection.onMessage((message) => this.handle(message));
    const { startsAfterMs } = script;
    if (startsAfterMs !== undefined) {
      this.started = new Promise((resolve) => setTimeout(resolve, startsAfterMs));
    }
    // A process says hello once it has started: on a later turn, after the launcher returned.
    void (this.started ?? Promise.resolve()).then(() => {
      if (this.exited || script.hello === false) return;
      this.send({
        type: "hello",
        protocol: 1,
        pluginId: request.pluginId,
        secret: request.secret,
        sdkVersion: "0.0.0-scripted",
        pid: this.pid,
        entries: Object.keys(script.entries ?? {}).map((id) => entryDescriptor(id, script.timeouts?.[id] ?? 30)),
        events: [],
        hooks: [],
        timers: [],
        ...script.hello,
      } as PluginToHost);
    });
  }

  send(message: PluginToHost): void {
    if (!this.exited) this.connection.send(message);
  }

  /** Asks the host for a service, as the SDK's `request` does. */
  ask(method: string, params: unknown, deadline = Date.now() + 5000): Promise<WireResult> {
    const id = `r${this.nextRequest++}`;
    return new Promise((resolve) => {
      this.requests.set(id, resolve);
      this.send({ type: "request", id, method, params, deadline });
    });
  }

  writeLine(stream: "stdout" | "stderr", line: string): void {
    setImmediate(() => this.lines.fire({ stream, line }));
  }

  /** The process ends: its connection closes, and the exit is reported on a later turn. */
  exit(code: number | null, signal: NodeJS.Signals | null = null): void {
    if (this.exited) return;
    this.exited = { code, signal };
    void this.connection.close();
    for (const controller of this.running.values()) controller.abort();
    const info = this.exited;
    setImmediate(() => this.exits.fire(info));
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    this.exit(null, signal);
  }

  outputDone(): Promise<void> {
    return Promise.resolve();
  }

  private handle(message: HostToPlugin): void {
    if (this.exited) return;
    this.received.push(message);
    switch (message.type) {
      case "welcome":
        this.script.onWelcome?.(this);
        if (this.script.ready !== false) this.send({ type: "ready", startup: this.script.ready ?? ok(null) });
        return;
      case "ping":
        if (this.script.pong !== false) this.send({ type: "pong", id: message.id });
        return;
      case "call":
        void this.call(message.id, message.entryId, message.args);
        return;
      case "cancel":
        this.running.get(message.id)?.abort();
        return;
      case "control":
        this.send({
          type: "result",
          id: message.id,
          result: fail("NotFoundError", "NOT_FOUND", `unknown control operation '${message.op}'`),
        });
        return;
      case "shutdown":
        if (this.script.shutdown === "ignore") return;
        this.send({ type: "result", id: message.id, result: ok(null) });
        this.exit(0);
        return;
      case "response":
        this.requests.get(message.id)?.(message.result);
        this.requests.delete(message.id);
        return;
      default:
        return;
    }
  }

  private async call(id: string, entryId: string, args: unknown): Promise<void> {
    const behaviour = this.script.entries?.[entryId];
    if (!behaviour) {
      this.send({ type: "result", id, result: fail("NotFoundError", "ENTRY_NOT_FOUND", `no entry '${entryId}'`) });
      return;
    }
    const controller = new AbortController();
    this.running.set(id, controller);
    const canceled = new Promise<WireResult>((resolve) =>
      controller.signal.addEventListener("abort", () => resolve(fail("SdkError", "CANCELED", "the call was canceled"))),
    );
    const answered = Promise.resolve()
      .then(() => behaviour(args, { signal: controller.signal, plugin: this }))
      .then(
        (value) => ok(value),
        (error: Error) => fail("Error", "ENTRY_FAILED", error.message),
      );
    const result = await Promise.race([answered, canceled]);
    this.running.delete(id);
    this.send({ type: "result", id, result });
  }
}

function entryDescriptor(id: string, timeout: number): EntryDescriptor {
  return {
    id,
    name: id,
    description: "",
    inputSchema: null,
    kind: "action",
    timeout,
    llmResultFields: null,
    enabled: true,
    dynamic: false,
    metadata: null,
  };
}

const ok = (value: unknown): WireResult => ({ ok: true, value });
const fail = (name: string, code: string, message: string): WireResult => ({
  ok: false,
  error: { name, code, message },
});

/** An entry that never answers on its own: only a cancel or the deadline ends it. */
export const hangs: EntryBehaviour = (_args, { signal }) =>
  new Promise((resolve) => signal.addEventListener("abort", () => resolve(undefined)));
