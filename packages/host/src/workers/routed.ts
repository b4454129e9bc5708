/**
 * One transport and one launcher for the supervisor, over two places a plugin may run: this machine (the local
 * socket, Node processes) or a remote worker (the worker hub). Where each plugin runs is the host's answer to
 * `placement(pluginId)`: a worker's name, or undefined for here.
 */
import type { HostToPlugin } from "@neko/protocol";
import type { LaunchPreparation, LaunchRequest, PluginChild, PluginLauncher } from "../supervisor/plugin-launcher.ts";
import type { HostTransport, IncomingFrame, PeerAdmission } from "../transport/host-transport.ts";
import { isRemotePeer, type WorkerHub } from "./worker-hub.ts";

export type Placement = (pluginId: string) => string | undefined;

export class RoutedHostTransport implements HostTransport {
  constructor(
    private readonly local: HostTransport,
    private readonly hub: WorkerHub,
    private readonly placement: Placement,
  ) {}

  get endpoint(): string {
    return this.local.endpoint;
  }

  get refusedConnections(): number {
    return this.local.refusedConnections + this.hub.refused;
  }

  admit(label: string): PeerAdmission {
    const worker = this.placement(label);
    return worker === undefined ? this.local.admit(label) : this.hub.admit(worker);
  }

  onFrame(handler: (frame: IncomingFrame) => void): void {
    this.local.onFrame(handler);
    this.hub.onFrame(handler);
  }

  send(peer: string, message: HostToPlugin): void {
    if (isRemotePeer(peer)) this.hub.send(peer, message);
    else this.local.send(peer, message);
  }

  async close(): Promise<void> {
    await Promise.all([this.local.close(), this.hub.close()]);
  }
}

export class RoutedLauncher implements PluginLauncher {
  constructor(
    private readonly local: PluginLauncher,
    private readonly hub: WorkerHub,
    private readonly placement: Placement,
  ) {}

  /** Only for a launch here: a worker prepares its own launches (its own Python, say). */
  prepare(request: LaunchPreparation): Promise<void> {
    if (this.placement(request.pluginId) !== undefined) return Promise.resolve();
    return this.local.prepare?.(request) ?? Promise.resolve();
  }

  /** A worker's launch boots nothing here. */
  runsHere(pluginId: string): boolean {
    return this.placement(pluginId) === undefined;
  }

  dispose(): void {
    this.local.dispose?.();
  }

  launch(request: LaunchRequest): PluginChild {
    const worker = this.placement(request.pluginId);
    return worker === undefined ? this.local.launch(request) : this.hub.launch(worker, request);
  }
}
