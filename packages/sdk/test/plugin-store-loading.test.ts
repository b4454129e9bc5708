import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "neko-store-loading-"));
after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

// A fresh process, so no other test has loaded better-sqlite3 already; its files in require.cache tell when it loads.
const probe = String.raw`
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
const sqliteFiles = () => Object.keys(require.cache).filter((file) => /[\\/]better-sqlite3[\\/]/.test(file));
const { PluginStore } = await import("@neko/plugin-sdk/plugin");
const loadedByImport = sqliteFiles();
const store = new PluginStore({ pluginId: "probe", dataDir: process.argv[1], enabled: true });
const firstCall = await store.count();
store.close();
console.log(JSON.stringify({ loadedByImport, loadedByUse: sqliteFiles().length > 0, firstCall }));
`;

test("@neko/plugin-sdk/plugin loads better-sqlite3 only when a store is first used", () => {
  const output = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", probe, dataDir], {
    cwd: root,
    encoding: "utf8",
  });
  assert.deepEqual(JSON.parse(output), {
    loadedByImport: [],
    loadedByUse: true,
    firstCall: { ok: true, value: 0 },
  });
});
