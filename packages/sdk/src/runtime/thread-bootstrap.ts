/**
 * A thread plugin's bootstrap ([plugin_runtime] isolation = "thread", docs/architecture.md): the runner process posts
 * it to the worker on the worker's own port (bin/plugin-thread.mjs), which keeps it under `THREAD_BOOTSTRAP` on the
 * thread's global until plugin-main takes it, once, before any plugin code is loaded. Nothing of it stays behind:
 * not in `workerData`, not in the environment, not on the global.
 */
export const THREAD_BOOTSTRAP = Symbol.for("neko-plugin.thread-bootstrap");

/** The bootstrap document handed to this thread, or undefined in a plugin process (its bootstrap is on fd 4). */
export function takeThreadBootstrap(): string | undefined {
  const holder = globalThis as { [THREAD_BOOTSTRAP]?: unknown };
  const text = holder[THREAD_BOOTSTRAP];
  delete holder[THREAD_BOOTSTRAP];
  return typeof text === "string" ? text : undefined;
}
