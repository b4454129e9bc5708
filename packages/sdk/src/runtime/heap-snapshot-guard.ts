/**
 * `v8.setHeapSnapshotNearHeapLimit` under the permission model (docs/permissions.md). Node 20 refuses
 * `v8.writeHeapSnapshot` outside what the process may write, but a heap snapshot it writes because the heap nears its
 * limit goes to the working directory (the plugin's folder, read only to it) with no check: a file holding the whole
 * heap, the plugin's secrets with it, written where the plugin may not write. The runtime therefore refuses the call
 * before any plugin code runs, as Node refuses `writeHeapSnapshot`, unless the process may write its working
 * directory.
 */
import { createRequire, syncBuiltinESMExports } from "node:module";

const require = createRequire(import.meta.url);

export function guardHeapSnapshots(): void {
  if (process.permission === undefined) return;
  const v8: { setHeapSnapshotNearHeapLimit(limit: number): void } = require("node:v8");
  const allowed = v8.setHeapSnapshotNearHeapLimit;
  v8.setHeapSnapshotNearHeapLimit = function setHeapSnapshotNearHeapLimit(limit: number): void {
    const dir = process.cwd();
    if (!process.permission?.has("fs.write", dir)) {
      // As Node's permission model words a refusal, so errors.ts maps it like any other.
      throw Object.assign(new Error("Access to this API has been restricted"), {
        code: "ERR_ACCESS_DENIED",
        permission: "FileSystemWrite",
        resource: dir,
      });
    }
    allowed.call(v8, limit);
  };
  // `import { setHeapSnapshotNearHeapLimit } from "node:v8"` sees the same function from now on.
  syncBuiltinESMExports();
}
