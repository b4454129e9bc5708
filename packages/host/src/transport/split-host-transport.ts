/**
 * The host's local transports side by side: ZeroMQ (always bound: Python plugins and what asks for it) and the pipe
 * transport, with each plugin's launch admitted on the one `choose` names for it. Frames from both reach one handler;
 * a send goes by the peer id (`pipe:…` is a pipe peer).
 */
import type { HostToPlugin } from "@neko/protocol";
import type { HostTransport, IncomingFrame, PeerAdmission } from "./host-transport.ts";
import type { TransportKind } from "./local-transport-choice.ts";
import { isPipePeer, type PipeHostTransport } from "./pipe-host-transport.ts";

export class SplitHostTransport implements HostTransport {
  constructor(
    private readonly zmq: HostTransport,
    private readonly pipe: PipeHostTransport,
    /** The transport for the launch of plugin `label`. */
    private readonly choose: (label: string) => TransportKind,
  ) {}

  get endpoint(): string {
    return this.zmq.endpoint;
  }

  get refusedConnections(): number {
    return this.zmq.refusedConnections;
  }

  admit(label: string): PeerAdmission {
    return this.choose(label) === "pipe" ? this.pipe.admit(label) : this.zmq.admit(label);
  }

  onFrame(handler: (frame: IncomingFrame) => void): void {
    this.zmq.onFrame(handler);
    this.pipe.onFrame(handler);
  }

  send(peer: string, message: HostToPlugin): void {
    if (isPipePeer(peer)) this.pipe.send(peer, message);
    else this.zmq.send(peer, message);
  }

  async close(): Promise<void> {
    await Promise.all([this.zmq.close(), this.pipe.close()]);
  }
}
