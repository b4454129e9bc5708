/**
 * The SDK's runtime in a startup snapshot (docs/architecture.md "Startup snapshot"; `NEKO_PLUGIN_SNAPSHOT=off` turns
 * it off). The host bundles the runtime and every `@neko/plugin-sdk/*` export into one script (bin/plugin-link.mjs)
 * that calls `prepareSnapshot` with their namespaces, and Node evaluates it into a snapshot blob
 * (bin/plugin-snapshot.mjs): a process started from the blob has them all loaded before its first line. The plugin's
 * linked modules import the SDK through small modules that take these namespaces (one copy of every class), and the
 * runner starts the plugin with `start`, handing it its own `import` (code in a snapshot has none).
 *
 * Nothing here may hold what belongs to one process: the snapshot is made once and every process starts from it.
 * The environment, the bootstrap, the process's streams and handles are all read by `start`. Nor may the bundle load
 * `node:worker_threads` as the snapshot is made: every thread of a process started from it would then fail (Node
 * 20.20), so the SDK loads it where it uses it, and the link refuses a bundle that imports it.
 */
import Module from "node:module";
import path from "node:path";
import v8 from "node:v8";
import { useModuleImporter } from "./module-import.ts";
import { runPluginProcess } from "./plugin-process.ts";

/** Where a process started from the snapshot finds it (bin/load-plugin-runtime.mjs, the linked SDK modules). */
export const SNAPSHOT = Symbol.for("neko-plugin.snapshot");

export interface SnapshotRuntime {
  /** The namespace of each `@neko/plugin-sdk/*` and `@neko/protocol` module, by the real path of its source. */
  modules: Record<string, object>;
  /** Runs the plugin of this process, importing its modules with `importer` (the runner's `import`). */
  start(importer: (specifier: string) => Promise<unknown>): Promise<void>;
}

/** Called by the snapshot's script as Node builds the snapshot (`--build-snapshot`). */
export function prepareSnapshot(modules: Record<string, object>): void {
  const runtime: SnapshotRuntime = {
    modules,
    start(importer) {
      useModuleImporter(importer);
      return runPluginProcess();
    },
  };
  (globalThis as Record<symbol, unknown>)[SNAPSHOT] = runtime;
  v8.startupSnapshot.setDeserializeMainFunction(() => {
    // A child the plugin forks takes `process.execArgv`: it starts as any Node process, never from this snapshot
    // (which a child with other V8 flags, its own heap limit, could not even load).
    withoutSnapshotFlag(process.execArgv);
    // The script on the command line (bin/plugin-runner.mjs) runs as it would without the snapshot, by its absolute
    // path as Node gives it (a snapshot's main gets it as written).
    if (process.argv[1] !== undefined) process.argv[1] = path.resolve(process.argv[1]);
    (Module as unknown as { runMain(): void }).runMain();
  });
}

/** Takes `--snapshot-blob <file>` (or `--snapshot-blob=<file>`) out of `execArgv`, in place. */
export function withoutSnapshotFlag(execArgv: string[]): void {
  for (let i = execArgv.length - 1; i >= 0; i--) {
    if (execArgv[i] === "--snapshot-blob") execArgv.splice(i, 2);
    else if (execArgv[i].startsWith("--snapshot-blob=")) execArgv.splice(i, 1);
  }
}
