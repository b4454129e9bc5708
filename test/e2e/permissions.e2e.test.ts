/**
 * Permissions (SPEC §10, docs/permissions.md) in real plugin processes under Node's permission model: a plugin reads
 * its own folder and writes its data/ folder only, unless plugin.toml grants more; child processes and threads only
 * when granted; a refusal is an Err that names the missing permission; no plugin can plant code in the compile cache
 * entry another plugin loads; a plugin cannot widen its own grants; the switch for development turns it all off. The
 * bundled examples under the model: permissions-examples.e2e.test.ts.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

/** Every plugin here runs this code; what it may do comes from its plugin.toml alone. */
const probeCode = `
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { setHeapSnapshotNearHeapLimit } from "node:v8";
import { Worker } from "node:worker_threads";
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok, Err } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Probe extends NekoPluginBase {
  /** Its flags as it was started: /proc/<pid>/cmdline shows its title ("neko-plugin: <id>") instead. */
  @pluginEntry({ id: "argv" })
  argv() {
    return Ok(process.execArgv);
  }

  @pluginEntry({ id: "read" })
  read({ file }: { file: string }) {
    return Ok(fs.readFileSync(file, "utf8"));
  }

  @pluginEntry({ id: "write" })
  write({ file, text }: { file: string; text: string }) {
    fs.writeFileSync(file, text);
    return Ok(file);
  }

  @pluginEntry({ id: "write_data" })
  writeData({ name, text }: { name: string; text: string }) {
    const file = this.dataPath(name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    return Ok({ file, back: fs.readFileSync(file, "utf8") });
  }

  @pluginEntry({ id: "store" })
  async useStore({ key, value }: { key: string; value: unknown }) {
    const set = await this.store.set(key, value);
    if (!set.ok) return set;
    return this.store.get(key);
  }

  @pluginEntry({ id: "spawn" })
  spawn() {
    const child = spawnSync(process.execPath, ["-p", "6 * 7"], { encoding: "utf8" });
    return Ok(child.stdout.trim());
  }

  @pluginEntry({ id: "worker" })
  async worker({ file }: { file: string }) {
    const source =
      "const { parentPort, workerData } = require('node:worker_threads'); const fs = require('node:fs');" +
      "let read; try { read = fs.readFileSync(workerData, 'utf8'); } catch (e) { read = e.code; }" +
      "parentPort.postMessage({ sum: 20 + 22, read });";
    const thread = new Worker(source, { eval: true, workerData: file });
    return Ok(await new Promise((resolve, reject) => thread.once("message", resolve).once("error", reject)));
  }

  /** A heap snapshot Node would write into the plugin's folder as the heap nears its limit (no check of Node's own). */
  @pluginEntry({ id: "heap_snapshot" })
  heapSnapshot() {
    setHeapSnapshotNearHeapLimit(1);
    return Ok("set");
  }

  /** The attack: overwrite, or rename over, a file another plugin loads. */
  @pluginEntry({ id: "plant" })
  plant({ file, text }: { file: string; text: string }) {
    const attempts: Record<string, string> = {};
    try {
      fs.writeFileSync(file, text);
      attempts.write = "written";
    } catch (error) {
      attempts.write = (error as NodeJS.ErrnoException).code ?? String(error);
    }
    try {
      const staged = this.dataPath("staged.mjs");
      fs.writeFileSync(staged, text);
      fs.renameSync(staged, file);
      attempts.rename = "renamed";
    } catch (error) {
      attempts.rename = (error as NodeJS.ErrnoException).code ?? String(error);
    }
    return Ok(attempts);
  }

  @pluginEntry({ id: "widen" })
  widen() {
    return this.config.update({ plugin: { permissions: { child_process: true, fs_write: ["/"] } } });
  }
}
`;

const victimCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Victim extends NekoPluginBase {
  @pluginEntry({ id: "who" })
  who() {
    return Ok("VICTIM_ORIGINAL_CODE");
  }
}
`;

const manifest = (id: string, extra = "") => `[plugin]\nid = "${id}"\nentry = "index.ts:Probe"\n${extra}`;

describe("permissions", () => {
  let root: string;
  let outside: string;
  let cacheDir: string;
  let t: TestHost;
  const savedCacheDir = process.env.NEKO_TS_CACHE_DIR;

  before(async () => {
    root = makeTempDir();
    outside = makeTempDir("neko-outside-");
    // A cache of this test's own: the unprotected attack below really plants code in it.
    cacheDir = path.join(makeTempDir("neko-cache-test-"), "cache");
    process.env.NEKO_TS_CACHE_DIR = cacheDir;
    fs.mkdirSync(path.join(outside, "granted"));
    fs.mkdirSync(path.join(outside, "other"));
    fs.writeFileSync(path.join(outside, "granted", "a.txt"), "granted text");
    fs.writeFileSync(path.join(outside, "other", "b.txt"), "not granted");
    writePlugin(root, { id: "confined", manifest: manifest("confined"), code: probeCode });
    writePlugin(root, {
      id: "granted",
      manifest: manifest(
        "granted",
        `[plugin.permissions]\nfs_read = ["${path.join(outside, "granted")}"]\nfs_write = ["out"]\n` +
          "child_process = true\nworker_threads = true\n",
      ),
      code: probeCode,
    });
    writePlugin(root, {
      id: "unguarded",
      manifest: manifest("unguarded", "[plugin_runtime]\npermissions = false\n"),
      code: probeCode,
    });
    writePlugin(root, {
      id: "victim",
      manifest: `[plugin]\nid = "victim"\nentry = "index.ts:Victim"\n`,
      code: victimCode,
    });
    writePlugin(root, {
      id: "greedy",
      manifest: manifest("greedy", `[plugin.permissions]\nfs_write = ["${path.dirname(cacheDir)}"]\n`),
      code: probeCode,
    });
    writePlugin(root, {
      id: "nosy_loader",
      manifest: manifest("nosy_loader"),
      code: `import fs from "node:fs";\nexport const stolen = fs.readFileSync(${JSON.stringify(path.join(outside, "other", "b.txt"))}, "utf8");\n`,
    });
    // The attack on linking: a module outside anything it may read, imported from its own index.ts.
    fs.writeFileSync(path.join(outside, "other", "secret.ts"), 'export const API_KEY: string = "sk-not-yours-42";\n');
    const secretSpecifier = path.relative(path.join(root, "thief"), path.join(outside, "other", "secret.ts"));
    writePlugin(root, {
      id: "thief",
      className: "Thief",
      manifest: `[plugin]\nid = "thief"\nentry = "index.ts:Thief"\n`,
      code: `import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";
import { API_KEY } from ${JSON.stringify(secretSpecifier)};

