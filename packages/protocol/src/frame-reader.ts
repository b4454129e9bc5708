/**
 * Reads length-prefixed frames (frame-decoder.ts) from a byte stream at the pace its reader takes them: at most
 * `turnFrames` frames or `turnBytes` payload bytes per event-loop turn. When a turn's budget is spent, the stream is
 * paused (its socket stops being read, so a peer that writes faster meets backpressure: its writes block or queue on
 * its side) and the rest is cut at the next turn (setImmediate, after the other I/O of this turn), then the stream is
 * resumed. A peer flooding tiny frames so costs the reader one budget per turn, never a stalled event loop.
 */
import { FrameDecoder } from "./frame-decoder.ts";

/** Frames one stream hands over per event-loop turn, at most. */
export const TURN_FRAMES = 1000;
/** Payload bytes one stream hands over per event-loop turn, at most (a bigger frame still passes whole). */
export const TURN_BYTES = 1024 * 1024;

/** What the reader needs of a stream (a `net.Socket`, a `Duplex`). */
export interface FrameSource {
  on(event: "data", listener: (chunk: Buffer) => void): unknown;
  pause(): unknown;
  resume(): unknown;
}

export interface FrameReaderOptions {
  maxFrameBytes: number;
  onFrame(payload: Buffer): void;
  /** The stream broke the framing (a length of 0 or over the limit): called once, nothing more is delivered. */
  onProblem(problem: string): void;
  turnFrames?: number;
  turnBytes?: number;
}

export class FrameReader {
  readonly decoder: FrameDecoder;
  private paused = false;
  private turnScheduled = false;
  private reported = false;

  constructor(
    private readonly source: FrameSource,
    private readonly options: FrameReaderOptions,
  ) {
    this.decoder = new FrameDecoder({
      maxFrameBytes: options.maxFrameBytes,
      onFrame: options.onFrame,
      turnFrames: options.turnFrames ?? TURN_FRAMES,
      turnBytes: options.turnBytes ?? TURN_BYTES,
    });
    source.on("data", (chunk) => {
      this.after(this.decoder.push(chunk));
      // The budget is per turn: whatever the chunks of this turn, it is renewed at the next.
      this.schedule();
    });
  }

  /** Stops for good: nothing more is delivered (frames waiting for the next turn are dropped). */
  stop(why: string): void {
    this.reported = true;
    this.decoder.stop(why);
  }

  private schedule(): void {
    if (this.turnScheduled || this.decoder.problem !== undefined) return;
    this.turnScheduled = true;
    setImmediate(this.turn);
  }

  private readonly turn = () => {
    this.turnScheduled = false;
    this.after(this.decoder.nextTurn());
    if (this.decoder.problem !== undefined) return;
    if (this.decoder.waiting) {
      this.schedule();
    } else if (this.paused) {
      this.paused = false;
      this.source.resume();
    }
  };

  private after(problem: string | undefined): void {
    if (problem !== undefined) {
      if (this.reported) return;
      this.reported = true;
      this.options.onProblem(problem);
      return;
    }
    if (this.decoder.waiting && !this.paused) {
      this.paused = true;
      this.source.pause();
    }
  }
}
