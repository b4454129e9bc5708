/**
 * Startup snapshots (bin/plugin-snapshot.mjs, the SDK link for snapshots in bin/plugin-link.mjs): what the link holds,
 * that a blob is made, tried and only then kept, and when blobs are pruned. A process started from one is tested end
 * to end in test/e2e/startup-snapshot.e2e.test.ts.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { linkPluginSources, pruneLinks } from "../bin/plugin-link.mjs";
import { PROBE_FLAGS, pruneSnapshots, snapshotBlobPath, startupSnapshot } from "../bin/plugin-snapshot.mjs";
import { pluginStack } from "../src/plugin-logger.ts";

const SDK_SRC = fileURLToPath(new URL("../src/", import.meta.url));
const PROBE = fileURLToPath(new URL("../bin/snapshot-probe.mjs", import.meta.url));
let cacheDir: string;
let pluginDir: string;

before(() => {
  cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "neko-snapshot-cache-"));
  pluginDir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "neko-snapshot-plugin-")));
  fs.writeFileSync(
    path.join(pluginDir, "index.ts"),
    'import { Ok } from "@neko/plugin-sdk/plugin";\nexport const x = Ok(1);\n',
  );
});
after(() => {
  fs.rmSync(cacheDir, { recursive: true, force: true });
  fs.rmSync(pluginDir, { recursive: true, force: true });
});

const linkForSnapshot = () =>
  linkPluginSources({ entry: path.join(pluginDir, "index.ts"), pluginDir, cacheDir, snapshot: true });

test("a link for snapshots: the plugin imports modules that take the snapshot's SDK, or the SDK's link without one", async () => {
  const outcome = await linkForSnapshot();
  assert.ok(outcome.ok, outcome.ok ? "" : outcome.reason);
  assert.match(outcome.snapshotScript ?? "", /\/[0-9a-f]{40}\.link\/snapshot\.cjs$/);
  const manifest = JSON.parse(fs.readFileSync(outcome.manifest, "utf8")) as {
    main: string;
    modules: Record<string, string>;
  };
  // The runner of a process without the snapshot imports the SDK's own link, as ever.
  assert.match(manifest.main, /-plugin-main\.mjs$/);
  assert.notEqual(path.dirname(fileURLToPath(manifest.main)), path.dirname(outcome.snapshotScript ?? ""));
  const sdkPlugin = manifest.modules[pathToFileURL(path.join(SDK_SRC, "plugin.ts")).href];
  assert.equal(path.dirname(fileURLToPath(sdkPlugin)), path.dirname(outcome.snapshotScript ?? ""));
  const text = fs.readFileSync(new URL(sdkPlugin), "utf8");
  assert.ok(text.includes(`modules[${JSON.stringify(path.join(SDK_SRC, "plugin.ts"))}]`), text);
  assert.match(text, /await import\("file:\/\/[^"]+\/[0-9a-f]{40}\.link\/[0-9a-f]{16}-plugin\.mjs"\)/);
  assert.match(text, /export const \{[^}]*\bNekoPluginBase\b[^}]*\bpluginEntry\b[^}]*\} = m\d+;/);
  // The plugin's own module imports that module.
  const index = manifest.modules[pathToFileURL(path.join(pluginDir, "index.ts")).href];
  assert.ok(fs.readFileSync(new URL(index), "utf8").includes(`from "${sdkPlugin}"`));
  // No native addon in the script: they load when first needed.
  const script = fs.readFileSync(outcome.snapshotScript ?? "", "utf8");
  assert.match(script, /require\("zeromq"\)/);
  assert.doesNotMatch(script, /node-gyp-build/);
  // Made again only when something changed.
  const again = await linkForSnapshot();
  assert.ok(again.ok);
  assert.equal(again.snapshotScript, outcome.snapshotScript);
});

test("a blob is made per heap limit, tried before it is kept, and holds the runtime", async () => {
  const outcome = await linkForSnapshot();
  assert.ok(outcome.ok && outcome.snapshotScript !== undefined);
  const made = await startupSnapshot({ script: outcome.snapshotScript, heapMb: 96 });
  assert.ok(made.ok, made.ok ? "" : made.reason);
  assert.equal(path.dirname(made.blob), cacheDir);
  assert.match(path.basename(made.blob), /^[0-9a-f]{40}\.heap-96\.[0-9a-f]{12}\.snapshot$/);
  assert.equal(fs.statSync(made.blob).mode & 0o777, 0o600);
  assert.equal(fs.readdirSync(cacheDir).filter((name) => name.endsWith(".tmp")).length, 0, "nothing half made left");
  // A process started from it has the runtime before its first line, its heap limit, and no snapshot flag to pass on.
  const probe = path.join(pluginDir, "probe.mjs");
  fs.writeFileSync(
    probe,
    `import { getHeapStatistics } from "node:v8";
     const runtime = globalThis[Symbol.for("neko-plugin.snapshot")];
     console.log(JSON.stringify({ start: typeof runtime?.start, modules: Object.keys(runtime?.modules ?? {}).length,
       limit: getHeapStatistics().heap_size_limit, execArgv: process.execArgv }));`,
  );
  const out = JSON.parse(
    execFileSync(process.execPath, ["--max-old-space-size=96", "--snapshot-blob", made.blob, probe], {
      encoding: "utf8",
    }),
  );
  assert.equal(out.start, "function");
  assert.ok(out.modules >= 5, `the SDK's exports: ${out.modules}`);
  assert.ok(out.limit < 200 * 1024 * 1024, `the heap limit of 96 MiB holds: ${out.limit}`);
  assert.deepEqual(out.execArgv, ["--max-old-space-size=96"]);
  // Asked again, the same blob, not made again.
  const mtime = fs.statSync(made.blob).mtimeMs;
  const again = await startupSnapshot({ script: outcome.snapshotScript, heapMb: 96 });
  assert.ok(again.ok);
  assert.equal(again.blob, made.blob);
  assert.equal(fs.statSync(made.blob).mtimeMs, mtime);
});

test("a damaged blob in the cache (not made by this process, or changed since) is tried, and made again", async () => {
  const outcome = await linkForSnapshot();
  assert.ok(outcome.ok && outcome.snapshotScript !== undefined);
  const made = await startupSnapshot({ script: outcome.snapshotScript, heapMb: 96 });
  assert.ok(made.ok);
  const whole = fs.readFileSync(made.blob);
  // Cut short (Node crashes on such a blob): the next ask sees it changed, tries it and makes it again.
  fs.writeFileSync(made.blob, whole.subarray(0, 100_000));
  const again = await startupSnapshot({ script: outcome.snapshotScript, heapMb: 96 });
  assert.ok(again.ok, again.ok ? "" : again.reason);
  assert.ok(fs.statSync(again.blob).size > whole.length / 2, "made whole again");
  const started = execFileSync(
    process.execPath,
    ["--max-old-space-size=96", ...PROBE_FLAGS, "--snapshot-blob", again.blob, PROBE],
    {
      encoding: "utf8",
    },
  );
  assert.equal(started, "ok");
});

test("what is not a regular file at a blob's path is neither read nor removed; no snapshot then", async () => {
  const outcome = await linkForSnapshot();
  assert.ok(outcome.ok && outcome.snapshotScript !== undefined);
  const made = await startupSnapshot({ script: outcome.snapshotScript, heapMb: 80 });
  assert.ok(made.ok, made.ok ? "" : made.reason);
  const elsewhere = path.join(pluginDir, "planted.snapshot");
  fs.renameSync(made.blob, elsewhere);
  for (const plant of [
    () => fs.mkdirSync(made.blob),
    () => fs.symlinkSync(elsewhere, made.blob),
    () => execFileSync("mkfifo", [made.blob]),
  ]) {
    plant();
    const refused = await startupSnapshot({ script: outcome.snapshotScript, heapMb: 80 });
    assert.equal(refused.ok, false);
    assert.match(refused.ok ? "" : refused.reason, /is not a regular file/);
    assert.equal(fs.lstatSync(made.blob).isFile(), false, "left where it is");
    fs.rmSync(made.blob, { recursive: true });
  }
  fs.rmSync(elsewhere);
});

test("a blob is made per NODE_OPTIONS too (a V8 flag there must be the blob's)", async () => {
  const outcome = await linkForSnapshot();
  assert.ok(outcome.ok && outcome.snapshotScript !== undefined);
  const plain = await startupSnapshot({ script: outcome.snapshotScript, heapMb: 96, env: { ...process.env } });
  const flagged = await startupSnapshot({
    script: outcome.snapshotScript,
    heapMb: 96,
    env: { ...process.env, NODE_OPTIONS: "--max-semi-space-size=16" },
  });
  assert.ok(plain.ok && flagged.ok, flagged.ok ? "" : flagged.reason);
  assert.notEqual(flagged.blob, plain.blob);
  const started = execFileSync(
    process.execPath,
    ["--max-old-space-size=96", ...PROBE_FLAGS, "--snapshot-blob", flagged.blob, PROBE],
    {
      encoding: "utf8",
      env: { ...process.env, NODE_OPTIONS: "--max-semi-space-size=16" },
    },
  );
  assert.equal(started, "ok");
});

test("a script that fails, or that holds no runtime, gives no blob and says why", async () => {
  const bad = path.join(cacheDir, `${"a".repeat(40)}.link`);
  fs.mkdirSync(bad);
  fs.writeFileSync(path.join(bad, "snapshot.cjs"), 'throw new Error("broken script");\n');
  const failed = await startupSnapshot({ script: path.join(bad, "snapshot.cjs"), heapMb: 64 });
  assert.equal(failed.ok, false);
  assert.match(failed.ok ? "" : failed.reason, /broken script/);
  const empty = path.join(cacheDir, `${"b".repeat(40)}.link`);
  fs.mkdirSync(empty);
  // A snapshot of Node's start that runs the script named on the command line, but no SDK in it.
  fs.writeFileSync(
    path.join(empty, "snapshot.cjs"),
    'require("node:v8").startupSnapshot.setDeserializeMainFunction(() => require("node:module").runMain());\n',
  );
  const hollow = await startupSnapshot({ script: path.join(empty, "snapshot.cjs"), heapMb: 64 });
  assert.equal(hollow.ok, false);
  assert.match(hollow.ok ? "" : hollow.reason, /no runtime/);
  // A runtime, but worker_threads loaded as the snapshot was made: every thread of a process started from it fails.
  const threads = path.join(cacheDir, `${"f".repeat(40)}.link`);
  fs.mkdirSync(threads);
  fs.writeFileSync(
    path.join(threads, "snapshot.cjs"),
    // Its builder's warning about worker_threads not handled (as the SDK's script does), so the thread is what fails.
    `const emit = process.emit;
     process.emit = function (event, ...args) { return event === "warning" ? false : emit.call(this, event, ...args); };
     require("node:worker_threads");
     process.emit = emit;
     globalThis[Symbol.for("neko-plugin.snapshot")] = { modules: {}, start() {} };
     require("node:v8").startupSnapshot.setDeserializeMainFunction(() => require("node:module").runMain());\n`,
  );
  const threadless = await startupSnapshot({ script: path.join(threads, "snapshot.cjs"), heapMb: 64 });
  assert.equal(threadless.ok, false);
  assert.match(threadless.ok ? "" : threadless.reason, /a thread fails/);
  fs.rmSync(threads, { recursive: true });
  // Node's modules that read an option once, reading it as the snapshot is made: the permission model's checks in
  // JavaScript would be off in every process started from it (an lstat reads whether the model is on), or the
  // warnings the host turns off printed (the first warning reads --disable-warning).
  for (const [digit, made, problem] of [
    ["7", 'require("node:fs").lstatSync(__filename);', /checks in JavaScript are off/],
    ["8", 'process.emitWarning("made as the snapshot is");', /a warning turned off is printed/],
  ] as const) {
    const dir = path.join(cacheDir, `${digit.repeat(40)}.link`);
    fs.mkdirSync(dir);
    fs.writeFileSync(
      path.join(dir, "snapshot.cjs"),
      `${made}
       globalThis[Symbol.for("neko-plugin.snapshot")] = { modules: {}, start() {} };
       require("node:v8").startupSnapshot.setDeserializeMainFunction(() => require("node:module").runMain());\n`,
    );
    const refused = await startupSnapshot({ script: path.join(dir, "snapshot.cjs"), heapMb: 64 });
    assert.equal(refused.ok, false, made);
    assert.match(refused.ok ? "" : refused.reason, problem);
    fs.rmSync(dir, { recursive: true });
  }
  // Not made again at once: the same answer without a build (the script counts its builds).
  const counted = path.join(cacheDir, `${"9".repeat(40)}.link`);
  const builds = path.join(pluginDir, "builds.txt");
  fs.mkdirSync(counted);
  fs.writeFileSync(
    path.join(counted, "snapshot.cjs"),
    `require("node:fs").appendFileSync(${JSON.stringify(builds)}, "x");\nthrow new Error("counted and broken");\n`,
  );
  const first = await startupSnapshot({ script: path.join(counted, "snapshot.cjs"), heapMb: 64 });
  const second = await startupSnapshot({ script: path.join(counted, "snapshot.cjs"), heapMb: 64 });
  assert.equal(first.ok || second.ok, false);
  assert.match(second.ok ? "" : second.reason, /counted and broken/);
  assert.equal(fs.readFileSync(builds, "utf8"), "x", "one build");
  // A file at its path that does not start is left there when no new one can be made (another host may use it: a
  // new one is renamed over it, never removed first).
  const blob = snapshotBlobPath({ script: path.join(counted, "snapshot.cjs"), heapMb: 72 });
  fs.writeFileSync(blob, "not a snapshot");
  const kept = await startupSnapshot({ script: path.join(counted, "snapshot.cjs"), heapMb: 72 });
  assert.equal(kept.ok, false);
  assert.equal(fs.readFileSync(blob, "utf8"), "not a snapshot");
  assert.equal(fs.readFileSync(builds, "utf8"), "xx", "tried, then a build");
  fs.rmSync(blob);
  fs.rmSync(counted, { recursive: true });
  for (const heapMb of [0, -1, 1.5, Number.NaN]) {
    const refused = await startupSnapshot({ script: path.join(empty, "snapshot.cjs"), heapMb });
    assert.equal(refused.ok, false, String(heapMb));
  }
  const notALink = await startupSnapshot({ script: path.join(cacheDir, "elsewhere", "snapshot.cjs"), heapMb: 64 });
  assert.match(notALink.ok ? "" : notALink.reason, /not a link's snapshot script/);
  assert.deepEqual(
    fs.readdirSync(cacheDir).filter((name) => /\.snapshot|\.tmp$/.test(name)),
    fs.readdirSync(cacheDir).filter((name) => /^[0-9a-f]{40}\.heap-96\.[0-9a-f]{12}\.snapshot$/.test(name)),
    "no blob of a failed script, nothing half made",
  );
  fs.rmSync(bad, { recursive: true });
  fs.rmSync(empty, { recursive: true });
});

test("blobs go with their link; a half-made blob goes once it is old, not while another host may be making it", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "neko-snapshot-prune-"));
  try {
    const kept = "c".repeat(40);
    const gone = "d".repeat(40);
    fs.mkdirSync(path.join(dir, `${kept}.link`));
    const tag = "0123456789ab";
    const names = [
      `${kept}.heap-256.${tag}.snapshot`,
      `${gone}.heap-256.${tag}.snapshot`,
      `${kept}.heap-128.${tag}.snapshot.123.0badf00d.tmp`,
      `${kept}.heap-64.${tag}.snapshot.456.feedbeef.tmp`,
      "unrelated.snapshot",
    ];
    for (const name of names) fs.writeFileSync(path.join(dir, name), "");
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(path.join(dir, `${kept}.heap-128.${tag}.snapshot.123.0badf00d.tmp`), old, old);
    const removed = await pruneSnapshots(dir, fs.readdirSync(dir), Date.now() - 30_000);
    assert.equal(removed, 2);
    assert.deepEqual(fs.readdirSync(dir).sort(), [
      `${kept}.heap-256.${tag}.snapshot`,
      `${kept}.heap-64.${tag}.snapshot.456.feedbeef.tmp`,
      `${kept}.link`,
      "unrelated.snapshot",
    ]);
    // pruneLinks takes a link and then its blobs (one being made still stays until it is old).
    const old2 = new Date(Date.now() - 120_000);
    fs.utimesSync(path.join(dir, `${kept}.link`), old2, old2);
    await pruneLinks({ cacheDir: dir, keep: [], graceMs: 1000 });
    assert.deepEqual(fs.readdirSync(dir).sort(), [
      `${kept}.heap-64.${tag}.snapshot.456.feedbeef.tmp`,
      "unrelated.snapshot",
    ]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a frame of the snapshot's script is the framework's: hidden from a plugin's stack like the SDK's sources", () => {
  const stack = [
    "Error: kaboom",
    "    at deep (/plugins/thrower/index.ts:3:9)",
    `    at EntryRegistry.call (/home/u/.cache/neko/${"e".repeat(40)}.link/snapshot.cjs:4711:20)`,
    `    at run (/home/u/.cache/neko/${"e".repeat(40)}.link/snapshot.cjs:5102:3)`,
  ].join("\n");
  const shown = pluginStack(stack, {});
  assert.doesNotMatch(shown, /snapshot\.cjs/);
  assert.match(shown, /at deep \(\/plugins\/thrower\/index\.ts:3:9\)/);
  assert.match(shown, /… 2 frames of neko-plugin and Node hidden/);
});
