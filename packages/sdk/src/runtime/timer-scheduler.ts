/**
 * The plugin's interval timers (`@timerInterval`, SPEC §3.5), on the plugin's one event loop. Each timer's ticks never
 * overlap: the next tick starts one interval after the previous one started, or as soon as it ends if it ran longer
 * (missed ticks are skipped, never queued). A tick's error is logged and the timer goes on. An interval may come from
 * the configuration (`seconds: "config:check.interval"`), read at load and again after each accepted change; one
 * given to `start(id, { seconds })` wins until the timer stops.
 */
import type { PluginLogger } from "../plugin-logger.ts";
import { isResult } from "../result.ts";
import type { TimerTick } from "../trigger-decorators.ts";
import { configuredSecondsProblem } from "@neko/protocol";
import { assertSeconds, configKeyOf } from "../seconds-limit.ts";

export interface TimerSpec {
  id: string;
  /** A number of seconds, or `"config:<path>"`: the number at that key of the configuration. */
  seconds: number | string;
  name: string;
  autoStart: boolean;
  /** The first tick comes at once when the timer starts, instead of one interval later. */
  runImmediately?: boolean;
  tick: (tick: TimerTick) => unknown;
}

export interface TimerStartOptions {
  /** This interval instead of the declared one (or the configured one), until the timer stops. */
  seconds?: number;
  /** The first tick at once (default: the timer's `runImmediately`). */
  runImmediately?: boolean;
}

/** Reads one configuration value by dotted path (undefined when absent). */
export type ConfigReader = (path: string) => unknown;

export interface TimerDescriptor {
  id: string;
  seconds: number;
  name: string;
  autoStart: boolean;
  /** The configuration key its interval is read from (`seconds: "config:<key>"`), so the host can check it too. */
  secondsFrom?: string;
}

interface TimerState {
  spec: TimerSpec;
  /** The configuration key its interval comes from, if any. */
  configKey: string | undefined;
  /** The declared or configured interval; undefined for a configured one not read yet. */
  baseSeconds: number | undefined;
  /** From `start(id, { seconds })`, until the timer stops. */
  overrideSeconds: number | undefined;
  /** When the current interval began: the last tick's start, or the timer's start. */
  since: number;
  /** `runImmediately` of a start() made before the plugin started, for begin(). */
  startNow: boolean | undefined;
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

  private readConfig: ConfigReader | undefined;

  constructor(private readonly logger: PluginLogger) {}

  add(spec: TimerSpec): void {
    if (this.timers.has(spec.id)) throw new TypeError(`timer id '${spec.id}' is already taken`);
    const configKey = configKeyOf(`timer '${spec.id}': seconds`, spec.seconds);
    if (configKey === undefined) assertSeconds(`timer '${spec.id}': seconds`, spec.seconds);
    const baseSeconds = configKey === undefined ? (spec.seconds as number) : undefined;
    this.timers.set(spec.id, {
      spec,
      configKey,
      baseSeconds,
      overrideSeconds: undefined,
      since: 0,
      startNow: undefined,
      active: spec.autoStart,
      epoch: 0,
      handle: undefined,
      inFlight: undefined,
      ticks: 0,
    });
  }

  describe(): TimerDescriptor[] {
    return [...this.timers.values()].map((state) => ({
      id: state.spec.id,
      seconds: secondsOf(state) ?? 0,
      name: state.spec.name,
      autoStart: state.spec.autoStart,
      ...(state.configKey !== undefined && { secondsFrom: state.configKey }),
    }));
  }

  /** The configuration configured intervals are read from (`useConfig` then `applyConfig` at load). */
  useConfig(read: ConfigReader): void {
    this.readConfig = read;
  }

  /**
   * What is wrong with the configuration `read` gives for the configured intervals (a key missing, or not a number of
   * seconds), naming the timer and the key; undefined when every one is fine.
   */
  configProblem(read: ConfigReader | undefined = this.readConfig): string | undefined {
    for (const state of this.timers.values()) {
      if (state.configKey === undefined) continue;
      const problem = configuredProblem(state, read);
      if (problem) return problem;
    }
    return undefined;
  }

