/**
 * The host's fast local transport: one private socket pair per plugin process, no endpoint anywhere. The launcher
 * gives the process an extra stdio slot of type `pipe` (libuv makes it with `socketpair(AF_UNIX, SOCK_STREAM)`), the
 * process opens it as fd `PIPE_FD`, and the frames are the same msgpack messages, each behind a 4-byte big-endian
 * length (frame-decoder.ts, docs/wire-protocol.md). No other process can connect: there is no path, no port, and the
 * descriptor exists only in the host and in the one child it was made for — so a peer's identity is the pipe its frames
 * came on. The handshake (the secret from the bootstrap descriptor) is the supervisor's, as on ZeroMQ.
 *
 * Under load, frames queued in the same tick leave in one write (the socket is corked until the next tick), and a read
 * chunk is cut into as many frames as it holds without copying them. A peer that breaks the framing (a length of 0 or
 * over MAX_FRAME_BYTES) has its pipe closed and its process ended through `PeerChannel.misbehaved`. What the host queues
 * for a peer that stops reading is bounded (`maxQueuedBytes`, counting the frame being queued; an empty queue takes any
 * one frame): past it, further messages to that peer are dropped, as a ZeroMQ ROUTER drops messages to a peer at its
 * high-water mark — the calls they carried time out. What a peer sends is read a turn's budget at a time
 * (frame-reader.ts): a flooding peer's pipe is paused, never the host's event loop.
 */
import { randomBytes } from "node:crypto";
import type { Duplex } from "node:stream";
import {
  encodeStreamFrame,
  FrameReader,
  type HostToPlugin,
  MAX_FRAME_BYTES,
  PIPE_FD,
  type PluginConnection,
} from "@neko/protocol";
import type { HostLogger } from "../host-logger.ts";
import { RateLimitedLog } from "../rate-limited-log.ts";
import type { HostTransport, IncomingFrame, PeerAdmission, PeerChannel } from "./host-transport.ts";
import { PayloadFrame } from "./memory-host-transport.ts";

/** What the host queues for one peer (bytes not yet taken by its socket) before it drops further messages to it. */
export const DEFAULT_MAX_QUEUED_BYTES = 16 * 1024 * 1024;

/** The peer ids of this transport: `pipe:` and 32 hex characters (never a ZeroMQ routing id or a worker's peer). */
export const PIPE_PEER_PREFIX = "pipe:";

export function isPipePeer(peer: string): boolean {
  return peer.startsWith(PIPE_PEER_PREFIX);
}

export interface PipeHostTransportOptions {
  logger: HostLogger;
  maxQueuedBytes?: number;
  maxFrameBytes?: number;
}

/** One connected process: its stream, its reader, and whether its writes of this tick are gathered yet. */
class PipePeer {
  corked = false;
  dropped = 0;
  reader: FrameReader | undefined;

  constructor(
    readonly id: string,
    readonly stream: Duplex,
  ) {}
}

function uncork(peer: PipePeer): void {
  peer.corked = false;
  peer.stream.uncork();
}

export class PipeHostTransport implements HostTransport {
  /** There is nothing to connect to: each process gets its own socket pair at launch. */
  readonly endpoint = `pipe:${PIPE_FD}`;
  readonly refusedConnections = 0;
  /** Messages dropped because their peer's queue was full. */
  droppedMessages = 0;
  private handler: ((frame: IncomingFrame) => void) | undefined;
  private readonly peers = new Map<string, PipePeer>();
  private readonly admissions = new Set<string>();
  private closed = false;
  private readonly maxQueuedBytes: number;
  private readonly maxFrameBytes: number;
  private readonly dropLog: RateLimitedLog;

  constructor(private readonly options: PipeHostTransportOptions) {
    this.maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    this.maxFrameBytes = options.maxFrameBytes ?? MAX_FRAME_BYTES;
    this.dropLog = new RateLimitedLog(options.logger, 10_000);
  }