@nekoPlugin
export class Thief extends NekoPluginBase {
  @pluginEntry({ id: "steal" })
  steal() {
    return Ok(API_KEY);
  }
}
`,
    });
    t = await startTestHost({ roots: [root] });
    // Cold starts on a busy machine may outlast a handshake's 20 s; a restart then brings the plugin up.
    const starting = ["confined", "granted", "unguarded", "victim"];
    await waitFor(() => starting.every((id) => t.host.getPlugin(id)?.status === "running"), {
      timeoutMs: 90_000,
      what: `${starting.join(", ")} running`,
    });
  });

  after(async () => {
    await t.close();
    if (savedCacheDir === undefined) delete process.env.NEKO_TS_CACHE_DIR;
    else process.env.NEKO_TS_CACHE_DIR = savedCacheDir;
    for (const dir of [root, outside, path.dirname(cacheDir)]) fs.rmSync(dir, { recursive: true, force: true });
  });

  const denied = (res: { status: number; body: any }) => {
    assert.equal(res.status, 403, JSON.stringify(res.body));
    assert.equal(res.body.error.code, "PERMISSION_DENIED");
    return res.body.error;
  };

  test("the plugin processes run under Node's permission model, unless switched off", async () => {
    for (const [id, expected] of [
      ["confined", true],
      ["granted", true],
      ["unguarded", false],
    ] as const) {
      const { status } = (await t.request("GET", `/plugins/${id}`)).body;
      assert.equal(status, "running", id);
      const argv = (await t.trigger(id, "argv")).body.data as string[];
      assert.equal(argv.includes("--experimental-permission"), expected, `${id}: ${argv.join(" ")}`);
    }
  });

  test("a confined plugin is granted nothing of the run folder, yet it read its bootstrap and connected", async () => {
    const socket = t.host.info().transport_endpoint.replace(/^ipc:\/\//, "");
    const runDir = path.dirname(socket);
    const { status } = (await t.request("GET", "/plugins/confined")).body;
    // Running means it read fd 4 (its secret and keys) and its ZeroMQ socket reached the host.
    assert.equal(status, "running");
    const argv = (await t.trigger("confined", "argv")).body.data as string[];
    assert.ok(argv.includes("--experimental-permission"));
    assert.deepEqual(
      argv.filter((arg) => arg.includes(runDir)),
      [],
      "no flag names the run folder",
    );
    for (const file of [socket, runDir]) {
      const error = denied(await t.trigger("confined", "read", { file }));
      assert.equal(error.details.permission, "fs_read", file);
    }
  });

  test("reading a file outside the plugin folder is an Err naming fs_read and how to grant it", async () => {
    const file = path.join(outside, "other", "b.txt");
    const error = denied(await t.trigger("confined", "read", { file }));
    assert.equal(
      error.message,
      `permission denied: fs_read '${file}' — add it to [plugin.permissions] fs_read in plugin.toml`,
    );
    assert.deepEqual(error.details, { permission: "fs_read", resource: file, node: "FileSystemRead" });
    // Its own folder it reads.
    const own = await t.trigger("confined", "read", { file: path.join(root, "confined", "plugin.toml") });
    assert.equal(own.status, 200);
    assert.match(own.body.data, /id = "confined"/);
  });

  test("writing outside data/ is an Err naming fs_write; nothing is written", async () => {
    for (const file of [
      path.join(outside, "x.txt"),
      path.join(root, "confined", "index.ts"),
      path.join(os.tmpdir(), "neko-x.txt"),
    ]) {
      const before = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
      const error = denied(await t.trigger("confined", "write", { file, text: "overwritten" }));
      assert.equal(
        error.message,
        `permission denied: fs_write '${file}' — add it to [plugin.permissions] fs_write in plugin.toml`,
      );
      assert.equal(fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined, before, file);
    }
  });

  test("writing inside data/ works, even when data/ did not exist when the process started", async () => {
    assert.equal(fs.existsSync(path.join(root, "confined", "data")), false);
    const res = await t.trigger("confined", "write_data", { name: "notes/today.txt", text: "kept" });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.data.back, "kept");
    assert.equal(fs.readFileSync(path.join(root, "confined", "data", "notes", "today.txt"), "utf8"), "kept");
  });

  test("the store works: SQLite in WAL mode in data/", async () => {
    const res = await t.trigger("confined", "store", { key: "k", value: { n: 1 } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.data, { n: 1 });
    assert.ok(fs.existsSync(path.join(root, "confined", "data", "store.sqlite")));
    assert.ok(fs.existsSync(path.join(root, "confined", "data", "store.sqlite-wal")));
  });

  test("child_process is refused unless granted, and works when granted", async () => {
    const error = denied(await t.trigger("confined", "spawn"));
    assert.equal(
      error.message,
      "permission denied: child_process — set child_process = true in [plugin.permissions] of plugin.toml",
    );
    const res = await t.trigger("granted", "spawn");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.data, "42");
  });

  test("new Worker is refused unless granted; a granted thread has the process's file limits", async () => {
    const file = path.join(outside, "other", "b.txt");
    const error = denied(await t.trigger("confined", "worker", { file }));
    assert.equal(
      error.message,
      "permission denied: worker_threads — set worker_threads = true in [plugin.permissions] of plugin.toml",
    );
    const res = await t.trigger("granted", "worker", { file });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.data, { sum: 42, read: "ERR_ACCESS_DENIED" });
  });

  test("a heap snapshot near the heap limit is refused where the plugin may not write (its own folder)", async () => {
    const error = denied(await t.trigger("confined", "heap_snapshot"));
    assert.match(
      error.message,
      /^permission denied: fs_write '[^']*confined' — add it to \[plugin.permissions\] fs_write/,
    );
  });

  test("fs_read and fs_write grants open the granted paths only", async () => {
    const read = await t.trigger("granted", "read", { file: path.join(outside, "granted", "a.txt") });
    assert.equal(read.status, 200, JSON.stringify(read.body));
    assert.equal(read.body.data, "granted text");
    denied(await t.trigger("granted", "read", { file: path.join(outside, "other", "b.txt") }));

    // `fs_write = ["out"]` is relative to the plugin folder, and holds what is made below it later.
    const pluginDir = path.join(root, "granted");
    fs.mkdirSync(path.join(pluginDir, "out"));
    const inside = path.join(pluginDir, "out", "report.txt");
    const wrote = await t.trigger("granted", "write", { file: inside, text: "report" });
    assert.equal(wrote.status, 200, JSON.stringify(wrote.body));
    assert.equal(fs.readFileSync(inside, "utf8"), "report");
    for (const file of [
      path.join(pluginDir, "out2.txt"),
      path.join(pluginDir, "index.ts"),
      path.join(outside, "granted", "a.txt"),
    ]) {
      const error = denied(await t.trigger("granted", "write", { file, text: "x" }));
      assert.match(error.message, /^permission denied: fs_write /);
    }
    assert.equal(fs.readFileSync(path.join(outside, "granted", "a.txt"), "utf8"), "granted text");
  });

  test("a plugin cannot plant code in the compile cache entry another plugin loads", async () => {
    const victimSource = path.join(fs.realpathSync(root), "victim", "index.ts");
    // The module the victim's process loads: its linked module (a `<key>.link` folder of the cache; docs/architecture.md).
    const links = fs.readdirSync(cacheDir).filter((name) => name.endsWith(".link"));
    const entries = links.flatMap((link) =>
      fs
        .readdirSync(path.join(cacheDir, link))
        .filter((name) => name.endsWith(".mjs"))
        .map((name) => path.join(link, name)),
    );
    const entry = entries
      .map((name) => path.join(cacheDir, name))
      .find((file) => fs.readFileSync(file, "utf8").includes("VICTIM_ORIGINAL_CODE"));
    assert.ok(entry, `the host compiled ${victimSource} into the cache`);
    const planted = fs.readFileSync(entry, "utf8").replace("VICTIM_ORIGINAL_CODE", "PLANTED_BY_ANOTHER_PLUGIN");

    const attempt = await t.trigger("confined", "plant", { file: entry, text: planted });
    assert.equal(attempt.status, 200, JSON.stringify(attempt.body));
    assert.deepEqual(attempt.body.data, { write: "ERR_ACCESS_DENIED", rename: "ERR_ACCESS_DENIED" });
    assert.equal((await t.request("POST", "/plugin/victim/reload")).status, 200);
    assert.equal((await t.trigger("victim", "who")).body.data, "VICTIM_ORIGINAL_CODE");

    // The same attack from a plugin run without the model succeeds: what the permission model is keeping out.
    const unguarded = await t.trigger("unguarded", "plant", { file: entry, text: planted });
    assert.equal(unguarded.body.data.write, "written");
    assert.equal((await t.request("POST", "/plugin/victim/reload")).status, 200);
    assert.equal((await t.trigger("victim", "who")).body.data, "PLANTED_BY_ANOTHER_PLUGIN");
  });

  test("a write grant that reaches the compile cache is refused before the plugin starts", async () => {
    const { status, status_reason } = (await t.request("GET", "/plugins/greedy")).body;
    assert.equal(status, "refused");
    assert.equal(
      status_reason,
      `plugin.toml: [plugin.permissions].fs_write '${path.dirname(cacheDir)}' reaches the TypeScript compile cache ` +
        `every plugin loads (${cacheDir}); a plugin may not write there: grant a narrower path`,
    );
  });

  test("a module that reads outside at import fails to load with the permission named", async () => {
    const { status, status_reason } = (await t.request("GET", "/plugins/nosy_loader")).body;
    assert.equal(status, "refused");
    const file = path.join(outside, "other", "b.txt");
    // Where in the plugin it happened comes last: the line of index.ts that read the file.
    const [reason, where] = status_reason.split(" (at ");
    assert.equal(
      reason,
      `importing index.ts failed: permission denied: fs_read '${file}' — add it to [plugin.permissions] fs_read in plugin.toml`,
    );
    assert.match(where, /^index\.ts:2:\d+\)$/);
  });

  test("a plugin cannot import TypeScript it may not read: the host does not compile it into the plugin's link", async () => {
    await waitFor(() => t.host.getPlugin("thief")?.status === "refused", { timeoutMs: 60_000, what: "thief refused" });
    const { status_reason } = (await t.request("GET", "/plugins/thief")).body;
    const file = fs.realpathSync(path.join(outside, "other", "secret.ts"));
    assert.match(status_reason, /^importing index\.ts failed: permission denied: fs_read '([^']+)'/);
    assert.equal(/fs_read '([^']+)'/.exec(status_reason)?.[1], file, status_reason);
    const steal = await t.trigger("thief", "steal");
    assert.notEqual(steal.status, 200, JSON.stringify(steal.body));
    // Nothing of the secret anywhere in the compile cache (links, compiled modules, indexes).
    const leaked: string[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (fs.readFileSync(full, "utf8").includes("sk-not-yours-42")) leaked.push(full);
      }
    };
    walk(cacheDir);
    assert.deepEqual(leaked, []);
  });

  test("a plugin cannot widen its own grants through this.config", async () => {
    const manifestFile = path.join(root, "confined", "plugin.toml");
    const before = fs.readFileSync(manifestFile, "utf8");
    const res = await t.trigger("confined", "widen");
    assert.equal(res.status, 403, JSON.stringify(res.body));
    assert.equal(res.body.error.code, "CONFIG_PROTECTED_FIELD");
    assert.equal(
      res.body.error.message,
      "plugin.permissions can be changed only by the user (plugin.toml, or the HTTP configuration routes), not by the plugin itself",
    );
    assert.equal(fs.readFileSync(manifestFile, "utf8"), before);
  });

  test("with [plugin_runtime] permissions = false a plugin reads and writes what its user may", async () => {
    const read = await t.trigger("unguarded", "read", { file: path.join(outside, "other", "b.txt") });
    assert.equal(read.body.data, "not granted");
    assert.equal((await t.trigger("unguarded", "spawn")).body.data, "42");
  });
});
