/**
 * Heartbeat for one plugin process (SPEC §4.1): a ping every interval; when no pong has come back for
 * `missesAllowed` intervals (a blocked event loop, a hung process), the process is reported unresponsive.
 *
 * Silence is counted only while the host itself was listening. When a tick comes more than an interval late, the
 * host's own event loop was blocked (a long synchronous task, a swap storm, a debugger): the pongs of that time may
 * still be waiting unread in the socket, so the plugin is not judged on them — its silence counts from that tick.
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
  private lastTickAt = 0;
  /** Silence before this moment does not count: the host was not listening. */
  private listeningSince = 0;
  /** Ticks that came late because the host was stalled (for tests and logs). */
  stalls = 0;

  constructor(
    private readonly options: HeartbeatOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** Pings at once too: the pong brings the process's figures (`GET /plugin/metrics`) without waiting an interval. */
  start(): void {
    this.stop();
    this.lastTickAt = this.now();
    this.listeningSince = this.lastTickAt;
    this.timer = setInterval(() => this.tick(), timerDelay(this.options.intervalMs));
    this.timer.unref();
    this.options.sendPing();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One interval has passed (public for tests, which drive it with their own clock). */
  tick(): void {
    const now = this.now();
    const lateMs = now - this.lastTickAt - this.options.intervalMs;
    this.lastTickAt = now;
    if (lateMs > this.options.intervalMs) {
      this.stalls += 1;
      this.listeningSince = now;
      this.options.sendPing();
      return;
    }
    const silentMs = now - Math.max(this.options.lastPongAt(), this.listeningSince);
    if (silentMs > this.options.intervalMs * this.options.missesAllowed) {
      this.stop();
      this.options.onUnresponsive(silentMs);
      return;
    }
    this.options.sendPing();
  }
}