  admit(_label: string): PeerAdmission {
    const routingId = randomBytes(16).toString("hex");
    const peer = `${PIPE_PEER_PREFIX}${routingId}`;
    const connection: PluginConnection = { endpoint: this.endpoint, routingId, curve: null };
    this.admissions.add(peer);
    return {
      peer,
      connection,
      bindProcess: (_pid, channel) => {
        if (!channel?.stream) return;
        if (this.admissions.has(peer) && !this.closed) this.attach(peer, channel);
        // A launch the host no longer expects (it is stopping): its pipe is closed, or, unread, it would keep the
        // host's event loop alive.
        else channel.stream.destroy();
      },
      dispose: () => {
        this.admissions.delete(peer);
        this.detach(peer);
      },
    };
  }

  /** Connected peers (processes whose pipe is open). */
  get connected(): number {
    return this.peers.size;
  }

  onFrame(handler: (frame: IncomingFrame) => void): void {
    this.handler = handler;
  }

  send(peer: string, message: HostToPlugin): void {
    const target = this.peers.get(peer);
    // A send to a peer that has gone is dropped, as ROUTER drops it.
    if (this.closed || target === undefined) return;
    // Throws for a message msgpack cannot encode or over MAX_FRAME_BYTES, before anything is queued.
    const frame = encodeStreamFrame(message);
    this.write(target, frame);
  }

  /** Sends bytes that are already one encoded frame (without its length). */
  sendRaw(peer: string, payload: Uint8Array): void {
    const target = this.peers.get(peer);
    if (this.closed || target === undefined) return;
    const frame = Buffer.allocUnsafe(4 + payload.length);
    frame.writeUInt32BE(payload.length, 0);
    frame.set(payload, 4);
    this.write(target, frame);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const peer of [...this.peers.keys()]) this.detach(peer);
    this.admissions.clear();
  }

  private write(target: PipePeer, frame: Buffer): void {
    const { stream } = target;
    // The queue holds at most maxQueuedBytes with this frame in it; an empty queue takes any one frame (up to
    // MAX_FRAME_BYTES, which may be larger than the bound), or a big message could never be sent.
    const queued = stream.writableLength;
    if (queued > 0 && queued + frame.length > this.maxQueuedBytes) {
      target.dropped += 1;
      this.droppedMessages += 1;
      this.dropLog.warn(
        target.id,
        { queuedBytes: queued, frameBytes: frame.length, dropped: target.dropped },
        "dropped a message to a plugin that does not read its pipe (its queue is full)",
      );
      return;
    }
    // Frames sent in the same tick leave together: one writev when the tick ends.
    if (!target.corked) {
      target.corked = true;
      stream.cork();
      process.nextTick(uncork, target);
    }
    stream.write(frame);
  }

  private attach(id: string, channel: PeerChannel): void {
    const stream = channel.stream as Duplex;
    const peer = new PipePeer(id, stream);
    this.peers.set(id, peer);
    // At most a turn's budget of frames per event-loop turn (frame-reader.ts): past it the pipe is paused, so a
    // flooding plugin meets backpressure instead of stalling the host.
    peer.reader = new FrameReader(stream, {
      maxFrameBytes: this.maxFrameBytes,
      onFrame: (payload) => {
        try {
          this.handler?.(new PayloadFrame(id, payload));
        } catch (error) {
          // One frame that cannot be handled must not stop this peer's stream, nor reach the event loop.
          this.options.logger.error({ err: error }, "a frame from a plugin could not be handled");
        }
      },
      onProblem: (problem) => {
        if (this.peers.get(id) !== peer) return;
        this.options.logger.warn({ problem }, "closed a plugin's pipe: it broke the framing");
        this.detach(id);
        channel.misbehaved(`it broke the framing of its pipe to the host (${problem})`);
      },
    });
    // A process that exits mid-frame leaves a half frame: it is dropped with the stream.
    stream.on("error", () => this.detach(id));
    stream.on("close", () => this.detach(id));
  }

  private detach(id: string): void {
    const peer = this.peers.get(id);
    if (peer === undefined) return;
    this.peers.delete(id);
    peer.reader?.stop("closed");
    peer.stream.destroy();
  }
}
