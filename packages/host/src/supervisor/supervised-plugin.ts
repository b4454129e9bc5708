/**
 * One plugin as the supervisor holds it: its spec, its state — changed only through the transition table — with the
 * reason and history, its current process, its restart policy and pending restart, and its `PluginScope`. Leaving the
 * live states ends the scope's run; `dispose` forgets everything the host held for the plugin.
 */
import { type Disposable, disposableTimeout, timerDelay } from "@neko/protocol";
import type { PluginManifest } from "../manifest/plugin-manifest.ts";
import type { ExitInfo, PluginProcess } from "./plugin-process.ts";
import { PluginScope } from "./plugin-scope.ts";
import { canMove, IllegalTransitionError, LIVE_STATES, type PluginState, type StateChange } from "./plugin-state.ts";
import { RestartPolicy, type RestartPolicyOptions } from "./restart-policy.ts";

export interface SupervisedPluginSpec {
  id: string;
  dir: string;
  manifest: PluginManifest;
  entryModulePath: string;
}

const HISTORY_KEPT = 50;

/** Under the test runner an illegal move throws; elsewhere it is reported and made, so the host goes on. */
const STRICT_STATES = process.env.NODE_TEST_CONTEXT !== undefined || process.env.NEKO_STRICT_STATES === "1";

export class SupervisedPlugin implements Disposable {
  private current: PluginState;
  reason: string | undefined;
  readonly history: StateChange[];
  process: PluginProcess | undefined;
  lastExit: ExitInfo | undefined;
  readonly policy: RestartPolicy;
  readonly scope: PluginScope;
  /** Start and stop of one plugin never interleave. */
  queue: Promise<unknown> = Promise.resolve();
  /** While a reload switches processes: calls wait for the new one instead of reaching the old process. */
  gate: Promise<void> | undefined;
  /**
   * A stop (or remove) was asked for and has not run yet: set at once, not in the queue, so a start still preparing
   * its launch (a Python probe) ends there instead of launching a process the stop would then shut down.
   */
  stopRequested = false;
  private restart: Disposable | undefined;
  private readonly onIllegalMove: (error: IllegalTransitionError) => void;

  constructor(
    public spec: SupervisedPluginSpec,
    initial: { state: PluginState; reason?: string },
    options: {
      restartPolicy: RestartPolicyOptions;
      onScopeError: (error: unknown) => void;
      onIllegalMove: (error: IllegalTransitionError) => void;
    },
  ) {
    this.current = initial.state;
    this.reason = initial.reason;
    this.history = [{ time: Date.now(), state: initial.state }];
    this.policy = new RestartPolicy(options.restartPolicy);
    this.scope = new PluginScope(options.onScopeError);
    this.onIllegalMove = options.onIllegalMove;
  }

  get state(): PluginState {
    return this.current;
  }

  /** A crashed plugin whose automatic restart is waiting. */
  get restartPending(): boolean {
    return this.restart !== undefined;
  }

  /** Moves to `state` as the table allows; leaving the live states ends the run. Returns the change to announce. */
  moveTo(state: PluginState, reason?: string): StateChange {
    if (!canMove(this.current, state)) {
      const error = new IllegalTransitionError(this.current, state, this.spec.id);
      if (STRICT_STATES) throw error;
      this.onIllegalMove(error);
    }
    this.current = state;
    this.reason = reason;
    if (!LIVE_STATES.has(state)) this.scope.endRun();
    const change: StateChange =
      reason === undefined ? { time: Date.now(), state } : { time: Date.now(), state, reason };
    this.history.push(change);
    if (this.history.length > HISTORY_KEPT) this.history.shift();
    return change;
  }

  /** Runs `start` after `delayMs`, unless a start, a stop or `dispose` comes first. */
  scheduleRestart(delayMs: number, start: () => void): void {
    this.cancelRestart();
    this.restart = disposableTimeout(() => {
      this.restart = undefined;
      start();
    }, timerDelay(delayMs));
  }

  cancelRestart(): void {
    this.restart?.dispose();
    this.restart = undefined;
  }

  dispose(): void {
    this.cancelRestart();
    this.scope.dispose();
  }
}
