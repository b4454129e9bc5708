/**
 * Everything the host holds for one plugin, in two disposable stores. `lifetime` lasts while the host knows the plugin
 * (its log ring, its metrics, its latest status); `run` lasts while one of its processes may be alive — from the
 * start of a launch until the plugin leaves `starting` / `running` — and holds what that process registered (static
 * UI, bus subscriptions, the configuration it runs with). The supervisor ends a run and forgets a plugin in one place
 * each; features only add to the stores, so nothing a plugin leaves behind outlives it.
 */
import { type Disposable, DisposableStore } from "@neko/protocol";

export class PluginScope implements Disposable {
  readonly lifetime: DisposableStore;
  private current: DisposableStore;

  constructor(private readonly onError: (error: unknown) => void) {
    this.lifetime = new DisposableStore(onError);
    this.current = new DisposableStore(onError);
    this.current.dispose();
  }

  /** The current run's store; disposed (adding disposes at once) while no process may be alive. */
  get run(): DisposableStore {
    return this.current;
  }

  get running(): boolean {
    return !this.current.isDisposed;
  }

  /** How many disposables the plugin holds in the host now: the leak checks count these. */
  get size(): number {
    return this.lifetime.size + this.current.size;
  }

  /** A launch begins: what the previous process left is gone, and a fresh store starts. */
  beginRun(): void {
    this.current.dispose();
    this.current = new DisposableStore(this.onError);
  }

  endRun(): void {
    this.current.dispose();
  }

  dispose(): void {
    this.endRun();
    this.lifetime.dispose();
  }
}
