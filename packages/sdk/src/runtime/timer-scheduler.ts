/**
 * The plugin's interval timers (`@timerInterval`, SPEC §3.5), on the plugin's one event loop. Each timer's ticks never
 * overlap: the next tick starts one interval after the previous one started, or as soon as it ends if it ran longer
 * (missed ticks are skipped, never queued). A tick's error is logged and the timer goes on.
 */
import type { PluginLogger } from "../plugin-logger.ts";
import { isResult } from "../result.ts";
import type { TimerTick } from "../trigger-decorators.ts";
import { assertSeconds } from "../seconds-limit.ts";

export interface TimerSpec {
  id: string;
  seconds: number;
  name: string;
  autoStart: boolean;
  tick: (tick: TimerTick) => unknown;
}

export interface TimerDescriptor {
  id: string;
  seconds: number;
  name: string;
  autoStart: boolean;
}

interface TimerState {
  spec: TimerSpec;
  /** Ticking (or about to): start() sets it, stop() clears it. */
  active: boolean;
  /** Bumped by every start/stop, so a callback from an earlier run of the timer does nothing. */
  epoch: number;
  handle: NodeJS.Timeout | undefined;
  inFlight: Promise<void> | undefined;
  ticks: number;
}

export class TimerScheduler {
  private readonly timers = new Map<string, TimerState>();
  /** Timers only tick once the plugin has started; a start() before that waits for it. */
  private running = false;
  private closed = false;

  constructor(private readonly logger: PluginLogger) {}

  add(spec: TimerSpec): void {
    if (this.timers.has(spec.id)) throw new TypeError(`timer id '${spec.id}' is already taken`);
    assertSeconds(`timer '${spec.id}': seconds`, spec.seconds);
    this.timers.set(spec.id, {
      spec,
      active: spec.autoStart,
      epoch: 0,
      handle: undefined,
      inFlight: undefined,
      ticks: 0,
    });
  }

  describe(): TimerDescriptor[] {
    return [...this.timers.values()].map(({ spec }) => ({
      id: spec.id,
      seconds: spec.seconds,
      name: spec.name,
      autoStart: spec.autoStart,
    }));
  }

  /** Called once the plugin has started: every active timer (autoStart, or started early) begins its first interval. */
  begin(): void {
    if (this.closed || this.running) return;
    this.running = true;
    for (const state of this.timers.values()) if (state.active) this.schedule(state, state.spec.seconds * 1000);
  }

  /** Starts a timer (its first tick comes after its interval); false for an unknown id or once stopped for good. */
  start(id: string): boolean {
    const state = this.timers.get(id);
    if (!state || this.closed) return false;
    if (state.active) return true;
    state.active = true;
    state.epoch += 1;
    if (this.running) this.schedule(state, state.spec.seconds * 1000);
    return true;
  }

  /** Stops a timer; a tick in progress finishes. False for an unknown id. */
  stop(id: string): boolean {
    const state = this.timers.get(id);
    if (!state) return false;
    this.halt(state);
    return true;
  }

  isActive(id: string): boolean {
    return this.timers.get(id)?.active ?? false;
  }

  /** Stops every timer for good and waits (at most `graceMs`) for ticks in progress to finish. */
  async stopAll(graceMs = 1000): Promise<void> {
    this.closed = true;
    for (const state of this.timers.values()) this.halt(state);
    const inFlight = [...this.timers.values()].flatMap((s) => (s.inFlight ? [s.inFlight] : []));
    if (inFlight.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const waited = await Promise.race([
      Promise.all(inFlight).then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (!waited) this.logger.warn(`a timer tick was still running ${graceMs}ms after the timers were stopped`);
  }

  private halt(state: TimerState): void {
    state.active = false;
    state.epoch += 1;
    clearTimeout(state.handle);
    state.handle = undefined;
  }

  private schedule(state: TimerState, delayMs: number): void {
    const epoch = state.epoch;
    clearTimeout(state.handle);
    state.handle = setTimeout(() => void this.fire(state, epoch), Math.max(0, delayMs));
  }

  private async fire(state: TimerState, epoch: number): Promise<void> {
    state.handle = undefined;
    // A tick from before a stop/start may still run: wait for it rather than overlap it.
    if (state.inFlight) await state.inFlight;
    if (!state.active || state.epoch !== epoch) return;
    const startedAt = Date.now();
    state.ticks += 1;
    const tick = this.runTick(state.spec, state.ticks);
    state.inFlight = tick;
    await tick;
    state.inFlight = undefined;
    if (state.active && state.epoch === epoch) this.schedule(state, startedAt + state.spec.seconds * 1000 - Date.now());
  }

  private async runTick(spec: TimerSpec, tick: number): Promise<void> {
    try {
      const result = await spec.tick({ timerId: spec.id, tick });
      if (isResult(result) && !result.ok) {
        const error = result.error as { message?: string } | undefined;
        this.logger.warn(`timer '${spec.id}' tick ${tick} returned an error: ${error?.message ?? String(error)}`, {
          timer: spec.id,
          tick,
        });
      }
    } catch (error) {
      this.logger.exception(`timer '${spec.id}' tick ${tick} threw`, error, { timer: spec.id, tick });
    }
  }
}
