/**
 * Heartbeat for one plugin process (SPEC §4.1): a ping every interval; when no pong has come back for
 * `missesAllowed` intervals (a blocked event loop, a hung process), the process is reported unresponsive.
 */
import { timerDelay } from "@neko/protocol";

export interface HeartbeatOptions {
  intervalMs: number;
  missesAllowed: number;
  sendPing: () => void;
  lastPongAt: () => number;
  onUnresponsive: (silentMs: number) => void;
}

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 5000;

export class HeartbeatMonitor {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: HeartbeatOptions) {}

  /** Pings at once too: the pong brings the process's figures (`GET /plugin/metrics`) without waiting an interval. */
  start(): void {
    this.stop();
    this.timer = setInterval(() => this.tick(), timerDelay(this.options.intervalMs));
    this.timer.unref();
    this.options.sendPing();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    const silentMs = Date.now() - this.options.lastPongAt();
    if (silentMs > this.options.intervalMs * this.options.missesAllowed) {
      this.stop();
      this.options.onUnresponsive(silentMs);
      return;
    }
    this.options.sendPing();
  }
}
