/**
 * A thread plugin's bootstrap and the port of its frames ([plugin_runtime] isolation = "thread", docs/architecture.md): the runner process posts
 * it to the worker on the worker's own port (bin/plugin-thread.mjs), which keeps it under `THREAD_BOOTSTRAP` on the
 * thread's global until plugin-main takes it, once, before any plugin code is loaded. Nothing of it stays behind:
 * not in `workerData`, not in the environment, not on the global.
 */
import type { MessagePort } from "node:worker_threads";

export const THREAD_BOOTSTRAP = Symbol.for("neko-plugin.thread-bootstrap");

/** What the runner handed to this thread: its bootstrap document and the port its frames go on. */
export interface ThreadBootstrap {
  bootstrap: string;
  port: MessagePort;
}

/** What the runner handed to this thread, or undefined in a plugin process (its bootstrap is on fd 4). */
export function takeThreadBootstrap(): ThreadBootstrap | undefined {
  const holder = globalThis as { [THREAD_BOOTSTRAP]?: unknown };
  const handed = holder[THREAD_BOOTSTRAP] as Partial<ThreadBootstrap> | undefined;
  delete holder[THREAD_BOOTSTRAP];
  // Loaded here, not with the module: a startup snapshot cannot hold worker_threads (snapshot-main.ts).
  const { MessagePort } = process.getBuiltinModule("node:worker_threads");
  return typeof handed?.bootstrap === "string" && handed.port instanceof MessagePort
    ? { bootstrap: handed.bootstrap, port: handed.port }
    : undefined;
}