  /**
   * Reads the configured intervals again (at load, and after an accepted configuration change). A running timer whose
   * interval changed keeps its ticks' rhythm from its last tick: the next one comes the new interval after it (at once
   * if that is past). Returns the problem and changes nothing when the configuration does not give every interval.
   */
  applyConfig(): string | undefined {
    const problem = this.configProblem();
    if (problem) return problem;
    for (const state of this.timers.values()) {
      if (state.configKey === undefined) continue;
      const seconds = this.readConfig?.(state.configKey) as number;
      if (seconds === state.baseSeconds) continue;
      state.baseSeconds = seconds;
      if (state.overrideSeconds === undefined && state.active && this.running && state.handle) {
        this.schedule(state, state.since + seconds * 1000 - Date.now());
      }
    }
    return undefined;
  }

  /** Called once the plugin has started: every active timer (autoStart, or started early) begins its first interval. */
  begin(): void {
    if (this.closed || this.running) return;
    this.running = true;
    for (const state of this.timers.values()) if (state.active) this.kickOff(state, state.startNow);
  }

  /**
   * Starts a timer: its first tick comes one interval later, or at once with `runImmediately`. With `seconds`, that
   * interval until it stops; a running timer given options starts over with them. False for an unknown id or once
   * stopped for good; a TypeError naming the problem for bad options (not an object, a bad `seconds`, a
   * `runImmediately` that is not a boolean).
   */
  start(id: string, options: TimerStartOptions = {}): boolean {
    if (typeof options !== "object" || options === null || Array.isArray(options)) {
      throw new TypeError(
        `startTimer('${id}', options): options must be an object like { seconds, runImmediately }; got ${JSON.stringify(options)}`,
      );
    }
    if (options.runImmediately !== undefined && typeof options.runImmediately !== "boolean") {
      throw new TypeError(
        `startTimer('${id}'): runImmediately must be true or false; got ${JSON.stringify(options.runImmediately)}`,
      );
    }
    const state = this.timers.get(id);
    if (!state || this.closed) return false;
    if (options.seconds !== undefined) assertSeconds(`startTimer('${id}'): seconds`, options.seconds);
    const restart = options.seconds !== undefined || options.runImmediately !== undefined;
    if (state.active && !restart) return true;
    state.overrideSeconds = options.seconds ?? (state.active ? state.overrideSeconds : undefined);
    state.active = true;
    state.epoch += 1;
    if (this.running) this.kickOff(state, options.runImmediately);
    else state.startNow = options.runImmediately;
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

  private kickOff(state: TimerState, runImmediately = state.spec.runImmediately ?? false): void {
    state.startNow = undefined;
    const seconds = secondsOf(state);
    if (seconds === undefined) {
      this.logger.error(`timer '${state.spec.id}' has no interval: ${configuredProblem(state, this.readConfig)}`);
      return;
    }
    state.since = Date.now();
    this.schedule(state, runImmediately ? 0 : seconds * 1000);
  }

  private halt(state: TimerState): void {
    state.active = false;
    state.overrideSeconds = undefined;
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
    state.since = startedAt;
    state.ticks += 1;
    const tick = this.runTick(state.spec, state.ticks);
    state.inFlight = tick;
    await tick;
    state.inFlight = undefined;
    const seconds = secondsOf(state);
    if (state.active && state.epoch === epoch && seconds !== undefined) {
      this.schedule(state, state.since + seconds * 1000 - Date.now());
    }
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

function secondsOf(state: TimerState): number | undefined {
  return state.overrideSeconds ?? state.baseSeconds;
}

function configuredProblem(state: TimerState, read: ConfigReader | undefined): string | undefined {
  const key = state.configKey as string;
  return configuredSecondsProblem(state.spec.id, key, read?.(key));
}
