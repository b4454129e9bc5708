/**
 * How many plugin processes boot at once. A process's boot (Node starting, the runtime and the plugin's modules
 * loading, up to its hello) is mostly CPU: fifty launched at once share the cores fifty ways, none says hello within
 * its handshake time, and all fail. The gate lets `size` processes boot at a time; the others wait (their plugin is
 * `starting`) and each is launched as a slot frees, so its handshake time counts from its own launch.
 *
 * A slot is lent back after `lendAfterMs` (default 4 s) even if its process has not said hello yet: one boot that
 * hangs (or waits on something that uses no CPU) holds its slot that long, not its whole handshake time, and cannot
 * stop every other start. Its handshake keeps its own time limit. A launch on a remote worker takes no slot at all
 * (the supervisor asks the launcher's `runsHere`).
 */
import os from "node:os";

/** What a slot waits on: its holder gives it back once the process has said hello (or failed to). */
export type LaunchSlot = () => void;

interface Waiter {
  abandoned: () => boolean;
  resolve: (slot: LaunchSlot | undefined) => void;
}

/** How long a boot holds its slot at most, by default. */
export const DEFAULT_SLOT_LEND_MS = 4000;

export class LaunchGate {
  private booting = 0;
  private readonly waiting: Waiter[] = [];
  private readonly lendAfterMs: number;

  /**
   * `size`: how many processes may boot at once (at least 1; `Infinity`: no gate); `lendAfterMs`: how long a slot is
   * held at most before it is lent back to the next waiter.
   */
  constructor(
    readonly size: number,
    options: { lendAfterMs?: number } = {},
  ) {
    if (!(size >= 1)) throw new RangeError(`a launch gate needs a size of at least 1, not ${size}`);
    this.lendAfterMs = options.lendAfterMs ?? DEFAULT_SLOT_LEND_MS;
  }

  /** How many processes boot now, and how many launches wait for a slot. */
  get counts(): { booting: number; waiting: number } {
    return { booting: this.booting, waiting: this.waiting.length };
  }

  /**
   * A slot to launch a process in, once one is free; undefined when `abandoned()` turns true first (a stop, the host
   * shutting down: say so with `recheck()`), and then nothing may be launched.
   */
  acquire(abandoned: () => boolean): Promise<LaunchSlot | undefined> {
    if (abandoned()) return Promise.resolve(undefined);
    if (this.booting < this.size && this.waiting.length === 0) return Promise.resolve(this.take());
    return new Promise((resolve) => this.waiting.push({ abandoned, resolve }));
  }

  /** Ends the waits whose launch was abandoned since (they resolve undefined). */
  recheck(): void {
    for (const waiter of [...this.waiting]) {
      if (waiter.abandoned()) {
        this.waiting.splice(this.waiting.indexOf(waiter), 1);
        waiter.resolve(undefined);
      }
    }
  }

  private take(): LaunchSlot {
    this.booting += 1;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(lend);
      this.booting -= 1;
      this.next();
    };
    // Lent back once the boot took that long; the holder's own release then counts for nothing.
    const lend = setTimeout(release, this.lendAfterMs);
    lend.unref();
    return release;
  }

  private next(): void {
    this.recheck();
    while (this.booting < this.size && this.waiting.length > 0) {
      (this.waiting.shift() as Waiter).resolve(this.take());
    }
  }
}

/**
 * The gate's size: `NEKO_PLUGIN_LAUNCH_CONCURRENCY` when it is a whole number ≥ 1 (`0`: no gate), else the option,
 * else the machine's parallelism (at least 2). A value that is neither is ignored with the reason.
 */
export function launchConcurrency(
  option: number | undefined,
  env: NodeJS.ProcessEnv = process.env,
): { size: number; problem?: string } {
  const fallback = Math.max(2, os.availableParallelism());
  const raw = env.NEKO_PLUGIN_LAUNCH_CONCURRENCY;
  if (raw !== undefined && raw.trim() !== "") {
    const n = Number(raw);
    if (Number.isInteger(n) && n >= 0) return { size: n === 0 ? Number.POSITIVE_INFINITY : n };
    return {
      size: option ?? fallback,
      problem: `NEKO_PLUGIN_LAUNCH_CONCURRENCY must be a whole number (0: no limit), not '${raw}'`,
    };
  }
  if (option !== undefined) return { size: option === 0 ? Number.POSITIVE_INFINITY : option };
  return { size: fallback };
}
